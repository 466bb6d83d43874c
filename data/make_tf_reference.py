"""Write TensorFlow golden files under data/golden/ (needs tensorflow-cpu).

Usage::

    python data/make_tf_reference.py              # every section
    python data/make_tf_reference.py ops image    # only these sections

Each module in data/tf_reference/ is a section with a function
``generate(tf, out_dir: pathlib.Path) -> list[pathlib.Path]`` that writes ``.npz``
files (inputs, arguments, outputs and ``tf_version``).  Tests read them without TF.
"""

from __future__ import annotations

import importlib
import os
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "golden"


def main(argv: list[str]) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")
    import tensorflow as tf

    sys.path.insert(0, str(HERE))
    sections = sorted(p.stem for p in (HERE / "tf_reference").glob("*.py")
                      if not p.stem.startswith("_"))
    chosen = argv or sections
    unknown = set(chosen) - set(sections)
    if unknown:
        print(f"make_tf_reference: unknown section(s) {sorted(unknown)}; have {sections}",
              file=sys.stderr)
        return 2
    OUT.mkdir(exist_ok=True)
    for name in chosen:
        module = importlib.import_module(f"tf_reference.{name}")
        written = module.generate(tf, OUT)
        print(f"{name}: wrote {len(written)} file(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
