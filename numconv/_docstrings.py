"""Docstring text the op modules share, filled in by :func:`docfiller`.

SciPy's ``ndimage`` model (``scipy/ndimage/_ni_docstrings.py``): a parameter that
means the same in twenty functions is described once, here, and a docstring names it
with a ``%(key)s`` line at the indentation of its section.  The rank-named functions
(``conv2d``, ``max_pool2d``, ``conv2d_backprop_input``, ...) then carry full numpydoc
docstrings without repeating the same paragraphs twenty times in their modules.

>>> @docfiller
... def f(padding):
...     '''Example.
...
...     Parameters
...     ----------
...     %(padding)s
...     '''
>>> print(f.__doc__.splitlines()[4])
    padding : "SAME", "VALID", int, or (before, after) pairs
"""

from __future__ import annotations

import re
from typing import Callable, TypeVar

__all__: list[str] = []

F = TypeVar("F", bound=Callable[..., object])

DOCS = {
    "padding": '''\
padding : "SAME", "VALID", int, or (before, after) pairs
    TF's SAME/VALID (any case; the odd pixel goes after), PyTorch's symmetric int,
    explicit ``(before, after)`` pairs per spatial dim, or TF's full form
    (``[[0, 0], [t, b], [l, r], [0, 0]]`` for NHWC).''',
    "dilations": '''\
dilations : int or sequence of int, optional
    Spacing between window taps; default 1 (none).''',
    "keras_formats": '''\
Keras's ``"channels_last"`` and ``"channels_first"`` are accepted too.''',
    "bias_algorithm": '''\
bias : array_like, shape ``(C_out,)``, optional
    Added to every output position.
algorithm : str
    ``"auto"`` (an exact algorithm chosen from the shapes) or a name in
    :data:`numconv.algorithms.ALGORITHMS` (Winograd and FFT are faster but less
    exact; see their documentation).''',
    "conv_raises": '''\
Raises
------
TypeError
    For an input, filters or bias that is not a real numeric array, or an argument
    of the wrong type.
ValueError
    For a wrong rank (the message says how to fix the common cases: ``image[None]``
    for a single image, ``numconv.as_filters(kernel)`` for a 2-D kernel,
    ``kernel[..., None, None]`` for another single kernel), channels that do not
    divide into the filters' groups, a non-positive stride or dilation, a padding
    that is not understood, or a result over numconv's memory limit.''',
    "conv_notes": '''\
Notes
-----
Like TensorFlow and PyTorch this is a cross-correlation: the kernel is not flipped.
Output sizes are :func:`numconv.explain`'s: SAME ``ceil(in / stride)``, VALID
``(in - eff + stride) // stride`` with ``eff = (k - 1) * dilation + 1`` (0 gives an
empty output).  NaN or Inf in a window propagates to that output.''',
    "pool_window": '''\
ksize : int or sequence of int
    Window size per spatial dim (also TF's full form with 1 at batch and channels).
strides : int or sequence of int
    Step between windows per spatial dim (also TF's full form).''',
    "max_options": '''\
ceil_mode : bool
    PyTorch's ceil rounding of the output size (VALID or explicit padding).
nan_policy : {"propagate", "ignore"}
    "propagate" (default; NumPy, PyTorch): a window holding NaN gives NaN.
    "ignore" (TF's CPU kernels): NaN is skipped; a window of only NaN or padding
    gives the dtype's lowest finite value.''',
    "avg_options": '''\
count_include_pad : bool
    PyTorch's option: also count the declared padding in the divisor (default
    False: padding never counts, as in TF and Keras).
ceil_mode : bool
    PyTorch's ceil rounding of the output size (VALID or explicit padding).
divisor_override : int, optional
    PyTorch's option: divide every window's sum by this number.''',
    "pool_raises": '''\
Raises
------
TypeError
    For an input that is not a real numeric array, or an argument of the wrong type.
ValueError
    For a wrong rank (for a single image the message suggests ``image[None]``), a
    non-positive window, stride or dilation, a padding that is not understood,
    ``ceil_mode`` with SAME, or a result over numconv's memory limit.''',
    "max_notes": '''\
Notes
-----
Padding behaves as -inf (the integer minimum for integer dtypes), so it never wins a
window.  On ties the first maximum in window order is the one whose gradient
:func:`numconv.max_pool_grad` receives (TF's rule).''',
    "avg_notes": '''\
Notes
-----
Padding is never counted: a SAME border window divides by the number of real
elements it covers (TF, Keras).  PyTorch's ``count_include_pad=True`` is an option.''',
    "avg_dtype": '''\
float16 for float16 input (accumulated in float32), the input's dtype for float32
and float64, float64 for integer input.''',
    "forward_args": '''\
strides, padding, dilations
    The forward convolution's, spelled as for :func:`numconv.convolution`.''',
    "grad_raises": '''\
Raises
------
TypeError
    For an argument of the wrong type.
ValueError
    For a wrong rank (for a single image the message suggests ``image[None]``), a
    shape argument that does not fit the others, a gradient or shape that does not
    match the forward op's (the message gives the expected shape), a non-positive
    stride or dilation, or a result over numconv's memory limit.''',
}

_KEY = re.compile(r"^([ ]*)%\((\w+)\)s[ ]*$", re.MULTILINE)


def docfiller(f: F) -> F:
    """Replace each line ``%(key)s`` of ``f``'s docstring by ``DOCS[key]``, indented
    like the line; other text (including ``%`` signs) is left alone."""
    def fill(match: re.Match[str]) -> str:
        indent, key = match.groups()
        return "\n".join(indent + line if line else line for line in DOCS[key].splitlines())

    if f.__doc__:
        f.__doc__ = _KEY.sub(fill, f.__doc__)
    return f
