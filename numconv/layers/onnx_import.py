"""Copy sequential ONNX models into numconv layers; run them in ONNX Runtime layer by layer.

The model keeps ONNX's NCHW layout: convolutions and pools are channels-first layers,
``Flatten`` reshapes the NCHW array as it is (ONNX's (C, H, W) order), so a following
``Gemm`` takes its weights unchanged.  Initializers become the layers' weights (Conv's
``(M, C/group, kH, kW)`` transposed to numconv's ``(kH, kW, C/group, M)``).  A node or
attribute value numconv cannot reproduce is refused with a ValueError naming the node
(index, name, op type), never silently dropped.

Padding: ``auto_pad`` SAME_UPPER and SAME_LOWER (the odd pixel first) are numconv's
``padding="SAME"`` and ``"SAME_LOWER"``; ``pads`` become explicit ``(before, after)``
pairs.  ``ceil_mode`` is PyTorch's rule with explicit ``pads`` (numconv's pools
implement it); with ``auto_pad`` the specification's output size is ``ceil(in / s)``
(SAME) or ``ceil((in - eff + 1) / s)`` (VALID), the floor-mode sizes, so ``ceil_mode``
changes nothing there.

Known ONNX Runtime divergences from the specification (measured with ORT 1.32; numconv
follows the specification, checked against ``onnx.reference``): ORT refuses Conv with
``auto_pad`` SAME_* and dilations > 1; ORT applies PyTorch's ceil rule to pools with
``auto_pad="VALID"`` and ``ceil_mode=1`` (in 9, window 2, stride 2: 5 outputs where the
specification gives 4; ``compare`` reports the shape mismatch); ORT pads pools with
SAME_* and dilations > 1 as if undilated (an output smaller than ``ceil(in / s)``), and
there the reference evaluator disagrees with both, so numconv refuses those nodes.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Any, Callable, NoReturn

import numpy as np

from .. import _args
from ..crosscheck import require
from .core import Conv2D, Dense, Layer, ReLU
from .pooling import (AveragePooling2D, Flatten, GlobalAveragePooling2D, GlobalMaxPooling2D,
                      MaxPooling2D)

__all__ = ["ONNX_OPS"]

ONNX_OPS = ("Conv", "Relu", "LeakyRelu", "Clip", "MaxPool", "AveragePool",
            "GlobalAveragePool", "GlobalMaxPool", "Flatten", "Gemm", "MatMul")

_CF = "channels_first"


def _load(fn: str, model_or_path: Any, arg: str = "model_or_path") -> Any:
    """An ``onnx.ModelProto`` from a model or a file path."""
    onnx = require("onnx", fn)                 # onnx and onnxruntime: the onnx extra
    if isinstance(model_or_path, onnx.ModelProto):
        return model_or_path
    if not isinstance(model_or_path, (str, os.PathLike)):
        _args.type_fail(fn, arg, "must be an onnx.ModelProto or a path to an .onnx file",
                        model_or_path)
    path = _args.file_path(fn, arg, model_or_path, "an ONNX model file")
    try:
        return onnx.load(path)
    except Exception as exc:  # noqa: BLE001  (protobuf's DecodeError and friends)
        _args.fail(fn, arg, f"must be an ONNX model file ({type(exc).__name__}: {exc})",
                   str(path))


@dataclass
class _Node:
    """One node being converted: where it is, its attributes, the graph's constants."""

    fn: str
    index: int
    proto: Any
    attrs: dict[str, Any]
    constants: dict[str, np.ndarray]
    opset: int

    @property
    def name(self) -> str:
        """The layer name: the node's name, else its output's."""
        return self.proto.name or self.proto.output[0]

    def refuse(self, what: str, rule: str, got: Any) -> NoReturn:
        _args.onnx_node(self.fn, self.index, self.proto, what, rule, got)

    def attr(self, name: str, default: Any) -> Any:
        return self.attrs.get(name, default)

    def constant(self, position: int, what: str) -> np.ndarray | None:
        """Input ``position`` as an array (None when absent); refused unless a constant."""
        inputs = self.proto.input
        if position >= len(inputs) or not inputs[position]:
            return None
        if inputs[position] not in self.constants:
            self.refuse(f"input {position} ({what})", "must be an initializer or a Constant",
                        inputs[position])
        return self.constants[inputs[position]]

    def ints(self, name: str, n: int, default: int) -> tuple[int, ...]:
        value = tuple(int(v) for v in self.attrs.get(name, (default,) * n))
        if len(value) != n:
            self.refuse(f"attribute {name}", f"must have {n} values (2-D only)", list(value))
        return value

    def padding(self) -> Any:
        """numconv's padding for this node's ``auto_pad`` / ``pads``."""
        auto = self.attr("auto_pad", "NOTSET")
        if auto in ("VALID", "SAME_UPPER", "SAME_LOWER"):
            return auto                            # numconv's spellings of ONNX's modes
        if auto != "NOTSET":
            self.refuse("attribute auto_pad", "must be NOTSET, SAME_UPPER, SAME_LOWER or VALID",
                        auto)
        pads = self.ints("pads", 4, 0)
        return [(pads[0], pads[2]), (pads[1], pads[3])]

    def window_args(self, pool: bool) -> dict[str, Any]:
        strides, dilations = self.ints("strides", 2, 1), self.ints("dilations", 2, 1)
        if pool and self.attr("auto_pad", "NOTSET").startswith("SAME") and max(dilations) > 1:
            self.refuse("attribute dilations", "must be 1 with auto_pad SAME_* (ONNX Runtime "
                        "pads such pools as if undilated, unlike the ONNX specification)",
                        list(dilations))
        return dict(strides=strides, padding=self.padding(),
                    data_format=_CF, dilation_rate=dilations, name=self.name)


