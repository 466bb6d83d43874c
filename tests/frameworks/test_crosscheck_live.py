"""numconv.crosscheck live: the translated calls run in TF, Keras, PyTorch, JAX and ONNX Runtime.

For random configurations (fixed seeds) every translation a framework can express must
reproduce numconv within the stated tolerance (``OpConfig.error_bound``: gamma(K+1)
times the sum of |terms| for sums, exact for max pooling and relu) -- unless a known
divergence that changes results applies, in which case the report must name it.
Statements that a framework cannot express a configuration are checked against the
framework itself where it refuses with an error.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from numconv.crosscheck import OpConfig, applicable, compare, translate

pytestmark = pytest.mark.live
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MODULES = {"tf": "tensorflow", "keras": "keras", "torch": "torch", "jax": "jax",
           "onnx": "onnxruntime"}
#: the versions the framework bugs below were measured on
MEASURED = {"tensorflow": "2.21.", "keras": "3.15.", "torch": "2.13.", "onnxruntime": "1.32."}


def measured(module: str):
    """Import ``module``; skip unless it is the version the divergence was measured on."""
    mod = pytest.importorskip(module)
    if not mod.__version__.startswith(MEASURED[module]):
        pytest.skip(f"measured on {module} {MEASURED[module]}x, found {mod.__version__}")
    return mod


def random_config(seed: int) -> OpConfig:
    """A random valid configuration: op, rank, layout, window, strides, dilation, padding."""
    rng = np.random.default_rng(seed)
    ops = ["conv1d", "conv2d", "conv3d", "depthwise_conv2d", "max_pool1d", "max_pool2d",
           "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "relu", "relu6",
           "leaky_relu"]
    op = ops[seed % len(ops)]
    dtype = "float64" if rng.random() < 0.25 else "float32"
    if op in ("relu", "relu6", "leaky_relu"):
        kw = {}
        if op == "relu" and rng.random() < 0.6:
            kw = dict(max_value=float(rng.choice([6.0, 2.5])),
                      negative_slope=float(rng.choice([0.0, 0.125])),
                      threshold=float(rng.choice([0.0, 0.5])))
        if op == "leaky_relu":
            kw = dict(alpha=float(rng.choice([0.2, 0.01])))
        return OpConfig(op, (2, 5, 7), dtype=dtype, **kw)
    n = 2 if op == "depthwise_conv2d" else int(op[-2])
    channels_last = rng.random() < 0.7
    c = int(rng.integers(1, 4))
    spatial = tuple(int(v) for v in rng.integers(4, 10 if n < 3 else 7, size=n))
    shape = (2, *spatial, c) if channels_last else (2, c, *spatial)
    fmt = {1: ("NWC", "NCW"), 2: ("NHWC", "NCHW"), 3: ("NDHWC", "NCDHW")}[n][
        0 if channels_last else 1]
    k = tuple(int(v) for v in rng.integers(1, 4, size=n))
    kw = dict(strides=tuple(int(v) for v in rng.integers(1, 4, size=n)),
              dilations=tuple(int(v) for v in rng.integers(1, 3, size=n))
              if rng.random() < 0.3 else 1,
              data_format=fmt, dtype=dtype)
    r = rng.random()
    kw["padding"] = ("SAME" if r < 0.4 else "VALID" if r < 0.7 else
                     tuple((int(a), int(b)) for a, b in rng.integers(0, 3, size=(n, 2))))
    if op.startswith("conv"):
        groups = c if c > 1 and rng.random() < 0.3 else 1
        return OpConfig(op, shape, filter_shape=(*k, c // groups,
                                                 groups * int(rng.integers(1, 4))),
                        bias=bool(rng.random() < 0.5), **kw)
    if op == "depthwise_conv2d":
        return OpConfig(op, shape, filter_shape=(*k, c, int(rng.integers(1, 3))),
                        bias=bool(rng.random() < 0.5), **kw)
    kw["window"] = k
    if kw["padding"] != "SAME" and rng.random() < 0.3:
        kw["ceil_mode"] = True
    if op.startswith("avg"):
        kw["count_include_pad"] = bool(rng.random() < 0.3)
    elif rng.random() < 0.2:
        kw["nan_policy"] = "ignore"
    return OpConfig(op, shape, **kw)


def _try(seed: int) -> OpConfig | None:
    try:
        return random_config(seed)
    except ValueError:                  # an invalid draw (e.g. channels vs groups) is skipped
        return None


def _configs(seeds: range) -> list[OpConfig]:
    return [c for c in map(_try, seeds) if c is not None]


CONFIGS = _configs(range(52))


@pytest.mark.parametrize("framework", ["tf", "keras", "torch", "jax", "onnx"])
@pytest.mark.parametrize("index", range(len(CONFIGS)))
def test_translation_reproduces_numconv(framework, index):
    pytest.importorskip(MODULES[framework])
    config = CONFIGS[index]
    nan = 0.1 if config.kind == "max" else 0.0
    report = compare(config, [framework], seed=index, nan_fraction=nan)
    result = report.results[0]
    if result.status == "cannot express":
        assert result.translation.reason and result.stats is None
        return
    known = [d.id for d in result.divergences if _changes(d.id)]
    assert result.status == "ok" or known, (config.describe(), result.status, result.message,
                                             result.stats)


def _changes(divergence_id: str) -> bool:
    from numconv.crosscheck import DIVERGENCES
    return DIVERGENCES[divergence_id].changes_result


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["tf", "keras", "torch", "jax", "onnx"])
def test_translation_reproduces_numconv_many(framework):
    pytest.importorskip(MODULES[framework])
    for index, config in enumerate(_configs(range(1000, 1300))):
        result = compare(config, [framework], seed=index).results[0]
        known = [d.id for d in result.divergences if _changes(d.id)]
        assert result.status in ("ok", "cannot express") or known, (config.describe(),
                                                                    result.message)


# --------------------------------------------------------------------------- statements

def test_tf_pool_really_refuses_dilation_with_strides():
    tf = pytest.importorskip("tensorflow")
    c = OpConfig("max_pool2d", "1x9x9x1", window=2, strides=2, dilations=2)
    assert not translate(c, "tf").expressible
    with pytest.raises(ValueError, match="not supported in conjunction with"):
        tf.nn.pool(np.zeros(c.input_shape, np.float32), [2, 2], "MAX", [2, 2], "VALID",
                   dilations=[2, 2])


def test_torch_avg_pool_really_refuses_padding_above_half_the_window():
    torch = pytest.importorskip("torch")
    c = OpConfig("avg_pool1d", "1x8x1", window=2, padding=((2, 2),))
    assert not translate(c, "torch").expressible
    with pytest.raises(RuntimeError, match="pad should be"):
        torch.nn.functional.avg_pool1d(torch.zeros(1, 1, 8), 2, 1, padding=2)


def test_keras_conv_really_refuses_strides_with_dilation():
    keras = pytest.importorskip("keras")
    c = OpConfig("conv2d", "1x9x9x1", filter_shape="3x3x1x1", strides=2, dilations=2)
    assert not translate(c, "keras").expressible
    with pytest.raises(ValueError, match="not supported in conjunction"):
        keras.layers.Conv2D(1, 3, strides=2, dilation_rate=2)


def test_inexpressible_configuration_is_not_run():
    pytest.importorskip("torch")
    c = OpConfig("avg_pool2d", "1x8x8x1", window=4, padding="SAME")   # pads (1, 2)
    result = compare(c, ["torch"]).results[0]
    assert (result.status, result.stats, result.shape) == ("cannot express", None, None)


# --------------------------------------------------------------------------- divergences

def test_tf_max_pool_skips_nan_and_report_names_it():
    pytest.importorskip("tensorflow")
    c = OpConfig("max_pool2d", "1x4x4x1", window=2, strides=2)
    x = np.arange(16, dtype=np.float32).reshape(c.input_shape)
    x[0, :2, :2, 0] = np.nan                      # an all-NaN window
    x[0, 2, 2, 0] = np.nan                        # a NaN among finite values
    result = compare(c, ["tf"], inputs={"x": x}).results[0]
    assert result.stats.nan_mismatches == 2
    assert [d.id for d in result.divergences] == ["tf-max-pool-nan"]
    got = translate(c, "tf").build()(x)
    np.testing.assert_array_equal(got[0, :, :, 0], [[np.finfo(np.float32).min, 7.0],
                                                    [13.0, 15.0]])
    ignore = compare(c.replace(nan_policy="ignore"), ["tf"], inputs={"x": x}).results[0]
    assert ignore.status == "ok"


def test_torch_and_jax_reproduce_nan_policy_ignore():
    c = OpConfig("max_pool1d", "1x6x1", window=2, strides=2, padding="SAME",
                 nan_policy="ignore")
    x = np.array([np.nan, np.nan, 1.0, np.nan, -np.inf, 2.0], np.float32).reshape(1, 6, 1)
    expected = [np.finfo(np.float32).min, 1.0, 2.0]
    for framework in ("torch", "jax"):
        pytest.importorskip(MODULES[framework])
        np.testing.assert_array_equal(translate(c, framework).build()(x).ravel(), expected)


def test_tf_empty_valid_conv_returns_garbage_shape():
    measured("tensorflow")
    from numconv.crosscheck._tf import onednn_on
    if not onednn_on():
        pytest.skip("the divergence is oneDNN's")
    c = OpConfig("conv2d", "1x2x2x1", filter_shape="3x3x1x1")
    result = compare(c, ["tf"]).results[0]
    assert (result.status, result.shape) == ("shape mismatch", (1, 2, 2, 1))
    assert [d.id for d in result.divergences] == ["tf-valid-window-larger",
                                                  "onednn-float32-order"]


def test_naive_torch_port_of_same_is_measured_wrong():
    pytest.importorskip("torch")
    c = OpConfig("conv2d", "1x8x8x2", filter_shape="3x3x2x2", strides=2, padding="SAME")
    result = compare(c, ["torch"]).results[0]
    assert result.status == "ok"
    (div,) = result.divergences
    assert div.id == "torch-same-symmetric" and "padding=(1, 1)" in div.measured
    assert div.stats.max_abs > 0.1                    # shifted by a pixel: wrong, not rounding


def test_torch_size1_channel_stride_bug_is_avoided_and_measured():
    pytest.importorskip("torch")
    c = OpConfig("conv2d", "2x8x4x1", filter_shape="3x3x1x1", strides=(1, 3))
    result = compare(c, ["torch"]).results[0]
    assert result.status == "ok"
    (div,) = [d for d in result.divergences if d.id == "torch-size1-channel-stride"]
    assert "no clone" in div.measured


def test_keras_channels_first_bias_divergence_shows():
    measured("keras")
    c = OpConfig("conv2d", (2, 2, 3, 9), filter_shape=(1, 3, 2, 3), strides=(1, 3),
                 padding="SAME", data_format="NCHW", bias=True)
    assert [d.id for d in applicable(c, "keras")] == ["keras-channels-first-bias",
                                                      "onednn-float32-order"]
    result = compare(c, ["keras"]).results[0]
    assert result.status == "exceeds tolerance"
    assert compare(c.replace(bias=False), ["keras"]).results[0].status == "ok"


def test_tf_conv3d_float64_same_with_large_stride_is_shifted():
    measured("tensorflow")
    c = OpConfig("conv3d", "2x6x6x6x4", filter_shape="1x1x1x4x3", strides=(3, 1, 1),
                 padding="SAME", dtype="float64")
    result = compare(c, ["tf"]).results[0]
    assert result.status == "exceeds tolerance"
    assert [d.id for d in result.divergences] == ["tf-conv3d-same-negative-pad"]
    assert compare(c.replace(dtype="float32"), ["tf"]).results[0].status == "ok"


def test_tf_max_pool2d_numpy_float64_input_comes_back_float32():
    tf = measured("tensorflow")
    x = np.random.default_rng(0).standard_normal((1, 5, 5, 1))
    tf.nn.max_pool2d(x, 2, 1, "SAME")
    assert tf.nn.max_pool2d(x, 2, 1, "SAME").dtype == tf.float32       # the divergence
    assert tf.nn.max_pool2d(tf.constant(x), 2, 1, "SAME").dtype == tf.float64
    c = OpConfig("max_pool2d", "1x5x5x1", window=2, padding="SAME", dtype="float64")
    assert compare(c, ["tf"], inputs={"x": x}).results[0].status == "ok"


# --------------------------------------------------------------------------- ONNX Runtime

def test_onnxruntime_max_pool_nan_depends_on_the_position():
    measured("onnxruntime")
    c = OpConfig("max_pool1d", "1x4x1", window=4)
    run = translate(c, "onnx").build()
    got = []
    for position in range(4):
        x = np.array([1.0, 2.0, 3.0, 0.5], np.float32)
        x[position] = np.nan
        got.append(run(x.reshape(1, 4, 1)).item())
    np.testing.assert_array_equal(got, [3.0, 3.0, 2.0, np.nan])      # numconv: NaN each time
    result = compare(c, ["onnx"], inputs={"x": x.reshape(1, 4, 1)}).results[0]
    assert [d.id for d in result.divergences] == ["onnxruntime-max-pool-nan"]


def test_onnxruntime_padding_only_window_gives_zero_and_lowest():
    measured("onnxruntime")
    x = np.ones((1, 1, 1), np.float32)
    avg = OpConfig("avg_pool1d", "1x1x1", window=2, dilations=2, padding="SAME")
    assert avg.geometry.pads == ((1, 1),)              # both taps (-1 and 1) are padding
    assert translate(avg, "onnx").build()(x).item() == 0.0 and np.isnan(avg.run_numconv(x))
    top = translate(avg.replace(op="max_pool1d"), "onnx").build()(x).item()
    assert top == np.finfo(np.float32).min
    result = compare(avg, ["onnx"], inputs={"x": x}).results[0]
    assert result.status == "exceeds tolerance"
    assert "onnxruntime-padding-only-window" in [d.id for d in result.divergences]


def test_onnxruntime_pools_return_a_window_where_the_output_is_empty():
    measured("onnxruntime")
    x = np.array([1.0, 2.0], np.float32).reshape(1, 2, 1)
    for op, expected in (("max_pool1d", 2.0), ("avg_pool1d", 1.5)):
        c = OpConfig(op, "1x2x1", window=3, strides=2)      # (2 - 3 + 2) // 2 = 0 outputs
        assert c.out_shape == (1, 0, 1)
        assert translate(c, "onnx").build()(x).ravel().tolist() == [expected]
        result = compare(c, ["onnx"], inputs={"x": x}).results[0]
        assert (result.status, result.shape) == ("shape mismatch", (1, 1, 1))
        assert [d.id for d in result.divergences] == ["onnxruntime-pool-empty-output"]
    c = OpConfig("max_pool1d", "1x2x1", window=3, strides=1)  # the stride divides: right
    assert compare(c, ["onnx"], inputs={"x": x}).results[0].status == "ok"


@pytest.mark.parametrize("config, what", [
    (OpConfig("conv2d", "1x8x8x2", filter_shape="3x3x2x2", dilations=2, padding="SAME"),
     "fails: InvalidArgument"),
    (OpConfig("max_pool2d", "1x7x7x2", window=2, strides=2, dilations=2, padding="SAME"),
     "returns shape (1, 3, 3, 2) instead of (1, 4, 4, 2)"),
    (OpConfig("max_pool1d", "1x6x1", window=1, strides=3, padding="SAME"),
     "fails: RuntimeException"),
    (OpConfig("avg_pool1d", "1x6x1", window=1, strides=3, padding="SAME"),
     "differs from numconv by max abs"),
])
def test_onnxruntime_same_auto_pad_port_is_measured_wrong(config, what):
    measured("onnxruntime")
    result = compare(config, ["onnx"]).results[0]
    assert result.status == "ok"                          # explicit pads: right
    (div,) = [d for d in result.divergences if d.id == "onnxruntime-same-auto-pad"]
    assert div.measured.startswith('a port with auto_pad="SAME_UPPER" ' + what), div.measured


def test_onnx_same_lower_port_is_shifted():
    pytest.importorskip("onnxruntime")
    c = OpConfig("max_pool1d", "1x5x1", window=2, strides=2, padding="SAME")   # pads (0, 1)
    x = np.arange(5, dtype=np.float32).reshape(1, 5, 1)
    code = translate(c, "onnx").code.replace('"SAME_UPPER"', '"SAME_LOWER"')
    namespace: dict = {}
    exec(code, namespace)
    np.testing.assert_array_equal(namespace["run"](x).ravel(), [0.0, 2.0, 4.0])   # (-1,0) ...
    np.testing.assert_array_equal(c.run_numconv(x).ravel(), [1.0, 3.0, 4.0])      # (0,1) ...


@pytest.mark.parametrize("op, arg", [("conv2d", {"filter_shape": "3x3x2x2"}),
                                     ("max_pool2d", {"window": 3}), ("avg_pool2d", {"window": 3})])
def test_onnxruntime_same_lower_is_numconvs(op, arg):
    pytest.importorskip("onnxruntime")
    c = OpConfig(op, "2x8x7x2", strides=2, padding="SAME_LOWER", **arg)
    assert c.geometry.pads == ((1, 0), (1, 1))                 # the odd pixel first
    assert compare(c, ["onnx"]).results[0].status == "ok"


def test_onnxruntime_really_has_no_float64_conv():
    measured("onnxruntime")
    c32 = OpConfig("conv1d", "1x5x1", filter_shape="3x1x1")
    assert not translate(c32.replace(dtype="float64"), "onnx").expressible
    code = translate(c32, "onnx").code
    namespace: dict = {}
    exec(code, namespace)
    with pytest.raises(Exception, match="NOT_IMPLEMENTED"):
        namespace["run"](np.zeros((1, 5, 1)), np.zeros((3, 1, 1)))
