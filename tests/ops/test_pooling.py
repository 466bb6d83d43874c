"""Pooling against numconv.reference (via tests/oracle.py); PyTorch options; global pools; NaN."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import numconv
from helpers import assert_matches
from oracle import ref_pool

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


# --------------------------------------------------------------------------- last-axis strategies
# numconv.kernels.pool reduces the last spatial axis either tap by tap (strided
# slices) or with stride 1 and then subsamples; _subsample_wins picks.  Both branches
# are forced here and checked against numconv.reference and against each other.

STRATEGY_GRID = [
    # (spatial, window, strides, dilations, padding, channels)
    ((9,), (3,), (2,), (1,), "SAME", 3),                 # 1-D: the first axis is the last
    ((10,), (2,), (3,), (2,), [(2, 1)], 2),              # dilated, explicit asymmetric pads
    ((11,), (1,), (3,), (1,), "VALID", 2),               # window 1: a plain subsample
    ((7, 9), (3, 3), (2, 2), (1, 1), "SAME", 3),         # the avg-pool issue case, small
    ((8, 8), (2, 2), (2, 2), (1, 1), "VALID", 4),        # the max-pool issue case, small
    ((6, 11), (2, 5), (1, 4), (1, 1), "SAME", 2),        # large window, stride 4
    ((6, 10), (3, 2), (2, 3), (2, 3), "SAME", 5),        # dilated W, pads on both sides
    ((5, 9), (1, 3), (1, 2), (1, 1), [(0, 0), (1, 2)], 1),  # H untouched; one channel
    ((5, 4), (2, 3), (2, 2), (1, 1), [(1, 1), (3, 3)], 2),  # pads wider than the input
    ((4, 5, 9), (2, 2, 3), (2, 1, 2), (1, 1, 2), "SAME", 3),
    ((3, 4, 7), (1, 1, 3), (1, 1, 3), (1, 1, 1), "VALID", 2),  # 3-D, only W reduced
]


@pytest.fixture(params=["taps", "subsample"])
def strategy(request, monkeypatch):
    from numconv.kernels import pool as reduce
    monkeypatch.setattr(reduce, "_subsample_wins", lambda *a: request.param == "subsample")
    return request.param


@pytest.mark.parametrize("spatial, window, strides, dilations, padding, channels",
                         STRATEGY_GRID)
@pytest.mark.parametrize("kind", ["MAX", "AVG"])
def test_last_axis_strategies_against_reference(strategy, spatial, window, strides,
                                                dilations, padding, channels, kind):
    x = rand(2, *spatial, channels)
    got = numconv.pool(x, list(window), kind, strides, padding, None, dilations)
    expected = ref_pool(x, window, strides, padding, dilations, kind)
    assert_matches(got, expected, exact=kind == "MAX", dtype=np.float64)


@pytest.mark.parametrize("kind, options", [
    ("MAX", {"ceil_mode": True}),
    ("AVG", {"ceil_mode": True, "count_include_pad": True}),
    ("AVG", {"divisor_override": 4}),
])
def test_last_axis_strategies_torch_options(strategy, kind, options):
    x = rand(2, 7, 10, 3)
    got = numconv.pool(x, [3, 3], kind, 2, [(1, 1), (1, 1)], **options)
    expected = ref_pool(x, (3, 3), (2, 2), [(1, 1), (1, 1)], (1, 1), kind, **options)
    assert_matches(got, expected, exact=kind == "MAX", dtype=np.float64)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.int8, np.uint16, np.int64])
@pytest.mark.parametrize("kind", ["MAX", "AVG"])
def test_last_axis_strategies_dtypes(strategy, dtype, kind):
    # small integers: every sum and average is exact in the result dtype
    x = RNG.integers(0, 60, size=(2, 6, 9, 3)).astype(dtype)
    got = numconv.pool(x, [3, 3], kind, 2, "SAME")
    expected = ref_pool(x, (3, 3), (2, 2), "SAME", (1, 1), kind)
    result = dtype if kind == "MAX" else {np.float16: np.float16, np.float32: np.float32}.get(
        dtype, np.float64)
    assert_matches(got, expected.astype(result), exact=True, dtype=result)


@pytest.mark.parametrize("data_format", ["NCW", "NCHW"])
def test_last_axis_strategies_channels_first(strategy, data_format):
    # channels first: the canonical view's channels are not contiguous
    spatial = (11,) if data_format == "NCW" else (5, 11)
    x = rand(2, 3, *spatial)
    n = len(spatial)
    cf = numconv.pool(x, [3] * n, "AVG", 2, "SAME", data_format)
    expected = ref_pool(np.moveaxis(x, 1, -1), (3,) * n, (2,) * n, "SAME", (1,) * n, "AVG")
    assert_matches(np.moveaxis(cf, 1, -1), expected, dtype=np.float64)


@pytest.mark.parametrize("kind", ["MAX", "AVG"])
def test_last_axis_strategies_give_the_same_bits(monkeypatch, kind):
    # both ways add the same values in the same order
    from numconv.kernels import pool as reduce
    x = RNG.standard_normal((3, 13, 17, 6)).astype(np.float32)
    results = []
    for choice in (False, True):
        monkeypatch.setattr(reduce, "_subsample_wins", lambda *a, c=choice: c)
        results.append(numconv.pool(x, [3, 3], kind, 2, "SAME"))
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("shape, window, strides, wins", [
    ((8, 112, 112, 64), 3, 2, True),     # the benchmark's cases: 256-byte channel vectors
    ((8, 112, 112, 64), 2, 2, False),    # windows no wider than the stride: nothing shared
    ((8, 224, 224, 8), 2, 2, True),      # small channel vectors: any window
    ((8, 112, 112, 64), 3, 3, False),    # stride 3: the strided taps' loops are long enough
    ((8, 28, 28, 256), 2, 2, False),
    ((1, 400, 600, 1), 2, 2, False),     # one channel: one long strided loop
    ((8, 224, 224, 3), 3, 2, True),
    ((8, 224, 224, 8), 5, 4, True),      # small channel vectors: any stride
    ((8, 112, 112, 16), 5, 4, False),
])
def test_subsample_choice(shape, window, strides, wins):
    from numconv.kernels.pool import _subsample_wins
    from numconv.geometry import resolve
    d = resolve(shape[1:3], (window,) * 2, (strides,) * 2, (1, 1), "SAME").dims[1]
    assert _subsample_wins(d, shape[-1], np.dtype(np.float32)) is wins
    assert not _subsample_wins(d, shape[-1], np.dtype(np.float16))


def test_nan_ignoring_max_against_reference():
    # nan_policy="ignore": max(lowest finite, non-NaN taps); padding never wins
    x = rand(2, 7, 9, 3)
    x[x > 1.0] = np.nan
    x[0, :3, :3, 0] = np.nan                       # a window of only NaN
    got = numconv.max_pool2d(x, 3, 2, "SAME", nan_policy="ignore")
    expected = ref_pool(np.where(np.isnan(x), -np.inf, x), (3, 3), (2, 2), "SAME", (1, 1),
                        "MAX")
    np.testing.assert_array_equal(got, np.maximum(expected, np.finfo(x.dtype).min))
    assert got[0, 0, 0, 0] == np.finfo(x.dtype).min


def test_concurrent_calls():
    # calls from several threads share the worker pool, not their scratch buffers
    import concurrent.futures
    shapes = [(2, 9, 12, 3), (1, 5, 7, 2), (3, 12, 6, 4)]
    xs = [rand(*s) for s in shapes]
    expected = [ref_pool(x, (3, 3), (2, 2), "SAME", (1, 1), "AVG") for x in xs]
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        got = list(pool.map(lambda x: numconv.avg_pool2d(x, 3, 2, "SAME"), xs * 3))
    for g, e in zip(got, expected * 3):
        assert_matches(g, e)


@pytest.mark.parametrize("spatial, window, strides", [((300,), 3, 2), ((40, 60), 3, 2),
                                                      ((3, 20, 40), 2, 3)])
def test_last_axis_strategies_in_small_blocks(strategy, spatial, window, strides):
    # a 1 KiB workspace: blocks of one row (in 1-D, of a few positions of the axis
    # that is subsampled); the bits do not depend on the blocks
    x = rand(2, *spatial, 3)
    n = len(spatial)
    args = ([window] * n, "AVG", strides, "SAME")
    whole = numconv.pool(x, *args)
    with numconv.workspace_limit(1024):
        got = numconv.pool(x, *args)
    np.testing.assert_array_equal(got, whole)
    assert_matches(got, ref_pool(x, (window,) * n, (strides,) * n, "SAME", (1,) * n, "AVG"))


@pytest.mark.parametrize("kind", ["MAX", "AVG"])
def test_input_without_elements_and_explicit_pads(kind):
    # W = 0 but padded to 2: every window holds padding only (-inf / NaN)
    x = rand(1, 3, 0, 2)
    got = numconv.pool(x, [1, 1], kind, 1, [(0, 0), (1, 1)])
    assert_matches(got, ref_pool(x, (1, 1), (1, 1), [(0, 0), (1, 1)], (1, 1), kind),
                   exact=True, dtype=np.float64)
