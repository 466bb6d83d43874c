"""Blocks under the workspace bound: plans, padded slabs and scratch of the kernels.

Every algorithm and kernel works block by block.  A *block* is ``(batch_slice,
rows_slice)``: whole images when they fit, otherwise a band of rows (the first
output spatial dim) of one image, sized so that one block's scratch stays under the
workspace bound (:func:`numconv.get_workspace_limit`) and, when the work is large
enough, in the CPU's last-level cache.  A kernel asks for its blocks with a
:class:`Request`, which also tells :mod:`numconv.budget`, before anything is
allocated, the scratch the blocks will hold.  The blocks run on
:func:`numconv.threads.run_blocks`; :mod:`numconv.profiling` times their phases.

**Determinism.** The bands of an image are planned from that image's shape alone
(and the workspace bound), never from the worker count or the batch size, and
kernels compute each image of a block as they would compute it alone (a GEMM per
image and band, never one spanning two images): every output element is the same
arithmetic, in the same order, whatever the threads, the batch or the memory layout.

Padding is applied per block: :func:`slab` copies the input rows one block reads
into a scratch buffer with its border filled; no padded copy of the whole input is
made.  Scratch buffers (:class:`Scratch`) outlive their call when no view of them
does: up to :data:`SPARE_BYTES` are kept for the next call (no fresh page faults).
"""

from __future__ import annotations

import itertools
import math
import sys
import threading
from typing import Any, Callable, NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .config import get_workspace_limit
from .geometry import Geometry

Block = tuple[slice, slice]

#: Target scratch bytes of one block: big enough for efficient GEMMs and to amortise
#: the Python work per block (tens of microseconds), small enough to stay in the L3
#: cache while it is built and consumed.
CACHE_BLOCK_BYTES = 4 << 20

#: An elementwise call (``split_rows``; a GEMM's work per byte varies too much) whose
#: blocks hold less scratch in all runs on one worker: a thread hand-off costs ~50 us.
PARALLEL_BYTES = 1 << 20

#: Bytes set aside from the workspace bound per running worker for NumPy's ufunc
#: buffers (a strided ufunc may buffer 3 operands of 8192 elements of 8 bytes).
UFUNC_BUFFERS = 3 * 8192 * 8


def iterator_bytes(in_dtype: Any, dtype: Any) -> int:
    """NumPy's iterator buffers of one ufunc over strided operands (bufsize elements per
    operand, three operands).

    >>> iterator_bytes(np.float32, np.float64) == 3 * np.getbufsize() * 8
    True
    """
    return 3 * np.getbufsize() * max(np.dtype(dtype).itemsize, np.dtype(in_dtype).itemsize)


def all_finite(*arrays: np.ndarray) -> bool:
    """Whether every element is finite: its maximum and minimum are (NaN propagates).

    Exact (a sum could overflow for finite data, and then whether a batch takes a
    finite-only path would depend on the batch), with no array-sized temporary.

    >>> all_finite(np.ones(3), np.array([1.0, np.inf]))
    False
    """
    return all(a.size == 0 or bool(np.isfinite(np.maximum.reduce(a, axis=None))
                                   and np.isfinite(np.minimum.reduce(a, axis=None)))
               for a in arrays)


# --------------------------------------------------------------------------- planning

class Plan(NamedTuple):
    """A call's blocks and how many workers may run them at once."""

    blocks: list[Block]
    workers: int


