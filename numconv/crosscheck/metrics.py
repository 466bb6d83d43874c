"""Error measures: absolute and relative error, ULP distance, error-bound ratio.

All functions take plain NumPy arrays and never import a framework.  The reference
("truth") is numconv's result in float64; a result is measured in units in the last
place (ULP) of its own dtype, against the truth rounded to that dtype.
:func:`conv_error` measures any convolution result (numconv's algorithms, TF's,
PyTorch's) against the scale of the per-element and normwise error bounds of
:mod:`numconv.algorithms`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .. import _args
from ..conv import convolution

__all__ = ["ulp_distance", "ErrorStats", "error_stats", "ConvError", "conv_error"]

_UINT = {2: np.uint16, 4: np.uint32, 8: np.uint64}


def _ordered(a: np.ndarray) -> np.ndarray:
    """Map floats to unsigned ints, consecutive for consecutive floats (-0 and +0 alike)."""
    u = np.ascontiguousarray(a).view(_UINT[a.dtype.itemsize]).reshape(a.shape)  # keeps 0-d
    sign = u.dtype.type(1) << u.dtype.type(8 * a.dtype.itemsize - 1)
    magnitude = u & ~sign
    return np.where(u & sign, sign - magnitude, sign + magnitude)


def ulp_distance(a: Any, b: Any) -> np.ndarray:
    """Number of representable floats between ``a`` and ``b`` (same float dtype), as float64.

    0 where equal (and where both are NaN), ``inf`` where exactly one is NaN.  Neighbours
    are 1 apart, across zero too: -0 and +0 count as one number, so the smallest
    negative and positive subnormals are 2 apart (-tiny, 0, +tiny).  ``a`` and ``b``
    must have one shape and one dtype (float16, float32 or float64; TypeError
    otherwise, ValueError for different shapes); the result has their shape, 0-d
    included.

    Examples
    --------
    >>> x = np.float32(1.0)
    >>> ulp_distance(x, np.nextafter(x, np.float32(2))).item()
    1.0
    >>> ulp_distance(np.float32([-0.0, 1.0, np.nan]), np.float32([0.0, np.nan, np.nan]))
    array([ 0., inf,  0.])
    """
    fn = "ulp_distance"
    a = _args.float_array(fn, "a", a)
    b = _args.float_array(fn, "b", b)
    if a.dtype != b.dtype:
        _args.type_fail(fn, "b", f"must have the dtype of a ({a.dtype})", None,
                        shown=f"dtype {b.dtype}")
    _args.same_shape(fn, "b", b, "a", a)
    na, nb = np.isnan(a), np.isnan(b)
    fa = np.where(na, 0, a).astype(a.dtype)
    fb = np.where(nb, 0, b).astype(b.dtype)
    ka, kb = _ordered(fa), _ordered(fb)
    dist = np.where(ka >= kb, ka - kb, kb - ka).astype(np.float64)
    dist[na != nb] = np.inf
    dist[na & nb] = 0.0
    return dist


@dataclass
class ErrorStats:
    """How far one result is from the float64 truth.

    Attributes
    ----------
    max_abs : float
        ``max |result - truth|`` over elements where neither is NaN (0 if none).
    max_rel : float
        ``max_abs / max |truth|`` (the infinity-norm relative error; 0 if truth is 0).
    worst_index : tuple of int or None
        Index (in the result's layout) of the largest absolute error.
    ulp_max, ulp_mean, ulp_median, ulp_p99 : float
        ULP distance statistics in the result's dtype (NaN mismatches left out).
    exact_fraction : float
        Share of elements at 0 ULP.
    nan_mismatches : int
        Elements where exactly one of result and truth is NaN.
    bound_ratio : float or None
        ``max |error| / bound`` over elements with a positive bound (the stated
        tolerance); for exact ops (bound 0) 0.0 when every element matches and inf
        otherwise.  None when no bound was given.
    size : int
        Number of elements compared.
    """

    max_abs: float
    max_rel: float
    worst_index: tuple[int, ...] | None
    ulp_max: float
    ulp_mean: float
    ulp_median: float
    ulp_p99: float
    exact_fraction: float
    nan_mismatches: int
    bound_ratio: float | None
    size: int

    @property
    def within_bound(self) -> bool | None:
        """Whether the error stays within the stated tolerance (no NaN mismatch)."""
        if self.bound_ratio is None:
            return None
        return self.bound_ratio <= 1.0 and self.nan_mismatches == 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["worst_index"] = None if self.worst_index is None else list(self.worst_index)
        d["within_bound"] = self.within_bound
        return d


def error_stats(result: Any, truth: Any, bound: Any = None) -> ErrorStats:
    """Compare ``result`` (any float dtype) with the float64 ``truth`` of the same shape.

    Parameters
    ----------
    result : array_like
        A framework's (or numconv's) output.
    truth : array_like
        The float64 reference, same shape.
    bound : float or array_like, optional
        Tolerance per element, >= 0 (broadcast to the shape; NaN, the bound of a NaN
        input, counts as 0: exact); see :class:`ErrorStats`.

    Raises
    ------
    ValueError
        If the shapes differ, or ``bound`` is negative or does not broadcast.
    TypeError
        For arrays that are not real numbers (complex, object, strings).

    Examples
    --------
    >>> truth = np.array([1.0, 2.0, 4.0])
    >>> s = error_stats(np.float32([1.0, 2.0, 4.0000005]), truth, bound=1e-6)
    >>> s.max_abs, s.worst_index, s.ulp_max, round(s.exact_fraction, 3)
    (4.76837158203125e-07, (2,), 1.0, 0.667)
    """
    fn = "error_stats"
    r = _args.array(fn, "result", result)
    t = _args.array(fn, "truth", truth).astype(np.float64)
    _args.same_shape(fn, "result", r, "truth", t)
    bnd = None if bound is None else _args.tolerance(fn, "bound", bound, r.shape)
    rdt = r.dtype if r.dtype.name in ("float16", "float32") else np.dtype(np.float64)
    r64 = r.astype(np.float64)
    nan_r, nan_t = np.isnan(r64), np.isnan(t)
    both_inf_equal = np.isinf(r64) & (r64 == t)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.where(nan_r | nan_t | both_inf_equal, 0.0, np.abs(r64 - np.where(nan_t, 0, t)))
    diff = np.where(np.isnan(diff), np.inf, diff)
    size = int(r.size)
    if size == 0:
        return ErrorStats(0.0, 0.0, None, 0.0, 0.0, 0.0, 0.0, 1.0, 0, None if bnd is None
                          else 0.0, 0)
    flat = int(np.argmax(diff))
    max_abs = float(diff.flat[flat])
    finite_t = np.abs(t[np.isfinite(t)])
    scale = float(finite_t.max()) if finite_t.size else 0.0
    max_rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else float("inf"))
    with np.errstate(over="ignore", invalid="ignore"):
        ulp = ulp_distance(r.astype(rdt), t.astype(rdt))
    matched = ulp[np.isfinite(ulp)]
    if not matched.size:
        matched = np.zeros(1)
    ratio = None
    if bnd is not None:
        pos = bnd > 0
        over = diff[pos] / bnd[pos]
        exact_bad = bool(np.any(diff[~pos] > 0))
        ratio = float("inf") if exact_bad else (float(over.max()) if over.size else 0.0)
    return ErrorStats(
        max_abs=max_abs, max_rel=max_rel,
        worst_index=tuple(int(i) for i in np.unravel_index(flat, r.shape)),
        ulp_max=float(matched.max()), ulp_mean=float(matched.mean()),
        ulp_median=float(np.median(matched)), ulp_p99=float(np.percentile(matched, 99)),
        exact_fraction=float(np.mean(ulp == 0)), nan_mismatches=int(np.sum(nan_r != nan_t)),
        bound_ratio=ratio, size=size)


@dataclass(frozen=True)
class ConvError:
    """How far a convolution result is from the truth, on the scale of its error bounds.

    Attributes
    ----------
    per_element : float
        ``max |got - truth| / (|x| conv |w| + |b|)`` over the outputs (an exact output
        counts 0, NaN and inf included; an inexact one whose magnitude sum is 0, or a
        NaN where the truth is not, counts inf).  A direct sum of ``K``
        products keeps it under ``gamma_K``, about ``K u``.
    normwise : float
        ``max |got - truth| / (max|x| * max_co sum|w[..., co]| + max|b|)``: the error
        relative to the infinity-norm bound of the output (the denominator bounds every
        ``(|x| conv |w| + |b|)``, so ``normwise <= per_element``).
    unit_roundoff : float
        ``u`` of the result's dtype: ``per_element / unit_roundoff`` is the constant
        ``c`` of ``|got - truth| <= c u (|x| conv |w|)``.
    """

    per_element: float
    normwise: float
    unit_roundoff: float


def conv_error(result: Any, input: Any, filters: Any, strides: Any = None,
               padding: Any = "VALID", data_format: str | None = None, dilations: Any = None,
               *, bias: Any = None) -> ConvError:
    """Measure a convolution's ``result`` against the exact convolution of its inputs.

    The truth and the magnitudes ``|x| conv |w|`` are :func:`numconv.convolution`
    (``algorithm="im2col"``, a direct sum) in float64, or in ``np.longdouble`` for a
    float64 ``result``: their own rounding is far below the result's.

    Parameters
    ----------
    result : array_like
        The output to measure (float16, float32 or float64), of the convolution's shape.
    input, filters, strides, padding, data_format, dilations, bias
        As for :func:`numconv.convolution` (grouped filters ``(*window, C/groups,
        C_out)``; depthwise filters ``(kh, kw, C, M)`` as ``filter.reshape(kh, kw, 1,
        -1)``).

    Returns
    -------
    ConvError

    Raises
    ------
    TypeError, ValueError
        For a ``result`` that is not a float array of the convolution's shape, or
        arguments :func:`numconv.convolution` refuses (its message in parentheses).

    Examples
    --------
    >>> x = np.float32([[[1e8], [1.0], [-1e8]]])      # (1, 3, 1): one output, truth 1
    >>> w = np.float32([[[1.0]], [[1.0]], [[1.0]]])
    >>> e = conv_error(np.float32([[[0.0]]]), x, w)   # the 1 was lost
    >>> e.per_element == 1 / (2e8 + 1), e.normwise == 1 / (1e8 * 3)   # |1| / (|x| conv |w|)
    (True, True)
    """
    fn = "conv_error"
    r = _args.float_array(fn, "result", result)
    x, w = _args.array(fn, "input", input), _args.array(fn, "filters", filters)
    b = None if bias is None else _args.array(fn, "bias", bias)
    exact = np.dtype(np.longdouble if r.dtype == np.float64 else np.float64)

    def conv(xv: np.ndarray, wv: np.ndarray, bv: np.ndarray | None) -> np.ndarray:
        return convolution(xv.astype(exact), wv.astype(exact), strides, padding, data_format,
                           dilations, bias=None if bv is None else bv.astype(exact),
                           algorithm="im2col")

    try:
        truth = conv(x, w, b)
    except (TypeError, ValueError) as exc:
        _args.relabel(fn, "input, filters, strides, padding, data_format, dilations and bias",
                      "must describe a convolution", exc)
    magnitude = conv(np.abs(x), np.abs(w), None if b is None else np.abs(b))
    _args.same_shape(fn, "result", r, "the convolution's output", truth)
    got = r.astype(exact)
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = np.abs(got - truth)                    # equal infinities and NaNs: 0
        diff = np.where((got == truth) | (np.isnan(got) & np.isnan(truth)), 0, diff)
        ratio = np.where(diff == 0, 0, diff / magnitude)
    diff, ratio = (np.where(np.isnan(a), np.inf, a) for a in (diff, ratio))
    per_element = float(ratio.max(initial=0))
    scale = (np.abs(x).max(initial=0) * np.abs(w).reshape(-1, w.shape[-1]).sum(0).max(initial=0)
             + (0 if b is None else np.abs(b).max(initial=0)))
    worst = float(diff.max(initial=0))
    normwise = worst / float(scale) if scale > 0 else (0.0 if worst == 0 else float("inf"))
    return ConvError(per_element, normwise, float(np.finfo(r.dtype).eps) / 2)
