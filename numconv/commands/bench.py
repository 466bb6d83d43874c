"""``numconv bench``: the benchmark suite of a source checkout (``benchmarks/``).

Same options as ``python -m benchmarks``.  The suite lives beside the package in
the repository (it is not installed with numconv); this command finds it there.  Where
it is absent (after ``pip install .``), every ``numconv bench`` invocation, ``--help``
included, says so in one line and exits with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import pathlib
import sys
from types import ModuleType
from typing import Any

from ._common import output_dir, positive_seconds

EXAMPLES = """examples:
  numconv bench --quick
  numconv bench --cases targets --peers tf,torch
  numconv bench --cases 'vgg,max pool' --no-sweeps"""

#: what to do when the suite is absent
CHECKOUT = ("run it from a numconv source checkout: pip install -e \".[bench]\" there, then "
            "numconv bench or python -m benchmarks")


def _suite() -> ModuleType | str:
    """``benchmarks.suite`` from the checkout this numconv was installed from, or why not."""
    root = pathlib.Path(__file__).resolve().parents[2]
    if (root / "benchmarks" / "suite.py").is_file() and str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        return importlib.import_module("benchmarks.suite")
    except ImportError as exc:
        if isinstance(exc, ModuleNotFoundError) and exc.name in ("benchmarks",
                                                                  "benchmarks.suite"):
            return f"the benchmark suite is not installed with numconv; {CHECKOUT}"
        return f"the benchmark suite cannot be imported ({exc}); {CHECKOUT}"


def register(subparsers: Any) -> None:
    """Add the ``bench`` subcommand (a stub that says what to do, without the suite)."""
    suite = _suite()
    if isinstance(suite, str):
        # no options to parse: every argument, --help too, gets the one-line answer
        p = subparsers.add_parser("bench", help="benchmark numconv against its peers (needs "
                                  "a source checkout)", add_help=False, prefix_chars="\0")
        p.add_argument("arguments", nargs="*")
        p.set_defaults(handler=_absent, subparser=p, reason=suite)
        return
    p = subparsers.add_parser(
        "bench", help="benchmark numconv against TensorFlow, PyTorch and NumPy peers",
        description="Time numconv's convolution and pooling on the target cases, "
        "dilated, backward and scaling sweeps, against the peers installed (TensorFlow, "
        "PyTorch, numpy-ml, scipy.ndimage, ONNX reference) in the same run; print ratios, "
        "extra memory and a profile breakdown; write JSON and plots to benchmarks/results/.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    suite.add_arguments(p)
    p.set_defaults(handler=run, subparser=p)


def _absent(args: argparse.Namespace) -> int:
    print(f"{args.subparser.prog}: error: {args.reason}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Check the options, then run the suite (``benchmarks.suite.main``)."""
    suite = _suite()
    # before any timing: a bad number or an unwritable --output fails now, not at the end
    positive_seconds("--budget", getattr(args, "budget", None))
    suite.select(args)                  # --cases that select nothing
    if getattr(args, "output", None) is not None:
        output_dir(args.output)
    return int(suite.main(args=args))
