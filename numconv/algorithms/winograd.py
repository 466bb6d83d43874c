"""Winograd F(2x2, 3x3): 2-D, 3x3 window, stride 1, dilation 1, floating point.

Each 2x2 tile of output comes from a 4x4 tile ``d`` of padded input (tiles overlap
by 2).  With Lavin & Gray's matrices (arXiv:1509.09308)

``Y = A^T [ sum_c (G g_c G^T) * (B^T d_c B) ] A``,

the sum over input channels of the 16 element-wise products is 16 GEMMs of
``(tiles, C) @ (C, C_out)``: 16 multiplies per 4 outputs instead of 36, at the cost
of the input and output transforms (additions over whole arrays, one per matrix
entry).  Odd output sizes are rounded up to whole tiles with extra zero padding and
cropped.  The transforms only add and halve: float32 errors against a float64
reference are of im2col's size on average (rms 6e-6 vs 7e-6 on 8x56x56x64 *
3x3x64x64), but they mix each 4x4 tile, so an output much smaller than its tile's
neighbours can lose its digits: the error bound is normwise only (see
:mod:`numconv.algorithms`), and ``auto`` picks this path only with
``precision="fast"``.  Grouped filters, integers and inputs holding inf or NaN (the
transforms would mix them into outputs whose windows do not see them) run im2col.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..engine import Block, Request, Scratch, all_finite, slab, slab_shape
from ..profiling import add_time, clock
from ..threads import num_workers, run_blocks, single_threaded_blas
from ..geometry import Geometry
from .gemm import im2col_gemm

#: scratch per block: larger than im2col's so that the 16 GEMMs have enough tiles (rows)
WINOGRAD_BLOCK_BYTES = 8 << 20

_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def supports(geometry: Geometry) -> bool:
    """2-D, 3x3, stride 1, dilation 1."""
    return (len(geometry.dims) == 2 and geometry.window == (3, 3)
            and geometry.strides == (1, 1) and geometry.dilations == (1, 1))


def _tiles(geometry: Geometry) -> Geometry:
    """The geometry with output sizes rounded up to even (extra zero padding after)."""
    dims = []
    for d in geometry.dims:
        extra = d.out_size % 2
        dims.append(dataclasses.replace(d, out_size=d.out_size + extra,
                                        pad_after=d.pad_after + extra))
    return Geometry(tuple(dims))


def _input_transform(t0: np.ndarray, t1: np.ndarray, t2: np.ndarray, t3: np.ndarray,
                     out: np.ndarray) -> None:
    """``B^T`` applied along one axis: rows ``(d0-d2, d1+d2, d2-d1, d1-d3)`` into ``out[0..3]``."""
    np.subtract(t0, t2, out=out[0])
    np.add(t1, t2, out=out[1])
    np.subtract(t2, t1, out=out[2])
    np.subtract(t1, t3, out=out[3])


def _output_transform(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, p3: np.ndarray,
                      out: np.ndarray) -> None:
    """``A^T`` along one axis: ``(p0+p1+p2, p1-p2-p3)`` into ``out[0..1]``."""
    np.add(p0, p1, out=out[0])
    out[0] += p2
    np.subtract(p1, p2, out=out[1])
    out[1] -= p3


def request(x_shape: tuple[int, ...], x_dtype: np.dtype, w_shape: tuple[int, ...],
            geometry: Geometry, groups: int, dtype: np.dtype) -> Request:
    """The blocks of tile rows :func:`winograd_f2x2_3x3` asks for: per block the slab
    of its tiles' rows and the transformed tiles (input and output, two of each)."""
    itemsize = np.dtype(dtype).itemsize
    channels, cout = x_shape[-1], w_shape[-1]
    tiled = _tiles(geometry)
    th_total, tw = tiled.out_shape[0] // 2, tiled.out_shape[1] // 2

    def nbytes(images: int, tile_rows: int) -> int:
        tiles = images * tile_rows * tw
        total = math.prod(slab_shape(x_shape, tiled, images, 2 * tile_rows)) * itemsize
        return total + tiles * 16 * (2 * channels + 2 * cout) * itemsize

    return Request(x_shape[0], (th_total, tw), nbytes, num_workers(), WINOGRAD_BLOCK_BYTES)


