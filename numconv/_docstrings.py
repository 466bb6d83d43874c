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
    padding : "SAME", "VALID", "SAME_LOWER", "SAME_UPPER", int, or (before, after) pairs
"""

from __future__ import annotations

import re
from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable[..., object])

DOCS = {
    "padding": '''\
padding : "SAME", "VALID", "SAME_LOWER", "SAME_UPPER", int, or (before, after) pairs
    TF's SAME/VALID (any case; SAME puts the odd pixel after), ONNX's SAME_UPPER (TF's
    SAME) and SAME_LOWER (the odd pixel before), PyTorch's symmetric int, explicit
    ``(before, after)`` pairs per spatial dim, or TF's full form
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
    ``"auto"`` (chosen from the shapes and ``precision``) or a name in
    :data:`numconv.algorithms.ALGORITHMS`, ``"reference"`` included (the textbook
    in :mod:`numconv.reference`); an explicit name always runs.
precision : {"exact", "fast"}, optional
    What ``auto`` may pick.  ``"exact"``: only direct sums, every output within
    ``gamma_K * (|x| conv |w|)`` of the exact result; ``"fast"``: Winograd and FFT
    too where they are faster, with a normwise bound only
    (:mod:`numconv.algorithms`).  None (default): :func:`numconv.get_default_precision`.''',
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
strides : int or sequence of int, optional
    Step between windows per spatial dim (also TF's full form); None is 1.''',
    "max_options": '''\
ceil_mode : bool
    PyTorch's ceil rounding of the output size (VALID or explicit padding).
nan_policy : {"propagate", "ignore"}
    "propagate" (default; NumPy, PyTorch): a window holding NaN gives NaN.
    "ignore" (TF's CPU kernels): NaN is skipped; a window of only NaN or padding
    gives the dtype's lowest finite value.
%(pool_algorithm)s''',
    "avg_options": '''\
count_include_pad : bool
    PyTorch's option: also count the declared padding in the divisor (default
    False: padding never counts, as in TF and Keras).
ceil_mode : bool
    PyTorch's ceil rounding of the output size (VALID or explicit padding).
divisor_override : int, optional
    PyTorch's option: divide every window's sum by this number.
%(pool_algorithm)s''',
    "pool_algorithm": '''\
algorithm : {"auto", "reference"}
    "auto" (default): the blocked kernels.  "reference": the textbook's reductions
    of the padded window view (:mod:`numconv.reference`), the same results.''',
    "window_raises": '''\
Raises
------
TypeError
    For an input that is not a real numeric array, or an argument of the wrong type.
ValueError
    For a wrong rank (for a single image the message suggests ``image[None]``), a
    non-positive window, stride or dilation, a padding that is not understood,''',
    "pool_raises": '''\
%(window_raises)s
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
    "depthwise_grad_args": '''\
out_backprop : array_like, shape ``(N, out_h, out_w, C * M)`` (or channels-first)
    ``dL/dout``.
strides, padding, dilations
    The forward op's.
data_format : {"NHWC", "NCHW"}
    Channels-last by default.''',
    "activation_grad_args": '''\
gradients : array_like
    ``dL/dout``, the shape of ``features``.
features : array_like
    The forward input ``x``.''',
    "grad_precision": '''\
precision : {"exact", "fast"}, optional
    As for :func:`numconv.convolution`: with stride 1 the gradient runs as a forward
    convolution on the algorithm ``auto`` picks for this precision (``"exact"``, the
    default: a direct sum with a per-element bound).''',
    "pool_grad_raises": '''\
Raises
------
TypeError
    For an array that is not real numeric, or an argument of the wrong type.
ValueError
    For a wrong rank (for a single image the message suggests ``image[None]``), a
    ``grad`` that is not the forward output's shape (the message gives it), a
    non-positive window, stride or dilation, or a result over numconv's memory
    limit.''',
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
    like the line (entries may name other entries); other text (including ``%`` signs)
    is left alone."""
    def fill(match: re.Match[str]) -> str:
        indent, key = match.groups()
        return "\n".join(indent + line if line else line for line in DOCS[key].splitlines())

    doc = f.__doc__
    while doc and _KEY.search(doc):    # an entry may name other entries
        doc = _KEY.sub(fill, doc)
    f.__doc__ = doc
    return f


