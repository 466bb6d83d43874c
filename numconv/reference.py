"""The textbook: convolution, pooling and ReLU in plain NumPy, forward and backward.

Everything else in numconv computes these numbers faster (in blocks, on threads,
without a padded copy) and is tested against this file.  Read it top to bottom:

1. :func:`pad` and :func:`window_view` -- every window of the padded input as one
   read-only view ``(N, *out, *window, C)`` with
   ``view[n, o, t, c] == padded[n, o*stride + t*dilation, c]`` (per spatial dim).
2. :func:`im2col` copies the view into the patch matrix (one row per output position,
   one column per window tap and channel); :func:`conv` multiplies it by the filters.
3. :func:`max_pool` and :func:`avg_pool` reduce the same view over its window axes.
4. Each op's gradient (vector-Jacobian product, ``*_vjp``) sits beside it;
   :func:`col2im`, the adjoint of im2col, adds back what im2col copied.

Arrays are channels-last, ``x`` of shape ``(N, *spatial, C)`` with 1 to 3 spatial
dims.  ``geometry`` holds each spatial dim's window, stride, dilation, pads and output
size; make one with :func:`numconv.geometry.resolve` (TF's SAME/VALID rules, explained
by :func:`numconv.explain`).  Arguments are not checked here: the public functions
(``numconv.conv2d(..., algorithm="reference")``) check them, then call this file.

>>> from numconv.geometry import resolve
>>> x = np.arange(4.0).reshape(1, 4, 1)                     # one image: 0 1 2 3
>>> g = resolve((4,), (2,), (1,), (1,), "VALID")            # windows of 2, stride 1
>>> im2col(x, g)                                            # rows: windows; columns: taps
array([[0., 1.],
       [1., 2.],
       [2., 3.]])
>>> conv(x, np.array([[[1.]], [[-1.]]]), g)[0, :, 0]        # x[o] - x[o+1]
array([-1., -1., -1.])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .geometry import Geometry

__all__ = ["pad", "window_view", "im2col", "col2im", "conv", "conv_vjp", "lowest",
           "max_pool", "max_pool_vjp", "avg_pool", "avg_pool_vjp", "relu", "relu_vjp"]


def pad(x: np.ndarray, geometry: Geometry, fill: Any = 0) -> np.ndarray:
    """A copy of ``x`` with ``geometry.pads`` of ``fill`` around its spatial dims
    (``x`` itself when there is no padding)."""
    if not geometry.padded:
        return x
    return np.pad(x, [(0, 0), *geometry.pads, (0, 0)], constant_values=fill)


def window_view(xp: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Every window of a padded array: a read-only view ``(N, *out, *window, C)``.

    ``sliding_window_view`` gives every span of ``(window-1)*dilation + 1`` elements
    at every start; a window is every ``dilation``-th element of a span, and the
    windows are the spans at every ``stride``-th start.

    >>> from numconv.geometry import resolve
    >>> xp = np.arange(7).reshape(1, 7, 1)
    >>> window_view(xp, resolve((7,), (2,), (2,), (3,), "VALID"))[0, :, :, 0]
    array([[0, 3],
           [2, 5]])
    """
    n, dims = len(geometry.dims), geometry.dims
    shape = (xp.shape[0], *geometry.out_shape, *geometry.window, xp.shape[-1])
    if 0 in geometry.out_shape:                     # no window fits the input
        return np.empty(shape, xp.dtype)
    spans = sliding_window_view(xp, [d.effective_window for d in dims],
                                axis=tuple(range(1, n + 1)))           # (N, *starts, C, *spans)
    starts = tuple(slice(0, d.out_size * d.stride, d.stride) for d in dims)
    taps = tuple(slice(None, None, d.dilation) for d in dims)
    view = spans[(slice(None), *starts, slice(None), *taps)]     # (N, *out, C, *window)
    return np.moveaxis(view, n + 1, -1)


def _taps(geometry: Geometry) -> tuple[int, ...]:
    """The window axes of a window view."""
    n = len(geometry.dims)
    return tuple(range(n + 1, 2 * n + 1))


def im2col(x: np.ndarray, geometry: Geometry) -> np.ndarray:
    """The patch matrix ``(N * prod(out), prod(window) * C)``: one row per output position.

    Rows in C order of ``(n, *o)``; columns in C order of ``(*t, c)``: the taps in
    window order, each with all its channels (TF's ``extract_patches``).  The reshape
    copies: the patch matrix holds ``prod(window)`` times the input.
    """
    rows = x.shape[0] * math.prod(geometry.out_shape)
    return window_view(pad(x, geometry), geometry).reshape(
        rows, math.prod(geometry.window) * x.shape[-1])


