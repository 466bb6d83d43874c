"""The lesson's figures: kernels, the feature-extraction row, pooling and im2col.

matplotlib is imported here only; ``import numconv`` never loads this module.
Figures are built with the object API (:class:`matplotlib.figure.Figure` with a
``FigureCanvasAgg``), never pyplot, so they work headless and leave the global
state alone: the seed's ``plt.rc`` style (bold titles of size 18, autolayout,
``magma`` images) is applied through :func:`matplotlib.rc_context` inside each
function, and ``matplotlib.rcParams`` is unchanged afterwards.

Every ``show_*`` function returns its Figure; :func:`save_figure` writes it as PNG.

>>> fig = show_kernel([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])
>>> [t.get_text() for t in fig.axes[0].texts][3:6]
['-1', '8', '-1']
"""

from __future__ import annotations

import math
import os
import secrets
from itertools import product
from typing import Any, Sequence

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .. import _args, budget
from ..pooling import pool
from ..windows import im2col
from .image import dot_pairs
from .pipeline import feature_extraction

__all__ = ["STYLE", "show_kernel", "show_stages", "show_extraction", "show_filter_detect",
           "show_pools", "show_translation_invariance", "show_im2col", "save_figure"]

#: The seed's ``plt.rc`` settings, applied with ``matplotlib.rc_context`` per figure.
STYLE = {
    "figure.autolayout": True,
    "axes.labelweight": "bold", "axes.labelsize": "large",
    "axes.titleweight": "bold", "axes.titlesize": 18, "axes.titlepad": 10,
    "image.cmap": "magma",
}
HIGHLIGHT = "#00d5ff"


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _laid_out(fig: Figure) -> Figure:
    """Lay out once: titles find their place at draw time, after the first tight layout."""
    fig.draw_without_rendering()
    return fig


def _root(ax: Axes) -> Figure:
    fig = ax.figure
    return fig if isinstance(fig, Figure) else fig.figure


def _fmt(value: Any) -> str:
    """Integers without a decimal point, other values in their shortest exact form."""
    v = value.item() if isinstance(value, np.generic) else value
    if float(v).is_integer():
        return str(int(v))
    return np.format_float_positional(value, trim="-")


# --------------------------------------------------------------------------- kernel

def show_kernel(kernel: Any, label: bool = True, digits: int | None = None,
                text_size: float = 28, ax: Axes | None = None) -> Figure:
    """Draw a 2-D kernel in ``Blues_r`` with its values written in the cells.

    Parameters
    ----------
    kernel : array_like, shape ``(rows, cols)``
        Trailing unit axes (a ``(kh, kw, 1, 1)`` filter) are dropped.
    label : bool
        Write the values in the cells, dark on light cells and light on dark ones
        (threshold: the midpoint of the kernel's range).
    digits : int, optional
        Round the values to this many decimals first.
    text_size : float
        Font size of the values, in points.
    ax : matplotlib Axes, optional
        Draw into this Axes; by default a new Figure sized to the kernel.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the drawing (``ax``'s figure if given).

    Examples
    --------
    >>> fig = show_kernel([[0.0625, 0.125], [0.125, 0.25]], digits=2)
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['0.06', '0.12', '0.12', '0.25']
    """
    fn = "show_kernel"
    k = _args.kernel2d(fn, "kernel", kernel)
    label = _args.flag(fn, "label", label)
    size = _args.positive_number(fn, "text_size", text_size, maximum=1000)
    if digits is not None:
        k = _rounded(k, _args.integer(fn, "digits", digits, minimum=0))
    if ax is not None:
        _args.instance(fn, "ax", ax, Axes, "a matplotlib Axes or None")
    rows, cols = k.shape
    if label and k.size > 10_000:       # cells of >= 1 inch: no figure holds more
        _args.fail(fn, "kernel", "must have at most 10000 cells with label=True", k.shape)
    texts = [[_fmt(v) for v in row] for row in k] if label else [[""]]
    longest = max(len(t) for row in texts for t in row)
    cell = max(1.0, 0.62 * size / 72 * longest + 0.25) if label else 0.6
    width, height = cols * cell + 0.4, rows * max(cell * 0.8, 1.0) + 0.4
    if ax is None:
        _args.figure_size(fn, "kernel, text_size and digits", width, height)
    cmap = matplotlib.colormaps["Blues_r"]
    own = ax is None
    with matplotlib.rc_context(STYLE):
        if ax is None:
            ax = _figure(width, height).add_subplot()
        ax.imshow(k, cmap=cmap, aspect="auto" if label else "equal")
        thresh = (k.max() + k.min()) / 2
        if label:
            for i, j in product(range(rows), range(cols)):
                color = cmap(0) if k[i, j] > thresh else cmap(255)
                ax.text(j, i, texts[i][j], color=color, size=size,
                        horizontalalignment="center", verticalalignment="center")
        ax.set_xticks([])
        ax.set_yticks([])
        return _laid_out(ax.figure) if own else _root(ax)


