"""Write the lessons' synthetic patterns as 8-bit grayscale PNGs next to this script.

Usage::

    python data/make_patterns.py

Files (pixel values 0 and 255, so ``numconv.read_image`` gives exactly 0.0 and 1.0):

* ``circle.png``     ``numconv.lesson.image.circle(64)``: a filled disc of radius 16;
* ``dots_near.png``  ``numconv.lesson.image.dot_pairs(64)[0]``: two dots 2 pixels apart
  (merged after two 2x2 max poolings);
* ``dots_far.png``   ``numconv.lesson.image.dot_pairs(64)[1]``: two dots 31 pixels apart,
  columns 16 and 47, away from the borders (still apart after five).

The pixels are reproducible; the PNG bytes depend on the encoder's version.
"""

from __future__ import annotations

import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent


def patterns() -> dict[str, np.ndarray]:
    """File name -> float pattern in {0, 1}."""
    from numconv.lesson.image import circle, dot_pairs
    near, far = dot_pairs(64)
    return {"circle.png": circle(64), "dots_near.png": near, "dots_far.png": far}


def main() -> int:
    import imageio.v3 as iio
    for name, pattern in patterns().items():
        iio.imwrite(HERE / name, (pattern * 255).round().astype(np.uint8), extension=".png")
        print(f"wrote {HERE / name}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    raise SystemExit(main())