def col2im(cols: np.ndarray, x_shape: tuple[int, ...], geometry: Geometry,
           dtype: Any = None) -> np.ndarray:
    """Add each patch entry back onto the element it was copied from: im2col's adjoint.

    im2col is, for each tap ``t``, ``cols[:, t] = padded[at(t)]`` where ``at(t)``
    selects ``o*stride + t*dilation`` for every output ``o``; col2im runs the same loop
    the other way with ``+=`` (an element read by ``k`` windows gets ``k`` entries),
    then drops the padding.  The sums run in ``dtype`` (default: ``cols``').

    >>> from numconv.geometry import resolve
    >>> col2im(np.ones((3, 2)), (1, 4, 1), resolve((4,), (2,), (1,), (1,), "VALID"))[0, :, 0]
    array([1., 2., 2., 1.])
    """
    n, dims = len(geometry.dims), geometry.dims
    view = cols.reshape(x_shape[0], *geometry.out_shape, *geometry.window, x_shape[-1])
    dxp = np.zeros((x_shape[0], *(d.padded_size for d in dims), x_shape[-1]),
                   cols.dtype if dtype is None else dtype)
    for t in np.ndindex(*geometry.window):
        at = tuple(slice(k * d.dilation, k * d.dilation + d.out_size * d.stride, d.stride)
                   for k, d in zip(t, dims))
        dxp[(slice(None), *at)] += view[(slice(None),) * (n + 1) + t]
    return dxp[(slice(None), *(slice(d.pad_before, d.pad_before + d.in_size) for d in dims))]


