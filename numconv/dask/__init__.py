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
  geometry engine (:func:`numconv.geometry.resolve`, with dilation):
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

from typing import Any, Callable

import numpy as np

from .. import _args, activations, conv, pooling, spec, spellings
from ..algorithms import choose
from ..layout import Layout
from ._graph import RechunkWarning, windowed

try:
    import dask.array as da
except ImportError:  # numconv.dask imports without dask; its functions then explain
    da = None  # type: ignore[assignment]

__all__ = ["RechunkWarning", "convolution", "conv1d", "conv2d", "conv3d", "depthwise_conv2d",
           "relu", "relu6", "leaky_relu", "pool", "max_pool", "avg_pool", "max_pool1d",
           "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d"]


def _require(fn: str) -> None:
    if da is None:
        raise ImportError(f"numconv.dask.{fn} needs dask: pip install 'numconv[dask]'")


def _input(fn: str, arg: str, x: Any) -> Any:
    _require(fn)
    return _args.dask_array(fn, arg, x, da.Array)


def _probe(x: Any, layout: Layout) -> np.ndarray:
    """A tiny zero input with the real channel count and dtype (validates the arguments)."""
    shape = layout.full_index((1,) * layout.n_spatial, 1, x.shape[layout.channel_axis])
    return np.zeros(shape, dtype=x.dtype)


# --------------------------------------------------------------------------- convolution

def _conv(fn: str, eager: Callable, input: Any, filters: Any, strides: Any, padding: Any,
          data_format: Any, dilations: Any, bias: Any, algorithm: str, precision: Any,
          n: int | None, depthwise: bool = False, stride_arg: str = "strides") -> da.Array:
    x = _input(fn, "input", input)
    cs = spec.conv_spec(fn, x, filters, strides, padding, data_format, dilations, bias,
                        algorithm, n, depthwise, stride_arg, precision)
    probe = eager(_probe(x, cs.layout), cs.filters, strides, padding, data_format,
                  dilations, bias=bias, algorithm=algorithm,
                  precision=cs.precision)   # the rest of the checks
    warg = "filter" if depthwise else "filters"
    extras = {warg: cs.filters} if cs.bias is None else {warg: cs.filters, "bias": cs.bias}
    algorithm = cs.algorithm
    if algorithm == "auto":   # choose once, for the whole array, as in memory
        algorithm = choose((x.shape[0], *cs.layout.spatial_shape(x.shape),
                            x.shape[cs.layout.channel_axis]), cs.w.shape, cs.geometry,
                           cs.groups, cs.acc, cs.precision)
    op = conv.depthwise_conv2d if depthwise else conv.convolution
    kwargs = dict(strides=cs.geometry.strides, data_format=cs.layout.name,
                  dilations=cs.geometry.dilations, algorithm=algorithm)
    return windowed(fn, x, cs.layout, cs.geometry, op, kwargs, extras, probe.dtype,
                    out_channels=probe.shape[cs.layout.channel_axis])


def convolution(input: Any, filters: Any, strides: Any = None, padding: Any = "VALID",
                data_format: str | None = None, dilations: Any = None, *,
                bias: Any = None, algorithm: str = "auto",
                precision: str | None = None) -> da.Array:
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
                 data_format, dilations, bias, algorithm, precision, None)


def conv1d(input: Any, filters: Any, stride: Any = 1, padding: Any = "VALID",
           data_format: str = "NWC", dilations: Any = None, *, bias: Any = None,
           algorithm: str = "auto", precision: str | None = None) -> da.Array:
    """Lazy :func:`numconv.conv1d`; see :func:`convolution`."""
    return _conv("conv1d", conv.conv1d, input, filters, stride, padding, data_format,
                 dilations, bias, algorithm, precision, 1, stride_arg="stride")


def conv2d(input: Any, filters: Any, strides: Any = 1, padding: Any = "VALID",
           data_format: str = "NHWC", dilations: Any = None, *, bias: Any = None,
           algorithm: str = "auto", precision: str | None = None) -> da.Array:
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
                 dilations, bias, algorithm, precision, 2)


def conv3d(input: Any, filters: Any, strides: Any = 1, padding: Any = "VALID",
           data_format: str = "NDHWC", dilations: Any = None, *, bias: Any = None,
           algorithm: str = "auto", precision: str | None = None) -> da.Array:
    """Lazy :func:`numconv.conv3d`; see :func:`convolution`."""
    return _conv("conv3d", conv.conv3d, input, filters, strides, padding, data_format,
                 dilations, bias, algorithm, precision, 3)


def depthwise_conv2d(input: Any, filter: Any, strides: Any = 1, padding: Any = "VALID",
                     data_format: str | None = None, dilations: Any = None, *,
                     bias: Any = None, algorithm: str = "auto",
                     precision: str | None = None) -> da.Array:
    """Lazy :func:`numconv.depthwise_conv2d`; see :func:`convolution`."""
    return _conv("depthwise_conv2d", conv.depthwise_conv2d, input, filter, strides, padding,
                 data_format, dilations, bias, algorithm, precision, 2, depthwise=True)


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
    ps = spec.pool_spec(fn, x, window, kind, strides, padding, data_format, dilations,
                        n=n, window_arg=window_arg, **options)
    positional = (window, kind) if window_arg == "window_shape" else (window,)
    probe = eager(_probe(x, ps.layout), *positional, strides, padding, data_format,
                  dilations=dilations, **options)   # the result dtype
    g = ps.geometry
    kwargs = dict(window_shape=g.window, pooling_type=ps.kind, strides=g.strides,
                  data_format=ps.layout.name, dilations=g.dilations)
    if ps.kind == "AVG":
        kwargs.update(count_include_pad=ps.count_include_pad,
                      divisor_override=ps.divisor_override)
    else:
        kwargs.update(nan_policy=ps.nan_policy)
    return windowed(fn, x, ps.layout, ps.geometry, pooling.pool, kwargs, {}, probe.dtype,
                    count_include_pad=ps.count_include_pad and ps.divisor_override is None)


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
    n = spellings.window_rank(window_shape)
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
