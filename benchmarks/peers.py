"""Peers: TensorFlow, PyTorch, numpy-ml, scipy.ndimage and ONNX's reference evaluator.

Runs inside a worker process (:mod:`benchmarks.worker`), one peer per process.
:func:`load` imports the peer (None when it is absent or fails to import);
:func:`make` returns ``(run, to_nhwc)``: a zero-argument callable running one op on
inputs converted beforehand (conversion is never timed), and a function turning its
result into an NHWC NumPy array (for the error columns).  A peer that cannot express
a case exactly raises :class:`Unavailable` with the reason.
"""

from __future__ import annotations

import functools
import importlib
import os
import warnings
from typing import Any, Callable

import numpy as np

from .cases import Case

Runner = Callable[[], Any]
Made = tuple[Runner, Callable[[Any], np.ndarray]]

#: peer names in table order
PEER_NAMES = ("tf", "torch", "numpy-ml", "scipy", "onnx")
#: peers whose single run can take seconds: timed once when over a third of the budget
SLOW_PEERS = ("numpy-ml", "onnx")
_DISTRIBUTION = {"tf": "tensorflow-cpu", "torch": "torch", "numpy-ml": "numpy-ml",
                 "scipy": "scipy", "onnx": "onnx"}


class Unavailable(Exception):
    """An implementation cannot run a case; the message says why (kept in the JSON)."""


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
    except Exception:  # noqa: BLE001 - a broken optional peer is just absent
        return None
    raise KeyError(name)


def version(name: str) -> str | None:
    """Installed version of a peer (None when absent)."""
    if load(name) is None:
        return None
    from importlib.metadata import PackageNotFoundError, version as dist_version
    try:
        return dist_version(_DISTRIBUTION[name])
    except PackageNotFoundError:
        return getattr(load(name), "__version__", "?")


def make(name: str, case: Case, a: dict[str, np.ndarray]) -> Made:
    """``(run, to_nhwc)`` of peer ``name`` on case ``case`` with inputs ``a``."""
    if load(name) is None:
        raise Unavailable("not installed")
    table = {"tf": _tf, "torch": _torch, "numpy-ml": _numpy_ml, "scipy": _scipy,
             "onnx": _onnx}
    return table[name](case, a)


# --------------------------------------------------------------------------- helpers

def _symmetric(pads: Any) -> bool:
    return all(b == a for b, a in pads)


def nchw(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(x, -1, 1))


def oihw(w: np.ndarray) -> np.ndarray:
    """TF's (kh, kw, cin_g, cout) -> PyTorch/ONNX (cout, cin_g, kh, kw)."""
    return np.ascontiguousarray(w.transpose(3, 2, 0, 1))


def _from_nchw(result: Any) -> np.ndarray:
    return np.moveaxis(np.asarray(result), 1, -1)


# --------------------------------------------------------------------------- TensorFlow

def _tf(case: Case, a: dict[str, np.ndarray]) -> Made:
    tf = load("tf")
    t = {k: tf.constant(v) for k, v in a.items()}
    numpy = lambda r: r.numpy()  # noqa: E731
    if case.kind == "conv":
        if case.depthwise:
            return (lambda: tf.nn.depthwise_conv2d(t["x"], t["w"], [1, *case.strides, 1],
                                                   case.padding, dilations=case.dilations),
                    numpy)
        return (lambda: tf.nn.conv2d(t["x"], t["w"], case.strides, case.padding,
                                     dilations=case.dilations), numpy)
    if case.kind == "pool":
        op = tf.nn.max_pool2d if case.pool == "MAX" else tf.nn.avg_pool2d
        return lambda: op(t["x"], case.ksize, case.strides, case.padding), numpy
    raw, b = tf.raw_ops, case.base
    s = [1, *b.strides, 1]
    if case.op in ("conv_input", "conv_filter"):
        names = {("conv_input", False): "Conv2DBackpropInput",
                 ("conv_filter", False): "Conv2DBackpropFilter",
                 ("conv_input", True): "DepthwiseConv2dNativeBackpropInput",
                 ("conv_filter", True): "DepthwiseConv2dNativeBackpropFilter"}
        kernel = getattr(raw, names[case.op, b.depthwise])
        if case.op == "conv_input":
            sizes = tf.constant(b.x_shape, dtype=tf.int32)
            return (lambda: kernel(input_sizes=sizes, filter=t["w"], out_backprop=t["g"],
                                   strides=s, padding=b.padding), numpy)
        sizes = tf.constant(b.w_shape, dtype=tf.int32)
        return (lambda: kernel(input=t["x"], filter_sizes=sizes, out_backprop=t["g"],
                               strides=s, padding=b.padding), numpy)
    k = [1, *b.ksize, 1]
    if case.op == "argmax":
        return lambda: tf.nn.max_pool_with_argmax(t["x"], k, s, b.padding), numpy
    if case.op == "max_pool":
        y = tf.nn.max_pool2d(t["x"], b.ksize, b.strides, b.padding)
        return (lambda: raw.MaxPoolGrad(orig_input=t["x"], orig_output=y, grad=t["g"],
                                        ksize=k, strides=s, padding=b.padding), numpy)
    shape = tf.constant(b.x_shape, dtype=tf.int32)
    return (lambda: raw.AvgPoolGrad(orig_input_shape=shape, grad=t["g"], ksize=k, strides=s,
                                    padding=b.padding), numpy)


