"""Planning a windowed op on a chunked array: per-axis block cuts, halos, edge pads.

Pure NumPy (no dask): :func:`plan_axis` cuts one spatial axis; :class:`BlockOp` is the
per-block task that slices a block with its halo and calls the in-memory numconv op
with the padding that falls on that block.  See :mod:`numconv.dask` for the rules.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..config import memory_limit, workspace_limit
from ..geometry import DimGeometry, Geometry


@dataclass(frozen=True)
class AxisPlan:
    """How one spatial axis is cut: input chunks, output chunks, halo, per-block pads.

    ``stops[j]`` is where block ``j``'s slice ends inside its overlapped block (it
    always starts at 0); ``pads[j]`` the explicit (before, after) padding of its
    numconv call; ``firsts[j]`` its first output index (``firsts[-1]`` = out size).
    """

    chunks: tuple[int, ...]
    out_chunks: tuple[int, ...]
    halo: tuple[int, int]
    stops: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]
    firsts: tuple[int, ...]


def plan_axis(g: DimGeometry, chunks: tuple[int, ...]) -> AxisPlan:
    """Cut one spatial axis of geometry ``g`` given the input's chunks (out_size > 0).

    Output ``o`` is computed by the block holding input index ``o * stride``; block
    boundaries are multiples of the stride, and each block reads ``pad_before``
    elements of its left neighbour and ``effective_window - stride - pad_before`` of
    its right one (the halo).

    >>> from numconv.geometry import resolve
    >>> g = resolve((12,), (3,), (2,), (1,), "SAME").dims[0]      # pads (0, 1)
    >>> p = plan_axis(g, (4, 4, 4))
    >>> p.out_chunks, p.halo, p.stops, p.pads
    ((2, 2, 2), (0, 1), (5, 5, 4), ((0, 0), (0, 0), (0, 1)))
    >>> plan_axis(g, (5, 7)).chunks                                # 5 is not a multiple of 2
    (6, 6)
    """
    n, s, pb, out, eff = g.in_size, g.stride, g.pad_before, g.out_size, g.effective_window
    halo = (pb, max(eff - s - pb, 0))
    need = max(*halo, 1)
    starts = {(b + s // 2) // s * s for b in itertools.accumulate(chunks[:-1])}
    kept, end = [], n
    for p in sorted(starts, reverse=True):     # nearest multiples of the stride that
        if 0 < p < n and p < out * s and end - p >= need:   # hold outputs, blocks >= halo
            kept.append(p)
            end = p
    kept.reverse()
    if kept and kept[0] < need:                # so every block can lend its halo
        kept.pop(0)
    bounds = [0, *kept, n]
    firsts = [0, *(p // s for p in kept), out]
    stops, pads = [], []
    for j in range(len(bounds) - 1):
        lo, hi = firsts[j] * s - pb, (firsts[j + 1] - 1) * s - pb + eff
        if hi <= 0:                            # every window in the padding before
            a = b = 0
            before, after = hi - lo, 0
        else:
            a, b = max(lo, 0), min(hi, n)
            before, after = a - lo, hi - b
        origin = bounds[j] - (halo[0] if j else 0)   # where the overlapped block starts
        assert a == origin or j == 0, (a, origin)
        stops.append(b - origin)
        pads.append((before, after))
    return AxisPlan(tuple(np.diff(bounds).tolist()), tuple(np.diff(firsts).tolist()), halo,
                    tuple(stops), tuple(pads), tuple(firsts))


def _count_divisor(geometry: Geometry, ranges: list[tuple[int, int]]) -> np.ndarray:
    """:func:`numconv.pooling.avg_divisor` (count_include_pad) for outputs ``ranges``."""
    divisor = np.ones((), dtype=np.float64)
    for axis, (d, (o0, o1)) in enumerate(zip(geometry.dims, ranges)):
        pos = (np.arange(o0, o1)[:, None] * d.stride - d.pad_before
               + np.arange(d.window)[None, :] * d.dilation)
        count = ((pos >= -d.pad_before) & (pos < d.in_size + d.declared_pad_after)
                 ).sum(axis=1).astype(np.float64)
        divisor = divisor[..., None] * count if axis else count
    return divisor


@dataclass(frozen=True)
class BlockOp:
    """The per-block task: slice the overlapped block, call numconv with edge pads."""

    op: Callable[..., np.ndarray]
    kwargs: tuple[tuple[str, Any], ...]
    extras: tuple[str, ...]
    axes: tuple[int, ...]
    plans: tuple[AxisPlan, ...]
    limit: int
    memory: int
    count_geometry: Geometry | None = None   # avg pool: divide here (ceil_mode overhang)
    acc: str = "float64"
    result: str = "float64"

    def __call__(self, block: np.ndarray, *extra: Any, block_id: tuple[int, ...] = ()
                 ) -> np.ndarray:
        index = [slice(None)] * block.ndim
        for axis, plan in zip(self.axes, self.plans):
            index[axis] = slice(0, plan.stops[block_id[axis]])
        pads = tuple(plan.pads[block_id[axis]] for axis, plan in zip(self.axes, self.plans))
        x = block[tuple(index)]
        if self.count_geometry is not None:
            x = x.astype(self.acc)
        with workspace_limit(self.limit), memory_limit(self.memory):
            out = self.op(x, padding=pads, **dict(zip(self.extras, extra)), **dict(self.kwargs))
        if self.count_geometry is None:
            return out
        ranges = [(p.firsts[block_id[a]], p.firsts[block_id[a] + 1])
                  for a, p in zip(self.axes, self.plans)]
        divisor = _count_divisor(self.count_geometry, ranges).astype(self.acc)
        shape = [1] * out.ndim
        for axis, size in zip(self.axes, divisor.shape):
            shape[axis] = size
        return (out / divisor.reshape(shape)).astype(self.result, copy=False)