def _rounded(k: np.ndarray, digits: int) -> np.ndarray:
    """``k.round(digits)``, keeping values whose scaling by ``10**digits`` overflows (they
    have no such decimals; 10**400 is inf in float64)."""
    with np.errstate(over="ignore", invalid="ignore"):
        r = k.round(min(digits, 400))
    return np.where(np.isfinite(r), r, k)


# --------------------------------------------------------------------------- stage rows

def _plane(x: np.ndarray) -> tuple[np.ndarray, str]:
    """A displayable 2-D (or RGB) plane of a (1, H, W, C) array, and a note."""
    x = x[0]
    c = x.shape[-1]
    if c == 1:
        return x[..., 0], ""
    if c == 3:
        return np.clip(x, 0, 1), ""
    return x.mean(axis=-1), f" (mean of {c} channels)"


def show_stages(stages: Sequence[tuple[str, Any]], gray: Sequence[str] = ("Input",),
                panel: float = 4.0) -> Figure:
    """One row of image panels, each titled with its name and the array's shape.

    Parameters
    ----------
    stages : sequence of (str, array_like)
        ``(name, array)`` pairs, arrays ``(H, W)``, ``(H, W, C)`` or ``(1, H, W, C)``
        (such as :meth:`ExtractionResult.stages`).  One channel is drawn with the
        colour map (``gray`` for the names in ``gray``, else ``magma``), three as RGB,
        others as their channel mean.
    gray : str or sequence of str
        Stage names drawn in gray scale on [0, 1].
    panel : float
        Panel size in inches, 0.5 to 50; the figure may be at most 100 inches wide.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = show_stages([("Input", np.eye(4)), ("Twice", 2 * np.eye(4)[None, :, :, None])])
    >>> [ax.get_title() for ax in fig.axes]
    ['Input\\n(1, 4, 4, 1)', 'Twice\\n(1, 4, 4, 1)']
    """
    fn = "show_stages"
    return _stage_row(fn, "stages and panel", _args.stage_list(fn, "stages", stages),
                      _args.names(fn, "gray", gray),
                      _args.number_range(fn, "panel", panel, 0.5, 50, "inches"))


def _stage_row(fn: str, args: str, arrays: list[tuple[str, np.ndarray]], gray: Sequence[str],
               panel: float) -> Figure:
    """Draw validated stages; ``args`` names the arguments that decide the figure's size."""
    aspect = min(max(arrays[0][1].shape[1] / arrays[0][1].shape[2], 0.3), 2.0)
    width, height = panel * len(arrays), 0.95 * panel * aspect + 0.9
    _args.figure_size(fn, args, width, height)
    with matplotlib.rc_context(STYLE):
        fig = _figure(width, height)
        for i, (name, x) in enumerate(arrays):
            ax = fig.add_subplot(1, len(arrays), i + 1)
            plane, note = _plane(x)
            kwargs: dict[str, Any] = ({"cmap": "gray", "vmin": 0, "vmax": 1}
                                      if name in gray and plane.ndim == 2 else {})
            ax.imshow(plane, **kwargs)
            ax.set_xticks([])                    # no tick layout work: 2x faster
            ax.set_yticks([])
            ax.axis("off")
            ax.set_title(f"{name}\n{tuple(int(d) for d in x.shape)}{note}")
        return _laid_out(fig)


def _extract(image: Any, kernel: Any, **settings: Any) -> list[tuple[str, np.ndarray]]:
    return list(feature_extraction(image, kernel, **settings).stages())


def show_extraction(image: Any, kernel: Any, conv_stride: Any = 1, conv_padding: Any = "SAME",
                    activation: str = "relu", pool_size: Any = 2, pool_stride: Any = 2,
                    pool_padding: Any = "SAME", pooling_type: str = "MAX") -> Figure:
    """The feature-extraction row: Input / Filter / Detect / Condense.

    Runs :func:`numconv.lesson.pipeline.feature_extraction` with these settings (the
    seed's by default: stride 1 SAME convolution, ReLU, 2x2 max pooling at stride
    2 with SAME padding) and draws each stage titled with its name and NHWC shape.

    Parameters
    ----------
    image : array_like
        ``(H, W)``, ``(H, W, C)`` or ``(1, H, W, C)``, values in [0, 1].
    kernel : array_like or str
        A 2-D kernel or a name from :mod:`numconv.lesson.filters`.
    conv_stride, conv_padding, activation, pool_size, pool_stride, pool_padding, pooling_type
        As for :func:`numconv.lesson.pipeline.feature_extraction`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = show_extraction(np.eye(8), "edge", pool_size=3, pool_padding="VALID")
    >>> [ax.get_title().replace("\\n", " ") for ax in fig.axes]
    ['Input (1, 8, 8, 1)', 'Filter (1, 8, 8, 1)', 'Detect (1, 8, 8, 1)', 'Condense (1, 3, 3, 1)']
    """
    return show_stages(_extract(image, kernel, conv_stride=conv_stride,
                                conv_padding=conv_padding, activation=activation,
                                pool_size=pool_size, pool_stride=pool_stride,
                                pool_padding=pool_padding, pooling_type=pooling_type))


