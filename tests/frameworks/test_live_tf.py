"""Random configurations compared live with TensorFlow, and TF's documented divergences.

Hypothesis draws every configuration by construction inside what TF's CPU kernels
compute (measured on TF 2.21; see data/tf_reference/ops.py): no strides > 1 with
dilations > 1 through ``tf.nn.convolution`` / ``tf.nn.pool``, no pool strides larger
than the window through ``tf.nn.pool``, 3-D pooling and dilated Conv3D in float32 only,
no grouped Conv3D, max-pool explicit pads smaller than the window, and always a
non-empty output (oneDNN's float32 convolution returns garbage and its float32 max
pool crashes the process on an empty one).  What depends on TF's kernel choice
(oneDNN, TF's x86 default, or Eigen with ``TF_ENABLE_ONEDNN_OPTS=0``) is asked of TF
once at import.  Wrong TF 2.21 results are avoided by construction and documented by
the divergence tests at the end: oneDNN's float32 Conv2D/Conv3D with one input channel,
output width 1 and width stride > 1 (the draw gets two input channels instead), and
Eigen's 3-D SAME windows where ``(out - 1) * s + eff - in < 0`` (Conv3D is then called
with TF's documented SAME pads, explicitly: ``tf.pad`` and VALID; Eigen 3-D pooling
gets VALID instead).  TF's CPU kernels are channels-last: channels-first cases
transpose around the TF call.

Tolerances (``helpers.TOLERANCES``, rtol / atol): float32 1e-5 / 1e-5, float64
1e-12 / 1e-12, the atol multiplied by the number of terms summed per output (taps x
input channels per group; pooling window); max pooling, ReLU and im2col exactly, ReLU
after flushing subnormal results to zero on both sides (TF's CPU threads run with
flush-to-zero).
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")

import numconv  # noqa: E402
from helpers import assert_matches  # noqa: E402

pytestmark = pytest.mark.live

#: examples per test; together with tests/frameworks/test_live_torch.py over 1,000 configurations
EXAMPLES = {"conv": 500, "depthwise": 150, "pool": 400, "relu": 200, "im2col": 150}


def live(name: str):
    return settings(max_examples=EXAMPLES[name], deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


FLOATS = st.sampled_from(["float32", "float64"])


def _tf_computes(call) -> bool:
    """Ask TF once whether its CPU kernels support a configuration class."""
    try:
        call()
    except tf.errors.OpError:
        return False
    return True


_F32 = np.float32
#: oneDNN (TF's default x86 CPU kernels) dilates float32 Conv3D and takes unequal
#: depthwise strides; Eigen refuses both (e.g. with TF_ENABLE_ONEDNN_OPTS=0)
CONV3D_DILATES_F32 = _tf_computes(lambda: tf.nn.conv3d(
    np.ones((1, 3, 3, 3, 1), _F32), np.ones((2, 2, 2, 1, 1), _F32), [1] * 5, "VALID",
    dilations=[1, 2, 2, 2, 1]))
DEPTHWISE_UNEQUAL_STRIDES_F32 = _tf_computes(lambda: tf.nn.depthwise_conv2d(
    np.ones((1, 4, 4, 1), _F32), np.ones((2, 2, 1, 1), _F32), [1, 1, 2, 1], "VALID"))
#: Eigen's 3-D SAME windows start a pixel late where ``(out - 1) * s + eff - in < 0``
#: (test_eigen_conv3d_same_negative_pad): float32 pooling only without oneDNN
POOL3D_SAME_SHIFTS = np.asarray(tf.nn.max_pool3d(
    np.arange(3, dtype=_F32).reshape(1, 1, 3, 1, 1), 1, [1, 3, 1], "SAME")).item() != 0

LAST = {1: "NWC", 2: "NHWC", 3: "NDHWC"}
FIRST = {1: "NCW", 2: "NCHW", 3: "NCDHW"}


def first(a) -> np.ndarray:
    """Channels-last -> channels-first."""
    return np.ascontiguousarray(np.moveaxis(np.asarray(a), -1, 1))


def ints(n: int, lo: int, hi: int) -> st.SearchStrategy:
    return st.tuples(*[st.integers(lo, hi)] * n)


@st.composite
def spatial(draw, n: int, k: tuple, d: tuple, mode: str, max_pad: int | tuple = 3):
    """Padding (a string or pairs) and input sizes with a non-empty output."""
    if mode == "EXPLICIT":
        limits = max_pad if isinstance(max_pad, tuple) else (max_pad,) * n
        pads = tuple((draw(st.integers(0, m)), draw(st.integers(0, m))) for m in limits)
    else:
        pads = ((0, 0),) * n
    lows = [1 if mode == "SAME" else max(1, (ki - 1) * di + 1 - b - a)
            for ki, di, (b, a) in zip(k, d, pads)]
    sizes = tuple(draw(st.integers(lo, lo + 6)) for lo in lows)
    return (mode if mode != "EXPLICIT" else pads), sizes


def out_sizes(size: tuple, k: tuple, s: tuple, d: tuple, padding) -> list[int]:
    """TF's output size per dim (``GetWindowedOutputSize``), for choosing configurations."""
    pairs = [padding] * len(size) if isinstance(padding, str) else padding
    out = []
    for z, ki, si, di, p in zip(size, k, s, d, pairs):
        eff = (ki - 1) * di + 1
        b, a = (0, 0) if isinstance(p, str) else p
        out.append(-(-z // si) if p == "SAME" else max((z + b + a - eff + si) // si, 0))
    return out


def same_pads(size: tuple, k: tuple, s: tuple, d: tuple) -> tuple:
    """TF's documented SAME pads: total ``max((out - 1) * s + eff - in, 0)``, odd one after."""
    pads = []
    for z, ki, si, di in zip(size, k, s, d):
        total = max((-(-z // si) - 1) * si + (ki - 1) * di + 1 - z, 0)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)


def eigen_3d_same_shifts(size: tuple, k: tuple, s: tuple, d: tuple) -> bool:
    """Whether Eigen's 3-D SAME (Conv3D, pooling) is wrong here: a negative raw pad."""
    return any((-(-z // si) - 1) * si + (ki - 1) * di + 1 - z < 0
               for z, ki, si, di in zip(size, k, s, d))


def tf_pads(padding):
    return padding if isinstance(padding, str) else [[0, 0], *map(list, padding), [0, 0]]


def np_out(t) -> np.ndarray:
    return np.asarray(t)


# --------------------------------------------------------------------------- convolution

@st.composite
def conv_configs(draw):
    n = draw(st.integers(1, 3))
    dtype = draw(FLOATS)
    groups = 1 if n == 3 else draw(st.integers(1, 3))
    k = draw(ints(n, 1, 4))
    s = draw(ints(n, 1, 3))
    dilates = n < 3 or (dtype == "float32" and CONV3D_DILATES_F32)  # Eigen Conv3D: no
    d = draw(ints(n, 1, 3)) if dilates else (1,) * n
    padding, size = draw(spatial(n, k, d, draw(st.sampled_from(["SAME", "VALID", "EXPLICIT"]))))
    cin = groups * draw(st.integers(1, 3))
    if (n >= 2 and dtype == "float32" and cin == 1 and s[-1] > 1
            and out_sizes(size, k, s, d, padding)[-1] == 1):
        cin = 2  # oneDNN's float32 width-1 bug (test_onednn_conv_width_one_output)
    return dict(n=n, dtype=dtype, groups=groups, k=k, s=s, d=d, padding=padding, size=size,
                cin=cin, cout=groups * draw(st.integers(1, 3)),
                batch=draw(st.integers(1, 2)), last=draw(st.booleans()),
                seed=draw(st.integers(0, 2**32 - 1)))


def tf_conv(x, w, s, d, padding):
    """TF convolution of channels-last ``x`` for any drawn configuration."""
    n = x.ndim - 2
    if n == 2:
        return np_out(tf.nn.conv2d(x, w, list(s), tf_pads(padding), dilations=list(d)))
    if n == 1 and isinstance(padding, str):
        return np_out(tf.nn.conv1d(x, w, s[0], padding, dilations=d[0]))
    if n == 1:  # explicit 1-D pads: conv2d on a height-1 image
        return np_out(tf.nn.conv2d(x[:, None], w[None], [1, s[0]],
                                   tf_pads(((0, 0), padding[0])), dilations=[1, d[0]]))[:, 0]
    if padding == "SAME" and eigen_3d_same_shifts(x.shape[1:-1], w.shape[:3], s, d):
        padding = same_pads(x.shape[1:-1], w.shape[:3], s, d)  # test_eigen_conv3d_same_...
    if not isinstance(padding, str):  # Conv3D has no explicit padding: zero-pad, then VALID
        x, padding = tf.pad(x, tf_pads(padding)), "VALID"
    return np_out(tf.nn.conv3d(x, w, [1, *s, 1], padding, dilations=[1, *d, 1]))


@live("conv")
@given(conv_configs())
def test_convolution_matches_tf(cfg) -> None:
    rng = np.random.default_rng(cfg["seed"])
    n, dtype = cfg["n"], cfg["dtype"]
    x = rng.standard_normal((cfg["batch"], *cfg["size"], cfg["cin"])).astype(dtype)
    w = rng.standard_normal((*cfg["k"], cfg["cin"] // cfg["groups"], cfg["cout"])).astype(dtype)
    expected = tf_conv(x, w, cfg["s"], cfg["d"], cfg["padding"])
    fmt = LAST[n] if cfg["last"] else FIRST[n]
    padding = cfg["padding"] if isinstance(cfg["padding"], str) else [
        list(p) for p in cfg["padding"]]
    got = numconv.convolution(x if cfg["last"] else first(x), w, list(cfg["s"]), padding, fmt,
                              list(cfg["d"]))
    assert_matches(got, expected if cfg["last"] else first(expected), dtype=dtype,
                   scale=math.prod(cfg["k"]) * cfg["cin"] // cfg["groups"])


@st.composite
def depthwise_configs(draw):
    dtype = draw(FLOATS)
    k = draw(ints(2, 1, 4))
    d = draw(ints(2, 1, 3))
    if max(d) > 1:
        s = (1, 1)  # tf.nn.depthwise_conv2d: strides 1 with dilations
    elif dtype == "float32" and DEPTHWISE_UNEQUAL_STRIDES_F32:
        s = draw(ints(2, 1, 3))
    else:
        s = (draw(st.integers(1, 3)),) * 2  # equal strides outside oneDNN
    padding, size = draw(spatial(2, k, d, draw(st.sampled_from(["SAME", "VALID", "EXPLICIT"]))))
    return dict(dtype=dtype, k=k, s=s, d=d, padding=padding, size=size,
                c=draw(st.integers(1, 4)), mult=draw(st.integers(1, 3)),
                batch=draw(st.integers(1, 2)), last=draw(st.booleans()),
                seed=draw(st.integers(0, 2**32 - 1)))


@live("depthwise")
@given(depthwise_configs())
def test_depthwise_conv2d_matches_tf(cfg) -> None:
    rng = np.random.default_rng(cfg["seed"])
    x = rng.standard_normal((cfg["batch"], *cfg["size"], cfg["c"])).astype(cfg["dtype"])
    w = rng.standard_normal((*cfg["k"], cfg["c"], cfg["mult"])).astype(cfg["dtype"])
    expected = np_out(tf.nn.depthwise_conv2d(x, w, [1, *cfg["s"], 1], tf_pads(cfg["padding"]),
                                             dilations=list(cfg["d"])))
    padding = cfg["padding"] if isinstance(cfg["padding"], str) else [
        list(p) for p in cfg["padding"]]
    got = numconv.depthwise_conv2d(x if cfg["last"] else first(x), w, list(cfg["s"]), padding,
                                   "NHWC" if cfg["last"] else "NCHW", list(cfg["d"]))
    assert_matches(got, expected if cfg["last"] else first(expected), dtype=cfg["dtype"],
                   scale=math.prod(cfg["k"]))


# --------------------------------------------------------------------------- pooling

@st.composite
def pool_configs(draw):
    n = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["MAX", "AVG"]))
    dtype = "float32" if n == 3 else draw(FLOATS)
    if draw(st.integers(0, 3)) == 0:  # tf.nn.pool's dilated pooling: VALID, strides 1
        k, d = draw(ints(n, 1, 3)), draw(ints(n, 1, 3))
        padding, size = draw(spatial(n, k, d, "VALID"))
        fn = draw(st.sampled_from(["pool", "max_pool" if kind == "MAX" else "avg_pool"]))
        return dict(n=n, kind=kind, dtype=dtype, k=k, s=(1,) * n, d=d, padding=padding,
                    size=size, api="pool", last=draw(st.booleans()), fn=fn,
                    seed=draw(st.integers(0, 2**32 - 1)))
    k = draw(ints(n, 1, 4))
    # TF's 2-D MaxPool rounds float64 to float32: float64 goes through tf.nn.pool
    exact64 = kind == "MAX" and n == 2 and dtype == "float64"
    s = tuple(draw(st.integers(1, ki)) for ki in k) if exact64 else draw(ints(n, 1, 4))
    modes = ["SAME", "VALID"] + (["EXPLICIT"] if kind == "MAX" and n < 3 and not exact64 else [])
    padding, size = draw(spatial(n, k, (1,) * n, draw(st.sampled_from(modes)),
                                 max_pad=tuple(ki - 1 for ki in k)))  # TF: pads < window
    if (n == 3 and padding == "SAME" and POOL3D_SAME_SHIFTS
            and eigen_3d_same_shifts(size, k, s, (1,) * n)):
        padding, size = "VALID", tuple(max(z, ki) for z, ki in zip(size, k))
    fns = ["pool", "max_pool" if kind == "MAX" else "avg_pool",
           f"{kind.lower()}_pool{n}d"]
    fn = draw(st.sampled_from(fns[1:] if not isinstance(padding, str) else fns))
    return dict(n=n, kind=kind, dtype=dtype, k=k, s=s, d=(1,) * n, padding=padding, size=size,
                api="pool" if exact64 else "nd", last=draw(st.booleans()), fn=fn,
                seed=draw(st.integers(0, 2**32 - 1)))


@live("pool")
@given(pool_configs())
def test_pooling_matches_tf(cfg) -> None:
    rng = np.random.default_rng(cfg["seed"])
    n, kind, k, s, d = cfg["n"], cfg["kind"], cfg["k"], cfg["s"], cfg["d"]
    x = rng.standard_normal((2, *cfg["size"], 3)).astype(cfg["dtype"])
    if cfg["api"] == "pool":
        expected = np_out(tf.nn.pool(x, list(k), kind, list(s), cfg["padding"],
                                     dilations=list(d)))
    else:
        f = tf.nn.max_pool if kind == "MAX" else tf.nn.avg_pool
        expected = np_out(f(x, list(k), list(s), tf_pads(cfg["padding"])))
    fmt = LAST[n] if cfg["last"] else FIRST[n]
    xin = x if cfg["last"] else first(x)
    padding = cfg["padding"] if isinstance(cfg["padding"], str) else [
        list(p) for p in cfg["padding"]]
    if cfg["fn"] == "pool":
        got = numconv.pool(xin, list(k), kind, list(s), padding, fmt, list(d))
    else:
        got = getattr(numconv, cfg["fn"])(xin, list(k), list(s), padding, fmt, dilations=list(d))
    assert_matches(got, expected if cfg["last"] else first(expected), dtype=cfg["dtype"],
                   exact=kind == "MAX", scale=math.prod(k))


# --------------------------------------------------------------------------- relu, im2col

def float_arrays(dtype: str, nan: bool) -> st.SearchStrategy:
    width = np.dtype(dtype).itemsize * 8
    return hnp.arrays(dtype, st.integers(1, 40),
                      elements=st.floats(width=width, allow_nan=nan, allow_subnormal=False))


F32_SCALARS = dict(width=32, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@st.composite
def relu_cases(draw):
    dtype = draw(st.sampled_from(["float16", "float32", "float64"]))
    op = draw(st.sampled_from(["relu", "relu6", "leaky_relu", "keras"]))
    x = draw(float_arrays(dtype, nan=op != "keras"))  # Keras's threshold maps NaN to 0
    if op == "leaky_relu":  # TF's alpha is a C float: draw float32 values
        return op, x, {"alpha": draw(st.floats(0, 2, **F32_SCALARS))}
    if op == "keras":  # the Keras layer requires all three to be non-negative
        return op, x, {"max_value": draw(st.none() | st.floats(0, 8, **F32_SCALARS)),
                       "negative_slope": draw(st.floats(0, 1, **F32_SCALARS)),
                       "threshold": draw(st.floats(0, 3, **F32_SCALARS))}
    return op, x, {}


@live("relu")
@given(relu_cases())
def test_relu_family_matches_tf(case) -> None:
    import keras

    op, x, kwargs = case
    if op == "keras":
        expected = keras.layers.ReLU(dtype=x.dtype.name, **kwargs)(x)
        got = numconv.relu(x, **kwargs)
    else:
        expected = getattr(tf.nn, op)(x, **kwargs)
        got = getattr(numconv, op)(x, **kwargs)
    # TF's CPU threads flush subnormal results to zero (FTZ); so does the comparison
    assert_matches(flush(got), flush(np_out(expected)), dtype=x.dtype, exact=True)


def flush(a: np.ndarray) -> np.ndarray:
    return np.where(np.abs(a) < np.finfo(a.dtype).tiny, np.zeros_like(a), a)


@st.composite
def im2col_configs(draw):
    k, s, d = draw(ints(2, 1, 4)), draw(ints(2, 1, 3)), draw(ints(2, 1, 3))
    padding, size = draw(spatial(2, k, d, draw(st.sampled_from(["SAME", "VALID"]))))
    return dict(k=k, s=s, d=d, padding=padding, size=size, c=draw(st.integers(1, 3)),
                dtype=draw(FLOATS), last=draw(st.booleans()),
                seed=draw(st.integers(0, 2**32 - 1)))


@live("im2col")
@given(im2col_configs())
def test_im2col_matches_extract_patches(cfg) -> None:
    rng = np.random.default_rng(cfg["seed"])
    k, c = cfg["k"], cfg["c"]
    x = rng.standard_normal((2, *cfg["size"], c)).astype(cfg["dtype"])
    expected = np_out(tf.image.extract_patches(x, [1, *k, 1], [1, *cfg["s"], 1],
                                               [1, *cfg["d"], 1], cfg["padding"]))
    if not cfg["last"]:  # (N, oh, ow, taps*C) -> channels-first order (N, C*taps, oh, ow)
        nb, oh, ow, _ = expected.shape
        expected = expected.reshape(nb, oh, ow, math.prod(k), c).transpose(0, 4, 3, 1, 2)
        expected = expected.reshape(nb, c * math.prod(k), oh, ow)
    got = numconv.im2col(x if cfg["last"] else first(x), list(k), list(cfg["s"]),
                         cfg["padding"], "NHWC" if cfg["last"] else "NCHW", list(cfg["d"]))
    assert_matches(got, expected, dtype=cfg["dtype"], exact=True)


# --------------------------------------------------------------------------- divergences

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_max_pool_nan_tf_skips_numconv_propagates(dtype) -> None:
    x = np.array([1, np.nan, 3, 2, np.nan, np.nan, 0, -1], dtype).reshape(1, 8, 1)
    lowest = np.finfo(dtype).min
    for tf_out in (tf.nn.max_pool1d(x, 2, 2, "VALID"), tf.nn.pool(x, [2], "MAX", [2], "VALID")):
        np.testing.assert_array_equal(np_out(tf_out)[0, :, 0], [1, 3, lowest, 0])
    got = numconv.max_pool1d(x, 2, 2, "VALID")
    np.testing.assert_array_equal(got[0, :, 0], [np.nan, 3, np.nan, 0])


@pytest.mark.parametrize("op", ["conv2d", "max_pool2d", "avg_pool2d"])
def test_valid_window_larger_than_input_tf_raises_numconv_empty(op) -> None:
    # in - eff + s = 2 - 4 + 1 = -1 <= -s: TF's "output size would be negative"
    x = np.arange(4.0).reshape(1, 2, 2, 1)
    w = np.ones((4, 4, 1, 1))
    call = {"conv2d": lambda m: m.conv2d(x, w, 1, "VALID"),
            "max_pool2d": lambda m: m.max_pool2d(x, 4, 1, "VALID"),
            "avg_pool2d": lambda m: m.avg_pool2d(x, 4, 1, "VALID")}[op]
    with pytest.raises(tf.errors.InvalidArgumentError, match="output size would be negative"):
        call(tf.nn)
    got = call(numconv)
    assert got.shape == (1, 0, 0, 1) and got.dtype == np.float64


def test_onednn_conv2d_valid_window_larger_than_input() -> None:
    # 2x2 input, 3x3 window, VALID: out = (2 - 3 + 1) // 1 = 0 -> an empty output.
    x = np.arange(4.0).reshape(1, 2, 2, 1)
    w = np.ones((3, 3, 1, 1))
    assert numconv.conv2d(x, w, 1, "VALID").shape == (1, 0, 0, 1)
    assert numconv.conv2d(x.astype("float32"), w.astype("float32"), 1, "VALID").shape == \
        (1, 0, 0, 1)
    # TF's float64 kernel (Eigen) agrees; its float32 oneDNN kernel returns an input-shaped
    # tensor of uninitialised memory (TF 2.21), unless oneDNN is off or the bug is fixed.
    assert np_out(tf.nn.conv2d(x, w, 1, "VALID")).shape == (1, 0, 0, 1)
    tf32 = np_out(tf.nn.conv2d(x.astype("float32"), w.astype("float32"), 1, "VALID"))
    assert tf32.shape in {(1, 2, 2, 1), (1, 0, 0, 1)}


def test_tf_max_pool2d_float64_rounds_to_float32() -> None:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 9, 10, 3))
    got = numconv.max_pool2d(x, 4, [1, 3], "SAME")
    exact = np_out(tf.nn.pool(x, [4, 4], "MAX", [1, 3], "SAME"))
    assert_matches(got, exact, dtype=np.float64, exact=True)
    tf_out = np_out(tf.nn.max_pool2d(x, 4, [1, 3], "SAME"))  # float32 in TF 2.21
    np.testing.assert_array_equal(tf_out, got.astype(tf_out.dtype))


def test_tf_leaky_relu_float64_uses_float32_alpha() -> None:
    x = np.array([-3.0, -1.0, 0.5])
    got = numconv.leaky_relu(x, 0.2)
    np.testing.assert_array_equal(got, [-0.6000000000000001, -0.2, 0.5])  # x * 0.2 in float64
    tf_out = np_out(tf.nn.leaky_relu(x, 0.2))
    np.testing.assert_array_equal(tf_out, np.where(x > 0, x, x * float(np.float32(0.2))))
    assert not np.array_equal(tf_out, got)


def test_keras_relu_threshold_maps_nan_to_zero() -> None:
    import keras

    x = np.array([np.nan, -1.0, 1.0, 3.0], np.float32)
    tf_out = np_out(keras.layers.ReLU(threshold=0.5)(x))
    np.testing.assert_array_equal(tf_out, [0, 0, 1, 3])
    np.testing.assert_array_equal(numconv.relu(x, threshold=0.5), [np.nan, 0, 1, 3])


def test_onednn_conv_width_one_output() -> None:
    """oneDNN's float32 Conv2D, one input channel, output width 1, width stride > 1.

    TF 2.21 returns the first output row right and the others wrong (uninitialised or
    shifted values); its float64 (Eigen) kernel and numconv give the window sums.
    """
    x = np.arange(32.0).reshape(2, 4, 4, 1) / 10
    w = np.ones((3, 3, 1, 1))
    sums = [[4.5, 8.1], [18.9, 22.5]]  # 3x3 window sums at rows 0 and 1, column 0
    got = numconv.conv2d(x, w, [1, 2], "VALID")
    assert_matches(got[..., 0, 0], sums, dtype=np.float64)
    assert_matches(np_out(tf.nn.conv2d(x, w, [1, 2], "VALID"))[..., 0, 0], sums)
    got32 = numconv.conv2d(x.astype("float32"), w.astype("float32"), [1, 2], "VALID")
    assert_matches(got32[..., 0, 0], np.float32(sums), dtype=np.float32)
    tf32 = np_out(tf.nn.conv2d(x.astype("float32"), w.astype("float32"), [1, 2], "VALID"))
    assert tf32.shape == got32.shape
    assert_matches(tf32[:, 0], got32[:, 0])  # the first row is right even in TF 2.21


def test_eigen_conv3d_same_negative_pad() -> None:
    """Eigen's Conv3D (float64) with SAME, window 1, stride 3 on 3 pixels: no padding.

    ``(out - 1) * s + eff - in = 0 * 3 + 1 - 3 = -2``: TF's rule pads 0 and samples
    pixel 0; TF 2.21's float64 Conv3D pads -1 and samples pixel 1 (its float32 oneDNN
    kernel and numconv sample pixel 0).
    """
    x = np.arange(9.0).reshape(1, 1, 3, 3, 1)
    w = np.full((1, 1, 1, 1, 1), 2.0)
    expected = 2 * x[:, :, :, ::3]
    assert_matches(numconv.conv3d(x, w, [1, 1, 3], "SAME"), expected, dtype=np.float64)
    assert_matches(np_out(tf.nn.conv3d(x, w, [1, 1, 1, 3, 1], "VALID")), expected)
    tf64 = np_out(tf.nn.conv3d(x, w, [1, 1, 1, 3, 1], "SAME"))
    if not np.array_equal(tf64, expected):  # TF 2.21: windows start one pixel late
        assert_matches(tf64, 2 * x[:, :, :, 1::3], exact=True)
