"""Max unpooling's kernel: pooled values put back at their flat indices, block by block.

``out.flat[indices] = values`` (per image, or over the whole array), skipping the
indices -1, in blocks of the pooled array (:func:`numconv.engine.plan`) whose
masks and selected indices and values stay under the workspace bound whatever the
batch size.  The blocks run one after the other in C order, so a repeated index
keeps the last value written, as one fancy assignment would.
"""

from __future__ import annotations

import math

import numpy as np

from ..engine import Block, Request, Scratch
from ..threads import run_blocks


def unpool_request(shape: tuple[int, ...], itemsize: int) -> Request:
    """The blocks of the pooled array (``shape``, any layout: rows are its second axis)
    :func:`unpool` asks for: per element a mask, its flat index, and the selected
    index and value."""
    line = math.prod(shape[2:])

    def nbytes(images: int, rows: int) -> int:
        return images * rows * line * (1 + 8 + 8 + itemsize)

    return Request(shape[0], tuple(shape[1:]), nbytes)


def unpool(values: np.ndarray, indices: np.ndarray, out: np.ndarray, per_image: bool) -> None:
    """``out[n].flat[indices[n]] = values[n]`` (``per_image``) or ``out.flat[indices] =
    values`` where ``indices >= 0``; ``out`` is C-contiguous, ``(N, size)`` or
    ``(1, size)``.

    >>> out = np.zeros((2, 3))
    >>> unpool(np.array([[5.0], [7.0]]), np.array([[1], [-1]]), out, True)
    >>> out
    array([[0., 5., 0.],
           [0., 0., 0.]])
    """
    if values.size == 0:
        return
    flat_out = out.reshape(-1)
    size = out.shape[1]
    blocks, workers = unpool_request(values.shape, values.itemsize).plan()
    scratch = Scratch(workers)

    def work(worker: int, block: Block) -> None:
        ib = indices[block]
        keep = np.greater_equal(ib, 0, out=scratch.get(worker, "keep", ib.shape, bool))
        flat = scratch.get(worker, "flat", ib.shape, np.int64)
        if per_image:             # the image's offset in the flattened output
            start = block[0].start
            offsets = np.arange(start, start + ib.shape[0], dtype=np.int64) * size
            np.add(ib, offsets.reshape((-1,) + (1,) * (ib.ndim - 1)), out=flat,
                   casting="unsafe")
        else:
            np.copyto(flat, ib, casting="unsafe")
        flat_out[flat[keep]] = values[block][keep]

    run_blocks(blocks, work, workers)
