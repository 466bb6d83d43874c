"""im2col + GEMM: the reference convolution algorithm.

For each block of output positions (:func:`~numconv.engine.plan`), the
block's padded input rows are copied into a slab (:func:`~numconv.engine.slab`, skipped
when there is no padding), its windows are copied into a reused, contiguous patch
buffer of shape ``(positions, prod(window) * in_channels/groups)`` (one
``np.copyto`` from the strided window view: the window's last axis and the channels
are contiguous, so the copy moves runs of ``window[-1] * C`` elements), and one GEMM
writes the block's output rows in place:

``out[block] = patches @ filters.reshape(prod(window) * C_in/groups, C_out)``.

Grouped convolution copies the patches group-major, ``(groups, positions, K)``,
multiplies once per block with a stacked GEMM and scatters the result into the
output's channel groups (the epilogue).

Each image of a block is its own GEMM (a stacked ``np.matmul`` over the block's
images), whose rows are the image's band of output positions: BLAS sums in an order
that depends on the GEMM's shape, so a block's bits then depend on the image's shape
only, never on the batch or on how images are grouped (see
:mod:`~numconv.engine`).  Blocks are cache-sized (about 4 MiB of scratch)
and together stay under the workspace bound, whatever the batch size.  Phases reported by
:func:`~numconv.profiling.profiling`: ``pad``, ``patches``, ``gemm``,
``epilogue``.
"""

from __future__ import annotations

import math

import numpy as np

from ..engine import Block, Request, Scratch, slab, slab_shape, slab_view
from ..profiling import add_time, clock
from ..threads import num_workers, run_blocks
from ..geometry import Geometry


def filter_matrix(w: np.ndarray, groups: int, dtype: np.dtype) -> np.ndarray:
    """``(*window, cin_g, cout)`` filters -> ``(groups, prod(window)*cin_g, cout/groups)``.

    A C-contiguous copy in ``dtype`` (native byte order), whatever the filters' memory
    layout: NumPy hands strided operands to BLAS, or to its own loops, differently.

    >>> filter_matrix(np.arange(8.0).reshape(1, 2, 2, 2), 2, np.dtype(float))[1]
    array([[1.],
           [3.],
           [5.],
           [7.]])
    """
    rows = math.prod(w.shape[:-1])
    cout_g = w.shape[-1] // groups
    return np.ascontiguousarray(w.reshape(rows, groups, cout_g).transpose(1, 0, 2), dtype)


def needs_slab(x: np.ndarray, geometry: Geometry, dtype: np.dtype) -> bool:
    """Whether blocks copy their input rows (padding or a dtype cast) before use."""
    return geometry.padded or x.dtype != dtype


def request(x_shape: tuple[int, ...], x_dtype: np.dtype, w_shape: tuple[int, ...],
            geometry: Geometry, groups: int, dtype: np.dtype) -> Request:
    """The blocks :func:`im2col_gemm` asks for: per block its patch matrix, its padded
    slab (when it pads or casts) and, for groups, the GEMM's grouped result."""
    dtype = np.dtype(dtype)
    cin_g, cout = w_shape[-2], w_shape[-1]
    k = math.prod(geometry.window) * cin_g
    line = math.prod(geometry.out_shape[1:])
    itemsize = dtype.itemsize
    copy_in = geometry.padded or np.dtype(x_dtype) != dtype

    def nbytes(images: int, rows: int) -> int:
        positions = images * rows * line
        total = positions * k * groups * itemsize
        if copy_in:
            total += math.prod(slab_shape(x_shape, geometry, images, rows)) * itemsize
        if groups > 1:
            total += positions * cout * itemsize
        return total

    return Request(x_shape[0], geometry.out_shape, nbytes, num_workers())


def im2col_gemm(x: np.ndarray, w: np.ndarray, geometry: Geometry, groups: int,
                dtype: np.dtype) -> np.ndarray:
    """Convolve channels-last ``x`` with ``w`` (``(*window, cin_g, cout)``); result in ``dtype``.

    >>> from numconv.geometry import resolve
    >>> g = resolve((4,), (2,), (1,), (1,), "VALID")
    >>> x = np.arange(4.0).reshape(1, 4, 1)
    >>> im2col_gemm(x, np.ones((2, 1, 1)), g, 1, np.dtype(float))[0, :, 0]
    array([1., 3., 5.])
    """
    dtype = np.dtype(dtype)
    batch = x.shape[0]
    cin_g, cout = w.shape[-2], w.shape[-1]
    cout_g = cout // groups
    k = math.prod(geometry.window) * cin_g
    out_shape = geometry.out_shape
    out = np.empty((batch, *out_shape, cout), dtype=dtype)
    wm = filter_matrix(w, groups, dtype)
    copy_in = needs_slab(x, geometry, dtype)
    blocks, workers = request(x.shape, x.dtype, w.shape, geometry, groups, dtype).plan()
    scratch = Scratch(workers)

    def work(worker: int, block: Block) -> None:
        start = clock()
        xs = slab(x, geometry, block, 0, scratch, worker, dtype if x.dtype != dtype else None)
        start = add_time("pad", start) if copy_in else start
        view = slab_view(xs, geometry, block[1].stop - block[1].start)
        out_block = out[block]
        images = out_block.shape[0]
        m = math.prod(out_block.shape[1:-1])        # one image's positions: one GEMM each
        if groups == 1:
            patches = scratch.get(worker, "patches", view.shape, dtype)
            np.copyto(patches, view)
            start = add_time("patches", start)
            np.matmul(patches.reshape(images, m, k), wm[0],
                      out=out_block.reshape(images, m, cout))
            add_time("gemm", start)
            return
        # channels -> (groups, cin_g), groups to the front: one copy, group-major
        grouped = np.moveaxis(view.reshape(*view.shape[:-1], groups, cin_g), -2, 0)
        patches = scratch.get(worker, "patches", grouped.shape, dtype)
        np.copyto(patches, grouped)
        start = add_time("patches", start)
        result = scratch.get(worker, "result", (groups, images, m, cout_g), dtype)
        np.matmul(patches.reshape(groups, images, m, k), wm[:, None], out=result)
        start = add_time("gemm", start)
        out_block.reshape(images, m, groups, cout_g)[...] = result.transpose(1, 2, 0, 3)
        add_time("epilogue", start)

    run_blocks(blocks, work, workers, blas=True)
    return out
