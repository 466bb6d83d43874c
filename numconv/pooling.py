"""Max and average pooling over windows, N-d (the global pools are
:mod:`numconv.global_pooling`).

Windows come from the geometry engine (SAME / VALID / explicit, strides, dilations,
PyTorch's ``ceil_mode``); the reduction is a loop over the window taps, each a
whole-array ``np.maximum`` / ``np.add`` with ``out=`` (no loop over pixels).

Padding is never counted (TF, Keras): max pooling behaves as if padded with -inf
(the dtype's minimum for integers) and average pooling divides by the number of
real input elements in each window.  PyTorch's conventions are options:
``count_include_pad`` (divide by the window's taps inside the input plus its
declared padding), ``ceil_mode`` and ``divisor_override``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import budget, reference, spec, spellings
from ._docstrings import docfiller
from .geometry import Geometry, resolve
from .kernels.pool import pool_plan, reduce_windows
from .layout import Layout
from .reference import lowest
from .windows import applied

__all__ = ["pool", "max_pool", "avg_pool", "max_pool1d", "max_pool2d", "max_pool3d",
           "avg_pool1d", "avg_pool2d", "avg_pool3d"]


def avg_divisor(geometry: Geometry, count_include_pad: bool = False) -> np.ndarray:
    """Number of window taps counted by average pooling, shape ``out_spatial``.

    Taps on the input count; with ``count_include_pad`` taps on the declared padding
    count too (never the ``ceil_mode`` overhang, as PyTorch).

    >>> g = resolve((5,), (3,), (2,), (1,), "SAME")     # pads (1, 1)
    >>> avg_divisor(g), avg_divisor(g, count_include_pad=True)
    (array([2., 3., 2.]), array([3., 3., 3.]))
    """
    divisor = np.ones((), dtype=np.float64)
    for axis, d in enumerate(geometry.dims):
        # taps t in [0, window) with lo <= start + t * dilation < hi, counted in closed
        # form (no (out, window) table); a stride or dilation that is never applied (one
        # window, one tap) may not fit in int64, so it is replaced by 1
        step = d.stride if d.out_size > 1 else 1
        dil = d.dilation if d.window > 1 and d.out_size else 1
        start = np.arange(d.out_size, dtype=np.int64) * step - d.pad_before
        lo, hi = (-d.pad_before, d.in_size + d.declared_pad_after) if count_include_pad \
            else (0, d.in_size)
        first = np.maximum(-((start - lo) // dil), 0)
        last = np.minimum((hi - 1 - start) // dil, min(d.window - 1, d.padded_size))
        count = np.maximum(last - first + 1, 0).astype(np.float64)
        divisor = divisor[..., None] * count if axis else count
    return divisor


def _reduce(x: np.ndarray, layout: Layout, geometry: Geometry, kind: str,
            count_include_pad: bool, divisor_override: int | None,
            algorithm: str = "auto") -> np.ndarray:
    # "auto": blocked tap-wise ufuncs with clipped taps, no padded copy
    # (numconv.kernels.pool); "reference": the textbook's reductions of the window view
    xc = layout.to_canonical(x)
    if kind == "MAX":
        return layout.from_canonical(
            reference.max_pool(xc, geometry) if algorithm == "reference"
            else reduce_windows(xc, geometry, "MAX", x.dtype, lowest(x.dtype)))
    acc, result = spellings.mean_dtypes(x.dtype)
    if algorithm == "reference":
        out = reference.avg_pool(xc.astype(acc, copy=False), geometry, count_include_pad,
                                 divisor_override)
    else:
        if divisor_override is not None:
            divisor = np.asarray(divisor_override, dtype=acc)
        else:  # 0/0 -> NaN: a window of padding only
            divisor = avg_divisor(geometry, count_include_pad).astype(acc)
        out = reduce_windows(xc, geometry, "SUM", acc, 0, divisor)
    return layout.from_canonical(out.astype(result, copy=False))


def _reference_bytes(x: np.ndarray, channels: int, geometry: Geometry, kind: str,
                     acc: np.dtype) -> int:
    """Scratch of the reference's average pool besides its padded copy: the input in
    ``acc``, the sums and their quotient, and the count of each window (max: none)."""
    if kind == "MAX":
        return 0
    positions = x.shape[0] * math.prod(geometry.out_shape)
    cast = x.size * acc.itemsize if x.dtype != acc else 0
    mask = math.prod(d.padded_size for d in geometry.dims)
    return cast + positions * channels * (acc.itemsize + 8) + positions * 8 + mask


def _pool(fn: str, input: Any, window: Any, pooling_type: str, strides: Any, padding: Any,
          data_format: Any, dilations: Any, count_include_pad: Any = False,
          ceil_mode: Any = False, divisor_override: Any = None, n: int | None = None,
          window_arg: str = "ksize", nan_policy: Any = "propagate",
          algorithm: Any = "auto") -> np.ndarray:
    """spec -> budget -> kernel -> the caller's layout."""
    x = spellings.array(fn, "input", input)
    s = spec.pool_spec(fn, x, window, pooling_type, strides, padding, data_format, dilations,
                       count_include_pad, ceil_mode, divisor_override, n, window_arg,
                       nan_policy, algorithm=algorithm)
    layout, kind, geometry = s.layout, s.kind, s.geometry
    channels = x.shape[layout.channel_axis]
    acc, result = (x.dtype, x.dtype) if kind == "MAX" else spellings.mean_dtypes(x.dtype)
    geometry = applied(geometry)  # strides/dilations never applied made C-sized
    args = f"input, {window_arg}, strides, padding and dilations"
    if s.algorithm == "reference":   # no blocks: a padded copy of the whole input
        budget.window(fn, args, x.shape[0], channels, geometry, acc.itemsize, channels,
                      max(result.itemsize, 4), padded_copy=True,
                      workspace=_reference_bytes(x, channels, geometry, kind, acc))
    else:            # the kernel's own plan (reduce_windows makes the same)
        xc = layout.to_canonical(x)
        divisor = None if kind == "MAX" else 0 if s.divisor_override is not None else 1
        budget.window(fn, args, x.shape[0], channels, geometry, x.dtype.itemsize, channels,
                      max(result.itemsize, 4),
                      workspace=pool_plan(xc.shape, x.dtype, xc.strides[-1], geometry,
                                          acc, divisor).workspace())
    if x.shape[0] == 0 or channels == 0 or 0 in geometry.out_shape:  # empty: no tap loop
        return np.zeros(layout.full_index(geometry.out_shape, x.shape[0], channels), result)
    if s.nan_policy == "ignore" and x.dtype.kind == "f":
        return _max_ignore_nan(x, layout, geometry)
    return _reduce(x, layout, geometry, kind, s.count_include_pad, s.divisor_override,
                   s.algorithm)


