"""Convolution algorithms behind one interface.

Every algorithm has the signature ``algo(x, w, geometry, groups, dtype) -> out`` with
``x`` the unpadded channels-last input ``(N, *spatial, C)``, ``w`` the filters
``(*window, C/groups, C_out)``, ``geometry`` a resolved
:class:`~numconv.padding.Geometry` (zero padding), and ``out`` a new array of shape
``(N, *out_spatial, C_out)`` in the accumulation ``dtype``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..padding import Geometry
from .gemm import im2col_gemm

Algorithm = Callable[[np.ndarray, np.ndarray, Geometry, int, np.dtype], np.ndarray]

#: name -> implementation
ALGORITHMS: dict[str, Algorithm] = {
    "im2col": im2col_gemm,
}


def choose(x_shape: tuple[int, ...], w_shape: tuple[int, ...], geometry: Geometry,
           groups: int) -> str:
    """The algorithm ``algorithm="auto"`` runs for this shape."""
    return "im2col"
