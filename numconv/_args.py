"""Argument validation and normalisation: every user-facing error message lives here.

Public functions call these helpers once, at the boundary, and hand canonical
values (plain ints, tuples, "SAME"/"VALID" or explicit ``(before, after)`` pairs,
a :class:`~numconv.layout.Layout`) to the compute code, which never re-checks.

Messages follow one pattern: ``"<function>: <argument> <rule>, got <value>"``;
TypeError for a wrong type, ValueError for a wrong value or shape.
"""

from __future__ import annotations

import operator
from typing import Any, NoReturn, Sequence, Union

import numpy as np

from .layout import DATA_FORMATS, Layout

PaddingSpec = Union[str, int, Sequence[int], Sequence[Sequence[int]]]
#: canonical padding: "SAME", "VALID" or one (before, after) pair per spatial dim
Padding = Union[str, tuple[tuple[int, int], ...]]


def _show(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def fail(fn: str, arg: str, rule: str, got: Any, *, shown: str | None = None) -> NoReturn:
    """Raise ValueError ``"fn: arg rule, got value"``."""
    raise ValueError(f"{fn}: {arg} {rule}, got {shown if shown is not None else _show(got)}")


def type_fail(fn: str, arg: str, rule: str, got: Any, *, shown: str | None = None) -> NoReturn:
    """Raise TypeError ``"fn: arg rule, got <type name> value"``."""
    raise TypeError(f"{fn}: {arg} {rule}, got "
                    f"{shown if shown is not None else type(got).__name__ + ' ' + _show(got)}")


# --------------------------------------------------------------------------- arrays

def array(fn: str, arg: str, x: Any) -> np.ndarray:
    """Convert an array-like to a real numeric ndarray without copying when possible.

    Bool, integer and floating dtypes are accepted; complex, object, string and
    datetime arrays are a TypeError.
    """
    if isinstance(x, (str, bytes)) or x is None:
        type_fail(fn, arg, "must be a real numeric array", x)
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:  # ragged nested lists and the like
        raise TypeError(f"{fn}: {arg} must be a real numeric array, "
                        f"got {type(x).__name__} that NumPy cannot convert ({exc})") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: {arg} must be a real numeric array (bool, integer or float), "
                        f"got dtype {arr.dtype}")
    if not arr.dtype.isnative:  # byte-swapped data: BLAS and ufunc dtype= need native order
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr


def check_rank(fn: str, arg: str, x: np.ndarray, rank: int, what: str = "") -> None:
    """Require ``x.ndim == rank``."""
    if x.ndim != rank:
        fail(fn, arg, f"must have rank {rank}{' ' + what if what else ''}", None,
             shown=f"shape {x.shape} (rank {x.ndim})")


def spatial_rank(fn: str, arg: str, x: np.ndarray, extra: int) -> int:
    """Number of spatial dims of an array with ``extra`` non-spatial axes; must be 1..3."""
    n = x.ndim - extra
    if not 1 <= n <= 3:
        fail(fn, arg, f"must have rank {extra + 1} to {extra + 3} (1 to 3 spatial dims)", None,
             shown=f"shape {x.shape} (rank {x.ndim})")
    return n


# --------------------------------------------------------------------------- integers

