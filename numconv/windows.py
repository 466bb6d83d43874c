"""The one window primitive: pad, then a read-only strided view of every window.

For a channels-last array ``x`` of shape ``(N, *spatial, C)`` and a resolved
:class:`~numconv.geometry.Geometry`, :func:`window_view` returns a view of shape
``(N, *out_spatial, *window, C)`` with

``view[n, o..., t..., c] == padded[n, o*stride + t*dilation ..., c]``.

Convolution flattens it into the patch matrix (:func:`im2col`) and multiplies;
pooling reduces over the taps (:func:`tap_views`, one whole-array slice per tap).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Iterator

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import _args, budget, spec, spellings
from .config import get_workspace_limit
from .engine import iterator_bytes
from .geometry import DimGeometry, Geometry, resolve

__all__ = ["im2col", "col2im"]


def pad(x: np.ndarray, geometry: Geometry, value: Any = 0) -> np.ndarray:
    """Pad the spatial axes of a channels-last array with ``value``; no copy if no padding.

    >>> x = np.arange(3.0).reshape(1, 3, 1)
    >>> g = resolve((3,), (2,), (2,), (1,), "SAME")      # pads (0, 1)
    >>> pad(x, g, -np.inf)[0, :, 0]
    array([  0.,   1.,   2., -inf])
    """
    if not geometry.padded:
        return x
    shape = (x.shape[0],) + tuple(b + n + a for n, (b, a) in zip(x.shape[1:-1], geometry.pads)) \
        + (x.shape[-1],)
    out = np.full(shape, value, dtype=x.dtype)
    inner = (slice(None),) + tuple(slice(b, b + n) for n, (b, _) in
                                   zip(x.shape[1:-1], geometry.pads)) + (slice(None),)
    out[inner] = x
    return out


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


def tap_range(d: DimGeometry, start: int, stop: int) -> range:
    """The taps that may read the input for outputs in ``[start, stop)``, in order: every
    other tap reads only padding there (:func:`tap_region` gives None), so a loop over
    taps costs at most about ``in_size / dilation`` steps, however large the window.

    >>> from numconv.geometry import resolve_dim
    >>> tap_range(resolve_dim(4, 2**31 - 1, 1, padding="SAME"), 0, 4)
    range(1073741820, 1073741827)
    """
    if stop <= start:
        return range(0)
    first = max(0, -(((stop - 1) * d.stride - d.pad_before) // d.dilation))
    last = min(d.window - 1, (d.in_size - 1 + d.pad_before - start * d.stride) // d.dilation)
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
        return replace(d, stride=stride, dilation=dilation)

    return Geometry(tuple(small(d) for d in geometry.dims))


def window_view(xp: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Read-only view ``(N, *out_spatial, *window, C)`` of a padded channels-last array.

    >>> xp = np.arange(5).reshape(1, 5, 1)
    >>> g = resolve((5,), (2,), (2,), (1,), "VALID")
    >>> window_view(xp, g)[0, :, :, 0]
    array([[0, 1],
           [2, 3]])
    """
    n_sp = len(geometry.dims)
    for d, size in zip(geometry.dims, xp.shape[1:-1]):
        assert d.out_size == 0 or (d.out_size - 1) * d.stride + d.effective_window <= size
    sp_strides = xp.strides[1:-1]
    shape = (xp.shape[0],) + geometry.out_shape + geometry.window + (xp.shape[-1],)
    # a stride or dilation that never moves (one window, one tap, empty output) may be
    # astronomically large: give it stride 0 so as_strided gets numbers that fit in C
    strides = ((xp.strides[0],)
               + tuple(st * d.stride if d.out_size > 1 else 0
                       for st, d in zip(sp_strides, geometry.dims))
               + tuple(st * d.dilation if d.window > 1 and d.out_size else 0
                       for st, d in zip(sp_strides, geometry.dims))
               + (xp.strides[-1],))
    assert len(shape) == 2 * n_sp + 2
    return as_strided(xp, shape=shape, strides=strides, writeable=False)