# --------------------------------------------------------------------------- PyTorch

def _torch(case: Case, a: dict[str, np.ndarray]) -> Made:
    torch = load("torch")
    F = torch.nn.functional
    base = case.base if case.kind == "grad" else case
    pads = base.geometry().pads
    if not _symmetric(pads) and (case.kind == "pool" and case.pool == "AVG"
                                 or case.kind == "grad" and base.kind == "pool"):
        raise Unavailable("asymmetric SAME padding: not expressible without counting pads")
    padding = tuple(b for b, _ in pads)
    flat = tuple(v for b, a_ in reversed(pads) for v in (b, a_))   # (left, right, top, bottom)
    t = {k: torch.from_numpy(nchw(v) if v.ndim == 4 and k != "w" else v) for k, v in a.items()}
    if case.kind == "conv":
        w = torch.from_numpy(oihw(case.grouped_filters(a["w"])))
        s, d, groups = case.strides, case.dilations, case.groups

        def run() -> Any:
            with torch.no_grad():
                if _symmetric(pads):
                    return F.conv2d(t["x"], w, None, s, padding, d, groups)
                return F.conv2d(F.pad(t["x"], flat), w, None, s, 0, d, groups)
        return run, lambda r: _from_nchw(r.numpy())
    if case.kind == "pool":
        k, s = case.ksize, case.strides
        if case.pool == "AVG":
            return (lambda: F.avg_pool2d(t["x"], k, s, padding, count_include_pad=False),
                    lambda r: _from_nchw(r.numpy()))
        if _symmetric(pads):
            return lambda: F.max_pool2d(t["x"], k, s, padding), lambda r: _from_nchw(r.numpy())
        return (lambda: F.max_pool2d(F.pad(t["x"], flat, value=float("-inf")), k, s),
                lambda r: _from_nchw(r.numpy()))
    b, s = case.base, tuple(case.base.strides)
    if case.op in ("conv_input", "conv_filter"):
        groups = b.groups
        w = torch.from_numpy(oihw(b.grouped_filters(np.empty(b.w_shape, np.float32)
                                                    if "w" not in a else a["w"])))
        grad = torch.nn.grad
        if _symmetric(pads):
            if case.op == "conv_input":
                shape = (b.x_shape[0], b.x_shape[3], *b.x_shape[1:3])
                return (lambda: grad.conv2d_input(shape, w, t["g"], s, padding, groups=groups),
                        lambda r: _from_nchw(r.numpy()))
            return (lambda: grad.conv2d_weight(t["x"], w.shape, t["g"], s, padding,
                                               groups=groups),
                    lambda r: r.numpy().transpose(2, 3, 1, 0))
        # asymmetric SAME: the gradient of a VALID convolution of the padded input
        (top, bottom), (left, right) = pads
        if case.op == "conv_input":
            shape = (b.x_shape[0], b.x_shape[3], b.x_shape[1] + top + bottom,
                     b.x_shape[2] + left + right)
            return (lambda: grad.conv2d_input(shape, w, t["g"], s, 0, groups=groups)[
                :, :, top:shape[2] - bottom, left:shape[3] - right],
                lambda r: _from_nchw(r.numpy()))
        return (lambda: grad.conv2d_weight(F.pad(t["x"], flat), w.shape, t["g"], s, 0,
                                           groups=groups),
                lambda r: r.numpy().transpose(2, 3, 1, 0))
    k = tuple(b.ksize)
    if case.op == "argmax":
        return lambda: F.max_pool2d(t["x"], k, s, padding, return_indices=True), _no_nhwc
    x = t["x"] if "x" in t else torch.zeros(b.x_shape[:1] + b.x_shape[3:] + b.x_shape[1:3])
    if case.op == "max_pool":
        _, idx = F.max_pool2d(x, k, s, padding, return_indices=True)
        aten = torch.ops.aten.max_pool2d_with_indices_backward
        return lambda: aten(t["g"], x, k, s, padding, (1, 1), False, idx), _no_nhwc
    aten = torch.ops.aten.avg_pool2d_backward
    return lambda: aten(t["g"], x, k, s, padding, False, False, None), _no_nhwc


