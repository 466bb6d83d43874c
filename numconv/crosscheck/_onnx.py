"""ONNX Runtime translations: a one-node ONNX model run on the CPU execution provider.

ONNX is channels-first with filters ``(out, in/groups, *window)`` like PyTorch: the code
transposes in NumPy around the model.  Padding is an attribute of the node:
``auto_pad="SAME_UPPER"`` is TF's SAME (the odd pixel after), ``"SAME_LOWER"`` puts it
before, ``"VALID"`` pads nothing, and ``"NOTSET"`` takes explicit
``pads=[x1_begin, x2_begin, ..., x1_end, x2_end, ...]`` (every begin, then every end --
not PyTorch's ``F.pad`` order).  Pools take ``ceil_mode`` (a window must start inside the
input or the begin padding, as PyTorch) and AveragePool ``count_include_pad`` (default 0,
TF's rule).  Facts marked "measured" were measured on onnxruntime 1.32 (CPU) with
onnx 1.23.
"""

from __future__ import annotations

from .config import OpConfig, same_total_pads, valid_pads
from ._common import Code, Translation, cannot, fmt

IMPORTS = ["import numpy as np", "import onnx", "from onnx import helper",
           "import onnxruntime as ort"]
NAME = "onnx"
#: the opset the models declare (AveragePool has dilations from opset 19)
OPSET = 21
#: the IR version the models declare (onnxruntime 1.32 reads up to 11)
IR_VERSION = 10

#: ops onnxruntime's CPU execution provider has no float64 kernel for (measured)
_NO_FLOAT64 = {"conv": "Conv", "depthwise": "Conv", "avg": "AveragePool",
               "leaky": "LeakyRelu"}


def conventions(c: OpConfig) -> list[str]:
    """ONNX's conventions that matter when porting ``c`` to or from ONNX, one line each.

    >>> lines = conventions(OpConfig("max_pool1d", "1x4x1", window=2))
    >>> [line.split()[0].split("=")[0] for line in lines]
    ['layout', 'auto_pad', 'pads', 'strides', 'ceil_mode', 'storage_order']
    """
    if c.n_spatial is None:
        return ["Relu, LeakyRelu(alpha) and Clip(x, min, max) (bounds as inputs from opset 11; "
                "relu6 is Clip(x, 0, 6)) are elementwise, any layout"]
    lines = ["layout NCHW (channels first)" + (", weights (out, in/group, *kernel_shape); "
             "group = input channels / weight in-channels, depthwise = group C with weights "
             "(C*M, 1, kh, kw)" if c.kind in ("conv", "depthwise") else ""),
             'auto_pad="SAME_UPPER" is TF\'s SAME (the odd pad pixel after), "SAME_LOWER" puts '
             'it before, "VALID" pads nothing, "NOTSET" (the default) takes explicit pads',
             "pads=[x1_begin, x2_begin, ..., x1_end, x2_end]: every begin, then every end (not "
             "F.pad's last-dim-first pairs, not TF's [[0, 0], [before, after], ...])",
             "strides and dilations per spatial dim (1 = none)"]
    if c.kind in ("max", "avg"):
        lines.append("ceil_mode=1 rounds the output size up; a window must start inside the "
                     "input or the begin padding (PyTorch's ceil_mode)")
    if c.kind == "avg":
        lines.append("count_include_pad=0 (the default) divides by the real elements, TF's "
                     "rule; PyTorch's default counts the padding, and its exporter writes "
                     "count_include_pad=1")
    if c.kind == "max":
        lines.append("storage_order (MaxPool) only orders the optional Indices output (0 "
                     "row-major, 1 column-major), never the values")
    return lines


def onnx_pads(pads: tuple[tuple[int, int], ...]) -> list[int]:
    """ONNX's ``pads`` attribute from ``(before, after)`` per dim: every begin, then every end.

    >>> onnx_pads(((0, 1), (2, 3)))
    [0, 2, 1, 3]
    """
    return [b for b, _ in pads] + [a for _, a in pads]


