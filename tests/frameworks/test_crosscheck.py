"""numconv.crosscheck without frameworks: configs, translation text, statements, metrics, report.

Expected values are hand-checkable: TF's SAME pads from the formula, F.pad's
last-dim-first order, ULP distances of adjacent floats built with ``np.nextafter``,
and reports assembled from hand-made results.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from numconv.crosscheck import (DIVERGENCES, FRAMEWORKS, ErrorStats, FrameworkResult, OpConfig,
                                Report, Translation, applicable, compare, error_stats,
                                explain_port, frameworks, require, translate, ulp_distance)
from numconv.crosscheck._common import unavailable
from numconv.crosscheck.report import DivergenceResult


# --------------------------------------------------------------------------- OpConfig

def test_config_normalises_and_resolves_tf_geometry():
    c = OpConfig("conv2d", "1x224x224x3", filter_shape=(7, 7, 3, 64), strides=2,
                 padding="same")
    assert c.strides == (2, 2) and c.dilations == (1, 1) and c.padding == "SAME"
    assert c.geometry.pads == ((2, 3), (2, 3))            # 224, k 7, s 2 -> out 112, P 5
    assert c.out_shape == (1, 112, 112, 64)
    assert c.n_terms == 7 * 7 * 3


def test_config_channels_first_and_depthwise_shapes():
    c = OpConfig("depthwise_conv2d", (2, 3, 8, 8), filter_shape=(3, 3, 3, 2), strides=2,
                 padding="VALID", data_format="NCHW")
    assert c.layout.channels_last is False
    assert c.out_shape == (2, 6, 3, 3) and c.groups == 3 and c.out_channels == 6


def test_config_pool_options_and_describe():
    c = OpConfig("avg_pool2d", "1x5x5x2", window=2, strides=2, ceil_mode=True,
                 count_include_pad=True)
    assert c.out_shape == (1, 3, 3, 2)
    assert c.describe() == ("avg_pool2d input (1, 5, 5, 2) NHWC float32, window (2, 2), "
                            "strides (2, 2), VALID, ceil_mode=True, count_include_pad=True")


def test_config_replace_revalidates():
    c = OpConfig("max_pool1d", "1x9x1", window=3)
    assert c.replace(strides=2).out_shape == (1, 4, 1)
    with pytest.raises(ValueError, match=r"OpConfig: strides must be positive integers, "
                                         r"got \(0,\)"):
        c.replace(strides=0)


def test_config_rejects_unknown_op():
    with pytest.raises(ValueError, match="OpConfig: op must be one of 'conv1d'"):
        OpConfig("conv4d", "1x2x2x1")


def test_config_rejects_bad_shape_text():
    with pytest.raises(ValueError, match=r"OpConfig: input_shape must be a shape: integers, "
                                         r"as a sequence or joined by 'x'"):
        OpConfig("relu", "8x?x3")


def test_config_rejects_depthwise_channel_mismatch():
    with pytest.raises(ValueError, match=r"OpConfig: filter_shape in_channels \(axis -2\) "
                                         r"must equal the input's channels \(3\)"):
        OpConfig("depthwise_conv2d", "1x5x5x3", filter_shape="3x3x2x1")


def test_config_rejects_pool_option_on_conv():
    with pytest.raises(ValueError, match="OpConfig: ceil_mode applies to pooling only, got True"):
        OpConfig("conv2d", "1x5x5x1", filter_shape="3x3x1x1", ceil_mode=True)


def test_config_rejects_bias_on_pool():
    with pytest.raises(ValueError, match="OpConfig: bias applies to convolutions only"):
        OpConfig("max_pool2d", "1x5x5x1", window=2, bias=True)


def test_config_rejects_divisor_override_on_max_pool():
    with pytest.raises(ValueError, match="OpConfig: divisor_override applies to average "
                                         "pooling only, got 3"):
        OpConfig("max_pool2d", "1x5x5x1", window=2, divisor_override=3)


@pytest.mark.parametrize("dtype", ["int32", "0{", ","])   # NumPy's parser: ValueError,
def test_config_rejects_non_float_dtype(dtype):            # SyntaxError for the last two
    with pytest.raises(ValueError, match="OpConfig: dtype must be float16, float32 or float64, "
                                         f"got '{dtype}'"):
        OpConfig("relu", "4", dtype=dtype)


def test_error_bound_of_a_sum_is_gamma_times_abs_terms():
    c = OpConfig("conv1d", "1x3x1", filter_shape="3x1x1")      # one output: 3 products
    x = np.array([[[1.0], [-2.0], [3.0]]], np.float32)
    w = np.array([[[1.0]], [[1.0]], [[-1.0]]], np.float32)
    u = 2.0 ** -24
    expected = 4 * u / (1 - 4 * u) * 6.0                       # gamma_{K+1} * (1 + 2 + 3)
    np.testing.assert_allclose(c.error_bound(x, w), [[[expected]]], rtol=1e-12)
    assert OpConfig("max_pool1d", "1x3x1", window=2).error_bound(x) == 0.0


# --------------------------------------------------------------------------- translations

def _body(t: Translation) -> list[str]:
    return [line.strip() for line in t.code.split('"""')[-1].splitlines() if line.strip()]


