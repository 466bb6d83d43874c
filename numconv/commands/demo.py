"""``numconv demo``: the lesson's feature-extraction figures on a photograph.

Filter (convolution, stride 1, SAME), Detect (ReLU) and Condense (pooling) on a
grayscale image, the bundled photograph by default; writes the figures as PNG
files and prints each stage's shape with the padding derivation.
"""

from __future__ import annotations

import argparse
import os
import textwrap
from dataclasses import dataclass, field
from typing import Any

from ._common import flag_error, output_dir, padding_mode, positive_int

#: Figure files the demo writes, in order (``<name>.png``).
FIGURES = ("kernel", "filter_detect", "pools", "extraction", "translation_invariance",
           "im2col")

EXAMPLES = """examples:
  numconv demo                  # the bundled photograph, the lesson's settings
  numconv demo photo.jpg --kernel bottom_sobel -o figures
  numconv demo --pool avg --window 3 --stride 3 --padding VALID
  numconv demo --algorithm reference   # the stages on numconv/reference.py"""


def register(subparsers: Any) -> None:
    """Add the ``demo`` subcommand."""
    from ..lesson.filters import kernel_names
    p = subparsers.add_parser(
        "demo", help="the lesson's feature-extraction figures on a photograph",
        description=textwrap.fill(
            "Filter an image with a kernel (convolution, stride 1, SAME), detect with ReLU, "
            "condense by pooling; print the shape after each stage with the padding "
            "derivation and write the figures (" + ", ".join(f"{f}.png" for f in FIGURES)
            + ") to the output directory. Runs headless.", 79),
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("image", nargs="?", default=None,
                   help="JPEG or PNG file, read as grayscale (default: the bundled photograph)")
    p.add_argument("--kernel", default="edge",
                   help="kernel name (default edge): " + ", ".join(kernel_names()))
    p.add_argument("--pool", default="max", choices=("max", "avg"), type=str.lower,
                   help="pooling type (default max)")
    p.add_argument("--window", type=positive_int, default=2, help="pooling window (default 2; "
                   "the pools figure adds a 3x3 pool)")
    p.add_argument("--stride", type=positive_int, default=2, help="pooling stride (default 2)")
    p.add_argument("--padding", type=padding_mode, default="SAME", metavar="MODE",
                   help="pooling padding: SAME (default), VALID, SAME_LOWER (the odd "
                   "padding pixel first, ONNX) or SAME_UPPER (= SAME)")
    p.add_argument("--algorithm", default="auto", choices=("auto", "reference"), type=str.lower,
                   help="auto (default): the fast paths; reference: Filter and Condense run "
                   "numconv/reference.py, the textbook (each stage line names what ran)")
    p.add_argument("-o", "--output", default="numconv-out", metavar="DIR",
                   help="output directory, created if missing (default ./numconv-out)")
    p.set_defaults(handler=run, subparser=p)


@dataclass
class DemoResult:
    """What :func:`demo` computed and wrote."""

    image_path: str
    output: str                      #: the output directory
    extraction: Any                  #: the pipeline's ExtractionResult
    figures: dict = field(default_factory=dict)      #: name -> matplotlib Figure
    files: list = field(default_factory=list)        #: paths of the PNG files
    notes: list = field(default_factory=list)        #: extra lines of the report

    def report(self) -> str:
        """What ``numconv demo`` prints: the stages' shapes and pads, and the files."""
        lines = [f"image: {self.image_path} (read as grayscale, float32 in [0, 1])",
                 self.extraction.describe(), *self.notes,
                 f"wrote {len(self.files)} figures to {os.path.abspath(self.output)}:"]
        return "\n".join(lines + [f"  {os.path.basename(f)}" for f in self.files])


def _pool2_lines(result: Any, window: int, stride: int, padding: str) -> list[str]:
    """The describe()-style lines of the pools figure's extra 3x3 pooling."""
    from ..geometry import resolve
    g = resolve(result.detect.shape[1:3], (window,) * 2, (stride,) * 2, (1, 1), padding)
    shape = (1, *g.out_shape, result.detect.shape[3])
    width = max(len(str(a.shape)) for _, a in result.stages())
    lines = [f"{'Pool2':<9} {str(shape):<{width}}  {result.pooling_type} pool {window}x{window}, "
             f"strides {stride}, padding {padding} (of Detect; pools figure)"]
    return lines + [f"{'':12}{dim} {d.explain()}" for dim, d in zip(("height:", "width: "),
                                                                   g.dims)]


def demo(image: Any = None, kernel: Any = "edge", pool: str = "max", window: int = 2,
         stride: int = 2, padding: str = "SAME", output: Any = "numconv-out",
         algorithm: str = "auto") -> DemoResult:
    """Run the demo: compute the stages, draw the figures, write them to ``output``.

    Parameters are the command's; ``kernel`` may also be a 2-D array.  Figures
    stay open in the result (their drawn arrays are the ones checked against TF).
    """
    from .. import _args
    from ..lesson.image import default_image_path, read_image
    from ..lesson.filters import get_kernel
    from ..lesson.pipeline import feature_extraction
    from ..viz import (save_figure, show_im2col, show_kernel, show_pools, show_stages,
                       show_translation_invariance)

    kind = _args.choice("demo", "pool", pool, ("max", "avg")).upper()
    if isinstance(kernel, str):
        get_kernel(kernel)                  # an unknown name fails before any work
    path = default_image_path() if image is None else image
    pixels = read_image(path, channels=1)
    windows = (window, 3) if window != 3 else (3,)
    _check_pools(pixels.shape[:2], windows, stride, padding)   # before anything is written
    output_dir(output)
    result = feature_extraction(pixels, kernel, pool_size=window, pool_stride=stride,
                                pool_padding=padding, pooling_type=kind, algorithm=algorithm)
    out = DemoResult(os.fspath(path), os.fspath(output), result)
    stages = result.stages(titled=True)
    out.figures = {
        "kernel": show_kernel(result.kernel, name=result.kernel_name),
        "filter_detect": show_stages(stages[:3]),
        "pools": show_pools(result.detect, windows, stride, padding, kind),
        "extraction": show_stages(stages),
        "translation_invariance": show_translation_invariance(pooling_type=kind),
        "im2col": show_im2col(window=result.kernel.shape),
    }
    if window != 3:
        out.notes.extend(_pool2_lines(result, 3, stride, padding))
    for name, fig in out.figures.items():
        out.files.append(save_figure(fig, os.path.join(output, f"{name}.png")))
    return out


def _check_pools(shape: tuple[int, int], windows: tuple[int, ...], stride: int,
                 padding: str) -> None:
    """Refuse, in the command's words, a pool that would leave a stage or figure empty.

    The pools run on Detect, which has the image's size (Filter is stride 1, SAME).
    """
    from ..geometry import resolve
    for k in windows:
        if 0 in resolve(shape, (k, k), (stride, stride), (1, 1), padding).out_shape:
            what, fix = ((f"--window {k}", "a smaller --window") if k == windows[0] else
                         (f"the pools figure's extra {k}x{k} pool", "a larger image"))
            raise ValueError(f"{what} must fit in the Detect stage it pools ({shape[0]}x"
                             f"{shape[1]}, the image's size) with --padding {padding}, or the "
                             f"pooled map is empty: use --padding SAME or {fix}")


#: the library's argument names -> the command's flags
FLAGS = {"name": "--kernel", "kernel": "--kernel", "path": "image", "image": "image",
         "pool_size": "--window", "pool_stride": "--stride", "pool_padding": "--padding",
         "pooling_type": "--pool", "windows": "--window", "pool": "--pool"}


def run(args: argparse.Namespace) -> int:
    """Run :func:`demo` with the parsed arguments and print its report."""
    try:
        out = demo(args.image, args.kernel, args.pool, args.window, args.stride, args.padding,
                   args.output, args.algorithm)
    except (ValueError, TypeError, OSError) as exc:
        raise flag_error(exc, ("get_kernel", "read_image", "feature_extraction", "show_pools",
                               "demo"), FLAGS) from None
    print(out.report())
    return 0