def auto_pad(c: OpConfig) -> str:
    """The ``auto_pad`` that says numconv's padding in words, or ``"NOTSET"`` (explicit pads).

    >>> auto_pad(OpConfig("conv1d", "1x6x1", filter_shape="2x1x1", strides=2, padding="SAME"))
    'SAME_UPPER'
    >>> auto_pad(OpConfig("max_pool1d", "1x5x1", window=2, strides=2, ceil_mode=True))
    'NOTSET'

    With dilations, or where SAME's total pad is negative, the pads are explicit:
    onnxruntime's auto_pad goes wrong there (known divergence onnxruntime-same-auto-pad).
    """
    if c.ceil_mode or max(c.dilations) > 1:
        return "NOTSET"
    same = c.padding in ("SAME", "SAME_UPPER", "SAME_LOWER")
    if same and min(same_total_pads(c.geometry)) >= 0:
        return "SAME_UPPER" if c.padding != "SAME_LOWER" else "SAME_LOWER"
    return "VALID" if valid_pads(c.geometry) else "NOTSET"


def translate(c: OpConfig) -> Translation:
    """The one-node ONNX model for ``c`` and its onnxruntime run, or why it cannot be."""
    code = Code(c, list(IMPORTS))
    kind = c.kind
    if c.dtype == "float64" and kind in _NO_FLOAT64:
        return cannot(NAME, c, f"onnxruntime's CPU execution provider has no float64 "
                      f"{_NO_FLOAT64[kind]} kernel (NOT_IMPLEMENTED, measured)")
    if c.n_spatial is None:
        reason = _elementwise(code, c)
    else:
        reason = _windowed(code, c)
    if reason is not None:
        return cannot(NAME, c, reason)
    return code.translation(NAME)


def _elementwise(code: Code, c: OpConfig) -> str | None:
    feeds = '{"x": x}'
    if c.kind == "leaky":
        node = f'helper.make_node("LeakyRelu", ["x"], ["y"], alpha={c.alpha!r})'
    elif c.kind == "relu" and c.relu_is_plain:
        node = 'helper.make_node("Relu", ["x"], ["y"])'
    elif c.kind == "relu6" or (c.threshold == 0 and c.negative_slope == 0):
        top = 6.0 if c.kind == "relu6" else float(c.max_value)
        code.add(f"low, high = np.array(0, x.dtype), np.array({top!r}, x.dtype)",
                 "Clip's bounds are inputs (opset 11 on)")
        feeds = '{"x": x, "low": low, "high": high}'
        node = 'helper.make_node("Clip", ["x", "low", "high"], ["y"])'
    else:
        return ("no single ONNX node has Keras's relu threshold and negative_slope (a graph "
                "of Where, Sub and Mul would); only Relu, Clip (max_value) and LeakyRelu")
    code.add(f"feeds = {feeds}")
    code.add(f"node = {node}")
    _session(code)
    code.add("return y")
    return None