def tap_views(xp: np.ndarray, geometry: Geometry) -> Iterator[tuple[tuple[int, ...],
                                                                    np.ndarray]]:
    """Yield ``(tap, view)`` for every window tap, ``view`` of shape ``(N, *out_spatial, C)``.

    ``view[n, o..., c] == padded[n, o*stride + tap*dilation ..., c]``: a basic slice,
    so a reduction over taps is a loop over ``prod(window)`` whole-array operations.
    Taps come in window (C) order.  An empty output yields its first tap only (an empty
    view): a window of 2**31 taps over nothing is not a loop of 2**31 steps.
    """
    empty = not all(d.out_size for d in geometry.dims)
    for tap in [(0,) * len(geometry.dims)] if empty else np.ndindex(*geometry.window):
        index = (slice(None),) + tuple(
            slice(t * d.dilation, t * d.dilation + (d.out_size - 1) * d.stride + 1, d.stride)
            if d.out_size else slice(0, 0)
            for t, d in zip(tap, geometry.dims)) + (slice(None),)
        yield tap, xp[index]


def chunk_plan(batch: int, out_shape: tuple[int, ...], bytes_per_position: int,
               limit: int | None = None) -> list[tuple[slice, slice]]:
    """Split ``(batch, out_shape[0])`` into blocks whose workspace stays under ``limit``.

    Each block is ``(batch_slice, first_out_dim_slice)``; a block covers whole images
    when they fit, otherwise bands of rows of one image.  A block holds at least one
    row, so the bound is ``max(limit, bytes of one output row)``.

    >>> chunk_plan(4, (10, 10), 8, limit=1600)     # 2 images of 800 bytes per block
    [(slice(0, 2, None), slice(0, 10, None)), (slice(2, 4, None), slice(0, 10, None))]
    >>> chunk_plan(1, (10, 10), 8, limit=400)      # 5 rows of 80 bytes per block
    [(slice(0, 1, None), slice(0, 5, None)), (slice(0, 1, None), slice(5, 10, None))]
    """
    if batch == 0 or math.prod(out_shape) == 0:
        return []
    limit = get_workspace_limit() if limit is None else limit
    rows = out_shape[0]
    row_bytes = max(math.prod(out_shape[1:]) * bytes_per_position, 1)
    rows_per_block = max(limit // row_bytes, 1)
    if rows_per_block >= rows:
        images = rows_per_block // rows
        return [(slice(b, min(b + images, batch)), slice(0, rows))
                for b in range(0, batch, images)]
    return [(slice(b, b + 1), slice(r, min(r + rows_per_block, rows)))
            for b in range(batch) for r in range(0, rows, rows_per_block)]


def im2col(input: Any, window_shape: Any, strides: Any = 1, padding: Any = "VALID",
           data_format: str | None = None, dilations: Any = 1) -> np.ndarray:
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

    Returns
    -------
    ndarray
        Channels-last: shape ``(N, *out_spatial, prod(window) * C)``, each row ordered
        (window taps in C order, then channels), as ``tf.image.extract_patches``.
        Channels-first: shape ``(N, C * prod(window), *out_spatial)``, ordered
        (channels, then taps), as ``torch.nn.functional.unfold`` before flattening.
        ``conv(x, w) == im2col(x, ...) @ w.reshape(-1, C_out)`` for channels-last input.

    Examples
    --------
    >>> x = np.arange(9.0).reshape(1, 3, 3, 1)
    >>> im2col(x, 2)[0]                    # 2x2 windows of a 3x3 image
    array([[[0., 1., 3., 4.],
            [1., 2., 4., 5.]],
    <BLANKLINE>
           [[3., 4., 6., 7.],
            [4., 5., 7., 8.]]])
    """
    fn = "im2col"
    x = spellings.array(fn, "input", input)
    layout, _, geometry = spec.patch_spec(fn, None, x, window_shape, strides, padding,
                                          data_format, dilations)
    n = layout.n_spatial
    batch, out = x.shape[0], geometry.out_shape
    channels, taps = x.shape[layout.channel_axis], math.prod(geometry.window)
    budget.window(fn, "input, window_shape, strides, padding and dilations", batch, channels,
                  geometry, x.dtype.itemsize, taps * channels, x.dtype.itemsize,
                  padded_copy=True)
    if batch == 0 or channels == 0 or 0 in out:   # empty: no window view of a huge window
        return np.zeros(layout.full_index(out, batch, taps * channels), dtype=x.dtype)
    view = window_view(pad(layout.to_canonical(x), geometry, 0), geometry)
    if layout.channels_last:
        return view.reshape(batch, *out, -1)
    # (N, *O, *K, C) -> (N, C, *K, *O) -> (N, C*K, *O)
    order = (0, 2 * n + 1) + tuple(range(n + 1, 2 * n + 1)) + tuple(range(1, n + 1))
    return np.ascontiguousarray(view.transpose(order)).reshape(batch, -1, *out)


# --------------------------------------------------------------------------- adjoints

def scatter_windows(dx: np.ndarray, cols: np.ndarray, geometry: Geometry) -> None:
    """Add window values back onto the input, in place: the adjoint of the padded window view.

    ``cols`` has shape ``(N, *out_spatial, *window, *channels)`` and ``dx`` shape
    ``(N, *spatial, *channels)``; ``dx[n, o*stride + t*dilation - pad_before ..., c] +=
    cols[n, o..., t..., c]``, one whole-array ``+=`` per window tap (no loop over
    pixels), each tap clipped to the input (:func:`tap_region`): entries that fall on
    padding are dropped, and no padded array is made.
    """
    n = len(geometry.dims)
    if cols.size == 0:
        return
    for tap in np.ndindex(*geometry.window):
        regions = [tap_region(d, t, 0, d.out_size) for d, t in zip(geometry.dims, tap)]
        if any(r is None for r in regions):
            continue
        dst = dx[(slice(None),) + tuple(r[1] for r in regions)]   # type: ignore[index]
        dst += cols[(slice(None),) + tuple(r[0] for r in regions)  # type: ignore[index]
                    + tap + (Ellipsis,)]
    assert len(tap) == n


def col2im(cols: Any, input_shape: Any, window_shape: Any, strides: Any = 1,
           padding: Any = "VALID", data_format: str | None = None,
           dilations: Any = 1) -> np.ndarray:
    """Scatter-add a patch matrix back onto the input: the adjoint of :func:`im2col`.

    ``<im2col(x, ...), y> == <x, col2im(y, x.shape, ...)>`` for every ``x`` and ``y``:
    each patch entry is added to the input element it was copied from (entries copied
    from padding are dropped), so an element read by ``k`` windows receives the sum of
    ``k`` entries.  This is the backward pass of convolution's gather.

    Parameters
    ----------
    cols : array_like
        Channels-last: shape ``(N, *out_spatial, prod(window) * C)`` (taps, then
        channels); channels-first: ``(N, C * prod(window), *out_spatial)``, as
        :func:`im2col` returns.
    input_shape : sequence of int
        Shape of the input ``im2col`` read, ``(N, *spatial, C)`` or channels-first.
    window_shape, strides, padding, data_format, dilations
        As for :func:`im2col`.

    Returns
    -------
    ndarray, shape ``input_shape``
        float16 is accumulated in float32 and returned as float16; other floats keep
        their dtype; bool and integers are summed exactly in int64.

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
    if layout.channels_last:
        expected = (batch, *out, taps * channels)
        _args.grad_shape(fn, "cols", c.shape, expected, "im2col's output for input_shape")
        view = c.reshape(batch, *out, *geometry.window, channels)
    else:
        expected = (batch, channels * taps, *out)
        _args.grad_shape(fn, "cols", c.shape, expected, "im2col's output for input_shape")
        # (N, C, *K, *O) -> (N, *O, *K, C), a view
        view = c.reshape(batch, channels, *geometry.window, *out)
        view = view.transpose((0,) + tuple(range(n + 2, 2 * n + 2))
                              + tuple(range(2, n + 2)) + (1,))
    acc, result = spellings.result_dtypes(c.dtype)
    # the sums in ``acc`` (a strided ``+=`` per tap: NumPy buffers its operands), cast to
    # ``result`` and written in the caller's layout
    copied = acc != result or not layout.channels_last
    budget.charge(fn, "input_shape, window_shape, strides, padding and dilations", {
        "output": budget.nominal(shape, result.itemsize),
        "workspace": (budget.nominal(shape, acc.itemsize) if copied else 0)
        + iterator_bytes(c.dtype, acc)})
    dx = np.zeros((batch, *layout.spatial_shape(shape), channels), dtype=acc)
    scatter_windows(dx, view, applied(geometry))
    return layout.from_canonical(dx.astype(result, copy=False))
