"""FFT convolution (``scipy.fft``): for large windows.

Cross-correlation is a product in the frequency domain: for each block's padded
slab ``s`` and the dilated filters ``w_d`` (``(window-1)*dilation+1`` per dim, zeros
between taps), both zero-padded to the FFT size ``F >= slab size``,

``y = irfftn( rfftn(s) * conj(rfftn(w_d)) )``, summed over input channels, gives
``y[p] = sum_t s[p + t*dilation] w[t]`` for every ``p`` whose window lies in the
slab (no wrap-around), and ``out[o] = y[o * stride]`` (strides subsample the
stride-1 result, so :func:`~numconv.algorithms.choose` only picks this path for
stride 1, and only with ``precision="fast"``: the transforms mix a whole block, so the
error bound is normwise, not per element).  Blocks are bands of output rows
(overlap-save along the first spatial dim), so the workspace stays bounded.

Integer inputs are computed by im2col instead (the FFT is not exact), and so are
inputs holding inf or NaN (the FFT would spread them to every output of a block,
not just to the windows that see them) and filters whose transform alone would not
fit in the workspace bound.
"""

from __future__ import annotations

import math

import numpy as np

from ..config import get_workspace_limit
from ..engine import Request, Scratch, all_finite, slab, slab_rows, slab_shape
from ..profiling import add_time, clock
from ..threads import num_workers, single_threaded_blas
from ..geometry import Geometry
from .gemm import im2col_gemm

#: per-block budget of the FFT path (bigger blocks amortise the overlap of the slabs)
FFT_BLOCK_BYTES = 16 << 20
#: input channels per group up to which the spectral product is a broadcast loop
_BROADCAST_MAX = 8


def _dilated(w: np.ndarray, geometry: Geometry, dtype: np.dtype) -> np.ndarray:
    n = len(geometry.dims)
    eff = tuple(d.effective_window for d in geometry.dims)
    wd = np.zeros((*eff, *w.shape[n:]), dtype=dtype)
    wd[tuple(slice(None, None, d.dilation) for d in geometry.dims)] = w
    return wd


def _sizes(geometry: Geometry, rows: int) -> list[int]:
    """FFT sizes of a block of ``rows`` output rows: its slab rows and the padded
    trailing dims, each rounded up to a fast length."""
    import scipy.fft as sfft
    return [sfft.next_fast_len(slab_rows(geometry, rows), real=True),
            *(sfft.next_fast_len(d.padded_size, real=True) for d in geometry.dims[1:])]


