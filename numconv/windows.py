"""Public im2col / col2im on the reference's window view, and the window helpers of the kernels.

The window primitive is :func:`numconv.reference.window_view`: for a padded
channels-last array it is a read-only view of shape ``(N, *out_spatial, *window, C)``
with ``view[n, o..., t..., c] == padded[n, o*stride + t*dilation ..., c]``.
:func:`im2col` copies it into the patch matrix; :func:`col2im` is
:func:`numconv.reference.col2im`, its adjoint, with the argument checks of a public
function.  The fast kernels never build the view: they clip each tap to the input
(:func:`tap_region`) and are tested against the reference.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from . import _args, budget, reference, spec, spellings
from ._docstrings import docfiller
from .engine import iterator_bytes
from .geometry import DimGeometry, Geometry, resolve

__all__ = ["im2col", "col2im"]


def tap_region(d: DimGeometry, tap: int, start: int, stop: int, lo: int = 0,
               hi: int | None = None) -> tuple[slice, slice] | None:
    """Outputs ``o`` in ``[start, stop)`` whose tap ``tap`` reads an input index in ``[lo, hi)``.

    Returns ``(out_slice, in_slice)``: the outputs relative to ``start`` and the
    input indices ``o*stride + tap*dilation - pad_before`` they read, relative to
    ``lo`` (a strided slice); None if there are none.  ``[lo, hi)`` defaults to the
    whole input: the taps that read padding are clipped off, which is how pooling and
    the gradients avoid a padded copy.

    >>> from numconv.geometry import resolve_dim
    >>> d = resolve_dim(5, 3, 2, padding="SAME")                 # pads (1, 1), out 3
    >>> tap_region(d, 0, 0, 3, 0, 5)                            # reads -1, 1, 3
    (slice(1, 3, None), slice(1, 4, 2))
    """
    hi = d.in_size if hi is None else hi
    offset = tap * d.dilation - d.pad_before
    first = max(start, -((offset - lo) // d.stride))
    end = min(stop, -((offset - hi) // d.stride))
    if end <= first:
        return None
    p = first * d.stride + offset - lo
    return slice(first - start, end - start), slice(p, p + (end - first - 1) * d.stride + 1,
                                                    d.stride)


def window_rows(d: DimGeometry, a: int, b: int) -> tuple[int, int]:
    """``[lo, hi)``: the windows (outputs) of dim ``d`` whose span meets input ``[a, b)``.

    >>> from numconv.geometry import resolve_dim
    >>> window_rows(resolve_dim(8, 3, 2, padding="VALID"), 4, 6)   # windows 1, 2
    (1, 3)
    """
    lo = max(0, -((d.effective_window - 1 - d.pad_before - a) // d.stride))
    return lo, max(lo, min(d.out_size, -((-b - d.pad_before) // d.stride)))


def tap_range(d: DimGeometry, start: int, stop: int, lo: int = 0,
              hi: int | None = None) -> range:
    """The taps that may read an input index in ``[lo, hi)`` (default: the whole input)
    for outputs in ``[start, stop)``, in order: every other tap reads only padding or
    indices outside there (:func:`tap_region` gives None), so a loop over taps costs
    at most about ``(hi - lo) / dilation`` steps, however large the window.

    >>> from numconv.geometry import resolve_dim
    >>> tap_range(resolve_dim(4, 2**31 - 1, 1, padding="SAME"), 0, 4)
    range(1073741820, 1073741827)
    """
    hi = d.in_size if hi is None else hi
    if stop <= start or hi <= lo:
        return range(0)
    first = max(0, -(((stop - 1) * d.stride - lo - d.pad_before) // d.dilation))
    last = min(d.window - 1, (hi - 1 + d.pad_before - start * d.stride) // d.dilation)
    return range(first, max(first, last + 1))


def applied(geometry: Geometry) -> Geometry:
    """The same windows, with strides and dilations that are never applied made small.

    A stride moves nothing when a dim has one output (or none), a dilation separates
    nothing in a window of one tap: such values are legal however large (a stride of
    10**30 over a single window), but must not reach array code that converts them to
    C integers.  They become at most the padded size (a dilation of an empty output at
    most one more), which keeps every formula and slice of the dim unchanged: one
    window, ``x[start::stride]`` of one element, an effective window still too large.
    Compute code gets ``applied(geometry)``; messages keep the original values.

    >>> g = resolve((5,), (1,), (10**30,), (10**30,), "VALID")
    >>> g.dims[0].out_size, applied(g).strides, applied(g).dilations
    (1, (5,), (1,))
    """
    def small(d: Any) -> Any:
        size = max(d.padded_size, 1)
        stride = d.stride if d.out_size > 1 else min(d.stride, size)
        dilation = d.dilation if d.window > 1 and d.out_size else \
            1 if d.window == 1 else min(d.dilation, size + 1)
        return d if (stride, dilation) == (d.stride, d.dilation) else \
            replace(d, stride=stride, dilation=dilation)

    dims = tuple(small(d) for d in geometry.dims)
    return geometry if dims == geometry.dims else Geometry(dims)


@docfiller
def im2col(input: Any, window_shape: Any, strides: Any = 1, padding: Any = "VALID",
           data_format: str | None = None, dilations: Any = 1, *,
           flatten: bool = False) -> np.ndarray:
    """The patch matrix that convolution multiplies (TF's ``extract_patches``, N-d).

    Parameters
    ----------
    input : array_like, shape ``(N, *spatial, C)`` (or ``(N, C, *spatial)``)
        Input with 1 to 3 spatial dims, layout given by ``data_format``.
    window_shape : int or sequence of int
        Window size per spatial dim.
    strides, dilations : int or sequence of int
        Window stride and tap spacing per spatial dim (None is 1).
    padding : "SAME", "VALID", "SAME_LOWER", "SAME_UPPER", int or (before, after) pairs
        Zero padding, as for :func:`numconv.convolution`.
    data_format : str, optional
        ``NWC``/``NHWC``/``NDHWC`` (default) or ``NCW``/``NCHW``/``NCDHW``; Keras's
        ``"channels_last"``/``"channels_first"`` take the rank from the input.
    flatten : bool
        Return the 2-D patch matrix of :func:`numconv.reference.im2col` (any
        ``data_format``): one row per output position, one column per window tap and
        channel.

    Returns
    -------
    ndarray
        ``flatten=True``: shape ``(N * prod(out_spatial), prod(window) * C)``; rows in C
        order of ``(n, *out_position)``, columns in C order of ``(*tap, channel)`` --
        the taps in window order, each with all its channels.  Then
        ``conv(x, w) == (im2col(x, ..., flatten=True) @ w.reshape(-1, C_out))``
        reshaped to ``(N, *out_spatial, C_out)`` for any ``data_format`` (ungrouped
        filters ``w``, TF's layout).
        Otherwise channels-last: shape ``(N, *out_spatial, prod(window) * C)``, each
        row ordered as above (``tf.image.extract_patches``); channels-first: shape
        ``(N, C * prod(window), *out_spatial)``, ordered (channels, then taps), as
        ``torch.nn.functional.unfold`` before flattening.

    %(window_raises)s
        or a patch matrix over numconv's memory limit.

    Notes
    -----
    The matrix holds ``prod(window)`` copies of the input (fewer with strides): it is
    the memory price of turning convolution into one matrix product, which is why
    numconv's own im2col algorithm builds it block by block under the workspace limit.

    Examples
    --------
    >>> x = np.arange(9.0).reshape(1, 3, 3, 1)
    >>> im2col(x, 2)[0]                    # 2x2 windows of a 3x3 image
    array([[[0., 1., 3., 4.],
            [1., 2., 4., 5.]],
    <BLANKLINE>
           [[3., 4., 6., 7.],
            [4., 5., 7., 8.]]])
    >>> im2col(x, 2, flatten=True)         # 4 positions x (4 taps * 1 channel)
    array([[0., 1., 3., 4.],
           [1., 2., 4., 5.],
           [3., 4., 6., 7.],
           [4., 5., 7., 8.]])
    """
    fn = "im2col"
    x = spellings.array(fn, "input", input)
    layout, _, geometry = spec.patch_spec(fn, None, x, window_shape, strides, padding,
                                          data_format, dilations)
    flat = _args.flag(fn, "flatten", flatten)
    n = layout.n_spatial
    batch, out = x.shape[0], geometry.out_shape
    channels, taps = x.shape[layout.channel_axis], math.prod(geometry.window)
    budget.window(fn, "input, window_shape, strides, padding and dilations", batch, channels,
                  geometry, x.dtype.itemsize, taps * channels, x.dtype.itemsize,
                  padded_copy=True)
    shape = (batch * math.prod(out), taps * channels) if flat else \
        layout.full_index(out, batch, taps * channels)
    if batch == 0 or channels == 0 or 0 in out:   # empty: no window view of a huge window
        return np.zeros(shape, dtype=x.dtype)
    xc = layout.to_canonical(x)
    if flat or layout.channels_last:
        return reference.im2col(xc, geometry).reshape(shape)
    # (N, *O, *K, C) -> (N, C, *K, *O) -> (N, C*K, *O)
    view = reference.window_view(reference.pad(xc, geometry), geometry)
    order = (0, 2 * n + 1) + tuple(range(n + 1, 2 * n + 1)) + tuple(range(1, n + 1))
    return np.ascontiguousarray(view.transpose(order)).reshape(shape)


def col2im(cols: Any, input_shape: Any, window_shape: Any, strides: Any = 1,
           padding: Any = "VALID", data_format: str | None = None,
           dilations: Any = 1) -> np.ndarray:
    """Scatter-add a patch matrix back onto the input: the adjoint of :func:`im2col`.

    ``<im2col(x, ...), y> == <x, col2im(y, x.shape, ...)>`` for every ``x`` and ``y``:
    each patch entry is added to the input element it was copied from (entries copied
    from padding are dropped), so an element read by ``k`` windows receives the sum of
    ``k`` entries.  This is the backward pass of convolution's gather
    (:func:`numconv.reference.col2im`).

    Parameters
    ----------
    cols : array_like
        As :func:`im2col` returns it: channels-last, shape
        ``(N, *out_spatial, prod(window) * C)`` (taps, then channels); channels-first,
        ``(N, C * prod(window), *out_spatial)``; or the 2-D patch matrix of
        ``flatten=True``, ``(N * prod(out_spatial), prod(window) * C)``, in any layout.
    input_shape : sequence of int
        Shape of the input ``im2col`` read, ``(N, *spatial, C)`` or channels-first.
    window_shape, strides, padding, data_format, dilations
        As for :func:`im2col`.

    Returns
    -------
    ndarray, shape ``input_shape``
        float16 is accumulated in float32 and returned as float16; other floats keep
        their dtype; bool and integers are summed exactly in int64.

    Raises
    ------
    TypeError
        For ``cols`` that is not a real numeric array, or an argument of the wrong type.
    ValueError
        For ``cols`` whose shape is not the patch matrix ``im2col`` gives for
        ``input_shape`` and these window arguments, a non-positive window, stride or
        dilation, or a result over numconv's memory limit.

    Notes
    -----
    im2col is a gather (``=``) and col2im its scatter (``+=``): the same loop over
    windows and taps with the assignment turned into an accumulation.

    Examples
    --------
    >>> x = np.arange(9.0).reshape(1, 3, 3, 1)
    >>> col2im(np.ones((1, 2, 2, 4)), x.shape, 2)[0, :, :, 0]   # windows per pixel
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    fn = "col2im"
    c = spellings.array(fn, "cols", cols)
    layout, shape, geometry = spec.patch_spec(fn, input_shape, None, window_shape, strides,
                                              padding, data_format, dilations)
    n = layout.n_spatial
    batch, channels, out = shape[0], shape[layout.channel_axis], geometry.out_shape
    taps = math.prod(geometry.window)
    view = c
    if c.ndim == 2:                                   # flatten=True: rows (n, *o)
        _args.grad_shape(fn, "cols", c.shape, (batch * math.prod(out), taps * channels),
                         "im2col's output with flatten=True for input_shape")
    elif layout.channels_last:
        _args.grad_shape(fn, "cols", c.shape, (batch, *out, taps * channels),
                         "im2col's output for input_shape")
    else:
        _args.grad_shape(fn, "cols", c.shape, (batch, channels * taps, *out),
                         "im2col's output for input_shape")
        # (N, C, *K, *O) -> (N, *O, *K, C), a view
        view = c.reshape(batch, channels, *geometry.window, *out)
        view = view.transpose((0,) + tuple(range(n + 2, 2 * n + 2))
                              + tuple(range(2, n + 2)) + (1,))
    acc, result = spellings.result_dtypes(c.dtype)
    canonical = (batch, *layout.spatial_shape(shape), channels)
    # the reference's sums: a padded accumulator in ``acc`` (a strided ``+=`` per tap,
    # which NumPy buffers), copied out cropped in ``result``, then into the caller's
    # layout (channels-first: one more copy)
    padded = (batch, *(d.padded_size for d in geometry.dims), channels)
    budget.charge(fn, "input_shape, window_shape, strides, padding and dilations", {
        "output": budget.nominal(shape, result.itemsize),
        "workspace": max(budget.nominal(padded, acc.itemsize),
                         0 if layout.channels_last else budget.nominal(shape, result.itemsize))
        + iterator_bytes(c.dtype, acc)})
    if 0 in out:                                      # no window: no loop over its taps
        return np.zeros(shape, result)
    dx = reference.col2im(view, canonical, geometry, acc).astype(result)
    return layout.from_canonical(dx)
