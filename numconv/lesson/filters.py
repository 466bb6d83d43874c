"""The lessons' convolution kernels by name, and their filter layout.

Every kernel is a small float32 2-D array meant for :func:`numconv.conv2d`, which
computes a cross-correlation (TF's convention): the kernel is *not* flipped, so
what you read in the array is what slides over the image.  Orientation names say
where the bright side of an edge must be for a positive response:
``bottom_sobel`` is positive where the image gets brighter going down.

=================  =========================================  ===========
name               values                                     sum
=================  =========================================  ===========
``edge``           ``[[-1,-1,-1],[-1,8,-1],[-1,-1,-1]]``      0
``laplacian``      ``[[0,1,0],[1,-4,1],[0,1,0]]``             0
``bottom_sobel``   ``[[-1,-2,-1],[0,0,0],[1,2,1]]``           0
``top_sobel``      ``[[1,2,1],[0,0,0],[-1,-2,-1]]``           0
``left_sobel``     ``[[1,0,-1],[2,0,-2],[1,0,-1]]``           0
``right_sobel``    ``[[-1,0,1],[-2,0,2],[-1,0,1]]``           0
``emboss``         ``[[-2,-1,0],[-1,1,1],[0,1,2]]``           1
``sharpen``        ``[[0,-1,0],[-1,5,-1],[0,-1,0]]``          1
``blur``           ``ones((3, 3)) / 9`` (box filter)           1
``gaussian``       ``outer([1,2,1], [1,2,1]) / 16``            1
``gaussian5``      ``outer([1,4,6,4,1], [1,4,6,4,1]) / 256``   1
``identity``       ``[[0,0,0],[0,1,0],[0,0,0]]``              1
=================  =========================================  ===========

``edge``, ``bottom_sobel``, ``emboss`` and ``sharpen`` are the kernels of the
lesson numconv's demo comes from (Kaggle's *Computer Vision* course).

>>> get_kernel("bottom_sobel")
array([[-1., -2., -1.],
       [ 0.,  0.,  0.],
       [ 1.,  2.,  1.]], dtype=float32)
>>> as_filters("edge").shape                 # (kh, kw, in_channels, out_channels)
(3, 3, 1, 1)
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from .. import _args, budget

__all__ = ["KERNELS", "get_kernel", "kernel_names", "as_filters"]


def _frozen(values: Any, scale: float = 1.0) -> np.ndarray:
    k = (np.asarray(values, dtype=np.float64) / scale).astype(np.float32)
    k.flags.writeable = False
    return k


_BINOMIAL3 = np.array([1.0, 2.0, 1.0])
_BINOMIAL5 = np.array([1.0, 4.0, 6.0, 4.0, 1.0])

#: name -> read-only float32 2-D kernel (use :func:`get_kernel` for a writable copy)
KERNELS: Mapping[str, np.ndarray] = MappingProxyType({
    "edge": _frozen([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
    "laplacian": _frozen([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
    "bottom_sobel": _frozen([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
    "top_sobel": _frozen([[1, 2, 1], [0, 0, 0], [-1, -2, -1]]),
    "left_sobel": _frozen([[1, 0, -1], [2, 0, -2], [1, 0, -1]]),
    "right_sobel": _frozen([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
    "emboss": _frozen([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]),
    "sharpen": _frozen([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    "blur": _frozen(np.ones((3, 3)), 9),
    "gaussian": _frozen(np.outer(_BINOMIAL3, _BINOMIAL3), 16),
    "gaussian5": _frozen(np.outer(_BINOMIAL5, _BINOMIAL5), 256),
    "identity": _frozen([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
})


def kernel_names() -> list[str]:
    """The names :func:`get_kernel` accepts, in the order of the table above.

    >>> kernel_names()[:4]
    ['edge', 'laplacian', 'bottom_sobel', 'top_sobel']
    """
    return list(KERNELS)


def get_kernel(name: str) -> np.ndarray:
    """A named kernel as a new (writable) float32 2-D array.

    Parameters
    ----------
    name : str
        One of :func:`kernel_names`; case, surrounding spaces and ``-`` for ``_``
        do not matter (``"Bottom-Sobel"`` is ``"bottom_sobel"``).

    Returns
    -------
    ndarray, float32, shape ``(kh, kw)``

    Raises
    ------
    TypeError
        If ``name`` is not a string.
    ValueError
        For an unknown name; the message lists the known ones.

    Notes
    -----
    :data:`KERNELS` holds read-only arrays; this returns a copy you may change.

    Examples
    --------
    >>> get_kernel("blur").sum()
    np.float32(1.0)
    >>> get_kernel("Sharpen")[1]
    array([-1.,  5., -1.], dtype=float32)
    """
    return _args.kernel_name("get_kernel", "name", name, KERNELS).copy()


def as_filters(kernel: Any, in_channels: int = 1, out_channels: int = 1) -> np.ndarray:
    """Shape a 2-D kernel into convolution filters ``(kh, kw, in_channels, out_channels)``.

    With the defaults this is the lesson's ``tf.reshape(kernel, [*kernel.shape, 1, 1])``.
    For more channels the same kernel is copied into every ``(in, out)`` slot:
    ``filters[:, :, i, o] == kernel``.  What that means depends on the op:

    * :func:`numconv.conv2d` sums over input channels, so every output channel is
      the kernel applied to the *sum* of the input channels;
    * :func:`numconv.depthwise_conv2d` with ``as_filters(kernel, C, 1)`` filters each
      of the ``C`` channels separately (one output channel per input channel).

    Parameters
    ----------
    kernel : array_like or str
        A 2-D kernel, or a name for :func:`get_kernel`.
    in_channels, out_channels : int
        Positive.

    Returns
    -------
    ndarray, shape ``(kh, kw, in_channels, out_channels)``
        A new array.  Float kernels keep their dtype; integer and bool kernels
        become float32 (so a float32 image stays float32 through the convolution).

    Raises
    ------
    TypeError
        For a kernel that is not a name or a real numeric array, or channel counts
        that are not integers.
    ValueError
        For an unknown name, a kernel that is not 2-D and finite, non-positive channel
        counts, or filters over numconv's memory limit.

    Notes
    -----
    The result is a new array (``np.broadcast_to`` copied), so changing one ``(in,
    out)`` slot does not change the others.

    Examples
    --------
    >>> import numconv as nc
    >>> x = np.zeros((1, 3, 3, 2)); x[0, 1, 1] = [1.0, 10.0]     # two channels
    >>> w = as_filters([[0, 1, 0], [1, 1, 1], [0, 1, 0]], 2, 1)
    >>> nc.conv2d(x, w, 1, "SAME")[0, :, :, 0]                   # channels summed
    array([[ 0., 11.,  0.],
           [11., 11., 11.],
           [ 0., 11.,  0.]])
    >>> nc.depthwise_conv2d(x, w, 1, "SAME")[0, 1, 1]            # per channel
    array([ 1., 10.])
    """
    fn = "as_filters"
    k, _ = kernel_and_name(fn, "kernel", kernel)
    cin = _args.integer(fn, "in_channels", in_channels)
    cout = _args.integer(fn, "out_channels", out_channels)
    if k.dtype.kind != "f":
        k = k.astype(np.float32)
    budget.charge(fn, "in_channels and out_channels",
                  {"output": k.size * cin * cout * k.dtype.itemsize})
    return np.array(np.broadcast_to(k[:, :, None, None], k.shape + (cin, cout)))


def kernel_and_name(fn: str, arg: str, kernel: Any) -> tuple[np.ndarray, str | None]:
    """A kernel argument (a name or a 2-D array), validated: the read-only array and its
    canonical name (None for an array)."""
    if isinstance(kernel, str):
        k = _args.kernel_name(fn, arg, kernel, KERNELS)
        return k, next(n for n, v in KERNELS.items() if v is k)
    return _args.kernel2d(fn, arg, kernel), None
