"""``numconv check``: run one op in TF / Keras / PyTorch / JAX and numconv, report differences.

Prints the comparison table of :func:`numconv.crosscheck.compare` (``--json`` for the
dict), or with ``--explain-port SRC->DST`` the code that reproduces the op in the
target framework (no framework is imported for that).  The frameworks asked for that
are not installed are named in one line with the pip command that installs them; the
others run.  Exit status 0 when every framework that ran stayed within the stated
tolerance, 1 when one did not (or returned another shape, or raised), 2 on bad input or
when none of the frameworks can run.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ._common import flag_error, padding_spec, padding_token, quiet_stderr, sizes

EXAMPLES = """examples:
  numconv check conv2d --input 8x56x56x64 --filters 3x3x64x64 --strides 2 --padding SAME
  numconv check max_pool2d --input 1x8x8x3 --window 2 --strides 2 --nan 0.1
  numconv check avg_pool2d --input 1x6x6x1 --window 3 --strides 2 --padding SAME \\
      --against torch,onnx
  numconv check --explain-port 'tf->torch' conv2d --input 1x224x224x3 --filters 7x7x3x64 \\
      --strides 2 --padding SAME"""


def register(subparsers: Any) -> None:
    """Add the ``check`` subcommand."""
    from ..crosscheck import DEFAULT_FRAMEWORKS, OPS
    p = subparsers.add_parser(
        "check", help="cross-check one op against TensorFlow, Keras, PyTorch, JAX and ONNX "
        "Runtime",
        description="Translate one op into each framework, run it and numconv on the same "
        "random input, and report the error of each against numconv in float64 (max abs/rel "
        "error, ULP statistics, worst element, error/bound) with the known divergences that "
        "apply. Frameworks that are not installed are named with the pip command that "
        "installs them and the others run. Exit status 1 when a framework that ran differs "
        "beyond the stated tolerance (or returned another shape, or raised), 2 when none can "
        "run. Ops: " + ", ".join(OPS) + ".",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("op", metavar="OP", type=_op, help="the op, e.g. conv2d, max_pool2d, relu")
    p.add_argument("--input", required=True, metavar="SHAPE",
                   help="input shape in data_format order, e.g. 8x56x56x64")
    p.add_argument("--filters", metavar="SHAPE",
                   help="convolutions: filter shape (*window, in/groups, out), e.g. 3x3x64x64; "
                   "depthwise: (kh, kw, C, multiplier)")
    p.add_argument("--window", type=sizes, metavar="K", help="pooling window, e.g. 2 or 3x3")
    p.add_argument("--strides", type=sizes, default=(1,), metavar="S", help="default 1")
    p.add_argument("--dilations", type=sizes, default=(1,), metavar="D", help="default 1")
    p.add_argument("--padding", type=padding_token, nargs="+", default=["VALID"], metavar="P",
                   help="SAME, VALID (default), a pad p, or before,after pairs per dim")
    p.add_argument("--data-format", metavar="FMT", help="NHWC (default), NCHW, NWC, ...")
    p.add_argument("--dtype", default="float32", help="float32 (default), float64 or float16")
    p.add_argument("--bias", action="store_true", help="convolutions: add a bias")
    p.add_argument("--count-include-pad", action="store_true",
                   help="average pooling: count the padding (PyTorch's default)")
    p.add_argument("--ceil-mode", action="store_true", help="pooling: PyTorch's ceil_mode")
    p.add_argument("--divisor-override", type=int, metavar="N", help="average pooling")
    p.add_argument("--nan-policy", default="propagate",
                   help="max pooling: propagate (default) or ignore (TF's CPU rule)")
    p.add_argument("--max-value", type=float, help="relu: upper saturation")
    p.add_argument("--negative-slope", type=float, default=0.0, help="relu: slope below")
    p.add_argument("--threshold", type=float, default=0.0, help="relu: threshold")
    p.add_argument("--alpha", type=float, default=0.2, help="leaky_relu: slope (default 0.2)")
    p.add_argument("--against", metavar="FRAMEWORKS",
                   help="comma-separated: tf, keras, torch, jax, onnx (default: those of "
                   + ",".join(DEFAULT_FRAMEWORKS) + " that are installed)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random input")
    p.add_argument("--nan", type=float, default=0.0, metavar="FRACTION",
                   help="set this share of the input to NaN (shows NaN policies)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--explain-port", metavar="SRC->DST",
                   help="print the code reproducing the op in DST next to SRC's, e.g. "
                   "'tf->torch' or 'torch->onnx' (quoted for the shell) or tf:torch; runs "
                   "nothing")
    p.set_defaults(handler=run, subparser=p)


def _op(text: str) -> str:
    """An op name from :data:`~numconv.crosscheck.config.OPS` (any case)."""
    from ..crosscheck.config import OPS
    key = text.strip().lower()
    if key not in OPS:
        raise argparse.ArgumentTypeError("must be one of " + ", ".join(OPS) + f", got {text!r}")
    return key


#: the library's argument names -> the flags that set them
FLAGS = {"input_shape": "--input", "input": "--input", "filter_shape": "--filters",
         "window": "--window", "strides": "--strides", "dilations": "--dilations",
         "padding": "--padding", "data_format": "--data-format", "dtype": "--dtype",
         "bias": "--bias", "count_include_pad": "--count-include-pad",
         "ceil_mode": "--ceil-mode", "divisor_override": "--divisor-override",
         "nan_policy": "--nan-policy", "max_value": "--max-value",
         "negative_slope": "--negative-slope", "threshold": "--threshold", "alpha": "--alpha",
         "seed": "--seed", "nan_fraction": "--nan", "against": "--against",
         "port": "--explain-port"}

#: the library functions whose errors the command re-labels
_FUNCTIONS = ("OpConfig", "compare", "explain_port")


def config_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~numconv.crosscheck.OpConfig` the arguments describe.

    Raises ValueError naming the flags typed: a flag the op needs and did not get, a
    flag it does not take, or the library's own check re-labelled (``--filters ...``).
    """
    from ..crosscheck import OPS, OpConfig
    op = args.op                            # checked by argparse (_op), and by OpConfig
    kind, n = OPS[op]
    needs = {"conv": "--filters", "depthwise": "--filters", "max": "--window",
             "avg": "--window"}.get(kind)
    for flag in ("--filters", "--window"):
        given = getattr(args, flag[2:]) is not None
        if flag == needs and not given:
            raise ValueError(f"{flag} is required for {op}")
        if flag != needs and given:
            raise ValueError(f"{flag} does not apply to {op}")
    kw: dict[str, Any] = dict(dtype=args.dtype)
    if n is None:
        kw.update(max_value=args.max_value, negative_slope=args.negative_slope,
                  threshold=args.threshold, alpha=args.alpha)
    else:
        kw.update(strides=args.strides, dilations=args.dilations,
                  padding=padding_spec(args.padding, n), data_format=args.data_format,
                  filter_shape=args.filters, window=args.window, bias=args.bias,
                  ceil_mode=args.ceil_mode, count_include_pad=args.count_include_pad,
                  divisor_override=args.divisor_override, nan_policy=args.nan_policy)
    try:
        return OpConfig(op, args.input, **kw)
    except (ValueError, TypeError) as exc:
        raise flag_error(exc, _FUNCTIONS, FLAGS) from None


def run(args: argparse.Namespace) -> int:
    """Print the report (or the port) for the parsed arguments."""
    from ..cli import one_line
    from ..crosscheck import compare, explain_port
    config = config_from_args(args)
    try:
        if args.explain_port is not None:
            print(explain_port(config, args.explain_port), end="")
            return 0
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with quiet_stderr():                 # the frameworks' C++ log lines
            report = compare(config, args.against, seed=args.seed, nan_fraction=args.nan)
    except (ValueError, TypeError) as exc:
        raise flag_error(exc, _FUNCTIONS, FLAGS) from None
    except ModuleNotFoundError as exc:       # none of the frameworks asked for is installed
        print(f"{args.subparser.prog}: error: {one_line(exc)}", file=sys.stderr)
        return 2
    print(report.to_json() if args.json else report.table(), end="" if not args.json else "\n")
    return 0 if report.ok else 1
