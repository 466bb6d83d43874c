"""TensorFlow (``tf.nn``) translations.

TF's CPU kernels are channels-last: a channels-first configuration is transposed to
NHWC around the call.  Explicit pads become TF's explicit ``padding=`` list where the
op takes one (conv2d, depthwise_conv2d), ``tf.pad`` otherwise (zeros for
convolutions, -inf for max pooling).  Facts marked "measured" were measured on
TensorFlow 2.21 (CPU, oneDNN on).
"""

from __future__ import annotations

import os

import numpy as np

from ..geometry import resolve
from ._common import Code, Translation, cannot, extent_pads, fmt, relu_lines
from .config import OpConfig, same_pads, tf_mode, valid_pads

IMPORTS = ["import numpy as np", "import tensorflow as tf"]
NAME = "tf"


def onednn_on() -> bool:
    """Whether TF will use oneDNN (its default on x86 CPUs unless TF_ENABLE_ONEDNN_OPTS=0)."""
    return os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1").strip() not in ("0", "false", "False")


def translate(c: OpConfig) -> Translation:
    """The ``tf.nn`` code for ``c``, or why TF cannot express it."""
    code = Code(c, list(IMPORTS))
    code.add("x = tf.constant(x)")
    if c.n_spatial is None:
        if c.kind == "relu6":
            code.add("y = tf.nn.relu6(x)")
        elif c.kind == "leaky" and c.dtype == "float64" and float(np.float32(c.alpha)) != c.alpha:
            code.add(f"y = tf.where(x > 0, x, x * {c.alpha!r})")
            code.note("tf.nn.leaky_relu's alpha is a float32 attribute: in float64 the slope "
                      "would be rounded (known divergence tf-leaky-relu-alpha), so the product "
                      "is written out")
        elif c.kind == "leaky":
            code.add(f"y = tf.nn.leaky_relu(x, alpha={c.alpha!r})")
        elif c.relu_is_plain:
            code.add("y = tf.nn.relu(x)")
        else:
            relu_lines(code, c, "tf.where", "tf.zeros_like(x)", "tf.constant({}, x.dtype)")
        code.add("return y.numpy()")
        return code.translation(NAME)
    reason = _refusal(c)
    if reason:
        return cannot(NAME, c, reason)
    n = c.n_spatial
    lay = c.layout
    last = f"N{'DHW'[3 - n:]}C"
    if not lay.channels_last:
        code.add(f"x = tf.transpose(x, {fmt((0, *range(2, n + 2), 1))})",
                 f"{c.data_format} -> {last}: TF's CPU kernels are channels-last")
    if c.kind in ("conv", "depthwise"):
        ok = _conv(code, c, n)
    elif c.kind == "max":
        ok = _max_pool(code, c, n)
    else:
        ok = _avg_pool(code, c, n)
    if isinstance(ok, str):
        return cannot(NAME, c, ok)
    if not lay.channels_last:
        code.add(f"y = tf.transpose(y, {fmt((0, n + 1, *range(1, n + 1)))})",
                 f"{last} -> {c.data_format}")
    code.add("return y.numpy()")
    return code.translation(NAME)


def _refusal(c: OpConfig) -> str | None:
    n, kind = c.n_spatial, c.kind
    empty = 0 in c.geometry.out_shape
    if kind == "max" and empty and onednn_on():
        return ("TF 2.21's CPU max pool kills the process (SIGFPE) when the output would be "
                "empty (a VALID window larger than the input; measured with oneDNN on), so it "
                "is not run (known divergence tf-valid-window-larger)")
    if kind == "conv" and n == 3 and c.groups > 1:
        return ("TF's CPU Conv3D has no grouped convolution (TF 2.21 raises 'input and filter "
                "must have the same depth')")
    if kind == "conv" and n == 3 and max(c.dilations) > 1 and c.dtype != "float32":
        return ("TF's CPU Conv3D has dilations only in oneDNN's float32 kernel (TF 2.21 raises "
                "'CPU implementation of Conv3D currently only supports dilated rates of 1')")
    if kind == "depthwise" and c.strides[0] != c.strides[1] and c.dtype != "float32":
        return ("TF's depthwise_conv2d kernel for float16/float64 takes only equal strides in "
                "rows and columns (TF 2.21 raises; the oneDNN float32 kernel accepts them)")
    if kind in ("max", "avg") and n == 3 and c.dtype != "float32":
        return (f"TF has no {c.dtype} 3-D pooling kernel on CPU (MaxPool3D and AvgPool3D run "
                "float32 and bfloat16 only; TF 2.21 raises)")
    return None


def _tf_pad(code: Code, pads: tuple, value: str | None, why: str) -> None:
    pairs = [[0, 0]] + [list(p) for p in pads] + [[0, 0]]   # channels-last from here on
    tail = "" if value is None else f", constant_values={value}"
    code.add(f"x = tf.pad(x, {pairs}{tail})", why)


