"""The shared rules: error helpers, arrays, integers, layouts, padding, filters.

Messages follow one pattern: ``"<function>: <argument> <rule>, got <value>"``;
TypeError for a wrong type, ValueError for a wrong value or shape.
"""

from __future__ import annotations

import inspect
import operator
from typing import Any, NoReturn, Sequence, Union

import numpy as np

from ..geometry import Padding
from ..layout import DATA_FORMATS, Layout


PaddingSpec = Union[str, int, Sequence[int], Sequence[Sequence[int]]]

#: padding strings (any case) -> canonical mode: ONNX's SAME_UPPER is TF's SAME
PADDING_MODES = {"SAME": "SAME", "VALID": "VALID", "SAME_UPPER": "SAME",
                 "SAME_LOWER": "SAME_LOWER"}
_PADDING_RULE = ("must be 'SAME', 'VALID', 'SAME_LOWER', 'SAME_UPPER', an int or explicit "
                 "(before, after) pairs")


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


def data_format(fn: str, value: Any, n: int | None, default_channels_last: bool = True,
                arg: str = "data_format") -> Layout:
    """Resolve a TF data_format string (or Keras ``channels_last``/``channels_first``).

    ``n`` is the number of spatial dims the op works on; ``None`` means "take it from
    the string" (:mod:`numconv.spec` passes a rank whenever the string is None or
    Keras's, whose names do not say it).
    """
    if value is None:
        if n is None:
            raise AssertionError("data_format None needs n")
        return Layout(n, default_channels_last)
    if not isinstance(value, str):
        type_fail(fn, arg, "must be a string such as 'NHWC' or 'NCHW'", value)
    key = value.strip()
    if key.lower() in ("channels_last", "channels_first"):
        assert n is not None, "Keras's data_format names need the rank"
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
    """Require an input of rank ``layout.rank`` (batch, spatial dims, channels).

    One or two axes short, the message says how to add them: ``image[None]`` for a
    single image, ``image[None, ..., None]`` (or ``image[None, None]`` channels-first)
    for a single-channel one without its channel axis.
    """
    if x.ndim != layout.rank:
        hint = ""
        if x.ndim == layout.rank - 1:
            hint = "; a single image needs a batch axis: image[None]"
        elif x.ndim == layout.rank - 2 and x.ndim > 0:
            hint = ("; a single one-channel image needs batch and channel axes: "
                    + ("image[None, ..., None]" if layout.channels_last else "image[None, None]"))
        fail(fn, arg, f"must have rank {layout.rank} ({layout.name}: batch, "
             f"{layout.n_spatial} spatial dim{'s' if layout.n_spatial > 1 else ''}, channels)",
             None, shown=f"shape {x.shape} (rank {x.ndim}){hint}")


def padding(fn: str, value: Any, n: int, layout: Layout | None = None,
            arg: str = "padding") -> Padding:
    """Normalise a padding spec to "SAME", "SAME_LOWER", "VALID" or ``n`` (before, after) pairs.

    Accepted: "SAME"/"VALID" (any case), ONNX's "SAME_UPPER" (TF's SAME) and
    "SAME_LOWER" (the odd padding pixel first); an int ``p`` (PyTorch's symmetric ``p`` on every
    dim); ``n`` ints (symmetric per dim); ``n`` pairs; or TF's full form of ``n + 2``
    pairs (``[[0, 0], [t, b], [l, r], [0, 0]]`` for NHWC) whose batch and channel pairs
    are zero.
    """
    if isinstance(value, str):
        key = value.strip().upper()
        if key not in PADDING_MODES:
            fail(fn, arg, _PADDING_RULE, value)
        return PADDING_MODES[key]
    if isinstance(value, (bool, np.bool_)) or value is None:
        type_fail(fn, arg, _PADDING_RULE, value)
    if isinstance(value, (int, np.integer)):
        p = integer(fn, arg, value, minimum=0)
        return tuple((p, p) for _ in range(n))
    if not _is_sequence(value) and not (isinstance(value, np.ndarray) and value.ndim == 2):
        type_fail(fn, arg, _PADDING_RULE, value)
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
    """PyTorch's ``ceil_mode`` flag; refused with SAME (or SAME_LOWER), which already rounds up."""
    on = flag(fn, "ceil_mode", value)
    if on and pad in ("SAME", "SAME_LOWER"):
        fail(fn, "ceil_mode", f"cannot be combined with padding={pad!r} ({pad} already rounds "
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


#: the values of ``precision=`` (:func:`numconv.default_precision`)
PRECISIONS = ("exact", "fast")


def precision(fn: str, value: Any, default: str | None = None) -> str:
    """``precision=``: ``"exact"`` or ``"fast"``; None means ``default`` (the context's)."""
    if value is None and default is not None:
        return default
    return choice(fn, "precision", value, PRECISIONS)


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


def filters(fn: str, arg: str, w: np.ndarray, n: int) -> None:
    """Filters of shape ``(*window, in_channels/groups, out_channels)``, window dims > 0."""
    if w.ndim != n + 2:
        hint = ""
        if w.ndim == n == 2:
            hint = "; a 2-D kernel becomes filters with numconv.as_filters(kernel)"
        elif w.ndim == n:
            hint = f"; a single {n}-D kernel becomes filters with kernel[..., None, None]"
        fail(fn, arg, f"must have rank {n + 2} (*window, in_channels/groups, out_channels)",
             None, shown=f"shape {w.shape} (rank {w.ndim}){hint}")
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
        fail(fn, input_arg, f"channels must be a multiple of the in_channels of {arg} "
             f"({filter_in}, its axis -2)", None, shown=f"{in_channels} channels")
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


def nan_policy(fn: str, value: Any, kind: str) -> str:
    """Max pooling's ``nan_policy``: "propagate" (NumPy, PyTorch) or "ignore" (TF's CPU)."""
    policy = choice(fn, "nan_policy", value, ("propagate", "ignore"))
    if policy == "ignore" and kind != "MAX":
        fail(fn, "nan_policy", "'ignore' applies to max pooling only (average pooling "
             "propagates NaN in every framework)", value)
    return policy


def pool_algorithm(fn: str, value: Any, nan_policy: str) -> str:
    """Pooling's ``algorithm``: "auto" (the blocked kernels) or "reference" (the textbook,
    which propagates NaN)."""
    algorithm = choice(fn, "algorithm", value, ("auto", "reference"))
    if algorithm == "reference" and nan_policy == "ignore":
        fail(fn, "nan_policy", "'ignore' needs algorithm='auto' (the reference propagates "
             "NaN)", nan_policy)
    return algorithm


def algorithm_fits(fn: str, name: str, rule: str | None, window: tuple[int, ...]) -> None:
    """Refuse an explicitly requested algorithm that cannot run this geometry."""
    if rule is not None:
        fail(fn, "algorithm", f"{name!r} {rule}", None,
             shown=f"{name!r} with window {tuple(window)}")


def bind(fn: str, target: Any, args: tuple, kwargs: dict) -> Any:
    """``inspect.signature(target).bind(*args, **kwargs)`` with defaults applied; a
    mismatch is a TypeError naming ``fn`` and the target's signature."""
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
