"""The rules of the geometry arguments: window sizes, strides and dilations (ints or
sequences, TF's full-rank form), padding, ``ceil_mode``, ``data_format`` and the input
rank a layout implies.

Messages follow :mod:`.core`'s pattern: ``"<function>: <argument> <rule>, got <value>"``.
"""

from __future__ import annotations

import operator
from typing import Any, Sequence, Union

import numpy as np

from ..geometry import Padding
from ..layout import DATA_FORMATS, Layout
from .core import _is_sequence, fail, flag, integer, type_fail

PaddingSpec = Union[str, int, Sequence[int], Sequence[Sequence[int]]]

#: padding strings (any case) -> canonical mode: ONNX's SAME_UPPER is TF's SAME
PADDING_MODES = {"SAME": "SAME", "VALID": "VALID", "SAME_UPPER": "SAME",
                 "SAME_LOWER": "SAME_LOWER"}
_PADDING_RULE = ("must be 'SAME', 'VALID', 'SAME_LOWER', 'SAME_UPPER', an int or explicit "
                 "(before, after) pairs")


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
