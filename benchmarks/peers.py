"""Peers: TensorFlow, PyTorch, numpy-ml, scipy.ndimage, ONNX's reference evaluator, GEMM.

The ``gemm`` peer is not a library but a floor: the bare ``np.matmul`` of a
convolution case's patch matrix, built before timing.  No im2col + GEMM
implementation in NumPy can be faster than it, so its ratio to TensorFlow is the
best ratio that path could ever reach on this machine.

Each peer is imported lazily and only if installed.  ``PEERS`` maps a peer name to a
loader returning the module (or None); the case classes in :mod:`benchmarks.cases`
ask the adapters here for a zero-argument callable that runs one op on inputs
converted beforehand (conversion is never timed), or for the reason the peer cannot
run that case.
"""

from __future__ import annotations

import functools
import importlib
import math
import os
import warnings
from typing import Any, Callable

import numpy as np

Runner = Callable[[], Any]

#: peer names in table order
PEER_NAMES = ("tf", "torch", "numpy-ml", "scipy", "onnx", "gemm")
#: patch matrices above this size are not built for the ``gemm`` floor
GEMM_FLOOR_BYTES = 1 << 30
#: peers whose single run can take seconds: timed once (not repeated) and skipped by --quick
SLOW_PEERS = ("numpy-ml", "onnx")
#: peers that run NumPy GEMMs on OpenBLAS's own threads, which then spin for ~0.1 s
OPENBLAS_PEERS = ("numpy-ml", "onnx", "gemm")


class Unavailable(Exception):
    """A peer cannot run a case; the message says why (shown in the table's notes)."""


@functools.lru_cache(maxsize=None)
def load(name: str) -> Any:
    """The peer's module, or None when it is not installed (or fails to import)."""
    try:
        if name == "tf":
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
            import tensorflow as tf
            return tf
        if name == "torch":
            import torch
            torch.set_num_threads(2)
            return torch
        if name == "numpy-ml":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return importlib.import_module("numpy_ml.neural_nets.utils")
        if name == "scipy":
            return importlib.import_module("scipy.ndimage")
        if name == "onnx":
            importlib.import_module("onnx.reference")
            return importlib.import_module("onnx")
        if name == "gemm":
            return np
    except Exception:  # noqa: BLE001 - a broken optional peer is just absent
        return None
    raise KeyError(name)


def version(name: str) -> str | None:
    """Installed version of a peer (None when absent)."""
    module = load(name)
    if module is None:
        return None
    top = {"tf": "tensorflow", "torch": "torch", "numpy-ml": "numpy_ml", "scipy": "scipy",
           "onnx": "onnx", "gemm": "numpy"}[name]
    try:
        from importlib.metadata import version as dist_version
        return dist_version({"numpy_ml": "numpy-ml", "tensorflow": "tensorflow-cpu"}.get(top, top))
    except Exception:  # noqa: BLE001
        return getattr(importlib.import_module(top), "__version__", "?")


# --------------------------------------------------------------------------- helpers

def pads_of(geometry: Any) -> list[tuple[int, int]]:
    return [(d.pad_before, d.pad_after) for d in geometry.dims]


def symmetric(pads: list[tuple[int, int]]) -> bool:
    return all(b == a for b, a in pads)


def nchw(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(x, -1, 1))


def oihw(w: np.ndarray) -> np.ndarray:
    """TF's (kh, kw, cin_g, cout) -> PyTorch/ONNX (cout, cin_g, kh, kw)."""
    return np.ascontiguousarray(w.transpose(3, 2, 0, 1))


# --------------------------------------------------------------------------- TensorFlow

def tf_conv(x, w, strides, padding, dilations, depthwise=False) -> Runner:
    tf = load("tf")
    xt, wt = tf.constant(x), tf.constant(w)
    if depthwise:
        return lambda: tf.nn.depthwise_conv2d(xt, wt, [1, *strides, 1], padding,
                                              dilations=dilations)
    return lambda: tf.nn.conv2d(xt, wt, strides, padding, dilations=dilations)


def tf_pool(x, kind, ksize, strides, padding) -> Runner:
    tf = load("tf")
    xt = tf.constant(x)
    op = tf.nn.max_pool2d if kind == "MAX" else tf.nn.avg_pool2d
    return lambda: op(xt, ksize, strides, padding)


