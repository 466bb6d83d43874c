"""One op configuration, framework-neutral: what numconv computes, as plain values.

An :class:`OpConfig` names the op and holds every argument in canonical form (shapes,
per-dim ints, "SAME"/"VALID" or explicit ``(before, after)`` pairs, a data_format
name).  It runs numconv on given arrays (:meth:`OpConfig.run_numconv`), resolves its
geometry, and states how far a correct float result may be from the exact one
(:meth:`OpConfig.error_bound`).  The framework translations read it; they never
recompute the geometry themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from types import SimpleNamespace
from typing import Any

import numpy as np

import numconv as nc

from .. import _args, spellings
from ..layout import Layout
from ..geometry import Geometry, resolve

__all__ = ["OpConfig", "OPS", "same_pads", "same_total_pads", "valid_pads", "tf_mode"]

#: op name -> (kind, number of spatial dims; None for elementwise ops)
OPS: dict[str, tuple[str, int | None]] = {
    "conv1d": ("conv", 1), "conv2d": ("conv", 2), "conv3d": ("conv", 3),
    "depthwise_conv2d": ("depthwise", 2),
    "max_pool1d": ("max", 1), "max_pool2d": ("max", 2), "max_pool3d": ("max", 3),
    "avg_pool1d": ("avg", 1), "avg_pool2d": ("avg", 2), "avg_pool3d": ("avg", 3),
    "relu": ("relu", None), "relu6": ("relu6", None), "leaky_relu": ("leaky", None),
}

_FN = "OpConfig"


def _zeros(shape: tuple[int, ...]) -> Any:
    """A stand-in with the ``shape`` and ``ndim`` the shape validators read: no memory, and
    any shape (a configuration too large to run can still be described and translated)."""
    return SimpleNamespace(shape=tuple(shape), ndim=len(shape))


@dataclass(frozen=True)
class OpConfig:
    """One numconv op and its arguments, normalised.

    Parameters
    ----------
    op : str
        A name in :data:`OPS` (``"conv2d"``, ``"max_pool2d"``, ``"relu"``, ...).
    input_shape : sequence of int or str
        Full input shape in ``data_format`` order, e.g. ``(8, 56, 56, 64)`` or
        ``"8x56x56x64"``.
    filter_shape : sequence of int or str, optional
        Convolutions: ``(*window, C / groups, C_out)`` (TF's HWIO); depthwise:
        ``(kh, kw, C, multiplier)``.
    window : int or sequence of int, optional
        Pooling window.
    strides, dilations, padding, data_format
        As numconv's ops (``data_format`` None: channels-last).
    bias : bool
        Convolutions: add a bias vector.
    count_include_pad, ceil_mode, divisor_override
        Average/max pooling options (PyTorch's conventions, numconv's defaults).
    nan_policy : {"propagate", "ignore"}
        Max pooling: NaN handling (``"ignore"`` is TF's CPU behaviour).
    max_value, negative_slope, threshold, alpha
        ReLU family options.
    dtype : {"float16", "float32", "float64"}
        The dtype the frameworks compute in.

    Examples
    --------
    >>> c = OpConfig("conv2d", "1x5x5x1", filter_shape="3x3x1x1", strides=2, padding="SAME")
    >>> c.out_shape, c.geometry.pads
    ((1, 3, 3, 1), ((1, 1), (1, 1)))
    >>> OpConfig("max_pool2d", (1, 4, 4, 2), window=2, strides=2).describe()
    'max_pool2d input (1, 4, 4, 2) NHWC float32, window (2, 2), strides (2, 2), VALID'
    """

    op: str
    input_shape: Any
    filter_shape: Any = None
    window: Any = None
    strides: Any = 1
    dilations: Any = 1
    padding: Any = "VALID"
    data_format: Any = None
    bias: bool = False
    count_include_pad: bool = False
    ceil_mode: bool = False
    divisor_override: Any = None
    nan_policy: str = "propagate"
    max_value: Any = None
    negative_slope: Any = 0.0
    threshold: Any = 0.0
    alpha: Any = 0.2
    dtype: Any = "float32"
    geometry: Geometry | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        op = _args.choice(_FN, "op", self.op, tuple(OPS))
        set_(self, "op", op)
        kind, n = OPS[op]
        set_(self, "dtype", _args.float_dtype(_FN, "dtype", self.dtype).name)
        shape = _args.shape_arg(_FN, "input_shape", self.input_shape, minimum=0)
        set_(self, "input_shape", shape)
        for name in ("bias", "count_include_pad", "ceil_mode"):
            set_(self, name, _args.flag(_FN, name, getattr(self, name)))
        if n is None:  # elementwise: only the relu options matter
            self._relu_options(kind)
            return
        layout = spellings.layout(_FN, self.data_format, n, "input_shape", None,
                                  check=_zeros(shape))
        set_(self, "data_format", layout.name)
        set_(self, "strides", spellings.ints(_FN, "strides", self.strides, layout, default=None))
        set_(self, "dilations", spellings.ints(_FN, "dilations", self.dilations, layout,
                                               default=None))
        pad = spellings.padding(_FN, self.padding, layout)
        set_(self, "padding", pad)
        spatial = layout.spatial_shape(shape)
        channels = shape[layout.channel_axis]
        if kind in ("conv", "depthwise"):
            w = _args.shape_arg(_FN, "filter_shape", self.filter_shape, minimum=1)
            set_(self, "filter_shape", w)
            _args.filters(_FN, "filter_shape", _zeros(w), n)
            if kind == "depthwise" and w[-2] != channels:
                _args.fail(_FN, "filter_shape", f"in_channels (axis -2) must equal the input's "
                           f"channels ({channels})", None, shown=f"shape {w}")
            cin, cout = (1, w[-2] * w[-1]) if kind == "depthwise" else w[-2:]
            _args.groups(_FN, channels, cin, cout, "filter_shape")
            window = w[:n]
            for name, default in (("count_include_pad", False), ("ceil_mode", False),
                                  ("divisor_override", None), ("nan_policy", "propagate")):
                _args.only_for(_FN, name, getattr(self, name), default, "pooling")
        else:
            _args.only_for(_FN, "bias", self.bias, False, "convolutions")
            window = spellings.ints(_FN, "window", self.window, layout, full_rank=False,
                                    default=None)
            set_(self, "window", window)
            ceil = _args.ceil_mode(_FN, self.ceil_mode, pad)
            if self.divisor_override is not None:
                set_(self, "divisor_override", _args.integer(_FN, "divisor_override",
                                                             self.divisor_override))
            if kind == "max":
                _args.only_for(_FN, "count_include_pad", self.count_include_pad, False,
                               "average pooling")
                _args.only_for(_FN, "divisor_override", self.divisor_override, None,
                               "average pooling")
            set_(self, "nan_policy", _args.nan_policy(_FN, self.nan_policy, kind.upper()))
            set_(self, "geometry", resolve(spatial, window, self.strides, self.dilations, pad,
                                           ceil_mode=ceil))
            return
        set_(self, "geometry", resolve(spatial, window, self.strides, self.dilations, pad))

    def _relu_options(self, kind: str) -> None:
        set_ = object.__setattr__
        set_(self, "max_value", _args.number(_FN, "max_value", self.max_value, allow_none=True))
        set_(self, "negative_slope", _args.number(_FN, "negative_slope", self.negative_slope))
        set_(self, "threshold", _args.number(_FN, "threshold", self.threshold))
        set_(self, "alpha", _args.number(_FN, "alpha", self.alpha))
        if kind == "relu":
            nc.relu(np.zeros(0), max_value=self.max_value, negative_slope=self.negative_slope,
                    threshold=self.threshold)   # Keras's rules on the options, with their messages

    # ------------------------------------------------------------------ properties
    @property
    def kind(self) -> str:
        """One of conv, depthwise, max, avg, relu, relu6, leaky."""
        return OPS[self.op][0]

    @property
    def n_spatial(self) -> int | None:
        return OPS[self.op][1]

    @property
    def layout(self) -> Layout | None:
        n = self.n_spatial
        return None if n is None else Layout(n, self.data_format[1] != "C")

    @property
    def channels(self) -> int:
        lay = self.layout
        return self.input_shape[-1] if lay is None else self.input_shape[lay.channel_axis]

    @property
    def groups(self) -> int:
        """Convolution groups (depthwise: the channel count)."""
        if self.kind == "depthwise":
            return self.channels
        return self.channels // self.filter_shape[-2] if self.kind == "conv" else 1

    @property
    def out_channels(self) -> int:
        if self.kind == "conv":
            return self.filter_shape[-1]
        if self.kind == "depthwise":
            return self.filter_shape[-2] * self.filter_shape[-1]
        return self.channels

    @property
    def out_shape(self) -> tuple[int, ...]:
        """Shape of numconv's result (in ``data_format`` order)."""
        if self.geometry is None:
            return self.input_shape
        return tuple(self.layout.full_index(self.geometry.out_shape, self.input_shape[0],
                                            self.out_channels))

    @property
    def relu_is_plain(self) -> bool:
        """relu without Keras's options."""
        return self.max_value is None and self.negative_slope == 0 and self.threshold == 0

    def replace(self, **changes: Any) -> OpConfig:
        """A copy with some arguments changed (re-validated)."""
        current = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        current.update(changes)
        return OpConfig(**current)

    def describe(self) -> str:
        """One line: op, input, filters or window, strides, dilations, padding, options."""
        if self.n_spatial is None:
            parts = [f"{self.op} input {self.input_shape} {self.dtype}"]
            if self.kind == "leaky":
                parts.append(f"alpha {self.alpha:g}")
            elif self.kind == "relu" and not self.relu_is_plain:
                parts.append(f"max_value {self.max_value}, negative_slope "
                             f"{self.negative_slope:g}, threshold {self.threshold:g}")
            return ", ".join(parts)
        parts = [f"{self.op} input {self.input_shape} {self.data_format} {self.dtype}"]
        if self.filter_shape is not None:
            parts.append(f"filters {self.filter_shape}" + (" + bias" if self.bias else ""))
        else:
            parts.append(f"window {self.window}")
        parts.append(f"strides {self.strides}")
        if any(d > 1 for d in self.dilations):
            parts.append(f"dilations {self.dilations}")
        parts.append(self.padding if isinstance(self.padding, str)
                     else f"explicit pads {self.padding}")
        for name in ("ceil_mode", "count_include_pad"):
            if getattr(self, name):
                parts.append(f"{name}=True")
        if self.divisor_override is not None:
            parts.append(f"divisor_override={self.divisor_override}")
        if self.nan_policy != "propagate":
            parts.append(f"nan_policy={self.nan_policy!r}")
        return ", ".join(parts)

    # ------------------------------------------------------------------ numconv
    def random_inputs(self, seed: int = 0) -> dict[str, np.ndarray]:
        """Standard-normal ``x`` (and ``w``, ``b``) in the config's dtype."""
        rng = np.random.default_rng(seed)
        dt = np.dtype(self.dtype)
        out = {"x": rng.standard_normal(self.input_shape).astype(dt)}
        if self.filter_shape is not None:
            out["w"] = rng.standard_normal(self.filter_shape).astype(dt)
        if self.bias:
            out["b"] = rng.standard_normal(self.out_channels).astype(dt)
        return out

    def run_numconv(self, x: Any, w: Any = None, b: Any = None) -> np.ndarray:
        """numconv's result for this configuration (in the arrays' dtype)."""
        kind = self.kind
        if kind == "relu":
            return nc.relu(x, max_value=self.max_value, negative_slope=self.negative_slope,
                           threshold=self.threshold)
        if kind == "relu6":
            return nc.relu6(x)
        if kind == "leaky":
            return nc.leaky_relu(x, self.alpha)
        if kind in ("conv", "depthwise"):
            return getattr(nc, self.op)(x, w, self.strides, self.padding, self.data_format,
                                        self.dilations, bias=b if self.bias else None)
        common = dict(strides=self.strides, padding=self.padding, data_format=self.data_format,
                      dilations=self.dilations)
        if kind == "max":
            return nc.max_pool(x, self.window, ceil_mode=self.ceil_mode,
                               nan_policy=self.nan_policy, **common)
        return nc.avg_pool(x, self.window, ceil_mode=self.ceil_mode,
                           count_include_pad=self.count_include_pad,
                           divisor_override=self.divisor_override, **common)

    @property
    def n_terms(self) -> int:
        """Terms summed per output (convolution: taps x in-channels per group, + bias;
        average pool: taps + the division); 0 for exact ops."""
        kind = self.kind
        if kind in ("conv", "depthwise"):
            per_tap = 1 if kind == "depthwise" else self.filter_shape[-2]
            return math.prod(self.filter_shape[:-2]) * per_tap + int(self.bias)
        if kind == "avg":
            return math.prod(self.window) + 1
        return 0

    def terms(self, x: np.ndarray, w: np.ndarray | None = None,
              b: np.ndarray | None = None) -> np.ndarray | None:
        """``sum |terms|`` per output in float64 (None for exact ops).

        Convolution: ``conv(|x|, |w|) + |b|``; average pool: the average of ``|x|``.
        """
        kind = self.kind
        ax = np.abs(np.asarray(x, dtype=np.float64))
        if kind in ("conv", "depthwise"):
            s = self.replace(bias=False, dtype="float64").run_numconv(
                ax, np.abs(np.asarray(w, dtype=np.float64)))
            if b is not None and self.bias:
                shape = [1] * s.ndim
                shape[self.layout.channel_axis] = -1
                s = s + np.abs(np.asarray(b, dtype=np.float64)).reshape(shape)
            return s
        if kind == "avg":
            return self.replace(dtype="float64", nan_policy="propagate").run_numconv(ax)
        return None

    def error_bound(self, x: np.ndarray, w: np.ndarray | None = None,
                    b: np.ndarray | None = None, dtype: Any = None) -> np.ndarray | float:
        """Largest error a correctly rounded-per-operation result may have, per output.

        Sums of ``K`` terms: ``gamma_{K+1} * S`` with ``gamma_m = m u / (1 - m u)`` and
        ``u`` the unit roundoff of ``dtype`` (Higham, *Accuracy and Stability*, 3.1).
        Max pooling, relu and relu6: 0 (exact).  Sloped relu: ``4 u`` times the
        magnitudes involved (a subtraction, a product and the constants' rounding).
        """
        u = float(np.finfo(np.dtype(dtype or self.dtype)).eps) / 2
        s = self.terms(x, w, b)
        if s is not None:
            m = (self.n_terms + 1) * u
            return m / (1 - m) * s
        kind = self.kind
        if kind == "leaky" or (kind == "relu" and not self.relu_is_plain):
            ax = np.abs(np.asarray(x, dtype=np.float64))
            slope = self.alpha if kind == "leaky" else self.negative_slope
            top = abs(self.max_value or 0.0)
            return 4 * u * (ax * max(abs(slope), 1.0) + abs(self.threshold) * abs(slope) + top)
        return 0.0


def _same_dim(d: Any) -> bool:
    s = resolve((d.in_size,), (d.window,), (d.stride,), (d.dilation,), "SAME").dims[0]
    return (s.out_size, s.pad_before, s.pad_after) == (d.out_size, d.pad_before, d.pad_after)


def same_pads(g: Geometry) -> bool:
    """Whether a resolved geometry is exactly TF's SAME (same sizes, same pads) in every dim.

    >>> same_pads(resolve((5,), (2,), (2,), (1,), ((0, 0),), ceil_mode=True))   # pads (0, 1)
    True
    """
    return all(_same_dim(d) for d in g.dims)


def same_total_pads(g: Geometry) -> tuple[int, ...]:
    """SAME's total pad per dim before clamping at 0, ``(out - 1) * s + eff - in``: negative
    where the stride exceeds the window (frameworks that forget the clamp go wrong there).

    >>> same_total_pads(resolve((6, 7), (1, 3), (3, 2), (1, 1), "SAME"))   # out (2, 4)
    (-2, 2)
    """
    return tuple((d.out_size - 1) * d.stride + d.effective_window - d.in_size for d in g.dims)


def valid_pads(g: Geometry) -> bool:
    """Whether a resolved geometry has no padding at all (TF's VALID)."""
    return all((d.pad_before, d.pad_after) == (0, 0) for d in g.dims)


def tf_mode(c: OpConfig) -> str | None:
    """"SAME" or "VALID" when the geometry is exactly TF's (the user's spelling first), else None.

    >>> tf_mode(OpConfig("max_pool1d", "1x6x1", window=2, strides=2, padding="SAME"))
    'SAME'
    >>> tf_mode(OpConfig("max_pool1d", "1x5x1", window=2, strides=2, ceil_mode=True))
    'SAME'
    >>> tf_mode(OpConfig("max_pool1d", "1x5x1", window=3, padding=2)) is None
    True
    """
    g = c.geometry
    if c.padding == "SAME" or (c.padding != "VALID" and same_pads(g) and not valid_pads(g)):
        return "SAME"
    if valid_pads(g):
        return "VALID"
    return "SAME" if same_pads(g) else None
