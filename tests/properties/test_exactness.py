"""The default path's per-element error bound, and the fast algorithms' normwise bound.

Every output of a direct sum of ``K`` products (``algorithm="auto"`` with the default
``precision="exact"``; im2col, shift, pointwise) must be within
``gamma_K * (|x| conv |w|)`` of the exact result, ``gamma_K = K u / (1 - K u)`` and ``u``
the accumulation dtype's unit roundoff; float16 adds its final rounding,
``u16 * |result|`` (plus half the smallest subnormal where the result underflows).
Winograd and FFT (explicit, or ``precision="fast"``) meet only the normwise bound
``max |got - truth| <= 4 u max|x| max_co sum|w[..., co]|``.

The truth and ``|x| conv |w|`` come from this file's own reference: the padded input's
windows gathered tap by tap (padding from tests/loops.py's window counting) and
summed in ``np.longdouble`` with ``np.einsum``.  Data spans magnitudes 1e-6..1e6
(float16: 1e-2..1e1, its range).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import numconv
from numconv.algorithms import EXACT, choose, requirement
from numconv.crosscheck import conv_error
from numconv.geometry import resolve
from loops import ref_dim

LD = np.dtype(np.longdouble)
U_TRUTH = float(np.finfo(LD).eps) / 2
FLOATS = ["float16", "float32", "float64"]
#: the documented normwise constants (measured maxima: winograd 17.5, fft 1.4)
NORMWISE_C = {"winograd": 32.0, "fft": 4.0}


def unit(dtype) -> float:
    return float(np.finfo(dtype).eps) / 2


def gamma(k: int, u: float) -> float:
    return k * u / (1 - k * u)


def wide(rng, shape, dtype):
    """Magnitudes 1e-6..1e6 (float16: 1e-2..1e1), random signs."""
    lo, hi = (-2, 1) if np.dtype(dtype) == np.float16 else (-6, 6)
    return (rng.standard_normal(shape) * 10.0 ** rng.uniform(lo, hi, shape)).astype(dtype)


# --------------------------------------------------------------------------- reference

def _dims(spatial, window, strides, padding, dilations):
    pads = [padding] * len(spatial) if isinstance(padding, str) else padding
    return [ref_dim(n, k, s, d, p)
            for n, k, s, d, p in zip(spatial, window, strides, dilations, pads)]


def _tap_slices(dims, tap, strides, dilations):
    """The padded input read by one tap for every output (``out`` of them per dim)."""
    return tuple(slice(t * d, t * d + max(out - 1, 0) * s + (out > 0), s)
                 for (out, *_), t, s, d in zip(dims, tap, strides, dilations))


def _padded_zeros(shape, dims, dtype):
    """Zeros of the padded input's shape, and the index of the input inside it."""
    padded = [n + before + after for n, (_, before, after, _) in zip(shape[1:-1], dims)]
    inner = tuple(slice(before, before + n) for n, (_, before, *_) in zip(shape[1:-1], dims))
    return np.zeros((shape[0], *padded, shape[-1]), dtype), (slice(None), *inner)


def windows(x, window, strides, padding, dilations):
    """``(N, *out, taps, C)`` in longdouble: every output's window, tap by tap."""
    dims = _dims(x.shape[1:-1], window, strides, padding, dilations)
    xp, inner = _padded_zeros(x.shape, dims, LD)
    xp[inner] = x
    taps = [xp[(slice(None), *_tap_slices(dims, t, strides, dilations))]
            for t in itertools.product(*map(range, window))]
    return np.stack(taps, axis=-2)


