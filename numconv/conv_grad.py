"""Convolution gradients and transposed convolution, 1 to 3 spatial dims.

For ``out = conv(x, w)`` (:func:`numconv.convolution`) and an upstream gradient
``g = dL/dout``:

* ``dL/dx = conv_backprop_input(x.shape, w, g)``: ``dx[o*s + t*d] += g[o] @ w[t].T``,
  the adjoint of the forward's gather; entries that land on padding are dropped.
  With stride 1 it is a forward convolution of ``g`` with the flipped, transposed
  filters (on the algorithm ``auto`` picks for ``precision``); otherwise a blocked
  scatter-add.
* ``dL/dw = conv_backprop_filter(x, w.shape, g)``: the transposed patch matrix times
  ``g``, accumulated over blocks; ``dL/dbias = bias_add_grad(g)``.

Geometry is the forward op's (:func:`numconv.explain`).  The kernels
(:mod:`numconv.kernels.conv_grad`) work block by block: beyond the returned array, the
extra memory of a call is the workspace bound (:func:`numconv.workspace_limit`) plus
filter-sized arrays, whatever the batch size; no padded copy is made.
Transposed convolution is the input gradient used as a forward op:
``conv_transpose(y, w, x_shape) == conv_backprop_input(x_shape, w, y)``.  This module
is separate from :mod:`numconv.conv` only to keep both under ~400 lines.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import budget, spec, spellings
from ._docstrings import docfiller
from .kernels.conv_grad import filter_grad, filter_workspace, input_grad, input_workspace
from .kernels.pool import reduce_positions
from .windows import applied

__all__ = ["conv_backprop_input", "conv_backprop_filter", "conv1d_backprop_input",
           "conv1d_backprop_filter", "conv2d_backprop_input", "conv2d_backprop_filter",
           "conv3d_backprop_input", "conv3d_backprop_filter", "depthwise_conv2d_backprop_input",
           "depthwise_conv2d_backprop_filter", "bias_add_grad", "conv_transpose",
           "conv1d_transpose", "conv2d_transpose", "conv3d_transpose"]


def _backprop_input(fn: str, input_sizes: Any, filters: Any, out_backprop: Any, strides: Any,
                    padding: Any, data_format: Any, dilations: Any, precision: Any,
                    n: int | None, depthwise: bool = False, transpose: bool = False
                    ) -> np.ndarray:
    """spec -> budget -> kernel, written into the caller's layout."""
    s, g = spec.conv_input_grad_spec(fn, input_sizes, filters, out_backprop, strides, padding,
                                     data_format, dilations, n, depthwise, transpose, precision)
    layout, wt, geometry, shape, acc, result = s.layout, s.w, s.geometry, s.shape, s.acc, \
        s.result
    sarg = "output_shape" if transpose else "input_sizes"
    into = not (acc == result and layout.channels_last)    # else a gather may return its own
    empty = shape[0] == 0 or wt.shape[-1] == 0 or 0 in geometry.out_shape
    gc, comp = layout.to_canonical(g), applied(geometry)
    budget.charge(fn, f"{sarg}, {'filter' if depthwise else 'filters'}, strides, padding and "
                  "dilations", {"output": budget.nominal(shape, result.itemsize),
                                "workspace": 0 if empty else input_workspace(
                                    gc.shape, g.dtype, wt.shape, comp, s.groups, acc,
                                    s.precision, into)})
    if empty:
        return np.zeros(shape, result)
    if not into:
        return input_grad(gc, wt, comp, s.groups, None, acc, s.precision)
    dx = np.zeros(shape, result)                   # written block by block, any layout
    input_grad(gc, wt, comp, s.groups, layout.to_canonical(dx), acc, s.precision)
    return dx