def plan(batch: int, out_shape: tuple[int, ...], block_bytes: Callable[[int, int], int],
         workers: int = 1, cache_bytes: int | None = None, *, reserve: int = 0,
         split_rows: bool = False) -> Plan:
    """Blocks whose scratch ``block_bytes(images, rows)`` fits the budget, from one image's shape.

    The budget of a block is ``min(workspace_limit - reserve - UFUNC_BUFFERS,
    cache_bytes)`` (``cache_bytes`` defaults to :data:`CACHE_BLOCK_BYTES`; ``reserve``:
    bytes the call keeps outside its blocks).  An image is one band of rows when it
    fits, else as few equal bands as fit (at least one row each): the bands depend on
    the image's shape and the budget only, never on the batch or the workers.  Whole
    images are grouped, several to a block, spread over at least ``workers`` blocks
    when the batch allows; a kernel must compute each image of a block as it would
    alone.  ``split_rows=True`` (kernels whose arithmetic per output does not depend
    on the block, such as tap-wise ufuncs) also cuts the bands so that every worker
    gets one when the batch is smaller than ``workers``.

    ``Plan.workers`` is at most ``workers`` and as many as the bound affords (their
    blocks and :data:`UFUNC_BUFFERS` each fit ``workspace_limit - reserve`` together),
    and with ``split_rows`` 1 when all images hold less than :data:`PARALLEL_BYTES` of
    scratch (and no band is cut for the workers).  A block holds at least one row:
    the bound is ``max(limit, block_bytes(1, 1))``.  :func:`block_shape` gives the
    blocks' size and number without listing them (the budget's charge).

    >>> plan(4, (10, 10), lambda n, r: n * r * 80, cache_bytes=1600).blocks
    [(slice(0, 2, None), slice(0, 10, None)), (slice(2, 4, None), slice(0, 10, None))]
    >>> plan(1, (10, 10), lambda n, r: n * r * 80, cache_bytes=400).blocks
    [(slice(0, 1, None), slice(0, 5, None)), (slice(0, 1, None), slice(5, 10, None))]
    """
    images, band, count, used = block_shape(batch, out_shape, block_bytes, workers,
                                            cache_bytes, reserve=reserve,
                                            split_rows=split_rows)
    if count == 0:
        return Plan([], 1)
    rows = out_shape[0]
    if band < rows:
        blocks = [(slice(b, b + 1), slice(r, min(r + band, rows)))
                  for b in range(batch) for r in range(0, rows, band)]
    else:
        blocks = [(slice(b, min(b + images, batch)), slice(0, rows))
                  for b in range(0, batch, images)]
    return Plan(blocks, used)


class Request(NamedTuple):
    """What a kernel asks :func:`plan` for: the same numbers give its blocks
    (:meth:`plan`) and, before anything is allocated, the scratch they hold at once
    (:meth:`workspace`, what :mod:`numconv.budget` charges).

    >>> r = Request(1, (1000, 10), lambda images, rows: images * rows * 80)
    >>> len(r.plan().blocks), r.workspace()
    (1, 80000)
    """

    batch: int
    out_shape: tuple[int, ...]
    block_bytes: Callable[[int, int], int]
    workers: int = 1
    cache_bytes: int | None = None
    split_rows: bool = False
    reserve: int = 0

    def plan(self) -> Plan:
        """The blocks and workers: :func:`plan` of these numbers."""
        return plan(self.batch, self.out_shape, self.block_bytes, self.workers,
                    self.cache_bytes, reserve=self.reserve, split_rows=self.split_rows)

    def shape(self) -> tuple[int, int, int, int]:
        """:func:`block_shape` of these numbers: ``(images, rows, count, workers)``."""
        return block_shape(self.batch, self.out_shape, self.block_bytes, self.workers,
                           self.cache_bytes, reserve=self.reserve, split_rows=self.split_rows)

    def workspace(self) -> int:
        """Bytes the blocks hold at once: the largest block times the workers."""
        images, rows, count, used = self.shape()
        return self.block_bytes(images, rows) * used if count else 0


