"""Direct GEMM for 1x1 windows: the input already is the patch matrix.

With a window of ones, ``out[n, o..., :] = x[n, o*stride ..., :] @ w.reshape(C, C_out)``.
With stride 1, no padding, no dtype cast and a C-contiguous input, the input
reshaped to ``(positions, C)`` is multiplied block by block with no copy at all;
otherwise each block's strided (and, for explicit padding, padded) slice is copied
to a contiguous matrix first, as :func:`~numconv.algorithms.shift.shift_accumulate`
does for its single tap.
"""

from __future__ import annotations

import numpy as np

from ..geometry import Geometry
from ..engine import (CACHE_BLOCK_BYTES, add_time, can_limit_blas, clock, num_workers,
                      run_blocks)
from .shift import shift_accumulate

__all__ = ["pointwise_gemm", "supports"]


def supports(geometry: Geometry) -> bool:
    """Whether the window is all ones."""
    return all(k == 1 for k in geometry.window)


def pointwise_gemm(x: np.ndarray, w: np.ndarray, geometry: Geometry, groups: int,
                   dtype: np.dtype) -> np.ndarray:
    """1x1 convolution as one GEMM over flattened positions (see the module docstring).

    >>> from numconv.geometry import resolve
    >>> g = resolve((3,), (1,), (1,), (1,), "VALID")
    >>> x = np.arange(6.0).reshape(1, 3, 2)
    >>> pointwise_gemm(x, np.array([[[1.], [10.]]]), g, 1, np.dtype(float))[0, :, 0]
    array([10., 32., 54.])
    """
    assert supports(geometry)
    dtype = np.dtype(dtype)
    direct = (groups == 1 and not geometry.padded and x.dtype == dtype
              and x.flags.c_contiguous and all(s == 1 for s in geometry.strides))
    if not direct:
        return shift_accumulate(x, w, geometry, groups, dtype)
    channels, cout = x.shape[-1], w.shape[-1]
    out = np.empty((*x.shape[:-1], cout), dtype=dtype)
    a = x.reshape(-1, channels)
    c = out.reshape(-1, cout)
    b = w.astype(dtype, copy=False).reshape(channels, cout)
    m = a.shape[0]
    workers = num_workers() if can_limit_blas() else 1
    # no scratch: blocks only split the GEMM across workers in cache-sized pieces
    rows = max(1, min(-(-m // workers), CACHE_BLOCK_BYTES // max((channels + cout)
                                                                  * dtype.itemsize, 1)))
    blocks = [(slice(r, min(r + rows, m)), slice(None)) for r in range(0, m, rows)]

    def work(worker: int, block: tuple[slice, slice]) -> None:
        start = clock()
        np.matmul(a[block[0]], b, out=c[block[0]])
        add_time("gemm", start)

    run_blocks(blocks, work, workers, blas=True)
    return out