def _backprop_filter(fn: str, input: Any, filter_sizes: Any, out_backprop: Any, strides: Any,
                     padding: Any, data_format: Any, dilations: Any, n: int | None,
                     depthwise: bool = False) -> np.ndarray:
    """spec -> budget -> kernel, in the filters' layout."""
    x = spellings.array(fn, "input", input)
    s, g = spec.conv_filter_grad_spec(fn, x, filter_sizes, out_backprop, strides, padding,
                                      data_format, dilations, n, depthwise)
    layout, geometry, fshape, acc = s.layout, s.geometry, s.shape, s.acc
    xc, gc, comp = layout.to_canonical(x), layout.to_canonical(g), applied(geometry)
    budget.charge(fn, "input, filter_sizes, strides, padding and dilations", {
        "output": budget.nominal(fshape, s.result.itemsize),
        "workspace": filter_workspace(xc, gc, comp, s.groups, acc)})
    dw = filter_grad(xc, gc, comp, s.groups, acc)
    return dw.reshape(fshape).astype(s.result, copy=False)


# --------------------------------------------------------------------------- public API

def conv_backprop_input(input_sizes: Any, filters: Any, out_backprop: Any, strides: Any,
                        padding: Any, data_format: str | None = None,
                        dilations: Any = None, *,
                        precision: str | None = None) -> np.ndarray:
    """Gradient of :func:`numconv.convolution` with respect to its input (TF's argument order).

    ``dx[n, i..., c] = sum over (o, t) with o*s + t*d - pad_before = i of
    sum_co g[n, o..., co] * w[t..., c % cin_g, co]`` (``co`` in the group of ``c``):
    each output position's gradient goes back, through the filters, to the window it
    read.  Entries that land on padding are dropped.

    Parameters
    ----------
    input_sizes : sequence of int
        Shape of the forward input: all ``n + 2`` dims in ``data_format`` order, or the
        ``n`` spatial sizes (batch from ``out_backprop``, channels ``filters.shape[-2]``,
        i.e. ungrouped).
    filters : array_like, shape ``(*window, C / groups, C_out)``
        The forward filters (TF's HWIO in every layout).
    out_backprop : array_like, shape of the forward output
        ``dL/dout``, ``(N, *out_spatial, C_out)`` (or channels-first).
    strides, padding, dilations, data_format
        As for the forward :func:`numconv.convolution`; ``data_format=None`` is
        channels-last with the rank of ``filters``.
    precision : {"exact", "fast"}, optional
        As for :func:`numconv.convolution`: with stride 1 the gradient runs as a
        forward convolution on the algorithm ``auto`` picks for this precision
        (``"exact"``, the default: a direct sum, per-element bound).

    Returns
    -------
    ndarray, shape ``input_sizes``
        Float dtypes promote as the forward op; integers are exact in int64.

    Raises
    ------
    ValueError, TypeError
        For invalid arguments, or ``out_backprop`` not of the forward output's shape.

    Notes
    -----
    The adjoint of the forward op: ``sum(convolution(x, w) * g) == sum(x * dx)`` for
    every ``x``.  The rank-named forms are :func:`conv1d_backprop_input`,
    :func:`conv2d_backprop_input` and :func:`conv3d_backprop_input`.

    Examples
    --------
    >>> w = np.ones((2, 2, 1, 1))
    >>> conv_backprop_input((1, 3, 3, 1), w, np.ones((1, 2, 2, 1)), 1, "VALID")[0, :, :, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    return _backprop_input("conv_backprop_input", input_sizes, filters, out_backprop, strides,
                           padding, data_format, dilations, precision, None)


def conv_backprop_filter(input: Any, filter_sizes: Any, out_backprop: Any, strides: Any,
                         padding: Any, data_format: str | None = None,
                         dilations: Any = None) -> np.ndarray:
    """Gradient of :func:`numconv.convolution` with respect to its filters (TF's order).

    ``dw[t..., ci, co] = sum_{n, o} padded[n, o*s + t*d ..., g*cin_g + ci] * g[n, o..., co]``
    with ``g = co // (C_out / groups)``: the patch matrix (:func:`numconv.im2col`)
    transposed, times the output gradient.

    Parameters
    ----------
    input : array_like, shape ``(N, *spatial, C)`` (or channels-first)
        The forward input.
    filter_sizes : sequence of int
        ``(*window, C / groups, C_out)``, the forward filters' shape.
    out_backprop : array_like
        ``dL/dout``, shape of the forward output.
    strides, padding, data_format, dilations
        As for :func:`numconv.convolution`; ``data_format=None`` infers the rank from
        ``input``.

    Returns
    -------
    ndarray, shape ``filter_sizes``
        Float dtypes promote as the forward op does; integers are exact in int64.

    Raises
    ------
    ValueError, TypeError
        For invalid arguments, or ``out_backprop`` not of the forward output's shape.

    Notes
    -----
    The rank-named forms are :func:`conv1d_backprop_filter`,
    :func:`conv2d_backprop_filter` and :func:`conv3d_backprop_filter`.

    Examples
    --------
    >>> x = np.arange(9.0).reshape(1, 3, 3, 1)
    >>> conv_backprop_filter(x, (2, 2, 1, 1), np.ones((1, 2, 2, 1)), 1, "VALID")[:, :, 0, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """
    return _backprop_filter("conv_backprop_filter", input, filter_sizes, out_backprop,
                            strides, padding, data_format, dilations, None)


@docfiller
def conv1d_backprop_input(input_sizes: Any, filters: Any, out_backprop: Any, strides: Any,
                          padding: Any, data_format: str = "NWC",
                          dilations: Any = None, *,
                          precision: str | None = None) -> np.ndarray:
    """Gradient of :func:`numconv.conv1d` with respect to its input.

    TensorFlow has no 1-D op: it differentiates ``tf.nn.conv1d`` through conv2d.

    %(conv1d_backprop_input)s

    Examples
    --------
    >>> w = np.array([1.0, 10.0]).reshape(2, 1, 1)            # (kw, C, C_out)
    >>> conv1d_backprop_input((1, 3, 1), w, np.ones((1, 2, 1)), 1, "VALID")[0, :, 0]
    array([ 1., 11., 10.])
    """
    return _backprop_input("conv1d_backprop_input", input_sizes, filters, out_backprop,
                           strides, padding, data_format, dilations, precision, 1)


@docfiller
def conv1d_backprop_filter(input: Any, filter_sizes: Any, out_backprop: Any, strides: Any,
                           padding: Any, data_format: str = "NWC",
                           dilations: Any = None) -> np.ndarray:
    """Gradient of :func:`numconv.conv1d` with respect to its filters.

    TensorFlow has no 1-D op: it differentiates ``tf.nn.conv1d`` through conv2d.

    %(conv1d_backprop_filter)s

    Examples
    --------
    >>> x = np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1)
    >>> conv1d_backprop_filter(x, (2, 1, 1), np.ones((1, 2, 1)), 1, "VALID")[:, 0, 0]
    array([3., 5.])
    """
    return _backprop_filter("conv1d_backprop_filter", input, filter_sizes, out_backprop,
                            strides, padding, data_format, dilations, 1)


@docfiller
def conv2d_backprop_input(input_sizes: Any, filters: Any, out_backprop: Any, strides: Any,
                          padding: Any, data_format: str = "NHWC",
                          dilations: Any = None, *,
                          precision: str | None = None) -> np.ndarray:
    """Gradient of :func:`numconv.conv2d` with respect to its input.

    TF's ``tf.compat.v1.nn.conv2d_backprop_input``.

    %(conv2d_backprop_input)s

    Examples
    --------
    >>> w = np.ones((2, 2, 1, 1))                              # (kh, kw, C, C_out)
    >>> conv2d_backprop_input((1, 3, 3, 1), w, np.ones((1, 2, 2, 1)), 1, "VALID")[0, :, :, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    return _backprop_input("conv2d_backprop_input", input_sizes, filters, out_backprop,
                           strides, padding, data_format, dilations, precision, 2)


@docfiller
def conv2d_backprop_filter(input: Any, filter_sizes: Any, out_backprop: Any, strides: Any,
                           padding: Any, data_format: str = "NHWC",
                           dilations: Any = None) -> np.ndarray:
    """Gradient of :func:`numconv.conv2d` with respect to its filters.

    TF's ``tf.compat.v1.nn.conv2d_backprop_filter``.

    %(conv2d_backprop_filter)s

    Examples
    --------
    >>> x = np.arange(9.0).reshape(1, 3, 3, 1)
    >>> conv2d_backprop_filter(x, (2, 2, 1, 1), np.ones((1, 2, 2, 1)), 1, "VALID")[:, :, 0, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """
    return _backprop_filter("conv2d_backprop_filter", input, filter_sizes, out_backprop,
                            strides, padding, data_format, dilations, 2)


@docfiller
def conv3d_backprop_input(input_sizes: Any, filters: Any, out_backprop: Any, strides: Any,
                          padding: Any, data_format: str = "NDHWC",
                          dilations: Any = None, *,
                          precision: str | None = None) -> np.ndarray:
    """Gradient of :func:`numconv.conv3d` with respect to its input.

    TF's ``tf.compat.v1.nn.conv3d_backprop_input_v2``.

    %(conv3d_backprop_input)s

    Examples
    --------
    >>> w = np.ones((2, 2, 2, 1, 1))
    >>> dx = conv3d_backprop_input((1, 3, 3, 3, 1), w, np.ones((1, 2, 2, 2, 1)), 1, "VALID")
    >>> dx[0, :, :, :, 0].sum(), dx[0, 1, 1, 1, 0]           # 8 windows of 8; the centre in all
    (np.float64(64.0), np.float64(8.0))
    """
    return _backprop_input("conv3d_backprop_input", input_sizes, filters, out_backprop,
                           strides, padding, data_format, dilations, precision, 3)


@docfiller
def conv3d_backprop_filter(input: Any, filter_sizes: Any, out_backprop: Any, strides: Any,
                           padding: Any, data_format: str = "NDHWC",
                           dilations: Any = None) -> np.ndarray:
    """Gradient of :func:`numconv.conv3d` with respect to its filters.

    TF's ``tf.compat.v1.nn.conv3d_backprop_filter_v2``.

    %(conv3d_backprop_filter)s

    Examples
    --------
    >>> x = np.ones((1, 3, 3, 3, 1))
    >>> conv3d_backprop_filter(x, (2, 2, 2, 1, 1), np.ones((1, 2, 2, 2, 1)), 1, "VALID").ravel()
    array([8., 8., 8., 8., 8., 8., 8., 8.])
    """
    return _backprop_filter("conv3d_backprop_filter", input, filter_sizes, out_backprop,
                            strides, padding, data_format, dilations, 3)


@docfiller
def depthwise_conv2d_backprop_input(input_sizes: Any, filter: Any, out_backprop: Any,
                                    strides: Any, padding: Any, data_format: str = "NHWC",
                                    dilations: Any = None, *,
                                    precision: str | None = None) -> np.ndarray:
    """Input gradient of :func:`numconv.depthwise_conv2d`, TF's
    ``tf.compat.v1.nn.depthwise_conv2d_native_backprop_input``.

    Output channel ``c * M + m`` sends its gradient back to input channel ``c`` only:
    ``dx[n, i, j, c] = sum_{m, (o, t) -> (i, j)} g[n, o, c * M + m] * filter[t, c, m]``.

    Parameters
    ----------
    input_sizes : sequence of int
        The forward input's shape ``(N, H, W, C)`` (or channels-first), or ``(H, W)``.
    filter : array_like, shape ``(kh, kw, C, M)``
        The forward filter (``M`` the channel multiplier).
    out_backprop : array_like, shape ``(N, out_h, out_w, C * M)`` (or channels-first)
        ``dL/dout``.
    strides, padding, dilations
        The forward op's.
    data_format : {"NHWC", "NCHW"}
        Channels-last by default.
    %(grad_precision)s

    Returns
    -------
    ndarray, shape ``input_sizes``

    %(grad_raises)s

    Notes
    -----
    The same as :func:`conv_backprop_input` with the filter reshaped to ``(kh, kw, 1,
    C * M)`` and ``groups = C``.

    Examples
    --------
    >>> g = np.ones((1, 1, 1, 2))                     # C = 2, multiplier 1
    >>> w = np.stack([np.ones((2, 2)), 2 * np.ones((2, 2))], -1)[..., None]
    >>> depthwise_conv2d_backprop_input((1, 2, 2, 2), w, g, 1, "VALID")[0, 0, 0]
    array([1., 2.])
    """
    return _backprop_input("depthwise_conv2d_backprop_input", input_sizes, filter,
                           out_backprop, strides, padding, data_format, dilations, precision,
                           2, depthwise=True)


@docfiller
def depthwise_conv2d_backprop_filter(input: Any, filter_sizes: Any, out_backprop: Any,
                                     strides: Any, padding: Any, data_format: str = "NHWC",
                                     dilations: Any = None) -> np.ndarray:
    """Filter gradient of :func:`numconv.depthwise_conv2d`, TF's
    ``tf.compat.v1.nn.depthwise_conv2d_native_backprop_filter``.

    ``dw[t, c, m] = sum_{n, o} padded[n, o*s + t*d, c] * g[n, o, c * M + m]``: each
    channel's patches times its own output channels' gradients.

    Parameters
    ----------
    input : array_like, shape ``(N, H, W, C)`` (or channels-first)
        The forward input.
    filter_sizes : sequence of int
        ``(kh, kw, C, M)``, the forward filter's shape.
    out_backprop : array_like, shape ``(N, out_h, out_w, C * M)`` (or channels-first)
        ``dL/dout``.
    strides, padding, dilations
        The forward op's.
    data_format : {"NHWC", "NCHW"}
        Channels-last by default.

    Returns
    -------
    ndarray, shape ``filter_sizes``

    %(grad_raises)s

    Notes
    -----
    ``filter_sizes[2]`` must equal the input's channel count.

    Examples
    --------
    >>> x = np.ones((1, 2, 2, 2)); x[..., 1] = 10
    >>> depthwise_conv2d_backprop_filter(x, (2, 2, 2, 1), np.ones((1, 1, 1, 2)), 1,
    ...                                  "VALID")[0, 0, :, 0]
    array([ 1., 10.])
    """
    return _backprop_filter("depthwise_conv2d_backprop_filter", input, filter_sizes,
                            out_backprop, strides, padding, data_format, dilations, 2,
                            depthwise=True)


@docfiller
def bias_add_grad(out_backprop: Any, data_format: str | None = None) -> np.ndarray:
    """Gradient of a bias added per channel, TF's ``BiasAddGrad``: the sum over all axes
    but the channels.

    Parameters
    ----------
    out_backprop : array_like, rank >= 2
        ``dL/dout``.
    data_format : str, optional
        None or ``"channels_last"``: channels on the last axis (any rank);
        ``"channels_first"``: on axis 1 (any rank).  A layout name (``NHWC``, ``NCHW``,
        ...) requires its rank and gives its channel axis.

    Returns
    -------
    ndarray, shape ``(C,)``
        float16 accumulates in float32 and is returned as float16; integers in int64.

    Raises
    ------
    TypeError
        For an ``out_backprop`` that is not a real numeric array.
    ValueError
        For a rank below 2, or not the rank ``data_format`` names.

    Notes
    -----
    ``conv2d(x, w, bias=b)``'s gradient with respect to ``b`` is
    ``bias_add_grad(g)``.

    Examples
    --------
    >>> bias_add_grad(np.ones((2, 3, 3, 4)))                 # 2 * 3 * 3 per channel
    array([18., 18., 18., 18.])
    >>> bias_add_grad(np.ones((2, 4, 3, 3)), "NCHW").shape
    (4,)
    """
    fn = "bias_add_grad"
    g = spellings.array(fn, "out_backprop", out_backprop)
    g = np.moveaxis(g, spec.bias_axis(fn, g, data_format), -1)     # channels last: a view
    acc, result = spellings.result_dtypes(g.dtype)
    # per image in an order set by the shape (not the memory layout), then over images
    return np.add.reduce(reduce_positions(g, "SUM", acc), axis=0).astype(result, copy=False)


def conv_transpose(input: Any, filters: Any, output_shape: Any, strides: Any,
                   padding: Any = "SAME", data_format: str | None = None,
                   dilations: Any = None, *, precision: str | None = None) -> np.ndarray:
    """Transposed convolution ("deconvolution"), TF's ``tf.nn.conv_transpose``.

    The gradient of :func:`numconv.convolution` with respect to its input, used as a
    forward op: ``conv_transpose(y, w, x_shape, ...) == conv_backprop_input(x_shape, w,
    y, ...)``.  Each input position scatters ``input[o] @ w.T`` onto an output window
    that starts ``stride`` apart: the output is upsampled.

    Parameters
    ----------
    input : array_like, shape ``(N, *in_spatial, C_in)`` (or channels-first)
    filters : array_like, shape ``(*window, C_out / groups, C_in)``
        TF's layout for transposed convolution (``tf.nn.conv2d_transpose``): the filters
        of the forward convolution that maps the output back to the input.
    output_shape : sequence of int
        ``(N, *out_spatial, C_out)`` in ``data_format`` order, or the spatial sizes.
        Several sizes map to one input size (SAME: any ``out`` with ``ceil(out /
        stride) == in``), so it must be given.
    strides, padding, data_format, dilations
        The forward convolution's.
    precision : {"exact", "fast"}, optional
        As for :func:`numconv.convolution` (stride 1 runs as a forward convolution).

    Returns
    -------
    ndarray, shape ``output_shape``

    Raises
    ------
    ValueError
        If the forward convolution of ``output_shape`` does not have the input's spatial
        size (TF: "Size of out_backprop doesn't match computed").

    Notes
    -----
    The rank-named forms are :func:`conv1d_transpose`, :func:`conv2d_transpose` and
    :func:`conv3d_transpose`.

    Examples
    --------
    >>> y = np.array([1.0, 2.0]).reshape(1, 2, 1)
    >>> conv_transpose(y, np.ones((3, 1, 1)), (1, 4, 1), 2, "SAME")[0, :, 0]
    array([1., 1., 3., 2.])
    """
    return _backprop_input("conv_transpose", output_shape, filters, input, strides, padding,
                           data_format, dilations, precision, None, transpose=True)


@docfiller
def conv1d_transpose(input: Any, filters: Any, output_shape: Any, strides: Any,
                     padding: Any = "SAME", data_format: str = "NWC",
                     dilations: Any = None, *,
                     precision: str | None = None) -> np.ndarray:
    """1-D transposed convolution ("deconvolution"), TF's ``tf.nn.conv1d_transpose``.

    %(conv1d_transpose)s

    Examples
    --------
    >>> y = np.array([1.0, 2.0]).reshape(1, 2, 1)           # (N, W, C_in)
    >>> conv1d_transpose(y, np.ones((3, 1, 1)), (1, 4, 1), 2, "SAME")[0, :, 0]
    array([1., 1., 3., 2.])
    """
    return _backprop_input("conv1d_transpose", output_shape, filters, input, strides, padding,
                           data_format, dilations, precision, 1, transpose=True)


@docfiller
def conv2d_transpose(input: Any, filters: Any, output_shape: Any, strides: Any,
                     padding: Any = "SAME", data_format: str = "NHWC",
                     dilations: Any = None, *,
                     precision: str | None = None) -> np.ndarray:
    """2-D transposed convolution ("deconvolution"), TF's ``tf.nn.conv2d_transpose``.

    %(conv2d_transpose)s

    Examples
    --------
    >>> y = np.ones((1, 2, 2, 1))
    >>> conv2d_transpose(y, np.ones((2, 2, 1, 1)), (1, 4, 4, 1), 2, "VALID")[0, :, :, 0]
    array([[1., 1., 1., 1.],
           [1., 1., 1., 1.],
           [1., 1., 1., 1.],
           [1., 1., 1., 1.]])
    """
    return _backprop_input("conv2d_transpose", output_shape, filters, input, strides, padding,
                           data_format, dilations, precision, 2, transpose=True)


@docfiller
def conv3d_transpose(input: Any, filters: Any, output_shape: Any, strides: Any,
                     padding: Any = "SAME", data_format: str = "NDHWC",
                     dilations: Any = None, *,
                     precision: str | None = None) -> np.ndarray:
    """3-D transposed convolution ("deconvolution"), TF's ``tf.nn.conv3d_transpose``.

    %(conv3d_transpose)s

    Examples
    --------
    >>> y = np.ones((1, 1, 1, 1, 1))
    >>> conv3d_transpose(y, np.ones((2, 2, 2, 1, 1)), (1, 2, 2, 2, 1), 1, "VALID").ravel()
    array([1., 1., 1., 1., 1., 1., 1., 1.])
    """
    return _backprop_input("conv3d_transpose", output_shape, filters, input, strides, padding,
                           data_format, dilations, precision, 3, transpose=True)
