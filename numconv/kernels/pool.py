"""Window reductions for pooling: separable, tap-wise whole-array ufuncs, no padded copy.

``out[n, o..., c] = REDUCE over taps t of padded[n, o*stride + t*dilation ..., c]``
(max, NaN-skipping max or sum), optionally divided by a per-position divisor.  Max
and sum over a box window are separable, so the window is reduced one spatial axis
at a time, the first axis first: along the first axis a tap is a slice of whole rows
(one long contiguous inner loop per row).  The output is computed block by block
(whole images, or bands of output rows, on the worker threads) with each step's
result in a scratch buffer; within a step each tap is one ``np.maximum`` /
``np.fmax`` / ``np.add`` with ``out=``.  Padding is never materialised: a tap's
slice is clipped to the positions whose input index lies inside the input, which is
the same as reading the fill value (``-inf`` / NaN / 0) there.  A step starts from a
tap that covers all of its positions when there is one; otherwise it is filled with
``fill`` first (positions whose window holds only padding keep it).

The last axis is the one with short inner loops: with a stride, a tap's slice jumps
over whole channel vectors, so NumPy runs one inner loop of only ``C`` elements per
output position (tens of nanoseconds each).  When :func:`_subsample_wins` says so (a
few channels, small strides) the last axis is instead reduced with stride 1 -- each
tap is then one contiguous slice of whole rows, the window sliding by ``C`` elements
along the flattened ``W*C`` row -- and every ``stride``-th result is copied out in
one strided copy.  Both ways combine the same values in the same order.

Sums add the taps of each axis in window order, the first axis first, so they
associate as ``sum_j (sum_i x[i, j])`` (2-D; likewise nested in 3-D) rather than in
flat window order: equal up to rounding, and the same bits whatever the blocks, the
workspace bound, the thread count or the last axis's strategy.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np

from ..config import get_workspace_limit
from ..engine import Block, Request, Scratch, iterator_bytes
from ..threads import num_workers, run_blocks
from ..geometry import DimGeometry, Geometry
from ..windows import tap_range, tap_region

#: Budget of one pooling block as ``plan`` counts it (two input rows per output row,
#: about its step buffers; with NumPy's iterator buffers).  Whole images of the
#: benchmark's pooling cases (3.2 MB) beat bands of rows on two threads: measured
#: with each version in its own process, alternating, best of 70 (8x112x112x64,
#: float32), whole 4 MiB images ran average 3x3/2 SAME in 3.49 ms and max 3x3/2 SAME
#: in 2.85 ms, 2 MiB bands in 4.30 and 3.68 ms (bands are faster on one thread only).
POOL_BLOCK_BYTES = 4 << 20

#: Work (element-taps times itemsize) from which a call runs on the worker threads:
#: handing blocks to threads and back costs 0.1-0.3 ms on the shared development
#: machine (thread wake-ups, GIL hand-overs), which halved the speed of pools of
#: inputs up to ~1 MB (a 3x3/2 average pool of 0.07 MB: 0.15 ms on one thread,
#: 0.32 ms on two).
PARALLEL_BYTES = 4 << 20

Ops = tuple[tuple[Any, ...], list[tuple[tuple[slice, ...], tuple[slice, ...]]]]


def _tap_region(d: DimGeometry, tap: int, start: int, stop: int
                ) -> tuple[slice, slice, bool] | None:
    """``(out_slice, in_slice, full)`` of one tap along one axis, or None if empty.

    ``out_slice`` selects, relative to ``start``, the outputs in ``[start, stop)``
    whose input index lies inside the input; ``in_slice`` the matching strided input.
    """
    region = tap_region(d, tap, start, stop)
    if region is None:
        return None
    out_slice, in_slice = region
    return out_slice, in_slice, out_slice.start == 0 and out_slice.stop == stop - start


def _axis_ops(d: DimGeometry, axis: int, start: int, stop: int, kind: str) -> Ops:
    """The ufunc calls reducing ``axis`` for outputs ``[start, stop)``, as index tuples.

    Returns ``(init, rest)``: ``init`` is ``("pair", a, b)`` (``dst = src[a] op
    src[b]``), ``("copy", a)`` or ``("fill",)``; then ``dst[o] op= src[i]`` for each
    ``(o, i)`` in ``rest``.
    """
    lead = (slice(None),) * axis
    regions = [r for r in (_tap_region(d, t, start, stop) for t in tap_range(d, start, stop))
               if r is not None]
    full = [i for i, r in enumerate(regions) if r[2]]
    if kind == "SUM" and full and full[0] != 0:  # sums keep the window order
        full = []
    init: tuple[Any, ...]
    if not full:
        init, rest = ("fill",), regions
    elif len(full) >= 2 and full[:2] == [0, 1]:
        init, rest = ("pair", lead + (regions[0][1],), lead + (regions[1][1],)), regions[2:]
    else:
        init = ("copy", lead + (regions[full[0]][1],))
        rest = regions[:full[0]] + regions[full[0] + 1:]
    return init, [(lead + (o,), lead + (i,)) for o, i, _ in rest]


def _apply(ops: Ops, src: np.ndarray, dst: np.ndarray, ufunc: np.ufunc, fill: Any,
           dtype: np.dtype) -> None:
    init, rest = ops
    if init[0] == "pair":
        ufunc(src[init[1]], src[init[2]], out=dst, dtype=dtype)
    elif init[0] == "copy":
        np.copyto(dst, src[init[1]])
    else:
        dst[...] = fill
    for o, i in rest:
        target = dst[o]
        ufunc(target, src[i], out=target, dtype=dtype)


def _subsample_wins(d: DimGeometry, channels: int, dtype: np.dtype) -> bool:
    """Whether the last axis is faster reduced with stride 1, then subsampled.

    Measured in whole pooling calls (inputs of 3-25 MB, windows 2 to 5, strides 2 to
    4) on the 2-core AVX-512 development machine, whose timings vary by +-15% from
    run to run: subsampling wins by 1.2-2.6x when a position's channels span at most
    32 bytes, by 1.1-1.4x on the benchmark's pooling cases (256 bytes, stride 2), and is even or
    loses by up to 20% in between at strides 3 and 4 or beyond 256 bytes, where the
    strided taps' inner loops are long and the stride-1 reduction does ``stride``
    times more.  Windows no wider than the stride (2x2/2) are left out from 256
    bytes: the stride-1 pass then computes ``stride`` times the outputs with nothing
    shared between windows (measured on the benchmark's 2x2/2 max pool, 2 MiB blocks:
    2.74 ms subsampled, 2.21 ms strided).  One channel is left out (NumPy then runs
    the strided taps as one long loop), and so is float16, whose ufunc loops are
    scalar (~1 ns an element).
    """
    if channels == 1 or dtype == np.float16 or d.stride == 1 or d.window == 1 \
            or d.out_size < 2 or (d.out_size - 1) * d.stride + 1 > d.in_size:
        return False  # the last test: big explicit pads would need more scratch
    line = channels * dtype.itemsize
    return line <= 32 or line <= 256 and d.stride == 2 and d.window > d.stride


def _budget(batch: int, rows: int, per_row: int, cap: int, workers: int) -> int:
    """A ``plan`` budget that splits the work into equal blocks of at most ``cap`` bytes.

    Whole images when one fits, else bands of rows; at least a block a worker, and
    two when each still holds a quarter of :data:`POOL_BLOCK_BYTES`, so that a worker
    that starts late (the machine is shared) is made up for by the others.

    >>> _budget(8, 56, 57344, 4 << 20, 2) // 57344    # 8 images: a block each
    56
    >>> _budget(1, 56, 57344, 4 << 20, 2) // 57344    # 1 image: a band of rows each
    28
    """
    per_row = max(per_row, 1)  # an input without elements (explicit pads only)
    image = rows * per_row
    blocks = workers
    if workers > 1 and batch * image >= 2 * workers * (POOL_BLOCK_BYTES // 4):
        blocks = 2 * workers
    if batch >= blocks and image <= cap:
        count = max(-(-batch // (cap // image)), blocks)
        return -(-batch // count) * image
    bands = max(-(-rows // max(cap // per_row, 1)), -(-blocks // batch))
    return -(-rows // bands) * per_row


class PoolPlan(NamedTuple):
    """How :func:`reduce_windows` reduces an input: per axis ``steps`` (None: nothing
    to do; 1: tap-wise; ``s > 1``: the last axis reduced with stride 1, then every
    ``s``-th result kept) over the geometry ``geo`` (that axis's stride made 1), the
    ``request`` for its blocks, whether the divisor is repeated along the channels
    (``wide``), and ``fixed``: the bytes of the divisor's copies, outside the blocks."""

    steps: tuple[int | None, ...]
    geo: tuple[DimGeometry, ...]
    request: Request
    wide: bool
    fixed: int

    def workspace(self) -> int:
        """Bytes the reduction holds at once besides its result (what the budget charges)."""
        return self.request.workspace() + self.fixed


def pool_plan(x_shape: tuple[int, ...], x_dtype: Any, inner_stride: int, geometry: Geometry,
              dtype: Any, divisor_ndim: int | None = None) -> PoolPlan:
    """The plan of :func:`reduce_windows` for an input of ``x_shape`` and ``x_dtype``
    whose last axis has stride ``inner_stride`` (bytes), accumulated in ``dtype``, with
    no divisor (``None``), a scalar one (0) or one per output position.

    >>> from numconv.geometry import resolve
    >>> g = resolve((10, 6), (3, 3), (2, 2), (1, 1), "SAME")
    >>> p = pool_plan((1, 10, 6, 3), np.float64, 8, g, np.float64)
    >>> p.steps, p.workspace()          # two input rows (6 x 3 float64) per output row
    ((1, 2), 1440)
    """
    dtype = np.dtype(dtype)
    dims = geometry.dims
    last = len(dims) - 1
    batch, channels = x_shape[0], x_shape[-1]
    steps: list[int | None] = []
    geo: list[DimGeometry] = []
    for k, d in enumerate(dims):
        if d.window == 1 and d.stride == 1 and not (d.pad_before or d.pad_after):
            steps.append(None)
        elif k == last and _subsample_wins(d, channels, dtype) and (
                any(steps) or np.dtype(x_dtype) == dtype and inner_stride == dtype.itemsize):
            # (read from the input itself, the channels must be contiguous and need
            # no cast: NCW input has long loops along W anyway, casts are slow)
            steps.append(d.stride)
            d = replace(d, stride=1, out_size=(d.out_size - 1) * d.stride + 1)
        else:
            steps.append(1)
        geo.append(d)
    # element-taps of all steps (each tap is one pass over its step's output)
    size, taps = math.prod(x_shape), 0
    for step, d, g in zip(steps, dims, geo):
        if step is not None:
            size = size // max(d.in_size, 1) * g.out_size
            taps += d.window * size
    workers = num_workers() if taps * dtype.itemsize >= PARALLEL_BYTES else 1
    limit = get_workspace_limit()
    positions = math.prod(geometry.out_shape)
    fixed, wide = 0, False
    if divisor_ndim:  # the divisor in float64, its copy in dtype, and maybe repeated
        # along the channels: the division then runs in long inner loops
        wide_bytes = positions * channels * dtype.itemsize
        wide = wide_bytes <= limit // 8
        fixed = positions * (8 + dtype.itemsize) + (wide_bytes if wide else 0)
    # a block's step buffers: at most two input rows per output row (a 1-D stride-1
    # buffer: ``stride`` positions per output); NumPy's iterator allocates buffers
    # for a ufunc over strided operands (bufsize elements per operand) besides
    in_line = math.prod(x_shape[2:]) * dtype.itemsize
    per_row = max(2, steps[0] or 1) * in_line if last == 0 else 2 * in_line
    spare = limit - (wide_bytes if wide else 0)
    cap = max(min(POOL_BLOCK_BYTES, spare // workers) - iterator_bytes(x_dtype, dtype), 1)
    # each output is the same reduction in the same tap order in any block: the blocks
    # may follow the workers
    rows = geometry.out_shape[0]
    cache = _budget(batch, rows, per_row, cap, workers) if rows and batch else None
    request = Request(batch, geometry.out_shape, lambda images, rows: images * rows * per_row,
                      workers, cache, split_rows=True)
    return PoolPlan(tuple(steps), tuple(geo), request, wide, fixed)


def reduce_windows(x: np.ndarray, geometry: Geometry, kind: str, dtype: Any, fill: Any,
                   divisor: np.ndarray | None = None) -> np.ndarray:
    """Max (``kind="MAX"``), NaN-skipping max (``"FMAX"``) or sum (``"SUM"``) over windows.

    Parameters
    ----------
    x : ndarray, shape ``(N, *spatial, C)``
        Channels last.
    geometry : Geometry
        Resolved window geometry; its pads are read as ``fill``.
    kind : {"MAX", "FMAX", "SUM"}
    dtype : dtype
        Accumulation and result dtype (the sum runs in it: no float16 rounding).
    fill : scalar
        The value of the padding (``-inf`` / the minimum for max, NaN for ``"FMAX"``,
        0 for sums).
    divisor : ndarray, optional
        Broadcastable to ``out_spatial`` (or a scalar): the sums are divided by it.

    Returns
    -------
    ndarray, shape ``(N, *out_spatial, C)``

    Examples
    --------
    >>> from numconv.geometry import resolve
    >>> g = resolve((5,), (2,), (2,), (1,), "SAME")
    >>> x = np.array([1., 5., 2., 4., 3.]).reshape(1, 5, 1)
    >>> reduce_windows(x, g, "MAX", x.dtype, -np.inf)[0, :, 0]
    array([5., 4., 3.])
    >>> reduce_windows(x, g, "SUM", x.dtype, 0.0)[0, :, 0]
    array([6., 6., 3.])
    """
    dtype = np.dtype(dtype)
    dims = geometry.dims
    last = len(dims) - 1
    out_shape = geometry.out_shape
    batch, channels = x.shape[0], x.shape[-1]
    out = np.empty((batch, *out_shape, channels), dtype=dtype)
    ufunc = {"MAX": np.maximum, "FMAX": np.fmax, "SUM": np.add}[kind]
    if divisor is not None:
        divisor = np.asarray(divisor, dtype=dtype)
    p = pool_plan(x.shape, x.dtype, x.strides[-1], geometry, dtype,
                  None if divisor is None else divisor.ndim)
    steps, geo = p.steps, p.geo
    if divisor is not None and divisor.ndim:
        divisor = np.repeat(divisor[..., None], channels, axis=-1) if p.wide \
            else divisor[..., None]
    ops_cache: dict[tuple[int, int, int], Ops] = {}

    def ops_for(k: int, start: int, stop: int) -> Ops:
        ops = ops_cache.get((k, start, stop))
        if ops is None:  # the first axis's depend on the block; blocks repeat per image
            s = steps[k] or 1
            ops = _axis_ops(geo[k], k + 1, start * s, (stop - 1) * s + 1, kind)
            ops_cache[(k, start, stop)] = ops
        return ops

    blocks, workers = p.request.plan()
    scratch = Scratch(workers)

    def work(worker: int, block: Block) -> None:
        bs, rs = block
        target = out[block]
        current = x[bs]
        holder = ""  # the scratch buffer holding ``current``, if any
        for k, s in enumerate(steps):
            start, stop = (rs.start, rs.stop) if k == 0 else (0, dims[k].out_size)
            lead = (slice(None),) * (k + 1)
            if s is None:
                current = current[lead + (slice(start, stop),)]
                if k == last:
                    np.copyto(target, current)
                continue
            if k == last and s == 1:
                dst = target
            else:
                holder = "step1" if holder == "step0" else "step0"
                shape = (*current.shape[:k + 1], (stop - 1 - start) * s + 1,
                         *current.shape[k + 2:])
                dst = scratch.get(worker, holder, shape, dtype)
            _apply(ops_for(k, start, stop), current, dst, ufunc, fill, dtype)
            current = dst
            if s > 1:  # the stride-1 reduction of the last axis: subsample it
                np.copyto(target, dst[lead + (slice(None, None, s),)])
        if divisor is not None:
            factor = divisor[rs] if divisor.ndim else divisor
            with np.errstate(invalid="ignore", divide="ignore"):  # 0/0: a window of padding
                np.divide(target, factor, out=target)

    run_blocks(blocks, work, workers)
    return out


def reduce_positions(x: np.ndarray, kind: str, dtype: Any) -> np.ndarray:
    """Max (``kind="MAX"``) or sum (``"SUM"``) over all spatial positions of each image.

    Every image is reduced as a C-contiguous ``(positions, C)`` array in ``dtype`` by
    one NumPy reduction along its first axis: ``x`` itself when it is one, else a copy
    made a few images at a time (as many as fit the workspace bound, at least one).
    NumPy's summation order follows the memory layout, so this makes it a function of
    the shape alone: the same bits for any strides or byte order, and for an image
    alone or in a batch.

    Parameters
    ----------
    x : ndarray, shape ``(N, *spatial, C)``
        Channels last, at least one position.
    kind : {"MAX", "SUM"}
    dtype : dtype
        Accumulation and result dtype.

    Returns
    -------
    ndarray, shape ``(N, C)``

    Examples
    --------
    >>> reduce_positions(np.arange(12.0).reshape(1, 3, 2, 2), "SUM", np.float64)
    array([[30., 36.]])
    """
    dtype = np.dtype(dtype)
    ufunc = {"MAX": np.maximum, "SUM": np.add}[kind]
    batch, channels = x.shape[0], x.shape[-1]
    positions = math.prod(x.shape[1:-1])
    out = np.empty((batch, channels), dtype)
    if x.dtype == dtype and x.flags.c_contiguous:
        ufunc.reduce(x.reshape(batch, positions, channels), axis=1, out=out)
        return out
    image = positions * channels * dtype.itemsize
    chunk = max(1, min(batch, get_workspace_limit() // max(image, 1)))
    buf = np.empty((chunk, positions, channels), dtype)
    for start in range(0, batch, chunk):
        part = buf[:min(chunk, batch - start)]
        np.copyto(part.reshape(len(part), *x.shape[1:]), x[start:start + len(part)],
                  casting="unsafe")
        ufunc.reduce(part, axis=1, out=out[start:start + len(part)])
    return out
