"""Convolution (cross-correlation), 1 to 3 spatial dims, grouped and depthwise.

``out[n, o..., co] = bias[co] + sum_{t..., ci} padded[n, o*s + t*d ..., g*cin_g + ci] *
filters[t..., ci, co]`` with ``g = co // (C_out / groups)``: TF's ``tf.nn.convolution``.
Filters are laid out ``(*window, in_channels/groups, out_channels)`` (TF's HWIO) in
every data_format; padding is zeros.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import budget, spec, spellings
from ._docstrings import docfiller
from .algorithms import ALGORITHMS, choose
from .config import get_workspace_limit, workspace_limit
from .layout import Layout
from .windows import applied

__all__ = ["convolution", "conv1d", "conv2d", "conv3d", "depthwise_conv2d"]


def _convolve(fn: str, input: Any, filters: Any, strides: Any, padding: Any,
              data_format: Any, dilations: Any, bias: Any, algorithm: str, precision: Any,
              n: int | None, depthwise: bool = False, stride_arg: str = "strides"
              ) -> np.ndarray:
    """spec -> budget -> algorithm -> the caller's layout and dtype."""
    x = spellings.array(fn, "input", input)
    s = spec.conv_spec(fn, x, filters, strides, padding, data_format, dilations, bias,
                       algorithm, n, depthwise, stride_arg, precision)
    layout, w, geometry, groups, acc = s.layout, s.w, s.geometry, s.groups, s.acc
    spec.algorithm_fits(fn, s)
    batch, cout = x.shape[0], w.shape[-1]
    xc = layout.to_canonical(x)
    if batch and cout and 0 not in geometry.out_shape:
        geometry = applied(geometry)  # strides/dilations never applied made C-sized
    algo = s.algorithm if s.algorithm != "auto" else \
        choose(xc.shape, w.shape, geometry, groups, acc, s.precision)
    direct = layout.channels_last and acc == s.result
    warg = "filter" if depthwise else "filters"
    budget.convolution(fn, f"input, {warg}, {stride_arg}, padding and dilations", algo,
                       xc.shape, x.dtype, w.shape, geometry, groups, acc, s.result, direct)
    if not (batch and cout and 0 not in geometry.out_shape):  # empty: no algorithm
        return np.zeros(layout.full_index(geometry.out_shape, batch, cout), s.result)
    return _run(ALGORITHMS[algo], xc, w, geometry, groups, acc, s.result, s.bias, layout)