def integer(fn: str, arg: str, value: Any, minimum: int | None = 1) -> int:
    """A plain Python int (bools and floats refused) of at least ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        if isinstance(value, str):
            type_fail(fn, arg, "must be an integer, not a string", value)
        type_fail(fn, arg, "must be an integer", value)
    v = operator.index(value)
    if minimum is not None and v < minimum:
        rule = "must be positive" if minimum == 1 else f"must be >= {minimum}"
        fail(fn, arg, rule, v)
    return v


def int_tuple(fn: str, arg: str, value: Any, n: int, *, minimum: int = 1,
              layout: Layout | None = None) -> tuple[int, ...]:
    """Normalise "int or sequence" to ``n`` ints, TF style.

    Accepts an int, a sequence of length 1 (broadcast), of length ``n``, or, when a
    layout is given, of length ``n + 2`` with 1 at the batch and channel positions
    (``strides=[1, 2, 2, 1]``).
    """
    plural = "s" if n > 1 else ""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        values = [value] * n
    elif isinstance(value, (str, bytes)) or not _is_sequence(value):
        type_fail(fn, arg, f"must be an int or a sequence of {n} int{plural}", value)
    else:
        values = list(value)
        if len(values) == 1:
            values = values * n
        elif len(values) == n + 2 and layout is not None:
            full = [integer(fn, arg, v, minimum=None) for v in values]
            if full[0] != 1 or full[layout.channel_axis] != 1:
                fail(fn, arg, f"in its {n + 2}-element form ({layout.name}) must be 1 at the "
                     "batch and channel positions", value)
            values = [full[a] for a in layout.spatial_axes]
        elif len(values) != n:
            allowed = (f"1 or {n}" if n > 1 else "1") + (f" or {n + 2}" if layout is not None
                                                          else "")
            fail(fn, arg, f"must have {allowed} elements for {n} spatial dim{plural}", value)
    out = []
    for v in values:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            type_fail(fn, arg, f"must contain only integers (element {v!r})", value)
        out.append(operator.index(v))
    if any(v < minimum for v in out):
        rule = "must be positive integers" if minimum == 1 else f"must be integers >= {minimum}"
        fail(fn, arg, rule, tuple(out))
    return tuple(out)


def _is_sequence(value: Any) -> bool:
    if isinstance(value, np.ndarray):
        return value.ndim == 1
    return isinstance(value, (list, tuple, range))


# --------------------------------------------------------------------------- layout

def data_format(fn: str, value: Any, n: int | None, default_channels_last: bool = True,
                arg: str = "data_format") -> Layout:
    """Resolve a TF data_format string (or Keras ``channels_last``/``channels_first``).

    ``n`` is the number of spatial dims the op works on; ``None`` means "take it from
    the string" (the caller then checks the input's rank).
    """
    if value is None:
        if n is None:
            raise AssertionError("data_format None needs n")
        return Layout(n, default_channels_last)
    if not isinstance(value, str):
        type_fail(fn, arg, "must be a string such as 'NHWC' or 'NCHW'", value)
    key = value.strip()
    if key.lower() in ("channels_last", "channels_first"):
        if n is None:
            fail(fn, arg, "needs a rank-specific name here (e.g. 'NHWC')", value)
        return Layout(n, key.lower() == "channels_last")
    key = key.upper()
    if key not in DATA_FORMATS:
        fail(fn, arg, "must be one of " + ", ".join(sorted(DATA_FORMATS))
             + ", 'channels_last' or 'channels_first'", value)
    dims, last = DATA_FORMATS[key]
    if n is not None and dims != n:
        expected = [k for k, (d, _) in DATA_FORMATS.items() if d == n]
        fail(fn, arg, f"must describe {n} spatial dim{'s' if n > 1 else ''} "
             f"({' or '.join(expected)}) here", value)
    return Layout(dims, last)


def rank_range(fn: str, arg: str, x: np.ndarray, low: int, high: int | None,
               what: str = "") -> None:
    """Require ``low <= x.ndim <= high`` (``high`` None: no upper bound)."""
    if x.ndim < low or (high is not None and x.ndim > high):
        rule = (f"must have rank {low}" if low == high else f"must have rank >= {low}"
                if high is None else f"must have rank {low} to {high}")
        fail(fn, arg, rule + (f" ({what})" if what else ""), None,
             shown=f"shape {x.shape} (rank {x.ndim})")


def check_input_rank(fn: str, arg: str, x: np.ndarray, layout: Layout) -> None:
    """Require an input of rank ``layout.rank`` (batch, spatial dims, channels)."""
    if x.ndim != layout.rank:
        fail(fn, arg, f"must have rank {layout.rank} ({layout.name}: batch, "
             f"{layout.n_spatial} spatial dim{'s' if layout.n_spatial > 1 else ''}, channels)",
             None, shown=f"shape {x.shape} (rank {x.ndim})")


# --------------------------------------------------------------------------- padding

def padding(fn: str, value: Any, n: int, layout: Layout | None = None,
            arg: str = "padding") -> Padding:
    """Normalise a padding spec to "SAME", "VALID" or ``n`` explicit (before, after) pairs.

    Accepted: "SAME"/"VALID" (any case); an int ``p`` (PyTorch's symmetric ``p`` on every
    dim); ``n`` ints (symmetric per dim); ``n`` pairs; or TF's full form of ``n + 2``
    pairs (``[[0, 0], [t, b], [l, r], [0, 0]]`` for NHWC) whose batch and channel pairs
    are zero.
    """
    if isinstance(value, str):
        key = value.strip().upper()
        if key not in ("SAME", "VALID"):
            fail(fn, arg, "must be 'SAME', 'VALID', an int or explicit (before, after) pairs",
                 value)
        return key
    if isinstance(value, (bool, np.bool_)) or value is None:
        type_fail(fn, arg, "must be 'SAME', 'VALID', an int or explicit (before, after) pairs",
                  value)
    if isinstance(value, (int, np.integer)):
        p = integer(fn, arg, value, minimum=0)
        return tuple((p, p) for _ in range(n))
    if not _is_sequence(value) and not (isinstance(value, np.ndarray) and value.ndim == 2):
        type_fail(fn, arg, "must be 'SAME', 'VALID', an int or explicit (before, after) pairs",
                  value)
    items = list(value)
    if items and all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
                     for v in items):
        if len(items) != n:
            fail(fn, arg, f"as a sequence of ints must have {n} element{'s' if n > 1 else ''} "
                 "(symmetric padding per spatial dim)", value)
        pairs = [(v, v) for v in items]
    else:
        pairs = []
        for item in items:
            if not _is_sequence(item) or len(item) != 2:
                fail(fn, arg, "must be a sequence of (before, after) pairs", value)
            pairs.append(tuple(item))
        if len(pairs) == n + 2:
            lay = layout if layout is not None else Layout(n, True)
            extra = (0, lay.channel_axis)
            if any(tuple(pairs[a]) != (0, 0) for a in extra):
                fail(fn, arg, f"in TF's {n + 2}-pair form ({lay.name}) must be [0, 0] at the "
                     "batch and channel positions", value)
            pairs = [pairs[a] for a in lay.spatial_axes]
        elif len(pairs) != n:
            fail(fn, arg, f"must have {n} (before, after) pairs (or {n + 2} in TF's form with "
                 "batch and channel pairs)", value)
    out = []
    for pair in pairs:
        for v in pair:
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
                type_fail(fn, arg, f"pads must be integers (element {v!r})", value)
        b, a = (operator.index(v) for v in pair)
        if b < 0 or a < 0:
            fail(fn, arg, "pads must be non-negative", value)
        out.append((b, a))
    return tuple(out)


def ceil_mode(fn: str, value: Any, pad: Padding) -> bool:
    """PyTorch's ``ceil_mode`` flag; refused with SAME, which already rounds up."""
    on = flag(fn, "ceil_mode", value)
    if on and pad == "SAME":
        fail(fn, "ceil_mode", "cannot be combined with padding='SAME' (SAME already rounds "
             "up: out = ceil(in / stride))", value)
    return on


