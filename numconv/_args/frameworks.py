"""Arguments of the cross-checking tools (:mod:`numconv.crosscheck`) and the layers."""

from __future__ import annotations

import operator
from typing import Any, NoReturn, Sequence

import numpy as np

from .core import _is_sequence, array, fail, type_fail


def float_dtype(fn: str, arg: str, value: Any) -> np.dtype:
    """float16, float32 or float64 (a dtype, its name or the scalar type)."""
    rule = "must be float16, float32 or float64"
    try:
        dt = np.dtype(value)
    except TypeError:
        type_fail(fn, arg, rule, value)
    except Exception:  # noqa: BLE001  (NumPy's dtype-string parser: ValueError, SyntaxError)
        fail(fn, arg, rule, value)
    if dt.name not in ("float16", "float32", "float64"):
        fail(fn, arg, rule, value)
    return dt


def shape_arg(fn: str, arg: str, value: Any, minimum: int = 0) -> tuple[int, ...]:
    """A shape from ints or text such as ``"8x56x56x64"``; every size >= ``minimum``."""
    rule = "must be a shape: integers, as a sequence or joined by 'x' (such as 8x56x56x64)"
    if isinstance(value, str):
        parts = value.lower().replace(",", "x").split("x")
        if not all(p.strip().isdigit() for p in parts):
            fail(fn, arg, rule, value)
        value = [int(p) for p in parts]
    if not _is_sequence(value) or not len(value):
        type_fail(fn, arg, rule, value)
    for v in value:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            type_fail(fn, arg, rule, value)
    shape = tuple(operator.index(v) for v in value)
    if any(v < minimum for v in shape):
        fail(fn, arg, f"sizes must be >= {minimum}", shape)
    return shape


def only_for(fn: str, arg: str, value: Any, default: Any, what: str) -> None:
    """Refuse an option given a non-default value for an op it does not apply to."""
    if value is not default and value != default:
        fail(fn, arg, f"applies to {what} only", value)


def framework_names(fn: str, arg: str, value: Any, aliases: dict[str, str]) -> tuple[str, ...]:
    """Framework names from ``"tf,torch"`` or a sequence; ``aliases`` maps spellings to names."""
    known = ", ".join(sorted(set(aliases.values())))
    if isinstance(value, str):
        items = [v for v in value.replace(" ", ",").split(",") if v]
    elif _is_sequence(value) and all(isinstance(v, str) for v in value):
        items = list(value)
    else:
        type_fail(fn, arg, f"must be framework names ({known}), comma-separated or a list",
                  value)
    if not items:
        fail(fn, arg, f"must name at least one framework ({known})", value)
    out: list[str] = []
    for item in items:
        name = aliases.get(item.strip().lower())
        if name is None:
            fail(fn, arg, f"must name frameworks among {known}", value)
        if name not in out:
            out.append(name)
    return tuple(out)


def port_spec(fn: str, value: Any, aliases: dict[str, str]) -> tuple[str, str]:
    """``"tf->torch"`` (or ``"tf:torch"``) -> ``("tf", "torch")``: two different frameworks."""
    if not isinstance(value, str):
        type_fail(fn, "port", "must be a string such as 'tf->torch'", value)
    parts = value.replace(" ", "").lower().replace(":", "->").split("->")
    names = [aliases.get(p) for p in parts]
    if len(parts) != 2 or None in names:
        known = ", ".join(sorted(set(aliases.values())))
        fail(fn, "port", f"must be SOURCE->TARGET with frameworks among {known}", value)
    if names[0] == names[1]:
        fail(fn, "port", "must name two different frameworks", value)
    return names[0], names[1]


def install_hint(extras: Sequence[str]) -> str:
    """The pip command installing numconv's ``extras``, quoted for any shell (zsh too).

    >>> print(install_hint(["jax", "onnx", "jax"]))
    pip install "numconv[jax,onnx]"
    """
    return f'pip install "numconv[{",".join(dict.fromkeys(extras))}]"'


def missing_text(missing: dict[str, tuple[str, str]]) -> str:
    """``framework -> (why, extra)`` as one line: each framework, why, then the pip command.

    >>> print(missing_text({"jax": ("no module 'jax'", "jax")}))
    jax (no module 'jax'); pip install "numconv[jax]"
    """
    names = ", ".join(f"{name} ({why})" for name, (why, _) in missing.items())
    return f"{names}; {install_hint([extra for _, extra in missing.values()])}"


