"""Gradients of :func:`numconv.depthwise_conv2d`, TF's ``DepthwiseConv2dNative``
backprop ops.

A depthwise convolution is a grouped one (``groups = C``, the filter ``(kh, kw, C, M)``
read as ``(kh, kw, 1, C * M)``), so its gradients are :mod:`numconv.conv_grad`'s
with that filter: the same spec, budget and kernels, and the same bits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import conv_grad
from ._docstrings import docfiller

__all__ = ["depthwise_conv2d_backprop_input", "depthwise_conv2d_backprop_filter"]


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
    %(depthwise_grad_args)s
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
    return conv_grad.backprop_input("depthwise_conv2d_backprop_input", input_sizes, filter,
                                    out_backprop, strides, padding, data_format, dilations,
                                    precision, 2, depthwise=True)


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
    %(depthwise_grad_args)s

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
    return conv_grad.backprop_filter("depthwise_conv2d_backprop_filter", input,
                                     filter_sizes, out_backprop, strides, padding,
                                     data_format, dilations, 2, depthwise=True)