def _spectrum(fft_sizes: list[int]) -> int:
    return math.prod(fft_sizes[:-1]) * (fft_sizes[-1] // 2 + 1)


def request(x_shape: tuple[int, ...], x_dtype: np.dtype, w_shape: tuple[int, ...],
            geometry: Geometry, groups: int, dtype: np.dtype) -> Request | None:
    """The blocks :func:`fft_conv` asks for (per block: the slab, the input and output
    spectra and temporaries, the output rows, the filter spectrum), or None when it
    runs im2col instead (integers, or a filter spectrum over half the workspace bound;
    non-finite values also do, which only the data tell)."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        return None
    channels, (cin_g, cout) = x_shape[-1], w_shape[-2:]
    cdtype = np.result_type(dtype, np.complex64)
    w_bytes_per_row = cin_g * cout * cdtype.itemsize

    def nbytes(images: int, rows: int) -> int:
        f = _sizes(geometry, rows)
        spec = _spectrum(f)
        total = math.prod(slab_shape(x_shape, geometry, images, rows)) * dtype.itemsize
        total += images * spec * (channels + 2 * cout) * cdtype.itemsize  # X, Y, temporaries
        total += images * math.prod(f) * cout * dtype.itemsize            # y
        return total + spec * w_bytes_per_row                              # filter spectrum

    limit = get_workspace_limit()
    if _spectrum(_sizes(geometry, 1)) * w_bytes_per_row > limit // 2:
        return None
    return Request(x_shape[0], geometry.out_shape, nbytes,
                   cache_bytes=max(FFT_BLOCK_BYTES, limit // 4))


def fft_conv(x: np.ndarray, w: np.ndarray, geometry: Geometry, groups: int,
             dtype: np.dtype) -> np.ndarray:
    """Convolve by FFT (see the module docstring); floating dtypes only.

    >>> from numconv.geometry import resolve
    >>> g = resolve((4,), (2,), (1,), (1,), "VALID")
    >>> x = np.arange(4.0).reshape(1, 4, 1)
    >>> fft_conv(x, np.array([[[1.]], [[10.]]]), g, 1, np.dtype(float))[0, :, 0].round(9)
    array([10., 21., 32.])
    """
    import scipy.fft as sfft

    dtype = np.dtype(dtype)
    if dtype.kind != "f" or not all_finite(x, w):
        return im2col_gemm(x, w, geometry, groups, dtype)
    n = len(geometry.dims)
    batch = x.shape[0]
    cin_g, cout = w.shape[-2], w.shape[-1]
    cout_g = cout // groups
    out_shape = geometry.out_shape
    req = request(x.shape, x.dtype, w.shape, geometry, groups, dtype)
    if req is None:
        return im2col_gemm(x, w, geometry, groups, dtype)
    out = np.empty((batch, *out_shape, cout), dtype=dtype)
    if batch == 0 or math.prod(out_shape) == 0:
        return out
    blocks = req.plan().blocks
    fft_sizes = _sizes(geometry, max(b[1].stop - b[1].start for b in blocks))
    axes = tuple(range(1, n + 1))
    threads = num_workers()
    start = clock()
    wf = np.conj(sfft.rfftn(_dilated(w, geometry, dtype), s=fft_sizes, axes=tuple(range(n)),
                            workers=threads))                        # (*F', cin_g, cout)
    wf = wf.reshape(-1, cin_g, groups, cout_g)                        # (P, cin_g, g, cout_g)
    start = add_time("transform", start)
    scratch = Scratch(1)
    for block in blocks:
        xs = slab(x, geometry, block, 0, scratch, 0, dtype if x.dtype != dtype else None)
        start = add_time("pad", start)
        xf = sfft.rfftn(xs, s=fft_sizes, axes=axes, workers=threads)  # (b, *F', C)
        images = xf.shape[0]
        xf = xf.reshape(images, -1, groups, cin_g)                     # (b, P, g, cin_g)
        start = add_time("transform", start)
        if cin_g <= _BROADCAST_MAX:
            yf = xf[..., 0, None] * wf[:, 0]
            for c in range(1, cin_g):
                yf += xf[..., c, None] * wf[:, c]                      # (b, P, g, cout_g)
        else:  # frequencies x groups x images as a stack of one-row GEMMs (an image's
            # bits then do not depend on the batch), on one BLAS thread
            with single_threaded_blas():
                yf = np.matmul(xf.transpose(1, 2, 0, 3)[..., None, :],
                               wf.transpose(0, 2, 1, 3)[:, :, None])   # (P, g, b, 1, cout_g)
            yf = yf[..., 0, :].transpose(2, 0, 1, 3)                    # (b, P, g, cout_g)
        start = add_time("product", start)
        yf = yf.reshape(images, *xf_shape(fft_sizes), cout)
        y = sfft.irfftn(yf, s=fft_sizes, axes=axes, workers=threads)
        del yf, xf
        rows = block[1].stop - block[1].start
        index = (slice(None),) + tuple(slice(0, (o - 1) * d.stride + 1, d.stride)
                                       for o, d in zip((rows, *out_shape[1:]), geometry.dims))
        out[block] = y[index]
        start = add_time("transform", start)
    return out


def xf_shape(fft_sizes: list[int]) -> tuple[int, ...]:
    """Shape of ``rfftn`` output over spatial dims of sizes ``fft_sizes``.

    >>> xf_shape([8, 10])
    (8, 6)
    """
    return (*fft_sizes[:-1], fft_sizes[-1] // 2 + 1)
