"""Known divergences between frameworks, and when each applies to a configuration.

Each entry is a fact measured (TensorFlow 2.21 CPU, PyTorch 2.13 CPU, JAX 0.10 CPU,
onnxruntime 1.32 CPU) or
read from the frameworks' sources and issue trackers.  A divergence that comes from a
*port* (code written for one framework's conventions run in another's) carries the
configuration such a naive port computes, so a comparison can run it and measure the
damage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import _args
from ..geometry import resolve
from ..pooling import avg_divisor
from ._tf import onednn_on
from .config import OpConfig, same_total_pads, valid_pads

__all__ = ["Divergence", "DIVERGENCES", "applicable"]


@dataclass(frozen=True)
class Divergence:
    """One known divergence.

    Attributes
    ----------
    id : str
        Stable name, e.g. ``"tf-max-pool-nan"``.
    frameworks : tuple of str
        Frameworks it concerns.
    summary : str
        What happens, in one or two sentences.
    references : str
        Issues or measurements behind it.
    applies : callable
        ``applies(config) -> bool``.
    needs_input : callable, optional
        ``needs_input(x) -> bool``: the divergence shows only for such inputs (NaN).
    naive : callable, optional
        ``naive(config) -> (OpConfig, description)``: what a naive port computes.
    port_pitfall : bool
        Worth a warning when porting code to one of :attr:`frameworks`.
    input_or : callable, optional
        ``input_or(config) -> bool``: applies without the input condition too.
    changes_result : bool
        False for notes that never push a result past the stated tolerance (summation
        order) or that the translation already avoids.
    naive_code : callable, optional
        ``naive_code(code) -> (code, description)``: the translation's code as a naive port
        writes it (for divergences that come from how the code is written).
    """

    id: str
    frameworks: tuple[str, ...]
    summary: str
    references: str
    applies: Callable[[OpConfig], bool]
    needs_input: Callable[[np.ndarray], bool] | None = None
    naive: Callable[[OpConfig], tuple[OpConfig, str]] | None = None
    port_pitfall: bool = False
    naive_code: Callable[[str], tuple[str, str]] | None = None
    input_or: Callable[[OpConfig], bool] | None = None
    changes_result: bool = True


def _pool_or_conv(c: OpConfig) -> bool:
    return c.geometry is not None


def _asymmetric_same(c: OpConfig) -> bool:
    return _pool_or_conv(c) and c.padding == "SAME" and any(
        d.pad_before != d.pad_after for d in c.geometry.dims)


def _window(c: OpConfig) -> tuple[int, ...]:
    return c.window if c.window is not None else c.filter_shape[:c.n_spatial]


def _naive_symmetric(c: OpConfig) -> tuple[OpConfig, str]:
    half = tuple(((k - 1) * d + 1) // 2 for k, d in zip(_window(c), c.dilations))
    return c.replace(padding=tuple((p, p) for p in half)), f"padding={half} (k//2)"


def _counts_pad(c: OpConfig) -> bool:
    return (c.kind == "avg" and not c.count_include_pad and c.divisor_override is None
            and not valid_pads(c.geometry))


def _naive_count(c: OpConfig) -> tuple[OpConfig, str]:
    return c.replace(count_include_pad=True), "count_include_pad=True (PyTorch's default)"


def _ceil_not_same(c: OpConfig) -> bool:
    return (c.kind in ("max", "avg") and c.padding == "SAME"
            and any(d.pad_before > 0 for d in c.geometry.dims)
            and _ceil_port_shape(c) is not None)


def _ceil_port_shape(c: OpConfig) -> tuple[int, ...] | None:
    spatial = c.layout.spatial_shape(c.input_shape)
    try:
        return resolve(spatial, c.window, c.strides, c.dilations, "VALID", ceil_mode=True).out_shape
    except ValueError:  # pragma: no cover - resolve takes canonical ints
        return None


def _naive_ceil(c: OpConfig) -> tuple[OpConfig, str]:
    return c.replace(padding="VALID", ceil_mode=True), "padding=0, ceil_mode=True"


def _lowest_shows(x: np.ndarray) -> bool:
    return bool(np.isnan(x).any() or np.isneginf(x).any())


def _max_lowest(c: OpConfig) -> bool:
    return c.kind == "max" and c.nan_policy == "propagate"


def _padding_only_window(c: OpConfig) -> bool:
    return bool(np.any(avg_divisor(c.geometry) == 0))




def _empty_window_larger(c: OpConfig) -> bool:
    return (c.kind in ("conv", "depthwise", "max") and 0 in c.geometry.out_shape
            and onednn_on() and not (c.kind != "max" and c.dtype == "float64"))


def _size1_channel(c: OpConfig) -> bool:
    return (c.kind in ("conv", "depthwise") and c.n_spatial >= 2 and c.dtype == "float32"
            and c.channels == 1 and c.layout.channels_last and c.input_shape[0] > 1
            and c.geometry.out_shape[-1] == 1 and c.strides[-1] > 1)


def _plain_permute(code: str) -> tuple[str, str]:
    return (code.replace(".clone(memory_format=torch.contiguous_format)", ""),
            "torch.from_numpy(x).permute(...) (no clone)")


def _conv3d_negative_same(c: OpConfig) -> bool:
    """Conv3D outside oneDNN, SAME, and a dim whose unclamped total pad is <= -2."""
    return (c.kind == "conv" and c.n_spatial == 3 and c.dtype != "float32"
            and c.padding == "SAME" and min(same_total_pads(c.geometry)) <= -2)


def _nan_shows(x: np.ndarray) -> bool:
    return bool(np.isnan(x).any())


def _onnx_same_lower(c: OpConfig) -> bool:
    return _asymmetric_same(c) and max(c.dilations) == 1


def _naive_same_lower(code: str) -> tuple[str, str]:
    return code.replace('auto_pad="SAME_UPPER"', 'auto_pad="SAME_LOWER"'), \
        'auto_pad="SAME_LOWER"'


def _onnx_same_auto_pad(c: OpConfig) -> bool:
    """SAME with dilations, or a pool whose SAME total pad is negative (stride > window)."""
    if not _pool_or_conv(c) or c.padding != "SAME":
        return False
    negative = min(same_total_pads(c.geometry)) < 0
    return max(c.dilations) > 1 or (c.kind in ("max", "avg") and negative)


def _naive_auto_pad(code: str) -> tuple[str, str]:
    return re.sub(r'pads=\[[\d, ]*\]|auto_pad="VALID"', 'auto_pad="SAME_UPPER"', code,
                  count=1), 'auto_pad="SAME_UPPER"'


def _onnx_padding_only(c: OpConfig) -> bool:
    return (c.kind == "avg" or (c.kind == "max" and c.dtype != "float16")) and \
        _padding_only_window(c)


#: every known divergence, by id
DIVERGENCES: dict[str, Divergence] = {d.id: d for d in [
    Divergence(
        "tf-max-pool-nan", ("tf", "keras"),
        "TF's CPU max pool computes max(lowest float, non-NaN taps): NaN is skipped, and a "
        "window of only NaN, -inf or padding gives the lowest float (-3.4028235e+38 in "
        "float32); numconv (nan_policy='propagate'), PyTorch, JAX and NumPy give NaN (-inf). "
        "numconv's nan_policy='ignore' reproduces TF.",
        "measured on TF 2.21 (tf.nn.max_pool1d/2d/3d, tf.nn.pool, keras MaxPooling2D)",
        _max_lowest, needs_input=_lowest_shows, input_or=_padding_only_window),
    Divergence(
        "keras-channels-first-bias", ("keras",),
        "Keras 3's TF backend turns `x + bias` into tf.nn.bias_add and picks NHWC whenever the "
        "output's last dim equals the bias length, so a channels_first Conv layer whose "
        "output width equals its filter count adds the bias along the width.",
        "measured on Keras 3.15.1 (keras/src/backend/tensorflow/numpy.py, add)",
        lambda c: c.kind in ("conv", "depthwise") and c.bias and not c.layout.channels_last
        and c.out_channels > 1 and c.out_shape[-1] == c.out_channels),
    Divergence(
        "tf-leaky-relu-alpha", ("tf", "keras"),
        "tf.nn.leaky_relu's alpha is a float32 attribute: in float64 the slope is rounded to "
        "float32 (relative error up to 3e-8), so float64 results differ from numconv's (also "
        "Keras's LeakyReLU and ReLU(negative_slope=...)).",
        "measured on TF 2.21 (tf.nn.leaky_relu, keras LeakyReLU, keras ReLU); LeakyRelu op "
        "attr alpha: float",
        lambda c: c.dtype == "float64" and (
            (c.kind == "leaky" and float(np.float32(c.alpha)) != c.alpha)
            or (c.kind == "relu" and float(np.float32(c.negative_slope)) != c.negative_slope))),
    Divergence(
        "tf-valid-window-larger", ("tf",),
        "TF 2.21 with oneDNN: a VALID convolution whose window is larger than the input "
        "returns an input-shaped array of uninitialised memory instead of an empty result "
        "(measured: shape (1, 2, 2, 1) for a 2x2 input and a 3x3 window), and max pooling "
        "kills the process (SIGFPE); float64 and TF_ENABLE_ONEDNN_OPTS=0 give the correct "
        "empty result.",
        "measured on TF 2.21 (conv1d/2d/3d, depthwise_conv2d, max_pool1d/2d/3d)",
        _empty_window_larger),
    Divergence(
        "tf-depthwise-stride-dilation", ("tf",),
        "tf.nn.depthwise_conv2d with strides > 1 and dilations > 1 warns ('all values of "
        "strides must be 1') and returns a wrong result: wrong values, or a wrong shape "
        "((2, 5, 6, 8) for (2, 5, 5, 8) measured); keras.layers.DepthwiseConv2D is right.",
        "measured on TF 2.21",
        lambda c: c.kind == "depthwise" and max(c.strides) > 1 and max(c.dilations) > 1),
    Divergence(
        "tf-conv3d-same-negative-pad", ("tf", "keras"),
        "TF's CPU Conv3D outside oneDNN (float64, float16) does not clamp SAME's total pad at "
        "0: where the stride exceeds the window so that (out-1)*s + k - in <= -2, every window "
        "starts -(that)//2 pixels late (measured: input depth 6, window 1, stride 3 gives "
        "windows at 1 and 4 instead of 0 and 3); oneDNN's float32 kernel and numconv clamp, "
        "as TF's own shape rule does.",
        "measured on TF 2.21 (tf.nn.conv3d float64)",
        _conv3d_negative_same),
    Divergence(
        "tf-max-pool2d-dtype", ("tf",),
        "tf.nn.max_pool2d given a NumPy float64 or float16 array returns float32 from its "
        "second call on (the first call, and a tf.Tensor input, keep the dtype), so float64 "
        "results come back rounded to float32 precision; the translation converts the input "
        "with tf.constant first.",
        "measured on TF 2.21",
        lambda c: c.kind == "max" and c.n_spatial == 2 and c.dtype != "float32",
        port_pitfall=True, changes_result=False),
    Divergence(
        "torch-same-symmetric", ("torch",),
        "TF's SAME puts the odd padding pixel after (bottom/right); a PyTorch port with "
        "symmetric padding=k//2 pads both sides, shifting the result by one pixel or "
        "changing its size.",
        "tensorflow/tensorflow#7969, pytorch/pytorch#3867, pytorch/pytorch#67551",
        _asymmetric_same, naive=_naive_symmetric, port_pitfall=True),
    Divergence(
        "torch-avg-count-include-pad", ("torch",),
        "PyTorch's average pools count the padding by default (count_include_pad=True); TF, "
        "Keras and numconv divide by the real elements only, so border outputs differ.",
        "keras-team/keras#5090, tensorflow/tensorflow#45579",
        _counts_pad, naive=_naive_count, port_pitfall=True),
    Divergence(
        "torch-size1-channel-stride", ("torch",),
        "PyTorch 2.13's CPU float32 conv2d/conv3d returns uninitialised values for a batch of "
        "single-channel inputs whose channel axis has stride 1 -- what permuting NHWC NumPy "
        "data gives -- when the output width is 1 and the width stride is above 1 (measured); "
        "a clone in the default memory format avoids it.",
        "measured on torch 2.13.0+cpu (oneDNN path; float64 and torch.backends.mkldnn off are "
        "right)",
        _size1_channel, naive_code=_plain_permute, port_pitfall=True),
    Divergence(
        "torch-ceil-mode-not-same", ("torch",),
        "PyTorch's ceil_mode=True gives TF SAME's output size but pads only after; when SAME "
        "pads before too, a port with padding=0, ceil_mode=True starts every window one "
        "pixel late.",
        "aten/src/ATen/native/Pool.h pooling_output_shape vs TF's GetWindowedOutputSize",
        _ceil_not_same, naive=_naive_ceil, port_pitfall=True),
    Divergence(
        "onednn-float32-order", ("tf", "keras"),
        "oneDNN chooses the float32 summation order (blocked GEMM, Winograd for some 3x3 "
        "convolutions): results differ from other frameworks' by rounding, within the "
        "stated bound; compare against a float64 truth, not bit for bit.",
        "uxlfoundation/oneDNN#748; TF's 'oneDNN custom operations are on' notice",
        lambda c: c.kind in ("conv", "depthwise") and c.dtype != "float64",
        changes_result=False),
    Divergence(
        "jax-float64-needs-x64", ("jax",),
        "JAX computes in float32 unless 64-bit mode is on (jax.enable_x64 or "
        "JAX_ENABLE_X64=1): float64 inputs are silently rounded.",
        "JAX docs, 'Double (64bit) precision'",
        lambda c: c.dtype == "float64", port_pitfall=True, changes_result=False),
    Divergence(
        "onnxruntime-max-pool-nan", ("onnx",),
        "onnxruntime's CPU MaxPool neither propagates nor ignores NaN: the result depends on "
        "where the NaN sits in the window (measured, window 4: float32 [1, 2, 3, NaN] gives "
        "NaN but [NaN, 2, 3, 0.5] gives 3; float64 the other way round); a window of only NaN "
        "gives NaN. numconv (nan_policy='propagate') gives NaN for any NaN in the window.",
        "measured on onnxruntime 1.32 (MaxPool, opset 21)",
        lambda c: c.kind == "max", needs_input=_nan_shows),
    Divergence(
        "onnxruntime-padding-only-window", ("onnx",),
        "Where a window holds only padding (dilated or large pads), onnxruntime's "
        "AveragePool gives 0 where numconv gives NaN (0 / 0 elements), and its float32 and "
        "float64 MaxPool give the lowest float where numconv gives -inf (float16 gives -inf).",
        "measured on onnxruntime 1.32 (input 1, window 2, dilation 2, SAME)",
        _onnx_padding_only),
    Divergence(
        "onnxruntime-pool-empty-output", ("onnx",),
        "Where the window does not fit in the padded input (numconv's result is empty), "
        "onnxruntime's MaxPool and AveragePool return one output in that dim -- the max or "
        "average of the elements the window reaches -- unless the stride divides the "
        "shortfall: the output size floor((in + pads - eff) / s) + 1 is computed with "
        "division rounding toward 0 (measured: input [1, 2], window 3, stride 2 gives [2.0]); "
        "with ceil_mode some raise in ComputeOutputSize.",
        "measured on onnxruntime 1.32 (MaxPool, AveragePool; pool_attributes.h)",
        lambda c: c.kind in ("max", "avg") and 0 in c.geometry.out_shape),
    Divergence(
        "onnxruntime-same-auto-pad", ("onnx",),
        "onnxruntime's auto_pad=\"SAME_UPPER\"/\"SAME_LOWER\" differs from TF's SAME in two "
        "places: with dilations > 1 Conv refuses it ('Dilation not supported for "
        "AutoPadType::SAME_UPPER') and MaxPool/AveragePool return a smaller output; where the "
        "stride exceeds the window so that SAME's total pad is negative, MaxPool raises "
        "'padding values must be non-negative' and AveragePool starts every window late "
        "(measured: input 6, window 1, stride 3 gives the elements 1 and 4, not 0 and 3); "
        "Conv clamps at 0, as TF. The translation writes explicit pads there.",
        "measured on onnxruntime 1.32 (Conv, MaxPool, AveragePool, opset 21)",
        _onnx_same_auto_pad, naive_code=_naive_auto_pad, port_pitfall=True),
    Divergence(
        "onnx-same-lower", ("onnx",),
        "ONNX's auto_pad=\"SAME_LOWER\" puts the odd padding pixel before (top/left); TF's "
        "SAME is \"SAME_UPPER\" (the odd pixel after): a port choosing SAME_LOWER shifts "
        "every window by one pixel.",
        "ONNX operator docs (Conv, MaxPool, AveragePool: auto_pad)",
        _onnx_same_lower, naive_code=_naive_same_lower, port_pitfall=True),
]}


def applicable(config: OpConfig, framework: str, x: np.ndarray | None = None
               ) -> list[Divergence]:
    """Known divergences that apply to ``config`` in ``framework`` (and input ``x``, if given).

    Divergences that need a particular input (NaN) apply only when ``x`` has it.

    >>> c = OpConfig("avg_pool2d", "1x6x6x1", window=3, strides=2, padding="SAME")
    >>> [d.id for d in applicable(c, "torch")]
    ['torch-same-symmetric', 'torch-avg-count-include-pad']
    """
    _args.instance("applicable", "config", config, OpConfig, "a numconv.crosscheck.OpConfig")
    if x is not None:
        x = _args.array("applicable", "x", x)
    out = []
    for d in DIVERGENCES.values():
        if framework not in d.frameworks or not d.applies(config):
            continue
        if d.needs_input is not None and (x is None or not d.needs_input(x)) and not (
                d.input_or is not None and d.input_or(config)):
            continue
        out.append(d)
    return out