def _conv(node: _Node) -> Layer:
    w = node.constant(1, "W")
    if w is None or w.ndim != 4:
        node.refuse("input 1 (W)", "must be a 4-D initializer (2-D convolution)",
                    None if w is None else w.shape)
    window = node.ints("kernel_shape", 2, 0) if "kernel_shape" in node.attrs else w.shape[2:]
    if tuple(window) != w.shape[2:]:
        node.refuse("attribute kernel_shape", f"must match the weights' {w.shape[2:]}",
                    list(window))
    bias = node.constant(2, "B")
    conv = Conv2D(w.shape[0], w.shape[2:], groups=int(node.attr("group", 1)),
                  use_bias=bias is not None, **node.window_args(pool=False))
    conv.set_weights([w.transpose(2, 3, 1, 0)] + ([bias] if bias is not None else []))
    return conv


def _pool(node: _Node) -> Layer:
    if len(node.proto.output) > 1 and node.proto.output[1]:
        node.refuse("output 1 (Indices)", "must be unused", node.proto.output[1])
    window = node.ints("kernel_shape", 2, 0)
    # with auto_pad, the specification's output size does not depend on ceil_mode
    ceil = bool(node.attr("ceil_mode", 0)) and node.attr("auto_pad", "NOTSET") == "NOTSET"
    args = node.window_args(pool=True)
    if node.proto.op_type == "MaxPool":   # storage_order only orders the Indices output
        return MaxPooling2D(window, ceil_mode=ceil, **args)
    return AveragePooling2D(window, ceil_mode=ceil, **args,
                            count_include_pad=bool(node.attr("count_include_pad", 0)))


def _clip(node: _Node) -> Layer:
    if node.opset < 11:
        low, high = node.attr("min", None), node.attr("max", None)
    else:
        low, high = (None if (v := node.constant(i, what)) is None else float(v)
                     for i, what in ((1, "min"), (2, "max")))
    if low != 0:
        node.refuse("min", "must be 0 (Clip is imported as a ReLU with max_value)", low)
    top = None if high is None or np.isinf(high) else float(high)
    return ReLU(max_value=top, name=node.name)


def _vector(node: _Node, value: np.ndarray | None, n: int, what: str) -> np.ndarray | None:
    """A bias broadcast to ``(n,)`` (a per-row bias cannot be a layer weight)."""
    if value is None:
        return None
    try:
        return np.broadcast_to(value, (1, n))[0].copy()
    except ValueError:
        node.refuse(what, f"must broadcast to ({n},) (one value per output feature)",
                    value.shape)