def show_filter_detect(image: Any, kernel: Any, conv_stride: Any = 1,
                       conv_padding: Any = "SAME", activation: str = "relu") -> Figure:
    """The seed's first figure: Input / Filter / Detect, titled with their shapes.

    Examples
    --------
    >>> fig = show_filter_detect(np.eye(6), [[-1, 1]])
    >>> [ax.get_title() for ax in fig.axes]
    ['Input\\n(1, 6, 6, 1)', 'Filter\\n(1, 6, 6, 1)', 'Detect\\n(1, 6, 6, 1)']
    """
    return show_stages(_extract(image, kernel, conv_stride=conv_stride,
                                conv_padding=conv_padding, activation=activation)[:3])


def show_pools(detect: Any, windows: Sequence[Any] = (2, 3), strides: Any = 2,
               padding: Any = "SAME", pooling_type: str = "MAX") -> Figure:
    """The seed's second figure: a feature map beside its pooled versions.

    Parameters
    ----------
    detect : array_like
        The map to pool (the Detect stage): ``(H, W)``, ``(H, W, C)`` or ``(1, H, W, C)``.
    windows : sequence of (int or (int, int))
        One pooled panel per window, titled "Pool", "Pool2", ... with the window size.
    strides, padding, pooling_type
        As for :func:`numconv.pool` (the seed: 2, "SAME", "MAX").

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = show_pools(np.eye(8))                 # the seed: 2x2 and 3x3, stride 2, SAME
    >>> [ax.get_title().replace("\\n", " | ") for ax in fig.axes]
    ['Detect | (1, 8, 8, 1)', 'Pool 2x2 | (1, 4, 4, 1)', 'Pool2 3x3 | (1, 4, 4, 1)']
    """
    fn = "show_pools"
    x = _args.batch_image(fn, "detect", detect)
    kind = _args.choice(fn, "pooling_type", pooling_type, ("MAX", "AVG"))
    sizes, s, pads = _args.pool_windows(fn, x.shape[1:3], windows, strides, padding, 4.0)
    stages = [("Detect", x)]
    for i, k in enumerate(sizes):
        try:
            pooled = pool(x, k, kind, s, pads)
        except (ValueError, TypeError) as exc:      # the memory limit, say
            _args.relabel(fn, "windows, strides and padding", "must give a pooling numconv "
                          "computes", exc)
        stages.append((f"Pool{i + 1 if i else ''} {k[0]}x{k[1]}", pooled))
    return _stage_row(fn, "windows", stages, (), 4.0)


# --------------------------------------------------------------------------- invariance