def _run(algorithm: Any, xc: np.ndarray, w: np.ndarray, geometry: Any, groups: int,
         acc: np.dtype, result: np.dtype, bias: np.ndarray | None, layout: Layout
         ) -> np.ndarray:
    """The algorithm's result plus the bias, in the caller's layout and dtype.

    A channels-first layout or a result dtype narrower than the accumulation's needs
    a copy of the algorithm's channels-last result: it is made batch chunk by batch
    chunk, the chunk's result and the algorithm's scratch sharing the workspace bound,
    so the extra memory stays under the bound whatever the batch size.
    """
    b = None if bias is None else bias.astype(acc, copy=False)
    if layout.channels_last and acc == result:
        out = algorithm(xc, w, geometry, groups, acc)
        if b is not None:
            out += b
        return out
    batch, cout = xc.shape[0], w.shape[-1]
    final = np.empty(layout.full_index(geometry.out_shape, batch, cout), result)
    target = final if layout.channels_last else np.moveaxis(final, 1, -1)
    limit = get_workspace_limit()
    chunk = budget.result_chunk(batch, math.prod(geometry.out_shape) * cout * acc.itemsize)
    with workspace_limit(max(limit // 2, 1024)):
        for start in range(0, batch, chunk):
            part = algorithm(xc[start:start + chunk], w, geometry, groups, acc)
            if b is not None:
                part += b
            np.copyto(target[start:start + chunk], part, casting="same_kind")
            del part                      # before the next chunk allocates its own
    return final


def convolution(input: Any, filters: Any, strides: Any = None, padding: Any = "VALID",
                data_format: str | None = None, dilations: Any = None, *,
                bias: Any = None, algorithm: str = "auto",
                precision: str | None = None) -> np.ndarray:
    """N-d convolution (cross-correlation), TF's ``tf.nn.convolution``.

    Parameters
    ----------
    input : array_like, shape ``(N, *spatial, C)`` or ``(N, C, *spatial)``
        1 to 3 spatial dims; layout given by ``data_format``.
    filters : array_like, shape ``(*window, C / groups, C_out)``
        TF's filter layout in every data_format.  ``groups = C / filters.shape[-2]``
        (grouped convolution when that is more than 1); ``C_out`` must divide by it.
    strides, dilations : int or sequence of int, optional
        Per spatial dim (also TF's ``N + 2`` form with 1 at batch and channels).
        ``None`` is 1, here and in every numconv function.  Any stride combines with
        any dilation.
    padding : "SAME", "VALID", "SAME_LOWER", "SAME_UPPER", int, or (before, after) pairs
        TF's SAME/VALID (any case), ONNX's SAME_UPPER (= SAME) and SAME_LOWER (the odd
        padding pixel before), PyTorch's symmetric int, explicit pairs per spatial dim,
        or TF's explicit ``[[0, 0], [t, b], [l, r], [0, 0]]``.  Zero padding.
    data_format : str, optional
        ``NWC``, ``NHWC``, ``NDHWC`` (channels-last, default) or ``NCW``, ``NCHW``,
        ``NCDHW``, any case; or Keras's ``"channels_last"``/``"channels_first"`` (the
        rank then comes from the filters).
    bias : array_like, shape ``(C_out,)``, optional
        Added to every output position.
    algorithm : str
        ``"auto"`` or a name in :data:`numconv.algorithms.ALGORITHMS`.  An explicit
        name always runs (``"winograd"`` and ``"fft"`` whatever ``precision``).
    precision : {"exact", "fast"}, optional
        What ``auto`` may pick.  ``"exact"``: only direct sums, every output within
        ``gamma_K * (|x| conv |w|)`` of the exact result (``K`` products summed,
        ``gamma_K = K u / (1 - K u)``); ``"fast"``: Winograd and FFT too where they
        are faster, with a normwise bound only (:mod:`numconv.algorithms`).  None
        (default): :func:`numconv.get_default_precision`, ``"exact"`` unless changed
        with :func:`numconv.default_precision`.

    Returns
    -------
    ndarray, shape ``(N, *out_spatial, C_out)`` (or channels-first)
        ``out_spatial`` from :func:`numconv.explain`.  Float inputs promote as NumPy
        (float16 accumulates in float32); integer inputs are computed exactly in int64.

    Raises
    ------
    TypeError, ValueError
        For a wrong type, rank, channel count or argument value.

    Notes
    -----
    NaN or Inf anywhere in a window propagates to that output (IEEE arithmetic), as
    in TensorFlow and PyTorch.  An output dimension of size 0 (VALID with a window
    larger than the input) gives an empty array.

    Examples
    --------
    >>> x = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> w = np.ones((2, 2, 1, 1))
    >>> convolution(x, w, strides=2)[0, :, :, 0]        # sums of 2x2 blocks
    array([[10., 18.],
           [42., 50.]])
    """
    return _convolve("convolution", input, filters, strides, padding, data_format, dilations,
                     bias, algorithm, precision, None)


@docfiller
def conv1d(input: Any, filters: Any, stride: Any = 1, padding: Any = "VALID",
           data_format: str = "NWC", dilations: Any = None, *, bias: Any = None,
           algorithm: str = "auto", precision: str | None = None) -> np.ndarray:
    """1-D convolution (cross-correlation), TF's ``tf.nn.conv1d``.

    ``out[n, i, co] = bias[co] + sum_{t, ci} padded[n, i*stride + t*dilation, ci] *
    filters[t, ci, co]``; the general case is :func:`convolution`.

    Parameters
    ----------
    input : array_like, shape ``(N, W, C)`` (``NWC``) or ``(N, C, W)`` (``NCW``)
        A batch of 1-D signals; a single one is ``x[None]``.
    filters : array_like, shape ``(kw, C / groups, C_out)``
        TF's layout in every data_format; a single kernel ``k`` is ``k[:, None, None]``.
    stride : int or sequence of int
        Step between windows (also TF's ``[1, s, 1]``).  Default 1.
    %(padding)s
    data_format : {"NWC", "NCW"}
        Channels-last (default) or channels-first.
        %(keras_formats)s
    %(dilations)s
    %(bias_algorithm)s

    Returns
    -------
    ndarray, shape ``(N, out_w, C_out)`` (or ``(N, C_out, out_w)``)
        Float inputs promote as NumPy does; integer inputs are computed exactly in int64.

    %(conv_raises)s

    %(conv_notes)s

    Examples
    --------
    >>> x = np.array([[[1.], [2.], [4.]]])                  # (N, W, C) = (1, 3, 1)
    >>> w = np.array([[[1.]], [[-1.]]])                     # (kw, C, C_out) = (2, 1, 1)
    >>> conv1d(x, w)[0, :, 0]                               # x[i] - x[i + 1]
    array([-1., -2.])
    >>> conv1d(x, w, padding="SAME")[0, :, 0]               # one zero padded after
    array([-1., -2.,  4.])
    """
    return _convolve("conv1d", input, filters, stride, padding, data_format, dilations, bias,
                     algorithm, precision, 1, stride_arg="stride")


@docfiller
def conv2d(input: Any, filters: Any, strides: Any = 1, padding: Any = "VALID",
           data_format: str = "NHWC", dilations: Any = None, *, bias: Any = None,
           algorithm: str = "auto", precision: str | None = None) -> np.ndarray:
    """2-D convolution (cross-correlation), TF's ``tf.nn.conv2d``.

    ``out[n, i, j, co] = bias[co] + sum_{a, b, ci} filters[a, b, ci, co] *
    padded[n, i*sh + a*dh, j*sw + b*dw, g*cin + ci]``, ``g`` the group of ``co`` and
    ``cin = filters.shape[2]``; the general case is :func:`convolution`.

    Parameters
    ----------
    input : array_like, shape ``(N, H, W, C)`` (``NHWC``) or ``(N, C, H, W)`` (``NCHW``)
        A batch of images; a single image ``(H, W, C)`` is ``image[None]``.
    filters : array_like, shape ``(kh, kw, C / groups, C_out)``
        TF's HWIO layout in every data_format; a 2-D kernel becomes filters with
        :func:`numconv.as_filters`.  ``groups = C / filters.shape[2]``.
    strides : int or sequence of int
        Per spatial dim (``2`` or ``(2, 1)``; also TF's ``[1, sh, sw, 1]``).  Default 1.
    %(padding)s
    data_format : {"NHWC", "NCHW"}
        Channels-last (default) or channels-first.
        %(keras_formats)s
    %(dilations)s
    %(bias_algorithm)s

    Returns
    -------
    ndarray, shape ``(N, out_h, out_w, C_out)`` (or ``(N, C_out, out_h, out_w)``)
        Float inputs promote as NumPy does; integer inputs are computed exactly in int64.

    %(conv_raises)s

    %(conv_notes)s

    Examples
    --------
    >>> x = np.zeros((1, 3, 3, 1)); x[0, 1, 1, 0] = 1        # one bright pixel
    >>> edge = np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], float)[:, :, None, None]
    >>> conv2d(x, edge, 1, "SAME")[0, :, :, 0]
    array([[-1., -1., -1.],
           [-1.,  8., -1.],
           [-1., -1., -1.]])
    >>> conv2d(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 1)), 2, "VALID").shape
    (1, 2, 2, 1)
    """
    return _convolve("conv2d", input, filters, strides, padding, data_format, dilations, bias,
                     algorithm, precision, 2)


@docfiller
def conv3d(input: Any, filters: Any, strides: Any = 1, padding: Any = "VALID",
           data_format: str = "NDHWC", dilations: Any = None, *, bias: Any = None,
           algorithm: str = "auto", precision: str | None = None) -> np.ndarray:
    """3-D convolution (cross-correlation), TF's ``tf.nn.conv3d``.

    ``out[n, i, j, k, co] = bias[co] + sum_{a, b, c, ci} filters[a, b, c, ci, co] *
    padded[n, i*sd + a*dd, j*sh + b*dh, k*sw + c*dw, ci]``; the general case is
    :func:`convolution`.

    Parameters
    ----------
    input : array_like, shape ``(N, D, H, W, C)`` or ``(N, C, D, H, W)``
        A batch of volumes (``NDHWC`` or ``NCDHW``); a single one is ``volume[None]``.
    filters : array_like, shape ``(kd, kh, kw, C / groups, C_out)``
        TF's layout in every data_format; a single kernel is ``kernel[..., None, None]``.
    strides : int or sequence of int
        Per spatial dim (also TF's ``[1, sd, sh, sw, 1]``).  Default 1.
    %(padding)s
    data_format : {"NDHWC", "NCDHW"}
        Channels-last (default) or channels-first.
        %(keras_formats)s
    %(dilations)s
    %(bias_algorithm)s

    Returns
    -------
    ndarray, shape ``(N, out_d, out_h, out_w, C_out)`` (or channels-first)
        Float inputs promote as NumPy does; integer inputs are computed exactly in int64.

    %(conv_raises)s

    %(conv_notes)s

    Examples
    --------
    >>> conv3d(np.ones((1, 2, 2, 2, 1)), np.ones((2, 2, 2, 1, 1))).ravel()   # one window of 8
    array([8.])
    >>> conv3d(np.ones((1, 4, 4, 4, 1)), np.ones((3, 3, 3, 1, 2)), 1, "SAME").shape
    (1, 4, 4, 4, 2)
    """
    return _convolve("conv3d", input, filters, strides, padding, data_format, dilations, bias,
                     algorithm, precision, 3)


@docfiller
def depthwise_conv2d(input: Any, filter: Any, strides: Any = 1, padding: Any = "VALID",
                     data_format: str | None = None, dilations: Any = None, *,
                     bias: Any = None, algorithm: str = "auto",
                     precision: str | None = None) -> np.ndarray:
    """Depthwise 2-D convolution, TF's ``tf.nn.depthwise_conv2d``.

    Each input channel ``c`` is convolved with its own ``filter[:, :, c, m]`` for every
    multiplier ``m``; output channel ``c * multiplier + m``.  Same as
    :func:`convolution` with filters reshaped to ``(kh, kw, 1, C * multiplier)``
    (``groups = C``).

    Parameters
    ----------
    input : array_like, shape ``(N, H, W, C)`` or ``(N, C, H, W)``
    filter : array_like, shape ``(kh, kw, C, multiplier)``
        One ``(kh, kw)`` kernel per input channel and multiplier;
        ``numconv.as_filters(kernel, C, 1)`` applies one kernel to every channel.
    strides : int or sequence of int
        Per spatial dim.  Default 1.
    %(padding)s
    data_format : {"NHWC", "NCHW"}, optional
        Channels-last by default.
    %(dilations)s
    %(bias_algorithm)s

    Returns
    -------
    ndarray, shape ``(N, out_h, out_w, C * multiplier)`` (or channels-first)

    %(conv_raises)s

    Notes
    -----
    TF requires equal strides in both spatial dims for this op; numconv accepts any.

    Examples
    --------
    >>> x = np.ones((1, 2, 2, 2)); x[..., 1] = 10
    >>> depthwise_conv2d(x, np.ones((2, 2, 2, 1))).ravel()      # channels stay apart
    array([ 4., 40.])
    """
    return _convolve("depthwise_conv2d", input, filter, strides, padding, data_format,
                     dilations, bias, algorithm, precision, 2, depthwise=True)
