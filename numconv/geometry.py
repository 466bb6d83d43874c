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
  ``before = P // 2``, ``after = P - before`` (the odd pixel goes after).
* explicit ``(b, a)``: ``out = (in + b + a - eff + s) // s`` (clamped at 0).
* explicit with ``ceil_mode`` (PyTorch): ``out = ceil((in + b + a - eff) / s) + 1``, then
  ``out -= 1`` if the last window would start at or past ``in + b`` (inside the right
  padding).  Windows that run past the right pad read extra padding, recorded as
  ``overhang``.  PyTorch refuses pads larger than half the effective window; there
  numconv applies the same formula as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from . import _args

__all__ = ["DimGeometry", "Geometry", "resolve_dim", "resolve", "explain"]


@dataclass(frozen=True)
class DimGeometry:
    """Geometry of one spatial dimension.

    Attributes
    ----------
    in_size, window, stride, dilation : int
        The inputs.
    mode : str
        ``"SAME"``, ``"VALID"`` or ``"EXPLICIT"``.
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
        >>> print(resolve_dim(5, 3, 2, padding="VALID").explain())
        VALID: out = (5 - 3 + 2) // 2 = 2; no padding
        """
        k, s, n, eff = self.window, self.stride, self.in_size, self.effective_window
        parts = []
        if self.dilation != 1:
            parts.append(f"effective window = ({k}-1)*{self.dilation} + 1 = {eff}")
        if self.mode == "SAME":
            total = self.pad_before + self.pad_after
            parts.append(
                f"SAME: out = ceil({n}/{s}) = {self.out_size}; total pad = "
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

    @property
    def out_shape(self) -> tuple[int, ...]:
        """Output spatial shape."""
        return tuple(d.out_size for d in self.dims)

    @property
    def pads(self) -> tuple[tuple[int, int], ...]:
        """``(pad_before, pad_after)`` per dimension (overhang included)."""
        return tuple((d.pad_before, d.pad_after) for d in self.dims)

    @property
    def window(self) -> tuple[int, ...]:
        return tuple(d.window for d in self.dims)

    @property
    def strides(self) -> tuple[int, ...]:
        return tuple(d.stride for d in self.dims)

    @property
    def dilations(self) -> tuple[int, ...]:
        return tuple(d.dilation for d in self.dims)

    @property
    def padded(self) -> bool:
        """Whether any padding is applied."""
        return any(b or a for b, a in self.pads)

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
    padding : {"SAME", "VALID"} or (int, int)
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
    >>> resolve_dim(5, 2, 2, padding=(0, 0), ceil_mode=True).out_size   # PyTorch ceil_mode
    3
    """
    eff = (window - 1) * dilation + 1
    if padding == "SAME":
        out = -(-in_size // stride)
        total = max((out - 1) * stride + eff - in_size, 0)
        return DimGeometry(in_size, window, stride, dilation, "SAME", out, total // 2,
                           total - total // 2)
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
            dilations: Sequence[int], padding: _args.Padding,
            ceil_mode: bool = False) -> Geometry:
    """Resolve every spatial dimension; arguments are canonical (see :mod:`numconv._args`)."""
    pads = padding if not isinstance(padding, str) else [padding] * len(in_sizes)
    return Geometry(tuple(resolve_dim(n, k, s, d, p, ceil_mode)
                          for n, k, s, d, p in zip(in_sizes, window, strides, dilations, pads)))


def explain(input: Any, window: Any, stride: Any = 1, padding: Any = "SAME",
            dilation: Any = 1, ceil_mode: bool = False) -> str:
    """Explain, step by step, the output size and padding of a windowed op.

    Parameters
    ----------
    input : int or sequence of int
        Spatial input size(s); one per spatial dimension.
    window : int or sequence of int
        Window (kernel or pool) size, broadcast to every dimension if an int.
    stride, dilation : int or sequence of int
        Broadcast like ``window``.
    padding : "SAME", "VALID", int, or sequence of (before, after)
        As accepted by the ops.
    ceil_mode : bool
        PyTorch's ceil rounding for pooling (VALID or explicit padding).

    Returns
    -------
    str
        One line per dimension.

    Raises
    ------
    ValueError, TypeError
        For invalid arguments.

    Examples
    --------
    >>> print(explain(224, 7, 2, "SAME"))
    SAME: out = ceil(224/2) = 112; total pad = max((112-1)*2 + 7 - 224, 0) = 5 -> before 2, after 3
    >>> print(explain((5, 6), 3, 1, "VALID", dilation=(1, 2)))
    dim 0: VALID: out = (5 - 3 + 1) // 1 = 3; no padding
    dim 1: effective window = (3-1)*2 + 1 = 5; VALID: out = (6 - 5 + 1) // 1 = 2; no padding
    """
    fn = "explain"
    if isinstance(input, (int,)) and not isinstance(input, bool):
        sizes: tuple[int, ...] = (_args.integer(fn, "input", input, minimum=0),)
    else:
        if _args._is_sequence(input) and len(input) == 0:
            _args.fail(fn, "input", "must give at least one spatial size", input)
        sizes = _args.int_tuple(fn, "input", input, len(input) if _args._is_sequence(input)
                                else 1, minimum=0)
    n = len(sizes)
    geometry = resolve(sizes, _args.int_tuple(fn, "window", window, n),
                       _args.int_tuple(fn, "stride", stride, n),
                       _args.int_tuple(fn, "dilation", dilation, n),
                       _args.padding(fn, padding, n),
                       ceil_mode=_args.ceil_mode(fn, ceil_mode, _args.padding(fn, padding, n)))
    return geometry.explain()