def test_torch_conv_same_asymmetric_uses_f_pad_last_dim_first():
    c = OpConfig("conv2d", "1x6x7x1", filter_shape="2x3x1x1", strides=2, padding="SAME")
    # H: 6, k 2, s 2 -> out 3, P 0; W: 7, k 3, s 2 -> out 4, P = 3*2 + 3 - 7 = 2 -> (1, 1)
    assert c.geometry.pads == ((0, 0), (1, 1))
    body = _body(translate(c, "torch"))
    assert "y = F.conv2d(x, w, None, stride=(2, 2), padding=(0, 1), dilation=(1, 1), " \
           "groups=1)" in body
    c = c.replace(input_shape="1x5x6x1")       # H: 5 -> out 3, P 1 -> (0, 1); W: 6 -> P 1
    assert any(line.startswith("x = F.pad(x, (0, 1, 0, 1))") for line in _body(
        translate(c, "torch")))


def test_torch_permutes_layout_and_filters():
    c = OpConfig("conv3d", "1x4x4x4x2", filter_shape="2x2x2x2x3")
    body = _body(translate(c, "torch"))
    assert body[1].startswith("x = x.permute(0, 4, 1, 2, 3).clone(")
    assert body[2].startswith("w = torch.from_numpy(np.ascontiguousarray(w)).permute"
                              "(4, 3, 0, 1, 2)")
    assert body[-2].startswith("y = y.permute(0, 2, 3, 4, 1)")


def test_torch_avg_pool_same_odd_uses_ceil_mode_and_excludes_padding():
    c = OpConfig("avg_pool2d", "1x5x5x1", window=2, strides=2, padding="SAME")   # pads (0, 1)
    assert ("y = F.avg_pool2d(x, kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), "
            "ceil_mode=True, count_include_pad=False)") in _body(translate(c, "torch"))


def test_torch_cannot_exclude_asymmetric_padding_from_the_average():
    c = OpConfig("avg_pool2d", "1x8x8x1", window=4, strides=1, padding="SAME")   # pads (1, 2)
    t = translate(c, "torch")
    assert not t.expressible and t.code is None
    assert "only its own symmetric padding" in t.reason and "asymmetric" in t.reason


def test_torch_cannot_dilate_avg_pool():
    t = translate(OpConfig("avg_pool1d", "1x9x1", window=2, dilations=2), "torch")
    assert t.reason == "PyTorch's avg_pool has no dilation"


def test_tf_pool_refuses_dilation_with_strides():
    t = translate(OpConfig("max_pool2d", "1x9x9x1", window=2, strides=2, dilations=2), "tf")
    assert "tf.nn.pool refuses dilations with strides > 1" in t.reason


def test_tf_dilated_same_max_pool_goes_through_tf_pad():
    c = OpConfig("max_pool2d", "1x6x6x1", window=2, dilations=2, padding="SAME")  # P 2 -> (1, 1)
    body = _body(translate(c, "tf"))
    assert body[1].startswith("x = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], "
                              "constant_values=-np.inf)")
    assert body[2] == ('y = tf.nn.pool(x, window_shape=(2, 2), pooling_type="MAX", '
                       'strides=(1, 1), padding="VALID", dilations=(2, 2))')


