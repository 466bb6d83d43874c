"""Window reductions for pooling: separable, tap-wise whole-array ufuncs, no padded copy.

``out[n, o..., c] = REDUCE over taps t of padded[n, o*stride + t*dilation ..., c]``
(max or sum), optionally divided by a per-position divisor.  Max and sum over a box
window are separable, so the window is reduced one spatial axis at a time, the
first axis first: along the first axis a tap is a slice of whole rows (one long
contiguous inner loop per row), and only the last axis has inner loops as short as
the channels.  The output is computed block by block (cache-sized bands of output
rows, on the worker threads) with each step's result in a per-worker scratch
buffer; within a step each tap is one ``np.maximum`` / ``np.add`` with ``out=``.
Padding is never materialised: a tap's slice is clipped to the positions whose
input index lies inside the input, which is the same as reading the fill value
(``-inf`` / 0) there.  A step starts from a tap that covers all of its positions
when there is one; otherwise it is filled with ``fill`` first (positions whose
window holds only padding keep it).  Sums add the taps of each axis in order, so
they associate as ``sum_j (sum_i x[i, j])`` rather than in flat window order:
equal up to rounding.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..config import get_workspace_limit
from ..padding import DimGeometry, Geometry
from ._engine import Block, Scratch, num_workers, plan, run_blocks

__all__ = ["reduce_windows"]

#: Scratch bytes per pooling block: large enough that the few ufunc calls per tap and
#: axis are amortised, small enough to stay in the L2/L3 cache.
POOL_BLOCK_BYTES = 2 << 20


def _tap_region(d: DimGeometry, tap: int, start: int, stop: int
                ) -> tuple[slice, slice, bool] | None:
    """``(out_slice, in_slice, full)`` of one tap along one axis, or None if empty.

    ``out_slice`` selects, relative to ``start``, the outputs in ``[start, stop)``
    whose input index lies inside the input; ``in_slice`` the matching strided input.
    """
    offset = tap * d.dilation - d.pad_before              # input index of output 0
    lo = max(start, -(offset // d.stride) if offset < 0 else 0)
    hi = min(stop, (d.in_size - 1 - offset) // d.stride + 1 if d.in_size > offset else 0)
    if hi <= lo:
        return None
    first = lo * d.stride + offset
    return (slice(lo - start, hi - start),
            slice(first, first + (hi - lo - 1) * d.stride + 1, d.stride),
            lo == start and hi == stop)


def _reduce_axis(src: np.ndarray, dst: np.ndarray, axis: int, d: DimGeometry, start: int,
                 kind: str, fill: Any, dtype: np.dtype) -> None:
    """``dst`` = the 1-D window reduction of ``src`` along ``axis`` (outputs from ``start``)."""
    ufunc = np.maximum if kind == "MAX" else np.add
    lead = (slice(None),) * axis
    regions = [r for r in (_tap_region(d, t, start, start + dst.shape[axis])
                           for t in range(d.window)) if r is not None]
    full = [i for i, r in enumerate(regions) if r[2]]
    if kind == "SUM" and full and full[0] != 0:  # sums keep the window order
        full = []
    rest = regions
    if not full:
        dst[...] = fill
    elif len(full) >= 2 and full[:2] == [0, 1]:
        ufunc(src[lead + (regions[0][1],)], src[lead + (regions[1][1],)], out=dst, dtype=dtype)
        rest = regions[2:]
    else:
        np.copyto(dst, src[lead + (regions[full[0]][1],)])
        rest = regions[:full[0]] + regions[full[0] + 1:]
    for out_slice, in_slice, _ in rest:
        target = dst[lead + (out_slice,)]
        ufunc(target, src[lead + (in_slice,)], out=target, dtype=dtype)


def reduce_windows(x: np.ndarray, geometry: Geometry, kind: str, dtype: Any, fill: Any,
                   divisor: np.ndarray | None = None) -> np.ndarray:
    """Max (``kind="MAX"``) or sum (``"SUM"``) over every window of channels-last ``x``.

    Parameters
    ----------
    x : ndarray, shape ``(N, *spatial, C)``
    geometry : Geometry
        Resolved window geometry; its pads are read as ``fill``.
    kind : {"MAX", "SUM"}
    dtype : dtype
        Accumulation and result dtype (the sum runs in it: no float16 rounding).
    fill : scalar
        The value of the padding (``-inf`` / the minimum for max, 0 for sums).
    divisor : ndarray, optional
        Broadcastable to ``out_spatial`` (or a scalar): the sums are divided by it.

    Returns
    -------
    ndarray, shape ``(N, *out_spatial, C)``

    Examples
    --------
    >>> from numconv.padding import resolve
    >>> g = resolve((5,), (2,), (2,), (1,), "SAME")
    >>> x = np.array([1., 5., 2., 4., 3.]).reshape(1, 5, 1)
    >>> reduce_windows(x, g, "MAX", x.dtype, -np.inf)[0, :, 0]
    array([5., 4., 3.])
    >>> reduce_windows(x, g, "SUM", x.dtype, 0.0)[0, :, 0]
    array([6., 6., 3.])
    """
    dtype = np.dtype(dtype)
    dims = geometry.dims
    out_shape = geometry.out_shape
    batch, channels = x.shape[0], x.shape[-1]
    out = np.empty((batch, *out_shape, channels), dtype=dtype)
    in_line = math.prod(x.shape[2:]) * dtype.itemsize
    workers = num_workers()
    limit = get_workspace_limit()
    spare = limit
    wide = False
    if divisor is not None:
        divisor = np.asarray(divisor, dtype=dtype)
        wide_bytes = divisor.size * channels * dtype.itemsize
        if divisor.ndim and len(out_shape) > 1 and wide_bytes <= limit // 8:
            # repeated along the channels, the divisor has the output's memory layout:
            # the division runs in long inner loops instead of one per position
            divisor = np.repeat(divisor, channels, axis=-1)
            spare, wide = limit - wide_bytes, True
        elif divisor.ndim:
            divisor = divisor[..., None]
    blocks = plan(batch, out_shape, lambda images, rows: 2 * images * rows * in_line, workers,
                  cache_bytes=min(POOL_BLOCK_BYTES, spare // workers))
    scratch = Scratch(workers)

    def work(worker: int, block: Block) -> None:
        bs, rs = block
        target = out[block]
        current = x[bs]
        for k, d in enumerate(dims):
            start, stop = (rs.start, rs.stop) if k == 0 else (0, d.out_size)
            last = k == len(dims) - 1
            if d.window == 1 and d.stride == 1 and not (d.pad_before or d.pad_after):
                current = current[(slice(None),) * (k + 1) + (slice(start, stop),)]
                if last:
                    np.copyto(target, current)
                continue
            shape = (*current.shape[:k + 1], stop - start, *current.shape[k + 2:])
            dst = target if last else scratch.get(worker, f"step{k % 2}", shape, dtype)
            _reduce_axis(current, dst, k + 1, d, start, kind, fill, dtype)
            current = dst
        if divisor is not None:
            factor = divisor[rs] if divisor.ndim else divisor
            flat = target.reshape(*target.shape[:-2], -1) if wide else target
            with np.errstate(invalid="ignore", divide="ignore"):  # 0/0: a window of padding
                np.divide(flat, factor, out=flat)

    run_blocks(blocks, work, workers)
    return out