def _conv(code: Code, c: OpConfig, n: int) -> str | None:
    g = c.geometry
    mode = tf_mode(c)
    s, d = c.strides, c.dilations
    if mode is None and (n == 2):
        mode_text = repr([[0, 0]] + [list(p) for p in g.pads] + [[0, 0]])
        code.note(f"explicit pads {g.pads} passed as TF's explicit padding list")
    elif mode is None:
        _tf_pad(code, g.pads, None, "explicit zero pads (tf.nn.conv1d/conv3d take only "
                "SAME or VALID)")
        mode_text = '"VALID"'
    else:
        mode_text = f'"{mode}"'
        if mode == "SAME" and any(p[0] != p[1] for p in g.pads):
            code.note(f"TF's SAME pads here are {g.pads} (before, after): the odd pixel "
                      "goes after")
    if c.kind == "depthwise":
        code.add(f"y = tf.nn.depthwise_conv2d(x, w, strides={fmt((1, *s, 1))}, "
                 f"padding={mode_text}, dilations={fmt(d)})")
    elif n == 1:
        code.add(f"y = tf.nn.conv1d(x, w, stride={s[0]}, padding={mode_text}, "
                 f"dilations={d[0]})")
    elif n == 2:
        code.add(f"y = tf.nn.conv2d(x, w, strides={fmt(s)}, padding={mode_text}, "
                 f"dilations={fmt(d)})")
    else:
        code.add(f"y = tf.nn.conv3d(x, w, strides={fmt((1, *s, 1))}, padding={mode_text}, "
                 f"dilations={fmt((1, *d, 1))})")
    if c.bias:
        code.add("y = tf.nn.bias_add(y, b)")
    if c.kind == "depthwise" and max(s) > 1 and max(d) > 1:
        code.note("TF 2.21 warns here and returns a wrong result (known divergence "
                  "tf-depthwise-stride-dilation); keras.layers.DepthwiseConv2D is right")
    if 0 in g.out_shape and onednn_on() and c.dtype != "float64":
        code.note("the output is empty here; TF 2.21 with oneDNN returns an input-shaped "
                  "array of uninitialised memory instead (known divergence "
                  "tf-valid-window-larger)")
    return None


def _max_pool(code: Code, c: OpConfig, n: int) -> str | None:
    g = c.geometry
    k, s, d = c.window, c.strides, c.dilations
    dilated = max(d) > 1
    if dilated and max(s) > 1:
        return ("tf.nn.pool refuses dilations with strides > 1, and tf.nn.max_pool has no "
                "dilations")
    mode = None if dilated else tf_mode(c)
    if mode is None:
        pads = extent_pads(g)
        mode = "VALID"
        if any(b or a for b, a in pads):
            why = ("tf.nn.pool refuses dilations with SAME: the pads go in with tf.pad"
                   if dilated and same_pads(g) else "numconv's pads; -inf never wins a max")
            _tf_pad(code, pads, "-np.inf", why)
    if dilated:
        code.add(f"y = tf.nn.pool(x, window_shape={fmt(k)}, pooling_type=\"MAX\", "
                 f"strides={fmt(s)}, padding=\"{mode}\", dilations={fmt(d)})")
    else:
        code.add(f"y = tf.nn.max_pool{n}d(x, ksize={fmt(k)}, strides={fmt(s)}, "
                 f"padding=\"{mode}\")")
    if c.nan_policy == "propagate":
        code.note("if the input holds NaN: TF's CPU max pool skips it (nan_policy='ignore'), "
                  "numconv here propagates it (known divergence tf-max-pool-nan)")
    return None


def _avg_pool(code: Code, c: OpConfig, n: int) -> str | None:
    g = c.geometry
    k, s, d = c.window, c.strides, c.dilations
    if c.divisor_override is not None:
        return "tf.nn.avg_pool has no divisor_override (PyTorch's option)"
    dilated = max(d) > 1
    padded = not valid_pads(g)
    overhang = any(dim.overhang for dim in g.dims)
    if dilated and max(s) > 1:
        return "tf.nn.pool refuses dilations with strides > 1; tf.nn.avg_pool has no dilations"
    if padded and not c.count_include_pad and (dilated or not same_pads(g)):
        if dilated:
            return ("tf.nn.pool refuses dilations with SAME padding, and zeros added with tf.pad "
                    "would be counted in the average")
        return (f"TF's average pool leaves out of the count only its own SAME pads; numconv's "
                f"pads here are {g.pads} (TF's SAME would give out "
                f"{_same_out(c)}), and zeros added with tf.pad would be counted")
    if padded and c.count_include_pad:
        if overhang:
            return ("with ceil_mode the last window reads padding past the declared pads that "
                    "is not counted (PyTorch's rule); zeros added with tf.pad would be counted")
        _tf_pad(code, extent_pads(g), None, "count_include_pad: the declared pads the "
                "windows reach, as zeros that count")
        mode = "VALID"
    else:
        mode = tf_mode(c)
    if dilated:
        code.add(f"y = tf.nn.pool(x, window_shape={fmt(k)}, pooling_type=\"AVG\", "
                 f"strides={fmt(s)}, padding=\"{mode}\", dilations={fmt(d)})")
    else:
        code.add(f"y = tf.nn.avg_pool{n}d(x, ksize={fmt(k)}, strides={fmt(s)}, "
                 f"padding=\"{mode}\")")
    return None


def _same_out(c: OpConfig) -> str:
    spatial = c.layout.spatial_shape(c.input_shape)
    same = resolve(spatial, c.window, c.strides, c.dilations, "SAME")
    return f"{same.out_shape} with pads {same.pads}; numconv's out is {c.geometry.out_shape}"
