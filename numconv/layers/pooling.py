"""Keras-style pooling and reshaping layers: MaxPooling2D, AveragePooling2D, global, Flatten.

Keras's defaults (``pool_size=(2, 2)``, ``strides=None`` meaning the pool size,
``padding="valid"``); numconv's keyword-only extensions for PyTorch models:
explicit ``(before, after)`` padding, ``dilation_rate``, ``ceil_mode``,
``count_include_pad`` and ``divisor_override``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from .. import _args, spellings
from ..pooling import avg_pool2d, global_avg_pool, global_max_pool, max_pool2d
from .core import _IMAGES, Layer, _layout, _padding, _pair, gamma

__all__ = ["MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D",
           "Flatten", "MaxPool2D", "AvgPool2D"]


class _Pool(Layer):
    _kind: ClassVar[str] = "MAX"
    _ranks = (4, 4, "batch, 2 spatial dims, channels")

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: Any = "valid",
                 data_format: str | None = None, name: str | None = None, *,
                 dilation_rate: Any = (1, 1), ceil_mode: bool = False) -> None:
        fn = type(self).__name__
        super().__init__(name)
        self.pool_size = _pair(fn, "pool_size", pool_size)
        # Keras: strides=None is the pool size (numconv's functions take it as 1)
        self.strides = self.pool_size if strides is None else _pair(fn, "strides", strides)
        self.padding = _padding(fn, padding)
        self.data_format = _layout(fn, data_format)
        self.dilation_rate = _pair(fn, "dilation_rate", dilation_rate)
        self.ceil_mode = _args.ceil_mode(fn, ceil_mode, spellings.padding(fn, padding, _IMAGES))

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "pool_size": self.pool_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate, "ceil_mode": self.ceil_mode}


class MaxPooling2D(_Pool):
    """``keras.layers.MaxPooling2D(pool_size=(2, 2), strides=None, padding="valid")``.

    >>> MaxPooling2D()(np.arange(16.0).reshape(1, 4, 4, 1))[0, :, :, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """

    _prefix = "max_pooling2d"

    def _compute(self, x: np.ndarray) -> np.ndarray:
        return max_pool2d(x, self.pool_size, self.strides, self.padding, self.data_format,
                          dilations=self.dilation_rate, ceil_mode=self.ceil_mode)


class AveragePooling2D(_Pool):
    """``keras.layers.AveragePooling2D``; padding never counts unless ``count_include_pad``."""

    _prefix = "average_pooling2d"

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: Any = "valid",
                 data_format: str | None = None, name: str | None = None, *,
                 dilation_rate: Any = (1, 1), ceil_mode: bool = False,
                 count_include_pad: bool = False, divisor_override: int | None = None) -> None:
        super().__init__(pool_size, strides, padding, data_format, name,
                         dilation_rate=dilation_rate, ceil_mode=ceil_mode)
        fn = type(self).__name__
        self.count_include_pad = _args.flag(fn, "count_include_pad", count_include_pad)
        self.divisor_override = None if divisor_override is None else _args.integer(
            fn, "divisor_override", divisor_override)

    def _compute(self, x: np.ndarray) -> np.ndarray:
        return avg_pool2d(x, self.pool_size, self.strides, self.padding, self.data_format,
                          dilations=self.dilation_rate, ceil_mode=self.ceil_mode,
                          count_include_pad=self.count_include_pad,
                          divisor_override=self.divisor_override)

    def error_bound(self, x: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
        s = self._compute(np.abs(np.asarray(x, np.float64)))
        return gamma(math.prod(self.pool_size) + 2, dtype) * s

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "count_include_pad": self.count_include_pad,
                "divisor_override": self.divisor_override}


class _Global(Layer):
    _ranks = (4, 4, "batch, 2 spatial dims, channels")
    _op: ClassVar[Any] = staticmethod(global_avg_pool)

    def __init__(self, data_format: str | None = None, keepdims: bool = False,
                 name: str | None = None) -> None:
        super().__init__(name)
        self.data_format = _layout(type(self).__name__, data_format)
        self.keepdims = _args.flag(type(self).__name__, "keepdims", keepdims)

    def _compute(self, x: np.ndarray) -> np.ndarray:
        return self._op(x, self.data_format, self.keepdims)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling2D(_Global):
    """``keras.layers.GlobalAveragePooling2D(data_format=None, keepdims=False)``."""

    _prefix = "global_average_pooling2d"

    def error_bound(self, x: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
        k = math.prod(x.shape[1:3] if self.data_format == "NHWC" else x.shape[2:4]) + 2
        return gamma(k, dtype) * self._compute(np.abs(np.asarray(x, np.float64)))


class GlobalMaxPooling2D(_Global):
    """``keras.layers.GlobalMaxPooling2D(data_format=None, keepdims=False)`` (exact).

    >>> GlobalMaxPooling2D()(np.arange(8.0).reshape(1, 2, 2, 2)).tolist()
    [[6.0, 7.0]]
    """

    _prefix = "global_max_pooling2d"
    _op = staticmethod(global_max_pool)


class Flatten(Layer):
    """``keras.layers.Flatten``: ``(N, ...) -> (N, prod(...))`` in C order.

    With ``data_format="channels_first"`` Keras first moves the channels last, so the
    order is (H, W, C) in both layouts; ``channels_last`` (the default) flattens the
    array as it is -- on an NCHW array that is PyTorch's (C, H, W) order.
    """

    _prefix = "flatten"
    _ranks = (1, None, "batch, ...")

    def __init__(self, data_format: str | None = None, name: str | None = None) -> None:
        super().__init__(name)
        self.data_format = "channels_last" if data_format is None else _args.choice(
            "Flatten", "data_format", data_format, ("channels_last", "channels_first"))

    def _compute(self, x: np.ndarray) -> np.ndarray:
        if self.data_format == "channels_first" and x.ndim > 2:
            x = np.moveaxis(x, 1, -1)
        return x.reshape(x.shape[0], -1)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "data_format": self.data_format}


MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
