"""The lesson's rows of stages: Input / Filter / Detect / Condense, and pooled maps.

matplotlib is imported here only; ``import numconv`` never loads this module.  Every
function returns a :class:`~numconv.lesson._plot.LessonFigure` (a matplotlib Figure
that Jupyter displays inline and whose ``show()`` opens a window);
:func:`~numconv.viz.save_figure` writes it as PNG.  How values become colours:

* every panel is titled with its stage, the operation and its parameters
  (``"Filter: conv2d edge 3x3/1 SAME"``, ``"Detect: ReLU"``,
  ``"Pool: MAX 2x2/2 SAME"``) and the array's NHWC shape;
* single-channel panels share one colour scale per figure and each has a colour bar.
  When some panel holds negative values (the Filter stage) the scale is diverging
  and centred on 0 (blue below, white at 0, red above), so the Detect panel shows
  ReLU's work: the blue is gone.  Otherwise it runs from 0 in ``magma``.  The limits
  are the 99.5th percentile of the nonzero magnitudes, so a few large values do not
  flatten the rest;
* the resolution is raised until every array pixel is drawn on at least one device
  pixel (up to 300 dpi), so one-pixel edges survive in the PNG.

>>> fig = show_filter_detect(np.eye(6), "edge")
>>> [ax.get_title().splitlines()[0] for ax in fig.axes]
['Input', 'Filter: conv2d edge 3x3/1 SAME', 'Detect: ReLU']
>>> norm = fig.axes[1].images[0].norm
>>> norm.vmin == -norm.vmax
True
"""

from __future__ import annotations

import textwrap
from typing import Any, Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from .. import _args
from ..geometry import resolve
from ..pooling import pool
from ._plot import STYLE, colorbar, native_resolution, new_figure, value_scale
from .pipeline import feature_extraction, window_label

__all__ = ["show_stages", "show_extraction", "show_filter_detect", "show_pools"]

#: Font size of the stage titles (the style's 18 does not fit "Filter: conv2d ...").
TITLE_SIZE = 13


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
        (such as :meth:`ExtractionResult.stages`); a long name is wrapped to the
        panel's width.  Three channels are drawn as RGB;
        one channel (or the mean of other counts) with a colour bar: gray scale on
        [0, 1] for the names in ``gray``, the others on one shared scale, diverging
        and centred on 0 when any of them has a negative value (limits ``+-L``),
        else ``magma`` on ``[0, L]``; ``L`` is the 99.5th percentile of their nonzero
        magnitudes.
    gray : str or sequence of str
        Stage names drawn in gray scale on [0, 1].
    panel : float
        Panel size in inches, 0.5 to 50; the figure may be at most 100 inches wide.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per stage; each colour-mapped image has its colour bar
        (``ax.images[0].colorbar``).  Its resolution draws every array pixel on at
        least one device pixel (at most 300 dpi).

    Raises
    ------
    TypeError, ValueError
        For stages that are not ``(str, array)`` pairs of displayable images, or a
        figure over 100 inches.

    Notes
    -----
    The resolution (``fig.dpi``) is raised until every array pixel covers at least one
    device pixel (at most 300 dpi), and images are drawn with ``"nearest"``
    interpolation, so one-pixel details (the edges of a Detect map) survive in the PNG;
    an image still larger than its panel at 300 dpi is drawn ``"antialiased"``.

    Examples
    --------
    >>> fig = show_stages([("Input", np.eye(4)), ("Twice", 2 * np.eye(4)[None, :, :, None])])
    >>> [ax.get_title() for ax in fig.axes]
    ['Input\\n(1, 4, 4, 1)', 'Twice\\n(1, 4, 4, 1)']
    >>> fig.axes[1].images[0].colorbar is not None
    True
    """
    fn = "show_stages"
    return _stage_row(fn, "stages and panel", _args.stage_list(fn, "stages", stages),
                      _args.names(fn, "gray", gray),
                      _args.number_range(fn, "panel", panel, 0.5, 50, "inches"))


def _stage_row(fn: str, args: str, arrays: list[tuple[str, np.ndarray]], gray: Sequence[str],
               panel: float) -> Figure:
    """Draw validated stages; ``args`` names the arguments that decide the figure's size."""
    aspect = min(max(arrays[0][1].shape[1] / arrays[0][1].shape[2], 0.3), 2.0)
    width, height = (panel + 0.9) * len(arrays), 0.95 * panel * aspect + 1.1
    _args.figure_size(fn, args, width, height)
    planes = [_plane(x) for _, x in arrays]
    is_gray = [name in gray and plane.ndim == 2 for (name, _), (plane, _) in zip(arrays, planes)]
    scaled = [plane for (plane, _), g in zip(planes, is_gray) if plane.ndim == 2 and not g]
    scale = value_scale(scaled) if scaled else {}
    with matplotlib.rc_context(STYLE):
        fig = new_figure(width, height)
        images = []
        for i, ((name, x), (plane, note), g) in enumerate(zip(arrays, planes, is_gray)):
            ax = fig.add_subplot(1, len(arrays), i + 1)
            kwargs: dict[str, Any] = ({"cmap": "gray", "vmin": 0, "vmax": 1} if g else
                                      scale if plane.ndim == 2 else {})
            images.append(ax.imshow(plane, **kwargs))
            if plane.ndim == 2:
                colorbar(images[-1])
            ax.axis("off")
            ax.set_title(f"{textwrap.fill(name, round(panel * 8))}\n"
                         f"{tuple(int(d) for d in x.shape)}{note}", fontsize=TITLE_SIZE)
        return native_resolution(fig, images)