def show_translation_invariance(near: Any = None, far: Any = None, steps: int = 3,
                                pooling_type: str = "MAX") -> Figure:
    """Repeated 2x2 pooling (stride 2, SAME) of a near and a far pair of dots.

    Row 1 is the near pair, row 2 the far pair; column ``t`` is the map after ``t``
    poolings, titled with its size and its number of bright (nonzero) pixels: the
    near pair's two dots fall into one pixel (pooling lost the small difference in
    position), the far pair's stay two.

    Parameters
    ----------
    near, far : array_like, optional
        The two maps, ``(H, W)``, ``(H, W, C)`` or ``(1, H, W, C)``; default the
        lesson's pairs, :func:`numconv.lesson.image.dot_pairs` (64x64, 2 and 31 pixels apart).
    steps : int
        Number of poolings.
    pooling_type : {"MAX", "AVG"}

    Returns
    -------
    matplotlib.figure.Figure
        ``2 x (steps + 1)`` axes, row by row.

    Examples
    --------
    >>> near, far = np.zeros((8, 8)), np.zeros((8, 8))
    >>> near[3, [2, 3]] = 1                  # 1 pixel apart, in one 2x2 block
    >>> far[3, [0, 7]] = 1                   # 7 pixels apart
    >>> fig = show_translation_invariance(near, far, steps=1)
    >>> [ax.get_title().splitlines()[1] for ax in fig.axes]
    ['2 bright pixels', '1 bright pixel', '2 bright pixels', '2 bright pixels']
    """
    fn = "show_translation_invariance"
    steps = _args.integer(fn, "steps", steps)
    if steps > 30:  # 2**30-fold pooling: no map is that large
        _args.fail(fn, "steps", "must be at most 30", steps)
    kind = _args.choice(fn, "pooling_type", pooling_type, ("MAX", "AVG"))
    if near is None or far is None:
        pairs = dot_pairs()
        near, far = pairs if near is None and far is None else (
            near if near is not None else pairs[0], far if far is not None else pairs[1])
    rows = [("near pair", _args.batch_image(fn, "near", near)),
            ("far pair", _args.batch_image(fn, "far", far))]
    with matplotlib.rc_context(STYLE):
        fig = _figure(2.6 * (steps + 1) + 0.6, 6.4)
        for r, (label, x) in enumerate(rows):
            for t in range(steps + 1):
                ax = fig.add_subplot(2, steps + 1, r * (steps + 1) + t + 1)
                plane = x[0].max(axis=-1)
                ax.imshow(plane, vmin=0, interpolation="nearest")
                n = np.count_nonzero(plane)
                step = "input" if t == 0 else f"pooled x{t}"
                ax.set_title(f"{step} {plane.shape[0]}x{plane.shape[1]}\n"
                             f"{n} bright pixel{'' if n == 1 else 's'}", fontsize=12)
                ax.set_xticks([])
                ax.set_yticks([])
                if t == 0:
                    ax.set_ylabel(label)
                x = pool(x, (2, 2), kind, (2, 2), "SAME")
        return _laid_out(fig)


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
    # inches: square 0.4" cells while they fit, then the matrix's cells stretch
    img_w = max(min(0.4, 4.5 / max(h, w)) * w, 2.8)
    mat_w, mat_h = min(max(taps * 0.4, 2.0), 7.0), min(max(rows * 0.4, 2.4), 9.0)
    with matplotlib.rc_context(STYLE):
        fig = _figure(img_w + mat_w + 1.4, mat_h + 1.4)
        grid = fig.add_gridspec(1, 2, width_ratios=[img_w, mat_w])
        ax_img, ax_mat = fig.add_subplot(grid[0]), fig.add_subplot(grid[1])
        ax_img.imshow(padded, extent=(-pl - 0.5, w - pl - 0.5, h - pt - 0.5, -pt - 0.5))
        if geometry.padded:
            ax_img.add_patch(Rectangle((-0.5, -0.5), x.shape[2], x.shape[1], fill=False,
                                       linestyle="--", edgecolor="white", linewidth=1.5))
        ax_img.add_patch(Rectangle((j * s[1] - pl - 0.5, i * s[0] - pt - 0.5), k[1], k[0],
                                   fill=False, edgecolor=HIGHLIGHT, linewidth=3,
                                   gid="highlight"))
        ax_mat.imshow(matrix, aspect="auto")
        ax_mat.add_patch(Rectangle((-0.5, i * ow + j - 0.5), taps, 1, fill=False,
                                   edgecolor=HIGHLIGHT, linewidth=3, gid="highlight"))
        if padded.size <= 144 and matrix.size <= 600:
            _cell_values(ax_img, padded, 9, origin=(-pt, -pl))
            _cell_values(ax_mat, matrix, 7)
        pad_note = f", padded to {h}x{w}" if geometry.padded else ""
        ax_img.set_title(f"image {x.shape[1]}x{x.shape[2]}{pad_note}\n"
                         f"window {k[0]}x{k[1]} at ({i}, {j})", fontsize=12)
        ax_mat.set_title(f"patch matrix {rows}x{taps}\nrow {i * ow + j}", fontsize=12)
        ax_img.set_xticks([])
        ax_img.set_yticks([])
        ax_mat.set_xlabel("tap (row-major)")
        ax_mat.set_ylabel("window")
        ax_mat.set_xticks(_ticks(taps))
        ax_mat.set_yticks(_ticks(rows, 17))
        return _laid_out(fig)


# --------------------------------------------------------------------------- saving

def save_figure(fig: Figure, path: str | os.PathLike[str]) -> str:
    """Write ``fig`` as a PNG file, whole or not at all.

    The image goes to a temporary file in the destination's directory, which then
    replaces ``path`` atomically (:func:`os.replace`); on any error the temporary
    file is removed and ``path`` is left as it was.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or path-like
        Destination; its directory must exist.

    Returns
    -------
    str
        ``path`` as a string.

    Raises
    ------
    OSError
        If the directory is missing or not writable.
    """
    fn = "save_figure"
    _args.instance(fn, "fig", fig, Figure, "a matplotlib Figure")
    target = os.fspath(_args.instance(fn, "path", path, (str, os.PathLike), "a path"))
    directory = os.path.dirname(os.path.abspath(target))
    tmp = os.path.join(directory, f".{os.path.basename(target)}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as fh:
            fig.savefig(fh, format="png")
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return target
