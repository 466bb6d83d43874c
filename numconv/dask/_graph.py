"""The dask graph of a windowed op: rechunking, blockwise maps and the halo exchange.

Per input block one task copies out the edge strips it lends its neighbours; per
output block one task assembles its block with its neighbours' strips and runs the
:class:`~numconv.dask._plan.BlockOp`.  See :mod:`numconv.dask` for the rules.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any, Callable

import numpy as np

from .. import _args
from ..config import get_memory_limit, get_workspace_limit
from ..layout import Layout
from ..geometry import Geometry
from ._plan import BlockOp, plan_axis

try:
    import dask
    import dask.array as da
except ImportError:  # importable without dask; numconv.dask's functions then explain
    dask = da = None  # type: ignore[assignment]


class RechunkWarning(UserWarning):
    """The input was rechunked so that blocks fit the window geometry (see module notes)."""


def windowed(fn: str, x: Any, layout: Layout, geometry: Geometry, op: Callable,
              kwargs: dict, extras: dict, dtype: np.dtype, out_channels: int | None = None,
              count_include_pad: bool = False) -> da.Array:
    """Build the lazy result of a windowed op (arguments validated)."""
    ch = layout.channel_axis
    out_shape = list(x.shape)
    out_shape[ch] = x.shape[ch] if out_channels is None else out_channels
    for axis, size in zip(layout.spatial_axes, geometry.out_shape):
        out_shape[axis] = size
    if 0 in out_shape:
        return da.zeros(tuple(out_shape), dtype=dtype, chunks=-1)
    axes = layout.spatial_axes
    plans = tuple(plan_axis(d, x.chunks[a]) for d, a in zip(geometry.dims, axes))
    chunks, changed = list(x.chunks), []
    for axis, plan in zip(axes, plans):
        if plan.chunks != x.chunks[axis]:
            changed.append(f"axis {axis} {_args._show(x.chunks[axis])} -> "
                           f"{_args._show(plan.chunks)}")
            chunks[axis] = plan.chunks
    if out_channels is not None and len(x.chunks[ch]) > 1:
        changed.append(f"channel axis {ch} merged into one chunk (convolution needs every "
                       "input channel)")
        chunks[ch] = (x.shape[ch],)
    if changed:
        warnings.warn(f"{fn}: input rechunked to fit the window geometry (block boundaries on "
                      "multiples of the stride, blocks at least as long as the halo): "
                      + "; ".join(changed), RechunkWarning, stacklevel=4)
        x = x.rechunk(tuple(chunks))
    out_chunks = list(x.chunks)
    for axis, plan in zip(axes, plans):
        out_chunks[axis] = plan.out_chunks
    if out_channels is not None:
        out_chunks[ch] = (out_channels,)
    overhang = count_include_pad and any(d.overhang for d in geometry.dims)
    acc = np.float32 if dtype == np.float16 else dtype
    if overhang:  # sum per block (divisor 1), divide by the global counts in BlockOp
        kwargs = {**kwargs, "divisor_override": 1}
    job = BlockOp(op, tuple(kwargs.items()), tuple(extras), axes, plans,
                   get_workspace_limit(), get_memory_limit(), geometry if overhang else None,
                   np.dtype(acc).name, np.dtype(dtype).name)
    args = [dask.delayed(v, pure=True) for v in extras.values()]
    name = f"numconv-{fn}-" + dask.base.tokenize(x.name, job, *args)
    meta = np.empty((0,) * x.ndim, dtype=dtype)
    halo = [(0, 0)] * x.ndim
    for axis, plan in zip(axes, plans):
        if len(plan.chunks) > 1:
            halo[axis] = plan.halo
    if not any(any(h) for h in halo):     # no halo: a plain blockwise map (fuses with others)
        return da.map_blocks(job, x, *args, chunks=tuple(out_chunks), dtype=dtype, name=name,
                             meta=meta)
    return _halo_map(job, x, tuple(halo), args, name, tuple(out_chunks), meta)


# --------------------------------------------------------------------------- halo exchange

def _directions(halo: tuple[tuple[int, int], ...], index: tuple[int, ...] | None = None,
                numblocks: tuple[int, ...] | None = None) -> list[tuple[int, ...]]:
    """Neighbour offsets ``e != 0`` (-1, 0, +1 per axis) that carry a halo.

    ``-1`` on an axis: the neighbour before lends its last ``halo[a][0]`` elements;
    ``+1``: the neighbour after lends its first ``halo[a][1]``.  With ``index`` and
    ``numblocks``, only the neighbours that exist.
    """
    options = []
    for a, (left, right) in enumerate(halo):
        first = index is None or index[a] > 0
        last = index is None or index[a] < numblocks[a] - 1
        options.append([0] + ([-1] if left and first else []) + ([1] if right and last else []))
    return [e for e in itertools.product(*options) if any(e)]


def _lend(block: np.ndarray, halo: tuple[tuple[int, int], ...]) -> dict:
    """The strips a block lends its neighbours, copied (so the block itself can be freed).

    Key ``e``: the strip that the neighbour at offset ``-e`` reads (see :func:`_directions`).
    """
    strips = {}
    for e in _directions(halo):
        index = tuple(slice(None) if v == 0 else slice(size - left, size) if v == -1
                      else slice(0, right)
                      for v, size, (left, right) in zip(e, block.shape, halo))
        strips[e] = np.array(block[index])
    return strips


def _assemble(block: np.ndarray, pieces: list, halo: tuple[tuple[int, int], ...],
              index: tuple[int, ...], numblocks: tuple[int, ...]) -> np.ndarray:
    """The block with its halo: ``halo[a][0]`` before (not on the first block along ``a``),
    ``halo[a][1]`` after (not on the last)."""
    lo = [left if i > 0 else 0 for (left, _), i in zip(halo, index)]
    hi = [right if i < n - 1 else 0 for (_, right), i, n in zip(halo, index, numblocks)]
    out = np.empty([s + a + b for s, a, b in zip(block.shape, lo, hi)], dtype=block.dtype)
    out[tuple(slice(a, a + s) for a, s in zip(lo, block.shape))] = block
    for e, strips in pieces:
        out[tuple(slice(a, a + s) if v == 0 else slice(0, a) if v == -1 else slice(a + s, None)
                  for v, a, s in zip(e, lo, block.shape))] = strips[tuple(e)]
    return out


def _run_with_halo(job: BlockOp, index: tuple[int, ...], numblocks: tuple[int, ...],
                   halo: tuple[tuple[int, int], ...], block: np.ndarray, pieces: list,
                   *extra: Any) -> np.ndarray:
    return job(_assemble(block, pieces, halo, index, numblocks), *extra, block_id=index)


def _halo_map(job: BlockOp, x: Any, halo: tuple[tuple[int, int], ...], args: list,
              name: str, out_chunks: tuple, meta: np.ndarray) -> Any:
    """Per input block one task lending its edge strips, per output block one task that
    assembles its block with the strips of its neighbours and runs ``job``.

    A neighbour's whole block is never an input of another block's task, so each
    block is freed as soon as its own output and its strips are done.
    """
    from dask.highlevelgraph import HighLevelGraph

    lend = "numconv-halo-" + dask.base.tokenize(x.name, halo)
    numblocks = x.numblocks
    graph: dict = {}
    for index in itertools.product(*map(range, numblocks)):
        graph[(lend, *index)] = (_lend, (x.name, *index), halo)
    extra_keys = [a.key for a in args]
    for index in itertools.product(*map(range, numblocks)):
        pieces = [[list(e), (lend, *(i + v for i, v in zip(index, e)))]
                  for e in _directions(halo, index, numblocks)]
        graph[(name, *index)] = (_run_with_halo, job, index, numblocks, halo,
                                 (x.name, *index), pieces, *extra_keys)
    hlg = HighLevelGraph.from_collections(name, graph, dependencies=[x, *args])
    return da.Array(hlg, name, chunks=out_chunks, meta=meta)