def tf_grad(op: str, arrays: dict, params: dict) -> Runner:
    tf = load("tf")
    raw = tf.raw_ops
    s = [1, *params["strides"], 1]
    t = {k: tf.constant(v) for k, v in arrays.items()}
    if op in ("conv_input", "conv_filter"):
        depthwise = params.get("depthwise", False)
        names = {("conv_input", False): "Conv2DBackpropInput",
                 ("conv_filter", False): "Conv2DBackpropFilter",
                 ("conv_input", True): "DepthwiseConv2dNativeBackpropInput",
                 ("conv_filter", True): "DepthwiseConv2dNativeBackpropFilter"}
        kernel = getattr(raw, names[op, depthwise])
        if op == "conv_input":
            sizes = tf.constant(arrays["x"].shape, dtype=tf.int32)
            return lambda: kernel(input_sizes=sizes, filter=t["w"], out_backprop=t["g"],
                                  strides=s, padding=params["padding"])
        sizes = tf.constant(arrays["w"].shape, dtype=tf.int32)
        return lambda: kernel(input=t["x"], filter_sizes=sizes, out_backprop=t["g"],
                              strides=s, padding=params["padding"])
    k = [1, *params["ksize"], 1]
    if op == "argmax":
        return lambda: tf.nn.max_pool_with_argmax(t["x"], k, s, params["padding"])
    if op == "max_pool":
        y = tf.nn.max_pool2d(t["x"], params["ksize"], params["strides"], params["padding"])
        return lambda: raw.MaxPoolGrad(orig_input=t["x"], orig_output=y, grad=t["g"], ksize=k,
                                       strides=s, padding=params["padding"])
    shape = tf.constant(arrays["x"].shape, dtype=tf.int32)
    return lambda: raw.AvgPoolGrad(orig_input_shape=shape, grad=t["g"], ksize=k, strides=s,
                                   padding=params["padding"])


# --------------------------------------------------------------------------- PyTorch

def torch_conv(x, w, strides, geometry, dilations, groups) -> Runner:
    torch = load("torch")
    F = torch.nn.functional
    xt, wt = torch.from_numpy(nchw(x)), torch.from_numpy(oihw(w))
    pads = pads_of(geometry)
    if symmetric(pads):
        padding = tuple(b for b, _ in pads)

        def run() -> Any:
            with torch.no_grad():
                return F.conv2d(xt, wt, None, strides, padding, dilations, groups)
        return run
    flat = tuple(v for b, a in reversed(pads) for v in (b, a))   # (left, right, top, bottom)

    def run_padded() -> Any:
        with torch.no_grad():
            return F.conv2d(F.pad(xt, flat), wt, None, strides, 0, dilations, groups)
    return run_padded


def torch_pool(x, kind, ksize, strides, geometry) -> Runner:
    torch = load("torch")
    F = torch.nn.functional
    xt = torch.from_numpy(nchw(x))
    pads = pads_of(geometry)
    if kind == "AVG" and not symmetric(pads):
        raise Unavailable("asymmetric SAME padding not expressible without counting pads")
    if symmetric(pads):
        padding = tuple(b for b, _ in pads)
        if kind == "MAX":
            return lambda: F.max_pool2d(xt, ksize, strides, padding)
        return lambda: F.avg_pool2d(xt, ksize, strides, padding, count_include_pad=False)
    flat = tuple(v for b, a in reversed(pads) for v in (b, a))
    return lambda: F.max_pool2d(F.pad(xt, flat, value=float("-inf")), ksize, strides)


def torch_grad(op: str, arrays: dict, params: dict, geometry: Any) -> Runner:
    torch = load("torch")
    pads = pads_of(geometry)
    if not symmetric(pads):
        raise Unavailable("asymmetric padding")
    padding = tuple(b for b, _ in pads)
    s = tuple(params["strides"])
    if op in ("conv_input", "conv_filter"):
        wt = arrays["w"]
        groups = 1
        if params.get("depthwise", False):   # (kh, kw, C, m) -> grouped (kh, kw, 1, C*m)
            groups = wt.shape[-2]
            wt = wt.reshape(*wt.shape[:2], 1, -1)
        x, w, g = (torch.from_numpy(nchw(arrays["x"])), torch.from_numpy(oihw(wt)),
                   torch.from_numpy(nchw(arrays["g"])))
        if op == "conv_input":
            return lambda: torch.nn.grad.conv2d_input(x.shape, w, g, s, padding, groups=groups)
        return lambda: torch.nn.grad.conv2d_weight(x, w.shape, g, s, padding, groups=groups)
    x = torch.from_numpy(nchw(arrays["x"]))
    k = tuple(params["ksize"])
    if op == "argmax":
        return lambda: torch.nn.functional.max_pool2d(x, k, s, padding, return_indices=True)
    g = torch.from_numpy(nchw(arrays["g"]))
    if op == "max_pool":
        _, idx = torch.nn.functional.max_pool2d(x, k, s, padding, return_indices=True)
        aten = torch.ops.aten.max_pool2d_with_indices_backward
        return lambda: aten(g, x, k, s, padding, (1, 1), False, idx)
    aten = torch.ops.aten.avg_pool2d_backward
    return lambda: aten(g, x, k, s, padding, False, False, None)


# --------------------------------------------------------------------------- numpy-ml

