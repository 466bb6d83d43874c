"""numconv.layers: Keras-style layers against nested-loop references, .npz files, conversions.

References are plain loops written here (TF's SAME pads from the formula
``P = max((ceil(n/s) - 1) * s + k - n, 0)``, before ``P // 2``); live tests copy a Keras
model (the seed's Conv2D + MaxPool2D) and a PyTorch ``nn.Sequential`` and compare them
layer by layer.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from numconv.layers import (AveragePooling2D, Conv2D, Dense, DepthwiseConv2D, Flatten,
                            GlobalAveragePooling2D, MaxPool2D, MaxPooling2D, ReLU, Sequential)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
RNG = np.random.default_rng(0)


# --------------------------------------------------------------------------- references

def same_pads(n: int, k: int, s: int, d: int = 1) -> tuple[int, int]:
    eff = (k - 1) * d + 1
    total = max((math.ceil(n / s) - 1) * s + eff - n, 0)
    return total // 2, total - total // 2


def ref_conv(x, w, b, strides, pads, dilation=(1, 1), depthwise=False):
    """NHWC x, HWIO w (depthwise: (kh, kw, C, M)); zero padding; loops over every output."""
    (t, bo), (l, r) = pads
    xp = np.pad(x, ((0, 0), (t, bo), (l, r), (0, 0)))
    kh, kw = w.shape[:2]
    oh = (xp.shape[1] - (kh - 1) * dilation[0] - 1) // strides[0] + 1
    ow = (xp.shape[2] - (kw - 1) * dilation[1] - 1) // strides[1] + 1
    cout = w.shape[2] * w.shape[3] if depthwise else w.shape[3]
    out = np.zeros((x.shape[0], oh, ow, cout))
    for n in range(x.shape[0]):
        for i in range(oh):
            for j in range(ow):
                for o in range(cout):
                    acc = 0.0 if b is None else b[o]
                    for a in range(kh):
                        for c in range(kw):
                            px = xp[n, i * strides[0] + a * dilation[0],
                                    j * strides[1] + c * dilation[1]]
                            if depthwise:
                                ch, m = divmod(o, w.shape[3])
                                acc += px[ch] * w[a, c, ch, m]
                            else:
                                acc += px @ w[a, c, :, o]
                    out[n, i, j, o] = acc
    return out


def ref_pool(x, k, s, pads, kind):
    """NHWC pooling; padding never counts (max ignores it, average divides by real taps)."""
    (t, bo), (l, r) = pads
    h, w = x.shape[1:3]
    oh = (h + t + bo - k[0]) // s[0] + 1
    ow = (w + l + r - k[1]) // s[1] + 1
    out = np.zeros((x.shape[0], oh, ow, x.shape[3]))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * s[0] - t, j * s[1] - l
            win = x[:, max(r0, 0):min(r0 + k[0], h), max(c0, 0):min(c0 + k[1], w), :]
            out[:, i, j, :] = win.max(axis=(1, 2)) if kind == "max" else win.mean(axis=(1, 2))
    return out


# --------------------------------------------------------------------------- layers

@pytest.mark.parametrize("strides,padding,dilation", [((1, 1), "valid", (1, 1)),
                                                      ((2, 2), "same", (1, 1)),
                                                      ((2, 1), "same", (1, 1)),
                                                      ((1, 1), "same", (2, 2)),
                                                      ((2, 2), [(1, 2), (0, 1)], (1, 1))])
def test_conv2d_matches_loops(strides, padding, dilation):
    x = RNG.standard_normal((2, 7, 6, 3))
    w = RNG.standard_normal((3, 2, 3, 4))
    b = RNG.standard_normal(4)
    layer = Conv2D(4, (3, 2), strides=strides, padding=padding, dilation_rate=dilation)
    layer.set_weights([w, b])
    pads = (tuple(padding) if padding not in ("valid", "same") else
            ((0, 0), (0, 0)) if padding == "valid" else
            (same_pads(7, 3, strides[0], dilation[0]), same_pads(6, 2, strides[1], dilation[1])))
    np.testing.assert_allclose(layer(x), ref_conv(x, w, b, strides, pads, dilation),
                               rtol=1e-12, atol=1e-12)


def test_conv2d_channels_first_relu_and_groups():
    x = RNG.standard_normal((1, 4, 5, 5))                      # NCHW, 4 channels, 2 groups
    w = RNG.standard_normal((3, 3, 2, 6))
    layer = Conv2D(6, 3, padding="same", data_format="channels_first", groups=2,
                   activation="relu", use_bias=False)
    layer.set_weights([w])
    xh = x.transpose(0, 2, 3, 1)
    ref = np.concatenate([ref_conv(xh[..., :2], w[..., :3], None, (1, 1), ((1, 1), (1, 1))),
                          ref_conv(xh[..., 2:], w[..., 3:], None, (1, 1), ((1, 1), (1, 1)))], -1)
    np.testing.assert_allclose(layer(x), np.maximum(ref, 0).transpose(0, 3, 1, 2), atol=1e-12)


def test_depthwise_conv2d_matches_loops():
    x = RNG.standard_normal((1, 6, 6, 2))
    w = RNG.standard_normal((3, 3, 2, 2))
    layer = DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2, use_bias=False)
    layer.set_weights([w])
    pads = (same_pads(6, 3, 2),) * 2
    np.testing.assert_allclose(layer(x), ref_conv(x, w, None, (2, 2), pads, depthwise=True),
                               atol=1e-12)


def test_max_pooling_defaults_strides_to_pool_size():
    layer = MaxPooling2D(pool_size=3)
    assert layer.strides == (3, 3) and MaxPool2D is MaxPooling2D
    x = RNG.standard_normal((2, 7, 8, 3))
    np.testing.assert_array_equal(layer(x), ref_pool(x, (3, 3), (3, 3), ((0, 0),) * 2, "max"))


def test_average_pooling_same_excludes_padding():
    x = RNG.standard_normal((1, 5, 5, 2))
    layer = AveragePooling2D(2, padding="same")                # pads (0, 1): last window 1 tap
    np.testing.assert_allclose(layer(x), ref_pool(x, (2, 2), (2, 2), ((0, 1), (0, 1)), "avg"),
                               atol=1e-15)
    assert layer(x)[0, 2, 2, 0] == x[0, 4, 4, 0]


def test_global_average_pooling_and_flatten_orders():
    x = np.arange(24.0).reshape(1, 2, 3, 4)                    # read as NCHW: C 2, H 3, W 4
    assert GlobalAveragePooling2D("channels_first")(x).tolist() == [[5.5, 17.5]]
    assert GlobalAveragePooling2D(keepdims=True)(x).shape == (1, 1, 1, 4)
    np.testing.assert_array_equal(Flatten()(x)[0, :3], [0, 1, 2])           # (C, H, W) order
    np.testing.assert_array_equal(Flatten("channels_first")(x)[0, :3], [0, 12, 1])  # (H, W, C)


def test_dense_and_relu():
    x = np.array([[1.0, -2.0]])
    dense = Dense(2, activation="relu")
    dense.set_weights([np.array([[1.0, -1.0], [1.0, 1.0]]), np.array([0.5, 0.0])])
    assert dense(x).tolist() == [[0.0, 0.0]]                   # [-0.5, -3] -> relu
    assert ReLU(max_value=6, negative_slope=0.5, threshold=1)(
        np.array([-1.0, 3.0, 9.0])).tolist() == [-1.0, 3.0, 6.0]


def test_set_weights_checks_shapes():
    layer = Conv2D(2, 3)
    layer.build((1, 5, 5, 1))
    with pytest.raises(ValueError, match=r"Conv2D.set_weights: weights of conv2d\S* must have "
                                         r"shapes \[\(3, 3, 1, 2\), \(2,\)\], got shapes "
                                         r"\[\(3, 3, 2, 2\), \(2,\)\]"):
        layer.set_weights([np.zeros((3, 3, 2, 2)), np.zeros(2)])


def test_layer_rejects_bad_activation():
    with pytest.raises(ValueError, match="Dense: activation must be None or one of 'relu', "
                                         "'relu6', got 'tanh'"):
        Dense(3, activation="tanh")


def test_sequential_weights_summary_and_seed_model():
    model = Sequential([Conv2D(filters=64, kernel_size=3), MaxPool2D(pool_size=2)])
    model.build((1, 28, 28, 1))
    assert [w.shape for w in model.get_weights()] == [(3, 3, 1, 64), (64,)]
    assert model(np.zeros((1, 28, 28, 1))).shape == (1, 13, 13, 64)
    weights = [np.ones_like(w) for w in model.get_weights()]
    model.set_weights(weights)
    assert model(np.ones((1, 28, 28, 1))).max() == 10.0        # 9 taps + bias 1
    assert "MaxPooling2D(pool_size=(2, 2)" in model.summary()


# --------------------------------------------------------------------------- files

def _small_model() -> Sequential:
    model = Sequential([Conv2D(4, 3, strides=2, padding="same", activation="relu"),
                        DepthwiseConv2D(3, depth_multiplier=2, padding=[(1, 1), (0, 2)]),
                        AveragePooling2D(2, padding="same"), ReLU(max_value=6.0),
                        MaxPooling2D(1), Flatten(), Dense(3)], name="small")
    model.build((1, 9, 9, 2), seed=1)
    return model


def test_npz_round_trip(tmp_path):
    model = _small_model()
    x = RNG.standard_normal((2, 9, 9, 2)).astype(np.float32)
    model.save(tmp_path / "m.npz")
    loaded = Sequential.load(tmp_path / "m.npz")
    assert loaded.get_config() == model.get_config() and loaded.name == "small"
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded(x), model(x))
    model.save(str(tmp_path / "plain"))                        # NumPy appends .npz
    assert Sequential.load(str(tmp_path / "plain")).get_config() == model.get_config()


def test_load_rejects_a_foreign_npz(tmp_path):
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="Sequential.load: path must be a model saved by "
                                         "Sequential.save \\(no '__numconv_model__' entry\\)"):
        Sequential.load(tmp_path / "other.npz")


def test_load_rejects_a_non_npz_file(tmp_path):
    (tmp_path / "x.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="Sequential.load: path must be a model saved by "
                                         "Sequential.save \\(not a NumPy .npz file"):
        Sequential.load(tmp_path / "x.npz")


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="Sequential.load: path must be an existing "
                                                "file"):
        Sequential.load(tmp_path / "missing.npz")


# --------------------------------------------------------------------------- conversion, offline

def _fake(name: str, **attrs):
    return type(name, (), attrs)()


def test_from_torch_rejects_unsupported_module():
    module = _fake("Sequential", children=lambda self: iter([_fake("Dropout")]))
    with pytest.raises(TypeError, match="Sequential.from_torch: layer 0 must be one of Conv2d, "
                                        "MaxPool2d, .*, got Dropout"):
        Sequential.from_torch(module)


def test_from_torch_rejects_reflect_padding():
    conv = _fake("Conv2d", padding_mode="reflect")
    module = _fake("Sequential", children=lambda self: iter([conv]))
    with pytest.raises(ValueError, match=r"Sequential.from_torch: layer 0 \(Conv2d\) "
                                         r"padding_mode must be 'zeros', got 'reflect'"):
        Sequential.from_torch(module)


def test_from_keras_rejects_unbuilt_model():
    conv = _fake("Conv2D", built=False)
    with pytest.raises(ValueError, match="Sequential.from_keras: model must be built"):
        Sequential.from_keras(_fake("Sequential", layers=[conv]))


def test_compare_two_numconv_models_finds_the_first_changed_layer():
    model = _small_model()
    other = _small_model()
    weights = other.layers[1].get_weights()
    weights[0] = weights[0] * 1.001
    other.layers[1].set_weights(weights)
    x = RNG.standard_normal((1, 9, 9, 2))
    assert model.compare(_small_model(), x).ok
    report = model.compare(other, x)
    assert report.first_difference.index == 1
    assert [r.status for r in report.rows][:2] == ["ok", "differs"]
    assert "first difference: layer 1" in report.table()


# --------------------------------------------------------------------------- live

@pytest.mark.live
def test_seed_keras_model_round_trips_with_a_layer_report(tmp_path):
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.layers.Conv2D(filters=64, kernel_size=3),
                              keras.layers.MaxPool2D(pool_size=2)])
    with pytest.raises(ValueError, match="model must be built"):
        Sequential.from_keras(model)
    model.build((None, 28, 28, 1))
    ours = Sequential.from_keras(model)
    assert [type(l).__name__ for l in ours.layers] == ["Conv2D", "MaxPooling2D"]
    x = RNG.standard_normal((2, 28, 28, 1)).astype(np.float32)
    report = ours.compare(model, x)
    assert report.ok and [r.shape for r in report.rows] == [(2, 26, 26, 64), (2, 13, 13, 64)]
    ours.save(tmp_path / "seed.npz")
    assert Sequential.load(tmp_path / "seed.npz").compare(model, x).ok


@pytest.mark.live
def test_keras_model_with_every_supported_layer():
    keras = pytest.importorskip("keras")
    L = keras.layers
    model = keras.Sequential([
        keras.Input((17, 17, 3)),
        L.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
        L.DepthwiseConv2D(3, padding="same", depth_multiplier=2),
        L.ReLU(max_value=6.0), L.AveragePooling2D(2, padding="same"),
        L.MaxPooling2D(2, strides=1), L.Conv2D(4, 1, use_bias=False),
        L.GlobalAveragePooling2D(keepdims=True), L.Flatten(), L.Dense(5, activation="relu")])
    ours = Sequential.from_keras(model)
    report = ours.compare(model, RNG.standard_normal((3, 17, 17, 3)))
    assert report.ok, report.table()
    assert len(report.rows) == 9


def _torch_net(torch):
    nn = torch.nn
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
                         nn.Conv2d(8, 8, 3, stride=2), nn.AvgPool2d(3, stride=2, padding=1),
                         nn.Conv2d(8, 6, 3, padding="same"),
                         nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False),
                         nn.MaxPool2d(2, stride=1, padding=1, ceil_mode=True), nn.ReLU6(),
                         nn.Flatten(), nn.Linear(6 * 3 * 3, 10))


@pytest.mark.live
def test_torch_sequential_round_trips_with_a_layer_report(tmp_path):
    torch = pytest.importorskip("torch")
    net = _torch_net(torch).eval()
    ours = Sequential.from_torch(net)
    assert ours.layers[3].count_include_pad and not ours.layers[5].count_include_pad
    x = RNG.standard_normal((2, 3, 31, 31)).astype(np.float32)
    report = ours.compare(net, x)
    assert report.ok, report.table()
    assert report.rows[-2].shape == (2, 54)                      # (C, H, W) flatten order kept
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(x), expected, rtol=1e-4, atol=1e-5)
    ours.save(tmp_path / "net.npz")
    assert Sequential.load(tmp_path / "net.npz").compare(net, x).ok


@pytest.mark.live
def test_layer_report_points_at_the_layer_that_differs():
    torch = pytest.importorskip("torch")
    net = _torch_net(torch).eval()
    ours = Sequential.from_torch(net)
    ours.layers[3].count_include_pad = False               # the classic TF <-> PyTorch slip
    report = ours.compare(net, RNG.standard_normal((2, 3, 31, 31)))
    assert report.first_difference.index == 3
    assert report.rows[2].status == "ok" and report.rows[3].status == "differs"
