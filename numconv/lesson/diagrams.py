"""The lesson's diagrams: a kernel with its values, pooling's translation invariance,
and im2col's patch matrix.

Like :mod:`numconv.lesson.figures`, every function returns a figure Jupyter displays
inline; a panel whose values are not written in its cells has a colour bar.

>>> fig = show_kernel("edge")
>>> fig.axes[0].get_title(), [t.get_text() for t in fig.axes[0].texts][3:6]
('Kernel: edge 3x3', ['-1', '8', '-1'])
"""

from __future__ import annotations

import math
from itertools import product
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .. import _args, budget
from ..pooling import pool
from ..windows import im2col
from ._plot import HIGHLIGHT, STYLE, colorbar, laid_out, new_figure, no_ticks, root
from .filters import kernel_and_name
from .image import dot_pairs

__all__ = ["show_kernel", "show_translation_invariance", "show_im2col"]


def kernel_text(value: Any) -> str:
    """A kernel value as the figures write it: integers whole, others to 3 significant
    digits (``1/9`` shows as ``0.111``, ``0.125`` as itself).

    >>> [kernel_text(v) for v in (8.0, -1, np.float32(1 / 9), 0.0625, 1 / 3, 2.5e-05)]
    ['8', '-1', '0.111', '0.0625', '0.333', '2.5e-05']
    """
    v = float(value)
    return str(int(v)) if v.is_integer() else f"{v:.3g}"


def _exact_text(value: Any) -> str:
    """Integers without a decimal point, other values in their shortest exact form."""
    v = value.item() if isinstance(value, np.generic) else value
    if float(v).is_integer():
        return str(int(v))
    return np.format_float_positional(value, trim="-")


# --------------------------------------------------------------------------- kernel

def show_kernel(kernel: Any, label: bool = True, digits: int | None = None,
                text_size: float = 28, ax: Axes | None = None,
                name: str | None = None) -> Figure:
    """Draw a 2-D kernel in ``Blues_r`` with its values written in the cells, titled with
    its name and shape.

    Parameters
    ----------
    kernel : array_like, shape ``(rows, cols)``, or str
        Trailing unit axes (a ``(kh, kw, 1, 1)`` filter) are dropped.  A name from
        :func:`numconv.lesson.filters.kernel_names` draws that kernel.
    label : bool
        Write the values in the cells, dark on light cells and light on dark ones
        (threshold: the midpoint of the kernel's range); without labels the kernel
        gets a colour bar.
    digits : int, optional
        Round the values to this many decimals and write them in full; by default
        integers are written whole and other values to 3 significant digits
        (:func:`kernel_text`: ``blur`` shows ``0.111``).
    text_size : float
        Font size of the values, in points.
    ax : matplotlib Axes, optional
        Draw into this Axes; by default a new Figure sized to the kernel.
    name : str, optional
        The kernel's name for the title ``"Kernel: <name> <rows>x<cols>"``; by
        default the name given as ``kernel``, else the title is ``"Kernel: 3x3"``.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the drawing (``ax``'s figure if given).

    Raises
    ------
    TypeError, ValueError
        For a kernel that is not a finite 2-D array or a known name, or a drawing
        too large for a figure.

    Notes
    -----
    The kernel is drawn as :func:`numconv.conv2d` slides it over the image (a
    cross-correlation: not flipped).

    Examples
    --------
    >>> fig = show_kernel("blur")
    >>> fig.axes[0].get_title(), {t.get_text() for t in fig.axes[0].texts}
    ('Kernel: blur 3x3', {'0.111'})
    >>> fig = show_kernel([[0.0625, 0.125], [0.125, 0.25]], digits=2, name="tiny")
    >>> fig.axes[0].get_title(), [t.get_text() for t in fig.axes[0].texts]
    ('Kernel: tiny 2x2', ['0.06', '0.12', '0.12', '0.25'])
    """
    fn = "show_kernel"
    k, known = kernel_and_name(fn, "kernel", kernel)
    if name is not None:
        known = _args.instance(fn, "name", name, str, "a str or None")
    label = _args.flag(fn, "label", label)
    size = _args.positive_number(fn, "text_size", text_size, maximum=1000)
    text = kernel_text
    if digits is not None:
        k, text = _rounded(k, _args.integer(fn, "digits", digits, minimum=0)), _exact_text
    if ax is not None:
        _args.instance(fn, "ax", ax, Axes, "a matplotlib Axes or None")
    rows, cols = k.shape
    if label and k.size > 10_000:       # cells of >= 1 inch: no figure holds more
        _args.fail(fn, "kernel", "must have at most 10000 cells with label=True", k.shape)
    texts = [[text(v) for v in row] for row in k] if label else [[""]]
    longest = max(len(t) for row in texts for t in row)
    cell = max(1.0, 0.62 * size / 72 * longest + 0.25) if label else 0.6
    width, height = cols * cell + (0.4 if label else 1.4), rows * max(cell * 0.8, 1.0) + 0.9
    if ax is None:
        _args.figure_size(fn, "kernel, text_size and digits", width, height)
    cmap = matplotlib.colormaps["Blues_r"]
    own = ax is None
    with matplotlib.rc_context(STYLE):
        if ax is None:
            ax = new_figure(width, height).add_subplot()
        image = ax.imshow(k, cmap=cmap, aspect="auto" if label else "equal")
        thresh = (k.max() + k.min()) / 2
        if label:
            for i, j in product(range(rows), range(cols)):
                color = cmap(0) if k[i, j] > thresh else cmap(255)
                ax.text(j, i, texts[i][j], color=color, size=size,
                        horizontalalignment="center", verticalalignment="center")
        else:
            colorbar(image)
        ax.set_title(f"Kernel: {known + ' ' if known else ''}{rows}x{cols}", fontsize=14)
        no_ticks(ax)
        return laid_out(ax.figure) if own else root(ax)