def _windowed(code: Code, c: OpConfig) -> str | None:
    n = c.n_spatial
    g = c.geometry
    kind = c.kind
    if 0 in g.out_shape and kind in ("conv", "depthwise"):
        return (f"the output is empty here (numconv's shape {c.out_shape}); onnxruntime's Conv "
                "raises 'Invalid input shape' for an input smaller than the window (measured; "
                "its pools return the empty result)")
    if kind == "max" and c.nan_policy == "ignore":
        return "ONNX's MaxPool has no NaN policy (nan_policy='ignore' is TF's CPU rule)"
    if kind == "avg" and c.divisor_override is not None:
        return "ONNX's AveragePool has no divisor_override"
    lay = c.layout
    if lay.channels_last:
        code.add(f"x = np.ascontiguousarray(np.transpose(x, {fmt((0, n + 1, *range(1, n + 1)))}))",
                 f"{c.data_format} -> channels-first, ONNX's layout")
    mode = auto_pad(c)
    attrs = [f"kernel_shape={list(c.window or c.filter_shape[:n])}",
             f"strides={list(c.strides)}", f"dilations={list(c.dilations)}"]
    if mode == "NOTSET":
        pads = tuple((d.pad_before, d.declared_pad_after) for d in g.dims)
        attrs.append(f"pads={onnx_pads(pads)}")
        code.note(f"pads {pads} (before, after) per dim go in as pads={onnx_pads(pads)}: "
                  "every begin, then every end")
    else:
        attrs.append(f'auto_pad="{mode}"')
        if mode == "SAME_UPPER" and any(b != a for b, a in g.pads):
            code.note(f"pads {g.pads} put the odd pixel after: auto_pad=\"SAME_UPPER\" is TF's "
                      "SAME (SAME_LOWER would put it before: known divergence "
                      "onnx-same-lower)")
    if c.padding in ("SAME", "SAME_UPPER", "SAME_LOWER") and mode == "NOTSET":
        same = "SAME_LOWER" if c.padding == "SAME_LOWER" else "SAME_UPPER"
        code.note(f"explicit pads, not auto_pad=\"{same}\": " + (
            "with dilations onnxruntime's Conv refuses it and its pools return a smaller "
            "output (known divergence onnxruntime-same-auto-pad)" if max(c.dilations) > 1
            else "SAME's total pad is negative in a dim here (stride above the window); "
            "numconv clamps it at 0, onnxruntime's pools do not (known divergence "
            "onnxruntime-same-auto-pad)"))
    if kind in ("conv", "depthwise"):
        op = "Conv"
        _filters(code, c, n)
        attrs.append(f"group={c.groups}")
        feeds = '{"x": x, "w": w, "b": b}' if c.bias else '{"x": x, "w": w}'
    else:
        op = "MaxPool" if kind == "max" else "AveragePool"
        if mode == "NOTSET" and any(max(d.pad_before, d.declared_pad_after) >= k
                                    for d, k in zip(g.dims, c.window)):
            return (f"onnxruntime's {op} refuses a pad not smaller than the window ('Pad "
                    f"should be smaller than kernel', measured); the pads here are {g.pads} "
                    f"for window {c.window}")
        feeds = '{"x": x}'
        if c.ceil_mode:
            attrs.append("ceil_mode=1")
        if kind == "avg":
            attrs.append(f"count_include_pad={int(c.count_include_pad)}")
            if c.count_include_pad:
                code.note("count_include_pad=1 counts the declared pads (ONNX's default 0 is "
                          "TF's rule)")
    code.add(f"feeds = {feeds}")
    code.add(f'node = helper.make_node("{op}", list(feeds), ["y"], {", ".join(attrs)})')
    _session(code)
    if lay.channels_last:
        code.add(f"y = np.transpose(y, {fmt((0, *range(2, n + 2), 1))})",
                 f"channels-first -> {c.data_format}")
    code.add("return y")
    return None


def _filters(code: Code, c: OpConfig, n: int) -> None:
    perm = fmt((n + 1, n, *range(n)))
    if c.kind == "depthwise":
        code.add(f"w = np.reshape(w, {fmt((*c.filter_shape[:n], 1, c.out_channels))})",
                 "depthwise (kh, kw, C, M) -> grouped (kh, kw, 1, C*M)")
        code.add(f"w = np.ascontiguousarray(np.transpose(w, {perm}))",
                 "-> (C*M, 1, kh, kw), group = C")
    else:
        code.add(f"w = np.ascontiguousarray(np.transpose(w, {perm}))",
                 "(*window, in/groups, out) -> (out, in/groups, *window)")


def _session(code: Code) -> None:
    """The lines that wrap ``node`` in a model, check it and run it on ``feeds``."""
    code.add("elem = helper.np_dtype_to_tensor_dtype(x.dtype)")
    code.add("inputs = [helper.make_tensor_value_info(k, elem, v.shape) "
             "for k, v in feeds.items()]")
    code.add('output = helper.make_tensor_value_info("y", elem, '
             '[f"y{i}" for i in range(x.ndim)])')
    code.add('graph = helper.make_graph([node], "numconv_check", inputs, [output])')
    code.add(f'model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", '
             f'{OPSET})], ir_version={IR_VERSION})')
    code.add("onnx.checker.check_model(model, full_check=True)")
    code.add("options = ort.SessionOptions()")
    code.add("options.log_severity_level = 4", "errors come back as exceptions")
    code.add("session = ort.InferenceSession(model.SerializeToString(), options, "
             'providers=["CPUExecutionProvider"])')
    code.add("y = session.run(None, feeds)[0]")