def relu_options(fn: str, max_value: Any, negative_slope: Any,
                 threshold: Any) -> tuple[float | None, float, float]:
    """Keras ReLU's ``(max_value, negative_slope, threshold)``, validated by Keras's rules."""
    top = number(fn, "max_value", max_value, allow_none=True)
    slope = number(fn, "negative_slope", negative_slope)
    thr = number(fn, "threshold", threshold)
    if top is not None and top < 0:
        fail(fn, "max_value", "must be non-negative (Keras's rule)", max_value)
    if slope < 0:
        fail(fn, "negative_slope", "must be non-negative (Keras's rule)", negative_slope)
    return top, slope, thr


def flag(fn: str, arg: str, value: Any) -> bool:
    """A bool argument (Python or NumPy bool)."""
    if not isinstance(value, (bool, np.bool_)):
        type_fail(fn, arg, "must be True or False", value)
    return bool(value)


def choice(fn: str, arg: str, value: Any, options: Sequence[str]) -> str:
    """A string from ``options`` (matched case-insensitively); returns the canonical spelling."""
    if not isinstance(value, str):
        type_fail(fn, arg, "must be one of " + ", ".join(repr(o) for o in options), value)
    for option in options:
        if value.strip().lower() == option.lower():
            return option
    fail(fn, arg, "must be one of " + ", ".join(repr(o) for o in options), value)


