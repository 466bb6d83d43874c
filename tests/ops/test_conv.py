"""Convolution against numconv.reference (tests/oracle.py), layouts, dtypes, bias, chunking."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import numconv
from helpers import assert_matches
from oracle import ref_conv

RNG = np.random.default_rng(1234)


def rand(*shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


GRID = [
    # (spatial, window, strides, dilations, padding, in_channels, groups)
    ((7,), (3,), (1,), (1,), "SAME", 2, 1),
    ((8,), (2,), (3,), (2,), "VALID", 4, 2),
    ((6, 7), (3, 3), (2, 2), (1, 1), "SAME", 3, 1),
    ((6, 7), (3, 2), (1, 2), (2, 1), "SAME", 4, 4),
    ((5, 5), (2, 2), (2, 1), (2, 3), "VALID", 2, 1),
    ((5, 6), (3, 3), (1, 1), (1, 1), [(1, 0), (2, 1)], 2, 2),
    ((2, 2), (3, 3), (1, 1), (1, 1), "VALID", 1, 1),   # empty output
    ((4, 3, 5), (2, 2, 3), (1, 2, 2), (1, 1, 1), "SAME", 2, 1),
    ((4, 4, 4), (2, 1, 2), (2, 1, 1), (1, 1, 2), "VALID", 3, 3),
]


@pytest.mark.parametrize("spatial, window, strides, dilations, padding, cin, groups", GRID)
@pytest.mark.parametrize("channels_last", [True, False])
def test_against_reference(spatial, window, strides, dilations, padding, cin, groups,
                           channels_last):
    x = rand(2, *spatial, cin)
    w = rand(*window, cin // groups, 2 * groups)
    b = rand(2 * groups)
    expected = ref_conv(x, w, strides, padding, dilations, bias=b)
    fmt = {1: "NWC", 2: "NHWC", 3: "NDHWC"}[len(spatial)]
    if channels_last:
        got = numconv.convolution(x, w, strides, padding, fmt, dilations, bias=b)
    else:
        fmt = fmt[0] + "C" + fmt[1:-1]
        got = numconv.convolution(np.moveaxis(x, -1, 1), w, strides, padding, fmt, dilations,
                                  bias=b)
        got = np.moveaxis(got, 1, -1)
    assert_matches(got, expected, dtype=np.float64)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_random_against_reference(data):
    n = data.draw(st.integers(1, 3))
    spatial = data.draw(st.tuples(*[st.integers(1, 6)] * n))
    window = data.draw(st.tuples(*[st.integers(1, 3)] * n))
    strides = data.draw(st.tuples(*[st.integers(1, 3)] * n))
    dilations = data.draw(st.tuples(*[st.integers(1, 2)] * n))
    padding = data.draw(st.one_of(st.sampled_from(["SAME", "VALID"]),
                                  st.tuples(*[st.tuples(st.integers(0, 2), st.integers(0, 2))] * n)))
    groups = data.draw(st.integers(1, 3))
    cin_g = data.draw(st.integers(1, 2))
    x = rand(data.draw(st.integers(1, 2)), *spatial, cin_g * groups)
    w = rand(*window, cin_g, groups * data.draw(st.integers(1, 2)))
    got = numconv.convolution(x, w, strides, padding, None, dilations)
    assert_matches(got, ref_conv(x, w, strides, padding, dilations), dtype=np.float64)


@pytest.mark.parametrize("dtype, expected_dtype", [
    (np.float16, np.float16), (np.float32, np.float32), (np.float64, np.float64),
    (np.int32, np.int64), (np.uint8, np.int64), (np.bool_, np.int64)])
def test_dtypes(dtype, expected_dtype):
    x = RNG.integers(0, 3, size=(1, 5, 5, 2)).astype(dtype)
    w = RNG.integers(-2, 3, size=(3, 3, 2, 3)).astype(dtype if dtype != np.uint8 else np.int8)
    got = numconv.conv2d(x, w, 1, "SAME")
    # small integers: every sum is exact in every dtype, so the comparison is exact
    assert_matches(got, ref_conv(x, w, (1, 1), "SAME", (1, 1)).astype(expected_dtype),
                   exact=True, dtype=expected_dtype)


def test_float16_accumulates_in_float32():
    # 2048 products of 1 * (1 + 2**-10): float16 accumulation would stall at 2048
    x = np.ones((1, 2048, 1), np.float16)
    w = np.full((2048, 1, 1), 1 + 2**-10, np.float16)
    got = numconv.conv1d(x, w)
    assert got.dtype == np.float16
    assert float(got[0, 0, 0]) == pytest.approx(2050.0, abs=2.0)   # float16 spacing is 2 here


def test_mixed_float_dtypes_promote():
    got = numconv.conv2d(rand(1, 3, 3, 1, dtype=np.float32), rand(2, 2, 1, 1))
    assert got.dtype == np.float64


def test_chunked_equals_unchunked():
    x = rand(3, 9, 11, 4)
    w = rand(3, 3, 2, 6)
    whole = numconv.conv2d(x, w, 1, "SAME")
    with numconv.workspace_limit(1024):          # one row band per block
        chunked = numconv.conv2d(x, w, 1, "SAME")
    # BLAS may block a smaller GEMM differently: equal up to summation order, not bitwise
    assert_matches(chunked, whole, dtype=np.float64)


def test_depthwise_against_grouped_reference():
    x = rand(2, 6, 5, 3)
    f = rand(3, 2, 3, 2)                          # multiplier 2
    got = numconv.depthwise_conv2d(x, f, [1, 2, 1, 1], "SAME", dilations=(2, 1))
    # channel c, multiplier m -> output channel c * 2 + m: a grouped conv with 3 groups
    w = f.reshape(3, 2, 1, 6)
    assert_matches(got, ref_conv(x, w, (2, 1), "SAME", (2, 1)), dtype=np.float64)


def test_depthwise_hand_example():
    x = np.ones((1, 2, 2, 2))
    x[..., 1] = 10
    f = np.stack([np.ones((2, 2, 2)), 2 * np.ones((2, 2, 2))], axis=-1)  # (2,2,2,2)
    out = numconv.depthwise_conv2d(x, f)
    assert out.ravel().tolist() == [4.0, 8.0, 40.0, 80.0]


def test_seed_edge_kernel_by_hand():
    img = np.zeros((1, 4, 4, 1), np.float32)
    img[0, 1:3, 1:3, 0] = 1.0                     # a 2x2 bright square
    edge = np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], np.float32)[..., None, None]
    out = numconv.conv2d(img, edge, 1, "SAME")[0, :, :, 0]
    # square pixel: 8 - 3 bright neighbours = 5; corner pixel of the frame touches 1 -> -1
    assert out[1, 1] == 5 and out[0, 0] == -1 and out[0, 1] == -2


def test_tf_full_forms_for_strides_and_padding():
    x = rand(1, 6, 6, 2)
    w = rand(3, 3, 2, 1)
    a = numconv.conv2d(x, w, [1, 2, 2, 1], [[0, 0], [1, 2], [0, 1], [0, 0]])
    b = numconv.conv2d(x, w, 2, [(1, 2), (0, 1)])
    np.testing.assert_array_equal(a, b)
    c = numconv.conv2d(np.moveaxis(x, -1, 1), w, [1, 1, 2, 2], [[0, 0], [0, 0], [1, 2], [0, 1]],
                       "NCHW")
    np.testing.assert_allclose(np.moveaxis(c, 1, -1), b, rtol=1e-12)


def test_im2col_times_filters_is_conv():
    x = rand(2, 5, 6, 3)
    w = rand(3, 2, 3, 4)
    cols = numconv.im2col(x, (3, 2), 2, "SAME", dilations=1)
    assert cols.shape == (2, 3, 3, 18)
    np.testing.assert_allclose(cols @ w.reshape(-1, 4),
                               ref_conv(x, w, (2, 2), "SAME", (1, 1)), rtol=1e-12)
    first = cols[0, 0, 0].reshape(3, 2, 3)     # SAME pads (1, 1) rows, (0, 1) cols
    np.testing.assert_array_equal(first[0], 0)
    np.testing.assert_array_equal(first[1:], x[0, 0:2, 0:2])


def test_im2col_channels_first_is_torch_unfold_order():
    x = rand(1, 2, 3, 3)                         # NCHW
    cols = numconv.im2col(x, 2, data_format="NCHW")
    assert cols.shape == (1, 8, 2, 2)
    # row index = c * 4 + (i * 2 + j): channel-major, as torch.nn.functional.unfold
    assert cols[0, 1 * 4 + 1 * 2 + 0, 1, 0] == x[0, 1, 1 + 1, 0 + 0]


def test_inputs_not_modified_and_readonly_noncontiguous_ok():
    x = rand(2, 8, 8, 4)[:, ::2, ::-1, :]       # non-contiguous, negative stride
    x.flags.writeable = False
    w = rand(3, 3, 4, 2)
    before = x.copy()
    got = numconv.conv2d(x, w, 1, "SAME")
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(got, numconv.conv2d(np.ascontiguousarray(x), w, 1, "SAME"),
                               rtol=1e-12, atol=1e-12)


def test_nan_propagates_to_windows_that_see_it():
    x = np.zeros((1, 5, 1))
    x[0, 2, 0] = np.nan
    out = numconv.conv1d(x, np.ones((3, 1, 1)), 1, "VALID")[0, :, 0]
    assert np.isnan(out).all()                   # every window of 3 covers index 2
    out = numconv.conv1d(x, np.ones((2, 1, 1)), 1, "VALID")[0, :, 0]
    assert np.isnan(out).tolist() == [False, True, True, False]
