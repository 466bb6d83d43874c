"""``numconv.vjp``: the API, a hand-checked pipeline, argument handling and errors."""

from __future__ import annotations

import numpy as np
import pytest

import numconv


def test_pipeline_by_hand():
    x = np.arange(9.0).reshape(1, 3, 3, 1) - 4
    w = np.ones((2, 2, 1, 1))
    y1, back_conv = numconv.vjp(numconv.conv2d, x, w, 1, "VALID")   # [[-8, -4], [4, 8]]
    y2, back_relu = numconv.vjp(numconv.relu, y1)
    y3, back_pool = numconv.vjp(numconv.max_pool2d, y2, 2, 2, "VALID")
    (g2,) = back_pool(np.ones_like(y3))
    (g1,) = back_relu(g2)
    gx, gw = back_conv(g1)
    assert y3.ravel().tolist() == [8]
    assert g1[0, :, :, 0].tolist() == [[0, 0], [0, 1]]
    assert gx[0, :, :, 0].tolist() == [[0, 0, 0], [0, 1, 1], [0, 1, 1]]
    assert gw[:, :, 0, 0].tolist() == [[0, 1], [3, 4]]


def test_bias_is_returned_only_when_given():
    x, w = np.ones((1, 3, 3, 2)), np.ones((2, 2, 2, 3))
    _, back = numconv.vjp(numconv.conv2d, x, w, bias=np.zeros(3))
    grads = back(np.ones((1, 2, 2, 3)))
    assert [g.shape for g in grads] == [x.shape, w.shape, (3,)]
    assert grads[2].tolist() == [4, 4, 4]
    _, back = numconv.vjp(numconv.conv2d, x, w)
    assert len(back(np.ones((1, 2, 2, 3)))) == 2


def test_keyword_arguments_and_channels_first():
    x = np.random.default_rng(0).standard_normal((1, 2, 4, 4))
    out, back = numconv.vjp(numconv.avg_pool2d, input=x, ksize=2, strides=2, padding="VALID",
                            data_format="NCHW")
    (dx,) = back(np.ones(out.shape))
    assert dx.shape == x.shape and np.allclose(dx, 0.25)


def test_argmax_pullback_takes_the_values_cotangent():
    x = np.array([1., 5., 2., 4.]).reshape(1, 4, 1)
    (out, idx), back = numconv.vjp(numconv.max_pool_with_argmax, x, 2, 2, "VALID")
    assert idx.ravel().tolist() == [1, 3]
    assert back(np.array([10., 20.]).reshape(1, 2, 1))[0].ravel().tolist() == [0, 10, 0, 20]


def test_errors():
    with pytest.raises(TypeError, match=r"vjp: fn must be a numconv op with a registered "
                       r"gradient \(see numconv.autodiff.GRADIENTS\), got builtin_function_or_"
                       r"method <built-in function sum>"):
        numconv.vjp(sum, [1.0])
    _, back = numconv.vjp(numconv.relu, np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"pullback: cotangent must have shape \(2, 3\) \(the "
                       r"output of relu\), got shape \(3, 2\)"):
        back(np.ones((3, 2)))


def test_arguments_must_fit_the_signature():
    with pytest.raises(TypeError, match=r"vjp: args and kwargs must fit relu\(features: "
                       r"'Any', \*, max_value.*\) -> 'np.ndarray', got 2 positional and \[\] keyword arguments "
                       r"\(too many positional arguments\)"):
        numconv.vjp(numconv.relu, np.ones(2), np.ones(2))
