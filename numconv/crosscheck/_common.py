"""Shared pieces of the translations: the Translation record, a code builder, pads.

A translation is runnable Python source defining ``run(x, w=None, b=None)``: it takes
NumPy arrays in numconv's conventions (input in the config's data_format, filters in
TF's ``(*window, in/groups, out)`` layout, bias ``(out,)``) and returns a NumPy array
in the config's data_format.  :meth:`Translation.build` compiles that same source, so
the text shown to a user is exactly the code the comparisons run.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .. import _args
from ..geometry import Geometry
from .config import OpConfig

#: framework name -> (display name, modules to import, pip extra)
FRAMEWORKS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "tf": ("TensorFlow (tf.nn)", ("tensorflow",), "tf"),
    "keras": ("Keras layers", ("keras",), "tf"),
    "torch": ("PyTorch (torch.nn.functional)", ("torch",), "torch"),
    "jax": ("JAX (jax.lax)", ("jax",), "jax"),
    "onnx": ("ONNX Runtime (one-node ONNX model, CPU)", ("onnx", "onnxruntime"), "onnx"),
}

#: accepted spellings -> framework name
ALIASES: dict[str, str] = {
    "tf": "tf", "tensorflow": "tf", "keras": "keras", "torch": "torch", "pytorch": "torch",
    "jax": "jax", "lax": "jax", "onnx": "onnx", "onnxruntime": "onnx", "ort": "onnx",
}

#: the frameworks a comparison tries when none are named (Keras runs on TF's kernels)
DEFAULT_FRAMEWORKS = ("tf", "torch", "jax", "onnx")


def unavailable(framework: str) -> tuple[str, str] | None:
    """Import a framework's modules: None, or ``(module, why)`` for the first that fails
    (not installed, or a broken install that raises on import)."""
    for module in FRAMEWORKS[framework][1]:
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001  (a broken install may raise anything)
            if isinstance(exc, ModuleNotFoundError) and exc.name == module:
                return module, f"no module {module!r}"
            text = " ".join(str(exc).split())[:200]
            return module, f"import {module} failed: {type(exc).__name__}: {text}"
    return None


def require(framework: str, fn: str = "numconv.crosscheck") -> Any:
    """Import a framework's modules (the first is returned), or raise ModuleNotFoundError
    naming the pip extra."""
    failed = unavailable(framework)
    if failed is not None:
        _args.missing_frameworks(fn, {framework: (failed[1], FRAMEWORKS[framework][2])},
                                 failed[0])
    return importlib.import_module(FRAMEWORKS[framework][1][0])


@dataclass(frozen=True)
class Translation:
    """One configuration in one framework: runnable code, or why it cannot be expressed.

    Attributes
    ----------
    framework : str
        ``"tf"``, ``"keras"``, ``"torch"``, ``"jax"`` or ``"onnx"``.
    config : OpConfig
    code : str or None
        Python source defining ``run(x, w=None, b=None)`` (see the module notes).
    reason : str or None
        Why the framework cannot express the configuration (``code`` is None then).
    notes : tuple of str
        What the translation had to do and why (asymmetric pads, dtype workarounds).
    """

    framework: str
    config: OpConfig
    code: str | None = None
    reason: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def expressible(self) -> bool:
        return self.code is not None

    def build(self) -> Callable[..., np.ndarray]:
        """Compile :attr:`code` and return its ``run`` function (imports the framework).

        Raises
        ------
        ValueError
            If the framework cannot express the configuration.
        ModuleNotFoundError
            If the framework is not installed (the message names the pip extra).
        """
        if self.code is None:
            _args.inexpressible("Translation.build", self.framework, str(self.reason))
        require(self.framework, "Translation.build")
        namespace: dict[str, Any] = {}
        exec(compile(self.code, f"<numconv.crosscheck {self.framework}: {self.config.op}>",
                     "exec"), namespace)
        return namespace["run"]

    def __str__(self) -> str:
        if self.code is None:
            return f"# {FRAMEWORKS[self.framework][0]} cannot express {self.config.describe()}:" \
                   f"\n# {self.reason}\n"
        return self.code

    def to_dict(self) -> dict[str, Any]:
        return {"framework": self.framework, "expressible": self.expressible,
                "code": self.code, "reason": self.reason, "notes": list(self.notes)}


class Code:
    """Builds the source of one ``run`` function."""

    def __init__(self, config: OpConfig, imports: list[str]) -> None:
        self.config = config
        self.imports = imports
        self.lines: list[str] = []
        self.notes: list[str] = []

    def add(self, line: str, comment: str | None = None) -> None:
        self.lines.append(line if comment is None else f"{line}  # {comment}")

    def note(self, text: str) -> None:
        self.notes.append(text)

    def translation(self, framework: str, wrap: str | None = None) -> Translation:
        body = self.lines
        if wrap is not None:
            body = [wrap] + ["    " + line for line in body]
        head = "\n".join(self.imports)
        doc = f'    """{self.config.describe()}."""'
        text = f"{head}\n\n\ndef run(x, w=None, b=None):\n{doc}\n" + "".join(
            f"    {line}\n" for line in body)
        return Translation(framework, self.config, text, None, tuple(self.notes))


def cannot(framework: str, config: OpConfig, reason: str) -> Translation:
    return Translation(framework, config, None, reason)


def extent_pads(g: Geometry) -> tuple[tuple[int, int], ...]:
    """Pads that make exactly numconv's windows fit a VALID (floor) pass.

    ``before`` is numconv's; ``after`` is what the last window needs beyond the input,
    ``max((out - 1) * s + eff - in - before, 0)``, which never exceeds numconv's own
    ``pad_after`` and gives the same output size with floor rounding.

    >>> from numconv.geometry import resolve
    >>> extent_pads(resolve((5,), (2,), (2,), (1,), ((0, 0),), ceil_mode=True))
    ((0, 1),)
    """
    out = []
    for d in g.dims:
        need = (d.out_size - 1) * d.stride + d.effective_window - d.in_size - d.pad_before
        out.append((d.pad_before, max(need, 0) if d.out_size else 0))
    return tuple(out)


def fmt(value: Any) -> str:
    """Python literal for tuples of ints (1-tuples without the odd comma in prose)."""
    return repr(tuple(value)) if isinstance(value, (tuple, list)) else repr(value)


def relu_lines(code: Code, config: OpConfig, where: str, zeros: str, const: str) -> None:
    """The relu family with Keras's options, composed from ``where`` as numconv defines it.

    ``where``/``zeros``/``const`` are the framework's spellings, e.g. ``tf.where``,
    ``tf.zeros_like(x)`` and ``tf.constant({}, x.dtype)``.
    """
    thr, slope, top = config.threshold, config.negative_slope, config.max_value
    if slope != 0:
        code.add(f"y = {where}(x > {thr!r}, x, (x - {thr!r}) * {slope!r})")
    else:
        code.add(f"y = {where}(x <= {thr!r}, {zeros}, x)", "NaN stays NaN")
    if top is not None:
        code.add(f"y = {where}(y >= {top!r}, {const.format(repr(top))}, y)")
    code.note("no single call has Keras's relu options here; composed from "
              f"{where} as Keras defines them (max_value, negative_slope, threshold)")
