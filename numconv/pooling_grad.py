"""Pooling gradients, max pooling with argmax, and max unpooling, N-d.

Each backward is a loop over the window taps with whole-array work inside, the
adjoint of the forward's reduction (:mod:`numconv.pooling`):

* max pooling sends each output's gradient to the **first maximum in window order**
  (TF's rule on ties).  The argmax is recomputed: the maximum over the taps, then the
  first tap equal to it.  Taps on padding are never visited, so a window that reads
  padding routes its gradient to a real input element (as TF, whose CPU kernel never
  visits padding).  NaN: the first NaN of a window is its maximum (the forward output
  is NaN, as NumPy and PyTorch propagate it).
* average pooling sends ``grad / divisor`` to every tap of the window; taps on
  padding are dropped.  The divisor is the forward's: real elements (TF), or with
  ``count_include_pad`` the declared padding too, or ``divisor_override``.

A window that covers only padding (dilation or large explicit pads) has no input
element: max pooling drops its gradient (its forward value is -inf) and its
``max_pool_with_argmax`` index is -1; average pooling drops it too (forward NaN).

The kernels (:mod:`numconv.kernels.pool_grad`) work in cache-sized blocks, with taps
clipped to the input instead of a padded copy: beyond the returned arrays, a call's
extra memory stays under the workspace bound (:func:`numconv.workspace_limit`) plus,
for average pooling, the divisor (a few arrays of one number per output position of
one image and channel), whatever the batch size.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _args, budget, spec, spellings
from ._docstrings import docfiller
from .geometry import Geometry
from .kernels.avg_pool_grad import avg_factor_bytes, avg_grad, avg_window_row
from .kernels.pool_grad import (argmax_request, argmax_taps, dx_request, max_grad,
                                max_window_row)
from .kernels.unpool import unpool, unpool_request
from .layout import Layout
from .pooling import avg_divisor, lowest
from .windows import applied

__all__ = ["max_pool_grad", "avg_pool_grad", "max_pool_with_argmax", "max_unpool"]


def _grad_array(fn: str, g: np.ndarray, layout: Layout, geometry: Geometry,
                shape: tuple[int, ...], of: str) -> np.ndarray:
    expected = layout.full_index(geometry.out_shape, shape[0], shape[layout.channel_axis])
    _args.grad_shape(fn, "grad", g.shape, tuple(expected), f"the pooled output for {of}")
    return layout.to_canonical(g)


# --------------------------------------------------------------------------- public API

@docfiller
def max_pool_grad(input: Any, grad: Any, ksize: Any, strides: Any, padding: Any,
                  data_format: str | None = None, *, dilations: Any = None,
                  ceil_mode: bool = False) -> np.ndarray:
    """Gradient of :func:`numconv.max_pool` with respect to its input.

    Each window's ``grad`` goes to the first maximum of the window in window (C)
    order, among the taps that read the input; gradients of overlapping windows add
    up.  TF's ``MaxPoolGrad(orig_input, orig_output, grad)`` also takes the forward
    output; here it is recomputed from ``input``, so only the forward arguments are
    needed.

    Parameters
    ----------
    input : array_like, shape ``(N, *spatial, C)`` (or channels-first)
        The forward input.
    grad : array_like, shape of the forward output
        ``dL/dout``.
    ksize, strides, padding, data_format, dilations, ceil_mode
        As for :func:`numconv.max_pool` (``strides=None`` is 1, as there).

    Returns
    -------
    ndarray, shape of ``input``
        Dtype of ``grad`` (float16 accumulated in float32; integers in int64).

    %(pool_grad_raises)s

    Notes
    -----
    NaN: the gradient goes to the first NaN of a window.  TF's CPU kernels skip NaN
    in the forward op and route the gradient inconsistently; PyTorch picks the last
    NaN.  A window with no input element (only padding) drops its gradient.

    Examples
    --------
    >>> x = np.array([1., 3., 3., 2.]).reshape(1, 4, 1)       # a tie: 3 and 3
    >>> max_pool_grad(x, np.ones((1, 3, 1)), 2, 1, "VALID")[0, :, 0]
    array([0., 2., 1., 0.])
    """
    fn = "max_pool_grad"
    x = spellings.array(fn, "input", input)
    s = spec.pool_spec(fn, x, ksize, "MAX", strides, padding, data_format, dilations,
                       ceil_mode=ceil_mode)
    layout, geometry = s.layout, s.geometry
    g = _grad_array(fn, spellings.array(fn, "grad", grad), layout, geometry, x.shape,
                    f"input shape {x.shape}")
    acc, result = spellings.result_dtypes(g.dtype)
    comp, xc = applied(geometry), layout.to_canonical(x)
    direct = acc == result and layout.channels_last      # blocks add into dx itself
    budget.charge(fn, "input, ksize, strides, padding and dilations", {
        "output": budget.nominal(x.shape, result.itemsize),
        "workspace": dx_request(xc.shape, comp, max_window_row(x.dtype, g.shape, g.dtype, comp),
                                acc, direct).workspace()})
    dx = np.zeros(x.shape, result)
    max_grad(xc, g, comp, layout.to_canonical(dx), acc, lowest(x.dtype))
    return dx


@docfiller
def avg_pool_grad(input_shape: Any, grad: Any, ksize: Any, strides: Any, padding: Any,
                  data_format: str | None = None, *, dilations: Any = None,
                  count_include_pad: bool = False, ceil_mode: bool = False,
                  divisor_override: int | None = None) -> np.ndarray:
    """Gradient of :func:`numconv.avg_pool` with respect to its input, TF's ``AvgPoolGrad``.

    ``dx[i] = sum over the windows w that read i of grad[w] / divisor[w]``: the input
    values are not needed, only their shape (TF's ``orig_input_shape``).

    Parameters
    ----------
    input_shape : sequence of int
        The forward input's shape (``n + 2`` dims in ``data_format`` order), or its
        spatial sizes.
    grad : array_like, shape of the forward output
    ksize, strides, padding, data_format, dilations
        As for :func:`numconv.avg_pool` (``strides=None`` is 1, as there); the layout's
        rank comes from ``grad``.
    count_include_pad, ceil_mode, divisor_override
        PyTorch's options, as in the forward op.

    Returns
    -------
    ndarray, shape ``input_shape``
        float16 for float16 (accumulated in float32), float32/float64 kept, float64
        for integers.

    %(pool_grad_raises)s

    Notes
    -----
    Each window's ``grad`` is divided by the window's divisor (its real elements,
    unless PyTorch's options say otherwise) and added to every element the window
    read: the adjoint of :func:`numconv.avg_pool`.

    Examples
    --------
    >>> avg_pool_grad((1, 5, 1), np.ones((1, 3, 1)), 2, 2, "SAME")[0, :, 0]   # 5/2 -> 3
    array([0.5, 0.5, 0.5, 0.5, 1. ])
    """
    fn = "avg_pool_grad"
    g0 = spellings.array(fn, "grad", grad)
    s = spec.pool_spec(fn, g0, ksize, "AVG", strides, padding, data_format, dilations,
                       count_include_pad, ceil_mode, divisor_override, arg="grad",
                       input_shape=input_shape)
    layout, geometry, shape = s.layout, s.geometry, s.shape
    g = _grad_array(fn, g0, layout, geometry, shape, f"input_shape {shape}")
    acc, out_dtype = spellings.mean_dtypes(g.dtype)
    override, comp = s.divisor_override, applied(geometry)
    canonical = (shape[0], *layout.spatial_shape(shape), shape[layout.channel_axis])
    direct = acc == out_dtype and layout.channels_last
    factor = avg_factor_bytes(comp, g.shape[-1], acc, override is not None,
                              g.flags.c_contiguous)
    counts = 0 if override is not None else math.prod(geometry.out_shape) * 8  # avg_divisor
    budget.charge(fn, "input_shape, ksize, strides, padding and dilations", {
        "output": budget.nominal(shape, out_dtype.itemsize),
        "workspace": counts + factor + dx_request(
            canonical, comp, avg_window_row(g.shape, comp, acc), acc, direct,
            factor).workspace()})
    dx = np.zeros(shape, out_dtype)
    divisor = None if override is not None else avg_divisor(geometry, s.count_include_pad)
    avg_grad(g, comp, divisor, override, layout.to_canonical(dx), acc)
    return dx


def max_pool_with_argmax(input: Any, ksize: Any, strides: Any, padding: Any,
                         data_format: str | None = None, include_batch_in_index: bool = False,
                         *, dilations: Any = None,
                         ceil_mode: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Max pooling and the flat index of each maximum, TF's ``tf.nn.max_pool_with_argmax``.

    The index of the element at ``(n, y, x, c)`` of an NHWC input of shape
    ``(N, H, W, C)`` is ``(y * W + x) * C + c``, or ``((n * H + y) * W + x) * C + c``
    with ``include_batch_in_index``: the position in the flattened input (without the
    batch axis unless asked).  Generally: the C-order flat index into the input's own
    layout, for 1 to 3 spatial dims; channels-first input gives ``(c * H + y) * W + x``
    (PyTorch's per-plane index plus ``c * H * W``).  Ties go to the first maximum in
    window order, as TF.

    Parameters
    ----------
    input : array_like, shape ``(N, *spatial, C)`` (or channels-first)
    ksize, strides, padding, data_format
        As for :func:`numconv.max_pool`; ``data_format=None`` is channels-last with
        the input's rank (TF accepts only NHWC and SAME/VALID).
    include_batch_in_index : bool
    dilations, ceil_mode
        Extensions beyond TF, as in :func:`numconv.max_pool`.

    Returns
    -------
    output : ndarray
        The max-pooled input (input dtype).
    argmax : ndarray of int64, shape of ``output``
        Flat indices; -1 for a window that covers only padding.

    Raises
    ------
    TypeError
        For an input that is not a real numeric array, or an argument of the wrong type.
    ValueError
        For a wrong rank, a non-positive window, stride or dilation, or a result over
        numconv's memory limit.

    Notes
    -----
    Indices refer to the unpadded input, never to padding, as TF's: TF clamps each SAME
    window to the input (its CPU kernel never visits padding), so an index is decoded
    with the input's own width ``W``; tensorflow/tensorflow#10216 reports code that
    decoded them with the padded width and got shifted rows.  NaN: the first NaN of a
    window is its maximum; TF keeps a NaN only in a window's first position and
    otherwise skips it.

    Examples
    --------
    >>> x = np.arange(9.0).reshape(1, 3, 3, 1)
    >>> out, idx = max_pool_with_argmax(x, 2, 2, "SAME")
    >>> idx[0, :, :, 0]
    array([[4, 5],
           [7, 8]])
    """
    fn = "max_pool_with_argmax"
    x = spellings.array(fn, "input", input)
    s = spec.pool_spec(fn, x, ksize, "MAX", strides, padding, data_format, dilations,
                       ceil_mode=ceil_mode)
    layout, geometry = s.layout, s.geometry
    batch_index = _args.flag(fn, "include_batch_in_index", include_batch_in_index)
    channels = x.shape[layout.channel_axis]
    shape = tuple(layout.full_index(geometry.out_shape, x.shape[0], channels))
    comp = applied(geometry)
    request = argmax_request(x.shape[0], channels, comp, x.dtype, layout.channels_last)
    budget.charge(fn, "input, ksize, strides, padding and dilations", {
        "output": budget.nominal(shape, x.dtype.itemsize + 8),
        "workspace": request.reserve + request.workspace()})
    spatial = layout.spatial_shape(x.shape)
    best, flat = np.empty(shape, x.dtype), np.empty(shape, np.int64)
    # the C-order flat index of (n, *pos, c) in the input's own layout
    inner = channels if layout.channels_last else 1
    multipliers = tuple(math.prod(spatial[i + 1:]) * inner for i in range(len(spatial)))
    argmax_taps(layout.to_canonical(x), comp, layout.to_canonical(best),
                layout.to_canonical(flat), multipliers,
                1 if layout.channels_last else math.prod(spatial),
                math.prod(x.shape[1:]) if batch_index else 0, lowest(x.dtype))
    return best, flat


def max_unpool(input: Any, indices: Any, ksize: Any, strides: Any,
               padding: Any = "VALID", data_format: str | None = None, *,
               output_size: Any = None, include_batch_in_index: bool = False) -> np.ndarray:
    """Put pooled values back at their argmax positions, zeros elsewhere (PyTorch's unpool).

    ``out.flat[indices] = input`` per batch item (over the whole array with
    ``include_batch_in_index``): the inverse of :func:`max_pool_with_argmax` on its
    maxima, for 1 to 3 spatial dims and both layouts.  The indices follow
    :func:`max_pool_with_argmax`'s rule (flat into the output's own layout); -1 entries
    are skipped.

    Parameters
    ----------
    input : array_like, shape ``(N, *pooled, C)`` (or channels-first)
    indices : integer array_like, shape of ``input``
    ksize, strides, padding
        The pooling's, used only for the default output size: ``(in - 1) * stride +
        ksize - pad_before - pad_after`` per dim (PyTorch's ``(in - 1) *
        stride - 2 * padding + kernel_size``), or ``in * stride`` for SAME and
        SAME_LOWER (the largest size that pools to ``in``).  ``strides`` is required, as
        in :func:`max_pool_with_argmax` (None is 1, as in every numconv function;
        PyTorch's ``MaxUnpool`` defaults it to ``kernel_size``: pass ``ksize`` again);
        padding as for :func:`numconv.max_pool`.
    data_format : str, optional
    output_size : sequence of int, optional
        Spatial sizes (or the full shape) of the result, when the default is not the
        forward input's size.
    include_batch_in_index : bool
        Whether the indices count the batch axis.

    Returns
    -------
    ndarray, dtype of ``input``

    Raises
    ------
    TypeError
        For an array that is not numeric, or an argument of the wrong type.
    ValueError
        For ``indices`` not of the input's shape, an index out of range, an
        ``output_size`` the pooling could not have come from, or a result over
        numconv's memory limit.

    Notes
    -----
    Repeated indices (overlapping windows sharing a maximum) write the same value;
    PyTorch raises for an index out of range, as does numconv.

    Examples
    --------
    >>> x = np.array([1., 5., 2., 4.]).reshape(1, 4, 1)
    >>> out, idx = max_pool_with_argmax(x, 2, 2, "VALID")
    >>> max_unpool(out, idx, 2, 2)[0, :, 0]
    array([0., 5., 0., 4.])
    """
    fn = "max_unpool"
    v = spellings.array(fn, "input", input)
    s = spec.unpool_spec(fn, v, indices, ksize, strides, padding, data_format, output_size,
                         include_batch_in_index)
    idx, shape, batch_index = s.indices, s.shape, s.include_batch_in_index
    limit = math.prod(shape) if batch_index else math.prod(shape[1:])
    what = "output_size (or input, ksize, strides and padding)"
    _args.numpy_sized(fn, what, shape, v.dtype.itemsize, "output")
    budget.charge(fn, what, {"output": limit * (1 if batch_index else shape[0])
                             * v.dtype.itemsize,
                             "workspace": unpool_request(v.shape, v.itemsize).workspace()})
    _args.index_range(fn, "indices", idx, limit, f"output shape {shape}")
    out = np.zeros((1, limit) if batch_index else (shape[0], limit), dtype=v.dtype)
    unpool(v, idx, out, not batch_index)
    return out.reshape(shape)
