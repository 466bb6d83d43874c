"""Run-time settings: the workspace bound that chunked computations stay under.

The bound is held in a :class:`contextvars.ContextVar`, so a ``with`` block in one
thread does not change it for another.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Iterator

from . import _args

__all__ = ["DEFAULT_WORKSPACE_BYTES", "get_workspace_limit", "set_workspace_limit",
           "workspace_limit"]

#: Default bound on the scratch memory (patch matrices, tap buffers) of one call: 256 MiB.
DEFAULT_WORKSPACE_BYTES = 256 * 2**20

_LIMIT: contextvars.ContextVar[int] = contextvars.ContextVar(
    "numconv_workspace_limit", default=DEFAULT_WORKSPACE_BYTES)


def get_workspace_limit() -> int:
    """The current workspace bound in bytes.

    >>> get_workspace_limit() == DEFAULT_WORKSPACE_BYTES
    True
    """
    return _LIMIT.get()


def set_workspace_limit(nbytes: int) -> None:
    """Set the workspace bound (bytes, >= 1 KiB) for the current context."""
    _LIMIT.set(_args.integer("set_workspace_limit", "nbytes", nbytes, minimum=1024))


@contextlib.contextmanager
def workspace_limit(nbytes: int) -> Iterator[int]:
    """Temporarily bound the workspace of numconv calls.

    Examples
    --------
    >>> with workspace_limit(2**20):
    ...     get_workspace_limit()
    1048576
    >>> get_workspace_limit() == DEFAULT_WORKSPACE_BYTES
    True
    """
    token = _LIMIT.set(_args.integer("workspace_limit", "nbytes", nbytes, minimum=1024))
    try:
        yield _LIMIT.get()
    finally:
        _LIMIT.reset(token)
