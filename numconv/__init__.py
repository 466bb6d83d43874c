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

from .activations import leaky_relu, leaky_relu_grad, relu, relu6, relu6_grad, relu_grad
from .autodiff import vjp
from .config import (default_precision, get_default_precision, get_memory_limit,
                     get_workspace_limit, memory_limit, set_default_precision, set_memory_limit,
                     set_workspace_limit, workspace_limit)
from .conv import conv1d, conv2d, conv3d, convolution, depthwise_conv2d
from .lesson.image import default_image_path, read_image
from .lesson.filters import as_filters, get_kernel
from .layout import Layout
from .geometry import DimGeometry, Geometry
from .lesson.pipeline import feature_extraction
from .pooling import (avg_pool, avg_pool1d, avg_pool2d, avg_pool3d, max_pool, max_pool1d,
                      max_pool2d, max_pool3d, pool)
from .global_pooling import global_avg_pool, global_max_pool
from .windows import col2im, im2col
from .conv_grad import (bias_add_grad, conv1d_backprop_filter, conv1d_backprop_input,
                        conv2d_backprop_filter, conv2d_backprop_input, conv3d_backprop_filter,
                        conv3d_backprop_input, conv_backprop_filter, conv_backprop_input)
from .conv_transposed import conv1d_transpose, conv2d_transpose, conv3d_transpose, conv_transpose
from .depthwise_grad import depthwise_conv2d_backprop_filter, depthwise_conv2d_backprop_input
from .pooling_grad import avg_pool_grad, max_pool_grad, max_pool_with_argmax, max_unpool
from .spec import explain

__version__ = "0.1.0"

__all__ = [
    "convolution", "conv1d", "conv2d", "conv3d", "depthwise_conv2d",
    "relu", "relu6", "leaky_relu",
    "pool", "max_pool", "avg_pool", "max_pool1d", "max_pool2d", "max_pool3d",
    "avg_pool1d", "avg_pool2d", "avg_pool3d", "global_max_pool", "global_avg_pool",
    "im2col", "explain", "Geometry", "DimGeometry", "Layout",
    "workspace_limit", "get_workspace_limit", "set_workspace_limit",
    "memory_limit", "get_memory_limit", "set_memory_limit",
    "default_precision", "get_default_precision", "set_default_precision",
    # backward passes
    "vjp", "col2im", "relu_grad", "relu6_grad", "leaky_relu_grad",
    "conv_backprop_input", "conv_backprop_filter", "conv1d_backprop_input",
    "conv1d_backprop_filter", "conv2d_backprop_input", "conv2d_backprop_filter",
    "conv3d_backprop_input", "conv3d_backprop_filter", "depthwise_conv2d_backprop_input",
    "depthwise_conv2d_backprop_filter", "bias_add_grad", "conv_transpose", "conv1d_transpose",
    "conv2d_transpose", "conv3d_transpose",
    "max_pool_grad", "avg_pool_grad", "max_pool_with_argmax", "max_unpool",
    "read_image", "default_image_path", "get_kernel", "as_filters", "feature_extraction",
]
