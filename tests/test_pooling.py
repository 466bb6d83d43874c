"""Pooling against the nested-loop reference; PyTorch options; global pools; NaN; dtypes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import numconv
from conftest import assert_matches
from reference import ref_pool

RNG = np.random.default_rng(99)


def rand(*shape):
    return RNG.standard_normal(shape)


GRID = [
    # (spatial, window, strides, dilations, padding)
    ((7,), (2,), (2,), (1,), "SAME"),
    ((7,), (3,), (2,), (2,), "SAME"),           # dilated SAME: TF refuses, numconv defines
    ((6, 7), (3, 3), (2, 2), (1, 1), "SAME"),
    ((6, 7), (2, 3), (1, 2), (1, 1), "VALID"),
    ((6, 7), (2, 2), (2, 2), (2, 2), "VALID"),
    ((5, 6), (3, 2), (2, 1), (1, 1), [(1, 1), (0, 1)]),
    ((2, 2), (3, 3), (1, 1), (1, 1), "VALID"),  # empty output
    ((4, 5, 3), (2, 3, 2), (2, 1, 2), (1, 1, 1), "SAME"),
]


@pytest.mark.parametrize("spatial, window, strides, dilations, padding", GRID)
@pytest.mark.parametrize("kind", ["MAX", "AVG"])
def test_against_reference(spatial, window, strides, dilations, padding, kind):
    x = rand(2, *spatial, 3)
    got = numconv.pool(x, list(window), kind, strides, padding, None, dilations)
    expected = ref_pool(x, window, strides, padding, dilations, kind)
    assert_matches(got, expected, exact=kind == "MAX", dtype=np.float64)


@pytest.mark.parametrize("kind", ["MAX", "AVG"])
def test_channels_first(kind):
    x = rand(2, 3, 6, 5)
    got = numconv.pool(np.moveaxis(x, 1, -1), [3, 2], kind, 2, "SAME")
    cf = numconv.pool(x, [3, 2], kind, 2, "SAME", "NCHW")
    np.testing.assert_array_equal(np.moveaxis(cf, 1, -1), got)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_random_against_reference_with_torch_options(data):
    n = data.draw(st.integers(1, 3))
    spatial = data.draw(st.tuples(*[st.integers(1, 6)] * n))
    window = data.draw(st.tuples(*[st.integers(1, 3)] * n))
    strides = data.draw(st.tuples(*[st.integers(1, 3)] * n))
    dilations = data.draw(st.tuples(*[st.integers(1, 2)] * n))
    kind = data.draw(st.sampled_from(["MAX", "AVG"]))
    padding = data.draw(st.one_of(st.sampled_from(["SAME", "VALID"]),
                                  st.tuples(*[st.tuples(st.integers(0, 2), st.integers(0, 2))] * n)))
    ceil_mode = padding != "SAME" and data.draw(st.booleans())
    if ceil_mode and padding != "VALID":  # PyTorch's domain: pads at most half the window
        padding = tuple(tuple(min(p, ((k - 1) * d + 1) // 2) for p in pair)
                        for pair, k, d in zip(padding, window, dilations))
    include = kind == "AVG" and data.draw(st.booleans())
    override = data.draw(st.sampled_from([None, 3])) if kind == "AVG" else None
    x = rand(2, *spatial, 2)
    options = {"ceil_mode": ceil_mode}
    if kind == "AVG":
        options.update(count_include_pad=include, divisor_override=override)
    with np.errstate(invalid="ignore"):
        got = numconv.pool(x, list(window), kind, strides, padding, None, dilations, **options)
    expected = ref_pool(x, window, strides, padding, dilations, kind, **options)
    assert_matches(got, expected, exact=kind == "MAX", dtype=np.float64)


def test_same_average_excludes_padding_by_hand():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0]).reshape(1, 5, 1)
    # SAME, window 3, stride 2: pads (1, 1); windows [pad,1,2] [2,3,4] [4,5,pad]
    got = numconv.avg_pool(x, 3, 2, "SAME")[0, :, 0]
    assert got.tolist() == [1.5, 3.0, 4.5]
    inc = numconv.avg_pool(x, 3, 2, "SAME", count_include_pad=True)[0, :, 0]
    assert inc.tolist() == [1.0, 3.0, 3.0]
    assert numconv.avg_pool(x, 3, 2, "SAME", divisor_override=2)[0, :, 0].tolist() == [
        1.5, 4.5, 4.5]


def test_ceil_mode_by_hand():
    x = np.arange(5.0).reshape(1, 5, 1)
    # PyTorch: max_pool1d(k=2, s=2, ceil_mode=True) on 0..4 -> [1, 3, 4]
    assert numconv.max_pool(x, 2, 2, "VALID", ceil_mode=True)[0, :, 0].tolist() == [1, 3, 4]
    # avg: last window holds only 4; the ceil overhang never counts -> 4 / 1
    got = numconv.avg_pool(x, 2, 2, "VALID", ceil_mode=True, count_include_pad=True)
    assert got[0, :, 0].tolist() == [0.5, 2.5, 4.0]


def test_max_pool_padding_never_wins():
    x = -np.ones((1, 3, 3, 1)) * 5
    assert (numconv.max_pool2d(x, 2, 2, "SAME") == -5).all()


def test_window_of_padding_only():
    # dilation 3, window 2 on a single pixel, SAME: pads (1, 2); taps at -1 and 2
    x = np.array([7.0]).reshape(1, 1, 1)
    assert numconv.pool(x, [2], "MAX", 1, "SAME", dilations=3)[0, 0, 0] == -np.inf
    assert np.isnan(numconv.pool(x, [2], "AVG", 1, "SAME", dilations=3)[0, 0, 0])
    xi = np.array([7], np.int16).reshape(1, 1, 1)
    assert numconv.pool(xi, [2], "MAX", 1, "SAME", dilations=3)[0, 0, 0] == -32768


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int64, np.float16, np.float32])
def test_max_keeps_dtype_and_is_exact(dtype):
    x = RNG.integers(0, 100, size=(2, 5, 6, 3)).astype(dtype)
    got = numconv.max_pool2d(x, 3, 2, "SAME")
    assert_matches(got, ref_pool(x, (3, 3), (2, 2), "SAME", (1, 1), "MAX").astype(dtype),
                   exact=True, dtype=dtype)


@pytest.mark.parametrize("dtype, out", [(np.int32, np.float64), (np.float16, np.float16),
                                        (np.float32, np.float32)])
def test_avg_dtypes(dtype, out):
    x = RNG.integers(0, 8, size=(1, 4, 4, 2)).astype(dtype)
    got = numconv.avg_pool2d(x, 2, 2, "VALID")
    # sums of 4 small ints divided by 4 are exact in every dtype
    assert_matches(got, ref_pool(x, (2, 2), (2, 2), "VALID", (1, 1), "AVG").astype(out),
                   exact=True, dtype=out)


def test_nan_propagates_in_max_pool():
    x = np.array([1.0, np.nan, 3.0, 4.0]).reshape(1, 4, 1)
    got = numconv.max_pool1d(x, 2, 2, "VALID")[0, :, 0]
    assert np.isnan(got[0]) and got[1] == 4.0


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_fixed_rank_aliases(rank):
    x = rand(1, *([5] * rank), 2)
    mp = getattr(numconv, f"max_pool{rank}d")(x, 2, 2, "SAME")
    ap = getattr(numconv, f"avg_pool{rank}d")(x, 2, 2, "SAME")
    assert_matches(mp, ref_pool(x, (2,) * rank, (2,) * rank, "SAME", (1,) * rank, "MAX"),
                   exact=True)
    assert_matches(ap, ref_pool(x, (2,) * rank, (2,) * rank, "SAME", (1,) * rank, "AVG"))


def test_global_pools():
    x = rand(2, 3, 4, 5)
    assert_matches(numconv.global_max_pool(x), x.max(axis=(1, 2)), exact=True)
    assert_matches(numconv.global_avg_pool(x, keepdims=True), x.mean(axis=(1, 2), keepdims=True))
    cf = numconv.global_avg_pool(np.moveaxis(x, -1, 1), "NCHW")
    assert_matches(cf, x.mean(axis=(1, 2)))


def test_inputs_not_modified():
    x = rand(1, 6, 6, 2)
    x.flags.writeable = False
    before = x.copy()
    numconv.max_pool2d(x, 3, 2, "SAME")
    numconv.avg_pool2d(x, 3, 2, "SAME")
    np.testing.assert_array_equal(x, before)