# --------------------------------------------------------------------------- rank-named ops

_LAYOUTS = {1: ("NWC", "NCW", "(N, W, C)", "(N, C, W)", "out_w", "kw"),
            2: ("NHWC", "NCHW", "(N, H, W, C)", "(N, C, H, W)", "out_h, out_w", "kh, kw"),
            3: ("NDHWC", "NCDHW", "(N, D, H, W, C)", "(N, C, D, H, W)", "out_d, out_h, out_w",
                "kd, kh, kw")}


def _pool_block(kind: str, n: int | None) -> str:
    """Description, Parameters, Returns, Raises and Notes of ``max_pool{n}d`` /
    ``avg_pool{n}d``, or of the N-d ``max_pool`` / ``avg_pool`` for ``n=None``."""
    last, first, shape_last, shape_first, outs, _ = _LAYOUTS[n] if n else (
        "", "", "(N, *spatial, C)", "(N, C, *spatial)", "*out_spatial", "")
    batch = ("A batch; a single image is ``image[None]``." if n else
             "Rank 3 to 5: batch, 1 to 3 spatial dims, channels.")
    formats = (f'''data_format : {{"{last}", "{first}"}}
    Channels-last (default) or channels-first.
    {DOCS["keras_formats"]}''' if n else f'''data_format : str, optional
    Channels-last by default, or a rank-specific name (``"NCHW"``).
    {DOCS["keras_formats"]}''')
    what = "maximum" if kind == "max" else "mean of the real (unpadded) elements"
    dtype = ("The input's dtype." if kind == "max" else
             DOCS["avg_dtype"].replace("\n", "\n    "))
    return f'''\
``out[n, o..., c]`` is the {what} of the window
``padded[n, o*strides + t*dilations ..., c]`` over the taps ``t``; the general case
(every option, any window) is :func:`pool`.

Parameters
----------
input : array_like, shape ``{shape_last}`` or ``{shape_first}``
    {batch}
{DOCS["pool_window"]}
{DOCS["padding"]}
{formats}
{DOCS["dilations"]}
{DOCS[kind + "_options"]}

Returns
-------
ndarray, shape ``(N, {outs}, C)`` (or channels-first)
    {dtype}

{DOCS["pool_raises"]}

{DOCS[kind + "_notes"]}'''


