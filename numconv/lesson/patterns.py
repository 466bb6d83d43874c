"""The lesson's synthetic patterns: a disc, and pairs of one-pixel dots.

:func:`dot_pairs` is the lesson's demonstration of pooling's translation invariance
(:func:`numconv.lesson.diagrams.show_translation_invariance`): after repeated 2x2 max
pooling the near pair's dots fall into one pixel, the far pair's stay apart.  The
bundled ``data/circle.png``, ``dots_near.png`` and ``dots_far.png`` are these
patterns (``data/make_patterns.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _args

__all__ = ["circle", "dots", "dot_pairs", "MAX_PATTERN_SIZE"]

#: largest side of a synthetic pattern
MAX_PATTERN_SIZE = 4096


def _pattern_size(fn: str, size: Any, minimum: int) -> int:
    n = _args.integer(fn, "size", size)
    if not minimum <= n <= MAX_PATTERN_SIZE:
        _args.fail(fn, "size", f"must be between {minimum} and {MAX_PATTERN_SIZE}", size)
    return n


def circle(size: int = 64, radius: float | None = None) -> np.ndarray:
    """A filled disc of ones on zeros, centred, float32 ``(size, size)``.

    Pixel ``(i, j)`` is 1 when ``(i - c)**2 + (j - c)**2 <= radius**2`` with
    ``c = (size - 1) / 2``.

    Parameters
    ----------
    size : int
        Image side, 1 to :data:`MAX_PATTERN_SIZE`.
    radius : float, optional
        Positive; default ``size / 4``.

    Examples
    --------
    >>> circle(5, 2).astype(int)
    array([[0, 0, 1, 0, 0],
           [0, 1, 1, 1, 0],
           [1, 1, 1, 1, 1],
           [0, 1, 1, 1, 0],
           [0, 0, 1, 0, 0]])
    """
    fn = "circle"
    n = _pattern_size(fn, size, 1)
    r = n / 4 if radius is None else _args.positive_number(fn, "radius", radius)
    d = np.arange(n) - (n - 1) / 2
    return ((d[:, None] ** 2 + d[None, :] ** 2) <= r * r).astype(np.float32)


def dots(size: int = 64, separation: int = 2, *, row: int | None = None,
         column: int | None = None) -> np.ndarray:
    """Two one-pixel dots (value 1) on one row, ``separation`` pixels apart.

    The left dot is at ``(row, column)``, the right one at ``(row, column +
    separation)``; both default to ``size // 2``.  With a power-of-two ``size`` that
    column is aligned to every 2x2 pooling block, so after ``k`` max poolings
    (window 2, stride 2) the dots fall into one pixel exactly when
    ``separation < 2**k``: the near pair merges, the far pair stays apart.

    Parameters
    ----------
    size : int
        Image side, 2 to :data:`MAX_PATTERN_SIZE`.
    separation : int
        Positive; the right dot must stay inside the image.
    row, column : int, optional
        Position of the left dot.

    Returns
    -------
    ndarray, float32, shape ``(size, size)``

    Examples
    --------
    >>> import numconv as nc
    >>> def dots_after(image, k):          # bright pixels after k 2x2 max poolings
    ...     x = image[None, :, :, None]
    ...     for _ in range(k):
    ...         x = nc.max_pool2d(x, 2, 2, "SAME")
    ...     return int((x > 0).sum())
    >>> [dots_after(dots(64, 2), k) for k in range(5)]      # near: merged after 2
    [2, 2, 1, 1, 1]
    >>> [dots_after(dots(64, 24), k) for k in range(5)]     # far: apart for 4
    [2, 2, 2, 2, 2]
    """
    fn = "dots"
    n = _pattern_size(fn, size, 2)
    sep = _args.integer(fn, "separation", separation)
    r = n // 2 if row is None else _args.integer(fn, "row", row, minimum=0)
    c = n // 2 if column is None else _args.integer(fn, "column", column, minimum=0)
    if r >= n:
        _args.fail(fn, "row", f"must lie inside the {n}x{n} image (< {n})", r)
    if c + sep >= n:
        _args.fail(fn, "separation", f"must keep the right dot inside the {n}x{n} image "
                   f"(column {c} + separation < {n})", sep)
    image = np.zeros((n, n), np.float32)
    image[r, [c, c + sep]] = 1
    return image


def dot_pairs(size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """The lesson's near and far pairs, both away from the borders.

    Near: ``dots(size, 2)``, columns ``size // 2`` and ``size // 2 + 2``; far:
    ``dots(size, size // 2 - 1, column=size // 4)``, columns ``size // 4`` and
    ``3 * size // 4 - 1``, a quarter of the width from each side.  For
    ``size = 2**n`` the near pair merges after 2 max poolings (2x2, stride 2) and
    the far pair stays apart for ``n - 1`` poolings (5 for 64), until the map is
    one pixel.

    >>> near, far = dot_pairs(64)
    >>> [np.flatnonzero(p[32]).tolist() for p in (near, far)]
    [[32, 34], [16, 47]]
    """
    n = _pattern_size("dot_pairs", size, 8)
    return dots(n, 2), dots(n, n // 2 - 1, column=n // 4)
