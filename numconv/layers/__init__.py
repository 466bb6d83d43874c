"""Keras-style layers and ``Sequential`` models running on numconv's NumPy ops.

Build a model with Keras's layer names and defaults, or copy a live Keras model, a
``torch.nn.Sequential`` or a sequential ONNX model (:meth:`Sequential.from_keras`,
:meth:`Sequential.from_torch`, :meth:`Sequential.from_onnx`), compare it layer by layer
with the original (:meth:`Sequential.compare`; ONNX models run in ONNX Runtime), and save it
to a NumPy ``.npz`` file (:meth:`Sequential.save`, :meth:`Sequential.load`).  Nothing
here imports a framework until a conversion or a comparison needs one.

>>> from numconv.layers import Conv2D, MaxPool2D, Sequential
>>> model = Sequential([Conv2D(filters=64, kernel_size=3), MaxPool2D(pool_size=2)])
>>> model.build((1, 28, 28, 3))
>>> model(np.zeros((1, 28, 28, 3), np.float32)).shape
(1, 13, 13, 64)
"""

from __future__ import annotations

import numpy as np  # noqa: F401  (doctest namespace)

from .compare import LayerReport, LayerRow, compare_layers
from .core import Conv2D, Dense, DepthwiseConv2D, Layer, ReLU
from .model import LAYERS, Sequential
from .pooling import (AveragePooling2D, AvgPool2D, Flatten, GlobalAveragePooling2D,
                      GlobalMaxPooling2D, MaxPool2D, MaxPooling2D)

__all__ = ["Layer", "Conv2D", "DepthwiseConv2D", "ReLU", "MaxPooling2D", "MaxPool2D",
           "AveragePooling2D", "AvgPool2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D",
           "Flatten", "Dense",
           "Sequential", "compare_layers", "LayerReport", "LayerRow", "LAYERS"]
