"""Kernels of the convolution gradients: block by block, no padded copy of anything.

All work runs in blocks (:func:`numconv.engine.plan`) whose scratch,
over all worker threads, stays under the workspace bound
(:func:`numconv.get_workspace_limit`) whatever the batch size.  Beyond that scratch
and the returned array, a call keeps only filter-sized arrays (the filters cast and
transposed; for ``dL/dw`` the accumulator and the partial products), which
the blocks' plan leaves room for (its ``reserve``).  As in the forward algorithms,
the bands of an image follow its shape only and every GEMM covers one image, so
``dL/dx`` of an image has the same bits alone or in a batch, on any thread count.

* ``dL/dx`` with stride 1 (in every dim with more than one output): the gradient is
  a forward convolution of ``g`` with the filters flipped and transposed,
  ``dx[i] = sum_t g[i + pad_before - t*d] @ w[t].T``, padded ``eff - 1 - pad_before``
  before and ``in - out + pad_before`` after (``eff - 1 - pad_after`` for stride 1);
  it runs on the forward algorithm ``auto`` picks for the call's precision
  (:func:`numconv.algorithms.choose`: a direct sum for ``"exact"``, so every element
  of ``dx`` keeps the per-element bound) if that is one of :data:`GATHER`, in any
  result layout and dtype.
* ``dL/dx`` otherwise (strides, pads wider than the window): the scatter-add
  ``dx[o*s + t*d - pad_before] += g[o] @ w[t].T``, blocked by rows of ``dx`` (first
  spatial dim).  For each first-dim tap row ``t0`` the rows of ``g`` that land in the
  block are multiplied by ``w[t0]`` in one GEMM per image (depthwise: one broadcast
  multiply per tap) and added tap by tap into the block, each tap clipped to the
  input: every element of ``dx`` is written by one block only and sums its taps in
  window order.
* ``dL/dw``: the patch matrix of a block (its padded input rows copied to a slab)
  transposed, times the block of ``g`` (depthwise, no patch matrix: with multiplier 1
  and stride 1 along the trailing dims, one ``np.einsum`` over the block's windows
  with the last dim merged with the channels, then a sum over that dim's positions;
  else per tap, one sum of products per channel with ``np.einsum``; both on a
  C-contiguous slab); the partial products of up to :data:`PARTIALS` blocks run on
  the worker threads at once and are added in block order.  The blocks are planned
  for :data:`WAVE` workers whatever the thread count, so the sum does not depend on it
  (it is a sum over the batch: a sub-batch is another sum).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..algorithms import ALGORITHMS, choose
from ..algorithms.gemm import filter_matrix
from ..config import get_workspace_limit, workspace_limit
from ..engine import (Block, Scratch, num_workers, plan, row_windows, run_blocks,
                      single_threaded_blas, slab, slab_shape, slab_view, tap_slice)
from ..geometry import DimGeometry, Geometry, resolve
from ..windows import tap_region

__all__ = ["window_rows", "input_grad", "filter_grad", "GATHER", "WAVE"]

#: Forward algorithms ``dL/dx`` may gather with (all of them).
GATHER = ("im2col", "winograd", "pointwise", "fft", "shift")

#: Blocks of ``dL/dw`` whose partial products are computed together (on the worker
#: threads) and then added in order: a constant, so the result is the same for any
#: thread count.
WAVE = 2

#: Most blocks of ``dL/dw`` whose partial products are computed in one hand-off to the
#: worker threads (each a filter-sized buffer, within a quarter of the workspace
#: bound) before they are added in block order: fewer waits for the slowest thread
#: than one hand-off per :data:`WAVE` blocks, and the same sum.
PARTIALS = 64


def window_rows(d: DimGeometry, a: int, b: int) -> tuple[int, int]:
    """``[lo, hi)``: the windows (outputs) of dim ``d`` whose span meets input ``[a, b)``.

    >>> from numconv.geometry import resolve_dim
    >>> window_rows(resolve_dim(8, 3, 2, padding="VALID"), 4, 6)   # windows 1, 2
    (1, 3)
    """
    lo = max(0, -((d.effective_window - 1 - d.pad_before - a) // d.stride))
    return lo, max(lo, min(d.out_size, -((-b - d.pad_before) // d.stride)))


def _tap_slices(dims: tuple[DimGeometry, ...], taps: tuple[int, ...]
                ) -> tuple[tuple[slice, ...], tuple[slice, ...]] | None:
    """Output and input slices of one tap over whole dims (clipped to the input)."""
    regions = [tap_region(d, t, 0, d.out_size, 0, d.in_size) for d, t in zip(dims, taps)]
    if any(r is None for r in regions):
        return None
    return tuple(r[0] for r in regions), tuple(r[1] for r in regions)  # type: ignore[index]


# --------------------------------------------------------------------------- dL/dx

def _gather_geometry(geometry: Geometry) -> Geometry | None:
    """The forward geometry that gives ``dL/dx`` as a convolution of ``g``, if stride 1."""
    pads = []
    for d in geometry.dims:
        before = d.effective_window - 1 - d.pad_before
        after = d.in_size - d.out_size + d.pad_before
        if (d.stride != 1 and d.out_size > 1) or before < 0 or after < 0:
            return None
        pads.append((before, after))
    back = resolve(geometry.out_shape, geometry.window, (1,) * len(pads), geometry.dilations,
                   pads)
    assert back.out_shape == tuple(d.in_size for d in geometry.dims)
    return back


def _flipped(w: np.ndarray, groups: int, dtype: np.dtype) -> np.ndarray:
    """``(*window, cin_g, cout)`` -> the filters of the gather: ``(*window, cout_g, cin)``.

    ``w'[flip t, j, g*cin_g + i] = w[t, i, g*cout_g + j]``.
    """
    n = w.ndim - 2
    cin_g, cout = w.shape[-2:]
    split = w.reshape(*w.shape[:n], cin_g, groups, cout // groups)
    order = tuple(range(n)) + (n + 2, n + 1, n)
    flipped = np.flip(split.transpose(order), axis=tuple(range(n)))
    return np.ascontiguousarray(flipped, dtype=dtype).reshape(*w.shape[:n], cout // groups,
                                                              groups * cin_g)


def input_grad(g: np.ndarray, w: np.ndarray, geometry: Geometry, groups: int,
               out: np.ndarray | None, dtype: np.dtype, precision: str) -> np.ndarray:
    """``dL/dx`` of channels-last ``g`` ``(N, *out, C_out)`` through filters ``w``.

    ``precision`` ("exact" or "fast") is what the gather's algorithm choice may use.
    ``out`` is the zero-filled result, channels-last (a view of the caller's layout,
    of the result dtype), or None: then a gather may return a new channels-last array
    in ``dtype`` (only allowed when that is the result's dtype and layout).  With
    ``out`` a gather runs a few images at a time and is copied into it (an image's
    bits do not depend on its batch), so every layout gets the same bits.
    """
    dtype = np.dtype(dtype)
    back = _gather_geometry(geometry)
    if back is not None:
        wf_shape = (*geometry.window, w.shape[-1] // groups, groups * w.shape[-2])
        name = choose(g.shape, wf_shape, back, groups, dtype, precision)
        if name in GATHER:
            wf = _flipped(w, groups, dtype)
            gather = ALGORITHMS[name]
            limit = max(get_workspace_limit() - wf.nbytes, 1024)
            if out is None:
                with workspace_limit(limit):
                    return gather(g, wf, back, groups, dtype)
            # the images' results and the gather's scratch share the bound
            per_image = math.prod(out.shape[1:]) * dtype.itemsize
            chunk = max(1, min(g.shape[0], limit // 2 // max(per_image, 1)))
            # (IEEE results silently: a float16 result may overflow, see nonfinite.md)
            with workspace_limit(max(limit // 2, 1024)), np.errstate(over="ignore"):
                for start in range(0, g.shape[0], chunk):
                    part = gather(g[start:start + chunk], wf, back, groups, dtype)
                    np.copyto(out[start:start + chunk], part, casting="unsafe")
                    del part                  # before the next chunk allocates its own
            return out
    if out is None:
        shape = (g.shape[0], *(d.in_size for d in geometry.dims), groups * w.shape[-2])
        out = np.zeros(shape, dtype)
    _scatter_input_grad(g, w, geometry, groups, out, dtype)
    return out


def _scatter_input_grad(g: np.ndarray, w: np.ndarray, geometry: Geometry, groups: int,
                        out: np.ndarray, dtype: np.dtype) -> None:
    """Add ``dL/dx`` into the zero-filled ``out`` (see the module docstring)."""
    dims = geometry.dims
    d0 = dims[0]
    batch, cout = g.shape[0], g.shape[-1]
    cin_g, cout_g = w.shape[-2], cout // groups
    channels = groups * cin_g
    k0, rest_window = geometry.window[0], geometry.window[1:]
    krest = math.prod(rest_window)
    rest_taps = list(itertools.product(*(range(k) for k in rest_window)))
    depthwise = cin_g == 1 and cout_g == 1
    if depthwise:                        # (k0, krest, C): one multiply per tap
        wd = w.astype(dtype, copy=False).reshape(k0, krest, channels)
    else:                                # (k0, groups, cout_g, krest * cin_g)
        fm = filter_matrix(w, groups, dtype).reshape(groups, k0, krest * cin_g, cout_g)
        wt = np.ascontiguousarray(fm.transpose(1, 0, 3, 2))
    in_shape = tuple(d.in_size for d in dims)
    line_out, line_in = math.prod(geometry.out_shape[1:]), math.prod(in_shape[1:])
    direct = out.dtype == dtype and out.flags.c_contiguous
    itemsize = dtype.itemsize

    def nbytes(images: int, rows: int) -> int:
        positions = images * min(d0.out_size, -(-rows // d0.stride)) * line_out
        total = positions * (channels if depthwise else krest * channels + cout) * itemsize
        return total + (0 if direct else images * rows * line_in * channels * itemsize)

    blocks, workers = plan(batch, in_shape, nbytes, num_workers(),
                           reserve=(wd if depthwise else wt).nbytes, split_rows=depthwise)
    scratch = Scratch(workers)
    rest_slices = [_tap_slices(dims[1:], t) for t in rest_taps]

    def work(worker: int, block: Block) -> None:
        bs, rs = block
        target = out[bs, rs]
        dxb = target if direct else scratch.get(worker, "dx", target.shape, dtype)
        if not direct:
            dxb[...] = 0
        split = dxb.reshape(*dxb.shape[:-1], groups, cin_g)
        # the largest buffers of this block first, then views of them: a buffer never
        # grows (a grown buffer and the one it replaces would both be alive for a while)
        most = target.shape[0] * min(d0.out_size, -(-target.shape[1] // d0.stride)) * line_out
        work_buf = scratch.get(worker, "cols", (most * (channels if depthwise else krest
                                                        * channels),), dtype)
        for t0 in range(k0):
            r0 = tap_region(d0, t0, 0, d0.out_size, rs.start, rs.stop)
            if r0 is None:
                continue
            gb = g[bs, r0[0]]                # GEMMs need it contiguous, in ``dtype``
            if not depthwise and (gb.dtype != dtype or not gb.flags.c_contiguous):
                buf = scratch.get(worker, "g", (most * cout,), dtype)[:gb.size]
                np.copyto(buf.reshape(gb.shape), gb, casting="unsafe")
                gb = buf.reshape(gb.shape)
            images, m = gb.shape[0], math.prod(gb.shape[1:-1])    # one GEMM per image
            if not depthwise:
                cols = work_buf[:groups * images * m * krest * cin_g].reshape(
                    groups, images, m, krest * cin_g)
                if groups == 1:
                    np.matmul(gb.reshape(images, m, cout), wt[t0, 0], out=cols[0])
                else:
                    np.matmul(gb.reshape(images, m, groups, cout_g).transpose(2, 0, 1, 3),
                              wt[t0][:, None], out=cols)
                cv = cols.reshape(groups, *gb.shape[:-1], krest, cin_g)
            for j, region in enumerate(rest_slices):
                if region is None:
                    continue
                o_idx, i_idx = region
                if depthwise:
                    src = gb[(slice(None), slice(None)) + o_idx]
                    dst = dxb[(slice(None), r0[1]) + i_idx]
                    tmp = work_buf[:src.size].reshape(src.shape)
                    np.multiply(src, wd[t0, j], out=tmp)
                    np.add(dst, tmp, out=dst)
                else:
                    src = np.moveaxis(cv[(slice(None),) * 3 + o_idx + (j,)], 0, -2)
                    dst = split[(slice(None), r0[1]) + i_idx]
                    np.add(dst, src, out=dst)
        if not direct:
            np.copyto(target, dxb, casting="unsafe")

    run_blocks(blocks, work, workers, blas=not depthwise)


# --------------------------------------------------------------------------- dL/dw

def filter_grad(x: np.ndarray, g: np.ndarray, geometry: Geometry, groups: int,
                dtype: np.dtype) -> np.ndarray:
    """``dL/dw`` ``(*window, C/groups, C_out)`` in ``dtype`` from channels-last ``x`` and ``g``."""
    dtype = np.dtype(dtype)
    n = len(geometry.dims)
    batch, channels, cout = x.shape[0], x.shape[-1], g.shape[-1]
    cin_g, cout_g, taps = channels // groups, cout // groups, math.prod(geometry.window)
    k = taps * cin_g
    dw = np.zeros((groups, k, cout_g), dtype)
    line = math.prod(geometry.out_shape[1:])
    itemsize = dtype.itemsize
    depthwise = cin_g == 1                   # per tap: one sum of products per channel
    # (counted for depthwise whatever the layout: the blocks, so the sums, follow nbytes)
    copy_in = geometry.padded or x.dtype != dtype or depthwise
    tap_list = list(itertools.product(*(range(t) for t in geometry.window)))
    dims = geometry.dims
    flat = depthwise and cout_g == 1 and all(d.stride == 1 for d in dims[1:])

    def nbytes(images: int, rows: int) -> int:
        positions = images * rows * line
        total = positions * ((0 if depthwise else k * groups) + cout) * itemsize
        if copy_in:
            total += math.prod(slab_shape(x.shape, geometry, images, rows)) * itemsize
        return total

    # the accumulator and the partial products (up to a quarter of the bound, at least
    # WAVE) are filter-sized, outside the blocks; the blocks are planned for WAVE
    # workers (a constant), used by up to that many threads
    partials = max(WAVE, min(PARTIALS, get_workspace_limit() // 4 // max(dw.nbytes, 1)))
    blocks, affordable = plan(batch, geometry.out_shape, nbytes, WAVE,
                              reserve=(partials + 1) * dw.nbytes)
    workers = min(num_workers(), affordable)
    scratch = Scratch(workers)
    slots = [dw] if len(blocks) <= 1 else [np.empty_like(dw)
                                           for _ in range(min(partials, len(blocks)))]
    group: list[Block] = []

    def work(worker: int, block: Block) -> None:
        result = slots[group.index(block)]
        # (einsum's summation order follows the operands' strides: a C-ordered slab)
        cast = x.dtype != dtype or (depthwise and not x.flags.c_contiguous)
        xs = slab(x, geometry, block, 0, scratch, worker, dtype if cast else None)
        view = slab_view(xs, geometry, block[1].stop - block[1].start)
        m = math.prod(view.shape[:1 + n])
        gb = g[block]
        if gb.dtype != dtype or not gb.flags.c_contiguous:
            buf = scratch.get(worker, "g", gb.shape, dtype)
            np.copyto(buf, gb, casting="unsafe")
            gb = buf
        if flat:         # dw[t, c] = sum over positions of x_t[..., c] * g[..., c]
            # one einsum over the windows, the last dim merged with the channels (one
            # pass per tap along whole rows), then the sum over that dim's positions
            windows = row_windows(xs, geometry, block[1].stop - block[1].start)
            taps_ax = list(range(2, 2 + n))
            positions = list(range(2 + n, windows.ndim))
            sums = scratch.get(worker, "taps", windows.shape[2:], dtype)
            np.einsum(windows, [0, 1, *taps_ax, *positions],
                      gb.reshape(windows.shape[:2] + windows.shape[2 + n:]), [0, 1, *positions],
                      [*taps_ax, *positions], out=sums)
            per_tap = scratch.get(worker, "per_tap", (taps, channels), dtype)
            np.add.reduce(sums.reshape(taps, -1, channels), axis=1, out=per_tap)
            result[:, :, 0] = per_tap.T
            return
        if depthwise:    # dw[t, c, j] = sum over positions of x_t[..., c] * g[..., c, j]
            # (into a contiguous (C,) or (C, multiplier) result: einsum's loops over a
            # strided output with a unit last axis ran 6x slower)
            rows = block[1].stop - block[1].start
            lead, c, j = list(range(n + 1)), n + 1, n + 2    # positions: summed
            single = cout_g == 1
            operand = gb if single else gb.reshape(*gb.shape[:-1], groups, cout_g)
            index = lead + [c] if single else lead + [c, j]
            tmp = scratch.get(worker, "taps", (groups, cout_g), dtype)
            for t, tap in enumerate(tap_list):
                np.einsum(tap_slice(xs, geometry, tap, rows), lead + [c], operand, index,
                          [c] if single else [c, j], out=tmp[:, 0] if single else tmp)
                result[:, t] = tmp
            return
        if groups == 1:
            patches = scratch.get(worker, "patches", view.shape, dtype)
            np.copyto(patches, view)
            np.matmul(patches.reshape(m, k).T, gb.reshape(m, cout), out=result[0])
            return
        grouped = np.moveaxis(view.reshape(*view.shape[:-1], groups, cin_g), -2, 0)
        patches = scratch.get(worker, "patches", grouped.shape, dtype)
        np.copyto(patches, grouped)
        np.matmul(patches.reshape(groups, m, k).transpose(0, 2, 1),
                  gb.reshape(m, groups, cout_g).transpose(1, 0, 2), out=result)

    # BLAS on one thread whatever the workers: a multi-threaded BLAS may split the long
    # summed dimension of these GEMMs, and the bits would follow the thread count
    with single_threaded_blas():
        for start in range(0, len(blocks), len(slots)):
            group[:] = blocks[start:start + len(slots)]
            run_blocks(group, work, workers, blas=not depthwise)
            if len(blocks) > 1:
                for j in range(len(group)):
                    np.add(dw, slots[j], out=dw)
    dw = dw.reshape(groups, *geometry.window, cin_g, cout_g)
    return np.moveaxis(dw, 0, -2).reshape(*geometry.window, cin_g, cout)
