"""Winograd F(4x4, 3x3): 2-D, 3x3 window, stride 1, dilation 1, floating point.

Each 4x4 tile of output comes from a 6x6 tile ``d`` of padded input (tiles overlap
by 2).  With the Toom-Cook matrices of Lavin & Gray (arXiv:1509.09308)

``Y = A^T [ sum_c (G g_c G^T) * (B^T d_c B) ] A``,

the sum over input channels of the 36 element-wise products is 36 GEMMs of
``(tiles, C) @ (C, C_out)`` per image: 36 multiplies per 16 outputs instead of 144.
The interpolation points are ``0, 1, -1, 1/2, -2`` and infinity, the best
conditioned of the sets measured (normwise constant 3-4 in a float32 model of the
transforms on 26x26 inputs, against 7-11 for Lavin & Gray's ``+-2`` and 7-15 for
``+-1/2``).  Both transforms run as small GEMMs with long rows: the
6 input rows of every tile at once (``B^T`` times a strided view of the padded
slab), one copy that gathers the 6 overlapping tile columns, ``B^T`` again; on the
way out ``A^T`` twice and one copy that interleaves the 4x4 tiles into the output.
Output sizes that are not multiples of 4 are rounded up to whole tiles with extra
zero padding and cropped.

The transforms mix each 6x6 tile, so an output much smaller than its tile's
neighbours can lose its digits: the error bound is normwise only (see
:mod:`numconv.algorithms`), and ``auto`` picks this path only with
``precision="fast"``.  Grouped filters, integers and inputs holding inf or NaN (the
transforms would mix them into outputs whose windows do not see them) run im2col.
Each image's GEMMs and transforms are its own (batched per image), so the bits do
not depend on the batch or the thread count.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..engine import Block, Request, Scratch, all_finite, slab, slab_shape
from ..profiling import add_time, clock
from ..threads import num_workers, run_blocks, single_threaded_blas
from ..geometry import Geometry
from .gemm import im2col_gemm

#: output tile (M x M) and input tile (N x N) sizes
M, N = 4, 6

#: ``A^T`` (M x N), ``G`` (N x 3), ``B^T`` (N x N) for the points 0, 1, -1, 1/2, -2, inf
A_T = np.array([[1, 1, 1, 1, 1, 0],
                [0, 1, -1, 1 / 2, -2, 0],
                [0, 1, 1, 1 / 4, 4, 0],
                [0, 1, -1, 1 / 8, -8, 1]])
G = np.array([[1, 0, 0],
              [1 / 3, 1 / 3, 1 / 3],
              [-1 / 3, 1 / 3, -1 / 3],
              [-16 / 15, -8 / 15, -4 / 15],
              [1 / 15, -2 / 15, 4 / 15],
              [0, 0, 1]])
B_T = np.array([[1, -3 / 2, -2, 3 / 2, 1, 0],
                [0, -1, 1 / 2, 5 / 2, 1, 0],
                [0, 1, -5 / 2, 1 / 2, 1, 0],
                [0, -2, -1, 2, 1, 0],
                [0, 1 / 2, -1, -1 / 2, 1, 0],
                [0, 1, -3 / 2, -2, 3 / 2, 1]])

#: scratch per block: the cache block of the other algorithms (4 MiB) splits vgg-sized
#: images into two bands and keeps deep-sized ones one per block (even work per worker)
WINOGRAD_BLOCK_BYTES = 4 << 20

#: filter columns transformed at once (float64 temporaries of 9 + 18 + 36 rows: 0.5 MB)
FILTER_CHUNK = 1024


def supports(geometry: Geometry) -> bool:
    """2-D, 3x3, stride 1, dilation 1."""
    return (len(geometry.dims) == 2 and geometry.window == (3, 3)
            and geometry.strides == (1, 1) and geometry.dilations == (1, 1))


def tiles(geometry: Geometry) -> int:
    """Output tiles (M x M) of one image.

    >>> from numconv.geometry import resolve
    >>> tiles(resolve((56, 56), (3, 3), (1, 1), (1, 1), "SAME"))
    196
    """
    return math.prod(-(-n // M) for n in geometry.out_shape)


def _tiles(geometry: Geometry) -> Geometry:
    """The geometry with output sizes rounded up to multiples of M (zero padding after)."""
    dims = []
    for d in geometry.dims:
        extra = -d.out_size % M
        dims.append(dataclasses.replace(d, out_size=d.out_size + extra,
                                        pad_after=d.pad_after + extra))
    return Geometry(tuple(dims))


def _per_tile(channels: int, cout: int) -> dict[str, int]:
    """Elements of each scratch buffer per tile (the slab apart): transformed rows
    ``z``, gathered tiles then output rows ``g``, transformed tiles then output tiles
    ``v``, products ``m``."""
    return {"z": N * M * channels, "g": max(N * N * channels, N * M * cout),
            "v": max(N * N * channels, M * M * cout), "m": N * N * cout}


def request(x_shape: tuple[int, ...], x_dtype: np.dtype, w_shape: tuple[int, ...],
            geometry: Geometry, groups: int, dtype: np.dtype) -> Request:
    """The blocks of tile rows :func:`winograd_f4x4_3x3` asks for: per block the slab
    of its tiles' rows and the buffers of :func:`_per_tile` (the ``z`` rows of the
    slab's last two columns included)."""
    itemsize = np.dtype(dtype).itemsize
    channels, cout = x_shape[-1], w_shape[-1]
    tiled = _tiles(geometry)
    th_total, tw = tiled.out_shape[0] // M, tiled.out_shape[1] // M
    per_tile = sum(_per_tile(channels, cout).values())

    def nbytes(images: int, tile_rows: int) -> int:
        tiles = images * tile_rows * tw
        total = math.prod(slab_shape(x_shape, tiled, images, M * tile_rows))
        edge = images * tile_rows * N * (N - M) * channels      # z's last two columns
        return (total + edge + tiles * per_tile) * itemsize

    return Request(x_shape[0], (th_total, tw), nbytes, num_workers(), WINOGRAD_BLOCK_BYTES)


