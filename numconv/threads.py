"""Threads for the blocks of a kernel, and BLAS held on one thread meanwhile.

Blocks may run on a small thread pool (NumPy copies, ufuncs and BLAS release the
GIL), as many at once as the workspace bound affords (:func:`numconv.engine.plan`).
The number of workers is ``NUMCONV_NUM_THREADS`` if set, else the usable cores (at
most 8).

**Determinism.** BLAS calls run on one BLAS thread (:func:`single_threaded_blas`,
with ``threadpoolctl``): OpenBLAS changes the summation of small GEMMs and GEMVs
with its thread count, so a GEMM's bits are a function of its shape only when that
is fixed.  Without ``threadpoolctl`` blocks that call BLAS run serially and BLAS
keeps its own thread count, a constant of the process.  Which blocks there are never
depends on the workers (:mod:`numconv.engine`).
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .engine import Block

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()
_BLAS_LOCK = threading.Lock()
_BLAS_STATE: dict[str, Any] = {"depth": 0, "controller": None, "limiter": None}


def num_workers() -> int:
    """Worker threads for block-parallel work: ``NUMCONV_NUM_THREADS`` or the usable cores."""
    env = os.environ.get("NUMCONV_NUM_THREADS", "")
    if env.strip().isdigit() and int(env) > 0:
        return int(env)
    return _cores()


@functools.lru_cache(maxsize=1)
def _cores() -> int:
    """The usable cores, at most 8 (looked up once: it costs a system call)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def _pool(workers: int) -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL._max_workers < workers:  # type: ignore[attr-defined]
            _POOL = ThreadPoolExecutor(workers, thread_name_prefix="numconv")
        return _POOL


def _blas_controller() -> Any:
    """A threadpoolctl controller of the loaded BLAS libraries, or None without it."""
    if _BLAS_STATE["controller"] is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _BLAS_STATE["controller"] = False
        else:
            _BLAS_STATE["controller"] = ThreadpoolController().select(user_api="blas")
    return _BLAS_STATE["controller"] or None


def can_limit_blas() -> bool:
    """Whether BLAS threads can be limited while workers run (threadpoolctl present)."""
    return _blas_controller() is not None


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """BLAS limited to one thread meanwhile (reference-counted; a no-op without threadpoolctl)."""
    controller = _blas_controller()
    if controller is None:
        yield
        return
    with _BLAS_LOCK:
        if _BLAS_STATE["depth"] == 0:
            _BLAS_STATE["limiter"] = controller.limit(limits=1)
        _BLAS_STATE["depth"] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS_STATE["depth"] -= 1
            if _BLAS_STATE["depth"] == 0:
                _BLAS_STATE["limiter"].restore_original_limits()
                _BLAS_STATE["limiter"] = None


#: Kernels compute IEEE results without floating-point warnings (``inf * 0 = nan``), as
#: BLAS and TensorFlow do, on every thread alike.
_IEEE = {"invalid": "ignore", "over": "ignore", "divide": "ignore"}


def run_blocks(blocks: Sequence[Block], work: Callable[[int, Block], None], workers: int,
               blas: bool = False) -> None:
    """Run ``work(worker_index, block)`` for every block on ``workers`` threads.

    Blocks are handed out dynamically; ``worker_index`` (``0 <= i < workers``) lets
    a worker reuse its own scratch buffers.  With ``blas=True`` (the work calls BLAS)
    BLAS runs on one thread meanwhile, serial or not, so that a GEMM's bits do not
    follow the thread count; without ``threadpoolctl`` the blocks then run serially
    (BLAS keeps its own threads).
    """
    if blas and workers > 1 and not can_limit_blas():
        workers = 1
    workers = min(workers, len(blocks))
    context = single_threaded_blas() if blas else contextlib.nullcontext()
    if workers <= 1:
        with context, np.errstate(**_IEEE):
            for block in blocks:
                work(0, block)
        return
    queue = iter(blocks)
    lock = threading.Lock()

    def worker(index: int) -> None:
        with np.errstate(**_IEEE):  # error state is per thread
            while True:
                with lock:
                    block = next(queue, None)
                if block is None:
                    return
                work(index, block)

    with context:   # the calling thread is worker 0: one thread hand-off fewer
        futures = [_pool(workers - 1).submit(worker, i) for i in range(1, workers)]
        try:
            worker(0)
        finally:
            for future in futures:
                future.result()
