"""PyTorch (``torch.nn.functional``) translations.

PyTorch is channels-first with filters ``(out, in/groups, *window)``: the code permutes
the input, the filters and the result.  PyTorch's ``padding=`` is symmetric; TF's SAME
puts the odd pixel after, so asymmetric pads go in with an explicit ``F.pad`` (zeros
for convolutions, -inf for max pooling).  Average pooling cannot leave ``F.pad``'s
zeros out of the count, so it is expressed only with PyTorch's own symmetric padding
(``count_include_pad``, ``ceil_mode``) or, where padding counts, with ``F.pad``; each
candidate is checked against numconv's geometry before it is chosen.
"""

from __future__ import annotations

from .config import OpConfig
from ._common import Code, Translation, cannot, extent_pads, fmt, relu_lines
from ..geometry import resolve

IMPORTS = ["import numpy as np", "import torch", "import torch.nn.functional as F"]
NAME = "torch"


def _fpad(pads: tuple) -> tuple[int, ...]:
    """F.pad's order: the last dim first, (before, after) each."""
    return tuple(v for pair in reversed(pads) for v in pair)


def translate(c: OpConfig) -> Translation:
    """The ``torch.nn.functional`` code for ``c``, or why PyTorch cannot express it."""
    code = Code(c, list(IMPORTS))
    code.add("x = torch.from_numpy(np.ascontiguousarray(x))")
    if c.n_spatial is None:
        if c.kind == "relu6":
            code.add("y = F.relu6(x)")
        elif c.kind == "leaky":
            code.add(f"y = F.leaky_relu(x, negative_slope={c.alpha!r})")
        elif c.relu_is_plain:
            code.add("y = F.relu(x)")
        else:
            relu_lines(code, c, "torch.where", "torch.zeros_like(x)",
                       "torch.tensor({}, dtype=x.dtype)")
        code.add("return y.numpy()")
        return code.translation(NAME)
    n = c.n_spatial
    if 0 in c.geometry.out_shape:
        return cannot(NAME, c, f"the output is empty here (numconv's shape {c.out_shape}); "
                      "PyTorch raises for an output or input smaller than the window")
    lay = c.layout
    first = f"NC{'DHW'[3 - n:]}"
    if lay.channels_last:
        code.add(f"x = x.permute{fmt((0, n + 1, *range(1, n + 1)))}"
                 ".clone(memory_format=torch.contiguous_format)",
                 f"{c.data_format} -> {first}, PyTorch's layout and memory format")
        if c.kind in ("conv", "depthwise") and c.channels == 1:
            code.note("the clone matters: a permuted single-channel tensor has channel stride "
                      "1, which PyTorch 2.13's float32 conv can mishandle (known divergence "
                      "torch-size1-channel-stride)")
    if c.kind in ("conv", "depthwise"):
        result = _conv(code, c, n)
    elif c.kind == "max":
        result = _max_pool(code, c, n)
    else:
        result = _avg_pool(code, c, n)
    if result is not None:
        return cannot(NAME, c, result)
    if lay.channels_last:
        code.add(f"y = y.permute{fmt((0, *range(2, n + 2), 1))}", f"{first} -> {c.data_format}")
    code.add("return y.numpy()")
    return code.translation(NAME)


def _conv(code: Code, c: OpConfig, n: int) -> str | None:
    g = c.geometry
    perm = (n + 1, n, *range(n))
    if c.kind == "depthwise":
        code.add(f"w = torch.from_numpy(np.ascontiguousarray(w)).reshape"
                 f"{fmt((*c.filter_shape[:n], 1, c.out_channels))}",
                 "depthwise (kh, kw, C, M) -> grouped (kh, kw, 1, C*M)")
        code.add(f"w = w.permute{fmt(perm)}", "-> (C*M, 1, kh, kw), groups = C")
    else:
        code.add(f"w = torch.from_numpy(np.ascontiguousarray(w)).permute{fmt(perm)}",
                 "(*window, in, out) -> (out, in, *window)")
    bias = "None"
    if c.bias:
        code.add("b = torch.from_numpy(np.ascontiguousarray(b))")
        bias = "b"
    symmetric = all(b == a for b, a in g.pads)
    if symmetric:
        padding = fmt(tuple(b for b, _ in g.pads))
    else:
        code.add(f"x = F.pad(x, {fmt(_fpad(g.pads))})",
                 f"pads {g.pads} (before, after) per dim; F.pad lists the last dim first")
        code.note(f"pads {g.pads} are asymmetric (TF's SAME puts the odd pixel after); "
                  "PyTorch's padding= is symmetric, so they go in with F.pad (a port with "
                  "padding=k//2 is shifted by one pixel: known divergence "
                  "torch-same-symmetric)")
        padding = "0"
    code.add(f"y = F.conv{n}d(x, w, {bias}, stride={fmt(c.strides)}, padding={padding}, "
             f"dilation={fmt(c.dilations)}, groups={c.groups})")
    return None


