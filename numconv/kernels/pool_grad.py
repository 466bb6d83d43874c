"""Kernels of the pooling gradients and of max pooling with argmax: blocked, no padded copy.

Work runs in cache-sized blocks on the worker threads
(:func:`numconv.engine.plan`), whose scratch together stays under the
workspace bound (:func:`numconv.get_workspace_limit`) whatever the batch size.  A
tap is a whole-block ufunc with ``out=`` on a basic slice, clipped to the outputs
whose input index lies inside the input (:func:`numconv.windows.tap_region`),
which is the same as reading padding that never wins a maximum and adds nothing.

* :func:`argmax_taps`: per block of output rows, the maximum of each window, then
  the first tap in window order equal to it (the first NaN if the maximum is NaN),
  without masked (``where=``) ufuncs, which are many times slower.
* :func:`max_grad` and :func:`avg_grad`: blocks of rows of ``dx`` (first spatial
  dim).  A block recomputes what the windows that reach its rows need (the argmax
  or ``g / divisor``), then adds each tap's share into its rows.  Every element of
  ``dx`` is written by one block only and sums its taps in window order, so the
  result does not depend on the blocks or the threads.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Iterator

import numpy as np

from ..config import get_workspace_limit
from ..engine import Block, Request, Scratch
from ..threads import num_workers, run_blocks
from ..geometry import DimGeometry, Geometry
from ..windows import tap_region
from .conv_grad import window_rows

#: Scratch bytes per block (all buffers of one worker): cache-sized.
POOL_GRAD_BLOCK_BYTES = 4 << 20


def _index_dtype(geometry: Geometry) -> np.dtype:
    """The smallest unsigned integer dtype holding every tap index."""
    taps = math.prod(geometry.window)
    return np.dtype(next(t for t in (np.uint8, np.uint16, np.uint32, np.uint64)
                         if taps - 1 <= np.iinfo(t).max))


def _tap_range(d: DimGeometry, start: int, stop: int, lo: int, hi: int) -> range:
    """The taps that may read an input index in ``[lo, hi)`` from outputs ``[start, stop)``
    (a window of 10**6 taps over a few pixels is not a loop of 10**6 steps)."""
    if stop <= start or hi <= lo:
        return range(0)
    first = -((d.stride * (stop - 1) - lo - d.pad_before) // d.dilation)
    last = (hi - 1 + d.pad_before - start * d.stride) // d.dilation
    return range(max(first, 0), min(last + 1, d.window))


def _taps(dims: tuple[DimGeometry, ...], spans: list[tuple[int, int]],
          rows: tuple[int, int] | None = None
          ) -> Iterator[tuple[int, tuple[slice, ...], tuple[slice, ...], bool]]:
    """``(tap index, out slices, in slices, full)`` of the taps that read the input.

    ``spans[i]`` is the output range of dim ``i``; slices are relative to it (and,
    with ``rows=(a, b)``, the first dim's input slice to ``a``, clipped to ``[a, b)``).
    Taps that read only padding are skipped; ``full`` says a tap covers every output.
    """
    per_dim = []
    for i, (d, (start, stop)) in enumerate(zip(dims, spans)):
        lo, hi = rows if (i == 0 and rows is not None) else (0, d.in_size)
        regions = [(t, tap_region(d, t, start, stop, lo, hi))
                   for t in _tap_range(d, start, stop, lo, hi)]
        per_dim.append([(t, r) for t, r in regions if r is not None])
    sizes = [d.window for d in dims]
    for combo in itertools.product(*per_dim):
        k = 0
        for (t, _), size in zip(combo, sizes):
            k = k * size + t
        out = tuple(r[0] for _, r in combo)
        full = all(s.start == 0 and s.stop == stop - start
                   for s, (start, stop) in zip(out, spans))
        yield k, out, tuple(r[1] for _, r in combo), full


def _argmax(xb: np.ndarray, dims: tuple[DimGeometry, ...], o0: int, o1: int,
            best: np.ndarray, which: np.ndarray, scratch: Scratch, worker: int,
            fill: Any) -> np.ndarray | None:
    """Max and first maximal tap of window rows ``[o0, o1)`` of ``xb`` (``(n, *in, C)``).

    Two passes over the taps, with no masked (``where=``) ufunc: the maximum
    (``np.maximum``, which propagates NaN), then for each tap in order ``hit = (tap ==
    max) & not_yet`` (NaN matches NaN), ``not_yet ^= hit``, ``which += k * hit``.
    Returns the ``not_yet`` mask if some window has no tap on the input (else None):
    those windows keep ``best = fill`` and ``which = 0``.
    """
    spans = [(o0, o1)] + [(0, d.out_size) for d in dims[1:]]
    taps = [(k, (slice(None),) + o, (slice(None),) + i, full)
            for k, o, i, full in _taps(dims, spans)]
    which[...] = 0
    if not taps:                        # every window of the block reads padding only
        best[...] = fill
        nowhere = scratch.get(worker, "not_yet", best.shape, bool)
        nowhere[...] = True
        return nowhere
    if taps[0][3]:
        np.copyto(best, xb[taps[0][2]])
    else:
        best[...] = fill
    for k, o_idx, i_idx, full in taps[0 if not taps[0][3] else 1:]:
        b = best[o_idx]
        np.maximum(b, xb[i_idx], out=b)
    hit = scratch.get(worker, "hit", best.shape, bool)
    nan = best.dtype.kind == "f" and bool(np.isnan(best, out=hit).any())
    not_yet = scratch.get(worker, "not_yet", best.shape, bool)
    not_yet[...] = True
    if nan:
        other = scratch.get(worker, "other", best.shape, bool)
        best_nan = np.isnan(best, out=scratch.get(worker, "best_nan", best.shape, bool))
    step = scratch.get(worker, "step", best.shape, which.dtype)
    for k, o_idx, i_idx, _ in taps:
        view, h, b = xb[i_idx], hit[o_idx], best[o_idx]
        np.equal(view, b, out=h)
        if nan:
            o = other[o_idx]
            np.isnan(view, out=o)
            np.logical_and(o, best_nan[o_idx], out=o)
            np.logical_or(h, o, out=h)
        ny = not_yet[o_idx]
        np.logical_and(h, ny, out=h)
        np.logical_xor(ny, h, out=ny)
        if k:
            st = step[o_idx]
            if which.dtype == np.uint8:
                np.multiply(h.view(np.uint8), k, out=st)
            else:
                np.multiply(h, k, out=st, dtype=which.dtype)
            w = which[o_idx]
            np.add(w, st, out=w)
    covered = all(full for *_, full in taps) or not not_yet.any()
    return None if covered else not_yet


def argmax_taps(xc: np.ndarray, geometry: Geometry, best: np.ndarray, flat: np.ndarray,
                multipliers: tuple[int, ...], channel_multiplier: int, batch_multiplier: int,
                fill: Any) -> None:
    """Fill ``best`` (max) and ``flat`` (input index of the first maximum) per window.

    All arrays channels-last: ``xc`` ``(N, *in, C)``, ``best`` and ``flat``
    ``(N, *out, C)`` (views of the results).  ``flat = sum_i pos_i * multipliers[i] +
    c * channel_multiplier + n * batch_multiplier``, with ``pos_i = o_i*s_i + t_i*d_i -
    pad_before_i`` the input position of the maximal tap; -1 for a window of padding.
    """
    if best.size == 0:   # no window (a window of 2**64 taps may then be legal)
        return
    dims = geometry.dims
    batch, channels = xc.shape[0], xc.shape[-1]
    idt = _index_dtype(geometry)
    # input offset of each tap, and of each window's origin along each dim
    offsets = np.zeros((), np.int64)
    for d, m in zip(dims, multipliers):
        offsets = np.add.outer(offsets, np.arange(d.window, dtype=np.int64) * (d.dilation * m))
    offsets = offsets.reshape(-1)
    origin = [(np.arange(d.out_size, dtype=np.int64) * d.stride - d.pad_before) * m
              for d, m in zip(dims, multipliers)]
    chan = np.arange(channels, dtype=np.int64) * channel_multiplier

    # channels-first results are strided: computed in contiguous scratch, then copied
    direct = best.flags.c_contiguous and flat.flags.c_contiguous
    blocks, workers = argmax_request(batch, channels, geometry, best.dtype, direct).plan()
    scratch = Scratch(workers)

    def work(worker: int, block: Block) -> None:
        bs, rs = block
        out, top = flat[block], best[block]
        if not direct:
            out = scratch.get(worker, "flat", out.shape, np.int64)
            top = scratch.get(worker, "best", top.shape, best.dtype)
        which = scratch.get(worker, "which", out.shape, idt)
        empty = _argmax(xc[bs], dims, rs.start, rs.stop, top, which, scratch, worker, fill)
        np.take(offsets, which, out=out, mode="clip")    # "raise" would buffer ``out``
        base = origin[0][rs].reshape((-1,) + (1,) * len(dims))
        for i, o in enumerate(origin[1:], start=1):
            out += o.reshape((-1,) + (1,) * (len(dims) - i))
        out += base
        out += chan
        if batch_multiplier:
            out += (np.arange(bs.start, bs.stop, dtype=np.int64)
                    * batch_multiplier).reshape((-1,) + (1,) * (len(dims) + 1))
        if empty is not None:        # windows of padding only (rare: no fast path)
            np.copyto(out, -1, where=empty)
        if not direct:
            np.copyto(flat[block], out)
            np.copyto(best[block], top)

    run_blocks(blocks, work, workers)


def argmax_request(batch: int, channels: int, geometry: Geometry, dtype: Any,
                   direct: bool) -> Request:
    """The blocks of output rows :func:`argmax_taps` asks for: per window the tap index,
    its product, four masks and the flat index (with ``direct`` false, channels-first
    results, the maximum and the flat index in contiguous scratch too); the tap offsets
    and window origins are kept beside (the plan's ``reserve``)."""
    idt = _index_dtype(geometry)
    line = math.prod(geometry.out_shape[1:]) * channels
    extra = 0 if direct else np.dtype(dtype).itemsize + 8

    def nbytes(images: int, rows: int) -> int:   # which, step, 4 masks, take's indices
        return images * rows * line * (2 * idt.itemsize + 4 + 8 + extra)

    reserve = 8 * (math.prod(geometry.window) + sum(d.out_size for d in geometry.dims))
    return Request(batch, geometry.out_shape, nbytes, num_workers(), POOL_GRAD_BLOCK_BYTES,
                   split_rows=True, reserve=reserve)


def dx_request(shape: tuple[int, ...], geometry: Geometry, window_row: int, dtype: np.dtype,
               direct: bool, reserve: int = 0) -> Request:
    """Blocks of rows of ``dx`` (channels-last ``shape``), with ``window_row`` bytes of
    scratch per row of the windows that reach them and, unless the block is ``dx``
    itself (``direct``), the block of ``dx`` in ``dtype``."""
    d0 = geometry.dims[0]
    input_row = 0 if direct else math.prod(shape[2:]) * np.dtype(dtype).itemsize

    def nbytes(images: int, rows: int) -> int:
        wrows = min(d0.out_size, -(-(rows + d0.effective_window - 1) // d0.stride))
        return images * (wrows * window_row + rows * input_row)

    return Request(shape[0], tuple(d.in_size for d in geometry.dims), nbytes, num_workers(),
                   POOL_GRAD_BLOCK_BYTES, split_rows=True, reserve=reserve)


def _scatter(out: np.ndarray, dtype: np.dtype, geometry: Geometry, window_row: int,
             add: Any, reserve: int = 0) -> None:
    """Run ``add(worker, scratch, dxb, block, o0, o1)`` per block of ``dx`` rows.

    ``[o0, o1)`` are the window rows (first-dim outputs) that reach the block's rows.

    ``dxb`` is the block of ``out`` itself, or a zeroed scratch block in ``dtype`` that
    is copied to ``out`` afterwards (another result dtype, or a channels-first result).
    """
    direct = out.dtype == dtype and out.flags.c_contiguous
    blocks, workers = dx_request(out.shape, geometry, window_row, dtype, direct,
                                 reserve).plan()
    scratch = Scratch(workers)

    def work(worker: int, block: Block) -> None:
        bs, rs = block
        target = out[block]
        dxb = target if direct else scratch.get(worker, "dx", target.shape, dtype)
        if not direct:
            dxb[...] = 0
        o0, o1 = window_rows(geometry.dims[0], rs.start, rs.stop)
        if o1 > o0:
            add(worker, scratch, dxb, block, o0, o1)
        if not direct:
            np.copyto(target, dxb, casting="unsafe")

    run_blocks(blocks, work, workers)


def max_grad(xc: np.ndarray, g: np.ndarray, geometry: Geometry, out: np.ndarray,
             dtype: np.dtype, fill: Any) -> None:
    """Add channels-last ``g`` to the first maximum of each window of ``xc`` into ``out``.

    ``out`` is the zero-filled result (channels-last view); ``dtype`` the accumulation.
    Each tap adds ``g * (which == k)`` (for a block of finite ``g``; otherwise the
    selection is a masked copy, as ``inf * 0`` is NaN).
    """
    if g.size == 0 or out.size == 0:
        return
    dims = geometry.dims
    idt = _index_dtype(geometry)

    def add(worker: int, scratch: Scratch, dxb: np.ndarray, block: Block, o0: int,
            o1: int) -> None:
        bs, rs = block
        gb = g[bs, o0:o1]
        best = scratch.get(worker, "best", gb.shape, xc.dtype)
        which = scratch.get(worker, "which", gb.shape, idt)
        _argmax(xc[bs], dims, o0, o1, best, which, scratch, worker, fill)
        spans = [(o0, o1)] + [(0, d.out_size) for d in dims[1:]]
        masks = scratch.get(worker, "hit", gb.shape, bool)
        # (all_finite would copy a channels-first block; isfinite into a mask does not)
        finite = gb.dtype.kind != "f" or bool(np.isfinite(gb, out=masks).all())
        parts = scratch.get(worker, "part", gb.shape, gb.dtype)
        for k, o_idx, i_idx, _ in _taps(dims, spans, (rs.start, rs.stop)):
            o_idx, i_idx = (slice(None),) + o_idx, (slice(None),) + i_idx
            hit, part = masks[o_idx], parts[o_idx]
            np.equal(which[o_idx], k, out=hit)
            if finite:
                np.multiply(gb[o_idx], hit, out=part)
            else:
                part[...] = 0
                np.copyto(part, gb[o_idx], where=hit)
            dst = dxb[i_idx]
            np.add(dst, part, out=dst)

    _scatter(out, dtype, geometry, max_window_row(xc.dtype, g.shape, g.dtype, geometry), add)


def max_window_row(x_dtype: Any, g_shape: tuple[int, ...], g_dtype: Any,
                   geometry: Geometry) -> int:
    """Scratch bytes of :func:`max_grad` per row of windows: the maximum, the tap index
    and its product, five masks and the selected gradient per window."""
    idt = _index_dtype(geometry)
    per_window = np.dtype(x_dtype).itemsize + 2 * idt.itemsize + 5 + np.dtype(g_dtype).itemsize
    return math.prod(g_shape[2:]) * per_window


def _spread_axis(src: np.ndarray, dst: np.ndarray, axis: int, d: DimGeometry, start: int,
                 lo: int, zero: bool) -> None:
    """The 1-D adjoint of a window sum along ``axis``: ``dst[p] = sum of src[o]`` over the
    taps ``t`` (in order) with ``o*stride + t*dilation - pad_before = lo + p``.

    ``src`` holds outputs ``[start, ...)``.  A position's first tap is copied, later
    ones added (no zero fill, no read before write); positions no tap reaches are
    zeroed if ``zero`` (else left as they are).
    """
    lead = (slice(None),) * axis
    size = dst.shape[axis]
    stop = start + src.shape[axis]
    touched = np.zeros(size, bool)
    for t in _tap_range(d, start, stop, lo, lo + size):
        region = tap_region(d, t, start, stop, lo, lo + size)
        if region is None:
            continue
        o_sl, i_sl = region
        state = touched[i_sl]
        if state.all() or not state.any():
            bounds = [0, len(state)]
        else:                                            # runs of one state
            bounds = [0, *(np.flatnonzero(state[1:] != state[:-1]) + 1).tolist(), len(state)]
        for j0, j1 in zip(bounds[:-1], bounds[1:]):
            target = dst[lead + (slice(i_sl.start + j0 * d.stride,
                                       i_sl.start + (j1 - 1) * d.stride + 1, d.stride),)]
            part = src[lead + (slice(o_sl.start + j0, o_sl.start + j1),)]
            if state[j0]:
                np.add(target, part, out=target)
            else:
                np.copyto(target, part)
        touched[i_sl] = True
    if zero and not touched.all():
        dst[lead + (np.flatnonzero(~touched),)] = 0


def avg_grad(g: np.ndarray, geometry: Geometry, divisor: np.ndarray | None,
             override: int | None, out: np.ndarray, dtype: np.dtype) -> None:
    """Add channels-last ``g / divisor`` to every tap of its window into ``out``.

    ``divisor`` has shape ``out_spatial`` (zeros are windows of padding only, whose
    taps all miss the input); ``override`` replaces it by one number.  The spread is
    separable: one axis at a time, the last spatial axis first, so that the last
    step (along the first axis) adds whole rows.  A position sums its taps one axis
    after the other, ``sum_i (sum_j share[i, j])``: equal to the flat window order up
    to rounding, and the same in any block.
    """
    if g.size == 0 or out.size == 0:
        return
    dims = geometry.dims
    channels = g.shape[-1]
    wide = False
    if override is not None:
        factor: Any = dtype.type(override)
    else:
        assert divisor is not None
        factor = np.where(divisor == 0, 1, divisor).astype(dtype)
        if _wide(geometry, channels, dtype, g.flags.c_contiguous):
            # repeated along the channels, the divisor has the layout of one image of g:
            # the division runs in long inner loops instead of one per position
            factor, wide = np.repeat(factor, channels, axis=-1), True
        else:
            factor = factor[..., None]

    def add(worker: int, scratch: Scratch, dxb: np.ndarray, block: Block, o0: int,
            o1: int) -> None:
        bs, rs = block
        gb = g[bs, o0:o1]
        current = scratch.get(worker, "share", gb.shape, dtype)
        if wide:
            np.divide(gb.reshape(*gb.shape[:-2], -1), factor[o0:o1],
                      out=current.reshape(*gb.shape[:-2], -1), dtype=dtype)
        else:
            np.divide(gb, factor if override is not None else factor[o0:o1], out=current,
                      dtype=dtype)
        for axis in range(len(dims) - 1, 0, -1):
            d = dims[axis]
            if d.window == d.stride == 1 and d.out_size == d.in_size:
                continue                                  # the identity
            shape = (*current.shape[:axis + 1], d.in_size, *current.shape[axis + 2:])
            spread = scratch.get(worker, f"step{axis % 2}", shape, dtype)
            _spread_axis(current, spread, axis + 1, d, 0, 0, True)
            current = spread
        _spread_axis(current, dxb, 1, dims[0], o0, rs.start, False)

    _scatter(out, dtype, geometry, avg_window_row(g.shape, geometry, dtype), add,
             avg_factor_bytes(geometry, channels, dtype, override is not None,
                              g.flags.c_contiguous))


def _wide(geometry: Geometry, channels: int, dtype: np.dtype, contiguous: bool) -> bool:
    """Whether :func:`avg_grad` repeats the divisor along the channels (2-D and 3-D, a
    C-contiguous ``g``, the repeated divisor under an eighth of the workspace bound)."""
    positions = math.prod(geometry.out_shape)
    return (len(geometry.dims) > 1 and contiguous
            and positions * channels * dtype.itemsize <= get_workspace_limit() // 8)


def avg_window_row(g_shape: tuple[int, ...], geometry: Geometry, dtype: np.dtype) -> int:
    """Scratch bytes of :func:`avg_grad` per row of windows: the shares ``g / divisor``
    and the two buffers of the spread along the other axes."""
    widest = math.prod(max(d.in_size, d.out_size) for d in geometry.dims[1:])
    return (math.prod(g_shape[2:-1]) + 2 * widest) * g_shape[-1] * np.dtype(dtype).itemsize


def avg_factor_bytes(geometry: Geometry, channels: int, dtype: np.dtype, override: bool,
                     contiguous: bool) -> int:
    """Bytes of the divisor :func:`avg_grad` keeps beside its blocks (the plan's
    ``reserve``): one per output position in ``dtype``, repeated along the channels
    when :func:`_wide`; one number with ``divisor_override``."""
    dtype = np.dtype(dtype)
    if override:
        return dtype.itemsize
    positions = math.prod(geometry.out_shape)
    return positions * dtype.itemsize * (channels if _wide(geometry, channels, dtype,
                                                           contiguous) else 1)