def missing_frameworks(fn: str, missing: dict[str, tuple[str, str]], module: str,
                       asked: int = 1) -> NoReturn:
    """ModuleNotFoundError naming the frameworks that cannot be imported and the pip command;
    ``asked`` is how many were asked for (all of them are missing)."""
    head = "not installed" if asked == 1 else f"none of the {asked} frameworks asked for " \
        "is installed"
    raise ModuleNotFoundError(f"{fn}: {head}: {missing_text(missing)}", name=module)


def inexpressible(fn: str, framework: str, reason: str) -> NoReturn:
    """ValueError for a configuration a framework cannot express."""
    raise ValueError(f"{fn}: {framework} cannot express this configuration: {reason}")


def unsupported_layer(fn: str, index: int, layer: Any, supported: Sequence[str]) -> NoReturn:
    """TypeError for a framework layer the converter does not support."""
    raise TypeError(f"{fn}: layer {index} must be one of {', '.join(supported)}, got "
                    f"{type(layer).__name__} {getattr(layer, 'name', '')!r}".rstrip(" '"))


def unsupported_option(fn: str, index: int, layer: Any, option: str, value: Any,
                       rule: str) -> NoReturn:
    """ValueError for a layer option the converter cannot reproduce."""
    fail(fn, f"layer {index} ({type(layer).__name__}) {option}", rule, value)


def onnx_label(index: int, node: Any) -> str:
    """``node 3 'name' (OpType)``: an ONNX node by its index, its name if any, its op type."""
    name = f" {node.name!r}" if getattr(node, "name", "") else ""
    return f"node {index}{name} ({node.op_type})"


def onnx_node(fn: str, index: int, node: Any, what: str, rule: str, got: Any) -> NoReturn:
    """ValueError for an ONNX node (``what``: "" or "attribute X") a converter cannot reproduce."""
    fail(fn, f"{onnx_label(index, node)}{' ' + what if what else ''}", rule, got)


def unbuilt_model(fn: str, model: Any) -> NoReturn:
    """ValueError for a Keras model without weights yet."""
    fail(fn, "model", "must be built (give it a keras.Input or call it once) so that its "
         "weights exist", None, shown=f"an unbuilt {type(model).__name__}")


def weights_shapes(fn: str, layer: str, got: Sequence[tuple[int, ...]],
                   expected: Sequence[tuple[int, ...]]) -> None:
    """Require weight arrays of the expected shapes."""
    if [tuple(g) for g in got] != [tuple(e) for e in expected]:
        fail(fn, "weights", f"of {layer} must have shapes {[tuple(e) for e in expected]}",
             None, shown=f"shapes {[tuple(g) for g in got]}")


def model_file(fn: str, path: Any, reason: str) -> NoReturn:
    """ValueError for a file that is not a saved numconv model."""
    raise ValueError(f"{fn}: path must be a model saved by Sequential.save ({reason}), "
                     f"got {str(path)!r}")


def from_inner(fn: str, args: str, stage: str, exc: Exception) -> NoReturn:
    """Re-raise an inner op's ValueError/TypeError (e.g. a memory limit) as ``fn``'s own."""
    raise type(exc)(f"{fn}: {args} must give a computable {stage} stage ({exc})") from None


def relabel(fn: str, arg: str, rule: str, exc: Exception) -> NoReturn:
    """Re-raise a callee's ValueError/TypeError as ``"fn: arg rule (callee's message)"``."""
    raise type(exc)(f"{fn}: {arg} {rule} ({exc})") from None


def float_array(fn: str, arg: str, value: Any) -> np.ndarray:
    """A float16, float32 or float64 array (the dtypes whose bits the ULP metrics count)."""
    x = array(fn, arg, value)
    if x.dtype.name not in ("float16", "float32", "float64"):
        type_fail(fn, arg, "must be a float16, float32 or float64 array", None,
                  shown=f"dtype {x.dtype}")
    return x


def tolerance(fn: str, arg: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A per-element tolerance, float64, broadcastable to ``shape``: no negative values (NaN
    passes: the bound of a NaN input, which the caller treats as 0)."""
    t = array(fn, arg, value).astype(np.float64)
    if not _broadcasts(t.shape, shape):
        fail(fn, arg, f"must be a number or an array that fits the shape {shape} (trailing "
             "dims equal or 1)", None, shown=f"shape {t.shape}")
    if (t < 0).any():
        fail(fn, arg, "must be non-negative", None,
             shown=repr(float(t)) if t.ndim == 0 else f"minimum {np.nanmin(t)!r}")
    return np.broadcast_to(t, shape)


def _broadcasts(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    if len(shape) > len(target):
        return False
    return all(s in (1, t) for s, t in zip(shape[::-1], target[::-1]))
