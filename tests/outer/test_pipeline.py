"""numconv.lesson.pipeline: the lesson's filter / detect / condense against TensorFlow.

Tolerance: the float32 default of helpers.TOLERANCES (rtol 1e-5, atol 1e-5) for the Filter stage
(a sum of 9 or 25 products that TF's oneDNN kernels may add in another order) and the
stages after it; the Input stage is exact.  Measured with TF 2.21 on x86-64: the seed's
demo (demo.npz) is bit for bit equal to TF, the variants differ by at most 2.4e-7
(2 ulp of the largest values).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from helpers import ROOT, assert_matches, load_golden

import numconv
from numconv.lesson.image import default_image_path, read_image, rgb_to_grayscale
from numconv.lesson.filters import get_kernel
from numconv.lesson.pipeline import ExtractionResult, feature_extraction

DEMO = load_golden("demo")
VARIANTS = load_golden("demo_variants")


# --------------------------------------------------------------------------- goldens

def test_demo_input_is_read_image_grayscale():
    x = read_image(default_image_path(), channels=1)
    assert_matches(x[None], DEMO["input"], exact=True, dtype=np.float32)
    assert default_image_path() == ROOT / "data" / "grace_hopper.jpg"


def test_demo_stages_match_tf():
    r = feature_extraction(DEMO["input"], "edge")
    assert_matches(r.kernel, DEMO["kernel"], exact=True)
    assert_matches(r.input, DEMO["input"], exact=True, dtype=np.float32)
    assert_matches(r.filter, DEMO["filter"], dtype=np.float32)
    assert_matches(r.detect, DEMO["detect"], dtype=np.float32)
    assert_matches(r.condense, DEMO["pool"], dtype=np.float32)


def test_demo_pool2_matches_tf():
    r = feature_extraction(DEMO["input"], "edge", pool_size=3, pool_stride=2)
    assert_matches(r.condense, DEMO["pool2"], dtype=np.float32)


def test_demo_from_the_file_end_to_end():
    r = feature_extraction(read_image(default_image_path()), "edge")   # RGB -> grayscale
    assert r.source_channels == 3
    assert_matches(r.input, DEMO["input"], exact=True, dtype=np.float32)
    assert_matches(r.condense, DEMO["pool"], dtype=np.float32)


@pytest.mark.parametrize("pooling_type", ["MAX", "AVG"])
def test_the_lesson_on_the_reference_path(pooling_type):
    """algorithm="reference": both windowed stages run numconv.reference; same arrays."""
    fast = feature_extraction(DEMO["input"], "edge", pooling_type=pooling_type)
    ref = feature_extraction(DEMO["input"], "edge", pooling_type=pooling_type,
                             algorithm="reference")
    assert (fast.conv_algorithm, fast.pool_algorithm) == ("shift", "auto")
    assert (ref.conv_algorithm, ref.pool_algorithm) == ("reference", "reference")
    assert_matches(ref.filter, DEMO["filter"], dtype=np.float32)
    assert_matches(ref.condense, fast.condense, dtype=np.float32)
    lines = ref.describe().splitlines()
    assert lines[1].endswith("padding SAME, algorithm reference")
    assert lines[5].endswith("padding SAME, algorithm reference")


def test_the_chosen_algorithm_is_the_one_reported():
    r = feature_extraction(np.ones((9, 9)), np.ones((1, 1)), pool_size=1, pool_stride=1)
    assert r.conv_algorithm == "pointwise" and "algorithm pointwise" in r.describe()


def _variant(i: int) -> dict:
    return {k.split("__", 1)[1]: a for k, a in VARIANTS.items() if k.startswith(f"v{i}__")}


@pytest.mark.parametrize("i", range(int(VARIANTS["count"])))
def test_variants_match_tf(i):
    v = _variant(i)
    act = str(v["activation"])
    r = feature_extraction(VARIANTS["input"], str(v["kernel_name"]),
                           conv_stride=tuple(v["conv_stride"].tolist()),
                           conv_padding=str(v["conv_padding"]),
                           activation=None if act == "none" else act,
                           pool_size=tuple(v["pool_size"].tolist()),
                           pool_stride=tuple(v["pool_stride"].tolist()),
                           pool_padding=str(v["pool_padding"]),
                           pooling_type=str(v["pooling_type"]))
    assert_matches(r.filter, v["filter"], dtype=np.float32)
    assert_matches(r.detect, v["detect"], dtype=np.float32)
    assert_matches(r.condense, v["condense"], dtype=np.float32)


# --------------------------------------------------------------------------- behaviour

def test_image_layouts_agree():
    x = np.random.default_rng(0).random((7, 9)).astype(np.float32)
    ref = feature_extraction(x, "sharpen")
    for form in (x[:, :, None], x[None, :, :, None]):
        r = feature_extraction(form, "sharpen")
        for (_, a), (_, b) in zip(r.stages(), ref.stages()):
            assert_matches(a, b, exact=True)


def test_rgb_and_rgba_are_filtered_as_grayscale():
    rgb = np.random.default_rng(1).random((6, 8, 3)).astype(np.float32)
    gray = rgb_to_grayscale(rgb)
    want = feature_extraction(gray, "edge")
    for image in (rgb, np.concatenate([rgb, np.ones((6, 8, 1), np.float32)], axis=-1)):
        got = feature_extraction(image, "edge")
        assert_matches(got.input, gray[None], exact=True)
        assert_matches(got.condense, want.condense, exact=True)


def test_gray_alpha_uses_the_gray_channel():
    ga = np.random.default_rng(2).random((5, 5, 2)).astype(np.float32)
    r = feature_extraction(ga, "blur")
    assert_matches(r.input, ga[None, :, :, :1], exact=True)
    assert r.source_channels == 2 and "alpha dropped" in r.describe()


def test_integer_image_used_unscaled_as_float32():
    x = np.arange(16, dtype=np.uint8).reshape(4, 4)
    r = feature_extraction(x, "identity", pool_size=1, pool_stride=1)
    assert r.filter.dtype == np.float32
    assert_matches(r.condense[0, :, :, 0], x.astype(np.float32), exact=True)


def test_float64_image_stays_float64():
    r = feature_extraction(np.ones((4, 4)), "blur")
    assert r.filter.dtype == r.condense.dtype == np.float64 and r.kernel.dtype == np.float64


def test_activations_by_hand():
    x = np.array([[-2.0, 7.0]])                   # identity kernel: Filter = image
    kw = dict(pool_size=1, pool_stride=1)
    assert feature_extraction(x, "identity", **kw).detect.ravel().tolist() == [0, 7]
    assert feature_extraction(x, "identity", activation="relu6",
                              **kw).detect.ravel().tolist() == [0, 6]
    assert feature_extraction(x, "identity", activation="leaky_relu",
                              **kw).detect.ravel().tolist() == [-0.4, 7]
    none = feature_extraction(x, "identity", activation=None, **kw)
    assert none.detect.ravel().tolist() == [-2, 7] and none.activation is None
    assert feature_extraction(x, "identity", activation="none", **kw).activation is None


def test_avg_pooling_by_hand():
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    r = feature_extraction(x, "identity", pool_size=2, pool_stride=2, pooling_type="avg")
    # SAME: windows [1 2 / 4 5] and [3 / 6] (padding never counts)
    assert r.condense.ravel().tolist() == [3.0, 4.5] and r.pooling_type == "AVG"


def test_custom_kernel_and_names():
    k = np.array([[0.0, 1.0], [1.0, 0.0]])
    r = feature_extraction(np.ones((4, 4)), k)
    assert r.kernel_name is None and r.kernel.shape == (2, 2)
    assert feature_extraction(np.ones((4, 4)), "Bottom-Sobel").kernel_name == "bottom_sobel"
    assert_matches(feature_extraction(np.ones((4, 4)), k[:, :, None, None]).filter, r.filter,
                   exact=True)


def test_geometries():
    r = feature_extraction(np.ones((7, 10)), "gaussian5", conv_stride=2, conv_padding="VALID",
                           pool_size=(2, 3), pool_stride=1, pool_padding="SAME")
    # VALID: (7 - 5 + 2) // 2 = 2, (10 - 5 + 2) // 2 = 3
    assert r.conv_geometry.out_shape == (2, 3) and r.filter.shape == (1, 2, 3, 1)
    # SAME stride 1 keeps (2, 3); pads (2-1, 3-1) split as (0, 1) and (1, 1)
    assert r.pool_geometry.out_shape == (2, 3) and r.pool_geometry.pads == ((0, 1), (1, 1))
    assert r.condense.shape == (1, 2, 3, 1)


def test_explicit_conv_padding():
    r = feature_extraction(np.ones((4, 4)), "identity", conv_padding=[[1, 0], [0, 2]],
                           pool_size=1, pool_stride=1)
    assert r.filter.shape == (1, 3, 4, 1)     # (4 + 1 + 0 - 3 + 1), (4 + 0 + 2 - 3 + 1)
    assert "explicit ((1, 0), (0, 2))" in r.describe()


def test_describe_the_seed():
    text = feature_extraction(DEMO["input"], "edge").describe()
    lines = text.splitlines()
    assert lines[0].split() == ["Input", "(1,", "600,", "512,", "1)", "image"]
    assert lines[1].startswith("Filter    (1, 600, 512, 1)  conv2d, kernel 'edge' 3x3, "
                               "strides 1, padding SAME")
    assert "height: SAME: out = ceil(600/1) = 600; total pad = max((600-1)*1 + 3 - 600, 0) = 2 " \
           "-> before 1, after 1" in lines[2]
    assert lines[4].startswith("Detect    (1, 600, 512, 1)  relu")
    assert lines[5].startswith("Condense  (1, 300, 256, 1)  MAX pool 2x2, strides 2")
    assert "width:  SAME: out = ceil(512/2) = 256" in lines[7]
    assert len(lines) == 8


def test_stages_order_and_read_only():
    x = np.random.default_rng(3).random((6, 6)).astype(np.float32)
    before = x.copy()
    r = feature_extraction(x, "emboss")
    assert [t for t, _ in r.stages()] == ["Input", "Filter", "Detect", "Condense"]
    for _, a in r.stages():
        assert a.ndim == 4 and not a.flags.writeable
    assert x.flags.writeable and np.array_equal(x, before)      # input untouched
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.filter = None
    assert isinstance(r, ExtractionResult)


def test_public_api():
    assert numconv.feature_extraction is feature_extraction
    assert numconv.get_kernel is get_kernel and numconv.read_image is read_image


# --------------------------------------------------------------------------- errors

def test_activation_value():
    with pytest.raises(ValueError, match=r"feature_extraction: activation must be None or one "
                                         r"of 'relu', 'relu6', 'leaky_relu', got 'tanh'"):
        feature_extraction(np.ones((4, 4)), "edge", activation="tanh")


def test_activation_type():
    with pytest.raises(TypeError, match=r"feature_extraction: activation must be None or one "
                                        r"of .*, got bool True"):
        feature_extraction(np.ones((4, 4)), "edge", activation=True)


def test_algorithm_error():
    with pytest.raises(ValueError, match=r"feature_extraction: algorithm must be one of "
                                         r"'auto', 'reference', got 'shift'"):
        feature_extraction(np.ones((4, 4)), "edge", algorithm="shift")


def test_kernel_name():
    with pytest.raises(ValueError, match=r"feature_extraction: kernel must be a kernel name, "
                                         r"one of 'edge', .*, got 'egde'"):
        feature_extraction(np.ones((4, 4)), "egde")


def test_kernel_too_large():
    with pytest.raises(ValueError, match=r"feature_extraction: kernel must fit in the image "
                                         r"with this padding \(a 5x5 kernel on 4x6 gives an "
                                         r"empty Filter stage \(0, 2\)\), got shape \(5, 5\)"):
        feature_extraction(np.ones((4, 6)), "gaussian5", conv_padding="VALID")


def test_pool_too_large():
    with pytest.raises(ValueError, match=r"feature_extraction: pool_size must fit in the Filter "
                                         r"stage \(4, 4\) with this padding \(the Condense stage "
                                         r"would be empty\), got \(5, 5\)"):
        feature_extraction(np.ones((4, 4)), "edge", pool_size=5, pool_padding="VALID")


def test_filter_stage_too_big():
    with pytest.raises(ValueError, match=r"feature_extraction: image, kernel, conv_stride and "
                       r"conv_padding must give a computable Filter stage \(conv2d: .* memory"):
        feature_extraction(np.ones((2, 2), np.float32), "edge", conv_padding=2 ** 20)


def test_condense_stage_too_big():
    with pytest.raises(ValueError, match=r"feature_extraction: pool_size, pool_stride and "
                       r"pool_padding must give a computable Condense stage \(pool: .* memory"):
        feature_extraction(np.ones((2, 2), np.float32), "edge", pool_padding=2 ** 20)


def test_image_rank():
    # the image validator is shared with numconv.viz; one check that it is applied here
    with pytest.raises(ValueError, match=r"feature_extraction: image must be one non-empty "
                                         r"image"):
        feature_extraction(np.ones((2, 4, 4, 1)), "edge")


# --------------------------------------------------------------------------- live TF

@pytest.mark.live
@pytest.mark.parametrize("settings", [
    dict(conv_stride=1, conv_padding="SAME", activation="relu", pool_size=2, pool_stride=2,
         pool_padding="SAME", pooling_type="MAX"),
    dict(conv_stride=2, conv_padding="VALID", activation="relu6", pool_size=3, pool_stride=2,
         pool_padding="SAME", pooling_type="AVG"),
    dict(conv_stride=(1, 3), conv_padding="SAME", activation="leaky_relu", pool_size=(3, 2),
         pool_stride=(2, 1), pool_padding="VALID", pooling_type="MAX"),
])
def test_live_tf_pipeline(settings):
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(11)
    x = rng.random((1, 23, 31, 1)).astype(np.float32)
    k = rng.standard_normal((3, 4)).astype(np.float32)
    r = feature_extraction(x, k, **settings)
    s = settings
    filt = tf.nn.conv2d(x, k[:, :, None, None], strides=s["conv_stride"],
                        padding=s["conv_padding"])
    act = {"relu": tf.nn.relu, "relu6": tf.nn.relu6, "leaky_relu": tf.nn.leaky_relu}
    detect = act[s["activation"]](filt)
    window = s["pool_size"] if isinstance(s["pool_size"], tuple) else (s["pool_size"],) * 2
    strides = s["pool_stride"] if isinstance(s["pool_stride"], tuple) else (s["pool_stride"],) * 2
    condense = tf.nn.pool(detect, window, s["pooling_type"], strides=strides,
                          padding=s["pool_padding"])
    assert_matches(r.filter, filt.numpy(), dtype=np.float32)
    assert_matches(r.detect, detect.numpy(), dtype=np.float32)
    assert_matches(r.condense, condense.numpy(), dtype=np.float32)
