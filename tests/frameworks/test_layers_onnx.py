"""Sequential.from_onnx against ONNX Runtime on models generated with ``onnx.helper``.

Each model is a chain of nodes with random weights; ONNX Runtime (CPU) runs it, and
numconv's copy must give ORT's output (float32 tolerance) and a layer-by-layer report
in which every layer is within its stated bound.  Where ORT departs from the ONNX
specification (Conv with SAME_* and dilations, which ORT refuses) the oracle is
``onnx.reference.ReferenceEvaluator``.  Skipped without the ``onnx`` extra.
"""

from __future__ import annotations

import io
import sys
import warnings
from typing import Any

import numpy as np
import pytest

from numconv.layers import (AveragePooling2D, Conv2D, Dense, GlobalMaxPooling2D, MaxPooling2D,
                            ReLU, Sequential)

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

RNG = np.random.default_rng(15)
F = TensorProto.FLOAT


def _rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def chain(steps: list[tuple], input_shape: list[Any], opset: int = 17,
          name: str = "chain") -> Any:
    """A sequential model: ``steps`` are ``(op, attrs, constant inputs[, node name])``.

    Values are named ``x``, ``v0``, ``v1``, ..., the last ``y``; constant inputs become
    initializers (None: an absent optional input, spelled "").
    """
    nodes, inits, prev = [], [], "x"
    for i, (op, attrs, consts, *node_name) in enumerate(steps):
        inputs = [prev]
        for j, c in enumerate(consts):
            if c is None:
                inputs.append("")
            else:
                inputs.append(f"c{i}_{j}")
                inits.append(numpy_helper.from_array(np.asarray(c), f"c{i}_{j}"))
        out = "y" if i == len(steps) - 1 else f"v{i}"
        nodes.append(helper.make_node(op, inputs, [out], name=node_name[0] if node_name
                                      else f"{op.lower()}_{i}", **attrs))
        prev = out
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", F, input_shape)],
                              [helper.make_tensor_value_info("y", F, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(onnx.shape_inference.infer_shapes(model))    # a valid model
    return model


def run_ort(model: Any, x: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def check(model: Any, x: np.ndarray) -> Sequential:
    """numconv's copy gives ORT's output and a layer report without a difference."""
    ours = Sequential.from_onnx(model)
    expected = run_ort(model, x)
    got = ours(x)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    report = ours.compare(model, x)
    assert report.ok, report.table()
    assert len(report.rows) == len(ours.layers)
    return ours


# ------------------------------------------------------------------------------ Conv

CONVS = {
    # name: (input (C, H, W), weight (M, C/group, kH, kW), attrs, bias)
    "pads-asymmetric-strides-dilations": ((3, 9, 10), (4, 3, 3, 2),
                                          dict(pads=[1, 0, 2, 1], strides=[2, 1],
                                               dilations=[1, 2]), True),
    "same-upper-stride2": ((3, 8, 9), (5, 3, 3, 3), dict(auto_pad="SAME_UPPER", strides=[2, 2]),
                           False),
    "same-lower-odd-pad": ((2, 9, 8), (3, 2, 4, 2), dict(auto_pad="SAME_LOWER"), True),
    "same-lower-stride2-odd-pad": ((2, 8, 8), (3, 2, 3, 3),
                                   dict(auto_pad="SAME_LOWER", strides=[2, 2]), False),
    "valid-stride3": ((3, 10, 11), (2, 3, 3, 3), dict(auto_pad="VALID", strides=[3, 3]), True),
    "notset-no-pads": ((3, 7, 7), (2, 3, 2, 2), dict(), True),
    "group2": ((4, 7, 8), (6, 2, 3, 3), dict(group=2, pads=[1, 1, 1, 1]), True),
    "depthwise-multiplier2": ((4, 8, 8), (8, 1, 3, 3),
                              dict(group=4, strides=[2, 2], auto_pad="SAME_LOWER"), True),
    "depthwise-dilated": ((3, 9, 9), (3, 1, 3, 3), dict(group=3, dilations=[2, 2],
                                                        pads=[2, 1, 0, 2]), False),
}


@pytest.mark.parametrize("case", list(CONVS))
def test_conv_matches_onnxruntime(case):
    (c, h, w), wshape, attrs, bias = CONVS[case]
    consts = [_rand(*wshape)] + ([_rand(wshape[0])] if bias else [])
    model = chain([("Conv", attrs, consts)], [2, c, h, w])
    ours = check(model, _rand(2, c, h, w))
    layer = ours.layers[0]
    assert isinstance(layer, Conv2D) and layer.data_format == "NCHW"
    np.testing.assert_array_equal(layer.get_weights()[0], consts[0].transpose(2, 3, 1, 0))


def test_same_lower_puts_the_odd_pixel_first():
    # in 9, window 4, stride 1: total pad 3 -> SAME_LOWER before 2, after 1 (TF's SAME: 1, 2)
    x = np.zeros((1, 1, 9, 1), np.float32)
    x[0, 0, 0, 0] = 1.0                                   # an impulse on the first row
    w = np.zeros((1, 1, 4, 1), np.float32)
    w[0, 0, :, 0] = [1.0, 2.0, 3.0, 4.0]
    model = chain([("Conv", dict(auto_pad="SAME_LOWER"), [w])], [1, 1, 9, 1])
    ours = check(model, x)
    assert ours.layers[0].padding == "SAME_LOWER"
    # output row 0 covers input rows -2..1: the impulse meets tap 2 (two pad rows first)
    np.testing.assert_array_equal(ours(x)[0, 0, :, 0], [3, 2, 1, 0, 0, 0, 0, 0, 0])


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER"])
@pytest.mark.parametrize("strides", [1, 2])
def test_conv_same_with_dilations_follows_the_onnx_specification(auto_pad, strides):
    # ONNX Runtime refuses this configuration; ONNX's reference evaluator implements it
    x = _rand(1, 2, 9, 8)
    model = chain([("Conv", dict(auto_pad=auto_pad, dilations=[2, 3], strides=[strides] * 2),
                    [_rand(3, 2, 3, 3), _rand(3)])], [1, 2, 9, 8])
    expected = ReferenceEvaluator(model).run(None, {"x": x})[0]
    got = Sequential.from_onnx(model)(x)
    assert got.shape == expected.shape == (1, 3, -(-9 // strides), -(-8 // strides))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------------ pools

POOLS = {
    # name: (op, input (C, H, W), attrs)
    "max-ceil-last-window-in-pad": ("MaxPool", (2, 4, 4),
                                    dict(kernel_shape=[2, 2], strides=[2, 2],
                                         pads=[0, 0, 1, 1], ceil_mode=1)),
    "max-ceil-pads": ("MaxPool", (2, 7, 6), dict(kernel_shape=[3, 3], strides=[3, 2],
                                                 pads=[1, 0, 1, 1], ceil_mode=1)),
    "max-dilations-storage-order": ("MaxPool", (2, 9, 9),
                                    dict(kernel_shape=[2, 3], dilations=[2, 2],
                                         storage_order=1, pads=[1, 1, 0, 1])),
    "max-same-lower": ("MaxPool", (2, 8, 7), dict(kernel_shape=[3, 2], strides=[2, 2],
                                                  auto_pad="SAME_LOWER")),
    "max-same-upper": ("MaxPool", (2, 8, 7), dict(kernel_shape=[3, 2], strides=[2, 2],
                                                  auto_pad="SAME_UPPER")),
    "max-valid-ceil-same-size": ("MaxPool", (2, 9, 8),
                                 dict(kernel_shape=[2, 2], strides=[3, 3], auto_pad="VALID",
                                      ceil_mode=1)),
    "avg-count-pad-ceil": ("AveragePool", (2, 8, 7),
                           dict(kernel_shape=[3, 3], strides=[3, 2], pads=[2, 1, 2, 1],
                                ceil_mode=1, count_include_pad=1)),
    "avg-exclude-pad-ceil": ("AveragePool", (2, 6, 7),
                             dict(kernel_shape=[3, 2], strides=[2, 2], pads=[0, 1, 2, 1],
                                  ceil_mode=1)),
    "avg-count-pad": ("AveragePool", (2, 7, 7), dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                                                     count_include_pad=1)),
    "avg-same-upper-count-pad": ("AveragePool", (2, 8, 7),
                                 dict(kernel_shape=[3, 4], strides=[2, 2],
                                      auto_pad="SAME_UPPER", count_include_pad=1)),
    "avg-same-lower": ("AveragePool", (2, 8, 7), dict(kernel_shape=[3, 4], strides=[2, 2],
                                                      auto_pad="SAME_LOWER")),
    "avg-same-lower-count-pad-ceil": ("AveragePool", (2, 8, 7),
                                      dict(kernel_shape=[4, 4], strides=[3, 2],
                                           auto_pad="SAME_LOWER", count_include_pad=1,
                                           ceil_mode=1)),
    "avg-dilations": ("AveragePool", (2, 9, 8), dict(kernel_shape=[2, 2], dilations=[2, 3],
                                                     pads=[1, 1, 1, 1], count_include_pad=1)),
    "global-avg": ("GlobalAveragePool", (3, 5, 6), dict()),
    "global-max": ("GlobalMaxPool", (3, 5, 6), dict()),
}


@pytest.mark.parametrize("case", list(POOLS))
def test_pool_matches_onnxruntime(case):
    op, (c, h, w), attrs = POOLS[case]
    model = chain([(op, attrs, [])], [2, c, h, w], opset=19)
    check(model, _rand(2, c, h, w))


def test_valid_ceil_mode_follows_the_onnx_specification():
    # the specification: with auto_pad, out = ceil((in - eff + 1) / s) = floor mode's size
    # (9 - 2 + 1) / 2 -> 4; ONNX Runtime applies PyTorch's ceil rule instead: 5
    x = _rand(1, 2, 9, 9)
    model = chain([("MaxPool", dict(kernel_shape=[2, 2], strides=[2, 2], auto_pad="VALID",
                                    ceil_mode=1), [], "p")], [1, 2, 9, 9])
    ours = Sequential.from_onnx(model)
    expected = ReferenceEvaluator(model).run(None, {"x": x})[0]
    assert ours(x).shape == expected.shape == (1, 2, 4, 4)
    np.testing.assert_array_equal(ours(x), expected)
    report = ours.compare(model, x)                        # the divergence, reported
    assert report.first_difference.status == "shape mismatch"
    assert report.rows[0].shape == (1, 2, 5, 5)


def test_pool_options_reach_the_layers():
    model = chain([("MaxPool", POOLS["max-ceil-pads"][2], []),
                   ("AveragePool", POOLS["avg-count-pad-ceil"][2], []),
                   ("GlobalMaxPool", {}, [])], [1, 2, 30, 30])
    pool, avg, glob = Sequential.from_onnx(model).layers
    assert isinstance(pool, MaxPooling2D) and pool.ceil_mode and pool.strides == (3, 2)
    assert pool.padding == [[1, 1], [0, 1]]               # ONNX: [h_begin, w_begin, h_end, w_end]
    assert isinstance(avg, AveragePooling2D) and avg.count_include_pad and avg.ceil_mode
    assert isinstance(glob, GlobalMaxPooling2D) and glob.keepdims


# ------------------------------------------------------------------------ activations

@pytest.mark.parametrize("opset, step, max_value", [
    (6, ("Clip", dict(min=0.0, max=6.0), []), 6.0),                     # attributes
    (13, ("Clip", {}, [np.float32(0), np.float32(6)]), 6.0),             # inputs
    (13, ("Clip", {}, [np.float32(0), None]), None),                     # min only: ReLU
    (13, ("Relu", {}, []), None),
])
def test_clip_and_relu_become_relus(opset, step, max_value):
    model = chain([step], [2, 3, 4, 5], opset=opset)
    ours = check(model, 5 * _rand(2, 3, 4, 5))
    assert isinstance(ours.layers[0], ReLU) and ours.layers[0].max_value == max_value


def test_clip_bounds_from_constant_nodes():
    # PyTorch's exporter writes ReLU6 as Clip(x, Constant 0, Constant 6)
    nodes = [helper.make_node("Constant", [], ["lo"], value_float=0.0),
             helper.make_node("Constant", [], ["hi"],
                              value=numpy_helper.from_array(np.float32(6), "hi")),
             helper.make_node("Clip", ["x", "lo", "hi"], ["y"], name="relu6")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", F, [2, 7])],
                              [helper.make_tensor_value_info("y", F, [2, 7])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    ours = check(model, 5 * _rand(2, 7))
    assert len(ours.layers) == 1 and ours.layers[0].max_value == 6.0


def test_leaky_relu_keeps_alpha():
    model = chain([("LeakyRelu", dict(alpha=0.2), [])], [2, 3, 4, 5])
    assert check(model, _rand(2, 3, 4, 5)).layers[0].negative_slope == pytest.approx(0.2)


# --------------------------------------------------------------------- dense and models

@pytest.mark.parametrize("attrs, b_shape, c_shape", [
    (dict(transB=1), (6, 12), (6,)),
    (dict(), (12, 6), (1, 6)),
    (dict(alpha=0.5, beta=2.0, transB=1), (6, 12), (6,)),
    (dict(alpha=-1.5), (12, 6), None),
])
def test_gemm_matches_onnxruntime(attrs, b_shape, c_shape):
    consts = [_rand(*b_shape)] + ([_rand(*c_shape)] if c_shape else [])
    ours = check(chain([("Gemm", attrs, consts)], [3, 12]), _rand(3, 12))
    assert isinstance(ours.layers[0], Dense) and ours.layers[0].get_weights()[0].shape == (12, 6)


def _matmul_add(bias_first: bool = False) -> Any:
    w, b = _rand(12, 5), _rand(5)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["m"], name="mm"),
             helper.make_node("Add", ["b", "m"] if bias_first else ["m", "b"], ["y"],
                              name="bias")]
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", F, [4, 12])],
                              [helper.make_tensor_value_info("y", F, None)],
                              [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("bias_first", [False, True])
def test_matmul_add_is_one_dense_layer(bias_first):
    ours = check(_matmul_add(bias_first), _rand(4, 12))
    assert len(ours.layers) == 1 and ours.layers[0].name == "bias"
    assert [w.shape for w in ours.layers[0].get_weights()] == [(12, 5), (5,)]


def _network(opset: int = 13) -> Any:
    """Every supported op in one chain (NCHW flatten order feeding a Gemm)."""
    return chain([
        ("Conv", dict(pads=[1, 1, 1, 1], strides=[2, 2]), [_rand(8, 3, 3, 3), _rand(8)]),
        ("Relu", {}, []),
        ("MaxPool", dict(kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1), []),
        ("Conv", dict(group=8, auto_pad="SAME_LOWER", strides=[2, 2]), [_rand(16, 1, 4, 4)]),
        ("Clip", {}, [np.float32(0), np.float32(6)]),
        ("AveragePool", dict(kernel_shape=[2, 2], pads=[1, 0, 0, 1], count_include_pad=1), []),
        ("Flatten", dict(axis=1), []),
        ("Gemm", dict(transB=1, alpha=0.5, beta=2.0), [_rand(10, 16 * 3 * 3), _rand(10)]),
        ("LeakyRelu", dict(alpha=0.1), []),
        ("MatMul", {}, [_rand(10, 4)]),
    ], [2, 3, 21, 21], opset=opset, name="network")


def test_network_of_every_op_matches_onnxruntime():
    model, x = _network(), _rand(2, 3, 21, 21)
    ours = check(model, x)
    assert [type(layer).__name__ for layer in ours.layers] == [
        "Conv2D", "ReLU", "MaxPooling2D", "Conv2D", "ReLU", "AveragePooling2D", "Flatten",
        "Dense", "ReLU", "Dense"]
    report = ours.compare(model, x)
    assert [r.kind for r in report.rows][-3:] == ["Gemm", "LeakyRelu", "MatMul"]
    assert report.rows[6].shape == (2, 16 * 3 * 3)


def test_layer_report_points_at_the_layer_that_differs():
    model = _network()
    ours = Sequential.from_onnx(model)
    ours.layers[5].count_include_pad = False              # the classic ONNX <-> TF slip
    report = ours.compare(model, _rand(2, 3, 21, 21))
    assert report.first_difference.index == 5
    assert report.first_difference.kind == "AveragePool"
    assert "onnxruntime" in report.table()


def test_model_file_round_trips(tmp_path):
    model = _network()
    path = tmp_path / "net.onnx"
    onnx.save(model, path)
    x = _rand(2, 3, 21, 21)
    from_file = Sequential.from_onnx(path)
    np.testing.assert_array_equal(from_file(x), Sequential.from_onnx(model)(x))
    assert from_file.compare(str(path), x).ok
    from_file.save(tmp_path / "net.npz")                  # and on into numconv's own format
    np.testing.assert_array_equal(Sequential.load(tmp_path / "net.npz")(x), from_file(x))


def test_global_max_pool_layer_saves_and_loads(tmp_path):
    ours = Sequential.from_onnx(chain([("GlobalMaxPool", {}, [])], [2, 3, 5, 6]))
    x = _rand(2, 3, 5, 6)
    np.testing.assert_array_equal(ours(x), x.max(axis=(2, 3), keepdims=True))
    ours.save(tmp_path / "g.npz")
    loaded = Sequential.load(tmp_path / "g.npz")
    assert isinstance(loaded.layers[0], GlobalMaxPooling2D)
    np.testing.assert_array_equal(loaded(x), ours(x))


@pytest.mark.live
def test_torch_export_round_trips():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 6, 3, stride=2, padding=1), nn.ReLU6(),
                        nn.Conv2d(6, 6, 3, groups=6, padding=(2, 1), dilation=2),
                        nn.MaxPool2d(2, ceil_mode=True), nn.LeakyReLU(0.05),
                        nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
                        nn.Flatten(), nn.Linear(6 * 2 * 2, 5)).eval()
    x = torch.from_numpy(_rand(2, 3, 15, 15))
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                   # the exporter's deprecation notes
        # dynamo=False: the TorchScript exporter (the default dynamo exporter needs
        # onnxscript, which the onnx extra does not install)
        torch.onnx.export(net, (x,), buffer, dynamo=False)
    model = onnx.load_from_string(buffer.getvalue())
    ours = check(model, x.numpy())
    with torch.no_grad():
        np.testing.assert_allclose(ours(x.numpy()), net(x).numpy(), rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------------ refusals

def test_refuses_an_unsupported_node():
    model = chain([("Conv", {}, [_rand(2, 3, 3, 3)]),
                   ("BatchNormalization", {}, [np.ones(2, np.float32), np.zeros(2, np.float32),
                                               np.zeros(2, np.float32), np.ones(2, np.float32)],
                    "bn")], [1, 3, 8, 8])
    with pytest.raises(ValueError, match=r"Sequential.from_onnx: node 1 'bn' "
                       r"\(BatchNormalization\) must have a supported op type \(Conv, Relu, "):
        Sequential.from_onnx(model)


def test_refuses_a_branch():
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="r"),
             helper.make_node("Add", ["x", "r"], ["y"], name="skip")]
    graph = helper.make_graph(nodes, "res", [helper.make_tensor_value_info("x", F, [1, 2])],
                              [helper.make_tensor_value_info("y", F, None)])
    with pytest.raises(ValueError, match=r"node 1 'skip' \(Add\) must take the previous "
                       r"node's output 'r' as its only non-constant input .*no branches"):
        Sequential.from_onnx(helper.make_model(graph))


def test_refuses_an_add_without_matmul():
    model = chain([("Relu", {}, []), ("Add", {}, [_rand(3)], "plus")], [1, 3])
    with pytest.raises(ValueError, match=r"node 1 'plus' \(Add\) must have a supported op type "
                       r".*Add only as the bias after a MatMul\), got 'Add'"):
        Sequential.from_onnx(model)


def test_refuses_pools_with_same_and_dilations():
    model = chain([("MaxPool", dict(kernel_shape=[3, 3], dilations=[2, 2],
                                    auto_pad="SAME_UPPER"), [], "p")], [1, 1, 9, 9], opset=19)
    with pytest.raises(ValueError, match=r"node 0 'p' \(MaxPool\) attribute dilations must be "
                       r"1 with auto_pad SAME_\* \(ONNX Runtime pads such pools as if "):
        Sequential.from_onnx(model)


def test_refuses_clip_that_is_not_a_relu():
    model = chain([("Clip", {}, [np.float32(-1), np.float32(1)], "clamp")], [1, 3])
    with pytest.raises(ValueError, match=r"node 0 'clamp' \(Clip\) min must be 0 \(Clip is "
                       r"imported as a ReLU with max_value\), got -1.0"):
        Sequential.from_onnx(model)


def test_refuses_gemm_trans_a():
    model = chain([("Gemm", dict(transA=1), [_rand(3, 4)], "g")], [3, 2])
    with pytest.raises(ValueError, match=r"node 0 'g' \(Gemm\) attribute transA must be 0 "):
        Sequential.from_onnx(model)


def test_refuses_maxpool_indices():
    node = helper.make_node("MaxPool", ["x"], ["y", "i"], name="p", kernel_shape=[2, 2])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", F, [1, 1, 4, 4])],
                              [helper.make_tensor_value_info("y", F, None)])
    with pytest.raises(ValueError, match=r"node 0 'p' \(MaxPool\) output 1 \(Indices\) must be "
                       r"unused, got 'i'"):
        Sequential.from_onnx(helper.make_model(graph))


def test_refuses_flatten_axis_other_than_1():
    model = chain([("Flatten", dict(axis=2), [], "f")], [1, 2, 3, 4])
    with pytest.raises(ValueError, match=r"node 0 'f' \(Flatten\) attribute axis must be 1 "):
        Sequential.from_onnx(model)


def test_refuses_an_unknown_attribute_value():
    model = chain([("Conv", dict(auto_pad="NOTSET"), [_rand(1, 1, 2, 2)], "c")], [1, 1, 4, 4])
    model.graph.node[0].attribute[0].s = b"SAME_MIDDLE"
    with pytest.raises(ValueError, match=r"node 0 'c' \(Conv\) attribute auto_pad must be "
                       r"NOTSET, SAME_UPPER, SAME_LOWER or VALID, got 'SAME_MIDDLE'"):
        Sequential.from_onnx(model)


def test_same_lower_needs_no_static_size():
    model = chain([("Conv", dict(auto_pad="SAME_LOWER"), [_rand(1, 1, 2, 2)], "c")],
                  [1, 1, "height", "width"])
    check(model, _rand(1, 1, 5, 6))


def test_refuses_a_negative_leaky_relu_slope():
    model = chain([("LeakyRelu", dict(alpha=-0.5), [], "lr")], [1, 3])
    with pytest.raises(ValueError, match=r"node 0 'lr' \(LeakyRelu\) cannot be reproduced by a "
                       r"numconv layer \(relu: negative_slope must be non-negative"):
        Sequential.from_onnx(model)


def test_refuses_what_is_not_a_model():
    with pytest.raises(TypeError, match="Sequential.from_onnx: model_or_path must be an "
                                        "onnx.ModelProto or a path to an .onnx file, got int"):
        Sequential.from_onnx(3)


def test_refuses_a_file_that_is_not_onnx(tmp_path):
    (tmp_path / "junk.onnx").write_bytes(b"\xff\x00 not a protobuf")
    with pytest.raises(ValueError, match="Sequential.from_onnx: model_or_path must be an ONNX "
                                         "model file"):
        Sequential.from_onnx(tmp_path / "junk.onnx")


def test_compare_names_other_for_a_missing_file(tmp_path):
    model = Sequential.from_onnx(chain([("Relu", {}, [])], [1, 3]))
    with pytest.raises(FileNotFoundError, match="compare_layers: other must be an existing "
                                                "file"):
        model.compare(tmp_path / "missing.onnx", np.ones((1, 3)))


def test_missing_extra_names_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)          # as if not installed
    with pytest.raises(ModuleNotFoundError, match=r"Sequential.from_onnx: not installed: onnx "
                       r"\(no module 'onnxruntime'\); pip install \"numconv\[onnx\]\""):
        Sequential.from_onnx(chain([("Relu", {}, [])], [1, 3]))


def test_compare_refuses_a_dtype_the_model_does_not_take():
    model = chain([("Relu", {}, [])], [1, 3])
    with pytest.raises(ValueError, match="compare_layers: dtype must be the ONNX model's input "
                                         "type float32, got float64"):
        Sequential.from_onnx(model).compare(model, np.ones((1, 3)), dtype=np.float64)
