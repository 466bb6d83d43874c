"""The one parser: every public call's arguments become a frozen spec here.

Every public entry point -- the convolutions, their gradients and transposes, the pools
and their gradients, argmax and unpooling, the global pools, im2col/col2im, explain,
:mod:`numconv.dask` and :mod:`numconv.layers` -- hands its raw arguments to one
function of this module and gets back canonical values: a
:class:`~numconv.layout.Layout`, a resolved :class:`~numconv.geometry.Geometry`,
groups, and the accumulation and result dtypes (model: SciPy's
``_vectorized_filter_iv`` in scipy/ndimage/_filters.py).  No other module parses
strides, padding, dilations or data_format: the spellings themselves (ints or
sequences, TF's full-rank form, padding strings in any case, TF's and Keras's
data_format names, ``strides=None`` meaning 1) are :mod:`numconv.spellings`'s, so
every function accepts the same spellings with the same defaults.

Error messages come from :mod:`numconv._args` and name the function, the argument,
the rule and the value received.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _args
from .algorithms import ALGORITHMS, requirement
from .config import get_default_precision
from .geometry import SAME_MODES, Geometry, resolve
from .layout import Layout
from .spellings import ints, is_keras_format, layout, result_dtypes, shape, windows

__all__ = ["explain"]


# --------------------------------------------------------------------------- convolution

@dataclass(frozen=True)
class ConvSpec:
    """A convolution call's arguments (forward or gradient), validated and canonical."""

    layout: Layout
    w: np.ndarray | None              # grouped HWIO ``(*window, C / groups, C_out)``
    groups: int
    geometry: Geometry
    acc: np.dtype                     # accumulation dtype
    result: np.dtype
    filters: np.ndarray | None = None  # as given (depthwise: ``(*window, C, multiplier)``)
    bias: np.ndarray | None = None
    algorithm: str = "auto"
    precision: str = "exact"          # "exact" or "fast" (None resolved by the context)
    shape: tuple[int, ...] = ()       # gradients: the shape of the result


def _depthwise(fn: str, arg: str, w_shape: tuple[int, ...], channels: int, n: int,
               shown: str) -> None:
    if w_shape[n] != channels:
        _args.fail(fn, arg, f"in_channels (axis -2) must equal the input's channels "
                   f"({channels})", None, shown=shown)


def conv_spec(fn: str, x: Any, filters: Any, strides: Any, padding: Any, data_format: Any,
              dilations: Any, bias: Any, algorithm: Any, n: int | None,
              depthwise: bool = False, stride_arg: str = "strides",
              precision: Any = None) -> ConvSpec:
    """Validate a convolution call against ``x`` (an array, or anything with ``shape``,
    ``ndim`` and ``dtype``, such as a dask array).

    >>> spec = conv_spec("conv2d", np.zeros((1, 5, 5, 2)), np.ones((3, 3, 2, 4)), 2,
    ...                  "SAME", None, None, None, "auto", 2)
    >>> spec.groups, spec.geometry.out_shape
    (1, (3, 3))
    """
    warg = "filter" if depthwise else "filters"
    w = given = _args.array(fn, warg, filters)
    lay = layout(fn, data_format, n, "filters", w)
    n = lay.n_spatial
    _args.check_input_rank(fn, "input", x, lay)
    _args.filters(fn, warg, w, n)
    s, d = ints(fn, stride_arg, strides, lay), ints(fn, "dilations", dilations, lay)
    pad = _args.padding(fn, padding, n, lay)
    algo = _args.choice(fn, "algorithm", algorithm, ("auto", *ALGORITHMS))
    prec = _args.precision(fn, precision, get_default_precision())
    channels = x.shape[lay.channel_axis]
    if depthwise:  # (*window, C, multiplier) -> grouped filters (*window, 1, C*multiplier)
        _depthwise(fn, "filter", w.shape, channels, n, f"shape {w.shape}")
        w = w.reshape(*w.shape[:n], 1, -1)
    groups = _args.groups(fn, channels, w.shape[-2], w.shape[-1], warg)
    b = _args.bias(fn, bias, w.shape[-1])
    geometry = resolve(lay.spatial_shape(x.shape), w.shape[:n], s, d, pad)
    acc, result = result_dtypes(x.dtype, w.dtype, *(() if b is None else (b.dtype,)))
    return ConvSpec(lay, w, groups, geometry, acc, result, given, b, algo, prec)


def algorithm_fits(fn: str, s: ConvSpec) -> None:
    """Refuse an explicitly requested algorithm that cannot run the spec's geometry."""
    if s.algorithm != "auto":
        _args.algorithm_fits(fn, s.algorithm, requirement(s.algorithm, s.geometry),
                             s.geometry.window)