def number(fn: str, arg: str, value: Any, *, allow_none: bool = False) -> float | None:
    """A real, finite number (int or float; bools refused)."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                      np.floating)):
        type_fail(fn, arg, "must be a real number", value)
    v = float(value)
    if not np.isfinite(v):
        fail(fn, arg, "must be finite", value)
    return v


# --------------------------------------------------------------------------- convolution

def filters(fn: str, arg: str, w: np.ndarray, n: int) -> None:
    """Filters of shape ``(*window, in_channels/groups, out_channels)``, window dims > 0."""
    if w.ndim != n + 2:
        fail(fn, arg, f"must have rank {n + 2} (*window, in_channels/groups, out_channels)",
             None, shown=f"shape {w.shape} (rank {w.ndim})")
    if any(k < 1 for k in w.shape[:n]):
        fail(fn, arg, "window dims must be positive", None, shown=f"shape {w.shape}")
    if w.shape[n] < 1:
        fail(fn, arg, "in_channels (axis -2) must be positive", None, shown=f"shape {w.shape}")


def groups(fn: str, in_channels: int, filter_in: int, filter_out: int, arg: str = "filters",
           input_arg: str = "input") -> int:
    """Group count ``in_channels / filter_in`` (TF's rule); ``filter_out`` must divide by it.

    ``input_arg`` names the argument the channels come from (``input_sizes`` for a
    gradient given the input's shape).
    """
    if in_channels < 1:
        fail(fn, input_arg, "must have at least one channel", None,
             shown=f"{in_channels} channels")
    if in_channels % filter_in:
        fail(fn, input_arg, f"channels must be a multiple of the {arg}' in_channels "
             f"({filter_in}, axis -2 of {arg})", None, shown=f"{in_channels} channels")
    g = in_channels // filter_in
    if filter_out % g:
        fail(fn, arg, f"out_channels must be a multiple of the group count {g} "
             f"(input channels {in_channels} / {arg} in_channels {filter_in})", None,
             shown=f"{filter_out} out_channels")
    return g


def bias(fn: str, value: Any, channels: int) -> np.ndarray | None:
    """A bias vector of length ``channels`` (or None)."""
    if value is None:
        return None
    b = array(fn, "bias", value)
    if b.shape != (channels,):
        fail(fn, "bias", f"must have shape ({channels},) (one value per output channel)", None,
             shown=f"shape {b.shape}")
    return b


# --------------------------------------------------------------------------- figures (viz)

def kernel2d(fn: str, arg: str, value: Any) -> np.ndarray:
    """A non-empty, finite 2-D kernel; trailing unit axes (HWIO ``(kh, kw, 1, 1)``) dropped."""
    k = array(fn, arg, value)
    if k.ndim > 2 and all(d == 1 for d in k.shape[2:]):
        k = k.reshape(k.shape[:2])
    if k.ndim != 2 or k.size == 0:
        fail(fn, arg, "must be a non-empty 2-D array (rows, cols)", None,
             shown=f"shape {k.shape}")
    if k.dtype.kind == "f" and not np.isfinite(k).all():
        fail(fn, arg, "must be finite", None, shown="an array containing NaN or inf")
    return k


def batch_image(fn: str, arg: str, value: Any, single_channel: bool = False) -> np.ndarray:
    """An image as one NHWC batch item: (H, W), (H, W, C) or (1, H, W, C) -> (1, H, W, C)."""
    x = array(fn, arg, value)
    x = x.reshape((1,) + x.shape + (1,)) if x.ndim == 2 else x[None] if x.ndim == 3 else x
    if x.ndim != 4 or x.shape[0] != 1 or 0 in x.shape or (single_channel and x.shape[3] != 1):
        rule = (f"must be {'a single-channel' if single_channel else 'one non-empty'} image: "
                f"(H, W){'' if single_channel else ', (H, W, C)'}, (H, W, 1) or (1, H, W, "
                f"{'1' if single_channel else 'C'})")
        fail(fn, arg, rule, None, shown=f"shape {np.shape(value)}")
    return x


def grid_position(fn: str, arg: str, value: Any, shape: tuple[int, int]) -> tuple[int, int]:
    """A (row, col) pair with ``0 <= row < shape[0]`` and ``0 <= col < shape[1]``."""
    i, j = int_tuple(fn, arg, value, 2, minimum=0)
    if i >= shape[0] or j >= shape[1]:
        fail(fn, arg, f"must be a (row, col) window position inside the {shape[0]}x{shape[1]} "
             "output grid", (i, j))
    return i, j


def positive_number(fn: str, arg: str, value: Any, maximum: float | None = None) -> float:
    """A real, finite number > 0 (and at most ``maximum``, if given)."""
    v = number(fn, arg, value)
    if v <= 0:
        fail(fn, arg, "must be positive", value)
    if maximum is not None and v > maximum:
        fail(fn, arg, f"must be at most {maximum:g}", value)
    return v


def number_range(fn: str, arg: str, value: Any, low: float, high: float,
                 unit: str = "") -> float:
    """A real, finite number in ``[low, high]``."""
    v = number(fn, arg, value)
    if not low <= v <= high:
        fail(fn, arg, f"must lie in [{low:g}, {high:g}]{' ' + unit if unit else ''}", value)
    return v


#: the largest figure the viz functions draw: inches a side and square inches (at
#: matplotlib's 100 dpi, 10000 pixels a side and 25 megapixels: 100 MB of RGBA)
FIGURE_INCHES, FIGURE_AREA = 100.0, 2500.0


def figure_size(fn: str, args: str, width: float, height: float) -> None:
    """Refuse a figure larger than :data:`FIGURE_INCHES` a side or :data:`FIGURE_AREA`;
    ``args`` names the arguments that decide its size."""
    if not (width <= FIGURE_INCHES and height <= FIGURE_INCHES
            and width * height <= FIGURE_AREA):
        fail(fn, args, f"must give a figure of at most {FIGURE_INCHES:g} inches a side and "
             f"{FIGURE_AREA:g} square inches", None,
             shown=f"{width:.4g} x {height:.4g} inches")


def pool_windows(fn: str, spatial: tuple[int, int], windows: Any, strides: Any, pad_spec: Any,
                 panel: float) -> tuple[list[tuple[int, ...]], tuple[int, ...], Padding]:
    """A figure's pooling windows (a non-empty list, each fitting the padded ``spatial``
    map), strides and padding; one ``panel``-inch panel per window fits a figure."""
    from .padding import resolve
    if not isinstance(windows, (list, tuple)) or not windows:
        type_fail(fn, "windows", "must be a non-empty list of window sizes", windows)
    s, pads = int_tuple(fn, "strides", strides, 2), padding(fn, pad_spec, 2)
    sizes = [int_tuple(fn, "windows", w, 2) for w in windows]
    figure_size(fn, "windows", panel * (len(sizes) + 1), 1.0)     # before any pooling
    for k in sizes:
        if 0 in resolve(spatial, k, s, (1, 1), pads).out_shape:
            fail(fn, "windows", f"must each fit in the padded {spatial[0]}x{spatial[1]} map", k)
    return sizes, s, pads


def patch_figure(fn: str, spatial: tuple[int, int], window: Any, stride: Any,
                 pad_spec: Any) -> tuple[tuple[int, ...], tuple[int, ...], Padding, Any]:
    """show_im2col's window, stride, padding and resolved geometry: a window that fits the
    padded image, a float64 patch matrix and padded image within the memory limit."""
    import math

    from .padding import resolve
    k, s = int_tuple(fn, "window", window, 2), int_tuple(fn, "stride", stride, 2)
    pads = padding(fn, pad_spec, 2)
    geometry = resolve(spatial, k, s, (1, 1), pads)
    if 0 in geometry.out_shape:
        fail(fn, "window", f"must fit in the padded {spatial[0]}x{spatial[1]} image", k)
    memory(fn, "image, window, stride and padding", {
        "patch matrix": math.prod(geometry.out_shape) * k[0] * k[1] * 8,
        "padded image": math.prod(d.padded_size for d in geometry.dims) * 8})
    return k, s, pads, geometry


def stage_list(fn: str, arg: str, value: Any) -> list[tuple[str, np.ndarray]]:
    """A non-empty list or tuple of ``(name, image)`` pairs; images as :func:`batch_image`."""
    rule = "must be a list of (name, array) pairs with str names"
    if not isinstance(value, (list, tuple)):
        type_fail(fn, arg, rule, value)
    if not value:
        fail(fn, arg, "must hold at least one (name, array) pair", value)
    out = []
    for item in value:
        if not isinstance(item, (list, tuple)) or len(item) != 2 or \
                not isinstance(item[0], str):
            type_fail(fn, arg, rule, None, shown=f"an item {_show(item)}")
        out.append((item[0], batch_image(fn, arg, item[1])))
    return out


def names(fn: str, arg: str, value: Any) -> tuple[str, ...]:
    """Names: one str, or a list, tuple or set of str."""
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, (list, tuple, set, frozenset)) or \
            not all(isinstance(v, str) for v in value):
        type_fail(fn, arg, "must be a str or a list of str", value)
    return tuple(value)


def instance(fn: str, arg: str, value: Any, cls: type | tuple[type, ...], what: str) -> Any:
    """Require ``isinstance(value, cls)``; ``what`` names the expected type in the message."""
    if not isinstance(value, cls):
        type_fail(fn, arg, f"must be {what}", value)
    return value


# --------------------------------------------------------------------------- gradients

def shape_spec(fn: str, arg: str, value: Any, layout: Layout, batch: int,
               channels: int) -> tuple[int, ...]:
    """A full array shape in ``layout`` order from ``n`` or ``n + 2`` non-negative ints.

    The ``n``-element form (spatial sizes only, as TF's ``input_sizes``) takes the batch
    and channels given.
    """
    n = layout.n_spatial
    rule = f"must be a sequence of {n} or {n + 2} non-negative integers ({layout.name})"
    if isinstance(value, (str, bytes)) or not _is_sequence(value):
        type_fail(fn, arg, rule, value)
    items = list(value)
    for v in items:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            type_fail(fn, arg, rule, value)
    sizes = tuple(operator.index(v) for v in items)
    if len(sizes) not in (n, n + 2) or any(v < 0 for v in sizes):
        fail(fn, arg, rule, sizes)
    if len(sizes) == n:
        return tuple(layout.full_index(sizes, batch, channels))
    return sizes


def grad_shape(fn: str, arg: str, got: tuple[int, ...], expected: tuple[int, ...],
               why: str) -> None:
    """Require ``got == expected``; ``why`` says where the expected shape comes from."""
    if tuple(got) != tuple(expected):
        fail(fn, arg, f"must have shape {tuple(expected)} ({why})", None,
             shown=f"shape {tuple(got)}")


def transpose_output(fn: str, output_shape: tuple[int, ...], detail: str) -> NoReturn:
    """TF's refusal of an ``output_shape`` the forward formula cannot map to the input."""
    fail(fn, "output_shape", "must map to the input's spatial size by the forward formula "
         f"({detail})", output_shape)


def same_shape(fn: str, arg: str, a: np.ndarray, other: str, b: np.ndarray) -> None:
    """Require two arrays of one shape (elementwise gradients)."""
    if a.shape != b.shape:
        fail(fn, arg, f"must have the shape of {other} {b.shape}", None,
             shown=f"shape {a.shape}")


def indices(fn: str, arg: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """An integer index array of the given shape."""
    idx = array(fn, arg, value)
    if idx.dtype.kind not in "iu":
        type_fail(fn, arg, "must be an integer array", idx)
    if idx.shape != shape:
        fail(fn, arg, f"must have the input's shape {shape}", None, shown=f"shape {idx.shape}")
    return idx


def index_range(fn: str, arg: str, idx: np.ndarray, limit: int, what: str) -> None:
    """Require ``-1 <= idx < limit`` (-1: a window with no input element)."""
    if idx.size and (idx.min() < -1 or idx.max() >= limit):
        fail(fn, arg, f"must lie in [0, {limit}) ({what}) or be -1", None,
             shown=f"values in [{idx.min()}, {idx.max()}]")


def registered(fn: str, arg: str, value: Any, known: Any) -> None:
    """Require a function with a registered gradient."""
    if not any(value is k for k in known):
        type_fail(fn, arg, "must be a numconv op with a registered gradient "
                  "(see numconv.autodiff.GRADIENTS)", value)


# --------------------------------------------------------------------------- images, kernels

def file_path(fn: str, arg: str, value: Any) -> Any:
    """An existing file given as ``str`` or ``os.PathLike``; returns a ``pathlib.Path``.

    FileNotFoundError if it does not exist, IsADirectoryError for a directory.
    """
    import os
    import pathlib
    if isinstance(value, (bytes, bool)) or not isinstance(value, (str, os.PathLike)):
        type_fail(fn, arg, "must be a file path (str or os.PathLike)", value)
    path = pathlib.Path(value)
    if path.is_dir():
        raise IsADirectoryError(f"{fn}: {arg} must be an image file, not a directory, "
                                f"got {str(path)!r}")
    if not path.exists():
        raise FileNotFoundError(f"{fn}: {arg} must be an existing file, got {str(path)!r} "
                                "(no such file)")
    return path


def unreadable_file(fn: str, arg: str, path: Any, exc: OSError) -> NoReturn:
    """Re-raise an OSError from opening ``path`` with the function and argument named."""
    reason = exc.strerror or type(exc).__name__
    raise type(exc)(f"{fn}: {arg} must be a readable file ({reason}), got {str(path)!r}") from None


def undecodable_image(fn: str, arg: str, path: Any, reason: str) -> NoReturn:
    """ValueError for an empty, truncated, corrupt or unsupported image file."""
    raise ValueError(f"{fn}: {arg} must be a complete JPEG or PNG file that can be decoded "
                     f"({reason}), got {str(path)!r}") from None


def image_channels(fn: str, value: Any) -> int:
    """TF's ``channels``: None or 0 (keep the file's), 1 (grayscale) or 3 (RGB); returns 0/1/3."""
    if value is None:
        return 0
    rule = "must be None (or 0: the file's channels), 1 (grayscale) or 3 (RGB)"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        type_fail(fn, "channels", rule, value)
    if int(value) not in (0, 1, 3):
        fail(fn, "channels", rule, value)
    return int(value)


def float_image(fn: str, arg: str, value: Any, channels_axis: int = -1,
                channels: int | None = None) -> np.ndarray:
    """A floating-point array, optionally with ``channels`` entries on ``channels_axis``."""
    x = array(fn, arg, value)
    if x.dtype.kind != "f":
        type_fail(fn, arg, "must be a floating-point array (convert integer images to float "
                  "first, e.g. with read_image's scaling to [0, 1])", x)
    if channels is not None and (x.ndim == 0 or x.shape[channels_axis] != channels):
        fail(fn, arg, f"must have {channels} channels on its last axis", None,
             shown=f"shape {x.shape}")
    return x


def unbatched_image(fn: str, arg: str, value: Any) -> np.ndarray:
    """An image of shape (H, W) or (H, W, C) (not yet a batch)."""
    x = array(fn, arg, value)
    if x.ndim not in (2, 3):
        fail(fn, arg, "must be an image of shape (H, W) or (H, W, C)", None,
             shown=f"shape {x.shape} (rank {x.ndim})")
    return x


def kernel_name(fn: str, arg: str, value: Any, known: Any) -> np.ndarray:
    """Look a kernel name up in ``known`` (case-insensitive, '-' or ' ' for '_')."""
    names = ", ".join(repr(k) for k in known)
    if not isinstance(value, str):
        type_fail(fn, arg, f"must be a kernel name, one of {names}", value)
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    if key not in known:
        fail(fn, arg, f"must be a kernel name, one of {names}", value)
    return known[key]


def activation(fn: str, value: Any, options: Sequence[str]) -> str | None:
    """An activation name from ``options`` or None (also spelled 'none' or 'linear')."""
    if value is None:
        return None
    rule = "must be None or one of " + ", ".join(repr(o) for o in options)
    if not isinstance(value, str):
        type_fail(fn, "activation", rule, value)
    key = value.strip().lower()
    if key in ("none", "linear"):
        return None
    for option in options:
        if key == option.lower():
            return option
    fail(fn, "activation", rule, value)


# --------------------------------------------------------------------------- memory

def show_bytes(nbytes: int) -> str:
    """``1536`` -> ``'1.5 KiB'``; binary units up to EiB.

    >>> show_bytes(512), show_bytes(3 * 2**40)
    ('512 B', '3.0 TiB')
    """
    value, unit = float(nbytes), "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if value < 1024 or unit == "EiB":
            break
        value /= 1024
    return f"{nbytes} B" if unit == "B" else f"{value:.1f} {unit}" if value < 1e4 else \
        f"{value:.3g} {unit}"


def memory(fn: str, args: str, parts: dict[str, int]) -> None:
    """Refuse a call whose planned allocations exceed the memory limit, before allocating.

    ``parts`` maps a name ("output", "padded input", "workspace") to its size in bytes
    (exact Python ints, so terabyte requests do not overflow); ``args`` names the
    arguments that decide those sizes.  The limit is
    :func:`numconv.config.get_memory_limit`.
    """
    from .config import get_memory_limit
    limit = get_memory_limit()
    total = sum(parts.values())
    if total > limit:
        detail = ", ".join(f"{name} {show_bytes(v)}" for name, v in parts.items() if v)
        fail(fn, args, f"must keep the memory this call needs under the limit of "
             f"{show_bytes(limit)} (numconv.config.memory_limit)", None,
             shown=f"{show_bytes(total)} ({detail})")


def window_memory(fn: str, args: str, batch: int, channels: int, geometry: Any,
                  in_itemsize: int, out_channels: int, out_itemsize: int,
                  per_position: int = 0) -> None:
    """:func:`memory` for a windowed op: output, padded input copy and chunked workspace.

    ``geometry`` is a resolved :class:`~numconv.padding.Geometry`; the padded copy is
    counted when it pads (``windows.pad`` allocates the whole padded input); the
    workspace of ``per_position`` bytes per output position is chunked under the
    workspace bound, but one chunk holds at least one row of the first spatial dim.
    """
    import math

    from .config import get_workspace_limit
    out_shape = tuple(d.out_size for d in geometry.dims)
    positions = batch * math.prod(out_shape)

    def nominal(dims: tuple[int, ...]) -> int:
        # zero dims count as 1: an empty result of (0, 10**9, 10**9) is refused too,
        # as NumPy cannot even describe it
        return math.prod(max(v, 1) for v in dims)

    parts = {"output": nominal((batch, *out_shape, out_channels)) * out_itemsize}
    if any(d.pad_before or d.pad_after for d in geometry.dims):
        parts["padded input"] = nominal((batch, *(d.padded_size for d in geometry.dims),
                                         channels)) * in_itemsize
    if per_position and positions:
        row = math.prod(out_shape[1:]) * per_position
        parts["workspace"] = min(positions * per_position, max(get_workspace_limit(), row))
    memory(fn, args, parts)


# --------------------------------------------------------------------------- dask inputs

def dask_array(fn: str, arg: str, x: Any, array_type: type) -> Any:
    """A dask array (``array_type`` is ``dask.array.Array``, passed in by numconv.dask)
    of a real numeric dtype with known chunk sizes; returned unchanged."""
    if not isinstance(x, array_type):
        type_fail(fn, arg, "must be a dask array (wrap NumPy data with "
                  "dask.array.from_array(x, chunks=...))", x)
    array(fn, arg, np.empty(0, dtype=x.dtype))  # the dtype rule and message of NumPy inputs
    if any(c != c for sizes in x.chunks for c in sizes):  # NaN: unknown chunk size
        fail(fn, arg, "must have known chunk sizes (call x.compute_chunk_sizes() first)", None,
             shown=f"chunks {_show(x.chunks)}")
    return x


# --------------------------------------------------------------------------- non-finite values

def nan_policy(fn: str, value: Any, kind: str) -> str:
    """Max pooling's ``nan_policy``: "propagate" (NumPy, PyTorch) or "ignore" (TF's CPU)."""
    policy = choice(fn, "nan_policy", value, ("propagate", "ignore"))
    if policy == "ignore" and kind != "MAX":
        fail(fn, "nan_policy", "'ignore' applies to max pooling only (average pooling "
             "propagates NaN in every framework)", value)
    return policy


# --------------------------------------------------------------------------- algorithms

def algorithm_fits(fn: str, name: str, rule: str | None, window: tuple[int, ...]) -> None:
    """Refuse an explicitly requested algorithm that cannot run this geometry."""
    if rule is not None:
        fail(fn, "algorithm", f"{name!r} {rule}", None,
             shown=f"{name!r} with window {tuple(window)}")


# --------------------------------------------------------------------------- crosscheck, layers

def float_dtype(fn: str, arg: str, value: Any) -> np.dtype:
    """float16, float32 or float64 (a dtype, its name or the scalar type)."""
    rule = "must be float16, float32 or float64"
    try:
        dt = np.dtype(value)
    except TypeError:
        type_fail(fn, arg, rule, value)
    except Exception:  # noqa: BLE001  (NumPy's dtype-string parser: ValueError, SyntaxError)
        fail(fn, arg, rule, value)
    if dt.name not in ("float16", "float32", "float64"):
        fail(fn, arg, rule, value)
    return dt


def shape_arg(fn: str, arg: str, value: Any, minimum: int = 0) -> tuple[int, ...]:
    """A shape from ints or text such as ``"8x56x56x64"``; every size >= ``minimum``."""
    rule = "must be a shape: integers, as a sequence or joined by 'x' (such as 8x56x56x64)"
    if isinstance(value, str):
        parts = value.lower().replace(",", "x").split("x")
        if not all(p.strip().isdigit() for p in parts):
            fail(fn, arg, rule, value)
        value = [int(p) for p in parts]
    if not _is_sequence(value) or not len(value):
        type_fail(fn, arg, rule, value)
    for v in value:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            type_fail(fn, arg, rule, value)
    shape = tuple(operator.index(v) for v in value)
    if any(v < minimum for v in shape):
        fail(fn, arg, f"sizes must be >= {minimum}", shape)
    return shape


def only_for(fn: str, arg: str, value: Any, default: Any, what: str) -> None:
    """Refuse an option given a non-default value for an op it does not apply to."""
    if value is not default and value != default:
        fail(fn, arg, f"applies to {what} only", value)


def framework_names(fn: str, arg: str, value: Any, aliases: dict[str, str]) -> tuple[str, ...]:
    """Framework names from ``"tf,torch"`` or a sequence; ``aliases`` maps spellings to names."""
    known = ", ".join(sorted(set(aliases.values())))
    if isinstance(value, str):
        items = [v for v in value.replace(" ", ",").split(",") if v]
    elif _is_sequence(value) and all(isinstance(v, str) for v in value):
        items = list(value)
    else:
        type_fail(fn, arg, f"must be framework names ({known}), comma-separated or a list",
                  value)
    if not items:
        fail(fn, arg, f"must name at least one framework ({known})", value)
    out: list[str] = []
    for item in items:
        name = aliases.get(item.strip().lower())
        if name is None:
            fail(fn, arg, f"must name frameworks among {known}", value)
        if name not in out:
            out.append(name)
    return tuple(out)


def port_spec(fn: str, value: Any, aliases: dict[str, str]) -> tuple[str, str]:
    """``"tf->torch"`` (or ``"tf:torch"``) -> ``("tf", "torch")``: two different frameworks."""
    if not isinstance(value, str):
        type_fail(fn, "port", "must be a string such as 'tf->torch'", value)
    parts = value.replace(" ", "").lower().replace(":", "->").split("->")
    names = [aliases.get(p) for p in parts]
    if len(parts) != 2 or None in names:
        known = ", ".join(sorted(set(aliases.values())))
        fail(fn, "port", f"must be SOURCE->TARGET with frameworks among {known}", value)
    if names[0] == names[1]:
        fail(fn, "port", "must name two different frameworks", value)
    return names[0], names[1]


def missing_framework(fn: str, framework: str, module: str, extra: str) -> NoReturn:
    """ModuleNotFoundError naming the extra that installs a framework."""
    raise ModuleNotFoundError(f"{fn}: {framework} is not installed (no module {module!r}); "
                              f"pip install numconv[{extra}]", name=module)


def inexpressible(fn: str, framework: str, reason: str) -> NoReturn:
    """ValueError for a configuration a framework cannot express."""
    raise ValueError(f"{fn}: {framework} cannot express this configuration: {reason}")


def unsupported_layer(fn: str, index: int, layer: Any, supported: Sequence[str]) -> NoReturn:
    """TypeError for a framework layer the converter does not support."""
    raise TypeError(f"{fn}: layer {index} must be one of {', '.join(supported)}, got "
                    f"{type(layer).__name__} {getattr(layer, 'name', '')!r}".rstrip(" '"))


def unsupported_option(fn: str, index: int, layer: Any, option: str, value: Any,
                       rule: str) -> NoReturn:
    """ValueError for a layer option the converter cannot reproduce."""
    fail(fn, f"layer {index} ({type(layer).__name__}) {option}", rule, value)


def unbuilt_model(fn: str, model: Any) -> NoReturn:
    """ValueError for a Keras model without weights yet."""
    fail(fn, "model", "must be built (give it a keras.Input or call it once) so that its "
         "weights exist", None, shown=f"an unbuilt {type(model).__name__}")


def weights_shapes(fn: str, layer: str, got: Sequence[tuple[int, ...]],
                   expected: Sequence[tuple[int, ...]]) -> None:
    """Require weight arrays of the expected shapes."""
    if [tuple(g) for g in got] != [tuple(e) for e in expected]:
        fail(fn, "weights", f"of {layer} must have shapes {[tuple(e) for e in expected]}",
             None, shown=f"shapes {[tuple(g) for g in got]}")


def model_file(fn: str, path: Any, reason: str) -> NoReturn:
    """ValueError for a file that is not a saved numconv model."""
    raise ValueError(f"{fn}: path must be a model saved by Sequential.save ({reason}), "
                     f"got {str(path)!r}")


def from_inner(fn: str, args: str, stage: str, exc: Exception) -> NoReturn:
    """Re-raise an inner op's ValueError/TypeError (e.g. a memory limit) as ``fn``'s own."""
    raise type(exc)(f"{fn}: {args} must give a computable {stage} stage ({exc})") from None


def relabel(fn: str, arg: str, rule: str, exc: Exception) -> NoReturn:
    """Re-raise a callee's ValueError/TypeError as ``"fn: arg rule (callee's message)"``."""
    raise type(exc)(f"{fn}: {arg} {rule} ({exc})") from None


def float_array(fn: str, arg: str, value: Any) -> np.ndarray:
    """A float16, float32 or float64 array (the dtypes whose bits the ULP metrics count)."""
    x = array(fn, arg, value)
    if x.dtype.name not in ("float16", "float32", "float64"):
        type_fail(fn, arg, "must be a float16, float32 or float64 array", None,
                  shown=f"dtype {x.dtype}")
    return x


def tolerance(fn: str, arg: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A per-element tolerance, float64, broadcastable to ``shape``: no negative values (NaN
    passes: the bound of a NaN input, which the caller treats as 0)."""
    t = array(fn, arg, value).astype(np.float64)
    if not _broadcasts(t.shape, shape):
        fail(fn, arg, f"must be a number or an array that fits the shape {shape} (trailing "
             "dims equal or 1)", None, shown=f"shape {t.shape}")
    if (t < 0).any():
        fail(fn, arg, "must be non-negative", None,
             shown=repr(float(t)) if t.ndim == 0 else f"minimum {np.nanmin(t)!r}")
    return np.broadcast_to(t, shape)


def _broadcasts(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    if len(shape) > len(target):
        return False
    return all(s in (1, t) for s, t in zip(shape[::-1], target[::-1]))


# --------------------------------------------------------------------------- gradients: memory

def grad_memory(fn: str, args: str, geometry: Any, batch: int, channels: int, itemsize: int,
                per_position: int = 0, extra: int = 0) -> None:
    """:func:`memory` for a backward pass that scatters onto a padded input-sized array.

    Counts that array (``batch * padded spatial * channels``), the chunked workspace of
    ``per_position`` bytes per output position (at least one output row per chunk), and
    ``extra`` bytes (outputs and masks of other shapes).
    """
    import math

    from .config import get_workspace_limit
    out_shape = tuple(d.out_size for d in geometry.dims)
    padded = (batch, *(d.padded_size for d in geometry.dims), channels)
    numpy_sized(fn, args, padded, itemsize, "padded gradient")
    numpy_sized(fn, args, (batch, *out_shape, channels), itemsize, "output positions")
    positions = batch * math.prod(out_shape)
    parts = {"padded gradient": math.prod(padded) * itemsize, "other arrays": extra}
    if per_position and positions:
        row = math.prod(out_shape[1:]) * per_position
        parts["workspace"] = min(positions * per_position, max(get_workspace_limit(), row))
    memory(fn, args, parts)


def numpy_sized(fn: str, args: str, shape: tuple[int, ...], itemsize: int, what: str) -> None:
    """Require a shape NumPy can describe: its non-zero dims times the item size < 2**63 bytes
    (NumPy refuses larger shapes even when a zero dim makes them empty)."""
    import math

    nominal = math.prod(max(v, 1) for v in shape) * max(itemsize, 1)
    if nominal >= 2**63:
        fail(fn, args, "must give arrays NumPy can describe (the product of the non-zero "
             "dims times the item size under 2**63 bytes)", None,
             shown=f"shape {tuple(shape)} for the {what}")


def bind(fn: str, target: Any, args: tuple, kwargs: dict) -> Any:
    """``inspect.signature(target).bind(*args, **kwargs)`` with defaults applied; a
    mismatch is a TypeError naming ``fn`` and the target's signature."""
    import inspect

    signature = inspect.signature(target)
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as exc:
        name = getattr(target, "__name__", "fn")
        raise TypeError(f"{fn}: args and kwargs must fit {name}{signature}, got "
                        f"{len(args)} positional and {sorted(kwargs)} keyword arguments "
                        f"({exc})") from None
    bound.apply_defaults()
    return bound