def test_tf_transposes_channels_first_around_the_call():
    body = _body(translate(OpConfig("max_pool1d", "1x2x8", window=2, data_format="NCW"), "tf"))
    assert body[1].startswith("x = tf.transpose(x, (0, 2, 1))")
    assert body[-2].startswith("y = tf.transpose(y, (0, 2, 1))")


def test_tf_avg_pool_explicit_pads_not_same_cannot_be_expressed():
    t = translate(OpConfig("avg_pool2d", "1x6x6x1", window=3, padding=((0, 2), (0, 2))), "tf")
    assert "leaves out of the count only its own SAME pads" in t.reason


def test_tf_avg_pool_count_include_pad_uses_zero_tf_pad():
    c = OpConfig("avg_pool2d", "1x6x6x1", window=3, padding=1, count_include_pad=True)
    assert _body(translate(c, "tf"))[1].startswith(
        "x = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])")


def test_tf_refuses_empty_max_pool_that_would_crash():
    t = translate(OpConfig("max_pool2d", "1x2x2x1", window=3), "tf")
    assert "SIGFPE" in t.reason and "tf-valid-window-larger" in t.reason


def test_keras_explicit_conv_pads_use_zero_padding_layer():
    c = OpConfig("conv1d", "1x8x2", filter_shape="3x2x4", padding=((2, 0),))
    body = _body(translate(c, "keras"))
    assert body[0].startswith("x = keras.layers.ZeroPadding1D(padding=(2, 0)")
    assert 'padding="valid"' in body[1]


def test_keras_cannot_pool_with_explicit_pads():
    t = translate(OpConfig("max_pool2d", "1x6x6x1", window=3, padding=1, strides=2), "keras")
    assert "win a max over negative values" in t.reason


def test_jax_avg_pool_divides_by_a_count_window():
    body = _body(translate(OpConfig("avg_pool2d", "1x5x5x1", window=2, strides=2,
                                    padding="SAME"), "jax"))
    assert body[-3].startswith("count = lax.reduce_window(ones, np.array(0, x.dtype), lax.add")
    assert body[-2] == "y = total / count"


def test_jax_float64_runs_inside_enable_x64():
    t = translate(OpConfig("relu", "3", dtype="float64"), "jax")
    assert "    with jax.enable_x64(True):\n        x = jnp.asarray(x)" in t.code


def test_relu_options_compose_where_in_every_framework():
    c = OpConfig("relu", "4", max_value=6.0, negative_slope=0.5, threshold=1.0)
    assert "y = tf.where(x > 1.0, x, (x - 1.0) * 0.5)" in _body(translate(c, "tf"))
    assert "y = torch.where(y >= 6.0, torch.tensor(6.0, dtype=x.dtype), y)" in _body(
        translate(c, "torch"))
    assert any("keras.layers.ReLU(max_value=6.0, negative_slope=0.5, threshold=1.0" in line
               for line in _body(translate(c, "keras")))


def test_build_of_inexpressible_translation_raises():
    t = translate(OpConfig("avg_pool1d", "1x9x1", window=2, dilations=2), "torch")
    with pytest.raises(ValueError, match="Translation.build: torch cannot express this "
                                         "configuration: PyTorch's avg_pool has no dilation"):
        t.build()


def test_translate_rejects_unknown_framework():
    with pytest.raises(ValueError, match="translate: framework must name frameworks among "
                                         "jax, keras, onnx, tf, torch, got"):
        translate(OpConfig("relu", "3"), "mxnet")


def test_frameworks_aliases():
    assert frameworks("tensorflow,pytorch, jax,tf") == ("tf", "torch", "jax")


def test_missing_framework_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "jax", None)                 # as if not installed
    with pytest.raises(ModuleNotFoundError, match=r"^numconv.crosscheck: not installed: jax "
                                                  r"\(no module 'jax'\); "
                                                  r'pip install "numconv\[jax\]"$'):
        require("jax")


def test_compare_leaves_out_what_is_missing_and_says_so(monkeypatch):
    for module in ("tensorflow", "torch", "jax", "onnx"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ModuleNotFoundError, match=r"^compare: none of the 4 frameworks asked "
                                                  r"for is installed: tf \(no module "
                                                  r"'tensorflow'\), torch"):
        compare(OpConfig("relu", "3"))


