"""Keras-style layers computed with numconv's ops (NumPy only): the base class, weighted layers.

Names, arguments and defaults follow Keras 3 (``Conv2D(filters, kernel_size,
strides=(1, 1), padding="valid", ...)``, ``MaxPooling2D(pool_size=(2, 2),
strides=None -> pool_size, ...)``); weights have Keras's shapes (kernel
``(kh, kw, in/groups, filters)``, Dense kernel ``(in, units)``).  numconv's extensions,
used to import PyTorch models, are off by default: explicit ``(before, after)``
padding here, and pooling options in :mod:`numconv.layers.pooling`.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, ClassVar

import numpy as np

from .. import _args, spellings
from ..activations import relu
from ..conv import conv2d, depthwise_conv2d
from ..layout import Layout

__all__ = ["Layer", "Conv2D", "DepthwiseConv2D", "ReLU", "Dense", "gamma"]

_COUNTERS: dict[str, itertools.count] = {}


def _auto_name(prefix: str) -> str:
    n = next(_COUNTERS.setdefault(prefix, itertools.count()))
    return prefix if n == 0 else f"{prefix}_{n}"


#: the layers' inputs: a batch of images, channels last unless data_format says otherwise
_IMAGES = Layout(2)


def _layout(fn: str, data_format: Any) -> str:
    return spellings.layout(fn, data_format, 2, "data_format", None).name


def _padding(fn: str, value: Any) -> Any:
    pad = spellings.padding(fn, value, _IMAGES)
    return pad if isinstance(pad, str) else [list(p) for p in pad]


def _pair(fn: str, arg: str, value: Any, default: int | None = None) -> tuple[int, ...]:
    """Keras's ``int or (int, int)`` argument (``default`` for None, if any)."""
    return spellings.ints(fn, arg, value, _IMAGES, full_rank=False, default=default)


def gamma(k: int, dtype: Any) -> float:
    """``k u / (1 - k u)``: the relative error bound of a sum of ``k`` products."""
    u = float(np.finfo(np.dtype(dtype)).eps) / 2
    return k * u / (1 - k * u)


class Model:
    """Base of :class:`numconv.layers.Sequential`: lets the comparison module name the
    type of numconv models without importing the module that defines them."""

    layers: list[Layer]
    name: str


