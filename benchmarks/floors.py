"""Floors: the least time a NumPy kernel of a case could take, measured the way
numconv's kernels run (its block plan, its worker threads, BLAS limited to one
thread per worker while they run).

``gemm``  the case's GEMMs alone, block by block in the blocks numconv's engine
          plans for the im2col path (cache-sized bands of the patch matrix):
          forward ``patches @ filters``, input gradient ``grad @ filters.T`` (the
          patch gradients, before col2im), filter gradient ``patches.T @ grad``
          summed over blocks.  Each worker's block of patches is built before
          timing and reused for every block, so it is as hot in cache as the
          patches numconv has just copied (a prebuilt whole patch matrix streamed
          from memory is slower than numconv's filter gradient on the stem case).
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
from .subject import ENGINE, THREADS

FLOORS = ("gemm", "copy")


def _engine() -> tuple[Any, Any]:
    """numconv's block engine (``plan``) and its threads (``run_blocks``, ``num_workers``)."""
    if ENGINE is None or THREADS is None or not hasattr(ENGINE, "plan") or not all(
            hasattr(THREADS, n) for n in ("run_blocks", "num_workers")):
        raise Unavailable("numconv's block engine not found")
    return ENGINE, THREADS


def make(name: str, case: Case, a: dict[str, np.ndarray]) -> tuple[Callable[[], Any], float]:
    """``(run, scale)`` of floor ``name`` (``gemm`` or ``copy``) on a case."""
    return (_gemm(case, a), 1.0) if name == "gemm" else _copy(case, a)


def _copy(case: Case, a: dict[str, np.ndarray]) -> tuple[Callable[[], Any], float]:
    _, threads = _engine()
    src = max(a.values(), key=lambda v: v.nbytes).reshape(-1)
    dst = np.empty_like(src)
    workers = threads.num_workers()
    cuts = np.linspace(0, src.size, workers + 1).astype(int)
    blocks = [(slice(lo, hi), slice(None)) for lo, hi in zip(cuts[:-1], cuts[1:])]

    def work(worker: int, block: Any) -> None:
        np.copyto(dst[block[0]], src[block[0]])
    return (lambda: threads.run_blocks(blocks, work, workers)), case.traffic() / (2 * src.nbytes)


def _gemm(case: Case, a: dict[str, np.ndarray]) -> Callable[[], Any]:
    engine, threads = _engine()
    conv = case.base if case.kind == "grad" else case
    op = case.op if case.kind == "grad" else "forward"
    if case.kind == "pool" or op not in ("forward", "conv_input", "conv_filter"):
        raise Unavailable("not a convolution")
    if conv.groups != 1:
        raise Unavailable("grouped or depthwise: not one GEMM")
    g = conv.geometry()
    n, k, cout = conv.x_shape[0], math.prod(conv.w_shape[:-1]), conv.w_shape[-1]
    line = g.out_shape[1]
    slab_row = conv.x_shape[2] + sum(g.pads[1])            # a padded input row

    def nbytes(images: int, rows: int) -> int:
        """The im2col path's scratch per block: its patches (and padded slab)."""
        total = images * rows * line * k * 4
        if g.padded:
            slab_rows = (rows - 1) * conv.strides[0] + (conv.w_shape[0] - 1) * \
                conv.dilations[0] + 1
            total += images * slab_rows * slab_row * conv.x_shape[-1] * 4
        return total

    planned = engine.plan(n, g.out_shape, nbytes, threads.num_workers())
    blocks, workers = planned if hasattr(planned, "blocks") else (planned, threads.num_workers())
    sizes = [(bs.stop - bs.start) * (rs.stop - rs.start) * line for bs, rs in blocks]
    most = max(sizes)
    # one block of patches per worker, built before timing and used for every block:
    # hot in cache, as the patches numconv has just built are (the first rows of the
    # real patch matrix, so with a single block the product is the real one)
    per_image = math.prod(g.out_shape)
    x = a["x"] if "x" in a else np.ones(conv.x_shape, np.float32)
    first = numconv.im2col(x[:-(-most // per_image)], conv.w_shape[:2], conv.strides,
                           conv.padding, dilations=conv.dilations).reshape(-1, k)[:most]
    hot = [np.array(first) for _ in range(workers)]
    w = np.ascontiguousarray((a["w"] if "w" in a else np.ones(conv.w_shape, np.float32))
                             .reshape(k, cout))
    if op == "forward":
        out = np.empty((n, *g.out_shape, cout), np.float32)

        def work(worker: int, block: Any) -> None:     # one GEMM per image, as numconv
            ob = out[block]
            images = ob.shape[0]
            np.matmul(hot[worker][:ob.size // cout].reshape(images, -1, k), w,
                      out=ob.reshape(images, -1, cout))
        result: Callable[[], Any] = lambda: out  # noqa: E731
    elif op == "conv_input":
        grad, wt = a["g"], np.ascontiguousarray(w.T)

        def work(worker: int, block: Any) -> None:     # the patch gradients, before col2im
            gb = grad[block].reshape(-1, cout)
            np.matmul(gb, wt, out=hot[worker][:len(gb)])
        result = lambda: None  # noqa: E731
    else:
        grad = a["g"]
        partial = np.zeros((workers, k, cout), np.float32)
        scratch = np.empty((workers, k, cout), np.float32)

        def work(worker: int, block: Any) -> None:
            gb = grad[block].reshape(-1, cout)
            np.matmul(hot[worker][:len(gb)].T, gb, out=scratch[worker])
            partial[worker] += scratch[worker]
        result = lambda: partial.sum(axis=0)  # noqa: E731

    def run() -> Any:
        if op == "conv_filter":
            partial.fill(0)
        threads.run_blocks(blocks, work, workers, blas=True)
        return result()
    return run
