"""Floors: the least time a NumPy kernel of a case could take, measured the way
numconv's kernels run (its block plan, its worker threads, BLAS limited to one
thread per worker while they run).

``gemm``  the case's GEMM alone, its operands built before timing: forward
          ``patches @ filters``, input gradient ``grad @ filters.T`` (the patch
          gradients, before col2im), filter gradient ``patches.T @ grad`` summed
          over blocks; multiplied block by block in the blocks numconv's engine
          plans for the im2col path (cache-sized bands of the patch matrix).
          For convolutions with many channels.
``copy``  ``np.copyto`` of an input-sized array, split over the workers, scaled
          to the case's traffic: every input read once and the result written
          once (:meth:`benchmarks.cases._Case.traffic`), at the bandwidth of that
          copy.  For pools, depthwise and single-channel convolutions.

Runs in a worker process; :func:`make` returns ``(run, scale)``: seconds of ``run``
times ``scale`` are the floor's seconds.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

import numconv

from .cases import Case
from .peers import Unavailable
from .subject import ENGINE

#: patch matrices above this size are not built for the ``gemm`` floor
GEMM_FLOOR_BYTES = 1 << 30
FLOORS = ("gemm", "copy")


def _engine() -> Any:
    if ENGINE is None or not all(hasattr(ENGINE, n) for n in ("plan", "run_blocks",
                                                              "num_workers")):
        raise Unavailable("numconv's block engine not found")
    return ENGINE


def make(name: str, case: Case, a: dict[str, np.ndarray]) -> tuple[Callable[[], Any], float]:
    """``(run, scale)`` of floor ``name`` (``gemm`` or ``copy``) on a case."""
    return (_gemm(case, a), 1.0) if name == "gemm" else _copy(case, a)


def _copy(case: Case, a: dict[str, np.ndarray]) -> tuple[Callable[[], Any], float]:
    engine = _engine()
    src = max(a.values(), key=lambda v: v.nbytes).reshape(-1)
    dst = np.empty_like(src)
    workers = engine.num_workers()
    cuts = np.linspace(0, src.size, workers + 1).astype(int)
    blocks = [(slice(lo, hi), slice(None)) for lo, hi in zip(cuts[:-1], cuts[1:])]

    def work(worker: int, block: Any) -> None:
        np.copyto(dst[block[0]], src[block[0]])
    return (lambda: engine.run_blocks(blocks, work, workers)), case.traffic() / (2 * src.nbytes)


def _gemm(case: Case, a: dict[str, np.ndarray]) -> Callable[[], Any]:
    engine = _engine()
    conv = case.base if case.kind == "grad" else case
    op = case.op if case.kind == "grad" else "forward"
    if case.kind == "pool" or op not in ("forward", "conv_input", "conv_filter"):
        raise Unavailable("not a convolution")
    if conv.groups != 1:
        raise Unavailable("grouped or depthwise: not one GEMM")
    g = conv.geometry()
    n, k, cout = conv.x_shape[0], math.prod(conv.w_shape[:-1]), conv.w_shape[-1]
    rows, line = n * math.prod(g.out_shape), g.out_shape[1]
    if rows * k * 4 > GEMM_FLOOR_BYTES:
        raise Unavailable(f"patch matrix over {GEMM_FLOOR_BYTES >> 20} MiB")
    w = np.ascontiguousarray((a["w"] if "w" in a else np.ones(conv.w_shape, np.float32))
                             .reshape(k, cout))
    if op == "conv_input":
        grad, wt = a["g"], np.ascontiguousarray(w.T)
        cols = np.empty((n, *g.out_shape, k), np.float32)
    else:
        patches = numconv.im2col(a["x"] if "x" in a else np.ones(conv.x_shape, np.float32),
                                 conv.w_shape[:2], conv.strides, conv.padding,
                                 dilations=conv.dilations)
        out = np.empty((n, *g.out_shape, cout), np.float32)
    slab_row = (g.out_shape[1] - 1) * conv.strides[1] + (conv.w_shape[1] - 1) * \
        conv.dilations[1] + 1 + sum(g.pads[1])

    def nbytes(images: int, rows_: int) -> int:
        """The im2col path's scratch per block: its patches (and padded slab)."""
        total = images * rows_ * line * k * 4
        if g.padded:
            slab_rows = (rows_ - 1) * conv.strides[0] + (conv.w_shape[0] - 1) * \
                conv.dilations[0] + 1
            total += images * slab_rows * slab_row * conv.x_shape[-1] * 4
        return total

    blas = getattr(engine, "can_limit_blas", lambda: False)()
    workers = engine.num_workers() if blas else 1
    blocks = engine.plan(n, g.out_shape, nbytes, workers)
    if op == "forward":
        def work(worker: int, block: Any) -> None:
            p = patches[block]
            np.matmul(p.reshape(-1, k), w, out=out[block].reshape(-1, cout))
    elif op == "conv_input":
        def work(worker: int, block: Any) -> None:
            gb = grad[block]
            np.matmul(gb.reshape(-1, cout), wt, out=cols[block].reshape(-1, k))
    else:
        grad = a["g"]
        partial = np.zeros((max(workers, 1), k, cout), np.float32)
        scratch = np.empty((max(workers, 1), k, cout), np.float32)

        def work(worker: int, block: Any) -> None:
            p = patches[block].reshape(-1, k)
            np.matmul(p.T, grad[block].reshape(-1, cout), out=scratch[worker])
            partial[worker] += scratch[worker]

    def run() -> Any:
        if op == "conv_filter":
            partial.fill(0)
        engine.run_blocks(blocks, work, workers, blas=True)
        return partial.sum(axis=0) if op == "conv_filter" else (
            cols if op == "conv_input" else out)
    return run
