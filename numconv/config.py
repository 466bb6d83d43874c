"""Run-time settings: the workspace bound that chunked computations stay under, the
memory limit that refuses calls which would need more memory than the machine should give,
and the default precision of convolutions.

* The **workspace bound** (default 256 MiB) sizes the chunks of a computation: the patch
  matrix of one chunk stays under it, so any input that fits in memory can be convolved.
  It bounds the scratch memory of one call beyond its inputs and its result: every
  convolution algorithm (:mod:`numconv.algorithms`) and pooling build their padded input
  rows, patches, tap products and transforms block by block, the blocks of all worker
  threads together under the bound (a block holds at least one output row, so the bound
  is really ``max(bound, workers x one row)``); tests/ops/test_algorithms.py measures it
  with tracemalloc.
* The **memory limit** (default :data:`DEFAULT_MEMORY_BYTES`: half the physical memory,
  at most 8 GiB) is checked before anything is allocated: a call whose output and
  workspace (:mod:`numconv.budget` charges what the kernel will allocate) would together
  exceed it raises ValueError naming the function and its arguments (a dilation of 10**6
  with SAME padding makes each block read terabytes of padded rows) instead of being
  killed by the operating system.

* The **default precision** (``"exact"``) is what a convolution's ``precision=None``
  means.  ``"exact"``: ``algorithm="auto"`` picks only direct sums (im2col, shift,
  pointwise), whose every output is within ``gamma_K * (|x| conv |w|)`` of the truth;
  ``"fast"``: auto may also pick Winograd and FFT, faster on some shapes but only
  normwise accurate (:mod:`numconv.algorithms` states both bounds).  An explicit
  ``algorithm=`` runs whatever the precision, as ``precision=`` in JAX and
  ``allow_tf32`` in PyTorch only change what the library may choose for you.

All three are held in :class:`contextvars.ContextVar` objects, so a ``with`` block in one
thread does not change them for another.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from typing import Iterator

from . import _args

__all__ = ["DEFAULT_WORKSPACE_BYTES", "get_workspace_limit", "set_workspace_limit",
           "workspace_limit", "DEFAULT_MEMORY_BYTES", "get_memory_limit", "set_memory_limit",
           "memory_limit", "get_default_precision", "set_default_precision",
           "default_precision"]

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


# --------------------------------------------------------------------------- memory limit

def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX, or not reported
        return None


#: Default memory limit of one call: half the physical memory, at most 8 GiB (8 GiB when
#: the physical memory is not known).
DEFAULT_MEMORY_BYTES = min(8 * 2**30, (_physical_memory() or 16 * 2**30) // 2)

_MEMORY: contextvars.ContextVar[int] = contextvars.ContextVar(
    "numconv_memory_limit", default=DEFAULT_MEMORY_BYTES)


def get_memory_limit() -> int:
    """The current memory limit in bytes (output + workspace of one call).

    >>> get_memory_limit() == DEFAULT_MEMORY_BYTES
    True
    """
    return _MEMORY.get()


def set_memory_limit(nbytes: int) -> None:
    """Set the memory limit (bytes, >= 1 KiB) for the current context."""
    _MEMORY.set(_args.integer("set_memory_limit", "nbytes", nbytes, minimum=1024))


@contextlib.contextmanager
def memory_limit(nbytes: int) -> Iterator[int]:
    """Temporarily change the memory limit that numconv calls are checked against.

    A call whose output and workspace would need more than ``nbytes`` raises
    ValueError before allocating anything.

    Examples
    --------
    >>> import numpy as np, numconv
    >>> x, w = np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 1))
    >>> numconv.conv2d(x, w, padding="SAME", dilations=10**6)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: conv2d: ... got ... TiB (output 200 B, workspace ... TiB)
    >>> with memory_limit(2**20):                               # doctest: +ELLIPSIS
    ...     numconv.conv1d(np.ones((1, 10**6, 1)), np.ones((1, 1, 1)))
    Traceback (most recent call last):
    ValueError: conv1d: ... under the limit of 1.0 MiB ..., got 15.3 MiB (output 7.6 MiB, ...)
    >>> get_memory_limit() == DEFAULT_MEMORY_BYTES
    True
    """
    token = _MEMORY.set(_args.integer("memory_limit", "nbytes", nbytes, minimum=1024))
    try:
        yield _MEMORY.get()
    finally:
        _MEMORY.reset(token)


# --------------------------------------------------------------------------- precision

_PRECISION: contextvars.ContextVar[str] = contextvars.ContextVar(
    "numconv_precision", default="exact")


def get_default_precision() -> str:
    """The precision a convolution's ``precision=None`` means here: "exact" or "fast".

    >>> get_default_precision()
    'exact'
    """
    return _PRECISION.get()


def set_default_precision(precision: str) -> None:
    """Set the default precision ("exact" or "fast") for the current context."""
    _PRECISION.set(_args.precision("set_default_precision", precision))


@contextlib.contextmanager
def default_precision(precision: str) -> Iterator[str]:
    """Temporarily let ``algorithm="auto"`` trade exactness for speed, or forbid it.

    ``"fast"`` lets ``auto`` pick Winograd and FFT where they are faster (normwise
    error bound); ``"exact"`` (the default) keeps it to direct sums (per-element
    bound).  A call's own ``precision=`` argument wins over this default.

    Examples
    --------
    >>> import numpy as np, numconv
    >>> from numconv.algorithms import choose
    >>> from numconv.geometry import resolve
    >>> g = resolve((56, 56), (3, 3), (1, 1), (1, 1), "SAME")
    >>> with default_precision("fast"):
    ...     get_default_precision(), choose((8, 56, 56, 64), (3, 3, 64, 64), g, 1)
    ('fast', 'winograd')
    >>> get_default_precision(), choose((8, 56, 56, 64), (3, 3, 64, 64), g, 1)
    ('exact', 'im2col')
    """
    token = _PRECISION.set(_args.precision("default_precision", precision))
    try:
        yield _PRECISION.get()
    finally:
        _PRECISION.reset(token)
