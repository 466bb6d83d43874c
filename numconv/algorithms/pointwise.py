"""Direct GEMM for 1x1 windows: the input already is the patch matrix.

With a window of ones, ``out[n, o..., :] = x[n, o*stride ..., :] @ w.reshape(C, C_out)``.
With stride 1, no padding and no dtype cast, each image's ``(positions, C)`` matrix
is multiplied band by band (the bands planned from the image's shape, one GEMM per
image and band): with no copy at all when the input is C-contiguous, else through a
contiguous copy of the band, so the bits do not depend on the memory layout.
Otherwise (strides, padding, a cast, groups) the single tap runs on
:func:`~numconv.algorithms.shift.shift_accumulate`.
"""

from __future__ import annotations

import math

import numpy as np

from ..engine import Block, Scratch, add_time, clock, num_workers, plan, run_blocks
from ..geometry import Geometry
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
              and all(s == 1 for s in geometry.strides))
    if not direct:
        return shift_accumulate(x, w, geometry, groups, dtype)
    batch, channels, cout = x.shape[0], x.shape[-1], w.shape[-1]
    out = np.empty((*x.shape[:-1], cout), dtype=dtype)
    b = np.ascontiguousarray(w.reshape(channels, cout), dtype)
    line = math.prod(x.shape[2:-1])
    copy_in = not x.flags.c_contiguous

    def nbytes(images: int, rows: int) -> int:
        # a band's copy (only of a non-contiguous input: counted always, so that the
        # bands, hence the bits, do not depend on the layout) and the GEMM's operands
        return images * rows * line * (2 * channels + cout) * dtype.itemsize

    blocks, workers = plan(batch, x.shape[1:-1], nbytes, num_workers())
    scratch = Scratch(workers)

    def work(worker: int, block: Block) -> None:
        start = clock()
        a = x[block]
        if copy_in:
            buf = scratch.get(worker, "input", a.shape, dtype)
            np.copyto(buf, a)
            a = buf
        images = a.shape[0]
        m = math.prod(a.shape[1:-1])                 # one image's positions: one GEMM each
        np.matmul(a.reshape(images, m, channels), b, out=out[block].reshape(images, m, cout))
        add_time("gemm", start)

    run_blocks(blocks, work, workers, blas=True)
    return out
