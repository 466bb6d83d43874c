"""Filter, detect, condense: the lesson's feature extraction on one image.

The lesson (TensorFlow)::

    image = tf.image.convert_image_dtype(tf.io.decode_jpeg(tf.io.read_file(path)), tf.float32)
    image = tf.expand_dims(image, axis=0)                      # (1, H, W, 1)
    kernel = tf.reshape(kernel, [*kernel.shape, 1, 1])         # (kh, kw, 1, 1)
    image_filter = tf.nn.conv2d(image, kernel, strides=1, padding="SAME")
    image_detect = tf.nn.relu(image_filter)
    image_condense = tf.nn.pool(image_detect, window_shape=(2, 2), pooling_type="MAX",
                                strides=(2, 2), padding="SAME")

numconv::

    result = feature_extraction(read_image(path, channels=1), "edge")
    result.filter, result.detect, result.condense              # the same arrays
    print(result.describe())                                   # shapes and padding

>>> r = feature_extraction(np.eye(4), "identity", pool_size=2, pool_stride=2)
>>> [title for title, _ in r.stages()]
['Input', 'Filter', 'Detect', 'Condense']
>>> r.filter.shape, r.condense.shape
((1, 4, 4, 1), (1, 2, 2, 1))
>>> r.condense[0, :, :, 0]
array([[1., 0.],
       [0., 1.]])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _args, spellings
from ..activations import leaky_relu, relu, relu6
from ..algorithms import choose
from ..conv import conv2d
from .image import rgb_to_grayscale
from .filters import kernel_and_name
from ..geometry import Geometry, resolve
from ..layout import Layout
from ..pooling import pool
from ..windows import applied

__all__ = ["ExtractionResult", "feature_extraction", "ACTIVATIONS"]

#: activation name -> function (``None`` means no activation: Detect = Filter)
ACTIVATIONS = {"relu": relu, "relu6": relu6, "leaky_relu": leaky_relu}
#: activation name -> how the figures' titles name it
ACTIVATION_TITLES = {"relu": "ReLU", "relu6": "ReLU6", "leaky_relu": "leaky ReLU (alpha 0.2)"}


def _frozen(x: np.ndarray) -> np.ndarray:
    view = x.view()
    view.flags.writeable = False
    return view


def _pairs(values: tuple[int, ...]) -> str:
    return str(values[0]) if len(set(values)) == 1 else str(values)


@dataclass(frozen=True)
class ExtractionResult:
    """The stages of :func:`feature_extraction`, each a read-only NHWC array.

    Attributes
    ----------
    input : ndarray, shape ``(1, H, W, 1)``
        The single-channel image that was filtered.
    filter : ndarray
        ``conv2d(input, kernel)``.
    detect : ndarray
        The activation of ``filter`` (equal to it when ``activation`` is None).
    condense : ndarray
        The pooling of ``detect``.
    kernel : ndarray, shape ``(kh, kw)``
    kernel_name : str or None
        The kernel's name when it was given by name.
    conv_geometry, pool_geometry : Geometry
        Output sizes and pads of the two windowed stages.
    activation : str or None
    pooling_type : {"MAX", "AVG"}
    source_channels : int
        Channels of the image given (more than 1: it was converted to grayscale).
    conv_algorithm : str
        The convolution algorithm the Filter stage ran (``"auto"`` resolved by
        :func:`numconv.algorithms.choose`; ``"reference"``: :mod:`numconv.reference`).
    pool_algorithm : {"auto", "reference"}
        What the Condense stage ran: the blocked pooling kernel or the reference.
    """

    input: np.ndarray
    filter: np.ndarray
    detect: np.ndarray
    condense: np.ndarray
    kernel: np.ndarray
    kernel_name: str | None
    conv_geometry: Geometry
    pool_geometry: Geometry
    activation: str | None
    pooling_type: str
    source_channels: int = 1
    conv_algorithm: str = "auto"
    pool_algorithm: str = "auto"

    def stages(self, titled: bool = False) -> list[tuple[str, np.ndarray]]:
        """``[("Input", input), ("Filter", filter), ("Detect", detect),
        ("Condense", condense)]``.

        With ``titled=True`` each name also says the operation and its parameters,
        as the figures title the stages: ``"Filter: conv2d edge 3x3/1 SAME"``
        (kernel name, window/strides, padding), ``"Detect: ReLU"``,
        ``"Condense: MAX 2x2/2 SAME"``.

        Examples
        --------
        >>> r = feature_extraction(np.ones((6, 6)), "edge", pool_size=3, pool_padding="VALID")
        >>> [title for title, _ in r.stages(titled=True)]
        ['Input', 'Filter: conv2d edge 3x3/1 SAME', 'Detect: ReLU', 'Condense: MAX 3x3/2 VALID']
        """
        name = f"{self.kernel_name} " if self.kernel_name else ""
        act = ACTIVATION_TITLES[self.activation] if self.activation else "none (= Filter)"
        titles = ["Input",
                  f"Filter: conv2d {name}{window_label(self.conv_geometry)}",
                  f"Detect: {act}",
                  f"Condense: {self.pooling_type} {window_label(self.pool_geometry)}"]
        arrays = [self.input, self.filter, self.detect, self.condense]
        return list(zip(titles if titled else [t.split(":")[0] for t in titles], arrays))

    def describe(self) -> str:
        """The shape after each stage and how each windowed stage got its size.

        Examples
        --------
        >>> print(feature_extraction(np.ones((5, 6)), "edge", pool_size=3).describe())
        Input     (1, 5, 6, 1)  image
        Filter    (1, 5, 6, 1)  conv2d, kernel 'edge' 3x3, strides 1, padding SAME, algorithm shift
                    height: SAME: out = ceil(5/1) = 5; total pad = max((5-1)*1 + 3 - 5, 0) = 2 -> before 1, after 1
                    width:  SAME: out = ceil(6/1) = 6; total pad = max((6-1)*1 + 3 - 6, 0) = 2 -> before 1, after 1
        Detect    (1, 5, 6, 1)  relu (elementwise, shape unchanged)
        Condense  (1, 3, 3, 1)  MAX pool 3x3, strides 2, padding SAME, algorithm auto
                    height: SAME: out = ceil(5/2) = 3; total pad = max((3-1)*2 + 3 - 5, 0) = 2 -> before 1, after 1
                    width:  SAME: out = ceil(6/2) = 3; total pad = max((3-1)*2 + 3 - 6, 0) = 1 -> before 0, after 1
        """
        k = self.kernel
        name = f"kernel {self.kernel_name!r} " if self.kernel_name else "kernel "
        cg, pg = self.conv_geometry, self.pool_geometry
        source = ("image" if self.source_channels == 1 else
                  f"grayscale of the {self.source_channels}-channel image (TF's "
                  "rgb_to_grayscale weights)" if self.source_channels >= 3 else
                  "first channel of the 2-channel image (alpha dropped)")
        act = (f"{self.activation} (elementwise, shape unchanged)" if self.activation
               else "no activation (Detect = Filter)")
        lines = [
            ("Input", self.input, source, None),
            ("Filter", self.filter, f"conv2d, {name}{k.shape[0]}x{k.shape[1]}, strides "
             f"{_pairs(cg.strides)}, padding {_mode(cg)}, algorithm {self.conv_algorithm}",
             cg),
            ("Detect", self.detect, act, None),
            ("Condense", self.condense, f"{self.pooling_type} pool "
             f"{pg.window[0]}x{pg.window[1]}, strides {_pairs(pg.strides)}, padding "
             f"{_mode(pg)}, algorithm {self.pool_algorithm}", pg),
        ]
        width = max(len(str(a.shape)) for _, a, _, _ in lines)
        out = []
        for title, array, what, geometry in lines:
            out.append(f"{title:<9} {str(array.shape):<{width}}  {what}")
            if geometry is not None:
                for dim, g in zip(("height:", "width: "), geometry.dims):
                    out.append(f"{'':12}{dim} {g.explain()}")
        return "\n".join(out)


def window_label(geometry: Geometry) -> str:
    """A windowed stage's parameters, short: ``"3x3/2 SAME"`` (window/strides padding).

    >>> window_label(resolve((8, 8), (3, 2), (2, 1), (1, 1), "VALID"))
    '3x2/2x1 VALID'
    >>> window_label(resolve((8, 8), (3, 3), (1, 1), (1, 1), ((0, 1), (1, 1))))
    '3x3/1 explicit pads (0,1),(1,1)'
    """
    strides = geometry.strides
    mode = geometry.dims[0].mode
    if mode == "EXPLICIT":      # compact, so a title wraps between the parts
        mode = "explicit pads " + ",".join(f"({b},{a})" for b, a in geometry.pads)
    return (f"{'x'.join(map(str, geometry.window))}/"
            f"{strides[0] if len(set(strides)) == 1 else 'x'.join(map(str, strides))} "
            f"{mode}")


def _mode(geometry: Geometry) -> str:
    mode = geometry.dims[0].mode
    return mode if mode != "EXPLICIT" else f"explicit {geometry.pads}"


def feature_extraction(image: Any, kernel: Any, conv_stride: Any = 1, conv_padding: Any = "SAME",
                       activation: str | None = "relu", pool_size: Any = 2, pool_stride: Any = 2,
                       pool_padding: Any = "SAME", pooling_type: str = "MAX", *,
                       algorithm: str = "auto") -> ExtractionResult:
    """Filter an image with a kernel, detect with an activation, condense by pooling.

    ``filter = conv2d(input, kernel[:, :, None, None], conv_stride, conv_padding)``,
    ``detect = activation(filter)``,
    ``condense = pool(detect, pool_size, pooling_type, pool_stride, pool_padding)``:
    the lesson's ``tf.nn.conv2d`` / ``tf.nn.relu`` / ``tf.nn.pool`` with TF's geometry.

    Parameters
    ----------
    image : array_like, shape ``(H, W)``, ``(H, W, C)`` or ``(1, H, W, C)``
        Integer and bool images are used as float32 with their values unchanged
        (scale them first, e.g. with :func:`numconv.read_image`); float images keep
        their dtype.  A multi-channel image is filtered as grayscale, as the lesson
        does: 3 or 4 channels (RGB, RGBA) with TF's ``rgb_to_grayscale`` weights,
        alpha dropped; 2 channels (gray + alpha): the first one.
    kernel : array_like or str
        A 2-D kernel (or HWIO ``(kh, kw, 1, 1)``), or a name from
        :func:`numconv.lesson.filters.kernel_names`.
    conv_stride : int or pair
    conv_padding : "SAME", "VALID", int or (before, after) pairs
    activation : {"relu", "relu6", "leaky_relu", None}
        ``leaky_relu`` uses TF's alpha 0.2; None (or "none") skips the step.
    pool_size, pool_stride : int or pair
    pool_padding : "SAME", "VALID", int or (before, after) pairs
    pooling_type : {"MAX", "AVG"}
    algorithm : {"auto", "reference"}
        "auto": the fast paths (the convolution algorithm chosen by
        :func:`numconv.algorithms.choose`); "reference": both windowed stages run
        :mod:`numconv.reference`, the textbook.  The result names what ran.

    Returns
    -------
    ExtractionResult

    Raises
    ------
    ValueError, TypeError
        For invalid arguments, or settings that leave a stage empty.

    Notes
    -----
    Every stage is checked against TensorFlow's (data/golden/demo.npz): on the
    bundled photograph the Input is bit-identical and Filter, Detect and Condense
    agree to float32 rounding.

    Examples
    --------
    >>> r = feature_extraction(np.eye(4), [[1, -1]], pool_size=2)
    >>> r.filter[0, :, :, 0]                     # x[i, j] - x[i, j + 1], zero padded
    array([[ 1.,  0.,  0.,  0.],
           [-1.,  1.,  0.,  0.],
           [ 0., -1.,  1.,  0.],
           [ 0.,  0., -1.,  1.]])
    >>> r.condense[0, :, :, 0]                   # max of relu over 2x2 blocks
    array([[1., 0.],
           [0., 1.]])
    """
    fn = "feature_extraction"
    x = _args.batch_image(fn, "image", image)
    k, name = kernel_and_name(fn, "kernel", kernel)
    image_layout = Layout(2)
    conv_strides = spellings.ints(fn, "conv_stride", conv_stride, image_layout, full_rank=False)
    conv_pad = spellings.padding(fn, conv_padding, image_layout, arg="conv_padding")
    act = _args.activation(fn, activation, tuple(ACTIVATIONS))
    window = spellings.ints(fn, "pool_size", pool_size, image_layout, full_rank=False, default=None)
    pool_strides = spellings.ints(fn, "pool_stride", pool_stride, image_layout, full_rank=False)
    pool_pad = spellings.padding(fn, pool_padding, image_layout, arg="pool_padding")
    kind = _args.choice(fn, "pooling_type", pooling_type, ("MAX", "AVG"))
    how = _args.choice(fn, "algorithm", algorithm, ("auto", "reference"))

    if x.dtype.kind != "f":
        x = x.astype(np.float32)
    channels = x.shape[3]
    if channels >= 3:
        x = rgb_to_grayscale(x[..., :3])
    elif channels == 2:
        x = x[..., :1]
    k = k.astype(x.dtype)
    conv_geometry = resolve(x.shape[1:3], k.shape, conv_strides, (1, 1), conv_pad)
    if 0 in conv_geometry.out_shape:
        _args.fail(fn, "kernel", f"must fit in the image with this padding (a {k.shape[0]}x"
                   f"{k.shape[1]} kernel on {x.shape[1]}x{x.shape[2]} gives an empty Filter "
                   f"stage {conv_geometry.out_shape})", None, shown=f"shape {k.shape}")
    w = k[:, :, None, None]
    conv_algo = how if how == "reference" else choose(
        x.shape, w.shape, applied(conv_geometry), 1, spellings.result_dtypes(x.dtype, w.dtype)[0])
    try:  # arguments are valid here; what can still fail is a resource limit
        filtered = conv2d(x, w, conv_strides, conv_pad, algorithm=conv_algo)
    except (ValueError, TypeError) as exc:
        _args.from_inner(fn, "image, kernel, conv_stride and conv_padding", "Filter", exc)
    detected = filtered if act is None else ACTIVATIONS[act](filtered)
    pool_geometry = resolve(filtered.shape[1:3], window, pool_strides, (1, 1), pool_pad)
    if 0 in pool_geometry.out_shape:
        _args.fail(fn, "pool_size", f"must fit in the Filter stage {filtered.shape[1:3]} with "
                   f"this padding (the Condense stage would be empty)", window)
    try:
        condensed = pool(detected, window, kind, pool_strides, pool_pad, algorithm=how)
    except (ValueError, TypeError) as exc:
        _args.from_inner(fn, "pool_size, pool_stride and pool_padding", "Condense", exc)
    return ExtractionResult(_frozen(x), _frozen(filtered), _frozen(detected),
                            _frozen(condensed), _frozen(k), name, conv_geometry,
                            pool_geometry, act, kind, channels, conv_algo, how)