def _stages(image: Any, kernel: Any, **settings: Any) -> list[tuple[str, np.ndarray]]:
    return feature_extraction(image, kernel, **settings).stages(titled=True)


def show_extraction(image: Any, kernel: Any, conv_stride: Any = 1, conv_padding: Any = "SAME",
                    activation: str | None = "relu", pool_size: Any = 2, pool_stride: Any = 2,
                    pool_padding: Any = "SAME", pooling_type: str = "MAX") -> Figure:
    """The feature-extraction row: Input / Filter / Detect / Condense.

    Runs :func:`numconv.lesson.pipeline.feature_extraction` with these settings (the
    lesson's by default: stride 1 SAME convolution, ReLU, 2x2 max pooling at stride
    2 with SAME padding) and draws each stage with :func:`show_stages`, titled with
    the operation, its parameters and the NHWC shape
    (:meth:`ExtractionResult.stages` with ``titled=True``).

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
        Four axes, one per stage.

    Raises
    ------
    TypeError, ValueError
        As :func:`~numconv.lesson.pipeline.feature_extraction` does.

    Notes
    -----
    Filter and Detect share one colour scale centred on 0 when the filter has negative
    values: the blue (negative) pixels of Filter are white in Detect, which is what
    ReLU does.

    Examples
    --------
    >>> fig = show_extraction(np.eye(8), "edge", pool_size=3, pool_padding="VALID")
    >>> for ax in fig.axes:
    ...     print(ax.get_title().replace("\\n", " "))
    Input (1, 8, 8, 1)
    Filter: conv2d edge 3x3/1 SAME (1, 8, 8, 1)
    Detect: ReLU (1, 8, 8, 1)
    Condense: MAX 3x3/2 VALID (1, 3, 3, 1)
    """
    return show_stages(_stages(image, kernel, conv_stride=conv_stride,
                               conv_padding=conv_padding, activation=activation,
                               pool_size=pool_size, pool_stride=pool_stride,
                               pool_padding=pool_padding, pooling_type=pooling_type))