def conv_input_grad_spec(fn: str, input_sizes: Any, filters: Any, out_backprop: Any,
                         strides: Any, padding: Any, data_format: Any, dilations: Any,
                         n: int | None, depthwise: bool = False, transpose: bool = False,
                         precision: Any = None) -> tuple[ConvSpec, np.ndarray]:
    """The spec of a convolution's input gradient (or a transposed convolution) and the
    gradient array; ``spec.shape`` is the result's shape."""
    warg = "filter" if depthwise else "filters"
    sarg, garg = ("output_shape", "input") if transpose else ("input_sizes", "out_backprop")
    w = _args.array(fn, warg, filters)
    g = _args.array(fn, garg, out_backprop)
    lay = layout(fn, data_format, n, warg, w)
    n = lay.n_spatial
    s, d = ints(fn, "strides", strides, lay), ints(fn, "dilations", dilations, lay)
    pad = _args.padding(fn, padding, n, lay)
    prec = _args.precision(fn, precision, get_default_precision())
    _args.filters(fn, warg, w, n)
    _args.check_input_rank(fn, garg, g, lay)
    # n-element sizes: batch from the gradient, channels from the filters (ungrouped);
    # conv_transpose's (*window, out_channels, in_channels) is the forward conv's HWIO
    full = shape(fn, sarg, input_sizes, lay, g.shape[0], w.shape[-2])
    channels = full[lay.channel_axis]
    if depthwise:
        _depthwise(fn, warg, w.shape, channels, n, f"shape {w.shape}")
        w = w.reshape(*w.shape[:n], 1, -1)
    groups = _args.groups(fn, channels, w.shape[-2], w.shape[-1], warg, input_arg=sarg)
    geometry = resolve(lay.spatial_shape(full), w.shape[:n], s, d, pad)
    if transpose and lay.spatial_shape(g.shape) != geometry.out_shape:
        detail = "; ".join(
            f"dim {i}: output {dim.in_size}, window {dim.window}, stride {dim.stride}, "
            f"dilation {dim.dilation}, {dim.mode} -> {dim.out_size}, but the input has {size}"
            for i, (dim, size) in enumerate(zip(geometry.dims, lay.spatial_shape(g.shape)))
            if dim.out_size != size)
        _args.transpose_output(fn, full, detail)
    _expect_grad(fn, garg, g, lay, geometry, full[0], w.shape[-1], f"{sarg} {full}")
    acc, result = result_dtypes(w.dtype, g.dtype)
    return ConvSpec(lay, w, groups, geometry, acc, result, precision=prec, shape=full), g


def conv_filter_grad_spec(fn: str, x: np.ndarray, filter_sizes: Any, out_backprop: Any,
                          strides: Any, padding: Any, data_format: Any, dilations: Any,
                          n: int | None, depthwise: bool = False
                          ) -> tuple[ConvSpec, np.ndarray]:
    """The spec of a convolution's filter gradient and the gradient array;
    ``spec.shape`` is ``filter_sizes``."""
    g = _args.array(fn, "out_backprop", out_backprop)
    lay = layout(fn, data_format, n, "input", x)
    n = lay.n_spatial
    s, d = ints(fn, "strides", strides, lay), ints(fn, "dilations", dilations, lay)
    pad = _args.padding(fn, padding, n, lay)
    _args.check_input_rank(fn, "input", x, lay)
    fshape = shape(fn, "filter_sizes", filter_sizes, Layout(n), 0, 0)
    if len(filter_sizes) != n + 2 or 0 in fshape[:n + 1]:
        _args.fail(fn, "filter_sizes", f"must have {n + 2} elements (*window, in_channels, "
                   "out_channels) with positive window and in_channels", fshape)
    channels = x.shape[lay.channel_axis]
    cin_g, cout = fshape[-2], fshape[-1]
    if depthwise:
        if cin_g != channels:
            _args.fail(fn, "filter_sizes", f"in_channels (element -2) must equal the input's "
                       f"channels ({channels})", fshape)
        cin_g, cout = 1, channels * fshape[-1]
    groups = _args.groups(fn, channels, cin_g, cout, "filter_sizes")
    geometry = resolve(lay.spatial_shape(x.shape), fshape[:n], s, d, pad)
    _expect_grad(fn, "out_backprop", g, lay, geometry, x.shape[0], cout,
                 f"input shape {x.shape} and filter_sizes {fshape}")
    acc, result = result_dtypes(x.dtype, g.dtype)
    return ConvSpec(lay, None, groups, geometry, acc, result, shape=fshape), g


def _expect_grad(fn: str, arg: str, g: np.ndarray, lay: Layout, geometry: Geometry,
                 batch: int, cout: int, of: str) -> None:
    _args.check_input_rank(fn, arg, g, lay)
    expected = tuple(lay.full_index(geometry.out_shape, batch, cout))
    _args.grad_shape(fn, arg, g.shape, expected, f"the forward output for {of}")


