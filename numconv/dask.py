"""numconv on Dask arrays: convolution, ReLU and pooling on arrays larger than memory.

Every function here takes a :class:`dask.array.Array` (and the arguments of its
in-memory namesake in :mod:`numconv`) and returns a lazy dask array whose blocks are
computed by the in-memory function.  Dask is imported only by this module
(``pip install 'numconv[dask]'``); ``import numconv`` does not load it.

How the work is cut into blocks
-------------------------------
* **Batch**: one numconv call per block; output batch chunks = input batch chunks.
* **Spatial axes**: output ``o`` is computed by the block that holds input index
  ``o * stride`` (the window's start in padded coordinates), so block boundaries
  must be multiples of the stride, and every block must be at least as long as the
  halo it lends its neighbours.  Where the input's chunks break either rule (or a
  block would hold no output, as at the end of a VALID axis), the input is
  rechunked: each boundary moves to the nearest multiple of the stride and blocks
  too small are merged into a neighbour; a :class:`RechunkWarning` names the axes.
  Each block then gets exactly the halo the window geometry needs, from the
  geometry engine (:func:`numconv.padding.resolve`, with dilation):
  ``pad_before`` elements of its left neighbour and
  ``effective_window - stride - pad_before`` of its right one (for SAME with the
  size a multiple of the stride: the SAME pads), and numconv runs on it with
  explicit padding that is non-zero only at the array's outer edges:
  ``pad_before`` on the first block, ``pad_after`` (SAME, explicit or the
  ``ceil_mode`` overhang) on the last.
* **Output chunks**: ``(B[j+1] - B[j]) / stride`` outputs per block (a SAME stride-1
  op keeps the chunks, a stride-2 pool halves them); the last block takes what the
  edge padding adds or VALID drops.  Pooling and ReLU keep the input's channel
  chunks; convolution needs every input channel, so a chunked channel axis is
  merged (with a :class:`RechunkWarning`) and the output has one channel chunk.
  Filters and bias go whole into one graph key each.
* **Graph**: per block one task that copies out the edge strips it lends its
  neighbours and one task that assembles the block with its neighbours' strips and
  calls numconv: three tasks per block with the source, and no task takes a
  neighbour's whole block as input (with ``dask.array.overlap`` each block feeds up
  to 3**d slicing tasks, about 11 tasks per block in 2-D).  Blocks are then freed
  row by row: peak memory is a few rows of blocks (width x chunk height x itemsize
  each, measured 2 to 4 rows with the threaded scheduler) plus one block's scratch
  per worker, so choose the chunk height for the memory budget.  Ops without a halo
  (e.g. 2x2 stride-2 pooling on even chunks) are a plain ``map_blocks``, which dask
  fuses with neighbouring blockwise ops.
* **Limits**: the workspace bound and memory limit (:mod:`numconv.config`) in force
  when the op is called apply to every block, in whichever thread or process runs it.

Exactness: ReLU, max pooling and average pooling are bit-identical to the in-memory
result (every output reduces the same taps in the same order and SAME averages
divide by the same counts).  Convolution runs, on every block, the algorithm that
``algorithm="auto"`` picks for the whole array; integers are exact, and so is
``shift`` (auto's pick for depthwise and few-channel filters, such as a one-channel
edge kernel: a fixed multiply-add per tap).  The GEMM algorithms (``im2col``,
``pointwise``) may group a dot product's partial sums differently for a block with
another number of rows, and ``fft`` / ``winograd`` round per block: results agree to
float summation-order tolerance (measured on random float64 2-D cases: relative
differences below 1e-15 of the largest output).

Examples
--------
>>> import pytest; da = pytest.importorskip("dask.array")
>>> import numconv, numconv.dask as ncd
>>> x = np.arange(64.0).reshape(1, 8, 8, 1)
>>> w = np.ones((3, 3, 1, 1))
>>> y = ncd.max_pool2d(ncd.relu(ncd.conv2d(da.from_array(x, chunks=(1, 4, 4, 1)), w,
...                                        padding="SAME")), 2, 2, "SAME")
>>> y.chunks
((1,), (2, 2), (2, 2), (1,))
>>> bool((y.compute() == numconv.max_pool2d(numconv.relu(numconv.conv2d(
...     x, w, padding="SAME")), 2, 2, "SAME")).all())
True
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from . import _args, activations, conv, pooling
from .algorithms import choose
from .config import get_memory_limit, get_workspace_limit, memory_limit, workspace_limit
from .layout import Layout
from .padding import DimGeometry, Geometry, resolve

try:
    import dask
    import dask.array as da
except ImportError:  # numconv.dask imports without dask; its functions then explain
    dask = da = None  # type: ignore[assignment]

__all__ = ["RechunkWarning", "convolution", "conv1d", "conv2d", "conv3d", "depthwise_conv2d",
           "relu", "relu6", "leaky_relu", "pool", "max_pool", "avg_pool", "max_pool1d",
           "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d"]


class RechunkWarning(UserWarning):
    """The input was rechunked so that blocks fit the window geometry (see module notes)."""


def _require(fn: str) -> None:
    if da is None:
        raise ImportError(f"numconv.dask.{fn} needs dask: pip install 'numconv[dask]'")


# --------------------------------------------------------------------------- planning

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
class _BlockOp:
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


def _windowed(fn: str, x: Any, layout: Layout, geometry: Geometry, op: Callable,
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
    if overhang:  # sum per block (divisor 1), divide by the global counts in _BlockOp
        kwargs = {**kwargs, "divisor_override": 1}
    job = _BlockOp(op, tuple(kwargs.items()), tuple(extras), axes, plans,
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


# --------------------------------------------------------------------------- halo graph

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


def _run_with_halo(job: _BlockOp, index: tuple[int, ...], numblocks: tuple[int, ...],
                   halo: tuple[tuple[int, int], ...], block: np.ndarray, pieces: list,
                   *extra: Any) -> np.ndarray:
    return job(_assemble(block, pieces, halo, index, numblocks), *extra, block_id=index)


def _halo_map(job: _BlockOp, x: Any, halo: tuple[tuple[int, int], ...], args: list,
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


def _input(fn: str, arg: str, x: Any) -> Any:
    _require(fn)
    return _args.dask_array(fn, arg, x, da.Array)


def _probe(x: Any, layout: Layout) -> np.ndarray:
    """A tiny zero input with the real channel count and dtype (validates the arguments)."""
    shape = layout.full_index((1,) * layout.n_spatial, 1, x.shape[layout.channel_axis])
    return np.zeros(shape, dtype=x.dtype)


# --------------------------------------------------------------------------- convolution

def _conv(fn: str, eager: Callable, input: Any, filters: Any, strides: Any, padding: Any,
          data_format: Any, dilations: Any, bias: Any, algorithm: str, n: int | None,
          depthwise: bool = False) -> da.Array:
    x = _input(fn, "input", input)
    warg = "filter" if depthwise else "filters"
    w = _args.array(fn, warg, filters)
    if n is None:
        n = _args.spatial_rank(fn, "filters", w, 2) if data_format is None else None
    layout = _args.data_format(fn, data_format, n)
    _args.check_input_rank(fn, "input", x, layout)
    n = layout.n_spatial
    probe = eager(_probe(x, layout), w, strides, padding, data_format, dilations, bias=bias,
                  algorithm=algorithm)
    stride = _args.int_tuple(fn, "strides", 1 if strides is None else strides, n, layout=layout)
    dilation = _args.int_tuple(fn, "dilations", 1 if dilations is None else dilations, n,
                               layout=layout)
    geometry = resolve(layout.spatial_shape(x.shape), w.shape[:n], stride, dilation,
                       _args.padding(fn, padding, n, layout))
    extras = {warg: w} if bias is None else {warg: w, "bias": _args.array(fn, "bias", bias)}
    if algorithm.strip().lower() == "auto":   # choose once, for the whole array, as in memory
        grouped = w.reshape(*w.shape[:n], 1, -1) if depthwise else w
        channels = x.shape[layout.channel_axis]
        acc = conv.result_dtypes(*(np.asarray(v).dtype for v in extras.values()), x.dtype)[0]
        algorithm = choose((x.shape[0], *layout.spatial_shape(x.shape), channels), grouped.shape,
                           geometry, channels // grouped.shape[-2], acc)
    op = conv.depthwise_conv2d if depthwise else conv.convolution
    kwargs = dict(strides=stride, data_format=layout.name, dilations=dilation,
                  algorithm=algorithm)
    return _windowed(fn, x, layout, geometry, op, kwargs, extras, probe.dtype,
                     out_channels=probe.shape[layout.channel_axis])


def convolution(input: Any, filters: Any, strides: Any = None, padding: Any = "VALID",
                data_format: str | None = None, dilations: Any = None, *,
                bias: Any = None, algorithm: str = "auto") -> da.Array:
    """Lazy :func:`numconv.convolution` of a dask array (1 to 3 spatial dims).

    Parameters are those of :func:`numconv.convolution`; ``input`` is a
    :class:`dask.array.Array` chunked in any way, ``filters`` (and ``bias``) are
    materialised whole (a dask ``filters`` is computed here).

    Returns
    -------
    dask.array.Array
        Shape and dtype of the in-memory result; chunks as in the module notes.

    Warns
    -----
    RechunkWarning
        When the input's spatial or channel chunks had to be changed.

    Raises
    ------
    TypeError, ValueError
        Eagerly, with the in-memory function's messages, for invalid arguments.
    """
    return _conv("convolution", conv.convolution, input, filters, strides, padding,
                 data_format, dilations, bias, algorithm, None)


def conv1d(input: Any, filters: Any, stride: Any = 1, padding: Any = "VALID",
           data_format: str = "NWC", dilations: Any = None, *, bias: Any = None,
           algorithm: str = "auto") -> da.Array:
    """Lazy :func:`numconv.conv1d`; see :func:`convolution`."""
    return _conv("conv1d", conv.conv1d, input, filters, stride, padding, data_format,
                 dilations, bias, algorithm, 1)


def conv2d(input: Any, filters: Any, strides: Any = 1, padding: Any = "VALID",
           data_format: str = "NHWC", dilations: Any = None, *, bias: Any = None,
           algorithm: str = "auto") -> da.Array:
    """Lazy :func:`numconv.conv2d`; see :func:`convolution`.

    >>> import pytest; da = pytest.importorskip("dask.array")
    >>> x = da.ones((2, 8, 8, 1), chunks=(1, 4, 4, 1))
    >>> y = conv2d(x, np.ones((3, 3, 1, 1)), strides=2, padding="SAME")   # pads (0, 1)
    >>> y.chunks                        # batch chunks kept, spatial chunks / stride
    ((1, 1), (2, 2), (2, 2), (1,))
    >>> y.compute()[0, :, :, 0]
    array([[9., 9., 9., 6.],
           [9., 9., 9., 6.],
           [9., 9., 9., 6.],
           [6., 6., 6., 4.]])
    """
    return _conv("conv2d", conv.conv2d, input, filters, strides, padding, data_format,
                 dilations, bias, algorithm, 2)


def conv3d(input: Any, filters: Any, strides: Any = 1, padding: Any = "VALID",
           data_format: str = "NDHWC", dilations: Any = None, *, bias: Any = None,
           algorithm: str = "auto") -> da.Array:
    """Lazy :func:`numconv.conv3d`; see :func:`convolution`."""
    return _conv("conv3d", conv.conv3d, input, filters, strides, padding, data_format,
                 dilations, bias, algorithm, 3)


def depthwise_conv2d(input: Any, filter: Any, strides: Any = 1, padding: Any = "VALID",
                     data_format: str | None = None, dilations: Any = None, *,
                     bias: Any = None, algorithm: str = "auto") -> da.Array:
    """Lazy :func:`numconv.depthwise_conv2d`; see :func:`convolution`."""
    return _conv("depthwise_conv2d", conv.depthwise_conv2d, input, filter, strides, padding,
                 data_format, dilations, bias, algorithm, 2, depthwise=True)


# --------------------------------------------------------------------------- relu family

def _elementwise(fn: str, eager: Callable, features: Any, **kwargs: Any) -> da.Array:
    x = _input(fn, "features", features)
    dtype = eager(np.zeros(1, dtype=x.dtype), **kwargs).dtype    # validates the options
    return x.map_blocks(eager, **kwargs, dtype=dtype, meta=np.empty((0,) * x.ndim, dtype))


def relu(features: Any, *, max_value: float | None = None, negative_slope: float = 0.0,
         threshold: float = 0.0) -> da.Array:
    """Lazy :func:`numconv.relu`, block by block (any shape, any chunks, bit-identical)."""
    return _elementwise("relu", activations.relu, features, max_value=max_value,
                        negative_slope=negative_slope, threshold=threshold)


def relu6(features: Any) -> da.Array:
    """Lazy :func:`numconv.relu6`, block by block."""
    return _elementwise("relu6", activations.relu6, features)


def leaky_relu(features: Any, alpha: float = 0.2) -> da.Array:
    """Lazy :func:`numconv.leaky_relu`, block by block."""
    return _elementwise("leaky_relu", activations.leaky_relu, features, alpha=alpha)


# --------------------------------------------------------------------------- pooling

def _pool(fn: str, eager: Callable, input: Any, window: Any, kind: str, strides: Any,
          padding: Any, data_format: Any, dilations: Any, n: int | None, window_arg: str,
          **options: Any) -> da.Array:
    x = _input(fn, "input", input)
    if n is None and data_format is None:
        n = _args.spatial_rank(fn, "input", x, 2)
    layout = _args.data_format(fn, data_format, n)
    _args.check_input_rank(fn, "input", x, layout)
    n = layout.n_spatial
    positional = (window, kind) if window_arg == "window_shape" else (window,)
    probe = eager(_probe(x, layout), *positional, strides, padding, data_format,
                  dilations=dilations, **options)
    kind = _args.choice(fn, "pooling_type", kind, ("MAX", "AVG"))
    k = _args.int_tuple(fn, window_arg, window, n, layout=layout)
    s = _args.int_tuple(fn, "strides", 1 if strides is None else strides, n, layout=layout)
    d = _args.int_tuple(fn, "dilations", 1 if dilations is None else dilations, n,
                        layout=layout)
    pad = _args.padding(fn, padding, n, layout)
    geometry = resolve(layout.spatial_shape(x.shape), k, s, d, pad,
                       ceil_mode=bool(options.get("ceil_mode", False)))
    include = bool(options.get("count_include_pad", False))
    kwargs = dict(window_shape=k, pooling_type=kind, strides=s, data_format=layout.name,
                  dilations=d)
    if kind == "AVG":
        kwargs.update(count_include_pad=include,
                      divisor_override=options.get("divisor_override"))
    else:
        kwargs.update(nan_policy=options.get("nan_policy", "propagate"))
    return _windowed(fn, x, layout, geometry, pooling.pool, kwargs, {}, probe.dtype,
                     count_include_pad=include and options.get("divisor_override") is None)


def pool(input: Any, window_shape: Any, pooling_type: str, strides: Any = None,
         padding: Any = "VALID", data_format: str | None = None, dilations: Any = None, *,
         count_include_pad: bool = False, ceil_mode: bool = False,
         divisor_override: int | None = None, nan_policy: str = "propagate") -> da.Array:
    """Lazy :func:`numconv.pool` of a dask array, with all its options.

    Channel chunks are kept; spatial chunks as in the module notes.  Padding is
    never counted (TF) unless ``count_include_pad``; results are bit-identical to
    the in-memory call.

    >>> import pytest; da = pytest.importorskip("dask.array")
    >>> x = da.from_array(np.array([1., 5., 2., 4., 3.]).reshape(1, 5, 1), chunks=(1, 2, 1))
    >>> pool(x, [2], "AVG", strides=[2], padding="SAME").compute()[0, :, 0]
    array([3., 3., 3.])
    """
    n = len(window_shape) if _args._is_sequence(window_shape) else None
    return _pool("pool", pooling.pool, input, window_shape, pooling_type, strides, padding,
                 data_format, dilations, n, "window_shape",
                 count_include_pad=count_include_pad, ceil_mode=ceil_mode,
                 divisor_override=divisor_override, nan_policy=nan_policy)


def max_pool(input: Any, ksize: Any, strides: Any, padding: Any,
             data_format: str | None = None, *, dilations: Any = None,
             ceil_mode: bool = False, nan_policy: str = "propagate") -> da.Array:
    """Lazy :func:`numconv.max_pool`; see :func:`pool`."""
    return _pool("max_pool", pooling.max_pool, input, ksize, "MAX", strides, padding,
                 data_format, dilations, None, "ksize", ceil_mode=ceil_mode,
                 nan_policy=nan_policy)


def avg_pool(input: Any, ksize: Any, strides: Any, padding: Any,
             data_format: str | None = None, *, dilations: Any = None,
             count_include_pad: bool = False, ceil_mode: bool = False,
             divisor_override: int | None = None) -> da.Array:
    """Lazy :func:`numconv.avg_pool`; see :func:`pool`."""
    return _pool("avg_pool", pooling.avg_pool, input, ksize, "AVG", strides, padding,
                 data_format, dilations, None, "ksize", count_include_pad=count_include_pad,
                 ceil_mode=ceil_mode, divisor_override=divisor_override)


def max_pool1d(input: Any, ksize: Any, strides: Any, padding: Any, data_format: str = "NWC",
               *, dilations: Any = None, ceil_mode: bool = False,
               nan_policy: str = "propagate") -> da.Array:
    """Lazy :func:`numconv.max_pool1d`; see :func:`pool`."""
    return _pool("max_pool1d", pooling.max_pool1d, input, ksize, "MAX", strides, padding,
                 data_format, dilations, 1, "ksize", ceil_mode=ceil_mode,
                 nan_policy=nan_policy)


def max_pool2d(input: Any, ksize: Any, strides: Any, padding: Any, data_format: str = "NHWC",
               *, dilations: Any = None, ceil_mode: bool = False,
               nan_policy: str = "propagate") -> da.Array:
    """Lazy :func:`numconv.max_pool2d`; see :func:`pool`."""
    return _pool("max_pool2d", pooling.max_pool2d, input, ksize, "MAX", strides, padding,
                 data_format, dilations, 2, "ksize", ceil_mode=ceil_mode,
                 nan_policy=nan_policy)


def max_pool3d(input: Any, ksize: Any, strides: Any, padding: Any, data_format: str = "NDHWC",
               *, dilations: Any = None, ceil_mode: bool = False,
               nan_policy: str = "propagate") -> da.Array:
    """Lazy :func:`numconv.max_pool3d`; see :func:`pool`."""
    return _pool("max_pool3d", pooling.max_pool3d, input, ksize, "MAX", strides, padding,
                 data_format, dilations, 3, "ksize", ceil_mode=ceil_mode,
                 nan_policy=nan_policy)


def avg_pool1d(input: Any, ksize: Any, strides: Any, padding: Any, data_format: str = "NWC",
               *, dilations: Any = None, count_include_pad: bool = False,
               ceil_mode: bool = False, divisor_override: int | None = None) -> da.Array:
    """Lazy :func:`numconv.avg_pool1d`; see :func:`pool`."""
    return _pool("avg_pool1d", pooling.avg_pool1d, input, ksize, "AVG", strides, padding,
                 data_format, dilations, 1, "ksize", count_include_pad=count_include_pad,
                 ceil_mode=ceil_mode, divisor_override=divisor_override)


def avg_pool2d(input: Any, ksize: Any, strides: Any, padding: Any, data_format: str = "NHWC",
               *, dilations: Any = None, count_include_pad: bool = False,
               ceil_mode: bool = False, divisor_override: int | None = None) -> da.Array:
    """Lazy :func:`numconv.avg_pool2d`; see :func:`pool`."""
    return _pool("avg_pool2d", pooling.avg_pool2d, input, ksize, "AVG", strides, padding,
                 data_format, dilations, 2, "ksize", count_include_pad=count_include_pad,
                 ceil_mode=ceil_mode, divisor_override=divisor_override)


def avg_pool3d(input: Any, ksize: Any, strides: Any, padding: Any, data_format: str = "NDHWC",
               *, dilations: Any = None, count_include_pad: bool = False,
               ceil_mode: bool = False, divisor_override: int | None = None) -> da.Array:
    """Lazy :func:`numconv.avg_pool3d`; see :func:`pool`."""
    return _pool("avg_pool3d", pooling.avg_pool3d, input, ksize, "AVG", strides, padding,
                 data_format, dilations, 3, "ksize", count_include_pad=count_include_pad,
                 ceil_mode=ceil_mode, divisor_override=divisor_override)