def show_filter_detect(image: Any, kernel: Any, conv_stride: Any = 1,
                       conv_padding: Any = "SAME", activation: str | None = "relu") -> Figure:
    """The lesson's first figure: Input / Filter / Detect, titled with their operations.

    Parameters
    ----------
    image : array_like
        ``(H, W)``, ``(H, W, C)`` or ``(1, H, W, C)``, values in [0, 1].
    kernel : array_like or str
        A 2-D kernel or a name from :mod:`numconv.lesson.filters`.
    conv_stride, conv_padding, activation
        As for :func:`numconv.lesson.pipeline.feature_extraction`.

    Returns
    -------
    matplotlib.figure.Figure
        Three axes.  Filter and Detect share a colour scale centred on 0 when the
        filter has negative values: ReLU turns the blue (negative) pixels white.

    Raises
    ------
    TypeError, ValueError
        As :func:`~numconv.lesson.pipeline.feature_extraction` does.

    Notes
    -----
    The arrays drawn are the pipeline's own (``fig.axes[i].images[0].get_array()``),
    the ones the tests compare with TensorFlow's.

    Examples
    --------
    >>> fig = show_filter_detect(np.eye(6), [[-1, 1]])
    >>> for ax in fig.axes:
    ...     print(ax.get_title().replace("\\n", " | "))
    Input | (1, 6, 6, 1)
    Filter: conv2d 1x2/1 SAME | (1, 6, 6, 1)
    Detect: ReLU | (1, 6, 6, 1)
    """
    return show_stages(_stages(image, kernel, conv_stride=conv_stride,
                               conv_padding=conv_padding, activation=activation)[:3])


def show_pools(detect: Any, windows: Sequence[Any] = (2, 3), strides: Any = 2,
               padding: Any = "SAME", pooling_type: str = "MAX") -> Figure:
    """The lesson's second figure: a feature map beside its pooled versions.

    Parameters
    ----------
    detect : array_like
        The map to pool (the Detect stage): ``(H, W)``, ``(H, W, C)`` or ``(1, H, W, C)``.
    windows : sequence of (int or (int, int))
        One pooled panel per window, titled "Pool", "Pool2", ... with the pooling's
        type, window/strides and padding (``"Pool2: MAX 3x3/2 SAME"``).
    strides, padding, pooling_type
        As for :func:`numconv.pool` (the lesson: 2, "SAME", "MAX").

    Returns
    -------
    matplotlib.figure.Figure
        One axes per map, on one colour scale (see :func:`show_stages`).

    Raises
    ------
    TypeError, ValueError
        For a map that is not one image, windows that do not fit it, or a pooling
        over numconv's memory limit.

    Notes
    -----
    Pooling never counts padding: SAME max pooling behaves as if padded with -inf, SAME
    average pooling divides by the real elements of each window.

    Examples
    --------
    >>> fig = show_pools(np.eye(8))                 # the lesson: 2x2 and 3x3, stride 2, SAME
    >>> for ax in fig.axes:
    ...     print(ax.get_title().replace("\\n", " | "))
    Detect | (1, 8, 8, 1)
    Pool: MAX 2x2/2 SAME | (1, 4, 4, 1)
    Pool2: MAX 3x3/2 SAME | (1, 4, 4, 1)
    """
    fn = "show_pools"
    x = _args.batch_image(fn, "detect", detect)
    kind = _args.choice(fn, "pooling_type", pooling_type, ("MAX", "AVG"))
    sizes, s, pads = _args.pool_windows(fn, x.shape[1:3], windows, strides, padding, 4.9)
    stages = [("Detect", x)]
    for i, k in enumerate(sizes):
        try:
            pooled = pool(x, k, kind, s, pads)
        except (ValueError, TypeError) as exc:      # the memory limit, say
            _args.relabel(fn, "windows, strides and padding", "must give a pooling numconv "
                          "computes", exc)
        label = window_label(resolve(x.shape[1:3], k, s, (1, 1), pads))
        stages.append((f"Pool{i + 1 if i else ''}: {kind} {label}", pooled))
    return _stage_row(fn, "windows", stages, (), 4.0)
