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

from ..algorithms import ALGORITHMS, choose, workspace
from ..algorithms.gemm import filter_matrix
from ..config import get_workspace_limit, workspace_limit
from ..engine import (Block, Request, Scratch, row_windows, slab, slab_shape, slab_view,
                      tap_slice)
from ..threads import num_workers, run_blocks, single_threaded_blas
from ..geometry import DimGeometry, Geometry, resolve
from ..windows import tap_region

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


def _gather(g_shape: tuple[int, ...], w_shape: tuple[int, ...], geometry: Geometry,
            groups: int, dtype: np.dtype, precision: str) -> tuple[Geometry, str] | None:
    """The geometry and forward algorithm of a stride-1 gather, or None (a scatter-add)."""
    back = _gather_geometry(geometry)
    if back is None:
        return None
    wf_shape = (*geometry.window, w_shape[-1] // groups, groups * w_shape[-2])
    name = choose(g_shape, wf_shape, back, groups, dtype, precision)
    return (back, name) if name in GATHER else None


def _gather_chunk(g_shape: tuple[int, ...], geometry: Geometry, channels: int,
                  dtype: np.dtype, limit: int) -> tuple[int, int]:
    """``(images, bytes of one image's result)`` of a gather copied into the caller's
    array: the images' results and the gather's scratch share the bound ``limit``."""
    per_image = math.prod(d.in_size for d in geometry.dims) * channels * dtype.itemsize
    return max(1, min(g_shape[0], limit // 2 // max(per_image, 1))), per_image


def input_workspace(g_shape: tuple[int, ...], g_dtype: np.dtype, w_shape: tuple[int, ...],
                    geometry: Geometry, groups: int, dtype: np.dtype, precision: str,
                    into: bool) -> int:
    """Bytes :func:`input_grad` holds at once besides its result, known before it runs.

    ``into``: the result is the caller's array (``out`` given).  A gather: the flipped
    filters and the forward algorithm's own workspace
    (:func:`numconv.algorithms.workspace`, under the bound left), with ``into`` the
    results of a chunk of images too; a scatter-add: the filters it converts and the
    blocks of :func:`scatter_request`.
    """
    dtype = np.dtype(dtype)
    filters = math.prod(w_shape) * dtype.itemsize
    channels = groups * w_shape[-2]
    gather = _gather(g_shape, w_shape, geometry, groups, dtype, precision)
    if gather is None:
        depthwise = w_shape[-2] == 1 and w_shape[-1] == groups
        return (1 if depthwise else 2) * filters + scatter_request(
            g_shape, w_shape, geometry, groups, dtype, not into).workspace()
    back, name = gather
    wf_shape = (*geometry.window, w_shape[-1] // groups, channels)
    limit = max(get_workspace_limit() - filters, 1024)
    if not into:
        with workspace_limit(limit):
            return filters + workspace(name, g_shape, g_dtype, wf_shape, back, groups, dtype)
    chunk, per_image = _gather_chunk(g_shape, geometry, channels, dtype, limit)
    with workspace_limit(max(limit // 2, 1024)):
        return filters + chunk * per_image + workspace(name, (chunk, *g_shape[1:]), g_dtype,
                                                       wf_shape, back, groups, dtype)


def input_grad(g: np.ndarray, w: np.ndarray, geometry: Geometry, groups: int,
               out: np.ndarray | None, dtype: np.dtype, precision: str) -> np.ndarray:
    """``dL/dx`` of channels-last ``g`` ``(N, *out, C_out)`` through filters ``w``.

    ``precision`` ("exact" or "fast") is what the gather's algorithm choice may use.
    ``out`` is the zero-filled result, channels-last (a view of the caller's layout,
    of the result dtype), or None: then a gather may return a new channels-last array
    in ``dtype`` (only allowed when that is the result's dtype and layout).  With
    ``out`` a gather runs a few images at a time and is copied into it (an image's
    bits do not depend on its batch), so every layout gets the same bits.
    :func:`input_workspace` is the scratch it holds.
    """
    dtype = np.dtype(dtype)
    gather = _gather(g.shape, w.shape, geometry, groups, dtype, precision)
    if gather is not None:
        back, name = gather
        wf = _flipped(w, groups, dtype)
        run = ALGORITHMS[name]
        limit = max(get_workspace_limit() - wf.nbytes, 1024)
        if out is None:
            with workspace_limit(limit):
                return run(g, wf, back, groups, dtype)
        chunk, _ = _gather_chunk(g.shape, geometry, out.shape[-1], dtype, limit)
        # (IEEE results silently: a float16 result may overflow, see nonfinite.md)
        with workspace_limit(max(limit // 2, 1024)), np.errstate(over="ignore"):
            for start in range(0, g.shape[0], chunk):
                part = run(g[start:start + chunk], wf, back, groups, dtype)
                np.copyto(out[start:start + chunk], part, casting="unsafe")
                del part                  # before the next chunk allocates its own
        return out
    if out is None:
        shape = (g.shape[0], *(d.in_size for d in geometry.dims), groups * w.shape[-2])
        out = np.zeros(shape, dtype)
    _scatter_input_grad(g, w, geometry, groups, out, dtype)
    return out


def scatter_request(g_shape: tuple[int, ...], w_shape: tuple[int, ...], geometry: Geometry,
                    groups: int, dtype: np.dtype, direct: bool) -> Request:
    """The blocks of rows of ``dx`` the scatter-add asks for: per block the GEMM's
    columns (depthwise: one tap's products) and ``g``'s rows in ``dtype``, and, unless
    it adds into the result itself (``direct``), the block of ``dx``."""
    dtype = np.dtype(dtype)
    dims = geometry.dims
    d0 = dims[0]
    cin_g, cout = w_shape[-2], w_shape[-1]
    channels = groups * cin_g
    krest = math.prod(geometry.window[1:])
    depthwise = cin_g == 1 and cout == groups
    in_shape = tuple(d.in_size for d in dims)
    line_out, line_in = math.prod(geometry.out_shape[1:]), math.prod(in_shape[1:])
    itemsize = dtype.itemsize

    def nbytes(images: int, rows: int) -> int:
        positions = images * min(d0.out_size, -(-rows // d0.stride)) * line_out
        total = positions * (channels if depthwise else krest * channels + cout) * itemsize
        return total + (0 if direct else images * rows * line_in * channels * itemsize)

    return Request(g_shape[0], in_shape, nbytes, num_workers(), split_rows=depthwise,
                   reserve=math.prod(w_shape) * itemsize)


def _scatter_input_grad(g: np.ndarray, w: np.ndarray, geometry: Geometry, groups: int,
                        out: np.ndarray, dtype: np.dtype) -> None:
    """Add ``dL/dx`` into the zero-filled ``out`` (see the module docstring)."""
    dims = geometry.dims
    d0 = dims[0]
    cout = g.shape[-1]
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
    line_out = math.prod(geometry.out_shape[1:])
    direct = out.dtype == dtype and out.flags.c_contiguous
    blocks, workers = scatter_request(g.shape, w.shape, geometry, groups, dtype,
                                      direct).plan()
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