def numpy_ml_conv(x, w, strides, geometry, dilations, groups) -> Runner:
    utils = load("numpy-ml")
    if groups != 1:
        raise Unavailable("no grouped or depthwise convolution")
    if len(set(strides)) != 1 or len(set(dilations)) != 1:
        raise Unavailable("one stride and dilation for both dims only")
    (t, b), (left, right) = pads_of(geometry)
    return lambda: utils.conv2D(x, w, strides[0], (t, b, left, right), dilations[0] - 1)


def numpy_ml_pool(x, kind, ksize, strides, geometry) -> Runner:
    load("numpy-ml")
    if kind != "MAX" or any(b or a for b, a in pads_of(geometry)):
        raise Unavailable("its Pool2D pads with zeros and counts them (semantics differ)")
    if len(set(strides)) != 1:
        raise Unavailable("one stride for both dims only")
    from numpy_ml.neural_nets.layers import Pool2D
    layer = Pool2D(tuple(ksize), stride=strides[0], pad=0, mode="max")
    return lambda: layer.forward(x, retain_derived=False)


# --------------------------------------------------------------------------- scipy.ndimage

def scipy_conv(x, w, strides, geometry, dilations, groups) -> Runner:
    ndimage = load("scipy")
    if x.shape[0] != 1 or x.shape[-1] != 1 or w.shape[-1] != 1:
        raise Unavailable("single-channel, single-image cases only")
    if any(s != 1 for s in strides) or any(d != 1 for d in dilations):
        raise Unavailable("stride 1, dilation 1 only")
    kernel = w[:, :, 0, 0]
    # ndimage centres window k at k // 2: pads before k // 2 (TF SAME for odd k)
    if any(b != k // 2 or a != k - 1 - k // 2
           for (b, a), k in zip(pads_of(geometry), kernel.shape)):
        raise Unavailable("padding other than centred SAME")
    image = x[0, :, :, 0]
    return lambda: ndimage.correlate(image, kernel, mode="constant", cval=0.0)


# --------------------------------------------------------------------------- GEMM floor

def gemm_floor(x, w, strides, geometry, dilations, groups) -> Runner:
    """``np.matmul(patches, filters)`` alone, the patch matrix built beforehand."""
    if groups != 1:
        raise Unavailable("grouped or depthwise: not one GEMM")
    k, cout = math.prod(w.shape[:-1]), w.shape[-1]
    rows = x.shape[0] * math.prod(geometry.out_shape)
    if rows * k * x.itemsize > GEMM_FLOOR_BYTES:
        raise Unavailable(f"patch matrix over {GEMM_FLOOR_BYTES >> 20} MiB")
    import numconv
    pads = [list(p) for p in pads_of(geometry)]
    patches = numconv.im2col(x, w.shape[:-2], strides, pads, dilations=dilations)
    a, b = patches.reshape(rows, k), np.ascontiguousarray(w.reshape(k, cout))
    out = np.empty((rows, cout), dtype=np.result_type(a, b))
    return lambda: np.matmul(a, b, out=out)


# --------------------------------------------------------------------------- ONNX reference

def _onnx_session(op: str, inputs: dict, attrs: dict) -> Any:
    onnx = load("onnx")
    from onnx import TensorProto, helper
    from onnx.reference import ReferenceEvaluator
    infos = [helper.make_tensor_value_info(name, TensorProto.FLOAT, list(a.shape))
             for name, a in inputs.items()]
    out = helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)
    node = helper.make_node(op, list(inputs), ["Y"], **attrs)
    model = helper.make_model(helper.make_graph([node], op.lower(), infos, [out]))
    assert onnx is not None
    return ReferenceEvaluator(model)


def onnx_conv(x, w, strides, geometry, dilations, groups) -> Runner:
    pads = pads_of(geometry)
    feeds = {"X": nchw(x), "W": oihw(w)}
    session = _onnx_session("Conv", feeds, dict(
        strides=list(strides), dilations=list(dilations), group=groups,
        pads=[b for b, _ in pads] + [a for _, a in pads]))
    return lambda: session.run(None, feeds)[0]


def onnx_pool(x, kind, ksize, strides, geometry) -> Runner:
    if x.size > 1 << 20:
        raise Unavailable("its pooling loops in Python: 7 s (max) to 57 s (avg) per call on "
                          "8x112x112x64 (measured), skipped above 2**20 elements")
    pads = pads_of(geometry)
    feeds = {"X": nchw(x)}
    attrs = dict(kernel_shape=list(ksize), strides=list(strides),
                 pads=[b for b, _ in pads] + [a for _, a in pads])
    if kind == "AVG":
        attrs["count_include_pad"] = 0
    session = _onnx_session("MaxPool" if kind == "MAX" else "AveragePool", feeds, attrs)
    return lambda: session.run(None, feeds)[0]
