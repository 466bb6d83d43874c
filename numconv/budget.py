"""The budget: refuse a call before it allocates more than the memory limit.

Each op charges what its kernel will allocate, from the same numbers the kernel uses:

* its **result** (and any other array it returns or builds whole);
* a **padded copy** of the input only when the kernel makes one: the public
  :func:`numconv.im2col`, :func:`numconv.col2im` (a padded accumulator) and
  ``algorithm="reference"`` (:mod:`numconv.reference`, no blocks: its whole patch
  matrix is its workspace) do (they pad, then take a window view); the convolution
  algorithms, the pooling kernels and the gradients never do -- each block copies the
  padded input rows it reads into a slab (:func:`numconv.engine.slab`) or clips its
  taps to the input (:func:`numconv.windows.tap_region`);
* its **workspace**: the scratch of the blocks that :func:`numconv.engine.plan` cuts
  the output into (sized by :func:`numconv.engine.block_shape`, the plan's own
  arithmetic), for every worker the plan lets run at once -- at most the workspace
  bound (:func:`numconv.config.get_workspace_limit`), but never less than one output
  row (a block holds at least one row).  A convolution charges exactly the request
  its algorithm plans with (:func:`numconv.algorithms.workspace`, from each
  algorithm's ``request``: patches, slabs, products, spectra, transformed tiles);
  pooling charges its step buffers (:func:`numconv.kernels.pool.step_bytes`); the
  gradients charge the requests their kernels plan with and the filter- or
  divisor-sized arrays those keep beside their blocks
  (:func:`numconv.kernels.conv_grad.input_workspace`,
  :func:`~numconv.kernels.conv_grad.filter_workspace`,
  :func:`numconv.kernels.pool_grad.dx_request`,
  :func:`~numconv.kernels.pool_grad.argmax_request`,
  :func:`numconv.kernels.unpool.unpool_request`).

The limits are :func:`numconv.config.get_memory_limit` and
:func:`numconv.config.get_workspace_limit`; the messages are :mod:`numconv._args`'s.

>>> import numconv as nc
>>> with nc.memory_limit(2**20):                 # doctest: +ELLIPSIS
...     charge("conv2d", "input", {"output": 2**21})
Traceback (most recent call last):
ValueError: conv2d: input must keep the memory this call needs under the limit of 1.0 MiB ..., got 2.0 MiB (output 2.0 MiB)
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from . import _args, algorithms
from .config import get_memory_limit, get_workspace_limit, workspace_limit
from .engine import block_shape
from .geometry import Geometry
from .threads import num_workers


def charge(fn: str, args: str, parts: dict[str, int]) -> int:
    """Refuse the call if ``parts`` (name -> bytes) exceed the memory limit; return the total.

    ``args`` names the arguments that decide those sizes, for the message.
    """
    _args.over_limit(fn, args, parts, get_memory_limit())
    return sum(parts.values())


def nominal(shape: tuple[int, ...], itemsize: int) -> int:
    """Bytes of an array of ``shape``, zero dims counted as 1: an empty result of shape
    ``(0, 10**9, 10**9)`` is refused too, as NumPy cannot even describe it."""
    return math.prod(max(v, 1) for v in shape) * itemsize


def workspace(batch: int, out_shape: tuple[int, ...],
              block_bytes: Callable[[int, int], int], workers: int | None = None) -> int:
    """Scratch bytes of the blocks :func:`numconv.engine.plan` cuts the output into, for
    ``block_bytes(images, rows)`` bytes a block: the largest block times the workers
    that run at once (at most the workspace bound, but at least one row).

    >>> from numconv.config import workspace_limit
    >>> with workspace_limit(2**18):     # rows of 80 bytes: two equal bands of 500 rows
    ...     workspace(1, (1000, 10), lambda images, rows: images * rows * 80, workers=2)
    40000
    """
    workers = num_workers() if workers is None else workers
    images, rows, count, used = block_shape(batch, out_shape, block_bytes, workers,
                                            cache_bytes=max(get_workspace_limit(), 1))
    return block_bytes(images, rows) * used if count else 0


def window(fn: str, args: str, batch: int, channels: int, geometry: Geometry,
           in_itemsize: int, out_channels: int, out_itemsize: int, per_row: int = 0,
           fixed: int = 0, padded_copy: bool = False) -> int:
    """:func:`charge` for a windowed op that is not a convolution, returning the bytes
    charged: its result; the workspace of its blocks, ``per_row`` bytes per output row
    (first spatial dim), plus ``fixed`` bytes of scratch that do not depend on the
    blocks; and with ``padded_copy`` the whole padded input (a kernel that pads before
    it starts).
    """
    out_shape = geometry.out_shape
    parts = {"output": nominal((batch, *out_shape, out_channels), out_itemsize)}
    if padded_copy and geometry.padded:
        parts["padded input"] = nominal((batch, *(d.padded_size for d in geometry.dims),
                                         channels), in_itemsize)
    if per_row or fixed:
        parts["workspace"] = workspace(batch, out_shape,
                                       lambda images, rows: images * rows * per_row) + fixed
    return charge(fn, args, parts)


def result_chunk(batch: int, per_image: int) -> int:
    """Images per chunk when a convolution's result must be copied out (channels-first,
    or a result dtype narrower than the accumulation's): each chunk's result takes at
    most half the workspace bound, the algorithm the other half."""
    return max(1, min(batch, get_workspace_limit() // 2 // max(per_image, 1)))


def convolution(fn: str, args: str, algorithm: str, x_shape: tuple[int, ...], x_dtype: Any,
                w_shape: tuple[int, ...], geometry: Geometry, groups: int, acc: Any,
                result: Any, direct: bool) -> int:
    """:func:`charge` for a forward convolution on ``algorithm``: its result, and the
    workspace the algorithm plans (:func:`numconv.algorithms.workspace`); with a
    result copied out chunk by chunk (not ``direct``), a chunk's result plus the
    algorithm's workspace under half the bound.  Returns the bytes charged."""
    acc, result = np.dtype(acc), np.dtype(result)
    batch, cout = x_shape[0], w_shape[-1]
    parts = {"output": nominal((batch, *geometry.out_shape, cout), result.itemsize)}
    if not (batch and cout and math.prod(geometry.out_shape)):
        return charge(fn, args, parts)
    if direct:
        parts["workspace"] = algorithms.workspace(algorithm, x_shape, x_dtype, w_shape,
                                                  geometry, groups, acc)
    else:
        per_image = math.prod(geometry.out_shape) * cout * acc.itemsize
        chunk = result_chunk(batch, per_image)
        with workspace_limit(max(get_workspace_limit() // 2, 1024)):
            parts["workspace"] = chunk * per_image + algorithms.workspace(
                algorithm, (chunk, *x_shape[1:]), x_dtype, w_shape, geometry, groups, acc)
    return charge(fn, args, parts)
