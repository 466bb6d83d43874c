"""The timing hook of the kernels: seconds per phase, off by default.

:func:`profiling` turns it on for a ``with`` block; kernels then add the seconds spent
in each phase (``pad``, ``patches``, ``gemm``, ``epilogue`` ...) to a dict with
:func:`clock` and :func:`add_time`.  Off, it costs one ``None`` check per block.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Iterator

import numpy as np  # noqa: F401  (doctest namespace)

_PROFILE: dict[str, float] | None = None
_PROFILE_LOCK = threading.Lock()


@contextlib.contextmanager
def profiling() -> Iterator[dict[str, float]]:
    """Collect seconds per phase of the algorithms run inside the ``with`` block.

    Times of parallel workers add up (CPU seconds, not wall time).

    >>> import numconv as nc
    >>> with profiling() as phases:
    ...     _ = nc.conv2d(np.ones((1, 8, 8, 2)), np.ones((3, 3, 2, 4)), 1, "SAME",
    ...                   algorithm="im2col")
    >>> sorted(phases)
    ['gemm', 'pad', 'patches']
    """
    global _PROFILE
    previous, _PROFILE = _PROFILE, {}
    try:
        yield _PROFILE
    finally:
        _PROFILE = previous


def clock() -> float | None:
    """``time.perf_counter()`` if profiling is on, else None (the zero-cost check)."""
    return time.perf_counter() if _PROFILE is not None else None


def add_time(phase: str, start: float | None) -> float | None:
    """Add the time since ``start`` to ``phase``; returns a new start (or None when off)."""
    if start is None or _PROFILE is None:
        return None
    now = time.perf_counter()
    with _PROFILE_LOCK:
        _PROFILE[phase] = _PROFILE.get(phase, 0.0) + now - start
    return now