def _grad_block(what: str, n: int) -> str:
    """Description, Parameters, Returns, Raises and Notes of ``conv{n}d_backprop_input``,
    ``conv{n}d_backprop_filter`` and ``conv{n}d_transpose``."""
    last, first, xs, _, outs, window = _LAYOUTS[n]
    ws = f"({window}, C / groups, C_out)"
    ys = f"(N, {outs}, C_out)"
    layout = f'''\
data_format : {{"{last}", "{first}"}}
    The forward layout (channels-last by default).
    {DOCS["keras_formats"]}'''
    if what == "input":
        head = f'''\
``dx[n, i..., c] = sum over (o, t) with o*s + t*d - pad_before = i of
sum_co g[n, o..., co] * w[t..., c % cin_g, co]``: each output position's gradient
goes back, through the filters, to the window it read (entries landing on padding
are dropped).  The N-d form is :func:`conv_backprop_input`.

Parameters
----------
input_sizes : sequence of int
    The forward input's shape ``{xs}`` in ``data_format`` order, or its spatial
    size{"s" if n > 1 else ""}.
filters : array_like, shape ``{ws}``
    The forward filters.
out_backprop : array_like, shape ``{ys}`` (or channels-first)
    ``dL/dout``, the forward output's shape.'''
        returns = "ndarray, shape ``input_sizes``"
        notes = ("The adjoint of the forward op: ``sum(conv(x, w) * g) == sum(x * dx)`` for "
                 "every\n``x``; checked against TensorFlow, PyTorch and finite differences.")
    elif what == "filter":
        head = f'''\
``dw[t..., ci, co] = sum_{{n, o}} padded[n, o*s + t*d ..., g*cin_g + ci] * g[n, o..., co]``:
the patch matrix (:func:`numconv.im2col`) transposed, times the output gradient.  The
N-d form is :func:`conv_backprop_filter`.

Parameters
----------
input : array_like, shape ``{xs}`` (or channels-first)
    The forward input.
filter_sizes : sequence of int
    ``{ws}``, the forward filters' shape.
out_backprop : array_like, shape ``{ys}`` (or channels-first)
    ``dL/dout``, the forward output's shape.'''
        returns = "ndarray, shape ``filter_sizes``"
        notes = "Checked against TensorFlow's gradients, PyTorch's autograd and finite differences."
    else:
        head = f'''\
The input gradient of the forward convolution used as a forward op:
``conv{n}d_transpose(y, w, x_shape, ...) == conv{n}d_backprop_input(x_shape, w, y, ...)``.
Each input position scatters ``input[o] @ w.T`` onto an output window starting
``stride`` apart: the output is upsampled.  The N-d form is :func:`conv_transpose`.

Parameters
----------
input : array_like, shape ``(N, {outs}, C_in)`` (or channels-first)
filters : array_like, shape ``({window}, C_out / groups, C_in)``
    TF's layout for transposed convolution: the filters of the forward convolution
    that maps the output back to the input.
output_shape : sequence of int
    ``(N, *out_spatial, C_out)`` in ``data_format`` order, or the spatial sizes;
    several sizes map to one input size, so it must be given.'''
        returns = "ndarray, shape ``output_shape``"
        notes = ("TF names a size mismatch \"Size of out_backprop doesn't match computed\"; "
                 "numconv\ngives the expected input size.")
    precision = "" if what == "filter" else "\n" + DOCS["grad_precision"]
    return f'''\
{head}
{DOCS["forward_args"]}
{layout}{precision}

Returns
-------
{returns}
    Float dtypes promote as the forward op does; integers are exact in int64.

{DOCS["grad_raises"]}

Notes
-----
{notes}'''


for _kind in ("max", "avg"):
    DOCS[f"{_kind}_pool"] = _pool_block(_kind, None)
for _n in (1, 2, 3):
    for _kind in ("max", "avg"):
        DOCS[f"{_kind}_pool{_n}d"] = _pool_block(_kind, _n)
    for _what, _name in (("input", "backprop_input"), ("filter", "backprop_filter"),
                         ("transpose", "transpose")):
        DOCS[f"conv{_n}d_{_name}"] = _grad_block(_what, _n)

_GLOBAL = '''\
Parameters
----------
input : array_like, shape ``(N, *spatial, C)`` or ``(N, C, *spatial)``
    Rank 3 to 5; the spatial dims must not be empty.
data_format : str, optional
    Channels-last by default, or a rank-specific name (``"NCHW"``).
    {formats}
keepdims : bool
    Keep the spatial dims, each of size 1.

Returns
-------
ndarray, shape ``(N, C)``, or the input's rank with spatial dims of 1 if ``keepdims``
    {dtype}

Raises
------
TypeError
    For an input that is not a real numeric array, or a ``keepdims`` that is not a bool.
ValueError
    For a rank outside 3 to 5, or empty spatial dims.

Notes
-----
The same as :func:`{op}` with a window covering the whole input, VALID.'''
DOCS["global_max_pool"] = _GLOBAL.format(op="max_pool", dtype="The input's dtype.",
                                         formats=DOCS["keras_formats"])
DOCS["global_avg_pool"] = _GLOBAL.format(op="avg_pool", formats=DOCS["keras_formats"],
                                         dtype=DOCS["avg_dtype"].replace("\n", "\n    "))
