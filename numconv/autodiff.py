"""Vector-Jacobian products: backpropagate through numconv ops without a framework.

``out, pullback = vjp(fn, *args, **kwargs)`` runs ``fn`` and returns its output and a
function that maps a cotangent ``dL/dout`` (the output's shape) to the gradients of
``L`` with respect to ``fn``'s array arguments, as a tuple (JAX's ``jax.vjp``
convention).  Which arguments those are is listed per op in :data:`GRADIENTS`
(``input``, ``filters``, ``bias`` for a convolution; a ``bias`` of None is skipped).

Each op's rule calls the public backward function beside its forward op
(:mod:`numconv.conv_grad`, :mod:`numconv.pooling_grad`, :mod:`numconv.activations`),
so the chain rule is written out by the caller, one op at a time, as micrograd's
``_backward`` closures do it by hand.  A pullback computes with the forward call's
``precision`` (its argument, else the default precision when the forward ran).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from . import _args, spellings
from . import activations as act
from . import conv as cv
from . import conv_grad as cg
from . import pooling as pl
from . import pooling_grad as pg
from . import windows as win
from .config import default_precision, get_default_precision
from .layout import Layout

__all__ = ["vjp", "GRADIENTS"]

Rule = Callable[[dict, np.ndarray, np.ndarray], dict]

#: forward op -> names of the arguments its pullback returns gradients for, in order
GRADIENTS: dict[Callable, tuple[str, ...]] = {}
_RULES: dict[Callable, Rule] = {}


def _register(fns: tuple[Callable, ...], names: tuple[str, ...]) -> Callable[[Rule], Rule]:
    def deco(rule: Rule) -> Rule:
        for fn in fns:
            GRADIENTS[fn] = names
            _RULES[fn] = rule
        return rule
    return deco


def vjp(fn: Callable, *args: Any, **kwargs: Any) -> tuple[Any, Callable[[Any], tuple]]:
    """Run ``fn(*args, **kwargs)`` and return ``(out, pullback)``.

    Parameters
    ----------
    fn : callable
        A public numconv op with a registered gradient (a key of :data:`GRADIENTS`).
    *args, **kwargs
        Its arguments, exactly as for a direct call.

    Returns
    -------
    out
        ``fn``'s result (for :func:`numconv.max_pool_with_argmax`, the pair).
    pullback : callable
        ``pullback(cotangent) -> tuple`` of gradients, one per name in
        ``GRADIENTS[fn]`` whose argument is not None, each of that argument's shape.
        ``cotangent`` must have the output's shape (the pooled values' for
        ``max_pool_with_argmax``).

    Raises
    ------
    TypeError
        If ``fn`` has no registered gradient; the op's own errors for bad arguments.

    Examples
    --------
    Backpropagate ``L = sum(max_pool2d(relu(conv2d(x, w))))`` by hand:

    >>> from numconv import conv2d, relu, max_pool2d
    >>> x = np.arange(9.0).reshape(1, 3, 3, 1) - 4
    >>> w = np.ones((2, 2, 1, 1))
    >>> y1, back_conv = vjp(conv2d, x, w, 1, "VALID")   # 2x2 sums: [[-8, -4], [4, 8]]
    >>> y2, back_relu = vjp(relu, y1)
    >>> y3, back_pool = vjp(max_pool2d, y2, 2, 2, "VALID")
    >>> y3.ravel()
    array([8.])
    >>> (g2,) = back_pool(np.ones_like(y3))             # all to the maximum, 8
    >>> (g1,) = back_relu(g2)
    >>> gx, gw = back_conv(g1)
    >>> gx[0, :, :, 0]
    array([[0., 0., 0.],
           [0., 1., 1.],
           [0., 1., 1.]])
    >>> gw[:, :, 0, 0]                                   # the window that made 8
    array([[0., 1.],
           [3., 4.]])
    """
    _args.registered("vjp", "fn", fn, GRADIENTS)
    bound = _args.bind("vjp", fn, args, kwargs)
    out = fn(*bound.args, **bound.kwargs)
    a = dict(bound.arguments)
    primal = out[0] if isinstance(out, tuple) else out
    wrt = tuple(name for name in GRADIENTS[fn] if a[name] is not None)
    rule = _RULES[fn]
    name = getattr(fn, "__name__", "fn")
    precision = a.get("precision") or get_default_precision()

    def pullback(cotangent: Any) -> tuple:
        ct = _args.array("pullback", "cotangent", cotangent)
        _args.grad_shape("pullback", "cotangent", ct.shape, primal.shape,
                         f"the output of {name}")
        with default_precision(precision):   # the forward call's, for every conv inside
            grads = rule(a, primal, ct)
        return tuple(grads[n] for n in wrt)

    pullback.__doc__ = f"Pull a cotangent of {name}'s output back to {', '.join(wrt)}."
    return out, pullback


# --------------------------------------------------------------------------- helpers

def _layout(a: dict, ct: np.ndarray) -> Layout:
    """The op's layout (its ``data_format`` resolved for the output's rank)."""
    return spellings.layout("vjp", a.get("data_format"), ct.ndim - 2, "cotangent", None)


def _conv_kw(a: dict, ct: np.ndarray) -> dict:
    s = a["strides"] if "strides" in a else a["stride"]
    return dict(strides=1 if s is None else s, padding=a["padding"],
                data_format=_layout(a, ct).name, dilations=a["dilations"])


# --------------------------------------------------------------------------- convolution

@_register((cv.convolution, cv.conv1d, cv.conv2d, cv.conv3d), ("input", "filters", "bias"))
def _conv(a: dict, out: np.ndarray, ct: np.ndarray) -> dict:
    x, w, kw = np.asarray(a["input"]), np.asarray(a["filters"]), _conv_kw(a, ct)
    grads = {"input": cg.conv_backprop_input(x.shape, w, ct, **kw),
             "filters": cg.conv_backprop_filter(x, w.shape, ct, **kw)}
    if a["bias"] is not None:
        grads["bias"] = cg.bias_add_grad(ct, kw["data_format"])
    return grads


@_register((cv.depthwise_conv2d,), ("input", "filter", "bias"))
def _depthwise(a: dict, out: np.ndarray, ct: np.ndarray) -> dict:
    x, w, kw = np.asarray(a["input"]), np.asarray(a["filter"]), _conv_kw(a, ct)
    grads = {"input": cg.depthwise_conv2d_backprop_input(x.shape, w, ct, **kw),
             "filter": cg.depthwise_conv2d_backprop_filter(x, w.shape, ct, **kw)}
    if a["bias"] is not None:
        grads["bias"] = cg.bias_add_grad(ct, kw["data_format"])
    return grads


@_register((cg.conv_transpose, cg.conv1d_transpose, cg.conv2d_transpose, cg.conv3d_transpose),
           ("input", "filters"))
def _transpose(a: dict, out: np.ndarray, ct: np.ndarray) -> dict:
    y, w, kw = np.asarray(a["input"]), np.asarray(a["filters"]), _conv_kw(a, ct)
    return {"input": cv.convolution(ct, w, **kw),
            "filters": cg.conv_backprop_filter(ct, w.shape, y, **kw)}


@_register((cg.conv_backprop_input, cg.conv1d_backprop_input, cg.conv2d_backprop_input,
            cg.conv3d_backprop_input), ("filters", "out_backprop"))
def _backprop_input(a: dict, out: np.ndarray, ct: np.ndarray) -> dict:
    w, g, kw = np.asarray(a["filters"]), np.asarray(a["out_backprop"]), _conv_kw(a, ct)
    return {"filters": cg.conv_backprop_filter(ct, w.shape, g, **kw),
            "out_backprop": cv.convolution(ct, w, **kw)}


@_register((cg.conv_backprop_filter, cg.conv1d_backprop_filter, cg.conv2d_backprop_filter,
            cg.conv3d_backprop_filter), ("input", "out_backprop"))
def _backprop_filter(a: dict, out: np.ndarray, ct: np.ndarray) -> dict:
    x, g = np.asarray(a["input"]), np.asarray(a["out_backprop"])
    kw = _conv_kw(a, g)
    return {"input": cg.conv_backprop_input(x.shape, ct, g, **kw),
            "out_backprop": cv.convolution(x, ct, **kw)}


@_register((cg.depthwise_conv2d_backprop_input,), ("filter", "out_backprop"))
def _dw_backprop_input(a: dict, out: np.ndarray, ct: np.ndarray) -> dict:
    w, g, kw = np.asarray(a["filter"]), np.asarray(a["out_backprop"]), _conv_kw(a, ct)
    return {"filter": cg.depthwise_conv2d_backprop_filter(ct, w.shape, g, **kw),
            "out_backprop": cv.depthwise_conv2d(ct, w, **kw)}


@_register((cg.depthwise_conv2d_backprop_filter,), ("input", "out_backprop"))
def _dw_backprop_filter(a: dict, out: np.ndarray, ct: np.ndarray) -> dict:
    x, g = np.asarray(a["input"]), np.asarray(a["out_backprop"])
    kw = _conv_kw(a, g)
    return {"input": cg.depthwise_conv2d_backprop_input(x.shape, ct, g, **kw),
            "out_backprop": cv.depthwise_conv2d(x, ct, **kw)}


@_register((cg.bias_add_grad,), ("out_backprop",))
def _bias_add_grad(a: dict, out: np.ndarray, ct: np.ndarray) -> dict:
    g = np.asarray(a["out_backprop"])
    axis = g.ndim - 1 if a["data_format"] is None else _layout(a, g).channel_axis
    shape = [1] * g.ndim
    shape[axis] = -1
    return {"out_backprop": np.broadcast_to(ct.reshape(shape), g.shape).copy()}


@_register((win.im2col,), ("input",))
def _im2col(a: dict, out: np.ndarray, ct: np.ndarray) -> dict:
    x = np.asarray(a["input"])
    return {"input": win.col2im(ct, x.shape, a["window_shape"], a["strides"], a["padding"],
                                a["data_format"], a["dilations"])}


@_register((win.col2im,), ("cols",))
def _col2im(a: dict, out: np.ndarray, ct: np.ndarray) -> dict:
    return {"cols": win.im2col(ct, a["window_shape"], a["strides"], a["padding"],
                               a["data_format"], a["dilations"])}


# --------------------------------------------------------------------------- activations

@_register((act.relu,), ("features",))
def _relu(a: dict, out: np.ndarray, ct: np.ndarray) -> dict:
    return {"features": act.relu_grad(ct, a["features"], max_value=a["max_value"],
                                      negative_slope=a["negative_slope"],
                                      threshold=a["threshold"])}


@_register((act.relu6,), ("features",))
def _relu6(a: dict, out: np.ndarray, ct: np.ndarray) -> dict:
    return {"features": act.relu6_grad(ct, a["features"])}


@_register((act.leaky_relu,), ("features",))
def _leaky_relu(a: dict, out: np.ndarray, ct: np.ndarray) -> dict:
    return {"features": act.leaky_relu_grad(ct, a["features"], a["alpha"])}


# --------------------------------------------------------------------------- pooling

def _pool_grad(a: dict, ct: np.ndarray, kind: str, window: Any) -> np.ndarray:
    x = np.asarray(a["input"])
    fmt = _layout(a, ct).name
    s = 1 if a["strides"] is None else a["strides"]
    if kind == "MAX":
        return pg.max_pool_grad(x, ct, window, s, a["padding"], fmt, dilations=a["dilations"],
                                ceil_mode=a["ceil_mode"])
    return pg.avg_pool_grad(x.shape, ct, window, s, a["padding"], fmt,
                            dilations=a["dilations"], count_include_pad=a["count_include_pad"],
                            ceil_mode=a["ceil_mode"], divisor_override=a["divisor_override"])


@_register((pl.pool,), ("input",))
def _pool(a: dict, out: np.ndarray, ct: np.ndarray) -> dict:
    kind = _args.choice("pool", "pooling_type", a["pooling_type"], ("MAX", "AVG"))
    return {"input": _pool_grad(a, ct, kind, a["window_shape"])}


@_register((pl.max_pool, pl.max_pool1d, pl.max_pool2d, pl.max_pool3d, pg.max_pool_with_argmax),
           ("input",))
def _max_pool(a: dict, out: np.ndarray, ct: np.ndarray) -> dict:
    return {"input": _pool_grad(a, ct, "MAX", a["ksize"])}


@_register((pl.avg_pool, pl.avg_pool1d, pl.avg_pool2d, pl.avg_pool3d), ("input",))
def _avg_pool(a: dict, out: np.ndarray, ct: np.ndarray) -> dict:
    return {"input": _pool_grad(a, ct, "AVG", a["ksize"])}


def _global(a: dict, ct: np.ndarray) -> tuple[np.ndarray, Layout, np.ndarray]:
    x = np.asarray(a["input"])
    layout = spellings.layout("vjp", a["data_format"], x.ndim - 2, "input", None)
    kept = tuple(layout.full_index((1,) * layout.n_spatial, x.shape[0],
                                   x.shape[layout.channel_axis]))
    return x, layout, ct.reshape(kept)


@_register((pl.global_max_pool,), ("input",))
def _global_max(a: dict, out: np.ndarray, ct: np.ndarray) -> dict:
    x, layout, g = _global(a, ct)
    spatial = layout.spatial_shape(x.shape)
    return {"input": pg.max_pool_grad(x, g, spatial, 1, "VALID", layout.name)}


@_register((pl.global_avg_pool,), ("input",))
def _global_avg(a: dict, out: np.ndarray, ct: np.ndarray) -> dict:
    x, layout, g = _global(a, ct)
    count = math.prod(layout.spatial_shape(x.shape))
    acc, result = spellings.mean_dtypes(g.dtype)
    share = np.broadcast_to(g.astype(acc) / count, x.shape)
    return {"input": share.astype(result)}


@_register((pg.max_unpool,), ("input",))
def _max_unpool(a: dict, out: np.ndarray, ct: np.ndarray) -> dict:
    v = np.asarray(a["input"])
    idx = np.asarray(a["indices"])
    flat = ct.reshape(1, -1) if a["include_batch_in_index"] else ct.reshape(ct.shape[0], -1)
    rows = np.zeros(idx.shape, np.intp) if a["include_batch_in_index"] else \
        np.broadcast_to(np.arange(v.shape[0]).reshape((-1,) + (1,) * (v.ndim - 1)), idx.shape)
    picked = flat[rows, np.maximum(idx, 0)]
    return {"input": np.where(idx >= 0, picked, np.zeros((), picked.dtype))}
