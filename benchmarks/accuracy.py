"""The error columns: each implementation's per-element error on wide-range data.

For a convolution case the inputs are :func:`benchmarks.cases.wide_range` values
(magnitudes 1e-6 .. 1e6), the truth is the convolution computed in float64, and
the error of a float32 result is

``max |got - truth| / (|x| conv |w|)``

over the elements: the per-element measure in which the frameworks' direct kernels
are bounded by ``c * u`` (``u = 2**-24``, ``c`` about the number of terms summed).
Normwise-accurate algorithms (Winograd, FFT) show errors orders of magnitude above.
The float64 truth is computed here, tap by tap (one GEMM per window tap), without
numconv.
"""

from __future__ import annotations

import numpy as np

from .cases import ConvCase

#: float32 unit roundoff
U32 = 2.0**-24


def conv64(case: ConvCase, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The case's convolution in float64, one product per window tap.

    >>> c = ConvCase("t", (1, 3, 1, 1), (2, 1, 1, 1), padding="VALID")
    >>> conv64(c, np.array([1., 2., 3.]).reshape(1, 3, 1, 1), np.ones((2, 1, 1, 1)))[0, :, 0, 0]
    array([3., 5.])
    """
    g = case.geometry()
    (t, b), (left, right) = g.pads
    xp = np.pad(x.astype(np.float64), ((0, 0), (t, b), (left, right), (0, 0)))
    (oh, ow), (sh, sw), (dh, dw) = g.out_shape, case.strides, case.dilations
    wg = case.grouped_filters(w).astype(np.float64)
    groups, cin_g, cout = case.groups, wg.shape[2], wg.shape[3]
    out = np.zeros((x.shape[0], oh, ow, groups, cout // groups))
    filters = wg.reshape(*wg.shape[:2], cin_g, groups, cout // groups)
    for i in range(wg.shape[0]):
        for j in range(wg.shape[1]):
            tap = xp[:, i * dh:i * dh + (oh - 1) * sh + 1:sh, j * dw:j * dw + (ow - 1) * sw + 1:sw]
            if groups == 1:
                out[..., 0, :] += tap @ wg[i, j]
            else:
                out += np.einsum("nhwgc,cgo->nhwgo", tap.reshape(*tap.shape[:3], groups, cin_g),
                                 filters[i, j])
    return out.reshape(x.shape[0], oh, ow, cout)


def reference(case: ConvCase) -> tuple[np.ndarray, np.ndarray]:
    """``(truth, scale)`` of a convolution case on its wide-range inputs: the float64
    result and ``|x| conv |w|``."""
    a = case.arrays(wide=True)
    return conv64(case, a["x"], a["w"]), conv64(case, np.abs(a["x"]), np.abs(a["w"]))


def error(got: np.ndarray, truth: np.ndarray, scale: np.ndarray) -> float:
    """``max |got - truth| / scale`` over elements with ``scale > 0``.

    >>> error(np.array([1.0, 2.5]), np.array([1.0, 2.0]), np.array([1.0, 5.0]))
    0.1
    """
    if got.shape != truth.shape:
        raise ValueError(f"result shape {got.shape}, expected {truth.shape}")
    mask = scale > 0
    diff = np.abs(got.astype(np.float64)[mask] - truth[mask])
    return float(np.max(diff / scale[mask], initial=0.0))
