"""The lesson's figures under their public name.

The ``show_*`` functions come from :mod:`numconv.lesson.figures` (rows of stages) and
:mod:`numconv.lesson.diagrams` (kernel, translation invariance, im2col); :func:`show`
and :func:`save_figure` from :mod:`numconv.lesson._plot`.  Every function returns a
matplotlib :class:`~matplotlib.figure.Figure` that displays itself:

* in Jupyter, a figure on a cell's last line is drawn inline (it has ``_repr_png_``);
* from a script or a REPL, ``viz.show(fig)`` (or ``fig.show()``) opens a window with
  your GUI backend; ``viz.save_figure(fig, "fig.png")`` writes a PNG.

Importing this module imports matplotlib but not pyplot (``import numconv`` imports
neither), and no function changes ``matplotlib.rcParams``.
"""

from __future__ import annotations

from .lesson._plot import save_figure, show
from .lesson.diagrams import show_im2col, show_kernel, show_translation_invariance
from .lesson.figures import show_extraction, show_filter_detect, show_pools, show_stages

__all__ = ["show_kernel", "show_stages", "show_extraction", "show_filter_detect",
           "show_pools", "show_translation_invariance", "show_im2col", "show", "save_figure"]
