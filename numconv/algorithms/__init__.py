"""Convolution algorithms behind one interface.

Every algorithm has the signature ``algo(x, w, geometry, groups, dtype) -> out`` with
``x`` the unpadded channels-last input ``(N, *spatial, C)``, ``w`` the filters
``(*window, C/groups, C_out)``, ``geometry`` a resolved
:class:`~numconv.geometry.Geometry` (zero padding), and ``out`` a new array of shape
``(N, *out_spatial, C_out)`` in the accumulation ``dtype``.

========== ===============================================================
name       algorithm
========== ===============================================================
im2col     patch matrix per cache-sized block + one GEMM (the reference)
shift      one multiply-add per window tap, no patch matrix
pointwise  direct GEMM for 1x1 windows (no copy when stride 1, unpadded)
fft        ``scipy.fft`` overlap-save per block, for large windows
winograd   F(2x2, 3x3) for 2-D 3x3 stride-1 filters
========== ===============================================================

All of them build their scratch block by block under the workspace bound
(:func:`numconv.workspace_limit`), and all give the same result up to rounding
(integer inputs: exactly; ``fft`` and ``winograd`` fall back to im2col for them).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ..geometry import Geometry
from . import pointwise, winograd
from ..engine import profiling
from .fft import fft_conv
from .gemm import im2col_gemm
from .pointwise import pointwise_gemm
from .shift import shift_accumulate
from .winograd import winograd_f2x2_3x3

__all__ = ["ALGORITHMS", "Algorithm", "choose", "requirement", "profiling"]

Algorithm = Callable[[np.ndarray, np.ndarray, Geometry, int, np.dtype], np.ndarray]

#: name -> implementation
ALGORITHMS: dict[str, Algorithm] = {
    "im2col": im2col_gemm,
    "shift": shift_accumulate,
    "pointwise": pointwise_gemm,
    "fft": fft_conv,
    "winograd": winograd_f2x2_3x3,
}


def requirement(name: str, geometry: Geometry) -> str | None:
    """The rule a geometry breaks for algorithm ``name``, or None if it can run.

    >>> from numconv.geometry import resolve
    >>> requirement("pointwise", resolve((5,), (3,), (1,), (1,), "SAME"))
    'needs a window of ones (1x1)'
    """
    if name == "pointwise" and not pointwise.supports(geometry):
        return "needs a window of ones (1x1)"
    if name == "winograd" and not winograd.supports(geometry):
        return "needs a 2-D 3x3 window with strides 1 and dilations 1"
    return None


def choose(x_shape: tuple[int, ...], w_shape: tuple[int, ...], geometry: Geometry,
           groups: int, dtype: np.dtype | None = None) -> str:
    """The algorithm ``algorithm="auto"`` runs for this shape.

    Rules from single-core CPU-time measurements on the benchmark cases
    (``python -m benchmarks``):

    * a window of ones: ``pointwise`` (no patch copy at all);
    * a large window (at least 81 taps) with stride 1, few channels
      (``C_in/groups * C_out/groups <= 64``) and a floating dtype: ``fft``;
    * one input and one output channel per group (depthwise, or a single-channel
      image and filter), or a single output from up to 4 input channels: ``shift``
      (each tap is one whole-array multiply-add; building patches would cost more);
    * when even one output row of patches would not fit the workspace bound:
      ``shift`` (no patch matrix);
    * a 2-D 3x3 window with stride 1 and dilation 1, floating dtype, ungrouped, with
      at least 64 x 64 channels: ``winograd`` (the GEMMs dominate; it does 16
      multiplies per 4 outputs instead of 36; float32 errors measured against a
      float64 reference are as small as im2col's);
    * otherwise ``im2col``.

    >>> from numconv.geometry import resolve
    >>> g = resolve((56, 56), (3, 3), (1, 1), (1, 1), "SAME")
    >>> choose((8, 56, 56, 64), (3, 3, 64, 64), g, 1)
    'winograd'
    >>> choose((8, 56, 56, 64), (3, 3, 1, 64), g, 64)
    'shift'
    >>> choose((8, 56, 56, 32), (3, 3, 32, 64), g, 1)
    'im2col'
    """
    from ..config import get_workspace_limit
    cin_g, cout = w_shape[-2], w_shape[-1]
    cout_g = cout // groups
    taps = math.prod(geometry.window)
    floating = dtype is None or np.dtype(dtype).kind == "f"
    if taps == 1:
        return "pointwise"
    if (floating and taps >= 81 and all(s == 1 for s in geometry.strides)
            and cin_g * cout_g <= 64):
        return "fft"
    if (cin_g == 1 and cout_g == 1) or (groups == 1 and cin_g <= 4 and cout_g == 1):
        return "shift"
    limit = get_workspace_limit()
    line = math.prod(geometry.out_shape[1:])
    if line * taps * cin_g * groups * 8 > limit:    # one row of patches (8-byte items)
        return "shift"
    if (floating and groups == 1 and winograd.supports(geometry) and cin_g * cout >= 64 * 64
            and line * 16 * (cin_g + cout) * 8 <= limit):   # one row of tiles
        return "winograd"
    return "im2col"
