"""Layer-by-layer comparison of a numconv model with a live Keras / PyTorch / ONNX model.

Each layer of the other model runs on the previous layer's *own* output; numconv
recomputes that layer in float64 on the same input (the local truth) and follows its
own float64 chain from the model input (the chained truth).  The local error against
the layer's stated bound tells which layer first computes differently; the chained
error shows how differences grow.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _args
from ..crosscheck.metrics import ErrorStats, error_stats
from .core import Model
from .onnx_import import onnxruntime_outputs

__all__ = ["compare_layers", "LayerReport", "LayerRow"]


@dataclass
class LayerRow:
    """One layer's comparison."""

    index: int
    name: str
    kind: str
    shape: tuple[int, ...]
    numconv_shape: tuple[int, ...]
    local: ErrorStats | None
    chained: ErrorStats | None

    @property
    def status(self) -> str:
        if self.shape != self.numconv_shape:
            return "shape mismatch"
        return "ok" if self.local is not None and self.local.within_bound else "differs"

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "kind": self.kind,
                "shape": list(self.shape), "numconv_shape": list(self.numconv_shape),
                "status": self.status,
                "local": None if self.local is None else self.local.to_dict(),
                "chained": None if self.chained is None else self.chained.to_dict()}


@dataclass
class LayerReport:
    """Rows per layer; ``first_difference`` is the first row whose status is not ok."""

    other: str
    input_shape: tuple[int, ...]
    dtype: str
    rows: list[LayerRow] = field(default_factory=list)

    @property
    def first_difference(self) -> LayerRow | None:
        return next((r for r in self.rows if r.status != "ok"), None)

    @property
    def ok(self) -> bool:
        return self.first_difference is None

    def to_dict(self) -> dict[str, Any]:
        first = self.first_difference
        return {"other": self.other, "input_shape": list(self.input_shape), "dtype": self.dtype,
                "first_difference": None if first is None else first.index,
                "rows": [r.to_dict() for r in self.rows]}

    def table(self) -> str:
        head = ("#", "layer", "kind", "output shape", "local max abs", "local err/bound",
                "chained max abs", "chained max rel", "status")
        rows = [head]
        for r in self.rows:
            loc, ch = r.local, r.chained
            shape = str(r.shape) if r.shape == r.numconv_shape else \
                f"{r.shape} vs numconv {r.numconv_shape}"
            rows.append((str(r.index), r.name, r.kind, shape,
                         "" if loc is None else f"{loc.max_abs:.3g}",
                         "" if loc is None or loc.bound_ratio is None else f"{loc.bound_ratio:.3g}",
                         "" if ch is None else f"{ch.max_abs:.3g}",
                         "" if ch is None else f"{ch.max_rel:.3g}", r.status))
        widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
        lines = [f"layer by layer: numconv vs {self.other}, input {self.input_shape} {self.dtype}",
                 "local: the layer on the other model's own input vs numconv in float64 on it; "
                 "chained: vs numconv's float64 chain from the model input", ""]
        lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in rows]
        first = self.first_difference
        lines.append("")
        lines.append("first difference: " + ("none (every layer agrees within its stated "
                     "tolerance)" if first is None else
                     f"layer {first.index} ({first.name}, {first.kind}): {first.status}"))
        return "\n".join(lines) + "\n"

    __str__ = table


def _other_outputs(other: Any, x: np.ndarray) -> tuple[str, list[tuple[str, str, np.ndarray]]]:
    """``(description, [(name, kind, output)])`` of every layer of ``other``."""
    module = type(other).__module__
    if module.startswith("onnx") or isinstance(other, (str, os.PathLike)):
        return onnxruntime_outputs(other, x)
    if isinstance(other, Model):
        try:
            outs = other.outputs(x)
        except (ValueError, TypeError) as exc:
            _args.relabel("compare_layers", "other", "must accept x", exc)
        return (f"numconv Sequential {other.name!r}",
                [(l.name, type(l).__name__, o) for l, o in zip(other.layers, outs)])
    if module.startswith("torch"):
        import torch
        out = []
        with torch.no_grad():
            a = torch.from_numpy(np.ascontiguousarray(x))
            for i, m in enumerate(other.children()):
                a = m(a)
                out.append((str(i), type(m).__name__, a.detach().cpu().numpy()))
        return f"torch {type(other).__name__}", out
    if module.startswith(("keras", "tf_keras", "tensorflow")) and hasattr(other, "layers"):
        import keras
        out = []
        a: Any = x
        for layer in other.layers:
            if type(layer).__name__ == "InputLayer":
                continue
            a = layer(a)
            out.append((layer.name, type(layer).__name__, keras.ops.convert_to_numpy(a)))
        return f"keras {type(other).__name__} {getattr(other, 'name', '')!r}", out
    _args.type_fail("compare_layers", "other", "must be a Keras model, a torch.nn.Sequential, "
                    "an ONNX model (or .onnx path) or a numconv Sequential", other)


def compare_layers(model: Model, other: Any, x: Any, dtype: Any = np.float32) -> LayerReport:
    """Compare ``model`` with ``other`` layer by layer on input ``x``.

    Parameters
    ----------
    model : Sequential
        The numconv model (e.g. from :meth:`Sequential.from_keras`).
    other : keras.Model, torch.nn.Sequential, onnx.ModelProto, path or Sequential
        Must have one layer per numconv layer (Keras InputLayers are skipped; an ONNX
        model, or the path of a ``.onnx`` file, runs in ONNX Runtime with every layer's
        output exposed, MatMul + Add counting as one layer).
    x : array_like
        Model input, cast to ``dtype`` (the other model's dtype).
    dtype : dtype
        The precision the other model computes in (tolerances use its unit roundoff).

    Returns
    -------
    LayerReport

    Raises
    ------
    ValueError, TypeError
        Naming ``x`` when ``model`` refuses it (wrong rank or channels, say: the layer's
        message follows in parentheses), ``other`` when a numconv ``other`` does.
    """
    fn = "compare_layers"
    _args.instance(fn, "model", model, Model, "a numconv.layers.Sequential")
    dt = _args.float_dtype(fn, "dtype", dtype)
    with np.errstate(over="ignore"):        # beyond the dtype's range: inf, as a cast in TF
        xin = _args.array(fn, "x", x).astype(dt)
    try:                                    # x is checked by the numconv model itself
        chained = model.outputs(xin.astype(np.float64))
    except (ValueError, TypeError) as exc:
        _args.relabel(fn, "x", "must be an input the model accepts", exc)
    desc, theirs = _other_outputs(other, xin)
    if len(theirs) != len(model.layers):
        _args.fail(fn, "other", f"must have one layer per numconv layer ({len(model.layers)})",
                   None, shown=f"{len(theirs)} layers")
    report = LayerReport(desc, xin.shape, dt.name)
    prev = xin
    for i, (layer, chain, (name, kind, y)) in enumerate(zip(model.layers, chained, theirs)):
        local_in = np.asarray(prev).astype(np.float64)
        local = layer(local_in)
        y = np.asarray(y)
        if y.shape != local.shape:
            report.rows.append(LayerRow(i, name, kind, y.shape, local.shape, None, None))
            break
        bound = layer.error_bound(local_in, dt)
        report.rows.append(LayerRow(i, name, kind, y.shape, local.shape,
                                    error_stats(y, local, bound), error_stats(y, chain)))
        prev = y
    return report
