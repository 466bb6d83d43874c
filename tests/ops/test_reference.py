"""numconv.reference, the oracle of the op tests, checked independently of itself.

By hand-checkable arithmetic, by identities (col2im is im2col's adjoint; im2col is
the tap loop ``cols[:, t] = padded[at(t)]``), and against the plain nested loops of
tests/loops.py over random geometries.  Also ``algorithm="reference"`` through the
public functions.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import numconv
from helpers import assert_matches
from loops import (loop_avg_pool_vjp, loop_conv, loop_conv_vjp, loop_max_pool_vjp, loop_pool,
                   out_shape)
from numconv import reference as R
from numconv.geometry import resolve

RNG = np.random.default_rng(1130)


def column(*values):
    """A (1, n, 1) array: one 1-D image of one channel."""
    return np.array(values, dtype=float).reshape(1, -1, 1)


# --------------------------------------------------------------------------- by hand

def test_window_view_pads_and_strides_by_hand():
    x = np.arange(1.0, 5.0).reshape(1, 2, 2, 1)                   # [[1, 2], [3, 4]]
    g = resolve((2, 2), (2, 2), (1, 1), (1, 1), [(1, 0), (0, 1)])  # a zero row above, col right
    view = R.window_view(R.pad(x, g, 0.0), g)
    assert view.shape == (1, 2, 2, 2, 2, 1) and not view.flags.writeable
    assert view[0, 0, 0, :, :, 0].tolist() == [[0, 0], [1, 2]]
    assert view[0, 1, 1, :, :, 0].tolist() == [[2, 0], [4, 0]]
    g = resolve((7,), (2,), (2,), (3,), "VALID")                  # taps 3 apart, every 2nd start
    assert R.window_view(np.arange(7).reshape(1, 7, 1), g)[0, :, :, 0].tolist() == \
        [[0, 3], [2, 5]]


def test_im2col_rows_are_positions_and_columns_taps_then_channels():
    x = np.stack([np.arange(9.0), 10 * np.arange(9.0)], axis=-1).reshape(1, 3, 3, 2)
    cols = R.im2col(x, resolve((3, 3), (2, 2), (1, 1), (1, 1), "VALID"))
    assert cols.shape == (4, 8)                                   # 2x2 positions, 4 taps x 2
    assert cols[0].tolist() == [0, 0, 1, 10, 3, 30, 4, 40]        # window at (0, 0)
    assert cols[3].tolist() == [4, 40, 5, 50, 7, 70, 8, 80]       # window at (1, 1)


def test_conv_by_hand():
    x = np.zeros((1, 3, 3, 1))
    x[0, 1, 1, 0] = 1                                             # one bright pixel
    edge = np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], float)[:, :, None, None]
    out = R.conv(x, edge, resolve((3, 3), (3, 3), (1, 1), (1, 1), "SAME"))
    assert out[0, :, :, 0].tolist() == [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]
    # two groups: channel 0 times 1, channel 1 times 2; dilation 2 skips the middle
    x = np.stack([np.arange(5.0), 10 * np.arange(5.0)], axis=-1).reshape(1, 5, 2)
    w = np.array([1.0, 2.0]).reshape(1, 1, 2) * np.ones((2, 1, 1))
    out = R.conv(x, w, resolve((5,), (2,), (1,), (2,), "VALID"), groups=2)
    assert out[0].tolist() == [[0 + 2, 2 * (0 + 20)], [1 + 3, 2 * (10 + 30)],
                               [2 + 4, 2 * (20 + 40)]]


def test_conv_vjp_by_hand():
    # out = [x0 - x1, x1 - x2]; g = [1, 1]: dx = [1, 0, -1], dw = [x0 + x1, x1 + x2]
    dx, dw = R.conv_vjp(column(1, 2, 3), np.array([1.0, -1.0]).reshape(2, 1, 1),
                        column(1, 1), resolve((3,), (2,), (1,), (1,), "VALID"))
    assert dx.ravel().tolist() == [1, 0, -1] and dw.ravel().tolist() == [3, 5]


def test_pools_by_hand():
    x = column(1, 2, 3, 4, 5)
    same = resolve((5,), (3,), (2,), (1,), "SAME")                # windows [p,1,2] [2,3,4] [4,5,p]
    assert R.max_pool(x, same).ravel().tolist() == [2, 4, 5]
    assert R.avg_pool(x, same).ravel().tolist() == [1.5, 3, 4.5]  # padding never counted
    assert R.avg_pool(x, same, count_include_pad=True).ravel().tolist() == [1, 3, 3]
    assert R.avg_pool(x, same, divisor_override=1).ravel().tolist() == [3, 9, 9]
    ceil = resolve((5,), (2,), (2,), (1,), [(0, 0)], ceil_mode=True)  # [1,2] [3,4] [5]
    assert R.avg_pool(x, ceil).ravel().tolist() == [1.5, 3.5, 5]
    assert R.avg_pool(x, ceil, count_include_pad=True).ravel().tolist() == [1.5, 3.5, 5]
    nan = R.max_pool(column(-1, np.nan, 2), resolve((3,), (2,), (1,), (1,), "VALID"))
    assert np.isnan(nan).all() and nan.size == 2                  # NaN propagates
    with np.errstate(invalid="ignore"):                           # windows of padding only
        pads_only = R.avg_pool(column(1), resolve((1,), (1,), (1,), (1,), [(1, 1)]))
    assert np.isnan(pads_only.ravel()).tolist() == [True, False, True]


def test_pool_vjps_by_hand():
    # window 3, stride 1, SAME on 4 zeros: [p,0,1] [0,1,2] [1,2,3] [2,3,p]: ties, first wins
    g = resolve((4,), (3,), (1,), (1,), "SAME")
    assert R.max_pool_vjp(column(0, 0, 0, 0), column(1, 1, 1, 1), g).ravel().tolist() == \
        [2, 1, 1, 0]
    # -inf on the input beats the -inf of the padding: window [x2, pad] -> x2
    g = resolve((3,), (2,), (2,), (1,), "SAME")
    assert R.max_pool_vjp(column(-np.inf, -np.inf, -np.inf), column(1, 1), g).ravel().tolist() \
        == [1, 0, 1]
    assert R.max_pool_vjp(column(1, np.nan, 3, np.nan, 0), column(1, 1, 1, 1),
                          resolve((5,), (2,), (1,), (1,), "VALID")).ravel().tolist() == \
        [0, 2, 0, 2, 0]                                           # the first NaN
    same = resolve((5,), (3,), (2,), (1,), "SAME")
    assert R.avg_pool_vjp((1, 5, 1), column(6, 6, 6), same).ravel().tolist() == \
        [3, 3 + 2, 2, 2 + 3, 3]
    assert R.avg_pool_vjp((1, 5, 1), column(6, 6, 6), same, True).ravel().tolist() == \
        [2, 4, 2, 4, 2]


def test_relu_and_its_vjp_by_hand():
    x = np.array([-1.0, 0.0, 2.0, np.nan])
    assert R.relu(x)[:3].tolist() == [0, 0, 2] and np.isnan(R.relu(x)[3])
    assert R.relu_vjp(x, np.full(4, 5.0)).tolist() == [0, 0, 5, 0]   # 0 at x = 0


# --------------------------------------------------------------------------- identities

@st.composite
def geometries(draw, pool=False):
    """(x shape, window, strides, dilations, padding, ceil_mode) over 1 to 3 spatial dims."""
    n = draw(st.integers(1, 3))
    spatial = draw(st.tuples(*[st.integers(1, 6)] * n))
    window = draw(st.tuples(*[st.integers(1, 3)] * n))
    strides = draw(st.tuples(*[st.integers(1, 3)] * n))
    dilations = draw(st.tuples(*[st.integers(1, 2)] * n))
    padding = draw(st.one_of(st.sampled_from(["SAME", "VALID"]), st.tuples(
        *[st.tuples(st.integers(0, 2), st.integers(0, 2))] * n)))
    ceil_mode = pool and padding != "SAME" and draw(st.booleans())
    if ceil_mode and padding != "VALID":  # PyTorch's domain: pads at most half the window
        padding = tuple(tuple(min(p, ((k - 1) * d + 1) // 2) for p in pair)
                        for pair, k, d in zip(padding, window, dilations))
    x_shape = (draw(st.integers(1, 2)), *spatial, draw(st.integers(1, 3)))
    return x_shape, window, strides, dilations, padding, ceil_mode


def resolved(x_shape, window, strides, dilations, padding, ceil_mode=False):
    return resolve(x_shape[1:-1], window, strides, dilations, padding, ceil_mode)


@settings(max_examples=60, deadline=None)
@given(geometries())
def test_im2col_is_the_tap_loop_and_col2im_its_adjoint(case):
    x_shape, window, strides, dilations, padding, _ = case
    g = resolved(*case[:5])
    x = RNG.standard_normal(x_shape)
    cols = R.im2col(x, g)
    # im2col, tap by tap: cols[:, t] = padded[o*stride + t*dilation]
    xp = np.pad(x, [(0, 0), *g.pads, (0, 0)])
    loop = np.zeros((x_shape[0], *g.out_shape, *window, x_shape[-1]))
    for t in np.ndindex(*window):
        at = tuple(slice(k * d, k * d + o * s, s)
                   for k, d, s, o in zip(t, dilations, strides, g.out_shape))
        loop[(slice(None),) * (len(window) + 1) + t] = xp[(slice(None), *at)]
    np.testing.assert_array_equal(cols, loop.reshape(cols.shape))
    # <im2col(x), y> == <x, col2im(y)>
    y = RNG.standard_normal(cols.shape)
    back = R.col2im(y, x_shape, g)
    assert back.shape == x_shape
    np.testing.assert_allclose(np.vdot(cols, y), np.vdot(x, back), rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- against loops

@settings(max_examples=60, deadline=None)
@given(geometries(), st.integers(1, 2), st.integers(1, 2))
def test_conv_and_its_vjp_against_loops(case, groups, multiplier):
    x_shape, window, strides, dilations, padding, _ = case
    x = RNG.standard_normal((*x_shape[:-1], x_shape[-1] * groups))
    w = RNG.standard_normal((*window, x_shape[-1], groups * multiplier))
    g = resolved(x.shape, window, strides, dilations, padding)
    out = R.conv(x, w, g, groups)
    assert_matches(out, loop_conv(x, w, strides, padding, dilations), dtype=np.float64)
    dy = RNG.standard_normal(out.shape)
    dx, dw = R.conv_vjp(x, w, dy, g, groups)
    dx_loop, dw_loop = loop_conv_vjp(x, w, dy, strides, padding, dilations)
    assert_matches(dx, dx_loop, dtype=np.float64)
    assert_matches(dw, dw_loop, dtype=np.float64)


@settings(max_examples=80, deadline=None)
@given(geometries(pool=True), st.booleans(), st.sampled_from([None, 3]), st.booleans())
def test_pools_and_their_vjps_against_loops(case, include, override, ties):
    x_shape, window, strides, dilations, padding, ceil_mode = case
    x = RNG.integers(0, 3, x_shape).astype(float) if ties else RNG.standard_normal(x_shape)
    x[RNG.random(x_shape) < 0.1] = -np.inf                        # ties with the padding
    g = resolved(*case)
    options = dict(count_include_pad=include, divisor_override=override)
    assert_matches(R.max_pool(x, g), loop_pool(x, window, strides, padding, dilations, "MAX",
                                               ceil_mode=ceil_mode), exact=True)
    y = RNG.standard_normal(out_shape(x_shape, window, strides, padding, dilations,
                                      x_shape[-1], ceil_mode))
    assert_matches(R.max_pool_vjp(x, y, g),
                   loop_max_pool_vjp(x, y, window, strides, padding, dilations, ceil_mode))
    x[np.isinf(x)] = 0.0
    with np.errstate(invalid="ignore"):
        avg = R.avg_pool(x, g, **options)
    assert_matches(avg, loop_pool(x, window, strides, padding, dilations, "AVG",
                                  ceil_mode=ceil_mode, **options), dtype=np.float64)
    assert_matches(R.avg_pool_vjp(x_shape, y, g, **options),
                   loop_avg_pool_vjp(x_shape, y, window, strides, padding, dilations,
                                     ceil_mode, include, override), dtype=np.float64)


# --------------------------------------------------------------------------- algorithm="reference"

@pytest.mark.parametrize("fmt", ["NHWC", "NCHW"])
@pytest.mark.parametrize("dtype, result", [(np.float32, np.float32), (np.float16, np.float16),
                                           (np.int16, np.int64)])
def test_public_conv_runs_the_reference(fmt, dtype, result):
    x = RNG.integers(-3, 4, (2, 6, 7, 4)).astype(dtype)          # small ints: exact sums
    w = RNG.integers(-3, 4, (3, 2, 2, 6)).astype(dtype)          # two groups
    expected = loop_conv(x, w, (2, 1), "SAME", (1, 2)).astype(result)
    xin = x if fmt == "NHWC" else np.moveaxis(x, -1, 1)
    got = numconv.conv2d(xin, w, (2, 1), "SAME", fmt, (1, 2), algorithm="reference")
    assert_matches(got if fmt == "NHWC" else np.moveaxis(got, 1, -1), expected, exact=True,
                   dtype=result)


@pytest.mark.parametrize("fn, kind, options", [
    ("max_pool2d", "MAX", {}), ("avg_pool2d", "AVG", {}),
    ("avg_pool2d", "AVG", {"count_include_pad": True, "ceil_mode": True}),
    ("avg_pool2d", "AVG", {"divisor_override": 4})])
@pytest.mark.parametrize("fmt", ["NHWC", "NCHW"])
def test_public_pools_run_the_reference(fn, kind, options, fmt):
    x = RNG.standard_normal((2, 7, 6, 3))
    padding = "SAME" if not options.get("ceil_mode") else [(1, 1), (0, 1)]
    expected = loop_pool(x, (3, 2), (2, 2), padding, (1, 1), kind, **options)
    xin = x if fmt == "NHWC" else np.moveaxis(x, -1, 1)
    got = getattr(numconv, fn)(xin, (3, 2), 2, padding, fmt, algorithm="reference", **options)
    got = got if fmt == "NHWC" else np.moveaxis(got, 1, -1)
    assert_matches(got, expected, exact=kind == "MAX", dtype=np.float64)


def test_public_reference_empty_output_and_integer_pools():
    assert numconv.conv2d(np.ones((1, 2, 2, 1)), np.ones((3, 3, 1, 2)),
                          algorithm="reference").shape == (1, 0, 0, 2)
    x = RNG.integers(-100, 100, (1, 5, 5, 2)).astype(np.int8)
    got = numconv.max_pool(x, 2, 2, "SAME", algorithm="reference")
    assert got.dtype == np.int8
    assert_matches(got, loop_pool(x, (2, 2), (2, 2), "SAME", (1, 1), "MAX").astype(np.int8))
    avg = numconv.avg_pool(x, 2, 2, "SAME", algorithm="reference")
    assert_matches(avg, loop_pool(x, (2, 2), (2, 2), "SAME", (1, 1), "AVG"), dtype=np.float64)


# --------------------------------------------------------------------------- numconv.im2col

@pytest.mark.parametrize("fmt", ["NHWC", "NCHW"])
def test_public_im2col_flatten_is_the_textbook_patch_matrix(fmt):
    x = np.stack([np.arange(9.0), 10 * np.arange(9.0)], axis=-1).reshape(1, 3, 3, 2)
    xin = x if fmt == "NHWC" else np.moveaxis(x, -1, 1)
    cols = numconv.im2col(xin, 2, data_format=fmt, flatten=True)
    assert cols.shape == (4, 8)                                   # 2x2 positions, 4 taps x 2
    assert cols[1].tolist() == [1, 10, 2, 20, 4, 40, 5, 50]       # window at (0, 1)
    w = RNG.standard_normal((2, 2, 2, 3))
    expected = loop_conv(x, w, (1, 1), "VALID", (1, 1))
    assert_matches((cols @ w.reshape(-1, 3)).reshape(1, 2, 2, 3), expected, dtype=np.float64)
    y = RNG.standard_normal(cols.shape)                           # col2im takes it back
    back = numconv.col2im(y, xin.shape, 2, data_format=fmt)
    assert back.shape == xin.shape
    np.testing.assert_allclose(np.vdot(cols, y), np.vdot(xin, back), rtol=1e-12)


def test_public_col2im_refuses_a_flat_matrix_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"col2im: cols must have shape \(4, 4\) \(im2col's "
                       r"output with flatten=True for input_shape\), got shape \(4, 3\)"):
        numconv.col2im(np.ones((4, 3)), (1, 3, 3, 1), 2)


# --------------------------------------------------------------------------- memory

@pytest.mark.parametrize("call", [
    lambda x, w: numconv.conv2d(x, w, 1, "SAME", algorithm="reference"),
    lambda x, w: numconv.conv2d(x, w[:, :, :2], 1, "VALID", algorithm="reference"),   # groups
    lambda x, w: numconv.conv2d(np.moveaxis(x, -1, 1), w, 1, "SAME", "NCHW",
                                algorithm="reference"),
    lambda x, w: numconv.max_pool2d(x, 3, 1, "SAME", algorithm="reference"),
    lambda x, w: numconv.avg_pool2d(x.astype(np.int16), 3, 1, "SAME", algorithm="reference"),
])
def test_the_budget_charges_what_the_reference_allocates(call):
    """No blocks: the padded copy and the whole patch matrix are charged, and cover the
    measured peak (tracemalloc) but for Python's bookkeeping."""
    import tracemalloc
    x = np.ones((2, 60, 50, 8), np.float32)
    w = np.ones((3, 3, 8, 8), np.float32)
    call(x, w)
    tracemalloc.start()
    try:
        out = call(x, w)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    with numconv.memory_limit(peak - (64 << 10)):          # the peak includes the output
        with pytest.raises(ValueError, match=r"must keep the memory this call needs under "
                                             r"the limit"):
            call(x, w)
    with numconv.memory_limit(out.nbytes + 2 * peak):
        call(x, w)
