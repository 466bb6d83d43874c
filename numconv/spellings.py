"""The spellings every argument accepts, parsed once: arrays, layouts, window ints,
padding, shapes, and the dtypes sums and averages run in.

:mod:`numconv.spec` builds each op family's frozen spec from these pieces, and the
outer rooms (:mod:`numconv.layers`, :mod:`numconv.dask`, :mod:`numconv.crosscheck`,
the lesson) parse a single argument with them, so every function accepts the same
spellings with the same defaults (model: SciPy's ``_normalize_sequence`` in
scipy/ndimage/_filters.py):

* **window, strides, dilations**: an int, a sequence of one (broadcast) or of ``n``
  ints, or TF's full-rank form of ``n + 2`` ints with 1 at the batch and channel
  positions (``strides=[1, 2, 2, 1]`` for NHWC).  ``strides=None`` and
  ``dilations=None`` mean 1 in every function (``tf.nn.pool``'s and
  ``tf.nn.convolution``'s default); Keras's pooling layers, whose ``strides=None``
  means the pool size, resolve that in the layer.
* **padding**: ``"SAME"``, ``"VALID"``, ONNX's ``"SAME_UPPER"`` (TF's SAME) and
  ``"SAME_LOWER"`` (the odd padding pixel first), in any case; an int (symmetric, every
  dim); ``n`` ints; ``n`` ``(before, after)`` pairs; TF's ``n + 2`` pairs.
* **data_format**: TF's names (``NWC``, ``NHWC``, ``NDHWC``, ``NCW``, ``NCHW``,
  ``NCDHW``) in any case, or Keras's ``"channels_last"``/``"channels_first"`` (the rank
  then comes from the data: the input, or the filters of ``tf.nn.convolution``).
  ``None`` is channels-last.

Error messages come from :mod:`numconv._args` and name the function, the argument,
the rule and the value received.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _args
from .geometry import Geometry, Padding, resolve
from .layout import Layout


# --------------------------------------------------------------------------- dtypes

def result_dtypes(*dtypes: np.dtype) -> tuple[np.dtype, np.dtype]:
    """``(accumulation dtype, result dtype)`` of a sum of products over these dtypes.

    Floats promote as NumPy does (float16 is accumulated in float32 and returned as
    float16); all-integer or bool inputs are computed exactly in int64.

    >>> result_dtypes(np.dtype("float16"), np.dtype("float16"))
    (dtype('float32'), dtype('float16'))
    >>> result_dtypes(np.dtype("uint8"), np.dtype("int8"))
    (dtype('int64'), dtype('int64'))
    """
    if all(d.kind in "biu" for d in dtypes):
        return np.dtype(np.int64), np.dtype(np.int64)
    result = np.result_type(*dtypes)
    if result == np.float16:
        return np.dtype(np.float32), result
    return result, result


def mean_dtypes(dtype: np.dtype) -> tuple[np.dtype, np.dtype]:
    """``(accumulation dtype, result dtype)`` of an average: float16 accumulates in
    float32 and is returned as float16, other floats are kept, integers give float64.

    >>> mean_dtypes(np.dtype("float16")), mean_dtypes(np.dtype("uint8"))
    ((dtype('float32'), dtype('float16')), (dtype('float64'), dtype('float64')))
    """
    acc = np.dtype(np.float32 if dtype == np.float16 else
                   (dtype if dtype.kind == "f" else np.float64))
    return acc, np.dtype(np.float16) if dtype == np.float16 else acc


# --------------------------------------------------------------------------- pieces

def array(fn: str, arg: str, value: Any) -> np.ndarray:
    """A real numeric ndarray (bool, integer or float), without copying when possible."""
    return _args.array(fn, arg, value)


def is_keras_format(data_format: Any) -> bool:
    """Whether ``data_format`` is Keras's ``"channels_last"``/``"channels_first"``."""
    return isinstance(data_format, str) and \
        data_format.strip().lower() in ("channels_last", "channels_first")


def layout(fn: str, data_format: Any, n: int | None, arg: str, ranked: Any,
           check: Any = None) -> Layout:
    """The op's layout.

    ``n`` is the op's number of spatial dims, or None when the rank comes from the
    data_format name or, for None and Keras's names, from ``ranked`` (the array named
    ``arg``: rank - 2 spatial dims).  ``check``, if given, must have the layout's
    rank (it is reported under ``arg``).
    """
    if n is None and (data_format is None or is_keras_format(data_format)):
        n = _args.spatial_rank(fn, arg, ranked, 2)
    lay = _args.data_format(fn, data_format, n)
    if check is not None:
        _args.check_input_rank(fn, arg, check, lay)
    return lay


def window_rank(window: Any) -> int | None:
    """The number of spatial dims a window sequence gives (``tf.nn.pool``'s
    ``window_shape``), or None for anything else (the rank then comes from elsewhere).

    >>> window_rank([3, 3]), window_rank(3)
    (2, None)
    """
    return len(window) if _args._is_sequence(window) else None


def ints(fn: str, arg: str, value: Any, lay: Layout, full_rank: bool = True,
         default: int | None = 1) -> tuple[int, ...]:
    """Per-spatial-dim positive ints; None is ``default`` (1: the one meaning of
    ``strides=None`` and ``dilations=None``; windows have no default).

    ``full_rank`` accepts TF's ``n + 2`` form with 1 at the batch and channel positions.
    """
    value = default if value is None and default is not None else value
    return _args.int_tuple(fn, arg, value, lay.n_spatial, layout=lay if full_rank else None)


def padding(fn: str, value: Any, lay: Layout, arg: str = "padding") -> Padding:
    """Canonical padding: "SAME", "SAME_LOWER", "VALID" or one (before, after) per dim."""
    return _args.padding(fn, value, lay.n_spatial, lay, arg)


def windows(fn: str, lay: Layout, spatial: tuple[int, ...], window: Any, strides: Any,
            dilations: Any, pad: Any, *, names: tuple[str, str, str] = ("ksize", "strides",
                                                                        "dilations"),
            full_rank: tuple[bool, bool] = (True, True), ceil_mode: Any = False) -> Geometry:
    """The geometry of a windowed op.

    ``names`` are the window's, the strides' and the dilations' argument names;
    ``full_rank`` says whether the window and the others accept TF's ``n + 2`` form.
    """
    k = ints(fn, names[0], window, lay, full_rank[0], default=None)
    s = ints(fn, names[1], strides, lay, full_rank[1])
    d = ints(fn, names[2], dilations, lay, full_rank[1])
    mode = padding(fn, pad, lay)
    return resolve(spatial, k, s, d, mode, ceil_mode=_args.ceil_mode(fn, ceil_mode, mode))


def shape(fn: str, arg: str, value: Any, lay: Layout, batch: int,
          channels: int) -> tuple[int, ...]:
    """A full array shape in ``lay`` order from ``n`` or ``n + 2`` non-negative ints."""
    return _args.shape_spec(fn, arg, value, lay, batch, channels)
