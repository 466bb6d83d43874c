"""Shift-and-accumulate: one whole-array multiply-add per window tap, no patch matrix.

``out = sum over taps t of  tap_t(x) @ w[t]`` where ``tap_t(x)`` is the strided slice
of the padded input that tap ``t`` reads for every output position (shape
``(N, *out_spatial, C)``, see :func:`numconv.windows.tap_views`).  The scratch per
block is one output-sized buffer (plus the padded slab), never a patch matrix, so
this path wins when channels are few (the product per tap is a broadcast multiply,
not a GEMM), for depthwise filters, and when memory is tight.

Per tap, by filter shape:

* depthwise-like (``in_channels/groups == 1``): ``tap[..., g, None] * w[t, 0, g, :]``,
  one broadcast multiply over all channels (with one output per channel and stride 1
  along the last spatial dim, the filters are tiled along that dim so that one
  inner loop runs over a whole row of ``width * C`` values);
* few input channels and one output (``groups == 1``, ``C <= 4``, ``C_out == 1``): one
  multiply per input channel, ``tap[..., c, None] * w[t, c, :]``;
* otherwise: the tap is copied to a contiguous ``(positions, C)`` matrix (group-major
  for grouped filters) and multiplied by ``w[t]`` with one GEMM.
"""

from __future__ import annotations

import math

import numpy as np

from ..padding import Geometry
from ._engine import (CACHE_BLOCK_BYTES, Block, Scratch, add_time, can_limit_blas, clock,
                      num_workers, plan, run_blocks, slab, slab_shape, tap_slice, taps)

__all__ = ["shift_accumulate"]

#: groups == 1 filters with at most this many input channels use broadcast multiplies.
FEW_CHANNELS = 4
#: scratch per block of the elementwise (non-GEMM) modes (fewer, larger blocks: each
#: block costs a few ufunc calls per tap)
SHIFT_BLOCK_BYTES = 2 << 20


def _mode(cin_g: int, groups: int, cout_g: int) -> str:
    if cin_g == 1:
        return "depthwise"
    if groups == 1 and cin_g <= FEW_CHANNELS and cout_g == 1:
        return "broadcast"
    return "gemm"


def shift_accumulate(x: np.ndarray, w: np.ndarray, geometry: Geometry, groups: int,
                     dtype: np.dtype) -> np.ndarray:
    """Convolve by accumulating one product per window tap; see the module docstring.

    >>> from numconv.padding import resolve
    >>> g = resolve((4,), (2,), (1,), (1,), "VALID")
    >>> x = np.arange(4.0).reshape(1, 4, 1)
    >>> shift_accumulate(x, np.array([[[1.]], [[10.]]]), g, 1, np.dtype(float))[0, :, 0]
    array([10., 21., 32.])
    """
    dtype = np.dtype(dtype)
    batch, channels = x.shape[0], x.shape[-1]
    cin_g, cout = w.shape[-2], w.shape[-1]
    cout_g = cout // groups
    wc = w.astype(dtype, copy=False)
    out_shape = geometry.out_shape
    out = np.empty((batch, *out_shape, cout), dtype=dtype)
    mode = _mode(cin_g, groups, cout_g)
    line = math.prod(out_shape[1:])
    itemsize = dtype.itemsize
    copy_in = geometry.padded or x.dtype != dtype
    if mode == "gemm":  # (taps, groups, cin_g, cout_g)
        wg = wc.reshape(-1, cin_g, groups, cout_g).transpose(0, 2, 1, 3)
    elif mode == "depthwise":  # (taps, groups, cout_g)
        wg = wc.reshape(-1, groups, cout_g)
    else:  # (taps, cin, cout)
        wg = wc.reshape(-1, cin_g, cout)
    tap_list = taps(geometry)
    # depthwise with stride 1 along the last spatial dim: a tap's (width, C) is contiguous,
    # so the filters tiled along the width let one inner loop run over a whole row
    wide = None
    if (mode == "depthwise" and cout_g == 1 and len(out_shape) > 1
            and geometry.dims[-1].stride == 1):
        wide = np.tile(wg[:, :, 0], (1, out_shape[-1]))             # (taps, width * C)

    def nbytes(images: int, rows: int) -> int:
        positions = images * rows * line
        total = positions * cout * itemsize * (2 if mode == "gemm" and groups > 1 else 1)
        if mode == "gemm":
            total += positions * channels * itemsize
        if copy_in:
            total += math.prod(slab_shape(x.shape, geometry, images, rows)) * itemsize
        return total

    blas = mode == "gemm"
    workers = num_workers() if (can_limit_blas() or not blas) else 1
    blocks = plan(batch, out_shape, nbytes, workers,
                  cache_bytes=CACHE_BLOCK_BYTES if blas else SHIFT_BLOCK_BYTES)
    scratch = Scratch(workers)

    def work(worker: int, block: Block) -> None:
        start = clock()
        xs = slab(x, geometry, block, 0, scratch, worker, dtype if x.dtype != dtype else None)
        start = add_time("pad", start) if copy_in else start
        rows = block[1].stop - block[1].start
        acc = out[block]
        tmp = scratch.get(worker, "product", acc.shape, dtype)
        m = math.prod(acc.shape[:-1])
        first = True
        for t, tap in enumerate(tap_list):
            view = tap_slice(xs, geometry, tap, rows)
            if mode == "depthwise" and cout_g == 1:
                dst = acc if first else tmp
                if wide is not None:  # rows of (width * C) in one inner loop
                    np.multiply(view.reshape(*view.shape[:-2], -1), wide[t],
                                out=dst.reshape(*dst.shape[:-2], -1))
                else:
                    np.multiply(view, wg[t, :, 0], out=dst)
                if not first:
                    np.add(acc, tmp, out=acc)
                first = False
            elif mode == "depthwise":
                dst = acc if first else tmp
                np.multiply(view[..., None], wg[t],
                            out=dst.reshape(*dst.shape[:-1], groups, cout_g))
                if not first:
                    np.add(acc, tmp, out=acc)
                first = False
            elif mode == "broadcast":
                for c in range(cin_g):
                    dst = acc if first else tmp
                    np.multiply(view[..., c:c + 1], wg[t, c], out=dst)
                    if not first:
                        np.add(acc, tmp, out=acc)
                    first = False
            elif groups == 1:
                if view.flags.c_contiguous and view.dtype == dtype:
                    matrix = view.reshape(m, cin_g)
                else:
                    matrix = scratch.get(worker, "tap", (m, cin_g), dtype)
                    np.copyto(matrix.reshape(view.shape), view)
                np.matmul(matrix, wg[t, 0], out=(acc if first else tmp).reshape(m, cout))
                if not first:
                    np.add(acc, tmp, out=acc)
                first = False
            else:
                split = view.reshape(*view.shape[:-1], groups, cin_g)
                matrix = scratch.get(worker, "tap", (groups, *view.shape[:-1], cin_g), dtype)
                np.copyto(matrix, np.moveaxis(split, -2, 0))
                result = scratch.get(worker, "result", (groups, m, cout_g), dtype)
                np.matmul(matrix.reshape(groups, m, cin_g), wg[t], out=result)
                target = acc.reshape(m, groups, cout_g)
                if first:
                    np.copyto(target, result.transpose(1, 0, 2))
                else:
                    np.add(target, result.transpose(1, 0, 2), out=target)
                first = False
        add_time("taps", start)

    run_blocks(blocks, work, workers, blas=blas)
    return out
