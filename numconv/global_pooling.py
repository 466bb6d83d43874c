"""Global max and average pooling: one value per image and channel, Keras's
``GlobalMaxPooling*D`` / ``GlobalAveragePooling*D``.

No window and no geometry: each image's spatial positions are reduced in an order set
by the array's shape (not its memory layout), so an image gives the same bits alone
or in a batch.  The average divides the sum by the number of positions, accumulating
as the windowed average pool does (:mod:`numconv.pooling`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import spec, spellings
from ._docstrings import docfiller
from .kernels.pool import reduce_positions

__all__ = ["global_max_pool", "global_avg_pool"]


def _global(fn: str, input: Any, data_format: Any, keepdims: Any, kind: str) -> np.ndarray:
    x = spellings.array(fn, "input", input)
    layout, keep = spec.global_spec(fn, x, data_format, keepdims)
    # one reduction per image in an order set by the shape (not by the memory layout)
    xc = layout.to_canonical(x)
    if kind == "MAX":
        out = reduce_positions(xc, "MAX", x.dtype)
    else:
        acc, result = spellings.mean_dtypes(x.dtype)
        with np.errstate(over="ignore", invalid="ignore"):  # IEEE results (nonfinite.md)
            out = reduce_positions(xc, "SUM", acc)
            out /= math.prod(xc.shape[1:-1])
        out = out.astype(result, copy=False)
    if keep:
        out = out.reshape(layout.full_index((1,) * layout.n_spatial, *out.shape))
    return out


@docfiller
def global_max_pool(input: Any, data_format: str | None = None,
                    keepdims: bool = False) -> np.ndarray:
    """Maximum over all spatial positions, Keras's ``GlobalMaxPooling*D``.

    %(global_max_pool)s

    Examples
    --------
    >>> x = np.arange(6.0).reshape(1, 3, 2)        # (N, W, C): channels [0 2 4], [1 3 5]
    >>> global_max_pool(x).tolist()
    [[4.0, 5.0]]
    >>> global_max_pool(x, keepdims=True).shape
    (1, 1, 2)
    """
    return _global("global_max_pool", input, data_format, keepdims, "MAX")


@docfiller
def global_avg_pool(input: Any, data_format: str | None = None,
                    keepdims: bool = False) -> np.ndarray:
    """Mean over all spatial positions, Keras's ``GlobalAveragePooling*D``.

    %(global_avg_pool)s

    Examples
    --------
    >>> x = np.arange(6.0).reshape(1, 3, 2)        # (N, W, C): channels [0 2 4], [1 3 5]
    >>> global_avg_pool(x, keepdims=True).tolist()
    [[[2.0, 3.0]]]
    >>> global_avg_pool(np.ones((2, 4, 4, 3), np.uint8)).dtype
    dtype('float64')
    """
    return _global("global_avg_pool", input, data_format, keepdims, "AVG")
