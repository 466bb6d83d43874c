"""Arguments of the gradient functions: shapes given as arguments, indices, registries."""

from __future__ import annotations

import operator
from typing import Any, NoReturn

import numpy as np

from ..layout import Layout
from .core import _is_sequence, array, fail, type_fail


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
