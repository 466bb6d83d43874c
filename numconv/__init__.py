"""numconv: a pure-NumPy reference for convolution, ReLU and pooling.

TensorFlow's stride/padding engine (SAME/VALID/explicit), validated against
TensorFlow's outputs; no deep-learning framework at run time.

>>> import numconv as nc
>>> x = np.arange(16.0).reshape(1, 4, 4, 1)
>>> nc.max_pool2d(nc.relu(x - 5), 2, 2, "SAME")[0, :, :, 0]
array([[ 0.,  2.],
       [ 8., 10.]])
"""

from __future__ import annotations

import numpy as np  # noqa: F401  (doctest namespace)

from .activations import leaky_relu, relu, relu6
from .config import get_workspace_limit, set_workspace_limit, workspace_limit
from .conv import conv1d, conv2d, conv3d, convolution, depthwise_conv2d
from .layout import Layout
from .padding import DimGeometry, Geometry, explain
from .pooling import (avg_pool, avg_pool1d, avg_pool2d, avg_pool3d, global_avg_pool,
                      global_max_pool, max_pool, max_pool1d, max_pool2d, max_pool3d, pool)
from .windows import im2col

__version__ = "0.1.0"

__all__ = [
    "convolution", "conv1d", "conv2d", "conv3d", "depthwise_conv2d",
    "relu", "relu6", "leaky_relu",
    "pool", "max_pool", "avg_pool", "max_pool1d", "max_pool2d", "max_pool3d",
    "avg_pool1d", "avg_pool2d", "avg_pool3d", "global_max_pool", "global_avg_pool",
    "im2col", "explain", "Geometry", "DimGeometry", "Layout",
    "workspace_limit", "get_workspace_limit", "set_workspace_limit",
]