def split_filters(w, groups):
    """``(*window, cin_g, cout)`` -> ``(taps, cin_g, groups, cout_g)`` in longdouble."""
    taps, (cin_g, cout) = math.prod(w.shape[:-2]), w.shape[-2:]
    return w.astype(LD).reshape(taps, cin_g, groups, cout // groups)


def ref_forward(x, w, strides, padding, dilations, bias=None):
    """(truth, |x| conv |w| + |b|), channels-last, longdouble."""
    n = w.ndim - 2
    cin_g, cout = w.shape[-2:]
    groups = x.shape[-1] // cin_g

    def conv(xv, wv, bv):
        win = windows(xv, w.shape[:n], strides, padding, dilations)
        win = win.reshape(*win.shape[:-1], groups, cin_g)
        wt = split_filters(wv, groups)
        out = np.einsum("...tgc,tcgj->...gj", win, wt).reshape(*win.shape[:-3], cout)
        return out if bv is None else out + bv.astype(LD)

    return conv(x, w, bias), conv(np.abs(x), np.abs(w), None if bias is None else np.abs(bias))


def ref_input_grad(x_shape, w, g, strides, padding, dilations):
    """(dx, |g| conv^T |w|): each output's gradient scattered back onto its window."""
    n = w.ndim - 2
    cin_g, cout = w.shape[-2:]
    groups = x_shape[-1] // cin_g
    dims = _dims(x_shape[1:-1], w.shape[:n], strides, padding, dilations)

    def grad(gv, wv):
        dxp, inner = _padded_zeros(x_shape, dims, LD)
        wt = split_filters(wv, groups)
        gs = gv.astype(LD).reshape(*gv.shape[:-1], groups, cout // groups)
        for i, tap in enumerate(itertools.product(*map(range, w.shape[:n]))):
            part = np.einsum("...gj,cgj->...gc", gs, wt[i]).reshape(*gs.shape[:-2], -1)
            dxp[(slice(None), *_tap_slices(dims, tap, strides, dilations))] += part
        return dxp[inner]

    return grad(g, w), grad(np.abs(g), np.abs(w))


def ref_filter_grad(x, w_shape, g, strides, padding, dilations):
    """(dw, |x|^T conv |g|): the windows transposed, times the output gradient."""
    n = len(w_shape) - 2
    cin_g, cout = w_shape[-2:]
    groups = x.shape[-1] // cin_g

    def grad(xv, gv):
        win = windows(xv, w_shape[:n], strides, padding, dilations)
        win = win.reshape(*win.shape[:-1], groups, cin_g)
        gs = gv.astype(LD).reshape(*gv.shape[:-1], groups, cout // groups)
        lead = "npqr"[:n + 1]
        dw = np.einsum(f"{lead}tgc,{lead}gj->tcgj", win, gs)
        return dw.reshape(*w_shape)

    return grad(x, g), grad(np.abs(x), np.abs(g))


# --------------------------------------------------------------------------- the check

def assert_within(got, truth, magnitude, k, acc_dtype, result_dtype):
    """``|got - truth| <= gamma_K(u_acc) (|x| conv |w|)`` per element (+ float16's rounding).

    The reference's own rounding (``gamma_K`` in longdouble, on the truth and on the
    magnitudes) is added to the tolerance, so the check is rigorous.
    """
    assert got.dtype == result_dtype
    assert got.shape == truth.shape
    u_acc, u_res = unit(acc_dtype), unit(result_dtype)
    final = u_res if result_dtype != acc_dtype else 0.0
    coef = gamma(k, u_acc) * (1 + final) + final
    slack = gamma(k, U_TRUTH)
    tol = (coef + 2 * slack) * magnitude.astype(np.float64) * (1 + 2 * slack)
    if result_dtype == np.float16:          # underflow: half the smallest subnormal
        tol += float(np.finfo(np.float16).smallest_subnormal) / 2
    err = np.abs(got.astype(LD) - truth).astype(np.float64)
    bad = err > tol
    assert not bad.any(), (
        f"{bad.sum()} of {bad.size} outputs exceed the per-element bound (K={k}); worst "
        f"|err| / (|x| conv |w|) = {np.max(err / np.maximum(magnitude, 1e-300)):.3g}, "
        f"bound {coef:.3g}")


def acc_of(dtype):
    return np.dtype(np.float32) if np.dtype(dtype) == np.float16 else np.dtype(dtype)


# --------------------------------------------------------------------------- forward

#: (x shape, filters shape, strides, padding, dilations, bias): 1-3-D, grouped, 1x1
FORWARD = {
    "1d-stride2": ((2, 17, 3), (5, 3, 4), (2,), "SAME", (1,), False),
    "1d-dilated": ((1, 30, 1), (9, 1, 1), (1,), "VALID", (2,), False),
    "2d-same": ((2, 9, 8, 5), (3, 3, 5, 4), (1, 1), "SAME", (1, 1), True),
    "2d-strided": ((2, 9, 8, 5), (3, 3, 5, 4), (2, 1), "SAME", (1, 2), False),
    "2d-64ch": ((1, 6, 6, 64), (3, 3, 64, 64), (1, 1), "SAME", (1, 1), False),
    "2d-9x9": ((1, 16, 16, 1), (9, 9, 1, 1), (1, 1), "SAME", (1, 1), False),
    "2d-rgb-to-1": ((1, 12, 10, 3), (5, 5, 3, 1), (1, 1), "SAME", (1, 1), True),
    "2d-grouped": ((1, 7, 7, 6), (3, 3, 2, 6), (1, 1), ((1, 2), (0, 1)), (1, 1), False),
    "2d-1x1": ((2, 5, 5, 8), (1, 1, 8, 6), (1, 1), "VALID", (1, 1), True),
    "2d-1x1-strided": ((2, 5, 5, 8), (1, 1, 8, 6), (2, 2), "SAME", (1, 1), False),
    "3d": ((1, 5, 6, 4, 3), (3, 2, 3, 3, 4), (1, 1, 1), "SAME", (1, 2, 1), False),
}


def forward_params():
    for name, (xs, ws, s, p, d, b) in FORWARD.items():
        g = resolve(xs[1:-1], ws[:-2], s, d, p if isinstance(p, str) else list(p))
        for algo in ("auto", *EXACT, "reference"):     # the reference is a direct sum too
            if algo == "auto" or requirement(algo, g) is None:
                yield pytest.param(name, algo, id=f"{name}-{algo}")


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name, algo", list(forward_params()))
def test_forward_per_element(name, algo, dtype):
    xs, ws, strides, padding, dilations, with_bias = FORWARD[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    x, w = wide(rng, xs, dtype), wide(rng, ws, dtype)
    b = wide(rng, (ws[-1],), dtype) if with_bias else None
    got = numconv.convolution(x, w, strides, padding, dilations=dilations, bias=b,
                              algorithm=algo)
    truth, magnitude = ref_forward(x, w, strides, padding, dilations, b)
    k = math.prod(ws[:-1]) + (b is not None)
    assert_within(got, truth, magnitude, k, acc_of(dtype), np.dtype(dtype))


@settings(max_examples=60)
@given(n=st.integers(1, 3), data=st.data(), groups=st.sampled_from([1, 2]),
       cin_g=st.integers(1, 5), cout_g=st.integers(1, 5), seed=st.integers(0, 2**16),
       pads=st.sampled_from(["SAME", "VALID"]), bias=st.booleans(),
       dtype=st.sampled_from(FLOATS))
def test_auto_per_element_any_geometry(n, data, groups, cin_g, cout_g, seed, pads, bias,
                                       dtype):
    """algorithm="auto", any rank, window, stride, dilation, grouping: per element."""
    window = data.draw(st.tuples(*[st.integers(1, 4)] * n), label="window")
    strides = data.draw(st.tuples(*[st.integers(1, 3)] * n), label="strides")
    dilations = data.draw(st.tuples(*[st.integers(1, 2)] * n), label="dilations")
    spatial = data.draw(st.tuples(*[st.integers(1, 9 if n < 3 else 5)] * n), label="size")
    rng = np.random.default_rng(seed)
    x = wide(rng, (2, *spatial, groups * cin_g), dtype)
    w = wide(rng, (*window, cin_g, groups * cout_g), dtype)
    b = wide(rng, (groups * cout_g,), dtype) if bias else None
    got = numconv.convolution(x, w, strides, pads, dilations=dilations, bias=b)
    truth, magnitude = ref_forward(x, w, strides, pads, dilations, b)
    k = math.prod(window) * cin_g + bias
    assert_within(got, truth, magnitude, k, acc_of(dtype), np.dtype(dtype))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("strides", [1, 2])
def test_depthwise_per_element(dtype, strides):
    rng = np.random.default_rng(3)
    x, w = wide(rng, (2, 8, 8, 4), dtype), wide(rng, (3, 3, 4, 2), dtype)
    got = numconv.depthwise_conv2d(x, w, strides, "SAME")
    truth, magnitude = ref_forward(x, w.reshape(3, 3, 1, 8), (strides,) * 2, "SAME", (1, 1))
    assert_within(got, truth, magnitude, 9, acc_of(dtype), np.dtype(dtype))


def test_channels_first_per_element():
    rng = np.random.default_rng(4)
    x, w = wide(rng, (2, 9, 8, 5), np.float32), wide(rng, (3, 3, 5, 4), np.float32)
    got = numconv.conv2d(np.moveaxis(x, -1, 1), w, 1, "SAME", data_format="NCHW")
    truth, magnitude = ref_forward(x, w, (1, 1), "SAME", (1, 1))
    assert_within(np.moveaxis(got, 1, -1), truth, magnitude, 45, np.float32, np.float32)


# the two reports that started this: auto ran winograd, then fft, and lost the small outputs
ISSUE_CASES = [(7, (1, 6, 6, 64), (3, 3, 64, 64), (0, 2, 0, 5)),
               (9, (1, 16, 16, 1), (9, 9, 1, 1), (0, 1, 0, 0))]


@pytest.mark.parametrize("seed, xs, ws, index", ISSUE_CASES)
def test_reported_cases_are_within_bound_by_default(seed, xs, ws, index):
    rng = np.random.default_rng(seed)
    x, w = wide(rng, xs, np.float32), wide(rng, ws, np.float32)
    got = numconv.conv2d(x, w, 1, "SAME")
    truth, magnitude = ref_forward(x, w, (1, 1), "SAME", (1, 1))
    assert_within(got, truth, magnitude, math.prod(ws[:-1]), np.float32, np.float32)
    assert abs(got[index] - truth[index]) <= 1e-6 * abs(truth[index])


#: the reported data on shapes where ``precision="fast"`` runs Winograd and FFT
FAST_CASES = [(7, (1, 24, 24, 64), (3, 3, 64, 64), "winograd"),
              (9, (1, 16, 16, 1), (9, 9, 1, 1), "fft")]


@pytest.mark.parametrize("seed, xs, ws, algo", FAST_CASES)
def test_fast_is_opt_in_and_only_normwise(seed, xs, ws, algo):
    """precision="fast" (argument or context) runs the fast algorithm: per element it is
    far off somewhere, but within its normwise bound."""
    g = resolve(xs[1:3], ws[:2], (1, 1), (1, 1), "SAME")
    assert choose(xs, ws, g, 1, np.dtype(np.float32), "fast") == algo
    rng = np.random.default_rng(seed)
    x, w = wide(rng, xs, np.float32), wide(rng, ws, np.float32)
    truth, magnitude = ref_forward(x, w, (1, 1), "SAME", (1, 1))
    fast = numconv.conv2d(x, w, 1, "SAME", precision="fast")
    with numconv.default_precision("fast"):
        assert np.array_equal(numconv.conv2d(x, w, 1, "SAME"), fast)
        exact = numconv.conv2d(x, w, 1, "SAME", precision="exact")
    assert_within(exact, truth, magnitude, math.prod(ws[:-1]), np.float32, np.float32)
    err = np.abs(fast.astype(LD) - truth).astype(np.float64)
    k = math.prod(ws[:-1])
    assert (err > gamma(k, unit(np.float32)) * magnitude).any()     # as reported
    scale = np.abs(x).max() * np.abs(w).reshape(-1, ws[-1]).sum(0).max()
    assert err.max() <= NORMWISE_C[algo] * unit(np.float32) * scale


def test_set_default_precision_is_per_context():
    import contextvars

    def fast_here():
        numconv.set_default_precision("fast")
        return numconv.get_default_precision()

    assert contextvars.copy_context().run(fast_here) == "fast"
    assert numconv.get_default_precision() == "exact"


@settings(max_examples=200)
@given(n=st.integers(1, 3), window=st.integers(1, 16), stride=st.integers(1, 2),
       cin=st.integers(1, 300), cout=st.integers(1, 300), depthwise=st.booleans(),
       size=st.integers(1, 80), dtype=st.sampled_from(FLOATS + ["int32"]))
def test_auto_picks_only_direct_sums_by_default(n, window, stride, cin, cout, depthwise, size,
                                                dtype):
    groups = cin if depthwise else 1
    cout = cout * groups if depthwise else cout
    g = resolve((size,) * n, (window,) * n, (stride,) * n, (1,) * n, "SAME")
    w_shape = (window,) * n + (cin // groups, cout)
    assert choose((2, *(size,) * n, cin), w_shape, g, groups, np.dtype(dtype)) in EXACT


# --------------------------------------------------------------------------- gradients

#: (x shape, filters shape, strides, padding, dilations): stride 1 runs dx as a forward
#: conv of g (the gather), stride 2 as a scatter-add
GRADS = {
    "1d": ((2, 13, 3), (4, 3, 2), (1,), "SAME", (2,)),
    "2d-gather-64ch": ((1, 6, 6, 64), (3, 3, 64, 64), (1, 1), "SAME", (1, 1)),
    "2d-gather-9x9": ((1, 14, 14, 1), (9, 9, 1, 1), (1, 1), "SAME", (1, 1)),
    "2d-scatter": ((2, 9, 8, 4), (3, 3, 4, 5), (2, 2), "SAME", (1, 1)),
    "2d-grouped": ((1, 8, 7, 6), (3, 2, 3, 4), (1, 1), "VALID", (1, 1)),
    "3d": ((1, 4, 5, 4, 2), (2, 3, 2, 2, 3), (1, 2, 1), "SAME", (1, 1, 1)),
}


def grad_data(name, dtype):
    xs, ws, strides, padding, dilations = GRADS[name]
    rng = np.random.default_rng(sum(map(ord, name)) + 1)
    x, w = wide(rng, xs, dtype), wide(rng, ws, dtype)
    out_shape = numconv.convolution(x, w, strides, padding, dilations=dilations).shape
    return x, w, wide(rng, out_shape, dtype), (strides, padding, dilations)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", list(GRADS))
def test_input_grad_per_element(name, dtype):
    x, w, g, (strides, padding, dilations) = grad_data(name, dtype)
    dx = numconv.conv_backprop_input(x.shape, w, g, strides, padding, dilations=dilations)
    truth, magnitude = ref_input_grad(x.shape, w, g, strides, padding, dilations)
    cout_g = w.shape[-1] // (x.shape[-1] // w.shape[-2])
    k = math.prod(w.shape[:-2]) * cout_g
    assert_within(dx, truth, magnitude, k, acc_of(dtype), np.dtype(dtype))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", list(GRADS))
def test_filter_grad_per_element(name, dtype):
    x, w, g, (strides, padding, dilations) = grad_data(name, dtype)
    dw = numconv.conv_backprop_filter(x, w.shape, g, strides, padding, dilations=dilations)
    truth, magnitude = ref_filter_grad(x, w.shape, g, strides, padding, dilations)
    k = math.prod(g.shape[:-1])
    assert_within(dw, truth, magnitude, k, acc_of(dtype), np.dtype(dtype))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("strides", [1, 2])
def test_transpose_per_element(dtype, strides):
    rng = np.random.default_rng(5)
    out_shape, w = (2, 9, 10, 3), wide(rng, (3, 3, 3, 4), dtype)
    y = wide(rng, (2, -(-9 // strides), -(-10 // strides), 4), dtype)
    got = numconv.conv2d_transpose(y, w, out_shape, strides, "SAME")
    truth, magnitude = ref_input_grad(out_shape, w, y, (strides,) * 2, "SAME", (1, 1))
    assert_within(got, truth, magnitude, 9 * 4, acc_of(dtype), np.dtype(dtype))


@pytest.mark.parametrize("dtype", FLOATS)
def test_depthwise_grads_per_element(dtype):
    rng = np.random.default_rng(6)
    x, w = wide(rng, (2, 7, 6, 3), dtype), wide(rng, (3, 3, 3, 2), dtype)
    g = wide(rng, (2, 7, 6, 6), dtype)
    dx = numconv.depthwise_conv2d_backprop_input(x.shape, w, g, 1, "SAME")
    dw = numconv.depthwise_conv2d_backprop_filter(x, w.shape, g, 1, "SAME")
    grouped = w.reshape(3, 3, 1, 6)
    truth, magnitude = ref_input_grad(x.shape, grouped, g, (1, 1), "SAME", (1, 1))
    assert_within(dx, truth, magnitude, 9 * 2, acc_of(dtype), np.dtype(dtype))
    truth, magnitude = ref_filter_grad(x, grouped.shape, g, (1, 1), "SAME", (1, 1))
    assert_within(dw, truth.reshape(w.shape), magnitude.reshape(w.shape), 2 * 7 * 6,
                  acc_of(dtype), np.dtype(dtype))


def test_vjp_per_element():
    """vjp's pullback of a 64-channel 3x3 conv (where "fast" would run Winograd)."""
    x, w, g, _ = grad_data("2d-gather-64ch", np.float32)
    _, pullback = numconv.vjp(numconv.conv2d, x, w, 1, "SAME")
    dx, dw = pullback(g)
    truth, magnitude = ref_input_grad(x.shape, w, g, (1, 1), "SAME", (1, 1))
    assert_within(dx, truth, magnitude, 9 * 64, np.float32, np.float32)
    truth, magnitude = ref_filter_grad(x, w.shape, g, (1, 1), "SAME", (1, 1))
    assert_within(dw, truth, magnitude, 36, np.float32, np.float32)


def test_vjp_keeps_the_forward_precision():
    """A forward call with precision="fast" pulls back with "fast" too: its dx is the
    Winograd gather's, bit for bit (a 24x24 image: "fast" runs Winograd from 36 tiles)."""
    rng = np.random.default_rng(5)
    x, w = wide(rng, (1, 24, 24, 64), np.float32), wide(rng, (3, 3, 64, 64), np.float32)
    g = wide(rng, (1, 24, 24, 64), np.float32)
    _, pullback = numconv.vjp(numconv.conv2d, x, w, 1, "SAME", precision="fast")
    dx_fast = numconv.conv2d_backprop_input(x.shape, w, g, 1, "SAME", precision="fast")
    dx_exact = numconv.conv2d_backprop_input(x.shape, w, g, 1, "SAME")
    assert not np.array_equal(dx_fast, dx_exact)
    assert np.array_equal(pullback(g)[0], dx_fast)


# --------------------------------------------------------------------------- normwise

#: (algorithm, x shape, filters shape, padding): the measured grid of the README's table
NORMWISE = [
    ("winograd", (2, 10, 10, 8), (3, 3, 8, 8), "SAME"),
    ("winograd", (1, 9, 7, 3), (3, 3, 3, 5), "VALID"),
    ("winograd", (1, 16, 16, 64), (3, 3, 64, 64), "SAME"),
    ("winograd", (4, 6, 6, 1), (3, 3, 1, 1), "SAME"),          # the measured worst case
    ("winograd", (2, 13, 11, 2), (3, 3, 2, 3), "SAME"),        # tile remainders
    ("winograd", (1, 8, 8, 256), (3, 3, 256, 16), "SAME"),
    ("fft", (1, 16, 16, 1), (9, 9, 1, 1), "SAME"),
    ("fft", (1, 20, 24, 3), (5, 5, 3, 8), "SAME"),
    ("fft", (1, 20, 24, 3), (5, 5, 3, 8), "VALID"),
    ("fft", (2, 40, 40, 4), (15, 15, 4, 4), "SAME"),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["wide", "gaussian"])
@pytest.mark.parametrize("algo, xs, ws, padding", NORMWISE)
def test_fast_algorithms_normwise_bound(algo, xs, ws, padding, kind, dtype):
    """``max |got - truth| <= c u max|x| max_co sum|w[..., co]|`` on a seeded grid."""
    for seed in range(3):
        rng = np.random.default_rng(seed)
        make = wide if kind == "wide" else (lambda r, s, d: r.standard_normal(s).astype(d))
        x, w = make(rng, xs, dtype), make(rng, ws, dtype)
        got = numconv.conv2d(x, w, 1, padding, algorithm=algo)
        truth, _ = ref_forward(x, w, (1, 1), padding, (1, 1))
        err = float(np.abs(got.astype(LD) - truth).max())
        scale = float(np.abs(x).max()) * float(np.abs(w).reshape(-1, ws[-1]).sum(0).max())
        assert err <= NORMWISE_C[algo] * unit(dtype) * scale


def test_conv_error_measures_against_the_reference():
    """crosscheck.conv_error: the per-element and normwise ratios of this file's checks."""
    rng = np.random.default_rng(8)
    x, w = wide(rng, (1, 16, 16, 1), np.float32), wide(rng, (9, 9, 1, 1), np.float32)
    got = numconv.conv2d(x, w, 1, "SAME", algorithm="fft")
    e = conv_error(got, x, w, 1, "SAME")
    truth, magnitude = ref_forward(x, w, (1, 1), "SAME", (1, 1))
    err = np.abs(got.astype(LD) - truth).astype(np.float64)
    assert e.per_element == pytest.approx(float(np.max(err / magnitude)), rel=1e-6)
    scale = float(np.abs(x).max()) * float(np.abs(w).sum())
    assert e.normwise == pytest.approx(err.max() / scale, rel=1e-6)
    assert e.unit_roundoff == 2.0**-24
    assert e.per_element > gamma(81, e.unit_roundoff)   # beyond a direct sum's bound
