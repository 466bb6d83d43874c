"""Convolution algorithms behind one interface.

Every algorithm has the signature ``algo(x, w, geometry, groups, dtype) -> out`` with
``x`` the unpadded channels-last input ``(N, *spatial, C)``, ``w`` the filters
``(*window, C/groups, C_out)``, ``geometry`` a resolved
:class:`~numconv.geometry.Geometry` (zero padding), and ``out`` a new array of shape
``(N, *out_spatial, C_out)`` in the accumulation ``dtype``.

========== =============================================================== ===========
name       algorithm                                                       error bound
========== =============================================================== ===========
im2col     patch matrix per cache-sized block + one GEMM                   per element
shift      one multiply-add per window tap, no patch matrix                per element
pointwise  direct GEMM for 1x1 windows (no copy when stride 1, unpadded)   per element
fft        ``scipy.fft`` overlap-save per block, for large windows         normwise
winograd   F(4x4, 3x3) for 2-D 3x3 stride-1 filters                        normwise
reference  the textbook (:func:`numconv.reference.conv`): the whole patch     per element
           matrix at once, one GEMM per group, no blocks
========== =============================================================== ===========

All of them but ``reference`` build their scratch block by block under the workspace
bound (:func:`numconv.workspace_limit`); integer inputs are exact (``fft`` and ``winograd``
run im2col for them).  Float results differ by rounding, bounded in two ways.

**Per element: the direct sums** (:data:`EXACT`, the only algorithms ``auto`` picks
with ``precision="exact"``, the default).  Each output is ``b + sum_k x_k w_k`` over
the ``K = prod(window) * C/groups`` products of its window: im2col's GEMM, shift's
tap-by-tap accumulation and pointwise's GEMM add them in different orders (blocked,
with or without FMA), but each product and each addition rounds once, so whatever the
order (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., section 3.1,
with the bias as one more term)::

    |got - truth| <= gamma_K * (|x| conv |w| + |b|),   gamma_K = K u / (1 - K u)

per output, ``truth`` the exact result of the given (already rounded) inputs, ``u``
the accumulation dtype's unit roundoff (float32 ``2**-24``, float64 ``2**-53``) and
``K`` counting the bias: ``c = K / (1 - K u)`` (at most ``1.01 K`` while ``K u <=
0.01``) in ``|got - truth| <= c u (|x| conv |w|)``.  float16 is accumulated in float32
and rounded once at the end: ``(u16 + (1 + u16) gamma_K(u32)) * (|x| conv |w|)``,
``u16 = 2**-11``, plus ``2**-25`` where the result underflows to a subnormal.  The
gradients are sums of the same kind: ``dL/dx`` with ``K = prod(window) * C_out/groups``
and scale ``|g| conv^T |w|`` (the stride-1 gather runs a direct sum too),
``dL/dw`` with ``K = N * prod(out_spatial)`` and scale ``|x|^T conv |g|``.  Measured
on the benchmark cases with data of magnitudes 1e-6..1e6, the largest ``|got -
truth| / (u |x| conv |w|)`` is 4.4 (shift) to 14.3 (im2col, pointwise), against 18-23
for TensorFlow's and PyTorch's oneDNN kernels.

**Normwise: the transforms.**  Winograd and FFT mix a whole tile or block in their
transforms, so an output's error follows the largest values of its tile or block, not
of its own window: a small output beside large ones can lose every digit (1e9 ``u``
above its ``|x| conv |w|`` on wide-range data).  Their bound holds for the output as
a whole, in the infinity norm (``W`` the convolution as a matrix)::

    max |got - truth| <= c u max|x| max_co sum|w[..., co]|   (= c u ||x|| ||W||)

with ``c = 32`` for Winograd F(4x4, 3x3) and ``c = 4`` for FFT, at least 1.8 times the
largest constant measured over 2-D grids of shapes (1 to 512 channels, SAME and VALID,
float32 and float64, Gaussian, uniform and 1e-6..1e6 data; for FFT 3x3 to 31x31
windows, also 1-D, 3-D, grouped, dilated): Winograd 17.5 (one channel; 1.4-2.7 from
64 channels on, where the sum over channels dominates), FFT 1.4.  The constants are
measured, not proven; tests/properties/test_exactness.py checks them on a seeded grid.  They run
when named (``algorithm="winograd"``) or, through ``auto``, with ``precision="fast"``
(:func:`numconv.default_precision`).  :func:`numconv.crosscheck.conv_error` measures
any result on both scales.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .. import reference
from ..config import get_default_precision, get_workspace_limit
from ..geometry import Geometry
from . import fft, gemm, pointwise, shift, winograd
from ..profiling import profiling
from .fft import fft_conv
from .gemm import im2col_gemm
from .pointwise import pointwise_gemm
from .shift import shift_accumulate
from .winograd import winograd_f4x4_3x3

__all__ = ["ALGORITHMS", "EXACT", "Algorithm", "choose", "requirement", "profiling"]

Algorithm = Callable[[np.ndarray, np.ndarray, Geometry, int, np.dtype], np.ndarray]

#: name -> implementation
ALGORITHMS: dict[str, Algorithm] = {
    "im2col": im2col_gemm,
    "shift": shift_accumulate,
    "pointwise": pointwise_gemm,
    "fft": fft_conv,
    "winograd": winograd_f4x4_3x3,
    "reference": reference.conv,
}

#: the direct sums: each output a plain sum of products (per-element error bound), the
#: only algorithms ``auto`` picks with ``precision="exact"``
EXACT = ("im2col", "shift", "pointwise")


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
           groups: int, dtype: np.dtype | None = None, precision: str | None = None) -> str:
    """The algorithm ``algorithm="auto"`` runs for this shape.

    ``precision`` is ``"exact"`` (only the direct sums :data:`EXACT`, per-element error
    bound) or ``"fast"`` (Winograd and FFT too, normwise bound); None means
    :func:`numconv.get_default_precision`.  Rules from single-core CPU-time
    measurements on the benchmark cases (``python -m benchmarks``):

    * a window of ones: ``pointwise`` (no patch copy at all);
    * ``"fast"`` only: a large window (at least 81 taps) with stride 1, few channels
      (``C_in/groups * C_out/groups <= 64``) and a floating dtype: ``fft``;
    * one input and one output channel per group (depthwise, or a single-channel
      image and filter), or a single output from up to 4 input channels: ``shift``
      (each tap is one whole-array multiply-add; building patches would cost more);
    * when even one output row of patches would not fit the workspace bound:
      ``shift`` (no patch matrix);
    * ``"fast"`` only: a 2-D 3x3 window with stride 1 and dilation 1, floating dtype,
      ungrouped, at least 16 input and 16 output channels and at least 36 output tiles
      of 4x4 per image (a 24x24 output): ``winograd`` (36 multiplies per 16 outputs
      instead of 144: 1.6-2.5x im2col's speed on 56x56x64 -> 64, 28x28x128 -> 128,
      224x224x64 -> 64; on 14x14 images of 256 channels, 16 tiles an image, its GEMMs
      are too short and it only ties im2col);
    * otherwise ``im2col``.

    >>> from numconv.geometry import resolve
    >>> g = resolve((56, 56), (3, 3), (1, 1), (1, 1), "SAME")
    >>> choose((8, 56, 56, 64), (3, 3, 64, 64), g, 1)
    'im2col'
    >>> choose((8, 56, 56, 64), (3, 3, 64, 64), g, 1, precision="fast")
    'winograd'
    >>> choose((8, 56, 56, 64), (3, 3, 1, 64), g, 64)
    'shift'
    """
    fast = (precision or get_default_precision()) == "fast"
    cin_g, cout = w_shape[-2], w_shape[-1]
    cout_g = cout // groups
    taps = math.prod(geometry.window)
    floating = dtype is None or np.dtype(dtype).kind == "f"
    if taps == 1:
        return "pointwise"
    if (fast and floating and taps >= 81 and all(s == 1 for s in geometry.strides)
            and cin_g * cout_g <= 64):
        return "fft"
    if (cin_g == 1 and cout_g == 1) or (groups == 1 and cin_g <= 4 and cout_g == 1):
        return "shift"
    limit = get_workspace_limit()
    line = math.prod(geometry.out_shape[1:])
    if line * taps * cin_g * groups * 8 > limit:    # one row of patches (8-byte items)
        return "shift"
    if (fast and floating and groups == 1 and winograd.supports(geometry)
            and cin_g >= 16 and cout >= 16 and winograd.tiles(geometry) >= 36
            and line * 36 * (cin_g + cout) * 8 <= limit):   # one row of tiles
        return "winograd"
    return "im2col"


def workspace(name: str, x_shape: tuple[int, ...], x_dtype: np.dtype,
              w_shape: tuple[int, ...], geometry: Geometry, groups: int,
              dtype: np.dtype) -> int:
    """Bytes of scratch algorithm ``name`` will hold at once, known before it runs.

    Its blocks (each algorithm's ``request``, the numbers its plan is made of) plus the
    filters it converts (a copy in ``dtype``; Winograd's transformed 6x6 filters and
    their float64 temporaries).
    ``fft`` and ``winograd`` run im2col instead for non-finite values, which only the
    data tell: they are charged the larger of the two.

    >>> from numconv.geometry import resolve
    >>> g = resolve((8, 8), (3, 3), (1, 1), (1, 1), "VALID")     # 36 positions, K = 18
    >>> workspace("im2col", (1, 8, 8, 2), np.dtype(float), (3, 3, 2, 4), g, 1,
    ...           np.dtype(float))              # patches 36 * 18 * 8 + filters 72 * 8
    5760
    """
    dtype = np.dtype(dtype)
    args = (x_shape, x_dtype, w_shape, geometry, groups, dtype)
    filters = math.prod(w_shape) * dtype.itemsize
    if name == "reference":    # no blocks: the input in dtype, padded, all its patches, a
        # group's patches copied out of them and a group's product before it is stored
        batch, channels = x_shape[0], x_shape[-1]
        positions = batch * math.prod(geometry.out_shape)
        cast = math.prod(x_shape) if np.dtype(x_dtype) != dtype else 0
        padded = batch * math.prod(d.padded_size for d in geometry.dims) * channels \
            if geometry.padded else 0
        patches = positions * math.prod(geometry.window) * channels
        group = patches // groups if groups > 1 else 0
        product = positions * (w_shape[-1] // groups)
        return (cast + padded + patches + group + product) * dtype.itemsize + filters
    if name in ("shift", "pointwise"):
        return (shift if name == "shift" else pointwise).request(*args).workspace() + filters
    im2col = gemm.request(*args).workspace() + filters
    if name == "im2col":
        return im2col
    if name == "fft":
        own = fft.request(*args)
        return im2col if own is None else max(own.workspace() + filters, im2col)
    if dtype.kind != "f" or groups != 1:          # winograd runs im2col
        return im2col
    transformed = winograd.filter_bytes(w_shape, dtype)
    return max(winograd.request(*args).workspace() + filters + transformed, im2col)