def _rounded(k: np.ndarray, digits: int) -> np.ndarray:
    """``k.round(digits)``, keeping values whose scaling by ``10**digits`` overflows (they
    have no such decimals; 10**400 is inf in float64)."""
    with np.errstate(over="ignore", invalid="ignore"):
        r = k.round(min(digits, 400))
    return np.where(np.isfinite(r), r, k)


# --------------------------------------------------------------------------- invariance

def _after(counts: list[int], steps: int) -> str:
    """When a pair's two dots became one pixel, from its bright-pixel counts."""
    merged = next((t for t, n in enumerate(counts) if n == 1), None)
    if merged is None:
        return f"stay apart after {steps} pooling{'' if steps == 1 else 's'}"
    return "are one pixel from the start" if merged == 0 else \
        f"merge after {merged} pooling{'' if merged == 1 else 's'}"


def show_translation_invariance(near: Any = None, far: Any = None, steps: int = 3,
                                pooling_type: str = "MAX") -> Figure:
    """Repeated 2x2 pooling (stride 2, SAME) of a near and a far pair of dots, captioned.

    Row 1 is the near pair, row 2 the far pair; column ``t`` is the map after ``t``
    poolings, titled with its size and its number of bright (nonzero) pixels: the
    near pair's two dots fall into one pixel (pooling lost the small difference in
    position), the far pair's stay two.  The caption (the figure's suptitle) says
    so from the counts, e.g. "near dots merge after 2 poolings, far dots stay apart
    after 3 poolings".

    Parameters
    ----------
    near, far : array_like, optional
        The two maps, ``(H, W)``, ``(H, W, C)`` or ``(1, H, W, C)``; default the
        lesson's pairs, :func:`numconv.lesson.image.dot_pairs` (64x64, 2 and 31
        pixels apart, away from the borders).
    steps : int
        Number of poolings, 0 to 30.
    pooling_type : {"MAX", "AVG"}

    Returns
    -------
    matplotlib.figure.Figure
        ``2 x (steps + 1)`` axes, row by row, each with a colour bar.

    Raises
    ------
    TypeError, ValueError
        For maps that are not one image, or ``steps`` out of range.

    Notes
    -----
    With a power-of-two size and aligned dots, two dots fall into one pixel after ``k``
    poolings exactly when they lie in the same ``2**k``-wide block
    (:func:`numconv.lesson.image.dots`): pooling forgets small shifts, not large ones.

    Examples
    --------
    >>> near, far = np.zeros((8, 8)), np.zeros((8, 8))
    >>> near[3, [2, 3]] = 1                  # 1 pixel apart, in one 2x2 block
    >>> far[3, [1, 6]] = 1                   # 5 pixels apart
    >>> fig = show_translation_invariance(near, far, steps=1)
    >>> [ax.get_title().splitlines()[1] for ax in fig.axes]
    ['2 bright pixels', '1 bright pixel', '2 bright pixels', '2 bright pixels']
    >>> fig.get_suptitle().splitlines()[1]
    'near dots merge after 1 pooling, far dots stay apart after 1 pooling'
    """
    fn = "show_translation_invariance"
    steps = _args.integer(fn, "steps", steps)
    if steps > 30:  # 2**30-fold pooling: no map is that large
        _args.fail(fn, "steps", "must be at most 30", steps)
    kind = _args.choice(fn, "pooling_type", pooling_type, ("MAX", "AVG"))
    if near is None or far is None:
        pairs = dot_pairs()
        near = pairs[0] if near is None else near
        far = pairs[1] if far is None else far
    rows = [("near", _args.batch_image(fn, "near", near)),
            ("far", _args.batch_image(fn, "far", far))]
    phrases = []
    with matplotlib.rc_context(STYLE):
        fig = new_figure(3.3 * (steps + 1) + 0.6, 7.0)
        for r, (label, x) in enumerate(rows):
            counts = []
            for t in range(steps + 1):
                ax = fig.add_subplot(2, steps + 1, r * (steps + 1) + t + 1)
                plane = x[0].max(axis=-1)
                colorbar(ax.imshow(plane, vmin=0, interpolation="nearest"))
                counts.append(np.count_nonzero(plane))
                step = "input" if t == 0 else f"pooled x{t}"
                ax.set_title(f"{step} {plane.shape[0]}x{plane.shape[1]}\n{counts[-1]} "
                             f"bright pixel{'' if counts[-1] == 1 else 's'}", fontsize=12)
                no_ticks(ax)
                if t == 0:
                    ax.set_ylabel(f"{label} pair")
                x = pool(x, (2, 2), kind, (2, 2), "SAME")
            phrases.append(f"{label} dots {_after(counts, steps)}")
        fig.suptitle(f"{kind} pooling 2x2/2 SAME, repeated\n{', '.join(phrases)}", fontsize=14)
        return laid_out(fig)


