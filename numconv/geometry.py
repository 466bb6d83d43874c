"""The window geometry engine: output size and padding per spatial dimension.

Pure integer code, no arrays.  Given an input size, a window, a stride, a dilation
and a padding spec it returns the output size and the pads before and after, exactly
as TensorFlow's ``GetWindowedOutputSizeVerbose``
(tensorflow/core/framework/kernel_shape_util.cc) and PyTorch's pooling shape rule
(``pooling_output_shape`` in aten/src/ATen/native/Pool.h), and explains itself.

With the effective window ``eff = (k - 1) * d + 1``:

* ``VALID``:    ``out = (in - eff + s) // s``, clamped at 0 (an empty output; TF raises
  instead when ``in - eff + s <= -s``); no padding.
* ``SAME``:     ``out = ceil(in / s)``; total pad ``P = max((out - 1) * s + eff - in, 0)``,
  ``before = P // 2``, ``after = P - before`` (the odd pixel goes after).  ONNX calls
  it ``SAME_UPPER``.
* ``SAME_LOWER`` (ONNX's ``auto_pad``): as SAME, but the odd pixel goes first:
  ``before = P - P // 2``, ``after = P // 2``.
* explicit ``(b, a)``: ``out = (in + b + a - eff + s) // s`` (clamped at 0).
* explicit with ``ceil_mode`` (PyTorch): ``out = ceil((in + b + a - eff) / s) + 1``, then
  ``out -= 1`` if the last window would start at or past ``in + b`` (inside the right
  padding).  Windows that run past the right pad read extra padding, recorded as
  ``overhang``.  PyTorch refuses pads larger than half the effective window; there
  numconv applies the same formula as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Union

__all__ = ["DimGeometry", "Geometry"]

#: canonical padding: "SAME", "SAME_LOWER", "VALID" or one (before, after) pair per
#: spatial dim (:func:`numconv._args.padding` makes it from every accepted spelling)
Padding = Union[str, tuple[tuple[int, int], ...]]

#: the padding modes that keep ``out = ceil(in / stride)``
SAME_MODES = ("SAME", "SAME_LOWER")


@dataclass(frozen=True)
class DimGeometry:
    """Geometry of one spatial dimension.

    Attributes
    ----------
    in_size, window, stride, dilation : int
        The inputs.
    mode : str
        ``"SAME"``, ``"SAME_LOWER"``, ``"VALID"`` or ``"EXPLICIT"``.
    out_size : int
        Number of windows (output size), >= 0.
    pad_before, pad_after : int
        Padding to apply so that every window lies inside the padded input.
        ``pad_after`` includes ``overhang``.
    overhang : int
        Padding beyond the declared explicit pad that ``ceil_mode`` windows read
        (PyTorch does not count it even with ``count_include_pad``).
    ceil_mode : bool
        Whether PyTorch's ceil rounding was used.
    """

    in_size: int
    window: int
    stride: int
    dilation: int
    mode: str
    out_size: int
    pad_before: int
    pad_after: int
    overhang: int = 0
    ceil_mode: bool = False

    @property
    def effective_window(self) -> int:
        """``(window - 1) * dilation + 1``: the span one window covers."""
        return (self.window - 1) * self.dilation + 1

    @property
    def declared_pad_after(self) -> int:
        """The pad after the input without the ceil-mode overhang."""
        return self.pad_after - self.overhang

    @property
    def padded_size(self) -> int:
        """``pad_before + in_size + pad_after``."""
        return self.pad_before + self.in_size + self.pad_after

    def explain(self) -> str:
        """The derivation of this dimension's output size and pads, in words.

        Examples
        --------
        >>> print(resolve_dim(224, 7, 2, padding="SAME").explain())
        SAME: out = ceil(224/2) = 112; total pad = max((112-1)*2 + 7 - 224, 0) = 5 -> before 2, after 3
        >>> print(resolve_dim(224, 7, 2, padding="SAME_LOWER").explain())
        SAME_LOWER: out = ceil(224/2) = 112; total pad = max((112-1)*2 + 7 - 224, 0) = 5 -> before 3, after 2
        >>> print(resolve_dim(5, 3, 2, padding="VALID").explain())
        VALID: out = (5 - 3 + 2) // 2 = 2; no padding
        """
        k, s, n, eff = self.window, self.stride, self.in_size, self.effective_window
        parts = []
        if self.dilation != 1:
            parts.append(f"effective window = ({k}-1)*{self.dilation} + 1 = {eff}")
        if self.mode in SAME_MODES:
            total = self.pad_before + self.pad_after
            parts.append(
                f"{self.mode}: out = ceil({n}/{s}) = {self.out_size}; total pad = "
                f"max(({self.out_size}-1)*{s} + {eff} - {n}, 0) = {total} -> "
                f"before {self.pad_before}, after {self.pad_after}")
        elif self.mode == "VALID" and not self.ceil_mode:
            raw = (n - eff + s) // s
            text = f"VALID: out = ({n} - {eff} + {s}) // {s} = {raw}"
            if raw < 0:
                text += " -> clamped to 0 (empty output)"
            parts.append(text + "; no padding")
        else:
            b, a = self.pad_before, self.declared_pad_after
            if self.ceil_mode:
                raw = -((n + b + a - eff) // -s) + 1
                text = (f"{self.mode} ceil_mode: out = ceil(({n} + {b} + {a} - {eff})/{s}) + 1 "
                        f"= {raw}")
                if raw > self.out_size and self.out_size > 0:
                    text += (f" -> {self.out_size} (the last window would start at "
                             f"{(raw - 1) * s} >= {n} + {b}, inside the right padding)")
                elif raw != self.out_size:
                    text += f" -> clamped to {self.out_size}"
                if self.overhang:
                    text += f"; the last window reads {self.overhang} more padding after"
            else:
                raw = (n + b + a - eff + s) // s
                text = f"EXPLICIT: out = ({n} + {b} + {a} - {eff} + {s}) // {s} = {raw}"
                if raw < 0:
                    text += " -> clamped to 0 (empty output)"
            parts.append(text + f"; pads before {b}, after {a}")
        return "; ".join(parts)


@dataclass(frozen=True)
class Geometry:
    """Geometry of all spatial dimensions of one windowed op."""

    dims: tuple[DimGeometry, ...]

    def __post_init__(self) -> None:
        # the derived tuples, computed once: kernels read them per block and per tap
        derived = {"_out_shape": tuple(d.out_size for d in self.dims),
                   "_pads": tuple((d.pad_before, d.pad_after) for d in self.dims),
                   "_window": tuple(d.window for d in self.dims)}
        for name, value in derived.items():
            object.__setattr__(self, name, value)

    @property
    def out_shape(self) -> tuple[int, ...]:
        """Output spatial shape."""
        return self._out_shape  # type: ignore[attr-defined,no-any-return]

    @property
    def pads(self) -> tuple[tuple[int, int], ...]:
        """``(pad_before, pad_after)`` per dimension (overhang included)."""
        return self._pads  # type: ignore[attr-defined,no-any-return]

    @property
    def window(self) -> tuple[int, ...]:
        return self._window  # type: ignore[attr-defined,no-any-return]

    @property
    def strides(self) -> tuple[int, ...]:
        return tuple(d.stride for d in self.dims)

    @property
    def dilations(self) -> tuple[int, ...]:
        return tuple(d.dilation for d in self.dims)

    @property
    def padded(self) -> bool:
        """Whether any padding is applied."""
        return any(b or a for b, a in self._pads)  # type: ignore[attr-defined]

    def explain(self) -> str:
        """One line per dimension (``dim 0: ...``)."""
        if len(self.dims) == 1:
            return self.dims[0].explain()
        return "\n".join(f"dim {i}: {d.explain()}" for i, d in enumerate(self.dims))


def resolve_dim(in_size: int, window: int, stride: int = 1, dilation: int = 1,
                padding: str | tuple[int, int] = "VALID", ceil_mode: bool = False) -> DimGeometry:
    """Output size and pads of one dimension (arguments already validated).

    Parameters
    ----------
    in_size : int
        Input size (>= 0).
    window, stride, dilation : int
        Positive ints.
    padding : {"SAME", "SAME_LOWER", "VALID"} or (int, int)
        A padding mode or explicit ``(before, after)`` pads.
    ceil_mode : bool
        PyTorch's ceil rounding (with "VALID" or explicit pads only).

    Returns
    -------
    DimGeometry

    Examples
    --------
    >>> g = resolve_dim(224, 7, 2, padding="SAME")
    >>> g.out_size, g.pad_before, g.pad_after
    (112, 2, 3)
    >>> g = resolve_dim(224, 7, 2, padding="SAME_LOWER")       # ONNX: the odd pixel first
    >>> g.out_size, g.pad_before, g.pad_after
    (112, 3, 2)
    >>> resolve_dim(5, 2, 2, padding=(0, 0), ceil_mode=True).out_size   # PyTorch ceil_mode
    3
    """
    eff = (window - 1) * dilation + 1
    if padding in SAME_MODES:
        out = -(-in_size // stride)
        total = max((out - 1) * stride + eff - in_size, 0)
        small, large = total // 2, total - total // 2
        before, after = (small, large) if padding == "SAME" else (large, small)
        return DimGeometry(in_size, window, stride, dilation, padding, out, before, after)
    mode = "VALID" if padding == "VALID" else "EXPLICIT"
    before, after = (0, 0) if padding == "VALID" else padding
    span = in_size + before + after - eff
    if not ceil_mode:
        out = max((span + stride) // stride, 0)
        return DimGeometry(in_size, window, stride, dilation, mode, out, before, after)
    if span <= -stride:  # not even a window that starts at the first element
        out = 0
    else:
        out = -(span // -stride) + 1
        if (out - 1) * stride >= in_size + before:
            out -= 1
    overhang = max((out - 1) * stride + eff - (in_size + before + after), 0) if out else 0
    return DimGeometry(in_size, window, stride, dilation, mode, out, before, after + overhang,
                       overhang, True)


def resolve(in_sizes: Sequence[int], window: Sequence[int], strides: Sequence[int],
            dilations: Sequence[int], padding: Padding,
            ceil_mode: bool = False) -> Geometry:
    """Resolve every spatial dimension; arguments are canonical (see :mod:`numconv.spec`).

    >>> resolve((5, 6), (3, 3), (2, 2), (1, 1), "SAME_LOWER").pads
    ((1, 1), (1, 0))
    """
    pads = padding if not isinstance(padding, str) else [padding] * len(in_sizes)
    return Geometry(tuple(resolve_dim(n, k, s, d, p, ceil_mode)
                          for n, k, s, d, p in zip(in_sizes, window, strides, dilations, pads)))