def bias_axis(fn: str, g: np.ndarray, data_format: Any) -> int:
    """The channel axis of a bias gradient: the last axis for None and "channels_last"
    (any rank >= 2), axis 1 for "channels_first" (rank >= 2), the layout's for a TF name."""
    if data_format is None or is_keras_format(data_format):
        if g.ndim < 2:
            _args.fail(fn, "out_backprop", "must have rank >= 2 (batch, ..., channels)", None,
                       shown=f"shape {g.shape} (rank {g.ndim})")
        last = data_format is None or data_format.strip().lower() == "channels_last"
        return g.ndim - 1 if last else 1
    lay = _args.data_format(fn, data_format, None)
    _args.check_input_rank(fn, "out_backprop", g, lay)
    return lay.channel_axis


# --------------------------------------------------------------------------- pooling

@dataclass(frozen=True)
class PoolSpec:
    """A pooling call's arguments (forward or gradient), validated and canonical."""

    layout: Layout
    kind: str                         # "MAX" or "AVG"
    geometry: Geometry
    count_include_pad: bool
    divisor_override: int | None
    nan_policy: str
    shape: tuple[int, ...]            # the forward input's shape
    algorithm: str = "auto"           # forward: "auto" (the kernels) or "reference"


def pool_spec(fn: str, x: Any, window: Any, pooling_type: Any, strides: Any, padding: Any,
              data_format: Any, dilations: Any, count_include_pad: Any = False,
              ceil_mode: Any = False, divisor_override: Any = None, n: int | None = None,
              window_arg: str = "ksize", nan_policy: Any = "propagate", arg: str = "input",
              input_shape: Any = None, algorithm: Any = "auto") -> PoolSpec:
    """Validate a pooling call against ``x`` (an array, or anything with ``shape`` and
    ``ndim``).  A gradient given only the forward input's shape passes the gradient as
    ``x`` (its layout and batch) and the shape as ``input_shape``.

    >>> spec = pool_spec("pool", np.zeros((1, 5, 1)), [2], "AVG", [2], "SAME", None, None)
    >>> spec.kind, spec.geometry.out_shape
    ('AVG', (3,))
    """
    lay = layout(fn, data_format, n, arg, x, check=x)
    full = tuple(x.shape) if input_shape is None else \
        shape(fn, "input_shape", input_shape, lay, x.shape[0], x.shape[lay.channel_axis])
    kind = _args.choice(fn, "pooling_type", pooling_type, ("MAX", "AVG"))
    geometry = windows(fn, lay, lay.spatial_shape(full), window, strides, dilations, padding,
                       names=(window_arg, "strides", "dilations"), ceil_mode=ceil_mode)
    include = _args.flag(fn, "count_include_pad", count_include_pad)
    override = None if divisor_override is None else _args.integer(fn, "divisor_override",
                                                                    divisor_override)
    nan = _args.nan_policy(fn, nan_policy, kind)
    algo = _args.pool_algorithm(fn, algorithm, nan)
    return PoolSpec(lay, kind, geometry, include, override, nan, full, algo)


def global_spec(fn: str, x: np.ndarray, data_format: Any, keepdims: Any) -> tuple[Layout, bool]:
    """A global pool's layout and ``keepdims``."""
    lay = layout(fn, data_format, None, "input", x, check=x)
    keep = _args.flag(fn, "keepdims", keepdims)
    if 0 in lay.spatial_shape(x.shape):
        _args.fail(fn, "input", "must have non-empty spatial dims for a global pool", None,
                   shown=f"shape {x.shape}")
    return lay, keep


@dataclass(frozen=True)
class UnpoolSpec:
    """A max unpooling call's arguments: layout, indices, result shape, index base."""

    layout: Layout
    indices: np.ndarray
    shape: tuple[int, ...]
    include_batch_in_index: bool


def unpool_spec(fn: str, v: np.ndarray, indices: Any, ksize: Any, strides: Any, padding: Any,
                data_format: Any, output_size: Any, include_batch_in_index: Any) -> UnpoolSpec:
    """Validate :func:`numconv.max_unpool`'s arguments; the default output size is the
    largest input size the pooling maps to the given one."""
    lay = layout(fn, data_format, None, "input", v, check=v)
    n = lay.n_spatial
    idx = _args.indices(fn, "indices", indices, v.shape)
    k, s = ints(fn, "ksize", ksize, lay, default=None), ints(fn, "strides", strides, lay)
    mode = _args.padding(fn, padding, n, lay)
    batch_index = _args.flag(fn, "include_batch_in_index", include_batch_in_index)
    channels = v.shape[lay.channel_axis]
    if output_size is None:
        pooled = lay.spatial_shape(v.shape)
        pads = [(0, 0)] * n if mode == "VALID" else mode
        size = (tuple(p * st for p, st in zip(pooled, s)) if mode in SAME_MODES else
                tuple(max((p - 1) * st + kk - b - a, 0)
                      for p, st, kk, (b, a) in zip(pooled, s, k, pads)))
        full = tuple(lay.full_index(size, v.shape[0], channels))
    else:
        full = shape(fn, "output_size", output_size, lay, v.shape[0], channels)
        expected = tuple(lay.full_index(lay.spatial_shape(full), v.shape[0], channels))
        _args.grad_shape(fn, "output_size", full, expected, "the input's batch and channels")
    return UnpoolSpec(lay, idx, full, batch_index)


