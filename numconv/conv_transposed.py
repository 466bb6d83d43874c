"""Transposed convolutions ("deconvolutions"), 1 to 3 spatial dims.

A transposed convolution is the input gradient of a convolution used as a forward op:
``conv_transpose(y, w, x_shape) == conv_backprop_input(x_shape, w, y)``, bit for bit
(:mod:`numconv.conv_grad`, whose spec, budget and kernel it runs).  Each input position
scatters ``y[o] @ w.T`` onto an output window that starts ``stride`` apart, so the
output is upsampled; with stride 1 it is a forward convolution with the flipped,
transposed filters.  Several output sizes map to one input size, so the output shape
is always given.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import conv_grad
from ._docstrings import docfiller

__all__ = ["conv_transpose", "conv1d_transpose", "conv2d_transpose", "conv3d_transpose"]


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
    return conv_grad.backprop_input("conv_transpose", output_shape, filters, input, strides,
                                    padding, data_format, dilations, precision, None,
                                    transpose=True)


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
    return conv_grad.backprop_input("conv1d_transpose", output_shape, filters, input, strides,
                                    padding, data_format, dilations, precision, 1,
                                    transpose=True)


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
    return conv_grad.backprop_input("conv2d_transpose", output_shape, filters, input, strides,
                                    padding, data_format, dilations, precision, 2,
                                    transpose=True)


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
    return conv_grad.backprop_input("conv3d_transpose", output_shape, filters, input, strides,
                                    padding, data_format, dilations, precision, 3,
                                    transpose=True)
