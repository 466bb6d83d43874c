"""Expected values for the op tests: numconv.reference, in the tests' argument spellings.

The oracle computes in float64 from the inputs' values (integers and float16 too), so
a test casts the expected array to the result dtype it checks.  numconv.reference is
itself checked against plain nested loops in tests/ops/test_reference.py.
"""

from __future__ import annotations

import numpy as np

from numconv import reference
from numconv.geometry import Geometry, resolve


def geometry(x_shape, window, strides, padding, dilations, ceil_mode=False) -> Geometry:
    """The window geometry of a channels-last input of shape ``x_shape``."""
    pads = padding if isinstance(padding, str) else tuple(map(tuple, padding))
    return resolve(x_shape[1:-1], window, strides, dilations, pads, ceil_mode)


def f64(a) -> np.ndarray:
    return np.asarray(a).astype(np.float64)


def ref_conv(x, w, strides, padding, dilations, bias=None):
    """Channels-last grouped convolution; ``w`` is (*window, cin_g, cout)."""
    g = geometry(x.shape, w.shape[:-2], strides, padding, dilations)
    out = reference.conv(f64(x), f64(w), g, x.shape[-1] // w.shape[-2])
    return out if bias is None else out + f64(bias)


def ref_conv_vjp(x, w, g, strides, padding, dilations):
    """(dx, dw) of :func:`ref_conv` for the output gradient ``g``."""
    geo = geometry(x.shape, w.shape[:-2], strides, padding, dilations)
    return reference.conv_vjp(f64(x), f64(w), f64(g), geo, x.shape[-1] // w.shape[-2])


def ref_pool(x, window, strides, padding, dilations, kind, *, ceil_mode=False,
             count_include_pad=False, divisor_override=None):
    """Channels-last max ("MAX") or average ("AVG") pooling; padding never counted unless asked."""
    g = geometry(x.shape, window, strides, padding, dilations, ceil_mode)
    if kind == "MAX":
        return reference.max_pool(f64(x), g)
    return reference.avg_pool(f64(x), g, count_include_pad, divisor_override)


def ref_max_grad(x, g, window, strides, padding, dilations, ceil_mode=False):
    geo = geometry(x.shape, window, strides, padding, dilations, ceil_mode)
    return reference.max_pool_vjp(f64(x), f64(g), geo)


def ref_avg_grad(x_shape, g, window, strides, padding, dilations, ceil_mode=False,
                 count_include_pad=False, divisor_override=None):
    geo = geometry(x_shape, window, strides, padding, dilations, ceil_mode)
    return reference.avg_pool_vjp(tuple(x_shape), f64(g), geo, count_include_pad,
                                  divisor_override)
