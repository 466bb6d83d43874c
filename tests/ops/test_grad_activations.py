"""Gradients of the ReLU family: hand-checked values, kinks, NaN, dtypes, errors."""

from __future__ import annotations

import numpy as np
import pytest

import numconv


def test_relu_grad_is_zero_at_zero():
    got = numconv.relu_grad([5.0, 5.0, 5.0, 5.0], [-1.0, 0.0, 1e-300, 2.0])
    assert got.tolist() == [0, 0, 5, 5]


def test_relu6_grad_is_zero_at_both_corners():
    got = numconv.relu6_grad(np.ones(6), [-1.0, 0.0, 0.5, 5.999, 6.0, 7.0])
    assert got.tolist() == [0, 0, 1, 1, 0, 0]


def test_leaky_relu_grad_takes_alpha_at_zero():
    assert numconv.leaky_relu_grad(np.full(3, 10.0), [-1.0, 0.0, 1.0], alpha=0.1).tolist() == \
        [1, 1, 10]


def test_relu_grad_keras_options_by_hand():
    x = np.array([-1.0, 1.0, 2.0, 3.0, 6.0, 9.0])
    # threshold 2: off (slope 0.5) at x <= 2; saturated (0) where the output reaches 6
    got = numconv.relu_grad(np.ones(6), x, max_value=6, negative_slope=0.5, threshold=2)
    assert got.tolist() == [0.5, 0.5, 0.5, 1, 0, 0]
    assert numconv.relu_grad(np.ones(3), [1.0, 5.0, 7.0], max_value=5).tolist() == [1, 0, 0]


def test_nan_behaviour_matches_tf():
    # TF 2.21 ReluGrad / Relu6Grad multiply by a 0/1 mask (NaN * 0 = NaN), measured;
    # a NaN feature takes the off branch (NaN > 0 is false); LeakyReluGrad gives alpha
    g = np.array([np.nan, np.nan, 1.0])
    x = np.array([-1.0, 1.0, np.nan])
    assert np.isnan(numconv.relu_grad(g, x)).tolist() == [True, True, False]
    assert numconv.relu_grad(g, x)[2] == 0
    assert numconv.relu6_grad(g, x)[2] == 0
    assert numconv.leaky_relu_grad(g, x)[2] == pytest.approx(0.2)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_dtypes_kept(dtype):
    g = np.ones(3, dtype)
    x = np.array([-1, 0, 1], dtype)
    for fn in (numconv.relu_grad, numconv.relu6_grad, numconv.leaky_relu_grad):
        assert fn(g, x).dtype == dtype


def test_integer_gradients():
    assert numconv.relu_grad(np.array([3, 3]), np.array([-1, 1])).tolist() == [0, 3]
    assert numconv.relu_grad(np.array([3, 3]), np.array([-1, 1])).dtype.kind == "i"
    assert numconv.leaky_relu_grad(np.array([3, 3]), np.array([-1, 1]), 0.5).dtype == np.float64


def test_inputs_not_modified():
    g, x = np.ones(4), np.array([-1.0, 0.0, 1.0, 7.0])
    g0, x0 = g.copy(), x.copy()
    numconv.relu_grad(g, x, max_value=6)
    np.testing.assert_array_equal(g, g0)
    np.testing.assert_array_equal(x, x0)


def test_errors():
    with pytest.raises(ValueError, match=r"relu_grad: gradients must have the shape of features "
                       r"\(3,\), got shape \(2,\)"):
        numconv.relu_grad(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match=r"relu_grad: negative_slope must be non-negative "
                       r"\(Keras's rule\), got -1"):
        numconv.relu_grad(np.ones(2), np.ones(2), negative_slope=-1)
    with pytest.raises(ValueError, match=r"relu_grad: max_value must be non-negative \(Keras's "
                       r"rule\), got -2"):
        numconv.relu_grad(np.ones(2), np.ones(2), max_value=-2)
