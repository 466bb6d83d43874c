"""Kernel of the average pool gradient: ``g / divisor`` spread back over each window.

The spread is separable, one spatial axis at a time (:func:`_spread_axis`, the 1-D
adjoint of a window sum, tap by tap with whole-slice ufuncs clipped to the input),
in the blocks of ``dx`` rows of :func:`numconv.kernels.pool_grad.scatter_rows`: every
element of ``dx`` is written by one block only, so the result does not depend on the
blocks or the threads.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..config import get_workspace_limit
from ..engine import Block, Scratch
from ..geometry import DimGeometry, Geometry
from ..windows import tap_range, tap_region
from .pool_grad import scatter_rows


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
    for t in tap_range(d, start, stop, lo, lo + size):
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

    scatter_rows(out, dtype, geometry, avg_window_row(g.shape, geometry, dtype), add,
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
