"""``numconv explain``: the output size and padding of a windowed op, step by step."""

from __future__ import annotations

import argparse
from typing import Any, Sequence

from ..spec import explain
from ._common import padding_spec, padding_token, sizes

EXAMPLES = """examples:
  numconv explain --input 224 --window 7 --stride 2 --padding SAME
  numconv explain --input 224x224 --window 3 --stride 2 --padding VALID
  numconv explain --input 224 --window 7 --stride 2 --padding SAME_LOWER
  numconv explain --input 32 32 --window 3 --dilation 2 --padding 2,2
  numconv explain --input 5 --window 2 --stride 2 --padding VALID --ceil-mode"""


def register(subparsers: Any) -> None:
    """Add the ``explain`` subcommand."""
    p = subparsers.add_parser(
        "explain", help="explain the output size and padding of a conv or pool",
        description="Print how the output size and the pads before/after are derived, per\n"
        "spatial dim (TensorFlow's rules; PyTorch's ceil_mode on request). A single\n"
        "value for --window, --stride or --dilation applies to every dim.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", type=sizes, nargs="+", required=True, metavar="N",
                   help="input size per spatial dim: 224, '224 224' or 224x224")
    p.add_argument("--window", type=sizes, nargs="+", required=True, metavar="K",
                   help="window (kernel or pool) size per dim")
    p.add_argument("--stride", type=sizes, nargs="+", default=[(1,)], metavar="S",
                   help="stride per dim (default 1)")
    p.add_argument("--dilation", type=sizes, nargs="+", default=[(1,)], metavar="D",
                   help="dilation per dim (default 1: none)")
    p.add_argument("--padding", type=padding_token, nargs="+", default=["SAME"], metavar="P",
                   help="SAME (default), VALID, SAME_LOWER (ONNX: the odd pad first), "
                   "SAME_UPPER (= SAME), a pad p per dim, or before,after pairs such as 2,3")
    p.add_argument("--ceil-mode", action="store_true",
                   help="PyTorch's ceil rounding (pooling; VALID or explicit padding)")
    p.set_defaults(handler=run, subparser=p)


def _flat(groups: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
    return tuple(v for group in groups for v in group)


def run(args: argparse.Namespace) -> int:
    """Print :func:`numconv.explain` for the parsed arguments."""
    shape = _flat(args.input)
    print(explain(shape, _flat(args.window), _flat(args.stride),
                  padding_spec(args.padding, len(shape)), _flat(args.dilation),
                  ceil_mode=args.ceil_mode))
    return 0
