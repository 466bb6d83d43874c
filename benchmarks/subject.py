"""numconv itself, in a worker process: its public call for each case, and the
few internal facts the tables show (the algorithm ``auto`` picks, where the time
goes, the engine's workers), looked up defensively so that renaming an internal
module costs a column, never the run.

``precision`` is numconv's keyword for exact (default) or fast convolutions; the
``numconv-fast`` implementation exists only when :data:`HAS_PRECISION` is true.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import math
import pathlib
import time
import tracemalloc
from types import ModuleType
from typing import Any, Callable

import numpy as np

import numconv

from .cases import Case
from .peers import Made, Unavailable


def _internal(name: str) -> ModuleType | None:
    """numconv's internal module ``name``, or None when it is not part of the numconv
    imported (renamed; or offered from another checkout by an editable install's finder)."""
    home = pathlib.Path(numconv.__file__).resolve().parent
    try:
        spec = importlib.util.find_spec(name)
    except ImportError:
        return None
    if spec is None or home not in pathlib.Path(spec.origin or "").resolve().parents:
        return None
    return importlib.import_module(name)


#: numconv's block engine (plan), its threads (run_blocks, num_workers, can_limit_blas)
#: and its timing hook (profiling); an older numconv kept them all in the engine
ENGINE = _internal("numconv.engine")
THREADS = _internal("numconv.threads") or ENGINE
PROFILING = _internal("numconv.profiling") or ENGINE
#: numconv's geometry (resolve) and algorithms (choose, ALGORITHMS)
GEOMETRY = _internal("numconv.geometry")
ALGORITHMS = _internal("numconv.algorithms")


def _has_precision(fn: Callable[..., Any]) -> bool:
    return "precision" in inspect.signature(fn).parameters


HAS_PRECISION = _has_precision(numconv.conv2d)


def info() -> dict[str, Any]:
    """The engine's worker count and BLAS limiting, the workspace bound, BLAS libraries."""
    out: dict[str, Any] = {"workspace_limit": numconv.get_workspace_limit(),
                           "precision_keyword": HAS_PRECISION,
                           "home": str(pathlib.Path(numconv.__file__).resolve().parent)}
    if THREADS is not None:
        out["workers"] = THREADS.num_workers()
        out["blas_limited"] = THREADS.can_limit_blas()
    try:
        from threadpoolctl import threadpool_info
        out["blas"] = [{k: v for k, v in lib.items() if k in (
            "internal_api", "version", "num_threads", "architecture", "threading_layer")}
            for lib in threadpool_info()]
    except ImportError:
        out["blas"] = []
    return out


def make(case: Case, a: dict[str, np.ndarray], precision: str | None = None) -> Made:
    """``(run, to_nhwc)`` of numconv's public call; ``precision`` only for convolutions."""
    kw: dict[str, Any] = {}
    if precision is not None:
        if case.kind != "conv":
            raise Unavailable("precision= applies to convolutions only")
        fn = numconv.depthwise_conv2d if case.depthwise else numconv.conv2d
        if not _has_precision(fn):
            raise Unavailable(f"{fn.__name__} has no precision= keyword")
        kw["precision"] = precision
    same = np.asarray
    if case.kind == "conv":
        fn = numconv.depthwise_conv2d if case.depthwise else numconv.conv2d
        return (lambda: fn(a["x"], a["w"], case.strides, case.padding,
                           dilations=case.dilations, **kw), same)
    if case.kind == "pool":
        pool = numconv.max_pool2d if case.pool == "MAX" else numconv.avg_pool2d
        return lambda: pool(a["x"], case.ksize, case.strides, case.padding), same
    b = case.base
    if case.op == "conv_input":
        if b.depthwise:
            return (lambda: numconv.depthwise_conv2d_backprop_input(
                b.x_shape, a["w"], a["g"], [1, *b.strides, 1], b.padding), same)
        return (lambda: numconv.conv_backprop_input(b.x_shape, a["w"], a["g"], b.strides,
                                                    b.padding), same)
    if case.op == "conv_filter":
        if b.depthwise:
            return (lambda: numconv.depthwise_conv2d_backprop_filter(
                a["x"], b.w_shape, a["g"], [1, *b.strides, 1], b.padding), same)
        return (lambda: numconv.conv_backprop_filter(a["x"], b.w_shape, a["g"], b.strides,
                                                     b.padding), same)
    if case.op == "argmax":
        return lambda: numconv.max_pool_with_argmax(a["x"], b.ksize, b.strides, b.padding), same
    if case.op == "max_pool":
        return (lambda: numconv.max_pool_grad(a["x"], a["g"], b.ksize, b.strides, b.padding),
                same)
    return (lambda: numconv.avg_pool_grad(b.x_shape, a["g"], b.ksize, b.strides, b.padding),
            same)


def _choose_args(case: Case, a: dict[str, np.ndarray], precision: str | None
                 ) -> tuple[Callable[..., str], tuple[Any, ...], dict[str, Any], Any, int]:
    if ALGORITHMS is None or GEOMETRY is None:
        raise Unavailable("numconv's algorithm chooser not found")
    g = GEOMETRY.resolve(case.x_shape[1:3], case.w_shape[:2], case.strides, case.dilations,
                         case.padding)
    wg = case.grouped_filters(a["w"])
    choose = ALGORITHMS.choose
    kw = {"precision": precision} if precision and _has_precision(choose) else {}
    return choose, (a["x"].shape, wg.shape, g, case.groups, np.dtype(np.float32)), kw, wg, g


def algorithm(case: Case, a: dict[str, np.ndarray], precision: str | None = None) -> str | None:
    """The algorithm ``algorithm="auto"`` runs for a convolution case (None if unknown)."""
    if case.kind != "conv":
        return None
    try:
        choose, args, kw, _, _ = _choose_args(case, a, precision)
        return str(choose(*args, **kw))
    except Exception:  # noqa: BLE001 - an internal moved: the column is left empty
        return None


def profile(case: Case, a: dict[str, np.ndarray], run: Callable[[], Any],
            precision: str | None = None, repeats: int = 3) -> dict[str, float]:
    """Share of one call's wall time per phase (worker phases scaled to wall time).

    ``outside`` is the time outside the algorithm: validation, layout, the result cast.
    """
    choose, args, kw, wg, g = _choose_args(case, a, precision)
    algo = ALGORITHMS.ALGORITHMS[choose(*args, **kw)]
    best_total = best_algo = math.inf
    phases: dict[str, float] = {}
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best_total = min(best_total, time.perf_counter() - start)
        with PROFILING.profiling() as got:
            start = time.perf_counter()
            algo(a["x"], wg, g, case.groups, np.dtype(np.float32))
            elapsed = time.perf_counter() - start
        if elapsed < best_algo:
            best_algo, phases = elapsed, dict(got)
    inside = min(best_algo / best_total, 1.0)
    total = sum(phases.values()) or 1.0
    shares = {k: inside * v / total for k, v in phases.items()}
    shares["outside"] = 1.0 - inside
    return shares


def extra_memory(run: Callable[[], Any]) -> dict[str, int]:
    """Peak traced bytes during one call minus its result's size, and the result's size.

    numconv keeps scratch buffers between calls (reused without page faults); they are
    dropped first, so the call's own scratch is allocated, and counted, anew."""
    drop = getattr(ENGINE, "drop_kept_scratch", None)
    if drop is not None:
        drop()
    tracemalloc.start()
    try:
        result = run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    if isinstance(result, tuple):
        nbytes = sum(int(getattr(r, "nbytes", 0)) for r in result)
    else:
        nbytes = int(getattr(result, "nbytes", 0))
    return {"extra": max(peak - nbytes, 0), "result": nbytes}