def _native_ceil(c: OpConfig, pads: tuple, sizes: tuple) -> bool | None:
    """The ceil_mode giving numconv's output size with these symmetric pads, or None."""
    for ceil in (False, True):
        t = resolve(sizes, c.window, c.strides, c.dilations, tuple((p, p) for p in pads),
                    ceil_mode=ceil)
        if t.out_shape == c.geometry.out_shape:
            return ceil
    return None


def _max_pool(code: Code, c: OpConfig, n: int) -> str | None:
    g = c.geometry
    spatial = c.layout.spatial_shape(c.input_shape)
    if c.nan_policy == "ignore":
        code.add("x = torch.where(torch.isnan(x), float('-inf'), x)",
                 "nan_policy='ignore' (TF's CPU rule): NaN never wins")
    before = tuple(d.pad_before for d in g.dims)
    ceil = None
    if all(b <= k // 2 for b, k in zip(before, c.window)):
        ceil = _native_ceil(c, before, spatial)
    if ceil is None:
        pads = extent_pads(g)
        code.add(f"x = F.pad(x, {fmt(_fpad(pads))}, value=float('-inf'))",
                 f"pads {pads} (before, after) per dim; F.pad lists the last dim first")
        code.note(f"numconv's pads {g.pads} are not PyTorch's symmetric padding (at most "
                  "kernel/2) with either ceil_mode; F.pad adds them as -inf")
        before, ceil = (0,) * n, False
    code.add(f"y = F.max_pool{n}d(x, kernel_size={fmt(c.window)}, stride={fmt(c.strides)}, "
             f"padding={fmt(before)}, dilation={fmt(c.dilations)}, ceil_mode={ceil})")
    if c.nan_policy == "ignore":
        code.add("y = torch.clamp(y, min=torch.finfo(y.dtype).min)",
                 "a window of only NaN/-inf/padding gives the lowest float, as TF")
    return None


def _avg_pool(code: Code, c: OpConfig, n: int) -> str | None:
    g = c.geometry
    if max(c.dilations) > 1:
        return "PyTorch's avg_pool has no dilation"
    override = c.divisor_override
    if override is not None and n == 1:
        return "F.avg_pool1d has no divisor_override"
    spatial = c.layout.spatial_shape(c.input_shape)
    before = tuple(d.pad_before for d in g.dims)
    declared = tuple((d.pad_before, d.declared_pad_after) for d in g.dims)
    extra = "" if override is None else f", divisor_override={override}"
    ceil = None
    native_counts = override is not None or not c.count_include_pad or all(
        b == a for b, a in declared)
    if native_counts and all(b <= k // 2 for b, k in zip(before, c.window)):
        ceil = _native_ceil(c, before, spatial)
    if ceil is not None:
        code.add(f"y = F.avg_pool{n}d(x, kernel_size={fmt(c.window)}, stride={fmt(c.strides)}, "
                 f"padding={fmt(before)}, ceil_mode={ceil}, "
                 f"count_include_pad={c.count_include_pad}{extra})")
        if any(before) and not c.count_include_pad:
            code.note("count_include_pad=False is needed: PyTorch's default (True) counts the "
                      "padding, TF and numconv do not (known divergence "
                      "torch-avg-count-include-pad)")
        return None
    if c.count_include_pad or override is not None:
        # F.pad's zeros count as input: the declared pads (PyTorch leaves a ceil_mode
        # overhang out of the count, as numconv), or just the pads the windows reach
        candidates = [declared] if override is None else []
        if not any(d.overhang for d in g.dims) or override is not None:
            candidates.append(extent_pads(g))
        for pads in candidates:
            padded = tuple(s + b + a for s, (b, a) in zip(spatial, pads))
            for ceil in (False, True):
                t = resolve(padded, c.window, c.strides, c.dilations, "VALID", ceil_mode=ceil)
                if t.out_shape == g.out_shape:
                    code.add(f"x = F.pad(x, {fmt(_fpad(pads))})",
                             f"pads {pads} (before, after) per dim, counted as input")
                    code.add(f"y = F.avg_pool{n}d(x, kernel_size={fmt(c.window)}, "
                             f"stride={fmt(c.strides)}, padding=0, ceil_mode={ceil}{extra})")
                    return None
    if c.count_include_pad:
        return (f"numconv counts the declared pads {declared}, which are not PyTorch's "
                "symmetric padding (at most kernel/2), and with F.pad the output size or the "
                "ceil_mode count differs")
    return (f"PyTorch's avg pool can leave out of the count only its own symmetric padding "
            f"(at most kernel/2); numconv's pads here are {g.pads}"
            + (" (asymmetric)" if any(b != a for b, a in declared) else "")
            + ", and zeros added with F.pad would be counted")
