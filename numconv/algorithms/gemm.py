"""im2col + GEMM: the reference convolution algorithm.

The padded input is viewed as windows (:func:`numconv.windows.window_view`); each
block of output rows copies its windows into a contiguous patch matrix of shape
``(groups, rows, prod(window) * in_channels/groups)`` and multiplies it once by the
filter matrix ``(groups, prod(window) * in_channels/groups, out_channels/groups)``.
Blocks are sized by :func:`numconv.windows.chunk_plan` so the patch matrix stays
under the workspace bound (:mod:`numconv.config`).
"""

from __future__ import annotations

import math

import numpy as np

from ..padding import Geometry
from ..windows import chunk_plan, pad, window_view


def filter_matrix(w: np.ndarray, groups: int, dtype: np.dtype) -> np.ndarray:
    """``(*window, cin_g, cout)`` filters -> ``(groups, prod(window)*cin_g, cout/groups)``."""
    rows = math.prod(w.shape[:-1])
    cout_g = w.shape[-1] // groups
    return w.astype(dtype, copy=False).reshape(rows, groups, cout_g).transpose(1, 0, 2)


def im2col_gemm(x: np.ndarray, w: np.ndarray, geometry: Geometry, groups: int,
                dtype: np.dtype) -> np.ndarray:
    """Convolve channels-last ``x`` with ``w`` (``(*window, cin_g, cout)``); result in ``dtype``."""
    batch, channels = x.shape[0], x.shape[-1]
    cin_g, cout = w.shape[-2], w.shape[-1]
    cout_g = cout // groups
    taps = math.prod(geometry.window)
    out_shape = geometry.out_shape
    out = np.empty((batch, *out_shape, cout), dtype=dtype)
    view = window_view(pad(x, geometry, 0), geometry)
    wm = filter_matrix(w, groups, dtype)
    itemsize = np.dtype(dtype).itemsize
    per_position = (taps * channels + (cout if groups > 1 else 0)) * itemsize
    n_sp = len(out_shape)
    for bs, rs in chunk_plan(batch, out_shape, per_position):
        block = view[bs, rs]
        out_block = out[bs, rs]
        rows = math.prod(out_block.shape[:-1])
        if groups == 1:
            patches = np.ascontiguousarray(block, dtype=dtype).reshape(rows, taps * cin_g)
            np.matmul(patches, wm[0], out=out_block.reshape(rows, cout))
            continue
        # split channels into (groups, cin_g) and bring groups to the front: one copy
        split = block.reshape(*block.shape[:-1], groups, cin_g)
        grouped = np.moveaxis(split, -2, 0)
        patches = np.ascontiguousarray(grouped, dtype=dtype).reshape(groups, rows, taps * cin_g)
        result = np.matmul(patches, wm)                      # (groups, rows, cout_g)
        out_block.reshape(rows, groups, cout_g)[...] = result.transpose(1, 0, 2)
    assert out.ndim == n_sp + 2
    return out