def _max_ignore_nan(x: np.ndarray, layout: Layout, geometry: Geometry) -> np.ndarray:
    """TF's CPU max pool: ``max(lowest finite, non-NaN taps)``; padding never wins."""
    # np.fmax over the taps inside the input (NaN for a window of padding only), then
    # with the lowest finite value: exact, so the same whatever the blocks
    out = reduce_windows(layout.to_canonical(x), geometry, "FMAX", x.dtype, np.nan)
    np.fmax(out, np.finfo(x.dtype).min, out=out)
    return layout.from_canonical(out)


def pool(input: Any, window_shape: Any, pooling_type: str, strides: Any = None,
         padding: Any = "VALID", data_format: str | None = None, dilations: Any = None, *,
         count_include_pad: bool = False, ceil_mode: bool = False,
         divisor_override: int | None = None, nan_policy: str = "propagate",
         algorithm: str = "auto") -> np.ndarray:
    """N-d max or average pooling, TF's ``tf.nn.pool``.

    ``out[n, o..., c] = REDUCE_t padded[n, o*strides + t*dilations ..., c]`` over the
    window taps ``t``, with the pads of :func:`numconv.explain`.

    Parameters
    ----------
    input : array_like, shape ``(N, *spatial, C)`` or ``(N, C, *spatial)``
        1 to 3 spatial dims.
    window_shape : int or sequence of int
        Window per spatial dim (its length sets the number of spatial dims).
    pooling_type : {"MAX", "AVG"}
    strides, dilations : int or sequence of int, optional
        Also TF's ``N + 2`` form.  ``None`` is 1 (``tf.nn.pool``'s default), here and in
        every numconv function, the pool gradients included; Keras's pooling layers,
        whose ``strides=None`` is the pool size, are :mod:`numconv.layers`.  Unlike TF, dilation combines with SAME padding and with strides
        (defined by the formula above).
    padding : "SAME", "VALID", "SAME_LOWER", "SAME_UPPER", int or (before, after) pairs
        Any case.  ONNX's SAME_UPPER is TF's SAME; SAME_LOWER puts the odd padding pixel
        before (ONNX's ``auto_pad``).
    data_format : str, optional
        Channels-last by default.
    count_include_pad : bool
        PyTorch's option: average over the window's taps on the input and on the
        declared padding (default False: padding never counts, as TF).
    ceil_mode : bool
        PyTorch's ceil rounding of the output size (VALID or explicit padding).
    divisor_override : int, optional
        PyTorch's option: divide every window's sum by this number.
    nan_policy : {"propagate", "ignore"}
        Max pooling only.  "propagate" (default; NumPy, PyTorch): a window holding NaN
        gives NaN.  "ignore" (TF's CPU kernels): NaN is skipped and the result is
        ``max(lowest finite value, non-NaN taps)``, so a window of only NaN, -inf or
        padding gives ``np.finfo(dtype).min`` (see docs/nonfinite.md).
    algorithm : {"auto", "reference"}
        "auto" (default): the blocked kernels.  "reference": the textbook's reductions
        of the padded window view (:func:`numconv.reference.max_pool` /
        :func:`~numconv.reference.avg_pool`), same results (sums up to rounding),
        one padded copy of the input, no blocks; it propagates NaN.

    Returns
    -------
    ndarray
        Max pooling keeps the dtype.  Average pooling returns float16 for float16
        (accumulated in float32), the input dtype for float32/float64, and float64 for
        integers.

    Raises
    ------
    TypeError
        For an input that is not a real numeric array, or an argument of the wrong type.
    ValueError
        For an input whose rank does not match ``window_shape``'s length plus 2 (for
        a single image the message suggests ``image[None]``), a non-positive window,
        stride or dilation, an unknown ``pooling_type``, ``ceil_mode`` with SAME, or
        a result over numconv's memory limit.  (PyTorch's average options are
        ignored by MAX.)

    Notes
    -----
    NaN: max pooling propagates NaN (NumPy, PyTorch); TF's CPU max pool skips NaN and
    returns the lowest float for an all-NaN window (``nan_policy="ignore"``).  A window
    that covers only padding (possible with dilation or large explicit pads) gives -inf
    (the integer minimum) for max and NaN (0/0) for average.

    Examples
    --------
    >>> x = np.array([1., 5., 2., 4., 3.]).reshape(1, 5, 1)
    >>> pool(x, [2], "MAX", strides=[2], padding="SAME")[0, :, 0]
    array([5., 4., 3.])
    >>> pool(x, [2], "AVG", strides=[2], padding="SAME")[0, :, 0]   # last window: 3/1
    array([3., 3., 3.])
    """
    n = spellings.window_rank(window_shape)
    return _pool("pool", input, window_shape, pooling_type, strides, padding, data_format,
                 dilations, count_include_pad, ceil_mode, divisor_override, n, "window_shape",
                 nan_policy, algorithm)


