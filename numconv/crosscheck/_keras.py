"""Keras layer translations (Keras 3; the backend Keras is configured with).

Keras's layers take ``padding="valid"`` or ``"same"`` (TF's rules) and ``data_format``;
explicit zero pads for convolutions go in with a ``ZeroPadding`` layer.  Pooling layers
have no dilation and no explicit pads (zeros would be averaged or could win a max).
Weights are set with ``set_weights`` in numconv's (= Keras's) kernel layout.
"""

from __future__ import annotations

from .config import OpConfig, tf_mode
from ._common import Code, Translation, cannot, extent_pads, fmt

IMPORTS = ["import numpy as np", "import keras"]
NAME = "keras"


def translate(c: OpConfig) -> Translation:
    """The Keras layer code for ``c``, or why Keras cannot express it."""
    code = Code(c, list(IMPORTS))
    dtype = f'dtype="{c.dtype}"'
    if c.n_spatial is None:
        if c.kind == "relu6":
            code.add(f"layer = keras.layers.ReLU(max_value=6.0, {dtype})")
        elif c.kind == "leaky":
            code.add(f"layer = keras.layers.LeakyReLU(negative_slope={c.alpha!r}, {dtype})")
        else:
            if c.threshold < 0:
                return cannot(NAME, c, "keras.layers.ReLU refuses a negative threshold "
                              "(and keras.activations.relu then also clips threshold < x < 0 "
                              "to 0 when max_value is set)")
            code.add(f"layer = keras.layers.ReLU(max_value={c.max_value!r}, negative_slope="
                     f"{c.negative_slope!r}, threshold={c.threshold!r}, {dtype})")
        code.add("return keras.ops.convert_to_numpy(layer(x))")
        return code.translation(NAME)
    n = c.n_spatial
    g = c.geometry
    fmt_name = "channels_last" if c.layout.channels_last else "channels_first"
    common = f'data_format="{fmt_name}", {dtype}'
    mode = None if tf_mode(c) is None else tf_mode(c).lower()
    if c.kind == "depthwise" and c.strides[0] != c.strides[1] and c.dtype != "float32":
        return cannot(NAME, c, "TF's depthwise_conv2d kernel for float16/float64 takes only "
                      "equal strides in rows and columns (TF 2.21 raises)")
    if c.kind in ("max", "avg") and n == 3 and c.dtype != "float32":
        return cannot(NAME, c, f"TF has no {c.dtype} 3-D pooling kernel on CPU (Keras's TF "
                      "backend raises)")
    if 0 in g.out_shape:
        return cannot(NAME, c, f"the output is empty here (numconv's shape {c.out_shape}); "
                      "Keras's layers refuse an output size of zero")
    if (c.kind in ("conv", "depthwise") and not c.layout.channels_last and n < 3
            and c.dtype != "float32"):
        return cannot(NAME, c, "TF's CPU Conv2D takes channels-first input only in oneDNN's "
                      "float32 kernel (TF 2.21 raises 'only supports the NHWC tensor format')")
    if c.kind == "conv" and n == 3 and max(c.dilations) > 1 and c.dtype != "float32":
        return cannot(NAME, c, "TF's CPU Conv3D has dilations only in oneDNN's float32 kernel")
    if c.kind in ("conv", "depthwise"):
        if c.kind == "conv" and max(c.strides) > 1 and max(c.dilations) > 1:
            return cannot(NAME, c, "Keras's Conv layers refuse strides > 1 together with "
                          "dilation_rate > 1 (TF backend, Keras 3)")
        if mode is None:
            pads = fmt(tuple(g.pads)) if n > 1 else fmt(g.pads[0])
            code.add(f"x = keras.layers.ZeroPadding{n}D(padding={pads}, {common})(x)",
                     "numconv's explicit zero pads")
            mode = "valid"
        if c.kind == "depthwise":
            code.add(f"layer = keras.layers.DepthwiseConv2D(kernel_size={fmt(c.filter_shape[:2])}, "
                     f"strides={fmt(c.strides)}, padding=\"{mode}\", depth_multiplier="
                     f"{c.filter_shape[-1]}, dilation_rate={fmt(c.dilations)}, "
                     f"use_bias={c.bias}, {common})")
        else:
            code.add(f"layer = keras.layers.Conv{n}D(filters={c.out_channels}, kernel_size="
                     f"{fmt(c.filter_shape[:n])}, strides={fmt(c.strides)}, padding=\"{mode}\", "
                     f"dilation_rate={fmt(c.dilations)}, groups={c.groups}, "
                     f"use_bias={c.bias}, {common})")
        code.add("layer.build(x.shape)")
        code.add("layer.set_weights([w, b] if layer.use_bias else [w])")
        code.add("return keras.ops.convert_to_numpy(layer(x))")
        return code.translation(NAME)
    if max(c.dilations) > 1:
        return cannot(NAME, c, "Keras's pooling layers have no dilation")
    if c.kind == "avg" and c.divisor_override is not None:
        return cannot(NAME, c, "Keras's AveragePooling has no divisor_override")
    layer = "MaxPooling" if c.kind == "max" else "AveragePooling"
    if c.kind == "avg" and c.count_include_pad and mode != "valid":
        if any(d.overhang for d in g.dims):
            return cannot(NAME, c, "with ceil_mode the last window reads padding past the "
                          "declared pads that is not counted; ZeroPadding's zeros would count")
        pads = extent_pads(g)         # the declared pads the windows reach (no overhang)
        code.add(f"x = keras.layers.ZeroPadding{n}D(padding="
                 f"{fmt(pads) if n > 1 else fmt(pads[0])}, {common})(x)",
                 "count_include_pad: the padded zeros count")
        mode = "valid"
    elif mode is None:
        return cannot(NAME, c, f"Keras's pooling pads only by its own SAME/VALID rules; "
                      f"numconv's pads here are {g.pads}, and a ZeroPadding layer's zeros "
                      "would " + ("be counted in the average" if c.kind == "avg"
                                  else "win a max over negative values"))
    code.add(f"layer = keras.layers.{layer}{n}D(pool_size={fmt(c.window)}, strides="
             f"{fmt(c.strides)}, padding=\"{mode}\", {common})")
    code.add("return keras.ops.convert_to_numpy(layer(x))")
    return code.translation(NAME)
