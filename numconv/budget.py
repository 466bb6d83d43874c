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
  pooling charges its kernel's plan (:func:`numconv.kernels.pool.pool_plan`); the
  gradients charge the requests their kernels plan with and the filter- or
  divisor-sized arrays those keep beside their blocks
  (:func:`numconv.kernels.conv_input_grad.input_workspace`,
  :func:`numconv.kernels.conv_filter_grad.filter_workspace`,
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
from typing import Any

import numpy as np

from . import _args, algorithms
from .config import get_memory_limit, get_workspace_limit, workspace_limit
from .geometry import Geometry


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


def window(fn: str, args: str, batch: int, channels: int, geometry: Geometry,
           in_itemsize: int, out_channels: int, out_itemsize: int, workspace: int = 0,
           padded_copy: bool = False) -> int:
    """:func:`charge` for a windowed op that is not a convolution, returning the bytes
    charged: its result; ``workspace`` bytes of scratch (its kernel's plan); and with
    ``padded_copy`` the whole padded input (a kernel that pads before it starts).
    """
    out_shape = geometry.out_shape
    parts = {"output": nominal((batch, *out_shape, out_channels), out_itemsize)}
    if padded_copy and geometry.padded:
        parts["padded input"] = nominal((batch, *(d.padded_size for d in geometry.dims),
                                         channels), in_itemsize)
    if workspace:
        parts["workspace"] = workspace
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
