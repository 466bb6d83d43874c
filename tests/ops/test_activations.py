"""The relu family, against hand-checked values and the formulas in the docs."""

from __future__ import annotations

import numpy as np
import pytest

import numconv
from helpers import assert_matches

X = np.array([-3.0, -1.0, 0.0, 0.5, 2.0, 6.0, 7.5])


def test_relu():
    assert_matches(numconv.relu(X), [0, 0, 0, 0.5, 2, 6, 7.5], exact=True, dtype=np.float64)


def test_relu6():
    assert_matches(numconv.relu6(X), [0, 0, 0, 0.5, 2, 6, 6], exact=True)


def test_leaky_relu_default_alpha_is_tf_02():
    assert_matches(numconv.leaky_relu(X), [-0.6, -0.2, 0, 0.5, 2, 6, 7.5])
    assert_matches(numconv.leaky_relu(X, alpha=0.5), [-1.5, -0.5, 0, 0.5, 2, 6, 7.5],
                   exact=True)


@pytest.mark.parametrize("kwargs, expected", [
    ({"max_value": 6.0}, [0, 0, 0, 0.5, 2, 6, 6]),
    ({"threshold": 1.0}, [0, 0, 0, 0, 2, 6, 7.5]),
    ({"negative_slope": 0.5}, [-1.5, -0.5, 0, 0.5, 2, 6, 7.5]),
    # slope * (x - threshold) at or below the threshold; max_value at or above the top
    ({"negative_slope": 0.5, "threshold": 1.0, "max_value": 5.0},
     [-2.0, -1.0, -0.5, -0.25, 2, 5, 5]),
])
def test_keras_relu_options(kwargs, expected):
    assert_matches(numconv.relu(X, **kwargs), expected, exact=True)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.int8, np.int64])
def test_dtype_kept(dtype):
    x = np.array([-2, 0, 3, 9], dtype)
    assert_matches(numconv.relu(x), np.array([0, 0, 3, 9], dtype), exact=True, dtype=dtype)
    assert_matches(numconv.relu6(x), np.array([0, 0, 3, 6], dtype), exact=True, dtype=dtype)


def test_integer_with_slope_becomes_float():
    got = numconv.leaky_relu(np.array([-4, 2], np.int32), alpha=0.25)
    assert_matches(got, [-1.0, 2.0], exact=True, dtype=np.float64)


def test_nan_propagates():
    for out in (numconv.relu([np.nan]), numconv.relu6([np.nan]), numconv.leaky_relu([np.nan]),
                numconv.relu([np.nan], threshold=1.0), numconv.relu([np.nan], max_value=2.0)):
        assert np.isnan(out).all()


def test_input_not_modified():
    x = X.copy()
    numconv.relu(x, negative_slope=0.1, max_value=3)
    np.testing.assert_array_equal(x, X)


# --------------------------------------------------------------------------- options out of range

F16 = np.array([-1.0, 0.5, 65504.0, np.inf, -np.inf, np.nan, 1000.0], np.float16)


@pytest.mark.parametrize("max_value", [65520.0, 1e10])
def test_float16_max_value_beyond_its_range_caps_nothing_finite(max_value):
    # 65520 rounds to inf in float16 (largest finite 65504), as Keras's cast does: finite
    # values pass, +inf stays +inf; no 'overflow encountered in cast' warning
    expected = np.array([0.0, 0.5, 65504.0, np.inf, 0.0, np.nan, 1000.0], np.float16)
    assert_matches(numconv.relu(F16, max_value=max_value), expected, exact=True,
                   dtype=np.float16)
    g = numconv.relu_grad(np.ones(7, np.float16), F16, max_value=max_value)
    np.testing.assert_array_equal(g, [0, 1, 1, 0, 0, 0, 1])      # +inf is at the cap


def test_float16_threshold_beyond_its_range_turns_everything_off():
    # threshold 1e10 -> inf in float16: x <= inf for every non-NaN x
    got = numconv.relu(F16, threshold=1e10)
    np.testing.assert_array_equal(got, np.array([0, 0, 0, 0, 0, np.nan, 0], np.float16))
    np.testing.assert_array_equal(numconv.relu_grad(np.ones(7), F16, threshold=1e10), 0)


def test_integer_input_caps_at_floor_of_max_value_and_never_overflows():
    x = np.array([1, 7, 100, 127], np.int8)
    for top in (1000.0, 1e30, 2.0**70):                        # above int8's 127: no cap
        assert_matches(numconv.relu(x, max_value=top), x, exact=True, dtype=np.int8)
        np.testing.assert_array_equal(numconv.relu_grad(np.ones(4), x, max_value=top), 1)
    assert_matches(numconv.relu(x, max_value=6.5), np.array([1, 6, 6, 6], np.int8),
                   exact=True, dtype=np.int8)
    np.testing.assert_array_equal(numconv.relu_grad(np.ones(4), x, max_value=127.5), 1)


def test_float16_max_value_matches_keras():
    keras = pytest.importorskip("keras")
    for top in (65520.0, 1e10, 100.0):
        want = keras.ops.convert_to_numpy(keras.activations.relu(F16, max_value=top))
        assert_matches(numconv.relu(F16, max_value=top), want, exact=True, dtype=np.float16)


def test_leaky_relu_grad_overflow_gives_inf_without_a_warning():
    # alpha * g in float16: -2 * 60000 is beyond 65504 -> -inf, as TF's LeakyReluGrad
    got = numconv.leaky_relu_grad(np.float16([1.0, -2.0]), -np.ones(2), alpha=60000.0)
    assert_matches(got, np.array([60000.0, -np.inf], np.float16), exact=True, dtype=np.float16)


def test_relu_grad_overflow_gives_inf_without_a_warning():
    # slope 1e308 on the off side: -2.5 * 1e308 overflows float64 -> -inf
    got = numconv.relu_grad(np.array([2.0, -2.5]), np.array([1.0, -1.0]), negative_slope=1e308)
    assert_matches(got, [2.0, -np.inf], exact=True, dtype=np.float64)
