"""``Sequential``: a stack of numconv layers; weights from Keras and PyTorch; ``.npz`` files."""

from __future__ import annotations

import json
import os
from typing import Any, Iterable, Sequence

import numpy as np

from .. import _args
from .convert import keras_layers, torch_layers
from .compare import LayerReport, compare_layers
from .core import Conv2D, Dense, DepthwiseConv2D, Layer, Model, ReLU
from .onnx_import import onnx_layers
from .pooling import (AveragePooling2D, Flatten, GlobalAveragePooling2D, GlobalMaxPooling2D,
                      MaxPooling2D)

__all__ = ["Sequential", "LAYERS"]

#: class name -> class, for loading saved models
LAYERS: dict[str, type[Layer]] = {cls.__name__: cls for cls in (
    Conv2D, DepthwiseConv2D, ReLU, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D,
    GlobalMaxPooling2D, Flatten, Dense)}

FORMAT = "numconv.layers.Sequential/1"
_CONFIG_KEY = "__numconv_model__"


class Sequential(Model):
    """Layers applied in order, like ``keras.Sequential``.

    Examples
    --------
    >>> from numconv.layers import Conv2D, MaxPooling2D, Sequential
    >>> model = Sequential([Conv2D(filters=2, kernel_size=3), MaxPooling2D(pool_size=2)])
    >>> model(np.zeros((1, 8, 8, 1))).shape
    (1, 3, 3, 2)
    >>> [w.shape for w in model.get_weights()]
    [(3, 3, 1, 2), (2,)]
    """

    def __init__(self, layers: Iterable[Layer] | None = None, name: str = "sequential") -> None:
        self.name = name
        self.layers: list[Layer] = []
        for layer in layers or ():
            self.add(layer)

    def add(self, layer: Layer) -> None:
        """Append a layer."""
        _args.instance("Sequential.add", "layer", layer, Layer, "a numconv.layers layer")
        self.layers.append(layer)

    def __call__(self, x: Any) -> np.ndarray:
        return self.outputs(x)[-1] if self.layers else np.asarray(x)

    def outputs(self, x: Any) -> list[np.ndarray]:
        """Every layer's output, in order (``outputs(x)[-1] == model(x)``)."""
        out = []
        a = _args.array("Sequential", "inputs", x)
        for layer in self.layers:
            a = layer(a)
            out.append(a)
        return out

    def build(self, input_shape: Sequence[int], seed: int | None = 0) -> None:
        """Create every layer's weights for inputs of ``input_shape`` (no data needed)."""
        a = np.zeros(tuple(input_shape), np.float32)
        for i, layer in enumerate(self.layers):
            if not layer.built:
                layer.build(a.shape, seed=None if seed is None else seed + i)
            a = layer(a)

    # -- weights ------------------------------------------------------------
    def get_weights(self) -> list[np.ndarray]:
        """All weights, layer by layer (Keras's order)."""
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Set all weights from a flat list (as :meth:`get_weights` returns)."""
        weights = list(weights)
        for layer in self.layers:
            n = len(layer.weight_names) if layer.built else len(
                [w for w in layer._weight_names if w != "bias" or getattr(layer, "use_bias", 1)])
            if n:
                layer.set_weights(weights[:n])
                weights = weights[n:]
        if weights:
            _args.fail("Sequential.set_weights", "weights", "must hold exactly the model's "
                       "weight arrays", None, shown=f"{len(weights)} array(s) too many")

    def summary(self) -> str:
        """One line per layer: index, name, class, weight shapes."""
        lines = [f"Sequential {self.name!r}"]
        for i, layer in enumerate(self.layers):
            shapes = [tuple(w.shape) for w in layer.get_weights()]
            lines.append(f"  {i}: {layer.name} {layer!r}" + (f" weights {shapes}" if shapes
                                                              else ""))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Sequential({self.layers!r}, name={self.name!r})"

    # -- conversion and comparison -------------------------------------------
    @classmethod
    def from_keras(cls, model: Any) -> Sequential:
        """A numconv copy (structure and weights) of a built Keras Sequential model.

        Supported layers: Conv2D, DepthwiseConv2D, ReLU, MaxPooling2D, AveragePooling2D,
        GlobalAveragePooling2D, Flatten, Dense (activation None, linear or relu),
        Activation('relu'/'linear'); InputLayer is skipped.
        """
        name, layers = keras_layers(model)
        return cls(layers, name=name)

    @classmethod
    def from_torch(cls, module: Any) -> Sequential:
        """A numconv copy of a ``torch.nn.Sequential`` taking the same NCHW input.

        Supported modules: Conv2d (int, tuple, 'same' or 'valid' padding, zeros padding
        mode), MaxPool2d, AvgPool2d (with ``ceil_mode``, ``count_include_pad``,
        ``divisor_override``), ReLU, ReLU6, LeakyReLU, Flatten, Linear,
        AdaptiveAvgPool2d(1).  Layers are channels-first; the Flatten keeps PyTorch's
        (C, H, W) order, so a following Linear takes the weights unchanged.
        """
        name, layers = torch_layers(module)
        return cls(layers, name=name)

    @classmethod
    def from_onnx(cls, model_or_path: Any) -> Sequential:
        """A numconv copy of a sequential ONNX model taking the same NCHW input.

        Supported nodes: Conv (``auto_pad`` NOTSET with ``pads``, SAME_UPPER, SAME_LOWER,
        VALID; strides, dilations, group, optional bias), Relu, LeakyRelu, Clip with
        min 0 (ReLU6 and friends; attributes before opset 11, inputs after), MaxPool
        (``ceil_mode``, dilations, ``storage_order``; no Indices output), AveragePool
        (``count_include_pad``, ``ceil_mode``), GlobalAveragePool, GlobalMaxPool,
        Flatten (axis 1), Gemm (``transB``, ``alpha``, ``beta``; ``transA`` 0), MatMul
        with an optional bias Add.  Layers are channels-first and Flatten keeps ONNX's
        (C, H, W) order.  Needs the ``onnx`` extra (``pip install "numconv[onnx]"``).

        Parameters
        ----------
        model_or_path : onnx.ModelProto, str or os.PathLike
            The model, or the path of a ``.onnx`` file.

        Returns
        -------
        Sequential
            One layer per node (MatMul + Add: one Dense), named after the nodes.

        Raises
        ------
        ValueError
            For a node, attribute value or graph numconv cannot reproduce, naming the
            node (index, name and op type): an unsupported op, a branch, pools with
            SAME_* and dilations.
        TypeError
            If ``model_or_path`` is neither a model nor a path.
        ModuleNotFoundError
            If onnx is not installed.

        Notes
        -----
        SAME_LOWER puts the odd padding pixel first: before ``P - P // 2``, after
        ``P // 2`` with ``P`` from :func:`numconv.explain`'s SAME rule.  See
        :mod:`numconv.layers.onnx_import` for ONNX Runtime's known divergences.

        Examples
        --------
        >>> import pytest; onnx = pytest.importorskip("onnx")
        >>> from onnx import helper, numpy_helper, TensorProto
        >>> w = np.ones((1, 1, 2, 2), np.float32)                    # (M, C, kH, kW)
        >>> graph = helper.make_graph(
        ...     [helper.make_node("Conv", ["x", "w"], ["c"], auto_pad="SAME_LOWER"),
        ...      helper.make_node("Relu", ["c"], ["y"])], "tiny",
        ...     [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 3, 3])],
        ...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        ...     [numpy_helper.from_array(w, "w")])
        >>> model = Sequential.from_onnx(helper.make_model(graph))
        >>> model.layers[0].padding          # the odd pixel before: top and left
        'SAME_LOWER'
        >>> model(np.arange(9.0).reshape(1, 1, 3, 3))[0, 0]
        array([[ 0.,  1.,  3.],
               [ 3.,  8., 12.],
               [ 9., 20., 24.]])
        """
        name, layers = onnx_layers(model_or_path)
        return cls(layers, name=name)

    def compare(self, other: Any, x: Any, dtype: Any = np.float32) -> LayerReport:
        """Layer-by-layer comparison with a live Keras model, torch module, ONNX model (run
        in ONNX Runtime) or numconv model.

        See :func:`numconv.layers.compare_layers`.
        """
        return compare_layers(self, other, x, dtype)

    # -- files ------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {"format": FORMAT, "name": self.name,
                "layers": [{"class": type(l).__name__, "config": l.get_config(),
                            "weights": list(l.weight_names)} for l in self.layers]}

    def save(self, path: Any) -> None:
        """Write structure (JSON) and weights to one NumPy ``.npz`` file (no pickle).

        NumPy appends ``.npz`` to a path without it; :meth:`load` finds it either way.
        """
        arrays = {_CONFIG_KEY: np.array(json.dumps(self.get_config()))}
        for i, layer in enumerate(self.layers):
            for name, w in zip(layer.weight_names, layer.get_weights()):
                arrays[f"{i}/{name}"] = w
        np.savez(path, **arrays)

    @classmethod
    def load(cls, path: Any) -> Sequential:
        """Read a model written by :meth:`save` (``allow_pickle=False``)."""
        fn = "Sequential.load"
        if isinstance(path, str) and not path.endswith(".npz") and not os.path.exists(path) \
                and os.path.exists(path + ".npz"):
            path += ".npz"          # np.savez appended the suffix
        file = _args.file_path(fn, "path", path)
        try:
            with np.load(file, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (ValueError, OSError) as exc:
            _args.model_file(fn, file, f"not a NumPy .npz file: {exc}")
        if _CONFIG_KEY not in arrays:
            _args.model_file(fn, file, f"no {_CONFIG_KEY!r} entry")
        config = json.loads(str(arrays[_CONFIG_KEY]))
        if config.get("format") != FORMAT:
            _args.model_file(fn, file, f"format {config.get('format')!r}, expected {FORMAT!r}")
        model = cls(name=config["name"])
        for i, entry in enumerate(config["layers"]):
            if entry["class"] not in LAYERS:
                _args.model_file(fn, file, f"unknown layer class {entry['class']!r}")
            layer = LAYERS[entry["class"]].from_config(entry["config"])
            if entry["weights"]:
                layer.set_weights([arrays[f"{i}/{n}"] for n in entry["weights"]])
            model.add(layer)
        return model