def transformed_filters(w: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``U[a, b] = (G g G^T)[a, b]``, shape ``(36, C, C_out)``, computed in float64
    (long double for float64) and rounded once to ``dtype``, in cache-sized chunks;
    call it on one BLAS thread (:func:`~numconv.threads.single_threaded_blas`) for
    fixed bits.

    >>> u = transformed_filters(np.ones((3, 3, 1, 1)), np.dtype(float))
    >>> float(u[0, 0, 0]), float(u[N * N - 1, 0, 0])       # g[0, 0], g[2, 2]
    (1.0, 1.0)
    """
    wide = np.longdouble if np.dtype(dtype).itemsize >= 8 else np.float64
    g = G.astype(wide)
    flat = w.reshape(3, 3, -1)
    u = np.empty((N, N, flat.shape[-1]), dtype)
    for c0 in range(0, flat.shape[-1], FILTER_CHUNK):
        part = flat[:, :, c0:c0 + FILTER_CHUNK].astype(wide)
        gw = np.matmul(g, part.reshape(3, -1)).reshape(N, 3, -1)    # G g: (a, l, ..)
        u[:, :, c0:c0 + FILTER_CHUNK] = np.matmul(g, gw)             # (G g) G^T: (a, b, ..)
    return u.reshape(N * N, *w.shape[2:])


def filter_bytes(w_shape: tuple[int, ...], dtype: np.dtype) -> int:
    """Bytes :func:`transformed_filters` holds: the result and one chunk's temporaries.

    >>> filter_bytes((3, 3, 64, 64), np.dtype(np.float32))     # 36 * 4096 * 4 + 1024 * 63 * 8
    1105920
    """
    columns = math.prod(w_shape[2:])
    wide = 16 if np.dtype(dtype).itemsize >= 8 else 8
    return N * N * columns * np.dtype(dtype).itemsize + min(columns, FILTER_CHUNK) * 63 * wide


def winograd_f4x4_3x3(x: np.ndarray, w: np.ndarray, geometry: Geometry, groups: int,
                      dtype: np.dtype) -> np.ndarray:
    """Winograd convolution (see the module docstring); grouped filters run im2col.

    >>> from numconv.geometry import resolve
    >>> g = resolve((4, 4), (3, 3), (1, 1), (1, 1), "SAME")
    >>> out = winograd_f4x4_3x3(np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1)), g, 1,
    ...                         np.dtype(float))
    >>> np.round(out[0, :, :, 0], 12)
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
    tw = tiled.out_shape[1] // M
    wp = tiled.dims[1].padded_size                  # slab width, M * tw + 2
    b_t, a_t = B_T.astype(dtype), A_T.astype(dtype)
    blocks, workers = request(x.shape, x.dtype, w.shape, geometry, groups, dtype).plan()
    scratch = Scratch(workers)
    per_tile = _per_tile(channels, cout)       # g and v hold two arrays each, one at a time
    with single_threaded_blas():         # C-order operands, one BLAS thread: fixed bits
        u = transformed_filters(w, dtype)

    def work(worker: int, block: Block) -> None:
        start = clock()
        bs, ts = block
        xs = slab(x, tiled, (bs, slice(M * ts.start, M * ts.stop)), 0, scratch, worker, dtype)
        start = add_time("pad", start)
        images, nt = xs.shape[0], ts.stop - ts.start
        tiles = nt * tw
        row = wp * channels
        # B^T along the rows of every tile: per tile row, (6 x 6) @ (6 x whole slab rows)
        st = xs.strides
        rows = as_strided(xs, (images, nt, N, row), (st[0], M * st[1], st[1], st[-1]))
        z = scratch.get(worker, "z", (images, nt, N, wp, channels), dtype)
        np.matmul(b_t, rows, out=z.reshape(images, nt, N, row))
        # gather the 6 overlapping tile columns: g[n, j, a, t, s] = z[n, t, a, 4 s + j]
        zt = z.strides
        gs = scratch.get(worker, "g", (images * tiles * per_tile["g"],), dtype)
        g = gs[:images * N * N * tiles * channels].reshape(images, N, N, nt, tw, channels)
        np.copyto(g, as_strided(z, g.shape, (zt[0], zt[3], zt[2], zt[1], M * zt[3], zt[4])))
        # B^T along the columns, into v[(a, b), n, tile, c]: GEMMs per image
        vy = scratch.get(worker, "v", (images * tiles * per_tile["v"],), dtype)
        v = vy[:N * N * images * tiles * channels].reshape(N, N, images, tiles * channels)
        np.matmul(b_t, g.reshape(images, N, N, -1).transpose(0, 2, 1, 3),
                  out=v.transpose(2, 0, 1, 3))
        start = add_time("transform", start)
        m = scratch.get(worker, "m", (N * N, images, tiles, cout), dtype)
        np.matmul(v.reshape(N * N, images, tiles, channels), u[:, None], out=m)
        start = add_time("gemm", start)
        # A^T along a, then along b: y[n, j, i, t, s] = output (4 t + i, 4 s + j)
        s = gs[:images * N * M * tiles * cout].reshape(images, N, M, tiles * cout)
        np.matmul(a_t, m.reshape(N, N, images, -1).transpose(2, 1, 0, 3), out=s)
        y = vy[:images * M * M * tiles * cout].reshape(images, M, M, nt, tw, cout)
        np.matmul(a_t, s.reshape(images, N, -1), out=y.reshape(images, M, -1))
        r0, r1 = M * ts.start, min(M * ts.stop, oh)
        quads = y.transpose(0, 3, 2, 4, 1, 5)           # (images, nt, 4, tw, 4, cout)
        if r1 == M * ts.stop and ow == M * tw:
            np.copyto(out[bs, r0:r1].reshape(quads.shape), quads)
        else:
            out[bs, r0:r1] = quads.reshape(images, M * nt, M * tw, cout)[:, :r1 - r0, :ow]
        add_time("epilogue", start)

    run_blocks(blocks, work, workers, blas=True)
    return out
