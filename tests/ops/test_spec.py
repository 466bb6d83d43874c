"""The one parser (numconv/spec.py): the same spellings and defaults in every function.

* ONNX's ``auto_pad`` names: ``SAME_UPPER`` is TF's SAME, ``SAME_LOWER`` puts the odd
  padding pixel first; checked by hand, against the nested-loop reference with the
  pads ONNX's spec gives, and against ONNX Runtime when it is installed.
* Keras's ``data_format`` names work in every function that has a data_format.
* ``strides=None`` is 1 in every function, a pool and its gradient alike.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import numconv
from loops import loop_conv as ref_conv
from loops import loop_pool as ref_pool

RNG = np.random.default_rng(11)


def onnx_pads(n, k, s, d=1):
    """ONNX's SAME_LOWER pads (onnx/defs/nn: ``pad_head = total - total // 2``), out."""
    out = len(range(0, n, s))
    total = max(0, (out - 1) * s + (k - 1) * d + 1 - n)
    return (total - total // 2, total // 2), out


# --------------------------------------------------------------------------- SAME_LOWER

def test_same_lower_geometry_by_hand():
    # in 224, k 7, s 2: out 112, total pad (112-1)*2 + 7 - 224 = 5 -> before 3, after 2
    g = numconv.Geometry((numconv.geometry.resolve_dim(224, 7, 2, padding="SAME_LOWER"),))
    assert g.out_shape == (112,) and g.pads == ((3, 2),)
    assert numconv.explain(224, 7, 2, "SAME_LOWER").endswith("-> before 3, after 2")
    assert numconv.explain(224, 7, 2, "same_upper") == numconv.explain(224, 7, 2, "SAME")
    # an even total splits evenly: in 5, k 3, s 1 -> pads (1, 1) either way
    assert numconv.explain(5, 3, 1, "Same_Lower").endswith("-> before 1, after 1")


def test_explain_cli_takes_same_lower():
    run = subprocess.run([sys.executable, "-m", "numconv", "explain", "--input", "224",
                          "--window", "7", "--stride", "2", "--padding", "SAME_LOWER"],
                         capture_output=True, text=True, check=True)
    assert run.stdout.strip().endswith("total pad = max((112-1)*2 + 7 - 224, 0) = 5 -> "
                                       "before 3, after 2")


#: (spatial, window, strides, dilations), each with an odd total pad somewhere
CASES = [((9,), (4,), (2,), (1,)), ((7, 8), (4, 2), (2, 3), (1, 1)),
         ((6, 7), (2, 2), (1, 2), (2, 1)), ((4, 5, 3), (2, 3, 2), (2, 1, 2), (1, 1, 1))]


@pytest.mark.parametrize("spatial, window, strides, dilations", CASES)
def test_same_lower_against_loops(spatial, window, strides, dilations):
    x = RNG.standard_normal((2, *spatial, 3))
    w = RNG.standard_normal((*window, 3, 2))
    geo = [onnx_pads(n, k, s, d) for n, k, s, d in zip(spatial, window, strides, dilations)]
    pads = [p for p, _ in geo]
    assert any(b > a for b, a in pads)          # the odd pixel goes first somewhere
    np.testing.assert_allclose(numconv.convolution(x, w, strides, "SAME_LOWER",
                                                   dilations=dilations),
                               ref_conv(x, w, strides, pads, dilations), rtol=1e-12,
                               atol=1e-12)
    for kind in ("MAX", "AVG"):
        np.testing.assert_allclose(numconv.pool(x, list(window), kind, strides, "same_lower",
                                                dilations=dilations),
                                   ref_pool(x, window, strides, pads, dilations, kind),
                                   rtol=1e-12, atol=1e-12)
    assert numconv.pool(x, list(window), "MAX", strides, "SAME_UPPER", dilations=dilations) \
        .tolist() == numconv.pool(x, list(window), "MAX", strides, "SAME",
                                  dilations=dilations).tolist()


def test_same_lower_in_gradients_transposes_and_patches():
    """Every op with a padding argument takes it, and agrees with the explicit pads."""
    x = RNG.standard_normal((1, 7, 6, 2))
    w = RNG.standard_normal((4, 3, 2, 4))
    pads = [(2, 1), (1, 0)]          # 7, k 4, s 2: total 3; 6, k 3, s 2: total 1
    assert pads == [onnx_pads(7, 4, 2)[0], onnx_pads(6, 3, 2)[0]]
    y = numconv.conv2d(x, w, 2, "SAME_LOWER")
    g = RNG.standard_normal(y.shape)
    same = {"SAME_LOWER": "SAME_LOWER", "explicit": pads}
    got = {k: (numconv.conv2d_backprop_input(x.shape, w, g, 2, p),
               numconv.conv2d_backprop_filter(x, w.shape, g, 2, p),
               numconv.conv2d_transpose(g, w, x.shape, 2, p),
               numconv.im2col(x, (4, 3), 2, p),
               numconv.col2im(numconv.im2col(x, (4, 3), 2, p), x.shape, (4, 3), 2, p),
               numconv.max_pool_grad(x, numconv.max_pool2d(x, (4, 3), 2, p), (4, 3), 2, p),
               numconv.avg_pool_grad(x.shape, numconv.avg_pool2d(x, (4, 3), 2, p), (4, 3), 2,
                                     p),
               numconv.max_pool_with_argmax(x, (4, 3), 2, p)[1])
           for k, p in same.items()}
    for a, b in zip(got["SAME_LOWER"], got["explicit"]):
        np.testing.assert_array_equal(a, b)
    # unpooling's default size: the largest input that pools to the output, as for SAME
    out, idx = numconv.max_pool_with_argmax(x, (4, 3), 2, "SAME_LOWER")
    assert numconv.max_unpool(out, idx, (4, 3), 2, "SAME_LOWER").shape == (1, 8, 6, 2)


def test_same_lower_refuses_ceil_mode():
    with pytest.raises(ValueError, match=r"max_pool: ceil_mode cannot be combined with "
                                         r"padding='SAME_LOWER'"):
        numconv.max_pool(np.zeros((1, 4, 1)), 2, 2, "SAME_LOWER", ceil_mode=True)


def test_same_lower_in_dask_and_layers():
    da = pytest.importorskip("dask.array")
    import numconv.dask as ncd
    from numconv.layers import Conv2D, MaxPooling2D
    x = RNG.standard_normal((2, 9, 8, 3))
    w = RNG.standard_normal((3, 3, 3, 2))
    lazy = ncd.conv2d(da.from_array(x, chunks=(1, 4, 4, 3)), w, 2, "SAME_LOWER")
    np.testing.assert_allclose(lazy.compute(), numconv.conv2d(x, w, 2, "SAME_LOWER"),
                               rtol=1e-12, atol=1e-12)
    pooled = ncd.max_pool2d(da.from_array(x, chunks=(1, 4, 4, 3)), 2, 2, "same_lower")
    np.testing.assert_array_equal(pooled.compute(), numconv.max_pool2d(x, 2, 2, "SAME_LOWER"))
    layer = Conv2D(2, 3, 2, padding="same_lower", use_bias=False)
    layer(x)
    layer.set_weights([w])
    np.testing.assert_array_equal(layer(x), numconv.conv2d(x, w, 2, "SAME_LOWER"))
    np.testing.assert_array_equal(MaxPooling2D(2, padding="SAME_LOWER")(x),
                                  numconv.max_pool2d(x, 2, 2, "SAME_LOWER"))


def _onnx_run(node, x, **initial):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None] * x.ndim)],
        [numpy_helper.from_array(v, k) for k, v in initial.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


@pytest.mark.parametrize("mode", ["SAME_LOWER", "SAME_UPPER"])
def test_same_lower_against_onnx_runtime(mode):
    from onnx import helper
    x = RNG.standard_normal((2, 3, 9, 8)).astype(np.float32)            # NCHW
    w = RNG.standard_normal((4, 3, 3, 2)).astype(np.float32)            # OIHW
    conv = helper.make_node("Conv", ["x", "w"], ["y"], auto_pad=mode, strides=[2, 3],
                            kernel_shape=[3, 2])
    expected = _onnx_run(conv, x, w=w)
    got = numconv.conv2d(x, w.transpose(2, 3, 1, 0), (2, 3), mode, "NCHW")
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    for op in ("MaxPool", "AveragePool"):
        pool = helper.make_node(op, ["x"], ["y"], auto_pad=mode, strides=[2, 2],
                                kernel_shape=[3, 2])
        expected = _onnx_run(pool, x)
        got = numconv.pool(x, [3, 2], "MAX" if op == "MaxPool" else "AVG", 2, mode.lower(),
                           "NCHW")
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------- data_format

X1 = RNG.standard_normal((2, 3, 7))          # NCW: 1 spatial dim
X2 = RNG.standard_normal((2, 3, 6, 5))       # NCHW


@pytest.mark.parametrize("x", [X1, X2], ids=["1d", "2d"])
def test_keras_names_work_in_every_function(x):
    """channels_first gives what the rank-specific NC... name gives."""
    tf_name = {3: "NCW", 4: "NCHW"}[x.ndim]
    n = x.ndim - 2
    w = RNG.standard_normal((*(2,) * n, 3, 4))
    calls = {
        "convolution": lambda f: numconv.convolution(x, w, 1, "SAME", f),
        "max_pool": lambda f: numconv.max_pool(x, 2, 2, "SAME", f),
        "avg_pool": lambda f: numconv.avg_pool(x, 2, 2, "SAME", f),
        "pool": lambda f: numconv.pool(x, [2] * n, "MAX", 2, "SAME", f),
        "global_max_pool": lambda f: numconv.global_max_pool(x, f),
        "global_avg_pool": lambda f: numconv.global_avg_pool(x, f, keepdims=True),
        "im2col": lambda f: numconv.im2col(x, 2, 1, "SAME", f),
        "col2im": lambda f: numconv.col2im(numconv.im2col(x, 2, 1, "SAME", tf_name), x.shape,
                                           2, 1, "SAME", f),
        "bias_add_grad": lambda f: numconv.bias_add_grad(x, f),
        "conv_backprop_input": lambda f: numconv.conv_backprop_input(
            x.shape, w, numconv.convolution(x, w, 1, "SAME", tf_name), 1, "SAME", f),
        "conv_backprop_filter": lambda f: numconv.conv_backprop_filter(
            x, w.shape, numconv.convolution(x, w, 1, "SAME", tf_name), 1, "SAME", f),
        "max_pool_grad": lambda f: numconv.max_pool_grad(
            x, numconv.max_pool(x, 2, 2, "SAME", tf_name), 2, 2, "SAME", f),
        "avg_pool_grad": lambda f: numconv.avg_pool_grad(
            x.shape, numconv.avg_pool(x, 2, 2, "SAME", tf_name), 2, 2, "SAME", f),
        "max_pool_with_argmax": lambda f: numconv.max_pool_with_argmax(x, 2, 2, "SAME", f)[1],
    }
    for name, call in calls.items():
        np.testing.assert_array_equal(call("channels_first"), call(tf_name), err_msg=name)
        np.testing.assert_array_equal(call(" Channels_First "), call(tf_name), err_msg=name)


def test_keras_channels_last_is_the_default_layout():
    x = RNG.standard_normal((2, 6, 5, 3))
    assert numconv.max_pool(x, 2, 2, "VALID", "channels_last").tolist() == \
        numconv.max_pool(x, 2, 2, "VALID").tolist()
    assert numconv.bias_add_grad(x, "channels_last").tolist() == \
        numconv.bias_add_grad(x).tolist()
    assert numconv.bias_add_grad(x, "channels_first").shape == (6,)


# --------------------------------------------------------------------------- strides=None

def test_strides_none_is_one_in_a_pool_and_its_gradient():
    x = RNG.standard_normal((1, 15, 1))
    y = numconv.max_pool(x, 2, None, "VALID")
    assert y.shape == (1, 14, 1)                                # (15 - 2 + 1) // 1
    dx = numconv.max_pool_grad(x, np.ones_like(y), 2, None, "VALID")
    np.testing.assert_array_equal(dx, numconv.max_pool_grad(x, np.ones_like(y), 2, 1, "VALID"))
    ya = numconv.avg_pool(x, 2, None, "VALID")
    np.testing.assert_array_equal(numconv.avg_pool_grad(x.shape, np.ones_like(ya), 2, None,
                                                        "VALID"),
                                  numconv.avg_pool_grad(x.shape, np.ones_like(ya), 2, 1,
                                                        "VALID"))
    out, idx = numconv.max_pool_with_argmax(x, 2, None, "VALID")
    assert out.shape == y.shape
    assert numconv.max_unpool(out, idx, 2, None).shape == x.shape   # (14 - 1) * 1 + 2
    for call in (lambda: numconv.conv1d(x, np.ones((2, 1, 1)), None),
                 lambda: numconv.im2col(x, 2, None), lambda: numconv.explain(15, 2, None)):
        assert call() is not None


def test_keras_layers_keep_strides_none_as_pool_size():
    from numconv.layers import MaxPooling2D
    x = RNG.standard_normal((1, 6, 6, 1))
    assert MaxPooling2D(2)(x).shape == (1, 3, 3, 1)
    assert MaxPooling2D(2, strides=None)(x).shape == numconv.max_pool2d(x, 2, 2, "VALID").shape