def block_shape(batch: int, out_shape: tuple[int, ...], block_bytes: Callable[[int, int], int],
                workers: int = 1, cache_bytes: int | None = None, *, reserve: int = 0,
                split_rows: bool = False) -> tuple[int, int, int, int]:
    """``(images, rows, count, workers)`` of :func:`plan`'s blocks: the largest block
    holds ``images`` images (more than 1 only when whole images fit) of ``rows`` output
    rows, there are ``count`` blocks and ``workers`` run at once; ``(0, 0, 0, 1)`` for
    an empty output.

    >>> block_shape(1, (10**12, 10), lambda n, r: n * r * 80, cache_bytes=800)
    (1, 10, 100000000000, 1)
    """
    if batch == 0 or math.prod(out_shape) == 0:
        return 0, 0, 0, 1
    small = split_rows and block_bytes(1, out_shape[0]) * batch < PARALLEL_BYTES
    limit = max(get_workspace_limit() - reserve, 1024)
    cache = CACHE_BLOCK_BYTES if cache_bytes is None else cache_bytes
    budget = min(max(limit - UFUNC_BUFFERS, 1024), cache)
    rows = out_shape[0]
    band = rows
    if block_bytes(1, rows) > budget:
        band = max(1, min(rows, budget // max(block_bytes(1, 1), 1)))
        while band > 1 and block_bytes(1, band) > budget:
            band -= 1
    bands = -(-rows // band)
    if split_rows and batch < workers and not small:
        bands = max(bands, min(rows, -(-workers // batch)))
    band = -(-rows // bands)                             # equal bands
    if band < rows:
        images, count = 1, batch * -(-rows // band)
    else:
        images = max(1, min(batch, budget // max(block_bytes(1, rows), 1),
                            -(-batch // workers)))
        while images > 1 and block_bytes(images, rows) > budget:
            images -= 1
        count = -(-batch // images)
    affordable = limit // max(block_bytes(images, band) + UFUNC_BUFFERS, 1)
    return images, band, count, 1 if small else max(1, min(workers, count, affordable))


def slab_rows(geometry: Geometry, rows: int) -> int:
    """Padded input rows (first spatial dim) that ``rows`` output rows read."""
    d = geometry.dims[0]
    return (rows - 1) * d.stride + d.effective_window if rows else 0


def slab_shape(x_shape: tuple[int, ...], geometry: Geometry, images: int,
               rows: int) -> tuple[int, ...]:
    """Shape of the padded slab of ``images`` images and ``rows`` output rows."""
    rest = tuple(d.padded_size for d in geometry.dims[1:])
    return (images, slab_rows(geometry, rows), *rest, x_shape[-1])


#: Bytes of scratch buffers kept between calls (at most the workspace bound): fresh
#: memory page-faults in (three fresh 1 MB buffers made a 0.7 ms convolution 1.7 ms).
SPARE_BYTES = 64 << 20

#: Smaller buffers are neither kept nor looked for: below glibc's mmap threshold
#: (128 KiB) the C heap reuses freed memory without page faults, at no bookkeeping.
SPARE_MIN_BYTES = 128 << 10

_SPARE: dict[int, list[np.ndarray]] = {}       # by worker index: memory that worker touched
_SPARE_LOCK = threading.Lock()


def _take(nbytes: int, worker: int) -> np.ndarray:
    """A flat uint8 buffer of at least ``nbytes``: one worker ``worker`` kept, not much
    larger (likely still in its core's cache), or a new one."""
    if nbytes >= SPARE_MIN_BYTES:
        with _SPARE_LOCK:
            kept = _SPARE.get(worker, [])
            fits = [i for i, b in enumerate(kept) if nbytes <= b.nbytes <= 2 * nbytes + 65536]
            if fits:
                return kept.pop(min(fits, key=lambda i: kept[i].nbytes))
    return np.empty(max(nbytes, 1), dtype=np.uint8)


def _keep(buffers: dict[int, list[np.ndarray]]) -> None:
    """Keep the largest buffers for later calls, up to ``min(SPARE_BYTES, workspace bound)``."""
    cap = min(SPARE_BYTES, get_workspace_limit())
    with _SPARE_LOCK:
        pool = [(worker, buf) for source in (_SPARE, buffers)
                for worker, bufs in source.items() for buf in bufs]
        _SPARE.clear()
        total = 0
        for worker, buf in sorted(pool, key=lambda item: item[1].nbytes, reverse=True):
            if total + buf.nbytes <= cap:
                _SPARE.setdefault(worker, []).append(buf)
                total += buf.nbytes


def drop_kept_scratch() -> None:
    """Free the scratch buffers kept between calls (a memory measurement starts clean)."""
    with _SPARE_LOCK:
        _SPARE.clear()


class Scratch:
    """Per-worker reusable flat buffers, grown on demand; they come from, and go back
    to, a set kept between calls (:data:`SPARE_BYTES`), unless a view of them lives on."""

    def __init__(self, workers: int) -> None:
        self._buffers: list[dict[str, np.ndarray]] = [{} for _ in range(workers)]

    def get(self, worker: int, name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """An uninitialised array of ``shape`` and ``dtype`` from worker ``worker``'s buffer."""
        dtype = np.dtype(dtype)
        nbytes = math.prod(shape) * dtype.itemsize
        buf = self._buffers[worker].get(name)
        if buf is None or buf.nbytes < nbytes:
            self._buffers[worker].pop(name, None)    # (freed before the new one is made)
            del buf
            buf = _take(nbytes, worker)
            self._buffers[worker][name] = buf
        return buf[:nbytes].view(dtype).reshape(shape)

    def __del__(self) -> None:
        try:
            free: dict[int, list[np.ndarray]] = {}
            for worker, buffers in enumerate(self._buffers):
                while buffers:
                    buf = buffers.popitem()[1]
                    # unused elsewhere: referred to by this name and the call's argument only
                    if buf.nbytes >= SPARE_MIN_BYTES and sys.getrefcount(buf) <= 2:
                        free.setdefault(worker, []).append(buf)
                    del buf
            if free:
                _keep(free)
        except Exception:  # pragma: no cover - interpreter shutdown
            pass


def slab(x: np.ndarray, geometry: Geometry, block: Block, value: Any, scratch: Scratch,
         worker: int, dtype: Any = None) -> np.ndarray:
    """The padded input a block reads, ``slab[n, i, ...] == padded[block_batch[n],
    rows.start * stride + i, ...]``: a view when unpadded, else (or with ``dtype``: a
    copy cast to it) a scratch copy of shape ``slab_shape(...)``."""
    if not geometry.padded and dtype is None:
        d0, rs = geometry.dims[0], block[1]
        lo = rs.start * d0.stride - d0.pad_before
        return x[block[0], lo:lo + slab_rows(geometry, rs.stop - rs.start)]
    shape = _block_slab_shape(x, geometry, block)
    out = scratch.get(worker, "slab", shape, x.dtype if dtype is None else dtype)
    _fill_slab(out, x, geometry, block, value)
    return out


def flat_slab(x: np.ndarray, geometry: Geometry, block: Block, value: Any, scratch: Scratch,
              worker: int, dtype: Any, tail: int) -> np.ndarray:
    """A block's padded slab, a contiguous copy, flat and followed by ``tail`` elements
    of ``value`` (the last row's windows taken as one long run stay inside the buffer)."""
    shape = _block_slab_shape(x, geometry, block)
    size = math.prod(shape)
    flat = scratch.get(worker, "flat", (size + tail,), dtype)
    flat[size:] = value
    _fill_slab(flat[:size].reshape(shape), x, geometry, block, value)
    return flat


def _block_slab_shape(x: np.ndarray, geometry: Geometry, block: Block) -> tuple[int, ...]:
    bs, rs = block
    images = len(range(*bs.indices(x.shape[0])))
    return slab_shape(x.shape, geometry, images, rs.stop - rs.start)


def _fill_slab(out: np.ndarray, x: np.ndarray, geometry: Geometry, block: Block,
               value: Any) -> None:
    """Copy the input rows a block reads into ``out``, with the padding set to ``value``."""
    bs, rs = block
    d0 = geometry.dims[0]
    lo = rs.start * d0.stride - d0.pad_before
    hi = lo + out.shape[1]
    inner_lo, inner_hi = max(lo, 0), min(hi, d0.in_size)
    # fill the borders only, then copy the interior
    if inner_lo - lo > 0:
        out[:, :inner_lo - lo] = value
    if hi - inner_hi > 0:
        out[:, max(inner_hi - lo, 0):] = value
    interior: list[slice] = [slice(None), slice(inner_lo - lo, max(inner_hi - lo, inner_lo - lo))]
    for axis, d in enumerate(geometry.dims[1:], start=2):
        index = (slice(None),) * axis
        if d.pad_before:
            out[index + (slice(0, d.pad_before),)] = value
        if d.pad_after:
            out[index + (slice(d.pad_before + d.in_size, None),)] = value
        interior.append(slice(d.pad_before, d.pad_before + d.in_size))
    if inner_hi > inner_lo:
        np.copyto(out[tuple(interior)], x[bs, inner_lo:inner_hi], casting="unsafe")


def slab_view(xs: np.ndarray, geometry: Geometry, rows: int) -> np.ndarray:
    """Windows of a slab: ``(images, rows, *out_spatial[1:], *window, C)``, read-only."""
    dims = geometry.dims
    sp = xs.strides[1:-1]
    shape = (xs.shape[0], rows, *geometry.out_shape[1:], *geometry.window, xs.shape[-1])
    strides = (xs.strides[0], *(st * d.stride for st, d in zip(sp, dims)),
               *(st * d.dilation for st, d in zip(sp, dims)), xs.strides[-1])
    return as_strided(xs, shape=shape, strides=strides, writeable=False)


def row_windows(xs: np.ndarray, geometry: Geometry, rows: int) -> np.ndarray:
    """Windows of a slab, taps before positions, the last dim merged with the channels.

    Shape ``(images, rows, *window, *out_spatial[1:-1], out_spatial[-1] * C)`` (1-D:
    ``(images, rows, *window, C)``), read-only; needs stride 1 along every dim but the
    first and a slab whose last two axes are contiguous.  Its inner axis runs along a
    whole output row, so one ``np.einsum`` over it sums each output's products in tap
    order with long inner loops (the window's strides are multiples of ``C``).

    >>> from numconv.geometry import resolve
    >>> g = resolve((3, 3), (2, 2), (1, 1), (1, 1), "VALID")
    >>> xs = np.arange(18.0).reshape(1, 3, 3, 2)
    >>> row_windows(xs, g, 2)[0, 1, 0, 1]       # row 1, tap (0, 1): x[1, 1:3, :]
    array([ 8.,  9., 10., 11.])
    """
    dims = geometry.dims
    assert all(d.stride == 1 for d in dims[1:])
    out = geometry.out_shape
    st = xs.strides
    merged = (*out[1:-1], out[-1] * xs.shape[-1]) if len(dims) > 1 else (xs.shape[-1],)
    shape = (xs.shape[0], rows, *geometry.window, *merged)
    strides = (st[0], st[1] * dims[0].stride,
               *(s * d.dilation for s, d in zip(st[1:-1], dims)), *st[2:-2], st[-1])
    return as_strided(xs, shape=shape, strides=strides, writeable=False)


def tap_slice(xs: np.ndarray, geometry: Geometry, tap: tuple[int, ...], rows: int) -> np.ndarray:
    """One tap of a slab's windows, shape ``(images, rows, *out_spatial[1:], C)``: a slice."""
    sizes = (rows, *geometry.out_shape[1:])
    index = (slice(None),) + tuple(
        slice(t * d.dilation, t * d.dilation + (o - 1) * d.stride + 1, d.stride)
        for t, d, o in zip(tap, geometry.dims, sizes)) + (slice(None),)
    return xs[index]


def taps(geometry: Geometry) -> list[tuple[int, ...]]:
    """Every window tap in C order."""
    return list(itertools.product(*(range(k) for k in geometry.window)))