def _no_nhwc(result: Any) -> np.ndarray:
    raise Unavailable("no error column for this case")


# --------------------------------------------------------------------------- numpy-ml

def _numpy_ml(case: Case, a: dict[str, np.ndarray]) -> Made:
    utils = load("numpy-ml")
    if case.kind == "grad":
        raise Unavailable("no gradient kernels called alone")
    if case.kind == "pool":
        if case.pool != "MAX" or case.geometry().padded or len(set(case.strides)) != 1:
            raise Unavailable("its Pool2D pads with zeros and counts them (semantics differ)")
        from numpy_ml.neural_nets.layers import Pool2D
        layer = Pool2D(tuple(case.ksize), stride=case.strides[0], pad=0, mode="max")
        return lambda: layer.forward(a["x"], retain_derived=False), np.asarray
    if case.groups != 1:
        raise Unavailable("no grouped or depthwise convolution")
    if len(set(case.strides)) != 1 or len(set(case.dilations)) != 1:
        raise Unavailable("one stride and dilation for both dims only")
    (t, b), (left, right) = case.geometry().pads
    return (lambda: utils.conv2D(a["x"], a["w"], case.strides[0], (t, b, left, right),
                                 case.dilations[0] - 1), np.asarray)


# --------------------------------------------------------------------------- scipy.ndimage

def _scipy(case: Case, a: dict[str, np.ndarray]) -> Made:
    ndimage = load("scipy")
    if case.kind != "conv" or case.x_shape[0] != 1 or case.x_shape[-1] != 1 \
            or case.w_shape[-1] != 1:
        raise Unavailable("single-channel, single-image convolutions only")
    if case.strides != (1, 1) or case.dilations != (1, 1):
        raise Unavailable("stride 1, dilation 1 only")
    kernel = a["w"][:, :, 0, 0]
    # ndimage centres window k at k // 2: pads before k // 2 (TF SAME for odd k)
    if any(b != k // 2 or a_ != k - 1 - k // 2
           for (b, a_), k in zip(case.geometry().pads, kernel.shape)):
        raise Unavailable("padding other than centred SAME")
    image = a["x"][0, :, :, 0]
    return (lambda: ndimage.correlate(image, kernel, mode="constant", cval=0.0),
            lambda r: r[None, :, :, None])


# --------------------------------------------------------------------------- ONNX reference

def _onnx_session(op: str, inputs: dict, attrs: dict) -> Any:
    from onnx import TensorProto, helper
    from onnx.reference import ReferenceEvaluator
    infos = [helper.make_tensor_value_info(name, TensorProto.FLOAT, list(v.shape))
             for name, v in inputs.items()]
    out = helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)
    node = helper.make_node(op, list(inputs), ["Y"], **attrs)
    model = helper.make_model(helper.make_graph([node], op.lower(), infos, [out]))
    return ReferenceEvaluator(model)


def _onnx(case: Case, a: dict[str, np.ndarray]) -> Made:
    if case.kind == "grad":
        raise Unavailable("no gradient operators")
    pads = case.geometry().pads
    onnx_pads = [b for b, _ in pads] + [a_ for _, a_ in pads]
    feeds = {"X": nchw(a["x"])}
    if case.kind == "conv":
        feeds["W"] = oihw(case.grouped_filters(a["w"]))
        session = _onnx_session("Conv", feeds, dict(
            strides=list(case.strides), dilations=list(case.dilations), group=case.groups,
            pads=onnx_pads))
    else:
        if a["x"].size > 1 << 20:
            raise Unavailable("its pooling loops in Python: 7 s (max) to 57 s (avg) per call "
                              "on 8x112x112x64 (measured), skipped above 2**20 elements")
        attrs = dict(kernel_shape=list(case.ksize), strides=list(case.strides), pads=onnx_pads)
        if case.pool == "AVG":
            attrs["count_include_pad"] = 0
        session = _onnx_session("MaxPool" if case.pool == "MAX" else "AveragePool", feeds,
                                attrs)
    return lambda: session.run(None, feeds)[0], _from_nchw
