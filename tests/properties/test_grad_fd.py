"""Finite differences in float64 for every op with a gradient, through ``numconv.vjp``.

For an op ``f``, a random cotangent ``c`` and a random direction ``v`` per array
argument, the central difference ``(L(a + eps v) - L(a - eps v)) / (2 eps)`` of
``L(a) = <f(a), c>`` must equal ``<pullback(c), v>``.  Outputs that are not finite
(max-pool windows of only padding: -inf; average of no element: NaN) get ``c = 0``.
Random normal data keep max pooling and ReLU away from ties and kinks by far more
than ``eps``.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import numconv
from numconv.autodiff import _RULES, GRADIENTS

EPS = 1e-6


def rand(rng, *shape):
    return rng.standard_normal(shape)


def fd_check(fn, *args, **kwargs):
    rng = np.random.default_rng(5)
    out, pullback = numconv.vjp(fn, *args, **kwargs)
    primal = out[0] if isinstance(out, tuple) else out
    finite = np.isfinite(primal)
    ct = np.where(finite, rng.standard_normal(primal.shape), 0.0)
    grads = pullback(ct)
    bound = inspect.signature(fn).bind(*args, **kwargs)
    bound.apply_defaults()
    names = [n for n in GRADIENTS[fn] if bound.arguments[n] is not None]
    assert len(grads) == len(names) >= 1

    def loss(name, value):
        call = dict(bound.arguments)
        call[name] = value
        y = fn(**call)
        y = y[0] if isinstance(y, tuple) else y
        return float(np.sum(np.where(finite, y, 0.0) * ct))

    for name, grad in zip(names, grads):
        a = np.asarray(bound.arguments[name], dtype=np.float64)
        assert grad.shape == a.shape, name
        v = rng.standard_normal(a.shape)
        fd = (loss(name, a + EPS * v) - loss(name, a - EPS * v)) / (2 * EPS)
        assert float(np.vdot(grad, v)) == pytest.approx(fd, rel=1e-6, abs=1e-7), name


R = np.random.default_rng(11)
X1, X2, X3 = rand(R, 2, 7, 4), rand(R, 2, 6, 5, 4), rand(R, 1, 4, 5, 3, 2)
CASES = {
    "convolution 2-D grouped SAME strided": (numconv.convolution, (X2, rand(R, 3, 2, 2, 6), 2,
                                              "SAME"), dict(bias=rand(R, 6))),
    "convolution NCHW dilated explicit": (numconv.convolution, (np.moveaxis(X2, -1, 1),
                                          rand(R, 2, 3, 4, 3), (1, 2), [(1, 2), (0, 3)],
                                          "NCHW", (2, 1)), {}),
    "conv1d": (numconv.conv1d, (X1, rand(R, 3, 4, 2), 2, "VALID"), dict(bias=rand(R, 2))),
    "conv2d": (numconv.conv2d, (X2, rand(R, 2, 2, 4, 3), 1, "SAME"), {}),
    "conv3d": (numconv.conv3d, (X3, rand(R, 2, 2, 2, 2, 3), (1, 2, 1), "SAME"), {}),
    "depthwise_conv2d": (numconv.depthwise_conv2d, (X2, rand(R, 3, 3, 4, 2), 1, "SAME"),
                         dict(dilations=2, bias=rand(R, 8))),
    "conv_transpose": (numconv.conv_transpose, (rand(R, 2, 3, 4), rand(R, 3, 4, 4), [2, 6, 4],
                                                2, "SAME"), {}),
    "conv1d_transpose": (numconv.conv1d_transpose, (rand(R, 1, 3, 2), rand(R, 2, 3, 2),
                                                    [1, 7, 3], 2, "VALID"), {}),
    "conv2d_transpose NCHW": (numconv.conv2d_transpose, (rand(R, 1, 2, 3, 3), rand(R, 3, 3, 2, 2),
                                                         [1, 2, 5, 6], 2, "SAME", "NCHW"), {}),
    "conv3d_transpose": (numconv.conv3d_transpose, (rand(R, 1, 2, 2, 2, 1),
                                                    rand(R, 2, 2, 2, 2, 1), [1, 4, 4, 4, 2], 2,
                                                    "VALID"), {}),
    "conv_backprop_input": (numconv.conv_backprop_input, ((2, 7, 4), rand(R, 3, 2, 6),
                                                          rand(R, 2, 4, 6), 2, "SAME"), {}),
    "conv2d_backprop_filter": (numconv.conv2d_backprop_filter, (X2, (2, 3, 4, 3),
                                                                rand(R, 2, 5, 3, 3), 1,
                                                                "VALID"), {}),
    "depthwise_conv2d_backprop_input": (numconv.depthwise_conv2d_backprop_input,
                                        ((2, 6, 5, 4), rand(R, 2, 2, 4, 1), rand(R, 2, 3, 3, 4),
                                         2, "SAME"), {}),
    "depthwise_conv2d_backprop_filter": (numconv.depthwise_conv2d_backprop_filter,
                                         (X2, (2, 2, 4, 2), rand(R, 2, 5, 4, 8), 1, "VALID"),
                                         {}),
    "bias_add_grad NCHW": (numconv.bias_add_grad, (rand(R, 2, 3, 4, 5), "NCHW"), {}),
    "im2col": (numconv.im2col, (X2, (2, 3), 2, "SAME"), dict(dilations=(1, 2))),
    "col2im": (numconv.col2im, (rand(R, 2, 3, 3, 24), X2.shape, (2, 3), 2, "SAME"),
               dict(dilations=(1, 2))),
    "relu": (numconv.relu, (X2,), {}),
    "relu keras options": (numconv.relu, (3 * X2,), dict(max_value=2.0, negative_slope=0.3,
                                                         threshold=0.5)),
    "relu6": (numconv.relu6, (5 * X2,), {}),
    "leaky_relu": (numconv.leaky_relu, (X2,), dict(alpha=0.3)),
    "pool MAX dilated SAME": (numconv.pool, (X2, [2, 3], "MAX", 1, "SAME", None, (2, 1)), {}),
    "pool AVG ceil": (numconv.pool, (X2, [3, 2], "AVG", 2, [(1, 1), (0, 1)]),
                      dict(ceil_mode=True)),
    "max_pool padding-only windows": (numconv.max_pool, (X1, 2, 1, [(3, 3)]), {}),
    "max_pool1d": (numconv.max_pool1d, (X1, 3, 2, "SAME"), {}),
    "max_pool2d NCHW": (numconv.max_pool2d, (np.moveaxis(X2, -1, 1), 3, 2, "SAME", "NCHW"), {}),
    "max_pool3d": (numconv.max_pool3d, (X3, 2, 1, "VALID"), dict(ceil_mode=False)),
    "avg_pool": (numconv.avg_pool, (X2, 3, 2, "SAME"), dict(count_include_pad=False)),
    "avg_pool1d include pad": (numconv.avg_pool1d, (X1, 3, 2, 1), dict(count_include_pad=True)),
    "avg_pool2d override": (numconv.avg_pool2d, (X2, 2, 2, "VALID"),
                            dict(divisor_override=3, ceil_mode=True)),
    "avg_pool3d": (numconv.avg_pool3d, (X3, 2, 2, "SAME"), {}),
    "global_max_pool": (numconv.global_max_pool, (X2,), {}),
    "global_avg_pool keepdims NCHW": (numconv.global_avg_pool, (np.moveaxis(X2, -1, 1), "NCHW",
                                                                True), {}),
    "max_pool_with_argmax": (numconv.max_pool_with_argmax, (X2, 3, 2, "SAME"), {}),
    "max_unpool": (numconv.max_unpool, (rand(R, 2, 3, 4), np.array(
        [[[0, 5, 2, 3], [9, 6, 14, 11], [20, 17, 18, 23]]] * 2), 2, 2), {}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_finite_differences(name):
    fn, args, kwargs = CASES[name]
    fd_check(fn, *args, **kwargs)


def test_every_forward_op_has_a_gradient():
    forward = ["convolution", "conv1d", "conv2d", "conv3d", "depthwise_conv2d", "relu", "relu6",
               "leaky_relu", "pool", "max_pool", "avg_pool", "max_pool1d", "max_pool2d",
               "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "global_max_pool",
               "global_avg_pool", "im2col", "col2im", "conv_transpose", "conv1d_transpose",
               "conv2d_transpose", "conv3d_transpose", "max_pool_with_argmax", "max_unpool"]
    missing = [name for name in forward if getattr(numconv, name) not in GRADIENTS]
    assert missing == []
    # every rule is exercised above (rank aliases share their generic op's rule)
    assert {_RULES[f] for f in GRADIENTS} == {_RULES[CASES[c][0]] for c in CASES}
