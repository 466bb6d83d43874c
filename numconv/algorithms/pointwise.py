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

from ..engine import Block, Request, Scratch
from ..profiling import add_time, clock
from ..threads import num_workers, run_blocks
from ..geometry import Geometry
from .shift import request as shift_request
from .shift import shift_accumulate


def supports(geometry: Geometry) -> bool:
    """Whether the window is all ones."""
    return all(k == 1 for k in geometry.window)


def direct(x_dtype: np.dtype, geometry: Geometry, groups: int, dtype: np.dtype) -> bool:
    """Whether :func:`pointwise_gemm` runs its own GEMM (else shift-and-accumulate)."""
    return (groups == 1 and not geometry.padded and np.dtype(x_dtype) == np.dtype(dtype)
            and all(s == 1 for s in geometry.strides))


def request(x_shape: tuple[int, ...], x_dtype: np.dtype, w_shape: tuple[int, ...],
            geometry: Geometry, groups: int, dtype: np.dtype) -> Request:
    """The blocks :func:`pointwise_gemm` asks for (per block a band's copy, only of a
    non-contiguous input but counted always, so that the bands, hence the bits, do not
    depend on the layout, and the GEMM's operands); shift's when it runs that."""
    if not direct(x_dtype, geometry, groups, dtype):
        return shift_request(x_shape, x_dtype, w_shape, geometry, groups, dtype)
    channels, cout = x_shape[-1], w_shape[-1]
    line = math.prod(x_shape[2:-1])

    def nbytes(images: int, rows: int) -> int:
        return images * rows * line * (2 * channels + cout) * np.dtype(dtype).itemsize

    return Request(x_shape[0], x_shape[1:-1], nbytes, num_workers())


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
    if not direct(x.dtype, geometry, groups, dtype):
        return shift_accumulate(x, w, geometry, groups, dtype)
    channels, cout = x.shape[-1], w.shape[-1]
    out = np.empty((*x.shape[:-1], cout), dtype=dtype)
    b = np.ascontiguousarray(w.reshape(channels, cout), dtype)
    copy_in = not x.flags.c_contiguous
    blocks, workers = request(x.shape, x.dtype, w.shape, geometry, groups, dtype).plan()
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