def test_report_table_lists_the_missing_frameworks():
    r = Report(OpConfig("relu", "2"), 0, "exact", error_stats([0.0], [0.0]), [],
               {"keras": "no module 'keras'", "tf": "no module 'tensorflow'"})
    assert ("not installed: keras (no module 'keras'), tf (no module 'tensorflow'); "
            'pip install "numconv[tf]"\n') in r.table()
    assert r.to_dict()["not_installed"] == {"keras": "no module 'keras'",
                                            "tf": "no module 'tensorflow'"}


def test_explain_port_shows_both_programs_and_pitfalls():
    c = OpConfig("conv2d", "1x6x6x1", filter_shape="3x3x1x1", strides=2, padding="SAME")
    text = explain_port(c, "tf->torch")
    assert "y = tf.nn.conv2d(x, w, strides=(2, 2), padding=\"SAME\"" in text
    assert "x = F.pad(x, (0, 1, 0, 1))" in text
    assert "[torch-same-symmetric]" in text


def test_explain_port_rejects_same_framework():
    with pytest.raises(ValueError, match="explain_port: port must name two different "
                                         "frameworks, got 'tf->tensorflow'"):
        explain_port(OpConfig("relu", "3"), "tf->tensorflow")


def test_explain_port_rejects_malformed_spec():
    with pytest.raises(ValueError, match="explain_port: port must be SOURCE->TARGET"):
        explain_port(OpConfig("relu", "3"), "tf to torch")


# --------------------------------------------------------------------------- ONNX translations

def _node(c: OpConfig) -> str:
    (line,) = [ln.strip() for ln in translate(c, "onnx").code.splitlines() if "make_node" in ln]
    return line


def test_onnx_same_is_same_upper_and_explicit_pads_list_begins_then_ends():
    c = OpConfig("conv2d", "1x224x224x3", filter_shape="7x7x3x64", strides=2, padding="SAME")
    assert _node(c) == ('node = helper.make_node("Conv", list(feeds), ["y"], kernel_shape=[7, 7], '
                        'strides=[2, 2], dilations=[1, 1], auto_pad="SAME_UPPER", group=1)')
    c = c.replace(padding=((1, 2), (3, 4)))
    assert "pads=[1, 3, 2, 4]," in _node(c)          # x1_begin, x2_begin, x1_end, x2_end
    assert 'auto_pad="VALID"' in _node(c.replace(padding="VALID"))


def test_onnx_same_lower_and_same_upper_are_auto_pad():
    c = OpConfig("conv2d", "1x8x8x2", filter_shape="3x3x2x2", strides=2, padding="SAME_LOWER")
    assert c.geometry.pads == ((1, 0), (1, 0))               # P = 3*2 + 3 - 8 = 1, first
    assert 'auto_pad="SAME_LOWER"' in _node(c)
    assert 'auto_pad="SAME_UPPER"' in _node(c.replace(padding="SAME_UPPER"))
    dilated = translate(c.replace(dilations=2), "onnx")
    assert "pads=[2, 2, 1, 1]" in dilated.code                # P = 3*2 + 5 - 8 = 3
    assert 'explicit pads, not auto_pad="SAME_LOWER"' in dilated.notes[-1]


def test_onnx_pool_options_become_attributes():
    c = OpConfig("avg_pool2d", "1x3x7x7", window=3, strides=2, padding=((1, 1), (1, 1)),
                 ceil_mode=True, count_include_pad=True, data_format="NCHW")
    assert _node(c).endswith('"AveragePool", list(feeds), ["y"], kernel_shape=[3, 3], '
                             'strides=[2, 2], dilations=[1, 1], pads=[1, 1, 1, 1], '
                             'ceil_mode=1, count_include_pad=1)')
    assert "np.transpose(x" not in translate(c, "onnx").code            # NCHW already


def test_onnx_dilated_same_gets_explicit_pads():
    c = OpConfig("max_pool1d", "1x7x1", window=2, strides=2, dilations=2, padding="SAME")
    assert c.geometry.pads == ((1, 1),)                  # out 4, P = 3*2 + 3 - 7 = 2
    assert "pads=[1, 1]" in _node(c) and "auto_pad" not in _node(c)


