"""Translate one configuration into framework code, and explain a port between two.

No framework is imported here: translations are text (compiled only by
:meth:`~numconv.crosscheck.Translation.build`).
"""

from __future__ import annotations

from typing import Any

from .. import _args
from . import _jax, _keras, _onnx, _tf, _torch
from ._common import ALIASES, FRAMEWORKS, Translation
from .config import OpConfig
from .divergences import applicable

__all__ = ["translate", "explain_port", "frameworks"]

_TRANSLATORS = {"tf": _tf.translate, "keras": _keras.translate, "torch": _torch.translate,
                "jax": _jax.translate, "onnx": _onnx.translate}


def frameworks(value: Any, fn: str = "translate", arg: str = "framework") -> tuple[str, ...]:
    """Normalise framework names (``"tf,torch"``, ``["pytorch"]``, ...) to canonical names.

    >>> frameworks("tensorflow, pytorch,jax")
    ('tf', 'torch', 'jax')
    """
    return _args.framework_names(fn, arg, value, ALIASES)


def translate(config: OpConfig, framework: str) -> Translation:
    """The code reproducing ``config`` in ``framework``, or a statement that it cannot.

    Parameters
    ----------
    config : OpConfig
    framework : {"tf", "keras", "torch", "jax", "onnx"}
        Aliases ``tensorflow``, ``pytorch`` and ``onnxruntime`` are accepted.

    Returns
    -------
    Translation
        ``code`` defines ``run(x, w=None, b=None)`` taking and returning NumPy arrays in
        numconv's conventions; ``reason`` says why the framework cannot express it.

    Examples
    --------
    >>> c = OpConfig("conv2d", "1x5x5x1", filter_shape="2x2x1x1", strides=2, padding="SAME")
    >>> t = translate(c, "torch")
    >>> for line in t.code.splitlines():
    ...     if "F." in line:
    ...         print(line.split("  #")[0].strip()[:72])
    x = F.pad(x, (0, 1, 0, 1))
    y = F.conv2d(x, w, None, stride=(2, 2), padding=0, dilation=(1, 1), grou
    >>> translate(OpConfig("avg_pool2d", "1x5x5x1", window=2, dilations=2), "torch").reason
    "PyTorch's avg_pool has no dilation"
    """
    if not isinstance(config, OpConfig):
        _args.type_fail("translate", "config", "must be an OpConfig", config)
    (name,) = _args.framework_names("translate", "framework", [framework]
                                    if isinstance(framework, str) else framework, ALIASES)
    return _TRANSLATORS[name](config)


def explain_port(config: OpConfig, port: str) -> str:
    """Code for the source framework and the target code that reproduces it exactly.

    Parameters
    ----------
    config : OpConfig
        The layer's configuration in numconv's terms (TF's SAME/VALID geometry with
        PyTorch's options where given).
    port : str
        ``"SOURCE->TARGET"``, e.g. ``"tf->torch"``.

    Returns
    -------
    str
        Both programs as comments and code, with the notes on what the port must do
        and the known divergences that a naive port runs into.

    Examples
    --------
    >>> c = OpConfig("max_pool2d", "1x7x7x3", window=3, strides=2, padding="SAME")
    >>> text = explain_port(c, "tf->torch")
    >>> "y = F.max_pool2d(x, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1)" in text
    True
    """
    _args.instance("explain_port", "config", config, OpConfig, "an OpConfig")
    src, dst = _args.port_spec("explain_port", port, ALIASES)
    source, target = translate(config, src), translate(config, dst)
    out = [f"# {config.describe()}", f"# geometry: {_geometry_line(config)}", ""]
    for role, t in (("source", source), ("target", target)):
        out.append(f"# ---- {role}: {FRAMEWORKS[t.framework][0]}")
        if not t.expressible:
            out.append(f"# cannot express this configuration: {t.reason}")
        else:
            out.extend(f"# note: {n}" for n in t.notes)
            out.append(t.code.rstrip("\n"))
        out.append("")
    if "onnx" in (src, dst):
        out.append("# ONNX's conventions:")
        out.extend(f"#   {line}" for line in _onnx.conventions(config))
        out.append("")
    pitfalls = [d for d in applicable(config, dst) if d.port_pitfall]
    if pitfalls:
        out.append(f"# pitfalls when porting to {FRAMEWORKS[dst][0]}:")
        out.extend(f"#   [{d.id}] {d.summary}" for d in pitfalls)
    return "\n".join(out).rstrip("\n") + "\n"


def _geometry_line(config: OpConfig) -> str:
    if config.geometry is None:
        return "elementwise"
    return "; ".join(f"dim {i}: out {d.out_size}, pads ({d.pad_before}, {d.pad_after})"
                     for i, d in enumerate(config.geometry.dims))
