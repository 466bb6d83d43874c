"""Argument converters shared by the subcommands (argparse ``type=`` functions), and the
checks the commands run on their options before doing any work.

The converters raise :class:`argparse.ArgumentTypeError`, which argparse reports as one
line: ``numconv explain: error: argument --input: must be ..., got 'abc'``.  Range checks
beyond "is an integer" are left to the library functions the commands call.  The checks
(:func:`output_dir`, :func:`positive_seconds`) raise OSError or ValueError, which
:func:`numconv.cli.main` reports the same way, with exit status 2.

>>> sizes("224x224"), sizes("7")
((224, 224), (7,))
>>> padding_token("same"), padding_token("2,3"), padding_token("1")
('SAME', (2, 3), 1)
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import math
import os
import re
import sys
import tempfile
from typing import Any, Iterator, Mapping, Sequence, Union

PaddingToken = Union[str, int, tuple[int, int]]


def _int(text: str) -> int:
    value = text.strip()
    if not value.lstrip("+-").isdigit():
        raise ValueError(text)
    return int(value)


def sizes(text: str) -> tuple[int, ...]:
    """``"224"`` -> ``(224,)``; ``"224x224"`` -> ``(224, 224)``."""
    try:
        return tuple(_int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be an integer or integers joined by 'x' (such as 224x224), got {text!r}"
        ) from None


def positive_int(text: str) -> int:
    """A positive integer."""
    try:
        value = _int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


#: the padding modes a --padding flag takes, any case (ONNX's SAME_UPPER is TF's SAME)
PADDING_MODES = ("SAME", "VALID", "SAME_LOWER", "SAME_UPPER")


def padding_mode(text: str) -> str:
    """A padding mode of :data:`PADDING_MODES`, any case."""
    key = text.strip().upper()
    if key not in PADDING_MODES:
        raise argparse.ArgumentTypeError(f"must be one of {', '.join(PADDING_MODES)}, "
                                         f"got {text!r}")
    return key


def padding_token(text: str) -> PaddingToken:
    """A padding mode (:data:`PADDING_MODES`), a symmetric pad ``p``, or a ``before,after`` pair."""
    if text.strip().upper() in PADDING_MODES:
        return text.strip().upper()
    try:
        parts = [_int(p) for p in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    raise argparse.ArgumentTypeError(
        f"must be SAME, VALID, SAME_LOWER, SAME_UPPER, a pad p or a pair before,after (such "
        f"as 2,3), got {text!r}")


def padding_spec(tokens: Sequence[PaddingToken], n: int | None) -> Any:
    """The padding spec the library takes, from the ``--padding`` tokens of ``n`` dims.

    >>> padding_spec(["SAME"], 2), padding_spec([1], 2), padding_spec([(0, 1), 2], 2)
    ('SAME', [(1, 1), (1, 1)], [(0, 1), (2, 2)])
    """
    if len(tokens) == 1 and isinstance(tokens[0], str):
        return tokens[0]
    if any(isinstance(t, str) for t in tokens):
        raise ValueError(f"--padding: a padding mode (SAME, VALID, ...) must be given alone, "
                         f"got {list(tokens)}")
    pairs = [t if isinstance(t, tuple) else (t, t) for t in tokens]
    return pairs * (n or 1) if len(pairs) == 1 else pairs


def output_dir(path: Any) -> None:
    """Create the output directory if needed and create (and drop) a file in it: an
    OSError naming the directory if either fails, before a command does any work."""
    try:
        os.makedirs(path, exist_ok=True)
    except FileExistsError:
        raise NotADirectoryError(errno.ENOTDIR, "the output must be a directory, not a file",
                                 os.fspath(path)) from None
    except OSError as exc:
        raise type(exc)(exc.errno, f"cannot create the output directory ({exc.strerror})",
                        os.fspath(path)) from None
    try:                    # a real write: os.access says yes to root on /proc, say
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise PermissionError(exc.errno or errno.EACCES, "the output directory is not "
                              f"writable (creating a file there failed: {exc.strerror})",
                              os.fspath(path)) from None


def positive_seconds(option: str, value: Any) -> None:
    """Refuse a parsed time that is not a positive, finite number of seconds."""
    if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value)
                                  and value > 0):
        raise ValueError(f"argument {option}: must be a positive number of seconds, "
                         f"got {value!r}")


def flag_error(exc: Exception, functions: Sequence[str], flags: Mapping[str, str]) -> Exception:
    """The library's error in the command's words: ``"fn: arg rule"`` -> ``"--flag rule"``.

    A message from one of ``functions`` whose argument has a flag loses the function's
    name; every argument name with an underscore (never an English word) is replaced by
    its flag wherever it appears.  The exception keeps its type; an OSError with an errno
    (it names a file already) is returned as it is.

    >>> flags = {"filter_shape": "--filters", "input": "--input"}
    >>> str(flag_error(ValueError("OpConfig: input channels must be a multiple of the "
    ...                           "in_channels of filter_shape (4)"), ["OpConfig"], flags))
    '--input channels must be a multiple of the in_channels of --filters (4)'
    """
    if isinstance(exc, OSError) and exc.errno is not None:
        return exc
    text = str(exc)
    for fn in functions:
        head = text[len(fn) + 2:].split(" ", 1)[0] if text.startswith(f"{fn}: ") else None
        if head in flags:
            text = flags[head] + text[len(fn) + 2 + len(head):]
            break
    for name, flag in flags.items():
        if "_" in name:
            text = re.sub(rf"(?<![\w-]){re.escape(name)}\b", flag, text)
    return type(exc)(text)


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the block: frameworks write C++ log lines there
    on import (TensorFlow 2.21 prints its oneDNN notice twice, whatever TF_CPP_MIN_LOG_LEVEL
    says), which a command's output should not carry."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