@pytest.mark.parametrize("config, reason", [
    (OpConfig("conv2d", "1x5x5x1", filter_shape="3x3x1x1", dtype="float64"),
     "onnxruntime's CPU execution provider has no float64 Conv kernel"),
    (OpConfig("avg_pool1d", "1x5x1", window=2, divisor_override=3),
     "ONNX's AveragePool has no divisor_override"),
    (OpConfig("max_pool1d", "1x5x1", window=2, nan_policy="ignore"),
     "ONNX's MaxPool has no NaN policy"),
    (OpConfig("max_pool1d", "1x5x1", window=2, padding=((2, 0),)),
     "onnxruntime's MaxPool refuses a pad not smaller than the window"),
    (OpConfig("relu", "4", threshold=0.5), "no single ONNX node has Keras's relu threshold"),
    (OpConfig("conv1d", "1x2x1", filter_shape="3x1x1"), "the output is empty here"),
])
def test_onnx_states_what_it_cannot_express(config, reason):
    t = translate(config, "onnx")
    assert t.code is None and t.reason.startswith(reason)


def test_onnx_relu6_and_max_value_are_clip():
    for config, top in ((OpConfig("relu", "4", max_value=2.5), 2.5), (OpConfig("relu6", "4"), 6.0)):
        assert _node(config) == 'node = helper.make_node("Clip", ["x", "low", "high"], ["y"])'
        code = translate(config, "onnx").code
        assert f"low, high = np.array(0, x.dtype), np.array({top}, x.dtype)" in code


@pytest.mark.parametrize("port, expected", [
    ("torch->onnx", 'auto_pad="SAME_UPPER"'),
    ("tf->onnx", 'auto_pad="SAME_UPPER"'),
    ("onnx->tf", 'padding="SAME"'),
    ("onnx->torch", "F.pad(x, (0, 1, 0, 1)"),
])
def test_explain_port_to_and_from_onnx(port, expected):
    c = OpConfig("conv2d", "1x8x8x2", filter_shape="3x3x2x2", strides=2, padding="SAME")
    text = explain_port(c, port)
    assert "# ---- source:" in text and expected in text
    if port.endswith("onnx"):
        assert "#   [onnx-same-lower] ONNX's auto_pad=\"SAME_LOWER\" puts the odd" in text
    assert "# ONNX's conventions:" in text
    assert "#   pads=[x1_begin, x2_begin, ..., x1_end, x2_end]: every begin, then every end" in text
    assert "ONNX's conventions" not in explain_port(c, "tf->torch")


# --------------------------------------------------------------------------- divergences

def test_divergences_that_apply_are_config_driven():
    c = OpConfig("avg_pool2d", "1x6x6x1", window=3, strides=2, padding="SAME")
    assert [d.id for d in applicable(c, "torch")] == ["torch-same-symmetric",
                                                      "torch-avg-count-include-pad"]
    assert applicable(c.replace(count_include_pad=True), "torch")[-1].id == \
        "torch-same-symmetric"
    pool = OpConfig("max_pool2d", "1x4x4x1", window=2)
    assert applicable(pool, "tf") == []                              # no NaN in sight
    x = np.zeros((1, 4, 4, 1), np.float32)
    x[0, 0, 0, 0] = np.nan
    assert [d.id for d in applicable(pool, "tf", x)] == ["tf-max-pool-nan"]
    assert applicable(pool.replace(nan_policy="ignore"), "tf", x) == []


def test_every_divergence_is_documented():
    for d in DIVERGENCES.values():
        assert d.summary.endswith(".") and d.references and set(d.frameworks) <= set(FRAMEWORKS)


# --------------------------------------------------------------------------- metrics

def test_ulp_distance_counts_representable_floats():
    one = np.float32(1.0)
    up3 = np.nextafter(np.nextafter(np.nextafter(one, np.float32(2)), np.float32(2)),
                       np.float32(2))
    tiny = np.float32(np.finfo(np.float32).smallest_subnormal)
    got = ulp_distance(np.float32([1.0, 3.0, -tiny, np.inf, 0.0]),
                       np.array([up3, 3.0, tiny, np.finfo(np.float32).max, -0.0], np.float32))
    np.testing.assert_array_equal(got, [3.0, 0.0, 2.0, 1.0, 0.0])
    assert ulp_distance(np.float64(-1.0), np.nextafter(-1.0, 0.0)).item() == 1.0