def _grouped(x: np.ndarray, w: np.ndarray, geometry: Geometry, groups: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """Patches ``(rows, taps, groups, C/groups)`` and filters ``(taps, C/groups, groups,
    C_out/groups)``: input channel ``g*cin_g + i`` and output channel ``g*cout_g + j``
    belong to group ``g``."""
    taps, (cin_g, cout) = math.prod(geometry.window), w.shape[-2:]
    cols = im2col(x, geometry)
    return (cols.reshape(cols.shape[0], taps, groups, cin_g),
            w.reshape(taps, cin_g, groups, cout // groups))


def conv(x: np.ndarray, w: np.ndarray, geometry: Geometry, groups: int = 1,
         dtype: Any = None) -> np.ndarray:
    """Convolution (cross-correlation): the patch matrix times the filter matrix.

    ``out[n, o, co] = sum over taps t and channels i of
    padded[n, o*stride + t*dilation, g*cin_g + i] * w[t, i, co]`` with group
    ``g = co // cout_g``; zero padding.  ``w`` has shape ``(*window, C/groups, C_out)``
    (TF's HWIO); the result ``(N, *out, C_out)``, computed in ``dtype`` if given.
    """
    if dtype is not None:
        x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
    cols, filters = _grouped(x, w, geometry, groups)
    (rows, taps, _, cin_g), cout_g = cols.shape, filters.shape[3]
    out = np.empty((rows, groups, cout_g), np.result_type(x, w))
    for k in range(groups):       # each group's patches times its filters
        out[:, k] = (cols[:, :, k].reshape(rows, taps * cin_g)
                     @ filters[:, :, k].reshape(taps * cin_g, cout_g))
    return out.reshape(x.shape[0], *geometry.out_shape, w.shape[-1])


def conv_vjp(x: np.ndarray, w: np.ndarray, g: np.ndarray, geometry: Geometry,
             groups: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``(dx, dw)`` of :func:`conv` for the output gradient ``g``: per group,
    ``dx = col2im(g @ W.T)`` and ``dw = patches.T @ g``."""
    cols, filters = _grouped(x, w, geometry, groups)
    (rows, taps, _, cin_g), cout_g = cols.shape, filters.shape[3]
    grad = g.reshape(rows, groups, cout_g)
    dcols = np.empty(cols.shape, np.result_type(g, w))
    dw = np.empty(filters.shape, np.result_type(x, g))
    for k in range(groups):
        patches = cols[:, :, k].reshape(rows, taps * cin_g)
        wk = filters[:, :, k].reshape(taps * cin_g, cout_g)
        dcols[:, :, k] = (grad[:, k] @ wk.T).reshape(rows, taps, cin_g)
        dw[:, :, k] = (patches.T @ grad[:, k]).reshape(taps, cin_g, cout_g)
    return col2im(dcols, x.shape, geometry), dw.reshape(w.shape)


def lowest(dtype: np.dtype) -> Any:
    """The padding of max pooling, which never wins: -inf, or an integer dtype's minimum."""
    if dtype.kind == "f":
        return -np.inf
    return False if dtype.kind == "b" else np.iinfo(dtype).min


def _counted(x_shape: tuple[int, ...], geometry: Geometry, declared_pads: bool = False
             ) -> np.ndarray:
    """Window view ``(1, *out, *window, 1)`` of a mask, True on the taps that read the
    input (with ``declared_pads``, PyTorch's count_include_pad: the padding asked
    for too, never the extra padding that ceil_mode's last window reads)."""
    dims = geometry.dims
    mask = np.zeros((1, *(d.padded_size for d in dims), 1), bool)
    mask[(0, *(slice(0, d.padded_size - d.overhang) if declared_pads
               else slice(d.pad_before, d.pad_before + d.in_size) for d in dims))] = True
    return window_view(mask, geometry)


def max_pool(x: np.ndarray, geometry: Geometry) -> np.ndarray:
    """The maximum of each window; padding is :func:`lowest` and NaN propagates."""
    return window_view(pad(x, geometry, lowest(x.dtype)), geometry).max(axis=_taps(geometry))


def max_pool_vjp(x: np.ndarray, g: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Each window's gradient goes to its first maximum in window order (TF's rule on
    ties; the first NaN if any).  Padding never wins: a window whose maximum ties with
    the padding's value sends it to its first tap on the input."""
    low, taps = lowest(x.dtype), math.prod(geometry.window)
    shape = (x.shape[0], math.prod(geometry.out_shape), taps, x.shape[-1])  # windows flat
    values = window_view(pad(x, geometry, low), geometry).reshape(shape)
    inside = _counted(x.shape, geometry).reshape(1, *shape[1:3], 1)
    first = np.where(values.max(axis=2) == low, inside.argmax(axis=2), values.argmax(axis=2))
    dcols = np.zeros(shape, g.dtype)
    np.put_along_axis(dcols, first[:, :, None], g.reshape(*shape[:2], 1, shape[3]), axis=2)
    return col2im(dcols, x.shape, geometry)


def _divisor(x_shape: tuple[int, ...], geometry: Geometry, count_include_pad: bool,
             divisor_override: int | None) -> Any:
    """What each window's sum is divided by: the number of taps on the input (TF)."""
    if divisor_override:
        return divisor_override
    return _counted(x_shape, geometry, count_include_pad).sum(axis=_taps(geometry))


def avg_pool(x: np.ndarray, geometry: Geometry, count_include_pad: bool = False,
             divisor_override: int | None = None) -> np.ndarray:
    """The sum of each window over the number of its taps on the input (padding is 0
    and never counted); PyTorch's ``count_include_pad`` and ``divisor_override``.
    A window of padding only gives 0/0 = NaN."""
    total = window_view(pad(x, geometry, 0), geometry).sum(axis=_taps(geometry))
    with np.errstate(invalid="ignore"):
        return total / _divisor(x.shape, geometry, count_include_pad, divisor_override)


def avg_pool_vjp(x_shape: tuple[int, ...], g: np.ndarray, geometry: Geometry,
                 count_include_pad: bool = False,
                 divisor_override: int | None = None) -> np.ndarray:
    """Each window's gradient, divided like its sum, goes to every tap of the window."""
    n = len(geometry.dims)
    with np.errstate(divide="ignore", invalid="ignore"):   # x/0: lands on padding only
        share = g / _divisor(x_shape, geometry, count_include_pad, divisor_override)
        dcols = np.broadcast_to(share[(Ellipsis, *(None,) * n, slice(None))],
                                (*g.shape[:-1], *geometry.window, g.shape[-1]))
        return col2im(dcols, x_shape, geometry)


def relu(x: np.ndarray) -> np.ndarray:
    """``max(x, 0)``; NaN propagates."""
    return np.maximum(x, 0)


def relu_vjp(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``g`` where ``x > 0``, else 0 (0 at ``x = 0``, as TF and PyTorch)."""
    return np.where(x > 0, g, 0)
