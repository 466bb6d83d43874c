"""Measurements: the machine's GEMM peak and copy bandwidth, timing, extra memory.

Timing interleaves the implementations of one case round by round (numconv, TF,
PyTorch, ... then again), so that load from other processes on a shared machine
hits all of them alike; the best round is reported (and the median kept).
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import time
import tracemalloc
from typing import Any, Callable

import numpy as np

Runner = Callable[[], Any]


def gemm_peak(size: int = 2048, repeats: int = 5) -> float:
    """Best float32 ``np.matmul`` GFLOP/s on ``size``^3."""
    a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    b = a.copy()
    c = np.empty_like(a)
    np.matmul(a, b, out=c)
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, b, out=c)
        best = min(best, time.perf_counter() - start)
    return 2.0 * size**3 / best / 1e9


def copy_bandwidth(nbytes: int = 64 << 20, repeats: int = 5) -> float:
    """Best ``np.copyto`` GB/s, counting bytes read plus bytes written."""
    src = np.ones(nbytes // 4, dtype=np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - start)
    return 2.0 * nbytes / best / 1e9


def blas_info() -> list[dict[str, Any]]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [{k: v for k, v in lib.items() if k in ("internal_api", "version", "num_threads",
                                                   "architecture", "threading_layer")}
            for lib in threadpool_info()]


def machine() -> dict[str, Any]:
    """What the results depend on: CPU, versions, BLAS, OpenBLAS variables."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        cores = os.cpu_count()
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f
                          if line.startswith("model name")), "")
    except OSError:
        pass
    from numconv.threads import can_limit_blas, num_workers
    return {
        "cpu": model, "cores": cores, "python": platform.python_version(),
        "numpy": np.__version__, "blas": blas_info(),
        "numconv_workers": num_workers(), "numconv_blas_limited": can_limit_blas(),
        "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                               "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                               "NUMCONV_NUM_THREADS")},
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def time_interleaved(runners: dict[str, Runner], budget: float, slow: tuple[str, ...] = (),
                     min_rounds: int = 3, max_rounds: int = 30,
                     on_progress: Callable[[str], None] | None = None, settle: float = 0.005,
                     spinning: tuple[str, ...] = (), quiet: float = 0.3
                     ) -> dict[str, dict[str, Any]]:
    """Best and median seconds per call of every runner, measured in interleaved rounds.

    Every runner is first run once (warm-up, and the estimate of its cost).  A runner
    whose warm-up took more than ``budget`` (a third of it for those in ``slow``) is
    not repeated: its warm-up is its only sample.  The others run ``rounds`` times in
    rotating order, each sample timing enough calls to last about 5 ms, after a
    ``settle`` pause and one untimed call of the same runner.  That call matters:
    worker threads spin for a while after an op (OpenBLAS's for about 0.1 s, TF's and
    OpenMP's less), and on a 2-core machine they slow whichever library runs next --
    measured, TF's vgg convolution takes 18 ms instead of 9.5 ms right after a
    2-thread ``np.matmul``.  So every timed call follows a call of its own library, as
    when an op is called repeatedly, never another library's.  Runners in
    ``spinning`` (NumPy's multi-threaded OpenBLAS, whose threads spin for about 0.1 s,
    longer than one call) are followed by a ``quiet`` pause instead.
    """
    first: dict[str, float] = {}
    results: dict[str, dict[str, Any]] = {}
    for name, run in runners.items():
        if on_progress:
            on_progress(f"{name} warm-up")
        start = time.perf_counter()
        run()
        first[name] = time.perf_counter() - start
        if name in spinning:
            time.sleep(quiet)
    repeat = {n: t for n, t in first.items() if t <= (budget / 3 if n in slow else budget)}
    for name in runners:
        if name not in repeat:
            results[name] = {"best": first[name], "median": first[name], "samples": 1}
    if not repeat:
        return results
    loops = {n: max(1, int(0.005 / max(t, 1e-7))) for n, t in repeat.items()}
    per_round = sum(repeat[n] * loops[n] for n in repeat)
    rounds = int(min(max_rounds, max(min_rounds, budget / max(per_round, 1e-9))))
    samples: dict[str, list[float]] = {n: [] for n in repeat}
    order = list(repeat)
    for r in range(rounds):
        if on_progress:
            on_progress(f"round {r + 1}/{rounds}")
        for name in order[r % len(order):] + order[:r % len(order)]:
            run, n = runners[name], loops[name]
            time.sleep(settle)   # let the previous runner's spinning worker threads sleep
            run()                # absorbs what is left of them; untimed
            start = time.perf_counter()
            for _ in range(n):
                run()
            samples[name].append((time.perf_counter() - start) / n)
            if name in spinning:
                time.sleep(quiet)
    for name, values in samples.items():
        results[name] = {"best": min(values), "median": statistics.median(values),
                         "samples": len(values)}
    return results


def extra_memory(run: Runner) -> tuple[int, int]:
    """``(peak traced bytes during one call minus its result's size, result bytes)``."""
    tracemalloc.start()
    try:
        result = run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    nbytes = int(getattr(result, "nbytes", 0))
    return max(peak - nbytes, 0), nbytes