def test_error_stats_on_hand_made_arrays():
    truth = np.array([[1.0, -2.0], [0.5, 4.0]])
    result = np.array([[1.0, -2.0], [0.5, 4.0]], np.float32)
    result[1, 1] = np.nextafter(np.float32(4.0), np.float32(5))       # 4 + 2**-21
    s = error_stats(result, truth, bound=1e-6)
    assert s.max_abs == 2.0 ** -21 and s.worst_index == (1, 1)
    assert s.max_rel == 2.0 ** -21 / 4
    assert (s.ulp_max, s.exact_fraction, s.nan_mismatches) == (1.0, 0.75, 0)
    assert s.bound_ratio == pytest.approx(2.0 ** -21 / 1e-6) and s.within_bound


def test_error_stats_counts_nan_mismatch_and_exact_bound():
    s = error_stats(np.float32([np.nan, 1.0, np.nan]), np.array([np.nan, 1.0, 2.0]), bound=0.0)
    assert s.nan_mismatches == 1 and s.within_bound is False
    assert error_stats(np.float32([1, 2]), np.array([1.0, 2.0]), bound=0.0).bound_ratio == 0.0


def test_ulp_distance_of_scalars_is_0d():
    # float32 has 2**23 values in [1, 2): 1.0 and 2.0 are 2**23 apart
    got = ulp_distance(np.float32(1.0), np.float32(2.0))
    assert got.shape == () and got.dtype == np.float64 and got.item() == 2.0 ** 23


def test_ulp_distance_shapes_must_match():
    with pytest.raises(ValueError, match=r"ulp_distance: b must have the shape of a \(3,\), "
                                         r"got shape \(2,\)"):
        ulp_distance(np.zeros(3), np.zeros(2))


def test_ulp_distance_dtypes_must_match():
    with pytest.raises(TypeError, match=r"ulp_distance: b must have the dtype of a \(float32\), "
                                        r"got dtype float64"):
        ulp_distance(np.float32([1.0]), np.array([1.0]))


def test_ulp_distance_needs_floats():
    with pytest.raises(TypeError, match=r"ulp_distance: a must be a float16, float32 or float64 "
                                        r"array, got dtype int64"):
        ulp_distance(np.array([1]), np.array([1]))


def test_error_stats_bound_must_fit_the_shape():
    with pytest.raises(ValueError, match=r"error_stats: bound must be a number or an array that "
                                         r"fits the shape \(2, 3\) \(trailing dims equal or "
                                         r"1\), got shape \(2,\)"):
        error_stats(np.zeros((2, 3)), np.zeros((2, 3)), bound=np.ones(2))


def test_error_stats_bound_per_row_is_accepted():
    s = error_stats(np.float32([[1.0, 2.0], [3.0, 5.0]]), np.array([[1.0, 2.0], [3.0, 4.0]]),
                    bound=np.array([[0.0], [2.0]]))                # |5 - 4| / 2
    assert s.bound_ratio == 0.5


def test_error_stats_bound_non_negative():
    with pytest.raises(ValueError, match=r"error_stats: bound must be non-negative, got -1.0"):
        error_stats(np.zeros(2), np.zeros(2), bound=-1)


def test_error_stats_nan_bound_counts_as_exact():
    # the stated bound of a NaN input element is NaN: that element must then match exactly
    s = error_stats(np.float32([1.0, 2.0]), np.array([1.0, 2.5]), bound=[np.nan, 1.0])
    assert s.bound_ratio == 0.5
    assert error_stats(np.float32([1.5]), np.array([1.0]), bound=[np.nan]).bound_ratio == np.inf


def test_error_stats_bound_type():
    with pytest.raises(TypeError, match=r"error_stats: bound must be a real numeric array, "
                                        r"got str"):
        error_stats(np.zeros(2), np.zeros(2), bound="1e-6")


def test_error_stats_shapes_must_match():
    with pytest.raises(ValueError, match=r"error_stats: result must have the shape of truth "
                                         r"\(3,\), got shape \(2,\)"):
        error_stats(np.zeros(2), np.zeros(3))


def test_explain_port_config_type():
    with pytest.raises(TypeError, match=r"explain_port: config must be an OpConfig, "
                                        r"got NoneType None"):
        explain_port(None, "tf->torch")


