"""The ``numconv`` command (console script, and ``python -m numconv``).

Each subcommand is a small module in :mod:`numconv.commands` with a
``register(subparsers)`` function that adds its parser and sets ``handler``;
add a command by adding its module name to :data:`COMMANDS`.

Exit status: 0 on success, 2 on bad input (a one-line ``numconv <command>: error:
...`` message on stderr, never a traceback).

>>> main(["explain", "--input", "5", "--window", "3", "--padding", "VALID"])
VALID: out = (5 - 3 + 1) // 1 = 3; no padding
0
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn, Sequence

__all__ = ["COMMANDS", "Parser", "build_parser", "main"]

#: Subcommand modules under numconv/commands/, in the order ``--help`` lists them.
COMMANDS = ["demo", "explain", "bench", "check"]


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, ``<prog>: error: <message>``, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message)}\n")


def one_line(error: BaseException | str) -> str:
    """An error as one line of text (an OSError as ``strerror: 'filename'``)."""
    if isinstance(error, OSError) and error.strerror and error.filename is not None:
        text = f"{error.strerror}: {error.filename!r}"
    else:
        text = str(error) or type(error).__name__
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def build_parser() -> Parser:
    """The ``numconv`` parser with one subparser per module in :data:`COMMANDS`."""
    from . import __version__
    parser = Parser(prog="numconv", description="numconv: pure-NumPy convolution, ReLU and "
                    "pooling with TensorFlow's SAME/VALID geometry.",
                    epilog="Run 'numconv COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"numconv {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"numconv.commands.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``numconv`` command with ``argv`` (default ``sys.argv[1:]``); return the status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.error("missing command: choose one of " + ", ".join(COMMANDS)
                         + " (numconv --help)")
    except SystemExit as exc:                  # --help, --version and parse errors
        return exc.code if isinstance(exc.code, int) else 2
    prog = args.subparser.prog
    try:
        return int(args.handler(args) or 0)
    except (ValueError, TypeError, OSError) as exc:
        print(f"{prog}: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