@docfiller
def max_pool(input: Any, ksize: Any, strides: Any, padding: Any,
             data_format: str | None = None, *, dilations: Any = None,
             ceil_mode: bool = False, nan_policy: str = "propagate",
             algorithm: str = "auto") -> np.ndarray:
    """N-d max pooling, TF's ``tf.nn.max_pool``: 1 to 3 spatial dims from the input's rank.

    The rank-named :func:`max_pool1d`, :func:`max_pool2d`, :func:`max_pool3d` fix the
    number of spatial dims.

    %(max_pool)s

    Examples
    --------
    >>> max_pool(np.arange(8.0).reshape(1, 8, 1), 3, 2, "VALID")[0, :, 0]   # windows 0-2, 2-4, 4-6
    array([2., 4., 6.])
    """
    return _pool("max_pool", input, ksize, "MAX", strides, padding, data_format, dilations,
                 ceil_mode=ceil_mode, nan_policy=nan_policy, algorithm=algorithm)


@docfiller
def avg_pool(input: Any, ksize: Any, strides: Any, padding: Any,
             data_format: str | None = None, *, dilations: Any = None,
             count_include_pad: bool = False, ceil_mode: bool = False,
             divisor_override: int | None = None, algorithm: str = "auto") -> np.ndarray:
    """N-d average pooling, TF's ``tf.nn.avg_pool``: 1 to 3 spatial dims from the input's rank.

    The rank-named :func:`avg_pool1d`, :func:`avg_pool2d`, :func:`avg_pool3d` fix the
    number of spatial dims.

    %(avg_pool)s

    Examples
    --------
    >>> avg_pool(np.arange(4.0).reshape(1, 4, 1), 2, 2, "VALID")[0, :, 0]
    array([0.5, 2.5])
    >>> avg_pool(np.arange(3.0).reshape(1, 3, 1), 2, 2, "SAME")[0, :, 0]   # [0 1] [2 pad]
    array([0.5, 2. ])
    """
    return _pool("avg_pool", input, ksize, "AVG", strides, padding, data_format, dilations,
                 count_include_pad, ceil_mode, divisor_override, algorithm=algorithm)


