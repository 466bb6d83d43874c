"""Copy live Keras models and PyTorch ``nn.Sequential`` modules into numconv layers.

Layers are recognised by class name (no framework import here) and their options are
read from the layer objects; an option numconv cannot reproduce is refused with a
message naming the layer and the option, never silently dropped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _args
from .core import Conv2D, Dense, DepthwiseConv2D, Layer, ReLU
from .pooling import AveragePooling2D, Flatten, GlobalAveragePooling2D, MaxPooling2D

__all__ = ["KERAS_LAYERS", "TORCH_MODULES"]

KERAS_LAYERS = ("Conv2D", "DepthwiseConv2D", "ReLU", "MaxPooling2D", "AveragePooling2D",
                "GlobalAveragePooling2D", "Flatten", "Dense", "Activation", "InputLayer")
TORCH_MODULES = ("Conv2d", "MaxPool2d", "AvgPool2d", "ReLU", "ReLU6", "LeakyReLU", "Flatten",
                 "Linear", "AdaptiveAvgPool2d")


def _keras_activation(fn: str, i: int, layer: Any) -> str | None:
    act = getattr(layer, "activation", None)
    name = getattr(act, "__name__", str(act))
    if name in ("linear", "None", "relu", "relu6"):
        return None if name in ("linear", "None") else name
    _args.unsupported_option(fn, i, layer, "activation", name, "must be None, 'linear' or 'relu'")


def _keras_layer(fn: str, i: int, layer: Any) -> Layer | None:
    kind = type(layer).__name__
    cfg = layer.get_config()
    name = cfg.get("name")
    if kind == "InputLayer":
        return None
    if kind in ("Conv2D", "DepthwiseConv2D"):
        common = dict(strides=cfg["strides"], padding=cfg["padding"],
                      data_format=cfg.get("data_format") or "channels_last",
                      dilation_rate=cfg["dilation_rate"],
                      activation=_keras_activation(fn, i, layer), use_bias=cfg["use_bias"],
                      name=name)
        if kind == "Conv2D":
            out: Layer = Conv2D(cfg["filters"], cfg["kernel_size"], groups=cfg.get("groups", 1),
                                **common)
        else:
            out = DepthwiseConv2D(cfg["kernel_size"], depth_multiplier=cfg["depth_multiplier"],
                                  **common)
        out.set_weights(layer.get_weights())
        return out
    if kind == "ReLU":
        return ReLU(cfg.get("max_value"), cfg.get("negative_slope", 0.0),
                    cfg.get("threshold", 0.0), name=name)
    if kind == "Activation":
        act = _keras_activation(fn, i, layer)
        return ReLU(None if act == "relu" else 6.0, name=name) if act else None
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        cls = MaxPooling2D if kind == "MaxPooling2D" else AveragePooling2D
        return cls(cfg["pool_size"], cfg["strides"], cfg["padding"],
                   cfg.get("data_format") or "channels_last", name=name)
    if kind == "GlobalAveragePooling2D":
        return GlobalAveragePooling2D(cfg.get("data_format") or "channels_last",
                                      cfg.get("keepdims", False), name=name)
    if kind == "Flatten":
        return Flatten(cfg.get("data_format"), name=name)
    if kind == "Dense":
        out = Dense(cfg["units"], _keras_activation(fn, i, layer), cfg["use_bias"], name=name)
        out.set_weights(layer.get_weights())
        return out
    _args.unsupported_layer(fn, i, layer, KERAS_LAYERS)


def keras_layers(model: Any) -> tuple[str, list[Layer]]:
    """The name and numconv layers (structure and weights) of a built Keras model.

    See :meth:`numconv.layers.Sequential.from_keras`.
    """
    fn = "Sequential.from_keras"
    layers = getattr(model, "layers", None)
    if layers is None:
        _args.type_fail(fn, "model", "must be a Keras model with .layers", model)
    for layer in layers:
        if type(layer).__name__ in ("Conv2D", "DepthwiseConv2D", "Dense") and not layer.built:
            _args.unbuilt_model(fn, model)
    out = []
    for i, layer in enumerate(layers):
        converted = _keras_layer(fn, i, layer)
        if converted is not None:
            out.append(converted)
    return getattr(model, "name", "sequential"), out


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(int(v) for v in value)


def _numpy(tensor: Any) -> np.ndarray:
    return tensor.detach().cpu().numpy().copy()


def _torch_layer(fn: str, i: int, m: Any) -> Layer | None:
    kind = type(m).__name__
    cf = "channels_first"
    if kind == "Conv2d":
        if m.padding_mode != "zeros":
            _args.unsupported_option(fn, i, m, "padding_mode", m.padding_mode, "must be 'zeros'")
        if isinstance(m.padding, str):
            padding: Any = m.padding.upper()   # PyTorch's 'same' (stride 1) is TF's SAME
        else:
            padding = [(p, p) for p in _pair(m.padding)]
        conv = Conv2D(m.out_channels, m.kernel_size, m.stride, padding, cf, m.dilation,
                      m.groups, use_bias=m.bias is not None, name=f"{i}_conv2d")
        weights = [_numpy(m.weight).transpose(2, 3, 1, 0)]        # OIHW -> HWIO
        conv.set_weights(weights + ([_numpy(m.bias)] if m.bias is not None else []))
        return conv
    if kind in ("MaxPool2d", "AvgPool2d"):
        pads = [(p, p) for p in _pair(m.padding)]
        stride = m.stride if m.stride is not None else m.kernel_size
        if kind == "MaxPool2d":
            if m.return_indices:
                _args.unsupported_option(fn, i, m, "return_indices", True, "must be False")
            return MaxPooling2D(_pair(m.kernel_size), _pair(stride), pads, cf,
                                name=f"{i}_max_pool2d", dilation_rate=_pair(m.dilation),
                                ceil_mode=bool(m.ceil_mode))
        return AveragePooling2D(_pair(m.kernel_size), _pair(stride), pads, cf,
                                name=f"{i}_avg_pool2d", ceil_mode=bool(m.ceil_mode),
                                count_include_pad=bool(m.count_include_pad),
                                divisor_override=m.divisor_override)
    if kind == "ReLU":
        return ReLU(name=f"{i}_relu")
    if kind == "ReLU6":
        return ReLU(max_value=6.0, name=f"{i}_relu6")
    if kind == "LeakyReLU":
        return ReLU(negative_slope=float(m.negative_slope), name=f"{i}_leaky_relu")
    if kind == "Flatten":
        if (m.start_dim, m.end_dim) != (1, -1):
            _args.unsupported_option(fn, i, m, "start_dim, end_dim", (m.start_dim, m.end_dim),
                                     "must be (1, -1)")
        return Flatten(name=f"{i}_flatten")      # plain reshape: PyTorch's (C, H, W) order
    if kind == "Linear":
        dense = Dense(m.out_features, use_bias=m.bias is not None, name=f"{i}_linear")
        dense.set_weights([_numpy(m.weight).T] + ([_numpy(m.bias)] if m.bias is not None
                                                  else []))
        return dense
    if kind == "AdaptiveAvgPool2d":
        if _pair(m.output_size) != (1, 1):
            _args.unsupported_option(fn, i, m, "output_size", m.output_size, "must be 1")
        return GlobalAveragePooling2D(cf, keepdims=True, name=f"{i}_adaptive_avg_pool2d")
    _args.unsupported_layer(fn, i, m, TORCH_MODULES)


def torch_layers(module: Any) -> tuple[str, list[Layer]]:
    """The name and numconv layers (structure and weights) of a ``torch.nn.Sequential``.

    See :meth:`numconv.layers.Sequential.from_torch`.
    """
    fn = "Sequential.from_torch"
    if not hasattr(module, "children"):
        _args.type_fail(fn, "module", "must be a torch.nn.Sequential", module)
    return type(module).__name__.lower(), [_torch_layer(fn, i, m)
                                            for i, m in enumerate(module.children())]
