"""``numconv bench``: the benchmark suite of a source checkout (``benchmarks/``).

Same options as ``python -m benchmarks``.  The suite lives beside the package in
the repository (it is not installed with numconv); this command finds it there.
"""

from __future__ import annotations

import argparse
import importlib
import pathlib
import sys
from typing import Any

from ._common import output_dir, positive_seconds

EXAMPLES = """examples:
  numconv bench --quick
  numconv bench --cases targets --peers tf,torch
  numconv bench --cases 'vgg,max pool' --no-sweeps"""


def _suite() -> Any:
    """``benchmarks.suite`` from the checkout this numconv was installed from, or None."""
    root = pathlib.Path(__file__).resolve().parents[2]
    if (root / "benchmarks" / "suite.py").is_file() and str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        return importlib.import_module("benchmarks.suite")
    except ImportError:
        return None


def register(subparsers: Any) -> None:
    """Add the ``bench`` subcommand."""
    p = subparsers.add_parser(
        "bench", help="benchmark numconv against TensorFlow, PyTorch and NumPy peers",
        description="Time numconv's convolution and pooling on the target cases, "
        "dilated, backward and scaling sweeps, against the peers installed (TensorFlow, "
        "PyTorch, numpy-ml, scipy.ndimage, ONNX reference) in the same run; print ratios, "
        "extra memory and a profile breakdown; write JSON and plots to benchmarks/results/.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    suite = _suite()
    if suite is not None:
        suite.add_arguments(p)
    p.set_defaults(handler=run, subparser=p)


def run(args: argparse.Namespace) -> int:
    """Check the options, then run the suite (``benchmarks.suite.main``)."""
    suite = _suite()
    if suite is None:
        raise OSError("the benchmarks/ directory of a numconv source checkout is needed "
                      "(it is not installed with the package): run from a checkout")
    # before any timing: a bad number or an unwritable --output fails now, not at the end
    positive_seconds("--budget", getattr(args, "budget", None))
    if getattr(args, "output", None) is not None:
        output_dir(args.output)
    return int(suite.main(args=args))
