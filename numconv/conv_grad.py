"""Convolution gradients, 1 to 3 spatial dims.

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
(:mod:`numconv.kernels.conv_input_grad`, :mod:`numconv.kernels.conv_filter_grad`) work
block by block: beyond the returned array, the extra memory of a call is the workspace
bound (:func:`numconv.workspace_limit`) plus filter-sized arrays, whatever the batch
size; no padded copy is made.
The gradients of depthwise convolution are :mod:`numconv.depthwise_grad`, the
transposed convolutions (the input gradient used as a forward op)
:mod:`numconv.conv_transposed`: both run this module's spec -> budget -> kernel.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import budget, spec, spellings
from ._docstrings import docfiller
from .kernels.conv_filter_grad import filter_grad, filter_workspace
from .kernels.conv_input_grad import input_grad, input_workspace
from .kernels.pool import reduce_positions
from .windows import applied

__all__ = ["conv_backprop_input", "conv_backprop_filter", "conv1d_backprop_input",
           "conv1d_backprop_filter", "conv2d_backprop_input", "conv2d_backprop_filter",
           "conv3d_backprop_input", "conv3d_backprop_filter", "bias_add_grad"]


def backprop_input(fn: str, input_sizes: Any, filters: Any, out_backprop: Any, strides: Any,
                   padding: Any, data_format: Any, dilations: Any, precision: Any,
                   n: int | None, depthwise: bool = False, transpose: bool = False
                   ) -> np.ndarray:
    """spec -> budget -> kernel, written into the caller's layout (``depthwise``:
    :mod:`numconv.depthwise_grad`; ``transpose``: :mod:`numconv.conv_transposed`)."""
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


def backprop_filter(fn: str, input: Any, filter_sizes: Any, out_backprop: Any, strides: Any,
                    padding: Any, data_format: Any, dilations: Any, n: int | None,
                    depthwise: bool = False) -> np.ndarray:
    """spec -> budget -> kernel, in the filters' layout (``depthwise``:
    :mod:`numconv.depthwise_grad`)."""
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
    return backprop_input("conv_backprop_input", input_sizes, filters, out_backprop, strides,
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
    return backprop_filter("conv_backprop_filter", input, filter_sizes, out_backprop,
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
    return backprop_input("conv1d_backprop_input", input_sizes, filters, out_backprop,
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
    return backprop_filter("conv1d_backprop_filter", input, filter_sizes, out_backprop,
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
    return backprop_input("conv2d_backprop_input", input_sizes, filters, out_backprop,
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
    return backprop_filter("conv2d_backprop_filter", input, filter_sizes, out_backprop,
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
    return backprop_input("conv3d_backprop_input", input_sizes, filters, out_backprop,
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
    return backprop_filter("conv3d_backprop_filter", input, filter_sizes, out_backprop,
                            strides, padding, data_format, dilations, 3)


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