@docfiller
def max_pool1d(input: Any, ksize: Any, strides: Any, padding: Any, data_format: str = "NWC",
               *, dilations: Any = None, ceil_mode: bool = False,
               nan_policy: str = "propagate", algorithm: str = "auto") -> np.ndarray:
    """1-D max pooling, TF's ``tf.nn.max_pool1d``.

    %(max_pool1d)s

    Examples
    --------
    >>> x = np.array([1., 5., 2., 4., 3.]).reshape(1, 5, 1)     # (N, W, C)
    >>> max_pool1d(x, 2, 2, "SAME")[0, :, 0]           # windows [1 5] [2 4] [3 pad]
    array([5., 4., 3.])
    """
    return _pool("max_pool1d", input, ksize, "MAX", strides, padding, data_format, dilations,
                 ceil_mode=ceil_mode, n=1, nan_policy=nan_policy, algorithm=algorithm)


@docfiller
def max_pool2d(input: Any, ksize: Any, strides: Any, padding: Any, data_format: str = "NHWC",
               *, dilations: Any = None, ceil_mode: bool = False,
               nan_policy: str = "propagate", algorithm: str = "auto") -> np.ndarray:
    """2-D max pooling, TF's ``tf.nn.max_pool2d``.

    %(max_pool2d)s

    Examples
    --------
    >>> x = np.arange(16.0).reshape(1, 4, 4, 1)                 # (N, H, W, C)
    >>> max_pool2d(x, 2, 2, "VALID")[0, :, :, 0]       # the max of each 2x2 block
    array([[ 5.,  7.],
           [13., 15.]])
    >>> max_pool2d(x, 3, 2, "SAME").shape              # ceil(4 / 2) = 2, pads (0, 1)
    (1, 2, 2, 1)
    """
    return _pool("max_pool2d", input, ksize, "MAX", strides, padding, data_format, dilations,
                 ceil_mode=ceil_mode, n=2, nan_policy=nan_policy, algorithm=algorithm)


