"""Arguments of the figures (:mod:`numconv.viz`), image files and kernels."""

from __future__ import annotations

import os
import pathlib
from typing import Any, NoReturn, Sequence

import numpy as np

from ..geometry import Padding, resolve
from .core import _show, array, fail, int_tuple, number, padding, type_fail


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
    padded image (the caller charges the patch matrix and padded image to the budget)."""
    k, s = int_tuple(fn, "window", window, 2), int_tuple(fn, "stride", stride, 2)
    pads = padding(fn, pad_spec, 2)
    geometry = resolve(spatial, k, s, (1, 1), pads)
    if 0 in geometry.out_shape:
        fail(fn, "window", f"must fit in the padded {spatial[0]}x{spatial[1]} image", k)
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


def file_path(fn: str, arg: str, value: Any, what: str = "a file") -> Any:
    """An existing file (``what``: "an image file", "an ONNX model file", ...) given as ``str``
    or ``os.PathLike``; returns a ``pathlib.Path``.

    FileNotFoundError if it does not exist, IsADirectoryError for a directory.
    """
    if isinstance(value, (bytes, bool)) or not isinstance(value, (str, os.PathLike)):
        type_fail(fn, arg, "must be a file path (str or os.PathLike)", value)
    path = pathlib.Path(value)
    if path.is_dir():
        raise IsADirectoryError(f"{fn}: {arg} must be {what}, not a directory, "
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
