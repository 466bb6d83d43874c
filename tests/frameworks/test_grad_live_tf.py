"""Randomised cross-check of the backward passes against live TensorFlow (GradientTape).

About 1,400 gradient configurations per run (the ``max_examples`` below: convolution
500, depthwise 100, transposed 100, pooling 500, argmax 100, activations 100), each a
fresh draw of rank, sizes, window, strides, dilations, padding, layout, groups and
data.  Every configuration computes ``L = <f(x), g>`` for a random ``g`` in TF and
compares all of TF's gradients with numconv's.  Tolerances: float64 rtol/atol 1e-12,
float32 1e-5, the atol scaled by the number of summed terms (``helpers``); max-pool
argmax indices and ReLU-family gradients exactly.

The draws stay inside what TF 2.21's CPU kernels compute (see data/tf_reference/grad.py):
dilated or grouped convolution gradients in float32 (oneDNN) and without explicit pads,
no strides with dilation in pooling, 3-D pooling in float32, no empty outputs.  Three
measured divergences are pinned at the end: TF's 3-D max-pool gradient on ties, its
max-pool gradient with NaN; and a wrong float64 ``Conv3D`` result (window 1, stride 3,
SAME) that TF's gradient of ``conv3d_transpose`` runs into.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")

import numconv  # noqa: E402
from helpers import assert_matches  # noqa: E402

pytestmark = pytest.mark.live
LAST = {1: "NWC", 2: "NHWC", 3: "NDHWC"}
FIRST = {1: "NCW", 2: "NCHW", 3: "NCDHW"}
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def tape(fn, *arrays):
    """TF: (y, g, gradients of <fn(*arrays), g>) for a random g (float32-exact values)."""
    ts = [tf.constant(a) for a in arrays]
    with tf.GradientTape() as t:
        for s in ts:
            t.watch(s)
        y = fn(*ts)
    g = np.random.default_rng(len(arrays)).standard_normal(y.shape).astype(y.dtype.name)
    return np.asarray(y), g, [np.asarray(v) for v in t.gradient(y, ts, tf.constant(g))]


def data_array(rng, shape, dtype, ties=False):
    if ties:
        return rng.integers(0, 3, shape).astype(dtype)
    return rng.standard_normal(shape).astype(np.float32).astype(dtype)


def to(a, last):
    return a if last else np.moveaxis(a, -1, 1)


def back(a, last):
    return a if last else np.moveaxis(a, 1, -1)


def out_size(n, k, s, d, padding):
    eff = (k - 1) * d + 1
    if padding == "SAME":
        return -(-n // s)
    b, a = (0, 0) if padding == "VALID" else padding
    return (n + b + a - eff + s) // s


@st.composite
def conv_config(draw):
    n = draw(st.integers(1, 3))
    spatial = draw(st.tuples(*[st.integers(1, 7 if n < 3 else 5)] * n))
    window = draw(st.tuples(*[st.integers(1, 3)] * n))
    dilated = draw(st.booleans()) and n < 3 or draw(st.integers(0, 5)) == 0
    dilations = draw(st.tuples(*[st.integers(1, 2)] * n)) if dilated else (1,) * n
    strides = draw(st.tuples(*[st.integers(1, 3)] * n))
    if max(dilations) > 1 and n == 3:
        strides = (1,) * n
    groups = draw(st.integers(1, 3)) if n < 3 else 1
    explicit = n == 2 and max(dilations) == 1 and groups == 1 and draw(st.booleans())
    padding = (draw(st.tuples(*[st.tuples(st.integers(0, 2), st.integers(0, 2))] * n))
               if explicit else draw(st.sampled_from(["SAME", "VALID"])))
    pads = [padding] * n if isinstance(padding, str) else padding
    assume(all(out_size(*a) >= 1 for a in zip(spatial, window, strides, dilations, pads)))
    return n, spatial, window, strides, dilations, padding, groups


@settings(max_examples=500, **SETTINGS)
@given(conv_config(), st.integers(1, 2), st.booleans(), st.integers(0, 2**32 - 1))
def test_convolution_gradients(config, cin_g, last, seed):
    n, spatial, window, strides, dilations, padding, groups = config
    dtype = np.float32 if groups > 1 or max(dilations) > 1 else np.float64
    rng = np.random.default_rng(seed)
    cout = groups * rng.integers(1, 3)
    x = data_array(rng, (2, *spatial, cin_g * groups), dtype)
    w = data_array(rng, (*window, cin_g, cout), dtype)
    b = data_array(rng, (cout,), dtype)
    pads = padding if isinstance(padding, str) else [[0, 0], *map(list, padding), [0, 0]]
    conv = {1: lambda x_, w_: tf.nn.conv1d(x_, w_, strides[0], padding, "NWC", dilations[0]),
            2: lambda x_, w_: tf.nn.conv2d(x_, w_, list(strides), pads, "NHWC", list(dilations)),
            3: lambda x_, w_: tf.nn.conv3d(x_, w_, [1, *strides, 1], padding, "NDHWC",
                                           [1, *dilations, 1])}[n]
    y, g, (dx, dw, db) = tape(lambda x_, w_, b_: tf.nn.bias_add(conv(x_, w_), b_), x, w, b)
    fmt = (LAST if last else FIRST)[n]
    _, pullback = numconv.vjp(numconv.convolution, to(x, last), w, strides, padding, fmt,
                              dilations, bias=b)
    gx, gw, gb = pullback(to(g, last))
    assert_matches(back(gx, last), dx, dtype=dtype, scale=math.prod(window) * cout)
    assert_matches(gw, dw, dtype=dtype, scale=g.size // cout)
    assert_matches(gb, db, dtype=dtype, scale=g.size // cout)


@settings(max_examples=100, **SETTINGS)
@given(st.tuples(st.integers(2, 7), st.integers(2, 7)), st.tuples(st.integers(1, 3),
       st.integers(1, 3)), st.integers(1, 2), st.integers(1, 2), st.integers(1, 2),
       st.sampled_from(["SAME", "VALID"]), st.booleans(), st.integers(0, 2**32 - 1))
def test_depthwise_gradients(spatial, window, stride, dilation, mult, padding, last, seed):
    strides, dilations = (stride, stride), (dilation, dilation)
    if dilation > 1:
        strides = (1, 1)          # TF: strides with dilation give a wrongly shaped result
    pads = [padding] * 2
    assume(all(out_size(*a) >= 1 for a in zip(spatial, window, strides, dilations, pads)))
    dtype = np.float32 if dilation > 1 else np.float64
    rng = np.random.default_rng(seed)
    x, f = data_array(rng, (2, *spatial, 3), dtype), data_array(rng, (*window, 3, mult), dtype)
    _, g, (dx, df) = tape(lambda x_, f_: tf.nn.depthwise_conv2d(
        x_, f_, [1, *strides, 1], padding, dilations=list(dilations)), x, f)
    fmt = "NHWC" if last else "NCHW"
    gx = numconv.depthwise_conv2d_backprop_input(to(x, last).shape, f, to(g, last), strides,
                                                 padding, fmt, dilations)
    gf = numconv.depthwise_conv2d_backprop_filter(to(x, last), f.shape, to(g, last), strides,
                                                  padding, fmt, dilations)
    assert_matches(back(gx, last), dx, dtype=dtype, scale=math.prod(window) * mult)
    assert_matches(gf, df, dtype=dtype, scale=g.size // g.shape[-1])


@settings(max_examples=100, **SETTINGS)
@given(st.data(), st.integers(0, 2**32 - 1))
def test_conv_transpose_and_its_gradients(data, seed):
    n = data.draw(st.integers(1, 3))
    size = data.draw(st.tuples(*[st.integers(1, 4)] * n))
    window = data.draw(st.tuples(*[st.integers(1, 3)] * n))
    strides = data.draw(st.tuples(*[st.integers(1, 3)] * n))
    padding = data.draw(st.sampled_from(["SAME", "VALID"]))
    last = data.draw(st.booleans())
    if padding == "SAME":   # every output size o with ceil(o / s) == in
        out = [data.draw(st.integers((i - 1) * s + 1, i * s)) for i, s in zip(size, strides)]
    else:                   # every o with (o - k) // s + 1 == in
        out = [data.draw(st.integers((i - 1) * s + k, (i - 1) * s + k + s - 1))
               for i, s, k in zip(size, strides, window)]
    rng = np.random.default_rng(seed)
    dtype = np.float32 if n == 3 else np.float64   # TF's float64 Conv3D: see the end
    y, w = data_array(rng, (2, *size, 3), dtype), data_array(rng, (*window, 2, 3), dtype)
    f = getattr(tf.nn, f"conv{n}d_transpose")
    stride = list(strides) if n > 1 else strides[0]
    res, g, (dy, dw) = tape(lambda y_, w_: f(y_, w_, [2, *out, 2], stride, padding), y, w)
    fmt = (LAST if last else FIRST)[n]
    oshape = [2, *out, 2] if last else [2, 2, *out]
    got, pullback = numconv.vjp(numconv.conv_transpose, to(y, last), w, oshape, strides,
                                padding, fmt)
    assert_matches(back(got, last), res, dtype=dtype, scale=math.prod(window) * 3)
    gy, gw = pullback(to(g, last))
    assert_matches(back(gy, last), dy, dtype=dtype, scale=math.prod(window) * 2)
    assert_matches(gw, dw, dtype=dtype, scale=g.size // 2)


@settings(max_examples=500, **SETTINGS)
@given(st.data(), st.integers(0, 2**32 - 1))
def test_pooling_gradients(data, seed):
    n = data.draw(st.integers(1, 3))
    kind = data.draw(st.sampled_from(["MAX", "AVG"]))
    spatial = data.draw(st.tuples(*[st.integers(1, 7 if n < 3 else 5)] * n))
    window = data.draw(st.tuples(*[st.integers(1, 3)] * n))
    dilated = data.draw(st.integers(0, 4)) == 0
    if dilated:             # tf.nn.pool: VALID and strides 1 only with dilation
        dilations, strides, padding = data.draw(st.tuples(*[st.integers(1, 3)] * n)), \
            (1,) * n, "VALID"
    else:
        dilations = (1,) * n
        strides = data.draw(st.tuples(*[st.integers(1, 3)] * n))
        explicit = kind == "MAX" and n < 3 and data.draw(st.booleans())
        padding = (tuple((data.draw(st.integers(0, k - 1)), data.draw(st.integers(0, k - 1)))
                         for k in window) if explicit
                   else data.draw(st.sampled_from(["SAME", "VALID"])))
    pads = [padding] * n if isinstance(padding, str) else padding
    assume(all(out_size(*a) >= 1 for a in zip(spatial, window, strides, dilations, pads)))
    ties = kind == "MAX" and n < 3 and data.draw(st.booleans())
    last = data.draw(st.booleans())
    dtype = np.float32 if n == 3 else np.float64
    rng = np.random.default_rng(seed)
    x = data_array(rng, (2, *spatial, 2), dtype, ties)
    if n == 3 and kind == "MAX":  # distinct values far apart: TF 3-D treats near-ties as ties
        x = (rng.permutation(x.size).reshape(x.shape) / x.size).astype(dtype)
    if dilated:
        call = lambda x_: tf.nn.pool(x_, list(window), kind, list(strides), padding,  # noqa
                                     dilations=list(dilations))
    else:
        f = getattr(tf.nn, f"{kind.lower()}_pool{n}d")
        tf_pads = padding if isinstance(padding, str) else [[0, 0], *map(list, padding), [0, 0]]
        call = lambda x_: f(x_, list(window), list(strides), tf_pads)  # noqa: E731
    _, g, (dx,) = tape(call, x)
    fmt = (LAST if last else FIRST)[n]
    if kind == "MAX":
        got = numconv.max_pool_grad(to(x, last), to(g, last), window, strides, padding, fmt,
                                    dilations=dilations)
    else:
        got = numconv.avg_pool_grad(to(x, last).shape, to(g, last), window, strides, padding,
                                    fmt, dilations=dilations)
    assert_matches(back(got, last), dx, dtype=dtype, scale=math.prod(window))


@settings(max_examples=100, **SETTINGS)
@given(st.tuples(st.integers(1, 7), st.integers(1, 7)), st.tuples(st.integers(1, 3),
       st.integers(1, 3)), st.tuples(st.integers(1, 3), st.integers(1, 3)),
       st.sampled_from(["SAME", "VALID"]), st.booleans(), st.booleans(),
       st.sampled_from([np.float32, np.float64]), st.integers(0, 2**32 - 1))
def test_max_pool_with_argmax(spatial, window, strides, padding, batch_index, ties, dtype,
                              seed):
    pads = [padding] * 2
    assume(all(out_size(*a, 1, p) >= 1 for a, p in zip(zip(spatial, window, strides), pads)))
    x = data_array(np.random.default_rng(seed), (2, *spatial, 3), dtype, ties)
    out, idx = tf.nn.max_pool_with_argmax(x, list(window), list(strides), padding,
                                          include_batch_in_index=batch_index)
    _, g, (dx,) = tape(lambda x_: tf.nn.max_pool_with_argmax(
        x_, list(window), list(strides), padding, include_batch_in_index=batch_index)[0], x)
    (got, got_idx), pullback = numconv.vjp(numconv.max_pool_with_argmax, x, window, strides,
                                           padding, include_batch_in_index=batch_index)
    assert_matches(got, np.asarray(out), exact=True, dtype=dtype)
    assert_matches(got_idx, np.asarray(idx), exact=True, dtype=np.int64)
    assert_matches(pullback(g)[0], dx, dtype=dtype, scale=math.prod(window))


@settings(max_examples=100, **SETTINGS)
@given(st.lists(st.sampled_from([-2.0, -0.0, 0.0, 0.5, 3.0, 6.0, 7.5, -1e-3]), min_size=1,
                max_size=12), st.sampled_from(["relu", "relu6", "leaky_relu"]),
       st.sampled_from([np.float32, np.float64]), st.integers(0, 2**32 - 1))
def test_activation_gradients(values, name, dtype, seed):
    shift = np.random.default_rng(seed).integers(0, 2, len(values)) * 0.25
    x = (np.array(values) + shift).astype(dtype)
    tf_fn = {"relu": tf.nn.relu, "relu6": tf.nn.relu6,
             "leaky_relu": lambda t: tf.nn.leaky_relu(t, alpha=0.25)}[name]
    _, g, (dx,) = tape(tf_fn, x)
    kwargs = {"alpha": 0.25} if name == "leaky_relu" else {}
    _, pullback = numconv.vjp(getattr(numconv, name), x, **kwargs)
    assert_matches(pullback(g)[0], dx, exact=True, dtype=dtype)


def test_divergence_3d_max_pool_ties():
    # TF 2.21's MaxPool3DGrad gives the whole gradient to every tied maximum, and to
    # near-ties (measured: 1 - 6e-6 ties with 1, 1 - 1e-5 does not); its 2-D kernel (and
    # numconv, in every rank) gives it to the first maximum in window order
    x = np.zeros((1, 2, 2, 2, 1), np.float32)
    _, g, (dx,) = tape(lambda t: tf.nn.max_pool3d(t, 2, 2, "VALID"), x)
    assert (dx == g.item()).all()
    ours = numconv.max_pool_grad(x, g, 2, 2, "VALID")
    assert ours.ravel().tolist() == [g.item()] + [0.0] * 7
    near = np.array([1.0, 0, 0, 1 - 6e-6], np.float32).reshape(1, 2, 2, 1, 1)
    _, g, (dx,) = tape(lambda t: tf.nn.max_pool3d(t, (2, 2, 1), 1, "VALID"), near)
    assert dx.ravel().tolist() == [g.item(), 0, 0, g.item()]
    assert numconv.max_pool_grad(near, g, (2, 2, 1), 1, "VALID").ravel().tolist() == \
        [g.item(), 0, 0, 0]
    _, g2, (dx2,) = tape(lambda t: tf.nn.max_pool2d(t, 2, 2, "VALID"), x[:, 0])
    assert dx2.ravel().tolist() == [g2.item(), 0, 0, 0]


def test_divergence_nan_in_max_pool():
    # TF's CPU max pool skips NaN in the forward op and routes the gradient of the window
    # [NaN, 3] to the NaN; numconv propagates NaN and gives each window's gradient to
    # its first NaN
    x = np.array([1.0, np.nan, 3.0, 2.0], np.float32).reshape(1, 4, 1, 1)
    y, g, (dx,) = tape(lambda t: tf.nn.max_pool2d(t, (2, 1), 1, "VALID"), x)
    assert y.ravel().tolist() == [1.0, 3.0, 3.0]
    assert (dx.ravel() == [g.ravel()[0], g.ravel()[1], g.ravel()[2], 0]).all()
    ours = numconv.max_pool_grad(x, g, (2, 1), 1, "VALID").ravel()
    assert ours.tolist() == [0, g.ravel()[0] + g.ravel()[1], g.ravel()[2], 0]


def test_divergence_float64_conv3d_window_1_stride_3_same():
    # TF 2.21's float64 (non-oneDNN) Conv3D is wrong along a dim with window 1, stride 3
    # and SAME padding (measured; float32 through oneDNN is right).  The gradient of
    # conv3d_transpose is that Conv3D, so float64 transposed 3-D cases above use float32.
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((1, 9, 2, 2, 1)), rng.standard_normal((1, 1, 1, 1, 1))
    expected = x[:, ::3] * w.item()                       # out[i] = x[3 i] * w, by hand
    np.testing.assert_allclose(numconv.conv3d(x, w, (3, 1, 1), "SAME"), expected, rtol=1e-15)
    tf64 = np.asarray(tf.nn.conv3d(x, w, [1, 3, 1, 1, 1], "SAME"))
    assert not np.allclose(tf64, expected)
    tf32 = np.asarray(tf.nn.conv3d(x.astype(np.float32), w.astype(np.float32), [1, 3, 1, 1, 1],
                                   "SAME"))
    np.testing.assert_allclose(tf32, expected, rtol=1e-5, atol=1e-6)