def winograd_f2x2_3x3(x: np.ndarray, w: np.ndarray, geometry: Geometry, groups: int,
                      dtype: np.dtype) -> np.ndarray:
    """Winograd convolution (see the module docstring); grouped filters run im2col.

    >>> from numconv.geometry import resolve
    >>> g = resolve((4, 4), (3, 3), (1, 1), (1, 1), "SAME")
    >>> out = winograd_f2x2_3x3(np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1)), g, 1,
    ...                         np.dtype(float))
    >>> out[0, :, :, 0]
    array([[4., 6., 6., 4.],
           [6., 9., 9., 6.],
           [6., 9., 9., 6.],
           [4., 6., 6., 4.]])
    """
    assert supports(geometry)
    dtype = np.dtype(dtype)
    if dtype.kind != "f" or groups != 1 or not all_finite(x, w):
        return im2col_gemm(x, w, geometry, groups, dtype)
    batch, channels = x.shape[0], x.shape[-1]
    cout = w.shape[-1]
    oh, ow = geometry.out_shape
    out = np.empty((batch, oh, ow, cout), dtype=dtype)
    tiled = _tiles(geometry)
    tw = tiled.out_shape[1] // 2
    # U[a, b] = G g G^T: (4, 4, C, C_out)
    gm = _G.astype(dtype)
    with single_threaded_blas():         # C-order operands, one BLAS thread: fixed bits
        u = (gm @ np.ascontiguousarray(w, dtype).reshape(3, -1)).reshape(4, 3, -1)  # G g
        u = np.matmul(gm, u).reshape(16, channels, cout)               # (G g) G^T, row-major
    blocks, workers = request(x.shape, x.dtype, w.shape, geometry, groups, dtype).plan()
    scratch = Scratch(workers)

    def work(worker: int, block: Block) -> None:
        start = clock()
        bs, ts = block
        rows = slice(2 * ts.start, 2 * ts.stop)
        xs = slab(x, tiled, (bs, rows), 0, scratch, worker, dtype if x.dtype != dtype else None)
        start = add_time("pad", start)
        images, nt = xs.shape[0], ts.stop - ts.start
        m = images * nt * tw
        # B along the tile columns first (strided reads, two slab rows per tile row) ...
        c = scratch.get(worker, "cols", (4, images, xs.shape[1], tw, channels), dtype)
        _input_transform(*(xs[:, :, j:j + 2 * tw:2] for j in range(4)), c)
        # ... then B^T along the tile rows: rows of (tw, C) are contiguous, long loops
        v = scratch.get(worker, "v", (4, 4, images, nt, tw, channels), dtype)
        for b in range(4):
            _input_transform(*(c[b][:, i:i + 2 * nt:2] for i in range(4)), v[:, b])
        start = add_time("transform", start)
        prod = scratch.get(worker, "m", (16, m, cout), dtype)
        per_image = m // images                    # one GEMM per image: batch-invariant bits
        np.matmul(v.reshape(16, images, per_image, channels), u[:, None],
                  out=prod.reshape(16, images, per_image, cout))
        start = add_time("gemm", start)
        p = prod.reshape(4, 4, images, nt, tw, cout)
        # A^T = [[1, 1, 1, 0], [0, 1, -1, -1]] along the tile rows (a), then columns (b),
        # into a tile-major buffer (long loops); one strided copy interleaves the 2x2 tiles
        s = scratch.get(worker, "s", (2, 4, images, nt, tw, cout), dtype)
        _output_transform(p[0], p[1], p[2], p[3], s)
        z = scratch.get(worker, "z", (2, 2, images, nt, tw, cout), dtype)
        for row in range(2):
            _output_transform(s[row, 0], s[row, 1], s[row, 2], s[row, 3], z[row])
        r0, r1 = 2 * ts.start, min(2 * ts.stop, oh)
        tiles = z.transpose(2, 3, 0, 4, 1, 5)             # (images, nt, 2, tw, 2, cout)
        if r1 == 2 * ts.stop and ow == 2 * tw:
            np.copyto(out[bs, r0:r1].reshape(tiles.shape), tiles)
        else:
            out[bs, r0:r1] = tiles.reshape(images, 2 * nt, 2 * tw, cout)[:, :r1 - r0, :ow]
        add_time("epilogue", start)

    run_blocks(blocks, work, workers, blas=True)
    return out
