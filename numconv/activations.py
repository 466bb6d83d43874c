"""The ReLU family ("detect"): relu with Keras's options, relu6, leaky_relu.

All are elementwise and keep the input's shape.  Floats keep their dtype; integer
inputs keep theirs unless a non-zero slope makes the result fractional (then
float64).  NaN propagates (NaN in, NaN out), as in TensorFlow and PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _args

__all__ = ["relu", "relu6", "leaky_relu"]


def _float_if_sloped(x: np.ndarray, slope: float) -> np.ndarray:
    if slope != 0 and x.dtype.kind != "f":
        return x.astype(np.float64)
    return x


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
        Same shape; dtype as described in the module notes.

    Notes
    -----
    Keras 3 also clips the region ``threshold < x < 0`` to 0 when ``max_value`` is set
    and ``threshold`` is negative; numconv follows the formula above instead.

    Examples
    --------
    >>> relu([-2.0, 0.0, 3.0])
    array([0., 0., 3.])
    >>> relu([-2.0, 1.0, 3.0, 9.0], max_value=6, negative_slope=0.5, threshold=2)
    array([-2. , -0.5,  3. ,  6. ])
    """
    fn = "relu"
    x = _args.array(fn, "features", features)
    top = _args.number(fn, "max_value", max_value, allow_none=True)
    slope = _args.number(fn, "negative_slope", negative_slope)
    thr = _args.number(fn, "threshold", threshold)
    if top is not None and top < 0:
        _args.fail(fn, "max_value", "must be non-negative (Keras's rule)", max_value)
    if slope < 0:
        _args.fail(fn, "negative_slope", "must be non-negative (Keras's rule)", negative_slope)
    if top is None and slope == 0 and thr == 0:
        return np.maximum(x, x.dtype.type(0))
    x = _float_if_sloped(x, slope)
    if slope == 0:
        out = np.where(x <= thr, x.dtype.type(0), x)  # NaN stays NaN
    else:
        out = np.where(x > thr, x, (x - thr) * slope).astype(x.dtype, copy=False)
    if top is not None:
        out = np.where(out >= top, np.asarray(top).astype(x.dtype), out)
    return out


def relu6(features: Any) -> np.ndarray:
    """``min(max(x, 0), 6)``, ``tf.nn.relu6``.

    >>> relu6([-1.0, 3.0, 7.0])
    array([0., 3., 6.])
    """
    x = _args.array("relu6", "features", features)
    return np.minimum(np.maximum(x, x.dtype.type(0)), x.dtype.type(6))


def leaky_relu(features: Any, alpha: float = 0.2) -> np.ndarray:
    """``x if x > 0 else alpha * x``, ``tf.nn.leaky_relu`` (default alpha 0.2).

    >>> leaky_relu([-10.0, 0.0, 5.0])
    array([-2.,  0.,  5.])
    """
    fn = "leaky_relu"
    x = _args.array(fn, "features", features)
    a = _args.number(fn, "alpha", alpha)
    x = _float_if_sloped(x, a)
    return np.where(x > 0, x, x * x.dtype.type(a)).astype(x.dtype, copy=False)
