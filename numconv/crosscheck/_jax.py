"""JAX (``jax.lax``) translations.

``lax.conv_general_dilated`` takes TF's SAME, VALID or explicit pairs and any layout
through ``dimension_numbers``; ``lax.reduce_window`` pads with its init value, so max
pooling is exact for any pads and average pooling divides by a second
``reduce_window`` over ones (the padding count), as numconv defines it.  float64 runs
inside ``jax.enable_x64(True)``.
"""

from __future__ import annotations

from .config import OpConfig, tf_mode
from ._common import Code, Translation, extent_pads, fmt, relu_lines

IMPORTS = ["import numpy as np", "import jax", "import jax.numpy as jnp", "from jax import lax"]
NAME = "jax"


def translate(c: OpConfig) -> Translation:
    """The ``jax.lax`` code for ``c``."""
    code = Code(c, list(IMPORTS))
    code.add("x = jnp.asarray(x)")
    wrap = 'with jax.enable_x64(True):' if c.dtype == "float64" else None
    if wrap:
        code.note("float64 needs jax.enable_x64 (JAX computes in float32 by default)")
    if c.n_spatial is None:
        if c.kind == "relu6":
            code.add("y = jax.nn.relu6(x)")
        elif c.kind == "leaky":
            code.add(f"y = jax.nn.leaky_relu(x, negative_slope={c.alpha!r})")
        elif c.relu_is_plain:
            code.add("y = jax.nn.relu(x)")
        else:
            relu_lines(code, c, "jnp.where", "jnp.zeros_like(x)", "jnp.asarray({}, x.dtype)")
        code.add("return np.asarray(y)")
        return code.translation(NAME, wrap)
    if c.kind in ("conv", "depthwise"):
        _conv(code, c)
    else:
        _pool(code, c)
    code.add("return np.asarray(y)")
    return code.translation(NAME, wrap)


def _conv(code: Code, c: OpConfig) -> None:
    n = c.n_spatial
    g = c.geometry
    letters = "DHW"[3 - n:]
    rhs = f"{letters}IO"
    if c.kind == "depthwise":
        shape = fmt((*c.filter_shape[:n], 1, c.out_channels))
        code.add(f"w = jnp.reshape(jnp.asarray(w), {shape})",
                 "depthwise (kh, kw, C, M) -> grouped (kh, kw, 1, C*M)")
    else:
        code.add("w = jnp.asarray(w)")
    mode = tf_mode(c)
    padding = f'"{mode}"' if mode else repr(tuple(g.pads))
    code.add(f"y = lax.conv_general_dilated(x, w, window_strides={fmt(c.strides)}, "
             f"padding={padding}, rhs_dilation={fmt(c.dilations)}, "
             f"dimension_numbers=({c.data_format!r}, {rhs!r}, {c.data_format!r}), "
             f"feature_group_count={c.groups}, precision=lax.Precision.HIGHEST)")
    if c.bias:
        shape = c.layout.full_index((1,) * n, 1, -1)
        code.add(f"y = y + jnp.reshape(jnp.asarray(b), {fmt(shape)})")


def _pool(code: Code, c: OpConfig) -> None:
    g = c.geometry
    lay = c.layout
    dims = fmt(lay.full_index(c.window, 1, 1))
    strides = fmt(lay.full_index(c.strides, 1, 1))
    dil = fmt(lay.full_index(c.dilations, 1, 1))
    extent = extent_pads(g)   # exactly the windows numconv has, with floor rounding
    pads = fmt(tuple(lay.full_index(extent, (0, 0), (0, 0))))
    if c.kind == "max":
        if c.nan_policy == "ignore":
            code.add("x = jnp.where(jnp.isnan(x), -jnp.inf, x)",
                     "nan_policy='ignore' (TF's CPU rule): NaN never wins")
        code.add(f"y = lax.reduce_window(x, np.array(-np.inf, x.dtype), lax.max, {dims}, "
                 f"{strides}, {pads}, window_dilation={dil})", "pads hold -inf: never counted")
        if c.nan_policy == "ignore":
            code.add("y = jnp.maximum(y, jnp.finfo(y.dtype).min)",
                     "a window of only NaN/-inf/padding gives the lowest float, as TF")
        return
    code.add(f"total = lax.reduce_window(x, np.array(0, x.dtype), lax.add, {dims}, {strides}, "
             f"{pads}, window_dilation={dil})")
    if c.divisor_override is not None:
        code.add(f"y = total / {c.divisor_override}", "divisor_override")
        return
    ones_shape = fmt(lay.full_index(lay.spatial_shape(c.input_shape), 1, 1))
    if c.count_include_pad:
        declared = tuple((d.pad_before, min(d.declared_pad_after, e))
                         for d, (_, e) in zip(g.dims, extent))
        over = tuple((0, e - a) for (_, a), (_, e) in zip(declared, extent))
        code.add(f"ones = jnp.pad(jnp.ones({ones_shape}, x.dtype), "
                 f"{fmt(tuple(lay.full_index(declared, (0, 0), (0, 0))))}, constant_values=1)",
                 "count_include_pad: the declared pads count")
        count_pads = fmt(tuple(lay.full_index(over, (0, 0), (0, 0))))
    else:
        code.add(f"ones = jnp.ones({ones_shape}, x.dtype)")
        count_pads = pads
    code.add(f"count = lax.reduce_window(ones, np.array(0, x.dtype), lax.add, {dims}, "
             f"{strides}, {count_pads}, window_dilation={dil})", "taps counted per window")
    code.add("y = total / count")