# --------------------------------------------------------------------------- im2col

def _cell_values(ax: Axes, values: np.ndarray, size: float,
                 origin: tuple[float, float] = (0, 0)) -> None:
    """Write each value in its cell, light on the dark half of the colour range."""
    lo, hi = float(values.min()), float(values.max())
    mid = (lo + hi) / 2
    for i, j in product(range(values.shape[0]), range(values.shape[1])):
        v = values[i, j]
        ax.text(origin[1] + j, origin[0] + i, f"{v:.3g}", size=size, ha="center", va="center",
                color="white" if v <= mid and hi > lo else "black")


def _ticks(n: int, most: int = 9) -> np.ndarray:
    """At most ``most`` integer ticks from 0 to ``n - 1``."""
    return np.unique(np.linspace(0, n - 1, min(n, most)).round().astype(int))


def show_im2col(image: Any = None, window: Any = 3, stride: Any = 1, padding: Any = "VALID",
                highlight: Any = (0, 0)) -> Figure:
    """A small image beside its patch matrix (:func:`numconv.im2col`), one window highlighted.

    Row ``r = i * out_w + j`` of the matrix is the window at output position
    ``(i, j)``: the padded image's pixels ``[i*sh : i*sh + kh, j*sw : j*sw + kw]``
    read row by row.  The window is outlined in the image and its row in the matrix.
    Small drawings carry their values in the cells; larger ones a colour bar.

    Parameters
    ----------
    image : array_like, optional
        Single channel: ``(H, W)``, ``(H, W, 1)`` or ``(1, H, W, 1)``; default the
        6x6 image ``0, 1, ..., 35``.
    window, stride : int or (int, int)
    padding : "SAME", "VALID", int or (before, after) pairs
        Zero padding, drawn around the image.
    highlight : (int, int)
        Output position ``(i, j)`` of the highlighted window.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: the image (padding included) and the matrix; the highlight
        rectangles have gid ``"highlight"``.

    Raises
    ------
    TypeError, ValueError
        For an image that is not single-channel, a window that does not fit, a
        highlight outside the output grid, or a matrix over the memory limit.

    Notes
    -----
    Convolution is this matrix times the filters reshaped to ``(kh * kw * C, C_out)``
    (:func:`numconv.im2col`); the matrix holds each pixel up to ``kh * kw`` times.

    Examples
    --------
    >>> fig = show_im2col(highlight=(1, 2))        # 6x6 image, 3x3 VALID: 16 windows
    >>> np.asarray(fig.axes[1].images[0].get_array()[1 * 4 + 2])
    array([ 8.,  9., 10., 14., 15., 16., 20., 21., 22.])
    """
    fn = "show_im2col"
    raw = np.arange(36.0).reshape(6, 6) if image is None else image
    x = _args.batch_image(fn, "image", raw, single_channel=True).astype(np.float64)
    k, s, pads, geometry = _args.patch_figure(fn, x.shape[1:3], window, stride, padding)
    budget.charge(fn, "image, window, stride and padding", {
        "patch matrix": math.prod(geometry.out_shape) * k[0] * k[1] * 8,
        "padded image": math.prod(d.padded_size for d in geometry.dims) * 8})
    oh, ow = geometry.out_shape
    i, j = _args.grid_position(fn, "highlight", highlight, (oh, ow))
    try:
        matrix = im2col(x, k, s, pads)[0].reshape(oh * ow, k[0] * k[1])
    except (ValueError, TypeError) as exc:          # im2col's own limits
        _args.relabel(fn, "image, window, stride and padding", "must give a patch matrix "
                      "numconv computes", exc)
    (pt, pb), (pl, pr) = geometry.pads
    padded = np.pad(x[0, :, :, 0], ((pt, pb), (pl, pr)))
    h, w = padded.shape
    rows, taps = matrix.shape
    written = padded.size <= 144 and matrix.size <= 600
    # inches: square 0.4" cells while they fit, then the matrix's cells stretch
    img_w = max(min(0.4, 4.5 / max(h, w)) * w, 2.8)
    mat_w, mat_h = min(max(taps * 0.4, 2.0), 7.0), min(max(rows * 0.4, 2.4), 9.0)
    with matplotlib.rc_context(STYLE):
        fig = new_figure(img_w + mat_w + (1.4 if written else 3.0), mat_h + 1.4)
        grid = fig.add_gridspec(1, 2, width_ratios=[img_w, mat_w])
        ax_img, ax_mat = fig.add_subplot(grid[0]), fig.add_subplot(grid[1])
        shown = ax_img.imshow(padded, extent=(-pl - 0.5, w - pl - 0.5, h - pt - 0.5, -pt - 0.5))
        if geometry.padded:
            ax_img.add_patch(Rectangle((-0.5, -0.5), x.shape[2], x.shape[1], fill=False,
                                       linestyle="--", edgecolor="white", linewidth=1.5))
        ax_img.add_patch(Rectangle((j * s[1] - pl - 0.5, i * s[0] - pt - 0.5), k[1], k[0],
                                   fill=False, edgecolor=HIGHLIGHT, linewidth=3,
                                   gid="highlight"))
        patches = ax_mat.imshow(matrix, aspect="auto")
        ax_mat.add_patch(Rectangle((-0.5, i * ow + j - 0.5), taps, 1, fill=False,
                                   edgecolor=HIGHLIGHT, linewidth=3, gid="highlight"))
        if written:
            _cell_values(ax_img, padded, 9, origin=(-pt, -pl))
            _cell_values(ax_mat, matrix, 7)
        else:
            colorbar(shown)
            colorbar(patches)
        pad_note = f", padded to {h}x{w}" if geometry.padded else ""
        ax_img.set_title(f"image {x.shape[1]}x{x.shape[2]}{pad_note}\n"
                         f"window {k[0]}x{k[1]} at ({i}, {j})", fontsize=12)
        ax_mat.set_title(f"patch matrix {rows}x{taps}\nrow {i * ow + j}", fontsize=12)
        no_ticks(ax_img)
        ax_mat.set_xlabel("tap (row-major)")
        ax_mat.set_ylabel("window")
        ax_mat.set_xticks(_ticks(taps))
        ax_mat.set_yticks(_ticks(rows, 17))
        return laid_out(fig)