def _dense(node: _Node, kernel: np.ndarray, bias: np.ndarray | None) -> Layer:
    dense = Dense(kernel.shape[1], use_bias=bias is not None, name=node.name)
    dense.set_weights([kernel] + ([bias] if bias is not None else []))
    return dense


def _gemm(node: _Node) -> Layer:
    if node.attr("transA", 0):
        node.refuse("attribute transA", "must be 0 (the batch is the first axis)",
                    node.attr("transA", 0))
    b = node.constant(1, "B")
    if b is None or b.ndim != 2:
        node.refuse("input 1 (B)", "must be a 2-D initializer", None if b is None else b.shape)
    kernel = b.T if node.attr("transB", 0) else b
    alpha, beta = float(node.attr("alpha", 1.0)), float(node.attr("beta", 1.0))
    bias = _vector(node, node.constant(2, "C"), kernel.shape[1], "input 2 (C)")
    if alpha != 1.0:    # exact in float64: a float32 weight times a float32 scalar
        kernel = kernel.astype(np.float64) * alpha
    if bias is not None and beta != 1.0:
        bias = bias.astype(np.float64) * beta
    return _dense(node, np.ascontiguousarray(kernel), bias)


def _matmul(node: _Node, add: _Node | None) -> Layer:
    w = node.constant(1, "B")
    if w is None or w.ndim != 2:
        node.refuse("input 1 (B)", "must be a 2-D initializer", None if w is None else w.shape)
    bias = None
    if add is not None:
        position = 1 if add.proto.input[0] == node.proto.output[0] else 0
        bias = _vector(add, add.constant(position, "bias"), w.shape[1],
                       f"input {position} (bias)")
    return _dense(add or node, w, bias)


_SIMPLE: dict[str, Callable[[_Node], Layer]] = {
    "Conv": _conv,
    "MaxPool": _pool,
    "AveragePool": _pool,
    "Clip": _clip,
    "Gemm": _gemm,
    "Relu": lambda n: ReLU(name=n.name),
    "LeakyRelu": lambda n: ReLU(negative_slope=float(n.attr("alpha", 0.01)), name=n.name),
    "GlobalAveragePool": lambda n: GlobalAveragePooling2D(_CF, True, n.name),
    "GlobalMaxPool": lambda n: GlobalMaxPooling2D(_CF, True, n.name),
    "Flatten": lambda n: Flatten(name=n.name),     # the NCHW array as it is: (C, H, W) order
}

