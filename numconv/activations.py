"""The ReLU family ("detect"): relu with Keras's options, relu6, leaky_relu.

All are elementwise and keep the input's shape.  Floats keep their dtype; integer
inputs keep theirs unless a non-zero slope makes the result fractional (then
float64).  NaN propagates (NaN in, NaN out), as in TensorFlow and PyTorch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _args
from ._docstrings import docfiller

__all__ = ["relu", "relu6", "leaky_relu", "relu_grad", "relu6_grad", "leaky_relu_grad"]


def _float_if_sloped(x: np.ndarray, slope: float) -> np.ndarray:
    if slope != 0 and x.dtype.kind != "f":
        return x.astype(np.float64)
    return x


def _in_dtype(x: np.ndarray, value: float) -> Any:
    """``threshold`` as Keras uses it: cast to a float input's dtype (silently +-inf beyond
    its range); exact (a Python float) for integer inputs, which compare without casting."""
    if x.dtype.kind != "f":
        return value
    with np.errstate(over="ignore"):
        return np.asarray(value, np.float64).astype(x.dtype)[()]


def _saturate(out: np.ndarray, top: float) -> tuple[np.ndarray, np.ndarray]:
    """Cap ``out`` at ``max_value`` as Keras casts it to the dtype: a float dtype rounds it
    (above the dtype's largest float it is inf, capping nothing finite); integers compare
    exactly and take ``floor(max_value)`` (bools: ``bool(max_value)``).  Returns the capped
    array and the mask of saturated elements."""
    if out.dtype.kind == "f":
        cap = _in_dtype(out, top)
        saturated = out >= cap
    else:
        saturated = out >= top              # exact: no cast, no overflow
        cap = out.dtype.type(bool(top) if out.dtype.kind == "b" else
                             min(math.floor(top), int(np.iinfo(out.dtype).max)))
    return np.where(saturated, cap, out), saturated


def _keras_relu(x: np.ndarray, top: float | None, slope: float,
                thr: float) -> tuple[np.ndarray, np.ndarray | None]:
    """relu with Keras's options on a validated ``x`` (floats if sloped): the output and,
    with ``max_value``, the mask of saturated elements."""
    t = _in_dtype(x, thr)
    with np.errstate(over="ignore", invalid="ignore"):  # inf/overflow as TF, no warning
        if slope == 0:
            out = np.where(x <= t, x.dtype.type(0), x)  # NaN stays NaN
        else:
            out = np.where(x > t, x, (x - t) * slope).astype(x.dtype, copy=False)
    return (out, None) if top is None else _saturate(out, top)


def relu(features: Any, *, max_value: float | None = None, negative_slope: float = 0.0,
         threshold: float = 0.0) -> np.ndarray:
    """Rectified linear unit, ``tf.nn.relu`` and Keras's ``ReLU`` layer.

    With the defaults, ``max(x, 0)``.  With Keras's options::

        f(x) = max_value                         if x >= max_value
        f(x) = x                                 if threshold < x < max_value
        f(x) = negative_slope * (x - threshold)  if x <= threshold

    Parameters
    ----------
    features : array_like
    max_value : float, optional
        Upper saturation (None: no limit).
    negative_slope : float
        Slope below the threshold.
    threshold : float
        Values at or below it are "off".

    Returns
    -------
    ndarray
        Same shape.  Floats keep their dtype; integers keep theirs unless
        ``negative_slope`` makes the result fractional (then float64).

    Raises
    ------
    TypeError
        If ``features`` is not a real numeric array or an option not a real number.
    ValueError
        For an option that is not finite, or a negative ``max_value`` (Keras's rule).

    Notes
    -----
    Keras 3 also clips the region ``threshold < x < 0`` to 0 when ``max_value`` is set
    and ``threshold`` is negative; numconv follows the formula above instead.  NaN stays
    NaN; Keras's ReLU with a non-zero threshold (and no slope) returns 0 for NaN.

    As Keras (``ops.cast(max_value, x.dtype)``), ``max_value`` and ``threshold`` are
    rounded to a float input's dtype first; beyond its range they become inf, silently:
    ``max_value=65520`` on float16 (largest finite 65504) caps no finite value and +inf
    stays +inf, as ``keras.activations.relu`` does.  Integer inputs compare with the
    exact ``threshold`` and cap at ``floor(max_value)`` (keeping their dtype; a cap above
    the dtype's range caps nothing).

    Examples
    --------
    >>> relu([-2.0, 0.0, 3.0])
    array([0., 0., 3.])
    >>> relu([-2.0, 1.0, 3.0, 9.0], max_value=6, negative_slope=0.5, threshold=2)
    array([-2. , -0.5,  3. ,  6. ])
    """
    fn = "relu"
    x = _args.array(fn, "features", features)
    top, slope, thr = _args.relu_options(fn, max_value, negative_slope, threshold)
    if top is None and slope == 0 and thr == 0:
        return np.maximum(x, x.dtype.type(0))
    return _keras_relu(_float_if_sloped(x, slope), top, slope, thr)[0]


def relu6(features: Any) -> np.ndarray:
    """ReLU capped at 6, ``min(max(x, 0), 6)``: ``tf.nn.relu6``.

    Parameters
    ----------
    features : array_like
        Any shape; bool, integer or float.

    Returns
    -------
    ndarray
        Same shape and dtype.

    Raises
    ------
    TypeError
        If ``features`` is not a real numeric array.

    Notes
    -----
    The same as ``relu(x, max_value=6)``.  NaN stays NaN; the gradient is
    :func:`relu6_grad` (0 at both corners, x = 0 and x = 6).

    Examples
    --------
    >>> relu6([-1.0, 3.0, 7.0])
    array([0., 3., 6.])
    >>> relu6(np.array([-3, 9], np.int8))               # integers keep their dtype
    array([0, 6], dtype=int8)
    """
    x = _args.array("relu6", "features", features)
    return np.minimum(np.maximum(x, x.dtype.type(0)), x.dtype.type(6))


def leaky_relu(features: Any, alpha: float = 0.2) -> np.ndarray:
    """Leaky ReLU, ``x if x > 0 else alpha * x``: ``tf.nn.leaky_relu``.

    Parameters
    ----------
    features : array_like
        Any shape; bool, integer or float.
    alpha : float
        Slope for ``x <= 0`` (TF's default 0.2).

    Returns
    -------
    ndarray
        Same shape; float inputs keep their dtype, integer inputs become float64 when
        ``alpha`` is not 0.

    Raises
    ------
    TypeError
        If ``features`` is not a real numeric array or ``alpha`` not a real number.
    ValueError
        If ``alpha`` is not finite.

    Notes
    -----
    ``alpha`` is used at the input's precision; TF stores it as a C float, so its
    float64 results use ``float32(alpha)`` (e.g. 0.2 -> 0.20000000298...).

    Examples
    --------
    >>> leaky_relu([-10.0, 0.0, 5.0])
    array([-2.,  0.,  5.])
    >>> leaky_relu(np.array([-3, 2]))                    # integers: float64
    array([-0.6,  2. ])
    """
    fn = "leaky_relu"
    x = _args.array(fn, "features", features)
    a = _args.number(fn, "alpha", alpha)
    x = _float_if_sloped(x, a)
    with np.errstate(over="ignore", invalid="ignore"):  # inf * 0 in the unused lane
        return np.where(x > 0, x, x * x.dtype.type(a)).astype(x.dtype, copy=False)


# --------------------------------------------------------------------------- gradients

def _grad_pair(fn: str, gradients: Any, features: Any) -> tuple[np.ndarray, np.ndarray]:
    g = _args.array(fn, "gradients", gradients)
    x = _args.array(fn, "features", features)
    _args.same_shape(fn, "gradients", g, "features", x)
    return g, x


@docfiller
def relu_grad(gradients: Any, features: Any, *, max_value: float | None = None,
              negative_slope: float = 0.0, threshold: float = 0.0) -> np.ndarray:
    """Gradient of :func:`relu`: ``gradients * f'(features)``, TF's ``ReluGrad``.

    ``f'(x)`` is 1 where ``threshold < x`` and the output is below ``max_value``, 0
    where the output is saturated at ``max_value``, and ``negative_slope`` where
    ``x <= threshold``: with the defaults, ``gradients * (features > 0)``, so the
    gradient is **0 at x = 0** (TF, PyTorch).

    Parameters
    ----------
    %(activation_grad_args)s
    max_value, negative_slope, threshold
        Keras's options, as in :func:`relu`.

    Returns
    -------
    ndarray
        Shape of ``features``, dtype of ``gradients`` (float64 for integer gradients
        with a fractional slope).

    Raises
    ------
    TypeError
        If an array is not real numeric or an option not a real number.
    ValueError
        If the shapes differ, or for an option :func:`relu` refuses.

    Notes
    -----
    As TF, the gradient is a product with a 0/1 mask: NaN (or inf) in ``gradients``
    stays NaN even where the unit is off, and a NaN feature gets the off-branch
    (``NaN > 0`` is false).

    Examples
    --------
    >>> relu_grad([5.0, 5.0, 5.0], [-1.0, 0.0, 2.0])
    array([0., 0., 5.])
    >>> relu_grad(np.ones(4), [-1.0, 1.0, 3.0, 7.0], max_value=6, negative_slope=0.5)
    array([0.5, 1. , 1. , 0. ])
    """
    fn = "relu_grad"
    g, x = _grad_pair(fn, gradients, features)
    top, slope, thr = _args.relu_options(fn, max_value, negative_slope, threshold)
    g = _float_if_sloped(g, slope)
    xs = _float_if_sloped(x, slope)
    mask = np.where(xs > _in_dtype(xs, thr), 1.0, slope)
    if top is not None:  # saturated where the forward pass (same casts) gives max_value
        mask = np.where(_keras_relu(xs, top, slope, thr)[1], 0.0, mask)
    with np.errstate(over="ignore", invalid="ignore"):  # inf * 0 -> NaN, overflow -> inf,
        return np.asarray(g * mask.astype(g.dtype))    # in g's dtype, as TF


@docfiller
def relu6_grad(gradients: Any, features: Any) -> np.ndarray:
    """Gradient of :func:`relu6`, TF's ``Relu6Grad``: ``gradients * (0 < x < 6)``.

    Parameters
    ----------
    %(activation_grad_args)s

    Returns
    -------
    ndarray
        Shape and dtype of ``gradients``.

    Raises
    ------
    TypeError
        If either argument is not a real numeric array.
    ValueError
        If the shapes differ.

    Notes
    -----
    0 at both corners (x = 0 and x = 6), as TF.  NaN or inf in ``gradients`` stays NaN
    where the unit is off (a product with a 0/1 mask, as TF).

    Examples
    --------
    >>> relu6_grad(np.ones(4), [0.0, 3.0, 6.0, 7.0])
    array([0., 1., 0., 0.])
    """
    g, x = _grad_pair("relu6_grad", gradients, features)
    with np.errstate(invalid="ignore"):  # inf * 0 -> NaN, as TF
        return np.asarray(g * ((x > 0) & (x < 6)).astype(g.dtype))


@docfiller
def leaky_relu_grad(gradients: Any, features: Any, alpha: float = 0.2) -> np.ndarray:
    """Gradient of :func:`leaky_relu`, TF's ``LeakyReluGrad``: ``g if x > 0 else alpha * g``.

    Parameters
    ----------
    %(activation_grad_args)s
    alpha : float
        The forward slope (default 0.2).

    Returns
    -------
    ndarray
        Shape of ``features``, dtype of ``gradients`` (float64 for integer gradients
        when ``alpha`` is not 0).

    Raises
    ------
    TypeError
        If an array is not real numeric or ``alpha`` not a real number.
    ValueError
        If the shapes differ or ``alpha`` is not finite.

    Notes
    -----
    At x = 0 the slope is ``alpha`` (the x <= 0 branch), as TF.

    Examples
    --------
    >>> leaky_relu_grad(np.ones(3), [-1.0, 0.0, 2.0])
    array([0.2, 0.2, 1. ])
    """
    fn = "leaky_relu_grad"
    g, x = _grad_pair(fn, gradients, features)
    a = _args.number(fn, "alpha", alpha)
    g = _float_if_sloped(g, a)
    with np.errstate(over="ignore", invalid="ignore"):  # alpha * g in g's dtype: inf, as TF
        return np.where(x > 0, g, g * g.dtype.type(a)).astype(g.dtype, copy=False)
