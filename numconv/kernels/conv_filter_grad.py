"""Kernel of the convolution's filter gradient ``dL/dw``: block by block, no padded copy.

All work runs in blocks (:func:`numconv.engine.plan`) whose scratch, over all worker
threads, stays under the workspace bound (:func:`numconv.get_workspace_limit`)
whatever the batch size.  Beyond that scratch and the returned array, a call keeps
only filter-sized arrays (the accumulator and the partial products), which the
blocks' plan leaves room for (its ``reserve``).  The input gradient ``dL/dx`` is
:mod:`.conv_input_grad`.

``dL/dw`` is the patch matrix of a block (its padded input rows copied to a slab)
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

from ..config import get_workspace_limit
from ..engine import Block, Request, Scratch, row_windows, slab, slab_shape, slab_view, tap_slice
from ..geometry import Geometry
from ..threads import num_workers, run_blocks, single_threaded_blas

#: Blocks of ``dL/dw`` whose partial products are computed together (on the worker
#: threads) and then added in order: a constant, so the result is the same for any
#: thread count.
WAVE = 2

#: Most blocks of ``dL/dw`` whose partial products are computed in one hand-off to the
#: worker threads (each a filter-sized buffer, within a quarter of the workspace
#: bound) before they are added in block order: fewer waits for the slowest thread
#: than one hand-off per :data:`WAVE` blocks, and the same sum.
PARTIALS = 64


def _partials(dw_bytes: int) -> int:
    """Filter-sized partial products per hand-off: up to a quarter of the bound, at
    least :data:`WAVE`."""
    return max(WAVE, min(PARTIALS, get_workspace_limit() // 4 // max(dw_bytes, 1)))


def _flat(geometry: Geometry, channels: int, groups: int, cout: int) -> bool:
    """Whether depthwise ``dL/dw`` (multiplier 1, stride 1 along the trailing dims) sums
    each block in one einsum over :func:`~numconv.engine.row_windows`."""
    return channels == groups == cout and all(d.stride == 1 for d in geometry.dims[1:])


def filter_request(x_shape: tuple[int, ...], x_dtype: np.dtype, g_shape: tuple[int, ...],
                   geometry: Geometry, groups: int, dtype: np.dtype) -> Request:
    """The blocks of output positions :func:`filter_grad` asks for: per block its patch
    matrix (not for depthwise), ``g``'s rows in ``dtype`` and, when it pads or casts
    (always for depthwise), its input slab.  The accumulator and the partial products
    are filter-sized, outside the blocks (the plan's ``reserve``); the blocks are
    planned for :data:`WAVE` workers (a constant), used by up to that many threads."""
    dtype = np.dtype(dtype)
    channels, cout = x_shape[-1], g_shape[-1]
    k = math.prod(geometry.window) * channels // groups
    line = math.prod(geometry.out_shape[1:])
    itemsize = dtype.itemsize
    depthwise = channels == groups           # per tap: one sum of products per channel
    # (counted for depthwise whatever the layout: the blocks, so the sums, follow nbytes)
    copy_in = geometry.padded or np.dtype(x_dtype) != dtype or depthwise

    def nbytes(images: int, rows: int) -> int:
        positions = images * rows * line
        total = positions * ((0 if depthwise else k * groups) + cout) * itemsize
        if copy_in:
            total += math.prod(slab_shape(x_shape, geometry, images, rows)) * itemsize
        return total

    dw_bytes = k * cout * itemsize
    return Request(x_shape[0], geometry.out_shape, nbytes, WAVE,
                   reserve=(_partials(dw_bytes) + 1) * dw_bytes)


def filter_workspace(x: np.ndarray, g: np.ndarray, geometry: Geometry, groups: int,
                     dtype: np.dtype) -> int:
    """Bytes :func:`filter_grad` holds at once, its ``dtype`` result included: the
    accumulator, the partial products when there are several blocks, the grouped
    result's reordered copy, and for each worker that runs, the largest block of
    :func:`filter_request`'s plan as the block fills it (the plan reserves a slab and
    ``g``'s rows whatever the layout; a block copies them only when it pads, casts or
    reads strided memory), with depthwise's per-tap sums and einsum's buffer."""
    dtype = np.dtype(dtype)
    request = filter_request(x.shape, x.dtype, g.shape, geometry, groups, dtype)
    images, rows, count, used = request.shape()
    channels, cout, itemsize = x.shape[-1], g.shape[-1], dtype.itemsize
    taps = math.prod(geometry.window)
    k = taps * channels // groups
    depthwise = channels == groups
    line = math.prod(geometry.out_shape[1:])
    held = 0
    if count:
        positions = images * rows * line
        held = positions * (0 if depthwise else k * groups) * itemsize
        if g.dtype != dtype or not g.flags.c_contiguous:
            held += positions * cout * itemsize
        if geometry.padded or _casts(x, dtype, depthwise):
            held += math.prod(slab_shape(x.shape, geometry, images, rows)) * itemsize
        if _flat(geometry, channels, groups, cout):      # the sums per tap and position
            held += taps * (line + 1) * channels * itemsize
        elif depthwise:      # einsum's iterator buffers the strided tap of the slab
            held += np.getbufsize() * itemsize + cout * itemsize
    dw = k * cout * itemsize
    partials = min(_partials(dw), count) if count > 1 else 0
    return dw * (1 + partials + (groups > 1)) + held * min(num_workers(), used)


def _casts(x: np.ndarray, dtype: np.dtype, depthwise: bool) -> bool:
    """Whether a block of :func:`filter_grad` casts its slab (einsum's summation order
    follows the operands' strides: depthwise reads a C-ordered slab)."""
    return x.dtype != dtype or (depthwise and not x.flags.c_contiguous)


def filter_grad(x: np.ndarray, g: np.ndarray, geometry: Geometry, groups: int,
                dtype: np.dtype) -> np.ndarray:
    """``dL/dw`` ``(*window, C/groups, C_out)`` in ``dtype`` from channels-last ``x`` and ``g``;
    :func:`filter_workspace` is what it holds."""
    dtype = np.dtype(dtype)
    n = len(geometry.dims)
    channels, cout = x.shape[-1], g.shape[-1]
    cin_g, cout_g, taps = channels // groups, cout // groups, math.prod(geometry.window)
    k = taps * cin_g
    dw = np.zeros((groups, k, cout_g), dtype)
    depthwise = cin_g == 1                   # per tap: one sum of products per channel
    tap_list = list(itertools.product(*(range(t) for t in geometry.window)))
    flat = _flat(geometry, channels, groups, cout)
    partials = _partials(dw.nbytes)
    blocks, affordable = filter_request(x.shape, x.dtype, g.shape, geometry, groups,
                                        dtype).plan()
    workers = min(num_workers(), affordable)
    scratch = Scratch(workers)
    slots = [dw] if len(blocks) <= 1 else [np.empty_like(dw)
                                           for _ in range(min(partials, len(blocks)))]
    group: list[Block] = []

    def work(worker: int, block: Block) -> None:
        result = slots[group.index(block)]
        cast = _casts(x, dtype, depthwise)
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