@docfiller
def max_pool3d(input: Any, ksize: Any, strides: Any, padding: Any, data_format: str = "NDHWC",
               *, dilations: Any = None, ceil_mode: bool = False,
               nan_policy: str = "propagate", algorithm: str = "auto") -> np.ndarray:
    """3-D max pooling, TF's ``tf.nn.max_pool3d``.

    %(max_pool3d)s

    Examples
    --------
    >>> x = np.arange(8.0).reshape(1, 2, 2, 2, 1)               # (N, D, H, W, C)
    >>> max_pool3d(x, 2, 2, "VALID").ravel()
    array([7.])
    """
    return _pool("max_pool3d", input, ksize, "MAX", strides, padding, data_format, dilations,
                 ceil_mode=ceil_mode, n=3, nan_policy=nan_policy, algorithm=algorithm)


@docfiller
def avg_pool1d(input: Any, ksize: Any, strides: Any, padding: Any, data_format: str = "NWC",
               *, dilations: Any = None, count_include_pad: bool = False,
               ceil_mode: bool = False, divisor_override: int | None = None,
               algorithm: str = "auto") -> np.ndarray:
    """1-D average pooling, TF's ``tf.nn.avg_pool1d``.

    %(avg_pool1d)s

    Examples
    --------
    >>> x = np.array([1., 5., 2., 4., 3.]).reshape(1, 5, 1)     # (N, W, C)
    >>> avg_pool1d(x, 2, 2, "SAME")[0, :, 0]           # last window: 3 / 1, padding not counted
    array([3., 3., 3.])
    >>> avg_pool1d(x, 2, 2, [(0, 1)], count_include_pad=True)[0, :, 0]   # PyTorch's 3 / 2
    array([3. , 3. , 1.5])
    """
    return _pool("avg_pool1d", input, ksize, "AVG", strides, padding, data_format, dilations,
                 count_include_pad, ceil_mode, divisor_override, n=1, algorithm=algorithm)


@docfiller
def avg_pool2d(input: Any, ksize: Any, strides: Any, padding: Any, data_format: str = "NHWC",
               *, dilations: Any = None, count_include_pad: bool = False,
               ceil_mode: bool = False, divisor_override: int | None = None,
               algorithm: str = "auto") -> np.ndarray:
    """2-D average pooling, TF's ``tf.nn.avg_pool2d``.

    %(avg_pool2d)s

    Examples
    --------
    >>> x = np.arange(16.0).reshape(1, 4, 4, 1)                 # (N, H, W, C)
    >>> avg_pool2d(x, 2, 2, "VALID")[0, :, :, 0]       # the mean of each 2x2 block
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    return _pool("avg_pool2d", input, ksize, "AVG", strides, padding, data_format, dilations,
                 count_include_pad, ceil_mode, divisor_override, n=2, algorithm=algorithm)


@docfiller
def avg_pool3d(input: Any, ksize: Any, strides: Any, padding: Any, data_format: str = "NDHWC",
               *, dilations: Any = None, count_include_pad: bool = False,
               ceil_mode: bool = False, divisor_override: int | None = None,
               algorithm: str = "auto") -> np.ndarray:
    """3-D average pooling, TF's ``tf.nn.avg_pool3d``.

    %(avg_pool3d)s

    Examples
    --------
    >>> x = np.arange(8.0).reshape(1, 2, 2, 2, 1)               # (N, D, H, W, C)
    >>> avg_pool3d(x, 2, 2, "VALID").ravel()           # (0 + 1 + ... + 7) / 8
    array([3.5])
    """
    return _pool("avg_pool3d", input, ksize, "AVG", strides, padding, data_format, dilations,
                 count_include_pad, ceil_mode, divisor_override, n=3, algorithm=algorithm)