class Layer:
    """Base class: a name, weights created on the first call, ``get/set_weights``.

    Subclasses define ``_compute(x)`` and, when they have weights, ``_weight_shapes``.
    """

    _prefix: ClassVar[str] = "layer"
    _weight_names: ClassVar[tuple[str, ...]] = ()
    #: accepted input ranks (low, high; high None: any) and what the axes are
    _ranks: ClassVar[tuple[int, int | None, str]] = (0, None, "")

    def __init__(self, name: str | None = None) -> None:
        self.name = _auto_name(self._prefix) if name is None else name
        self.built = False
        self._weights: dict[str, np.ndarray] = {}

    # -- weights ------------------------------------------------------------
    def _weight_shapes(self, input_shape: tuple[int, ...]) -> list[tuple[int, ...]]:
        return []

    def build(self, input_shape: tuple[int, ...], seed: int | None = None) -> None:
        """Create the weights for inputs of ``input_shape`` (Glorot-uniform kernel, zero bias)."""
        rng = np.random.default_rng(seed)
        for name, shape in zip(self._weight_names, self._weight_shapes(tuple(input_shape))):
            if name == "bias":
                self._weights[name] = np.zeros(shape, np.float32)
            else:
                fan_in = math.prod(shape[:-1])
                fan_out = math.prod(shape[:-2]) * shape[-1] if len(shape) > 2 else shape[-1]
                limit = math.sqrt(6.0 / (fan_in + fan_out))
                self._weights[name] = rng.uniform(-limit, limit, shape).astype(np.float32)
        self.built = True

    @property
    def weight_names(self) -> tuple[str, ...]:
        return tuple(n for n in self._weight_names if n in self._weights)

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights, in Keras's order (kernel, bias)."""
        return [self._weights[n].copy() for n in self.weight_names]

    def set_weights(self, weights: list[Any]) -> None:
        """Set the weights (Keras's order and shapes); builds the layer if needed."""
        fn = f"{type(self).__name__}.set_weights"
        arrays = [_args.array(fn, "weights", w) for w in weights]
        names = [n for n in self._weight_names if n != "bias" or getattr(self, "use_bias", True)]
        if self.built:
            _args.weights_shapes(fn, self.name, [a.shape for a in arrays],
                                 [self._weights[n].shape for n in self.weight_names])
        elif len(arrays) != len(names):
            _args.weights_shapes(fn, self.name, [a.shape for a in arrays], [()] * len(names))
        self._weights = {n: np.array(a, order="C") for n, a in zip(names, arrays)}
        self.built = True

    # -- calling ------------------------------------------------------------
    def __call__(self, x: Any) -> np.ndarray:
        x = _args.array(f"{type(self).__name__}", "inputs", x)
        _args.rank_range(type(self).__name__, "inputs", x, *self._ranks)
        if not self.built:
            self.build(x.shape)
        return self._compute(x)

    def _compute(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def error_bound(self, x: np.ndarray, dtype: Any = np.float32) -> np.ndarray | float:
        """Per-output bound on a ``dtype`` implementation's rounding error (0: exact)."""
        return 0.0

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, JSON-serialisable."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


def _activate(x: np.ndarray, activation: str | None) -> np.ndarray:
    if activation == "relu":
        return relu(x)
    if activation == "relu6":
        return relu(x, max_value=6.0)
    return x


class Conv2D(Layer):
    """2-D convolution layer (``keras.layers.Conv2D``) on :func:`numconv.conv2d`.

    ``padding`` is "valid"/"same" (TF's rules) or, as a numconv extension, explicit
    ``(before, after)`` pairs or a symmetric int (PyTorch's ``padding=``).

    >>> layer = Conv2D(1, 2, use_bias=False)
    >>> layer.set_weights([np.ones((2, 2, 1, 1))])
    >>> layer(np.arange(9.0).reshape(1, 3, 3, 1))[0, :, :, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """

    _prefix = "conv2d"
    _weight_names = ("kernel", "bias")
    _ranks = (4, 4, "batch, 2 spatial dims, channels")

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1),
                 padding: Any = "valid", data_format: str | None = None,
                 dilation_rate: Any = (1, 1), groups: int = 1, activation: str | None = None,
                 use_bias: bool = True, name: str | None = None) -> None:
        fn = type(self).__name__
        super().__init__(name)
        self.filters = _args.integer(fn, "filters", filters)
        self.kernel_size = _pair(fn, "kernel_size", kernel_size)
        self.strides = _pair(fn, "strides", strides)
        self.padding = _padding(fn, padding)
        self.data_format = _layout(fn, data_format)
        self.dilation_rate = _pair(fn, "dilation_rate", dilation_rate)
        self.groups = _args.integer(fn, "groups", groups)
        self.activation = _args.activation(fn, activation, ("relu", "relu6"))
        self.use_bias = _args.flag(fn, "use_bias", use_bias)

    def _channels(self, input_shape: tuple[int, ...]) -> int:
        return input_shape[-1 if self.data_format == "NHWC" else 1]

    def _weight_shapes(self, input_shape: tuple[int, ...]) -> list[tuple[int, ...]]:
        shapes = [(*self.kernel_size, self._channels(input_shape) // self.groups, self.filters)]
        return shapes + [(self.filters,)] if self.use_bias else shapes

    def _op(self, x: np.ndarray, kernel: np.ndarray, bias: Any) -> np.ndarray:
        return conv2d(x, kernel, self.strides, self.padding, self.data_format,
                      self.dilation_rate, bias=bias)

    def _compute(self, x: np.ndarray) -> np.ndarray:
        out = self._op(x, self._weights["kernel"], self._weights.get("bias"))
        return _activate(out, self.activation)

    def error_bound(self, x: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
        kernel = np.abs(self._weights["kernel"].astype(np.float64))
        bias = self._weights.get("bias")
        s = self._op(np.abs(np.asarray(x, np.float64)), kernel,
                     None if bias is None else np.abs(bias.astype(np.float64)))
        k = math.prod(kernel.shape[:-1]) + int(bias is not None) + 1
        return gamma(k, dtype) * s

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                "groups": self.groups, "activation": self.activation, "use_bias": self.use_bias}


class DepthwiseConv2D(Conv2D):
    """Depthwise convolution layer (``keras.layers.DepthwiseConv2D``).

    Kernel shape ``(kh, kw, C, depth_multiplier)``; output channel ``c * multiplier + m``.
    """

    _prefix = "depthwise_conv2d"

    def __init__(self, kernel_size: Any, strides: Any = (1, 1), padding: Any = "valid",
                 depth_multiplier: int = 1, data_format: str | None = None,
                 dilation_rate: Any = (1, 1), activation: str | None = None,
                 use_bias: bool = True, name: str | None = None) -> None:
        self.depth_multiplier = _args.integer("DepthwiseConv2D", "depth_multiplier",
                                              depth_multiplier)
        super().__init__(1, kernel_size, strides, padding, data_format, dilation_rate, 1,
                         activation, use_bias, name)

    def _weight_shapes(self, input_shape: tuple[int, ...]) -> list[tuple[int, ...]]:
        c = self._channels(input_shape)
        shapes = [(*self.kernel_size, c, self.depth_multiplier)]
        return shapes + [(c * self.depth_multiplier,)] if self.use_bias else shapes

    def _op(self, x: np.ndarray, kernel: np.ndarray, bias: Any) -> np.ndarray:
        return depthwise_conv2d(x, kernel, self.strides, self.padding, self.data_format,
                                self.dilation_rate, bias=bias)

    def error_bound(self, x: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
        kernel = np.abs(self._weights["kernel"].astype(np.float64))
        bias = self._weights.get("bias")
        s = self._op(np.abs(np.asarray(x, np.float64)), kernel,
                     None if bias is None else np.abs(bias.astype(np.float64)))
        return gamma(math.prod(kernel.shape[:2]) + 2, dtype) * s

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["filters"], config["groups"]
        config["depth_multiplier"] = self.depth_multiplier
        return config


class ReLU(Layer):
    """``keras.layers.ReLU(max_value=None, negative_slope=0.0, threshold=0.0)``."""

    _prefix = "re_lu"

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, name: str | None = None) -> None:
        super().__init__(name)
        relu(np.zeros(0), max_value=max_value, negative_slope=negative_slope,
             threshold=threshold)               # validates with relu's messages
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope = float(negative_slope)
        self.threshold = float(threshold)

    def _compute(self, x: np.ndarray) -> np.ndarray:
        return relu(x, max_value=self.max_value, negative_slope=self.negative_slope,
                    threshold=self.threshold)

    def error_bound(self, x: np.ndarray, dtype: Any = np.float32) -> np.ndarray | float:
        if not self.negative_slope:
            return 0.0
        u = float(np.finfo(np.dtype(dtype)).eps) / 2
        return 4 * u * (np.abs(x) * max(self.negative_slope, 1.0)
                        + abs(self.threshold) * self.negative_slope)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class Dense(Layer):
    """``keras.layers.Dense(units, activation=None, use_bias=True)``: ``x @ kernel + bias``."""

    _prefix = "dense"
    _weight_names = ("kernel", "bias")
    _ranks = (2, None, "batch, ..., features")

    def __init__(self, units: int, activation: str | None = None, use_bias: bool = True,
                 name: str | None = None) -> None:
        super().__init__(name)
        self.units = _args.integer("Dense", "units", units)
        self.activation = _args.activation("Dense", activation, ("relu", "relu6"))
        self.use_bias = _args.flag("Dense", "use_bias", use_bias)

    def _weight_shapes(self, input_shape: tuple[int, ...]) -> list[tuple[int, ...]]:
        shapes = [(input_shape[-1], self.units)]
        return shapes + [(self.units,)] if self.use_bias else shapes

    def _compute(self, x: np.ndarray) -> np.ndarray:
        kernel = self._weights["kernel"]
        if x.shape[-1] != kernel.shape[0]:
            _args.fail("Dense", "inputs", f"must have {kernel.shape[0]} features (last axis)",
                       None, shown=f"shape {x.shape}")
        out = x @ kernel
        if "bias" in self._weights:
            out = out + self._weights["bias"]
        return _activate(out, self.activation)

    def error_bound(self, x: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
        s = np.abs(np.asarray(x, np.float64)) @ np.abs(self._weights["kernel"].astype(np.float64))
        if "bias" in self._weights:
            s = s + np.abs(self._weights["bias"].astype(np.float64))
        return gamma(self._weights["kernel"].shape[0] + 2, dtype) * s

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "units": self.units, "activation": self.activation,
                "use_bias": self.use_bias}