#: attributes each op may carry (others are refused: numconv could not honour them)
_ATTRIBUTES = {
    "Conv": {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"},
    "MaxPool": {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order",
                "strides"},
    "AveragePool": {"auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape",
                    "pads", "strides"},
    "Clip": {"min", "max"}, "Gemm": {"alpha", "beta", "transA", "transB"},
    "LeakyRelu": {"alpha"}, "Flatten": {"axis"},
}


def _layers(fn: str, model: Any) -> list[tuple[Layer, str, str]]:
    """``[(layer, ONNX output name, op types)]`` of a sequential ONNX model, in order."""
    onnx = require("onnx", fn)
    from_array, attribute = onnx.numpy_helper.to_array, onnx.helper.get_attribute_value
    graph = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    constants = {t.name: from_array(t) for t in graph.initializer}
    inputs = [v.name for v in graph.input if v.name not in constants]
    if len(inputs) != 1 or len(graph.output) != 1:
        _args.fail(fn, "model_or_path", "must have one input and one output (a sequential "
                   "model)", None, shown=f"inputs {inputs}, outputs "
                   f"{[v.name for v in graph.output]}")
    out: list[tuple[Layer, str, str]] = []
    current, pending = inputs[0], None
    for i, proto in enumerate(graph.node):
        node = _Node(fn, i, proto, {a.name: attribute(a) for a in proto.attribute}, constants,
                     opset)
        node.attrs = {k: v.decode() if isinstance(v, bytes) else v for k, v in node.attrs.items()}
        if proto.op_type == "Constant" and len(proto.attribute) == 1:
            constants[proto.output[0]] = from_array(node.attrs["value"]) \
                if "value" in node.attrs else np.asarray(next(iter(node.attrs.values())))
            continue
        data = [name for name in proto.input if name and name not in constants]
        outputs = [o for o in proto.output if o]
        if data != [current] or (len(outputs) != 1 and proto.op_type != "MaxPool"):
            node.refuse("", f"must take the previous node's output {current!r} as its only "
                        "non-constant input and have one output (numconv models are "
                        "sequential: no branches)", list(proto.input))
        if pending is not None:                 # a MatMul, with or without its bias Add
            add = node if proto.op_type == "Add" else None
            out.append((_matmul(pending, add), proto.output[0] if add else current,
                        "MatMul+Add" if add else "MatMul"))
            pending = None
            if add:
                current = proto.output[0]
                continue
        if proto.op_type == "MatMul":
            pending, current = node, proto.output[0]
            continue
        if proto.op_type not in _SIMPLE or proto.domain not in ("", "ai.onnx"):
            node.refuse("", f"must have a supported op type ({', '.join(ONNX_OPS)}; Add only "
                        "as the bias after a MatMul)", proto.op_type)
        for name in node.attrs.keys() - _ATTRIBUTES.get(proto.op_type, set()):
            node.refuse(f"attribute {name}", "is not supported", node.attrs[name])
        if proto.op_type == "Flatten" and node.attr("axis", 1) != 1:
            node.refuse("attribute axis", "must be 1 (keep the batch axis)", node.attr("axis", 1))
        try:
            layer = _SIMPLE[proto.op_type](node)
        except (ValueError, TypeError) as exc:  # a layer's own check, e.g. LeakyRelu alpha < 0
            if str(exc).startswith(fn):
                raise
            _args.relabel(fn, _args.onnx_label(i, proto), "cannot be reproduced by a numconv "
                          "layer", exc)
        current = proto.output[0]
        out.append((layer, current, proto.op_type))
    if pending is not None:
        out.append((_matmul(pending, None), current, "MatMul"))
    if current != graph.output[0].name:
        _args.fail(fn, "model_or_path", "must end with the node that computes its output "
                   "(a sequential model)", None, shown=f"output {graph.output[0].name!r}, "
                   f"last node output {current!r}")
    return out


def onnx_layers(model_or_path: Any) -> tuple[str, list[Layer]]:
    """The graph's name and numconv layers copying a sequential ONNX model.

    See :meth:`numconv.layers.Sequential.from_onnx`, which builds the model from them.
    """
    fn = "Sequential.from_onnx"
    model = _load(fn, model_or_path)
    return model.graph.name or "onnx", [layer for layer, _, _ in _layers(fn, model)]


def onnxruntime_outputs(model_or_path: Any, x: np.ndarray,
                        fn: str = "compare_layers") -> tuple[str, list[tuple[str, str, Any]]]:
    """``(description, [(layer name, op types, output)])``: every layer's output in ORT.

    The model runs once in ONNX Runtime (CPU) with each layer's output value added to a
    copy of the graph's outputs.
    """
    model = _load(fn, model_or_path, "other")
    onnx = require("onnx", fn)
    ort = importlib.import_module("onnxruntime")    # importable: require checked it
    names = [(value, layer.name, kind) for layer, value, kind in _layers(fn, model)]
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    graph = copy.graph
    data = next(v for v in graph.input if v.name not in {t.name for t in graph.initializer})
    elem = data.type.tensor_type.elem_type
    expected = onnx.helper.tensor_dtype_to_np_dtype(elem)
    if x.dtype != expected:
        _args.fail(fn, "dtype", f"must be the ONNX model's input type {np.dtype(expected).name}",
                   None, shown=x.dtype.name)
    known = {v.name for v in graph.output}
    graph.output.extend(onnx.helper.make_tensor_value_info(name, elem, None)
                        for name, _, _ in names if name not in known)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(copy.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    results = dict(zip([o.name for o in session.get_outputs()],
                       session.run(None, {data.name: x})))
    return (f"onnxruntime {ort.__version__} {model.graph.name!r}",
            [(layer, kind, results[value]) for value, layer, kind in names])