def test_config_too_large_to_run_is_still_described_and_refused_by_compare():
    from numconv.config import memory_limit
    from numconv.crosscheck import compare
    big = 10 ** 11
    c = OpConfig("conv2d", (big, big, big, 3), filter_shape="3x3x3x1")
    assert c.out_shape == (big, big - 2, big - 2, 1)
    with memory_limit(2 ** 30), pytest.raises(
            ValueError, match=r"compare: config's input, filter and output shapes must keep "
                              r"the memory this call needs under the limit of 1.0 GiB"):
        compare(c, "tf")


def test_compare_layers_names_x_when_the_model_refuses_it():
    from numconv.layers import Conv2D, Sequential, compare_layers
    model = Sequential([Conv2D(1, 2)])
    model.build((1, 4, 4, 1))
    with pytest.raises(ValueError, match=r"compare_layers: x must be an input the model accepts "
                                         r"\(Conv2D: inputs must have rank 4 \(batch, 2 "
                                         r"spatial dims, channels\), got shape \(4, 4\) "
                                         r"\(rank 2\)\)"):
        compare_layers(model, model, np.zeros((4, 4)))


def test_compare_layers_names_other_when_a_numconv_other_refuses_x():
    from numconv.layers import Conv2D, Sequential, compare_layers
    model, other = Sequential([Conv2D(1, 2)]), Sequential([Conv2D(1, 2)])
    model.build((1, 4, 4, 1))
    other.build((1, 4, 4, 2))                                 # two input channels
    with pytest.raises(ValueError, match=r"compare_layers: other must accept x \(conv2d: "):
        compare_layers(model, other, np.zeros((1, 4, 4, 1)))


# --------------------------------------------------------------------------- report

def _report() -> Report:
    c = OpConfig("conv2d", "1x6x6x1", filter_shape="3x3x1x1", strides=2, padding="SAME")
    truth = np.arange(9.0).reshape(1, 3, 3, 1)
    ok = error_stats(truth.astype(np.float32), truth, 1e-6)
    bad = error_stats(truth.astype(np.float32) + 1, truth, 1e-6)
    results = [FrameworkResult("tf", "ok", translate(c, "tf"), ok, (1, 3, 3, 1), "float32"),
               FrameworkResult("torch", "exceeds tolerance", translate(c, "torch"), bad,
                               (1, 3, 3, 1), "float32",
                               divergences=[DivergenceResult("torch-same-symmetric", "shifted.",
                                                             "a port differs")]),
               FrameworkResult("keras", "cannot express", translate(c, "keras"),
                               message="a reason")]
    return Report(c, 0, "exact", ok, results)


def test_report_table_lists_frameworks_and_divergences():
    text = _report().table()
    lines = text.splitlines()
    assert lines[0] == "conv2d input (1, 6, 6, 1) NHWC float32, filters (3, 3, 1, 1), " \
                       "strides (2, 2), SAME"
    row = next(line for line in lines if line.startswith("torch "))
    assert row.split()[1:3] == ["exceeds", "tolerance"] and " 1 " in row
    assert "[torch-same-symmetric] (torch) shifted." in text
    assert "      measured: a port differs" in text
    assert not _report().ok


def test_report_json_round_trips():
    data = json.loads(_report().to_json())
    assert data["out_shape"] == [1, 3, 3, 1]
    assert data["frameworks"]["torch"]["stats"]["max_abs"] == 1.0
    assert data["frameworks"]["keras"]["status"] == "cannot express"
    assert isinstance(ErrorStats(**{k: v for k, v in data["numconv"].items()
                                    if k != "within_bound"}), ErrorStats)


def test_import_crosscheck_loads_no_framework():
    code = ("import sys, numconv.crosscheck, numconv.layers; "
            "print(sorted(m for m in ('tensorflow', 'torch', 'jax', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_a_framework_that_breaks_on_import_is_reported_not_raised(monkeypatch, tmp_path):
    # a module that raises on import stands in for a broken install
    (tmp_path / "numconv_broken_fw.py").write_text("raise RuntimeError('wrong numpy ABI')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(FRAMEWORKS, "jax", ("JAX", ("numconv_broken_fw",), "jax"))
    assert unavailable("jax") == ("numconv_broken_fw", "import numconv_broken_fw failed: "
                                  "RuntimeError: wrong numpy ABI")
