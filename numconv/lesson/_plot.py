"""What the lesson's figures share: their Figure class, style, colour scales, resolution,
showing and saving.

Figures are built with the object API (a :class:`LessonFigure` on an Agg canvas), never
pyplot, so they work headless and leave matplotlib's global state alone: the lesson's
``plt.rc`` style (bold titles, autolayout, ``magma`` images) is applied with
:func:`matplotlib.rc_context` while a figure is drawn, and ``matplotlib.rcParams`` is
unchanged afterwards.  pyplot is imported only by :func:`show` outside a notebook, when
a window is asked for.
"""

from __future__ import annotations

import importlib
import io
import math
import os
import secrets
import sys
import warnings
from typing import Any, Callable

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colorbar import Colorbar
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from .. import _args

#: The lesson's ``plt.rc`` settings, applied with ``matplotlib.rc_context`` per figure.
STYLE = {
    "figure.autolayout": True,
    "axes.labelweight": "bold", "axes.labelsize": "large",
    "axes.titleweight": "bold", "axes.titlesize": 18, "axes.titlepad": 10,
    "image.cmap": "magma",
}
HIGHLIGHT = "#00d5ff"
#: Colour map of panels with negative values: blue below 0, white at 0, red above.
DIVERGING = "RdBu_r"
#: Colour limits: this percentile of the nonzero magnitudes, so a few large values
#: do not flatten the rest (larger ones take the end colours; the colour bar's arrows).
ROBUST_PERCENTILE = 99.5
#: Highest resolution chosen to draw every array pixel on at least one device pixel ...
MAX_DPI = 300
#: ... within these bounds on the rendered image (what a 100-inch figure has at 100 dpi).
MAX_PIXELS_SIDE, MAX_PIXELS = 10_000, 25_000_000


class LessonFigure(Figure):
    """A matplotlib Figure that displays itself without pyplot.

    In Jupyter or IPython a figure returned by the last line of a cell is drawn
    inline (:meth:`_repr_png_`); :meth:`show` opens it from a script or a REPL (see
    :func:`show`).  Everything else is :class:`matplotlib.figure.Figure`.
    """

    def _repr_png_(self) -> bytes:
        """The figure as PNG bytes, at its own resolution (what Jupyter displays)."""
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=self.dpi)
        return buffer.getvalue()

    def show(self, warn: bool = True) -> None:
        """Display the figure: :func:`show` (``warn`` is accepted for matplotlib's
        signature; a figure that cannot be shown always warns)."""
        show(self)


def new_figure(width: float, height: float) -> LessonFigure:
    """A figure of ``width x height`` inches on its own Agg canvas."""
    fig = LessonFigure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def laid_out(fig: Figure) -> Figure:
    """Lay out once: titles find their place at draw time, after the first tight layout."""
    fig.draw_without_rendering()
    return fig


def root(ax: Axes) -> Figure:
    """The figure holding ``ax`` (the root figure of a subfigure)."""
    fig = ax.figure
    return fig if isinstance(fig, Figure) else fig.figure


def no_ticks(ax: Axes) -> None:
    """No ticks (and no tick layout work: 2x faster)."""
    ax.set_xticks([])
    ax.set_yticks([])


# --------------------------------------------------------------------------- colour

def value_scale(planes: list[np.ndarray]) -> dict[str, Any]:
    """``imshow`` keywords for panels sharing one colour scale.

    With a negative value anywhere: the diverging map :data:`DIVERGING` on
    ``[-L, L]``, centred on 0; otherwise the style's ``magma`` on ``[0, L]``.
    ``L`` is the :data:`ROBUST_PERCENTILE` th percentile of the nonzero finite
    magnitudes (1 if there are none).

    >>> kw = value_scale([np.array([[-2.0, 0.0], [1.0, 1.0]])])
    >>> kw["cmap"], kw["norm"].vmin == -kw["norm"].vmax
    ('RdBu_r', True)
    """
    values = np.concatenate([np.ravel(p) for p in planes]).astype(np.float64)
    values = values[np.isfinite(values)]
    nonzero = np.abs(values[values != 0])
    limit = float(np.percentile(nonzero, ROBUST_PERCENTILE)) if nonzero.size else 1.0
    if (values < 0).any():
        return {"cmap": DIVERGING, "norm": Normalize(-limit, limit)}
    return {"norm": Normalize(0.0, limit)}


def colorbar(image: AxesImage) -> Colorbar:
    """A slim colour bar right of ``image``'s axes, with arrows where values are clipped.

    The bar lives in an inset of the image's axes, so ``figure.axes`` keeps one
    entry per panel; it is ``image.colorbar``.
    """
    ax = image.axes
    values = np.asarray(image.get_array(), dtype=np.float64)
    norm = image.norm
    low, high = bool((values < norm.vmin).any()), bool((values > norm.vmax).any())
    extend = {(True, True): "both", (True, False): "min", (False, True): "max"}.get(
        (low, high), "neither")
    cax = ax.inset_axes([1.04, 0.0, 0.05, 1.0])
    bar = root(ax).colorbar(image, cax=cax, extend=extend)
    bar.ax.tick_params(labelsize=9)
    return bar


