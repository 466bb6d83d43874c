"""Shift-and-accumulate: one whole-array multiply-add per window tap, no patch matrix.

``out = sum over taps t of  tap_t(x) @ w[t]`` where ``tap_t(x)`` is the strided slice
of the padded input that tap ``t`` reads for every output position (shape
``(N, *out_spatial, C)``: ``numconv.reference.window_view(...)[..., t, :]``).  The scratch per
block is one output-sized buffer (plus the padded slab), never a patch matrix, so
this path wins when channels are few (the product per tap is a broadcast multiply,
not a GEMM), for depthwise filters, and when memory is tight.

Per tap, by filter shape:

* one output per input channel (depthwise with multiplier 1, or a single-channel
  image and filter) and stride 1 along every spatial dim but the first: the *flat*
  path.  The block's padded slab is one contiguous buffer; on it a tap is a constant
  offset, so the inner loops run along whole rows instead of one per output
  position.  With several channels, one ``np.einsum`` over the windows
  ``(images, rows, *window, *out_trailing, out_last * C)`` (the last dim merged with
  the channels, the filters tiled along it) sums each output's products in tap
  order in one pass, written into the output; in 2-D (input in the accumulation dtype,
  channels contiguous) the outputs whose windows lie inside the input read it in place
  and only the frame around them reads zero-padded copies.  With one channel (where a window
  stride would equal the inner stride and einsum's loops would be short) each tap's
  multiply by a scalar and add run over whole padded rows of ``padded_width``
  values, computing a few junk columns past the output's width that are cropped
  once at the end;
* other depthwise-like filters (``in_channels/groups == 1``):
  ``tap[..., g, None] * w[t, 0, g, :]``, one broadcast multiply over all channels;
* few input channels and one output (``groups == 1``, ``C <= 4``, ``C_out == 1``): one
  multiply per input channel, ``tap[..., c, None] * w[t, c, :]``;
* otherwise: the tap is copied to a contiguous ``(positions, C)`` matrix (group-major
  for grouped filters) and multiplied by ``w[t]`` with one GEMM per image of the
  block (a stacked ``np.matmul``), so an image's bits do not depend on the batch.

The elementwise modes compute every output with the same multiplies and adds in tap
order whatever the block, so their blocks may follow the worker count; the GEMM mode
plans its bands from the image's shape only (:func:`~numconv.engine.plan`).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..engine import (CACHE_BLOCK_BYTES, Block, Request, Scratch, flat_slab, row_windows, slab,
                      slab_rows, slab_shape, tap_slice, taps)
from ..geometry import DimGeometry, Geometry
from ..profiling import add_time, clock
from ..threads import num_workers, run_blocks

#: groups == 1 filters with at most this many input channels use broadcast multiplies.
FEW_CHANNELS = 4
#: scratch per block of the elementwise (non-GEMM) modes (fewer, larger blocks: each
#: block costs a few ufunc calls per tap)
SHIFT_BLOCK_BYTES = 2 << 20
#: scratch per block of the flat path (measured best on the depthwise benchmark case:
#: 18 ufunc calls per block, so fewer, larger blocks)
FLAT_BLOCK_BYTES = 4 << 20


def _mode(cin_g: int, groups: int, cout_g: int, geometry: Geometry) -> str:
    if cin_g == 1 and cout_g == 1 and all(d.stride == 1 for d in geometry.dims[1:]):
        return "flat"
    if cin_g == 1:
        return "depthwise"
    if groups == 1 and cin_g <= FEW_CHANNELS and cout_g == 1:
        return "broadcast"
    return "gemm"


def request(x_shape: tuple[int, ...], x_dtype: np.dtype, w_shape: tuple[int, ...],
            geometry: Geometry, groups: int, dtype: np.dtype) -> Request:
    """The blocks :func:`shift_accumulate` asks for, by mode: per block a sum and a
    product of the block's outputs (the flat path: over the padded rows), the padded
    slab, and for the GEMM mode a contiguous copy of each tap."""
    dtype = np.dtype(dtype)
    itemsize = dtype.itemsize
    channels, (cin_g, cout) = x_shape[-1], w_shape[-2:]
    mode = _mode(cin_g, groups, cout // groups, geometry)
    if mode == "flat":
        inner = math.prod(d.padded_size for d in geometry.dims[1:]) * channels
        # sum and product buffers for one channel (1-D: the sum is the output); more
        # channels write the output directly, 2-D reading only the frame's padded
        # copies, smaller than the slab
        sums = 0 if channels > 1 else inner * (1 if len(geometry.dims) == 1 else 2)

        def flat_bytes(images: int, rows: int) -> int:
            return (images * (rows * sums + slab_rows(geometry, rows) * inner) + inner) \
                * itemsize

        return Request(x_shape[0], geometry.out_shape, flat_bytes, num_workers(),
                       FLAT_BLOCK_BYTES, split_rows=True)
    line = math.prod(geometry.out_shape[1:])
    copy_in = geometry.padded or np.dtype(x_dtype) != dtype

    def nbytes(images: int, rows: int) -> int:
        positions = images * rows * line
        total = 2 * positions * cout * itemsize                        # sum and product
        if mode == "gemm":
            total += positions * channels * itemsize
        if copy_in:
            total += math.prod(slab_shape(x_shape, geometry, images, rows)) * itemsize
        return total

    blas = mode == "gemm"
    return Request(x_shape[0], geometry.out_shape, nbytes, num_workers(),
                   CACHE_BLOCK_BYTES if blas else SHIFT_BLOCK_BYTES, split_rows=not blas)


def shift_accumulate(x: np.ndarray, w: np.ndarray, geometry: Geometry, groups: int,
                     dtype: np.dtype) -> np.ndarray:
    """Convolve by accumulating one product per window tap; see the module docstring.

    >>> from numconv.geometry import resolve
    >>> g = resolve((4,), (2,), (1,), (1,), "VALID")
    >>> x = np.arange(4.0).reshape(1, 4, 1)
    >>> shift_accumulate(x, np.array([[[1.]], [[10.]]]), g, 1, np.dtype(float))[0, :, 0]
    array([10., 21., 32.])
    """
    dtype = np.dtype(dtype)
    batch = x.shape[0]
    cin_g, cout = w.shape[-2], w.shape[-1]
    cout_g = cout // groups
    wc = np.ascontiguousarray(w, dtype)           # BLAS operands: C order, native
    out_shape = geometry.out_shape
    mode = _mode(cin_g, groups, cout_g, geometry)
    blocks, workers = request(x.shape, x.dtype, w.shape, geometry, groups, dtype).plan()
    if mode == "flat":
        return _flat(x, wc.reshape(-1, groups), geometry, dtype, blocks, workers)
    out = np.empty((batch, *out_shape, cout), dtype=dtype)
    copy_in = geometry.padded or x.dtype != dtype
    if mode == "gemm":  # (taps, groups, cin_g, cout_g)
        wg = np.ascontiguousarray(wc.reshape(-1, cin_g, groups, cout_g).transpose(0, 2, 1, 3))
    elif mode == "depthwise":  # (taps, groups, cout_g)
        wg = wc.reshape(-1, groups, cout_g)
    else:  # (taps, cin, cout)
        wg = wc.reshape(-1, cin_g, cout)
    tap_list = taps(geometry)
    scratch = Scratch(workers)

    def work(worker: int, block: Block) -> None:
        start = clock()
        xs = slab(x, geometry, block, 0, scratch, worker, dtype if x.dtype != dtype else None)
        start = add_time("pad", start) if copy_in else start
        rows = block[1].stop - block[1].start
        acc = out[block]
        tmp = scratch.get(worker, "product", acc.shape, dtype)
        images = acc.shape[0]
        m = math.prod(acc.shape[1:-1])               # one image's positions: one GEMM each
        first = True
        for t, tap in enumerate(tap_list):
            view = tap_slice(xs, geometry, tap, rows)
            if mode == "depthwise":
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
                    matrix = view.reshape(images, m, cin_g)
                else:
                    matrix = scratch.get(worker, "tap", (images, m, cin_g), dtype)
                    np.copyto(matrix.reshape(view.shape), view)
                np.matmul(matrix, wg[t, 0],
                          out=(acc if first else tmp).reshape(images, m, cout))
                if not first:
                    np.add(acc, tmp, out=acc)
                first = False
            else:
                split = view.reshape(*view.shape[:-1], groups, cin_g)
                matrix = scratch.get(worker, "tap", (groups, *view.shape[:-1], cin_g), dtype)
                np.copyto(matrix, np.moveaxis(split, -2, 0))
                result = scratch.get(worker, "result", (groups, images, m, cout_g), dtype)
                np.matmul(matrix.reshape(groups, images, m, cin_g), wg[t][:, None], out=result)
                target = acc.reshape(images, m, groups, cout_g)
                if first:
                    np.copyto(target, result.transpose(1, 2, 0, 3))
                else:
                    np.add(target, result.transpose(1, 2, 0, 3), out=target)
                first = False
        add_time("taps", start)

    run_blocks(blocks, work, workers, blas=mode == "gemm")
    return out


def _flat(x: np.ndarray, w: np.ndarray, geometry: Geometry, dtype: np.dtype,
          blocks: list[Block], workers: int) -> np.ndarray:
    """The flat path: one output per channel, stride 1 along all but the first dim.

    ``w`` is ``(taps, C)``.  In a block's contiguous padded slab, tap ``t`` of every
    output position is at a fixed element offset (``inner = prod(padded trailing) * C``
    elements per input row).  Several channels: one einsum over a view of the slab's
    windows, into the output (2-D: :func:`_flat_boxes`, without the slab).  One channel:
    the block's output is computed on the padded grid of the trailing dims as
    ``(images, rows, inner)`` arrays, a multiply and an add per tap, and the positions
    beyond the output's trailing sizes are cropped at the end.  Either way each output
    sums its products in tap order, whatever the block.
    """
    dims = geometry.dims
    batch, channels = x.shape[0], x.shape[-1]
    if (len(dims) == 2 and channels > 1 and x.dtype == dtype
            and x.strides[-2:] == (channels * dtype.itemsize, dtype.itemsize)):
        return _flat_boxes(x, w, geometry, dtype, blocks, workers)
    out_shape = geometry.out_shape
    out = np.empty((batch, *out_shape, channels), dtype=dtype)
    trailing = tuple(d.padded_size for d in dims[1:])
    inner = math.prod(trailing) * channels
    pitches = [math.prod(trailing[k + 1:]) * channels for k in range(len(trailing))]
    offsets = [tap[0] * dims[0].dilation * inner
               + sum(t * d.dilation * p for t, d, p in zip(tap[1:], dims[1:], pitches))
               for tap in taps(geometry)]
    # weights along a padded row: a scalar for one channel; along an output row
    # (the filters tiled, (*window, out_last * C)) for several
    weights = w[:, 0]
    row = out_shape[-1] * channels if dims[1:] else channels
    weights_row = np.tile(w, (1, row // channels)).reshape(*geometry.window, row)
    tap_axes = list(range(2, 2 + len(dims)))
    crop = (slice(None), slice(None)) + tuple(slice(0, o) for o in out_shape[1:])
    direct = not trailing                   # 1-D: the padded grid is the output itself
    itemsize = dtype.itemsize
    scratch = Scratch(workers)

    def work(worker: int, block: Block) -> None:
        start = clock()
        xf = flat_slab(x, geometry, block, 0, scratch, worker, dtype, inner)
        start = add_time("pad", start)
        images, rows = len(range(*block[0].indices(batch))), block[1].stop - block[1].start
        shape = (images, rows, inner)
        strides = (slab_rows(geometry, rows) * inner * itemsize,
                   dims[0].stride * inner * itemsize, itemsize)
        if channels > 1:   # all taps in one einsum, into the output
            padded = slab_shape(x.shape, geometry, images, rows)
            windows = row_windows(xf[:math.prod(padded)].reshape(padded), geometry, rows)
            positions = list(range(2 + len(dims), windows.ndim))
            np.einsum(windows, [0, 1, *tap_axes, *positions], weights_row,
                      [*tap_axes, positions[-1]], [0, 1, *positions],
                      out=out[block].reshape(*windows.shape[:2], *windows.shape[2 + len(dims):]))
            add_time("taps", start)
            return
        acc = out[block].reshape(shape) if direct else scratch.get(worker, "sum", shape, dtype)
        tmp = scratch.get(worker, "product", shape, dtype)
        for t, offset in enumerate(offsets):
            # np.ndarray over the buffer: a tenth of as_strided's cost, once per tap and block
            view = np.ndarray(shape, dtype, xf, offset * itemsize, strides)
            if t == 0:
                np.multiply(view, weights[t], out=acc)
            else:
                np.multiply(view, weights[t], out=tmp)
                np.add(acc, tmp, out=acc)
        if not direct:
            np.copyto(out[block], acc.reshape(images, rows, *trailing, channels)[crop])
        add_time("taps", start)

    run_blocks(blocks, work, workers)
    return out


def _inside(d: DimGeometry) -> tuple[int, int]:
    """``[lo, hi)``: the outputs along ``d`` whose windows lie inside the input."""
    lo = min(-(-d.pad_before // d.stride), d.out_size)
    last = (d.in_size + d.pad_before - d.effective_window) // d.stride
    return lo, max(lo, min(d.out_size, last + 1))


def _flat_boxes(x: np.ndarray, w: np.ndarray, geometry: Geometry, dtype: np.dtype,
                blocks: list[Block], workers: int) -> np.ndarray:
    """The flat path in 2-D with several channels, reading the input in place.

    ``w`` is ``(taps, C)``.  The outputs whose windows lie inside the input (the
    interior) are computed by one einsum per block over windows of ``x`` itself; the
    frame around them (rows and columns whose windows meet the padding) from small
    zero-padded copies of the input they read.  Every output sums its products in tap
    order along a row of merged columns and channels, as on a padded slab, without a
    copy of the interior.
    """
    d0, d1 = geometry.dims
    batch, channels = x.shape[0], x.shape[-1]
    out_rows, out_cols = geometry.out_shape
    out = np.empty((batch, out_rows, out_cols, channels), dtype=dtype)
    (r_lo, r_hi), (c_lo, c_hi) = _inside(d0), _inside(d1)
    kh, kw = geometry.window
    itemsize = dtype.itemsize
    tiled: dict[int, np.ndarray] = {}

    def compute(src: np.ndarray, target: np.ndarray) -> None:
        """``target`` ``(images, rows, cols, C)`` from ``src``, whose ``[:, 0, 0]`` is the
        input (padding included) under the first window of ``target``."""
        images, rows, cols = target.shape[:3]
        if rows == 0 or cols == 0:
            return
        if cols not in tiled:
            tiled[cols] = np.tile(w, (1, cols)).reshape(kh, kw, cols * channels)
        st, ts = src.strides, target.strides
        windows = as_strided(src, (images, rows, kh, kw, cols * channels),
                             (st[0], st[1] * d0.stride, st[1] * d0.dilation,
                              st[2] * d1.dilation, itemsize), writeable=False)
        np.einsum(windows, [0, 1, 2, 3, 4], tiled[cols], [2, 3, 4], [0, 1, 4],
                  out=as_strided(target, (images, rows, cols * channels), ts[:2] + (itemsize,)))

    def padded(bs: slice, rows: range, cols: range, buffer: np.ndarray) -> np.ndarray:
        """The zero-padded input under output rows ``rows`` and columns ``cols``."""
        top, left = rows.start * d0.stride - d0.pad_before, cols.start - d1.pad_before
        height = (len(rows) - 1) * d0.stride + d0.effective_window
        width = len(cols) - 1 + d1.effective_window
        src = buffer[:x[bs].shape[0] * height * width * channels].reshape(
            x[bs].shape[0], height, width, channels)
        src[...] = 0
        r0, r1 = max(top, 0), min(top + height, d0.in_size)
        c0, c1 = max(left, 0), min(left + width, d1.in_size)
        if r1 > r0 and c1 > c0:
            src[:, r0 - top:r1 - top, c0 - left:c1 - left] = x[bs, r0:r1, c0:c1]
        return src

    scratch = Scratch(workers)

    def work(worker: int, block: Block) -> None:
        start = clock()
        bs, rs = block
        images = x[bs].shape[0]
        # the frame's copies: at most the padded input rows of the block (its slab)
        buffer = scratch.get(worker, "frame", (images * slab_rows(geometry, rs.stop - rs.start)
                                               * d1.padded_size * channels,), dtype)
        lo = min(max(rs.start, r_lo), rs.stop)          # the block's interior rows
        inner = range(lo, max(min(rs.stop, r_hi), lo))
        everything = range(out_cols)
        for rows in (range(rs.start, inner.start), range(inner.stop, rs.stop)):
            if len(rows):          # frame rows: the whole width from a padded copy
                compute(padded(bs, rows, everything, buffer), out[bs, rows.start:rows.stop])
        if len(inner):
            target = out[bs, inner.start:inner.stop]
            for cols in (range(0, c_lo), range(c_hi, out_cols)):
                if len(cols):      # frame columns of the interior rows
                    compute(padded(bs, inner, cols, buffer), target[:, :, cols.start:cols.stop])
            top, left = inner.start * d0.stride - d0.pad_before, c_lo - d1.pad_before
            compute(x[bs, top:, left:], target[:, :, c_lo:c_hi])
        add_time("taps", start)

    run_blocks(blocks, work, workers)
    return out
