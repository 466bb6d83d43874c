"""The relu family, against hand-checked values and the formulas in the docs."""

from __future__ import annotations

import numpy as np
import pytest

import numconv
from conftest import assert_matches

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