def native_resolution(fig: Figure, images: list[AxesImage]) -> Figure:
    """Raise ``fig.dpi`` until every image has a device pixel per array pixel, then lay out.

    One-pixel details (the edges of a 600x512 map) then survive in the PNG.  The
    resolution is capped at :data:`MAX_DPI` and so that the rendered image stays within
    :data:`MAX_PIXELS_SIDE` pixels a side and :data:`MAX_PIXELS` pixels; images still
    larger than their panels are then drawn with ``"antialiased"`` interpolation (each
    screen pixel an average), the others with ``"nearest"`` (every pixel a sharp square).
    """
    width, height = fig.get_size_inches()
    most = min(MAX_DPI, MAX_PIXELS_SIDE / max(width, height),
               math.sqrt(MAX_PIXELS / (width * height)))

    def needed() -> float:
        laid_out(fig)
        need = 0.0
        for image in images:
            box = image.axes.get_window_extent()
            rows, cols = np.shape(image.get_array())[:2]
            need = max(need, fig.dpi * max(cols / box.width, rows / box.height))
        return need

    need = needed()
    for _ in range(3):          # the layout moves a little with the resolution
        if need <= fig.dpi or fig.dpi >= most:
            break
        fig.set_dpi(max(min(math.ceil(need * 1.02), math.floor(most)), fig.dpi))
        need = needed()
    for image in images:
        image.set_interpolation("nearest" if fig.dpi >= need else "antialiased")
    return fig


# --------------------------------------------------------------------------- show, save

def _notebook_display() -> Callable[[Any], Any] | None:
    """IPython's ``display`` when running in a Jupyter kernel, else None."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    return importlib.import_module("IPython.display").display


def show(fig: Figure, block: bool | None = None) -> None:
    """Display a figure: inline in Jupyter, in a window from a script or a REPL.

    In a Jupyter kernel this is IPython's ``display(fig)`` (a figure returned by the
    last line of a cell is displayed anyway).  Elsewhere pyplot is imported (only
    now), takes the figure (``pyplot.figure(fig)``) and shows it with
    ``pyplot.show(block=block)``: a window of your GUI backend (set ``MPLBACKEND``,
    e.g. ``TkAgg`` or ``QtAgg``), blocking until it is closed unless pyplot's
    interactive mode is on.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        Any figure, such as those the ``show_*`` functions return.
    block : bool, optional
        Passed to :func:`matplotlib.pyplot.show`.

    Returns
    -------
    None

    Raises
    ------
    TypeError
        If ``fig`` is not a Figure.

    Warns
    -----
    UserWarning
        When no window can open (no display, or a non-interactive backend such as
        Agg): the warning says how to save the figure instead; pyplot keeps no
        reference to the figure.

    Notes
    -----
    pyplot is imported only here, and only outside a notebook.  After
    ``pyplot.figure(fig)`` pyplot keeps a reference to the figure until its window is
    closed (or ``pyplot.close(fig)``).

    Examples
    --------
    >>> from numconv import viz
    >>> fig = viz.show_kernel("edge")
    >>> viz.show(fig)                    # doctest: +SKIP
    >>> fig.show()                       # the same  # doctest: +SKIP
    """
    _args.instance("show", "fig", fig, Figure, "a matplotlib Figure")
    display = _notebook_display()
    if display is not None:
        display(fig)
        return
    pyplot = importlib.import_module("matplotlib.pyplot")   # only when a window is wanted
    try:
        pyplot.figure(fig)
    except ValueError:   # a matplotlib that cannot adopt a figure made without pyplot
        raise RuntimeError(f"show: matplotlib {matplotlib.__version__} cannot show a figure "
                           "made without pyplot; save it with "
                           "numconv.viz.save_figure(fig, 'figure.png')") from None
    if type(fig.canvas.manager).show is FigureManagerBase.show:     # no GUI window
        pyplot.close(fig)
        warnings.warn(f"show: matplotlib's backend {matplotlib.get_backend()!r} cannot open "
                      "a window (no display, or a non-interactive backend); save the "
                      "figure with numconv.viz.save_figure(fig, 'figure.png'), or set "
                      "MPLBACKEND to a GUI backend such as TkAgg or QtAgg", stacklevel=2)
        return
    pyplot.show(block=block)


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> str:
    """Write ``fig`` as a PNG file at the figure's resolution, whole or not at all.

    The image goes to a temporary file in the destination's directory, which then
    replaces ``path`` atomically (:func:`os.replace`); on any error the temporary
    file is removed and ``path`` is left as it was.  The resolution is the figure's
    own (``fig.dpi``), which the ``show_*`` functions choose so that every array
    pixel gets a device pixel, whatever ``rcParams["savefig.dpi"]`` says.

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
    TypeError
        If ``fig`` is not a Figure or ``path`` not a path.
    OSError
        If the directory is missing or not writable.

    Notes
    -----
    Writing through a temporary file means a reader never sees a half-written PNG,
    and a failure (a full disk) leaves the previous file in place.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from numconv import viz
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = viz.save_figure(viz.show_kernel("blur"), pathlib.Path(tmp, "blur.png"))
    ...     pathlib.Path(path).read_bytes()[:4]
    b'\\x89PNG'
    """
    fn = "save_figure"
    _args.instance(fn, "fig", fig, Figure, "a matplotlib Figure")
    target = os.fspath(_args.instance(fn, "path", path, (str, os.PathLike), "a path"))
    directory = os.path.dirname(os.path.abspath(target))
    tmp = os.path.join(directory, f".{os.path.basename(target)}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as fh:
            fig.savefig(fh, format="png", dpi=fig.dpi)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return target