# --------------------------------------------------------------------------- patches

def patch_spec(fn: str, x_shape: tuple[int, ...] | None, x: Any, window_shape: Any,
               strides: Any, padding: Any, data_format: Any,
               dilations: Any) -> tuple[Layout, tuple[int, ...], Geometry]:
    """im2col's (``x`` given) or col2im's (``x_shape`` given: ``input_shape``) layout,
    input shape and geometry."""
    if x_shape is None:
        lay = layout(fn, data_format, None, "input", x, check=x)
        full = tuple(x.shape)
    else:
        if isinstance(x_shape, (str, bytes)) or not _args._is_sequence(x_shape):
            _args.type_fail(fn, "input_shape", "must be a sequence of 3 to 5 non-negative "
                            "integers", x_shape)
        rank = len(x_shape)
        n = None
        if data_format is None or is_keras_format(data_format):
            n = rank - 2
            if not 1 <= n <= 3:
                _args.fail(fn, "input_shape", "must have 3 to 5 elements (1 to 3 spatial "
                           "dims)", tuple(x_shape))
        lay = _args.data_format(fn, data_format, n)
        if rank != lay.rank:
            _args.fail(fn, "input_shape", f"must have {lay.rank} elements ({lay.name})",
                       tuple(x_shape))
        full = shape(fn, "input_shape", x_shape, lay, 0, 0)
    geometry = windows(fn, lay, lay.spatial_shape(full), window_shape, strides, dilations,
                       padding, names=("window_shape", "strides", "dilations"),
                       full_rank=(False, True))
    return lay, full, geometry


# --------------------------------------------------------------------------- explain

def explain(input: Any, window: Any, stride: Any = 1, padding: Any = "SAME",
            dilation: Any = 1, ceil_mode: bool = False) -> str:
    """Explain, step by step, the output size and padding of a windowed op.

    Parameters
    ----------
    input : int or sequence of int
        Spatial input size(s); one per spatial dimension.
    window : int or sequence of int
        Window (kernel or pool) size, broadcast to every dimension if an int.
    stride, dilation : int or sequence of int
        Broadcast like ``window``; None is 1.
    padding : "SAME", "VALID", "SAME_LOWER", "SAME_UPPER", int, or sequence of (before, after)
        As accepted by the ops.
    ceil_mode : bool
        PyTorch's ceil rounding for pooling (VALID or explicit padding).

    Returns
    -------
    str
        One line per dimension.

    Raises
    ------
    ValueError, TypeError
        For invalid arguments.

    Examples
    --------
    >>> print(explain(224, 7, 2, "SAME"))
    SAME: out = ceil(224/2) = 112; total pad = max((112-1)*2 + 7 - 224, 0) = 5 -> before 2, after 3
    >>> print(explain(224, 7, 2, "SAME_LOWER"))                # ONNX: the odd pixel first
    SAME_LOWER: out = ceil(224/2) = 112; total pad = max((112-1)*2 + 7 - 224, 0) = 5 -> before 3, after 2
    >>> print(explain((5, 6), 3, 1, "VALID", dilation=(1, 2)))
    dim 0: VALID: out = (5 - 3 + 1) // 1 = 3; no padding
    dim 1: effective window = (3-1)*2 + 1 = 5; VALID: out = (6 - 5 + 1) // 1 = 2; no padding
    """
    fn = "explain"
    if isinstance(input, (int,)) and not isinstance(input, bool):
        sizes: tuple[int, ...] = (_args.integer(fn, "input", input, minimum=0),)
    else:
        if _args._is_sequence(input) and len(input) == 0:
            _args.fail(fn, "input", "must give at least one spatial size", input)
        sizes = _args.int_tuple(fn, "input", input, len(input) if _args._is_sequence(input)
                                else 1, minimum=0)
    lay = Layout(len(sizes))
    return windows(fn, lay, sizes, window, stride, dilation, padding,
                   names=("window", "stride", "dilation"), full_rank=(False, False),
                   ceil_mode=ceil_mode).explain()
