"""Section ``grad``: TensorFlow gradients (GradientTape and the raw grad ops) as goldens.

Run ``python data/make_tf_reference.py grad``.  Writes ``data/golden/grad_<group>.npz``
(conv, depthwise, transpose, pool, argmax, act).  Schema (``allow_pickle=False``):

``tf_version``
    0-d str array, ``tf.__version__``.
``cases``
    0-d str array holding a JSON list; entry ``i`` describes case ``i``::

        {"id": unique test id,
         "fn": numconv function name, or "vjp:<name>" for numconv.vjp(<name>, ...)
               whose pullback is applied to the array "cotangent",
         "kwargs": keyword arguments that are not arrays (JSON values),
         "arrays": names of keyword arguments stored as arrays,
         "outputs": names of the expected results, in order (one per pullback gradient),
         "tf": the TensorFlow expression that produced them,
         "exact": compare exactly, "terms": terms summed per value (tolerance scale)}

``case{i}_{name}`` / ``case{i}_out_{name}``
    Input arrays and expected outputs of case ``i``.

Every gradient is ``tape.gradient(y, sources, output_gradients=g)`` with a random
``g`` (or the raw op: ``ReluGrad``...).  TF's CPU kernels are NHWC-only: channels-first
cases transpose around channels-last calls.  TF 2.21 CPU limits, measured, which the
grids respect: the non-oneDNN (float64) ``Conv2DBackpropInput`` refuses dilations > 1,
so dilated cases are float32 (oneDNN); grouped-convolution gradients exist only through
oneDNN (float32, 1-D/2-D), and oneDNN has none with explicit pads;
``tf.nn.convolution`` refuses strides > 1 with dilations > 1;
``Conv3D``'s gradient needs an explicit ``data_format``; ``tf.nn.pool`` refuses strides
larger than the window and dilation with SAME or strides; 3-D pooling is float32 only;
``tf.nn.max_pool_with_argmax`` takes only SAME/VALID; float64 max-pool inputs hold
float32-representable values (TF's float64 max pool rounds to float32, see DESIGN.md).
Integer-valued inputs (``ties`` in the id) pin TF's rule for 1-D/2-D max pooling and
argmax: the first maximum in window order.  Measured divergences, not recorded:
``MaxPool3DGrad`` gives every tied maximum the whole gradient (numconv: the first, as
TF's 2-D kernel; tested live in tests/frameworks/test_grad_live_tf.py); float64
``Conv2DBackpropFilter`` of an empty output returns uninitialised values (a NaN among
zeros; numconv: zeros).
"""

from __future__ import annotations

import math
import pathlib
from typing import Any

import numpy as np

from ._common import FIRST, LAST, GoldenFile, first, pad_tag, tag

F32, F64 = "float32", "float64"


class Group(GoldenFile):
    """Cases of one golden file."""

    prefix = "grad"

    def normal(self, shape: tuple[int, ...], dtype: str, ties: bool = False) -> np.ndarray:
        if ties:
            return self.rng.integers(0, 3, shape).astype(dtype)
        return self.rng.standard_normal(shape).astype(np.float32).astype(dtype)

    def add(self, id: str, fn: str, kwargs: dict, arrays: dict, outputs: dict, tf_expr: str,
            *, exact: bool = False, terms: int = 1) -> None:
        i = self._next(id)
        for name, a in arrays.items():
            self.arrays[f"case{i}_{name}"] = np.ascontiguousarray(a)
        for name, a in outputs.items():
            self.arrays[f"case{i}_out_{name}"] = np.ascontiguousarray(a)
        self.cases.append({"id": id, "fn": fn, "kwargs": kwargs, "arrays": list(arrays),
                           "outputs": list(outputs), "tf": tf_expr, "exact": exact,
                           "terms": terms})


def lay(a: Any, last: bool) -> np.ndarray:
    return np.asarray(a) if last else first(a)


def shape_in(shape: tuple[int, ...], last: bool) -> list[int]:
    return list(shape) if last else [shape[0], shape[-1], *shape[1:-1]]


def tape(tf, fn, sources: list, g_seed: Group) -> tuple[np.ndarray, np.ndarray, list]:
    """(y, g, dL/dsources) with L = <y, g> for a random g."""
    ts = [tf.constant(s) for s in sources]
    with tf.GradientTape() as t:
        for s in ts:
            t.watch(s)
        y = fn(*ts)
    g = g_seed.normal(tuple(y.shape), y.dtype.name)
    grads = t.gradient(y, ts, output_gradients=tf.constant(g))
    return np.asarray(y), g, [np.asarray(v) for v in grads]


# --------------------------------------------------------------------------- convolution

def conv_call(tf, n: int, s: tuple, d: tuple, padding: Any):
    pads = padding if isinstance(padding, str) else [[0, 0], *map(list, padding), [0, 0]]
    if n == 1:
        return (lambda x, w: tf.nn.conv1d(x, w, s[0], padding, "NWC", d[0])), "tf.nn.conv1d"
    if n == 2:
        return (lambda x, w: tf.nn.conv2d(x, w, list(s), pads, "NHWC", list(d))), "tf.nn.conv2d"
    return (lambda x, w: tf.nn.conv3d(x, w, [1, *s, 1], padding, "NDHWC", [1, *d, 1])), \
        "tf.nn.conv3d(data_format='NDHWC')"


def conv_cases(g: Group, tf, n: int, dtype: str, last: bool, padding: Any, s: tuple, d: tuple,
               groups: int = 1, window: tuple | None = None, empty: bool = False) -> None:
    size, window = (7, 6, 5)[:n], window or (3, 2, 2)[:n]
    cin, cout = 2 * groups, 2 * groups if groups > 1 else 3
    x, w, b = (g.normal((2, *size, cin), dtype), g.normal((*window, cin // groups, cout), dtype),
               g.normal((cout,), dtype))
    call, expr = conv_call(tf, n, s, d, padding)
    y, gy, (dx, dw, db) = tape(tf, lambda x_, w_, b_: tf.nn.bias_add(call(x_, w_), b_),
                               [x, w, b], g)
    fmt = (LAST if last else FIRST)[n]
    pad = padding if isinstance(padding, str) else [list(p) for p in padding]
    geo = {"strides": list(s), "padding": pad, "data_format": fmt, "dilations": list(d)}
    cid = f"{dtype}-{fmt}-{pad_tag(padding)}-s{tag(s)}-d{tag(d)}-g{groups}-k{tag(window)}"
    expr = f"GradientTape of tf.nn.bias_add({expr}(x, w), b)"
    alias = f"conv{n}d" if last else "conv"
    taps = math.prod(window)
    g.add(f"bias_add_grad-{cid}", "bias_add_grad", {"data_format": fmt},
          {"out_backprop": lay(gy, last)}, {"output": db}, expr, terms=gy.size // cout)
    g.add(f"{alias}_backprop_input-{cid}", f"{alias}_backprop_input",
          {"input_sizes": shape_in(x.shape, last), **geo},
          {"filters": w, "out_backprop": lay(gy, last)}, {"output": lay(dx, last)}, expr,
          terms=taps * cout // groups)
    if empty:  # TF's filter gradient of an empty output holds garbage (a NaN), measured
        return
    g.add(f"{alias}_backprop_filter-{cid}", f"{alias}_backprop_filter",
          {"filter_sizes": list(w.shape), **geo},
          {"input": lay(x, last), "out_backprop": lay(gy, last)}, {"output": dw}, expr,
          terms=gy.size // cout)
    vjp_geo = {("stride" if n == 1 and k == "strides" else k): v for k, v in geo.items()}
    g.add(f"vjp-conv{n}d-{cid}", f"vjp:conv{n}d", vjp_geo,
          {"input": lay(x, last), "filters": w, "bias": b, "cotangent": lay(gy, last)},
          {"input": lay(dx, last), "filters": dw, "bias": db}, expr, terms=gy.size // cout)


def gen_conv(tf) -> Group:
    g = Group("conv", 5001)
    paddings = {1: ("SAME", "VALID"), 2: ("SAME", "VALID", ((1, 2), (0, 1))),
                3: ("SAME", "VALID")}
    strides = {1: [(1,), (2,), (3,)], 2: [(1, 1), (2, 2), (1, 3)], 3: [(1, 1, 1), (2, 1, 2)]}
    for n in (1, 2, 3):
        for padding in paddings[n]:
            for i, s in enumerate(strides[n]):
                conv_cases(g, tf, n, F64, i % 2 == 0, padding, s, (1,) * n)
            if not isinstance(padding, str):
                continue  # explicit pads: no oneDNN gradient, so no dilated or grouped one
            dil = {1: (2,), 2: (2, 1), 3: (1, 2, 2)}[n]
            conv_cases(g, tf, n, F32, n != 2, padding, (1,) * n, dil)
            if n < 3:
                conv_cases(g, tf, n, F32, n == 2, padding, (2,) * n, (1,) * n, groups=2)
    conv_cases(g, tf, 2, F32, True, "SAME", (2, 2), (2, 2))       # conv2d strides with dilation
    conv_cases(g, tf, 2, F64, True, "VALID", (1, 1), (1, 1), window=(7, 7), empty=True)
    return g


def gen_depthwise(tf) -> Group:
    g = Group("depthwise", 5002)
    configs = [(F64, "SAME", (1, 1), (1, 1), 1), (F64, "VALID", (2, 2), (1, 1), 2),
               (F64, ((1, 0), (2, 1)), (1, 1), (1, 1), 2), (F32, "SAME", (1, 1), (2, 2), 1),
               (F32, "VALID", (1, 1), (2, 1), 2), (F32, "SAME", (2, 2), (1, 1), 2)]
    for i, (dtype, padding, s, d, mult) in enumerate(configs):
        last = i % 2 == 0
        x, f = g.normal((2, 7, 6, 3), dtype), g.normal((3, 2, 3, mult), dtype)
        pads = padding if isinstance(padding, str) else [[0, 0], *map(list, padding), [0, 0]]
        y, gy, (dx, df) = tape(tf, lambda x_, f_: tf.nn.depthwise_conv2d(
            x_, f_, [1, *s, 1], pads, dilations=list(d)), [x, f], g)
        fmt = "NHWC" if last else "NCHW"
        geo = {"strides": list(s), "padding": padding if isinstance(padding, str) else
               [list(p) for p in padding], "data_format": fmt, "dilations": list(d)}
        cid = f"{dtype}-{fmt}-{pad_tag(padding)}-s{tag(s)}-d{tag(d)}-m{mult}"
        expr = "GradientTape of tf.nn.depthwise_conv2d"
        g.add(f"input-{cid}", "depthwise_conv2d_backprop_input",
              {"input_sizes": shape_in(x.shape, last), **geo},
              {"filter": f, "out_backprop": lay(gy, last)}, {"output": lay(dx, last)}, expr,
              terms=6 * mult)
        g.add(f"filter-{cid}", "depthwise_conv2d_backprop_filter",
              {"filter_sizes": list(f.shape), **geo},
              {"input": lay(x, last), "out_backprop": lay(gy, last)}, {"output": df}, expr,
              terms=gy.size // gy.shape[-1])
        g.add(f"vjp-{cid}", "vjp:depthwise_conv2d", geo,
              {"input": lay(x, last), "filter": f, "cotangent": lay(gy, last)},
              {"input": lay(dx, last), "filter": df}, expr, terms=gy.size // gy.shape[-1])
    return g


def gen_transpose(tf) -> Group:
    g = Group("transpose", 5003)
    # (n, in spatial, window, strides, padding, output spatial sizes); several outputs
    # map to one input size (SAME: ceil(out / s) == in; VALID: (out - k) // s + 1 == in)
    configs = [(1, (3,), (3,), (2,), "SAME", [(5,), (6,)]),
               (1, (3,), (3,), (2,), "VALID", [(7,), (8,)]),
               (2, (3, 4), (3, 2), (2, 2), "SAME", [(5, 7), (6, 8)]),
               (2, (3, 3), (2, 3), (2, 1), "VALID", [(6, 5), (7, 5)]),
               (2, (4, 3), (3, 3), (1, 2), ((1, 0), (2, 1)), [(5, 5), (5, 4)]),
               (3, (2, 3, 2), (2, 2, 3), (2, 1, 2), "SAME", [(4, 3, 4), (3, 3, 3)])]
    for j, (n, size, window, s, padding, outs) in enumerate(configs):
        for out in outs:
            last = (j + len(out)) % 2 == 0 or n == 3
            dtype = F64
            y, w = g.normal((2, *size, 3), dtype), g.normal((*window, 2, 3), dtype)
            oshape = [2, *out, 2]
            pads = padding if isinstance(padding, str) else [[0, 0], *map(list, padding), [0, 0]]
            f = getattr(tf.nn, f"conv{n}d_transpose")
            stride = list(s) if n > 1 else s[0]
            res, gy, (dy, dw) = tape(tf, lambda y_, w_: f(y_, w_, oshape, stride, pads), [y, w], g)
            fmt = (LAST if last else FIRST)[n]
            kw = {"output_shape": shape_in(tuple(oshape), last), "strides": list(s),
                  "padding": padding if isinstance(padding, str) else
                  [list(p) for p in padding], "data_format": fmt}
            cid = f"{fmt}-{pad_tag(padding)}-s{tag(s)}-k{tag(window)}-in{tag(size)}-out{tag(out)}"
            expr = f"tf.nn.conv{n}d_transpose and its GradientTape"
            g.add(f"fwd-{cid}", f"conv{n}d_transpose", kw, {"input": lay(y, last), "filters": w},
                  {"output": lay(res, last)}, expr, terms=math.prod(window) * 3)
            g.add(f"vjp-{cid}", f"vjp:conv{n}d_transpose", kw,
                  {"input": lay(y, last), "filters": w, "cotangent": lay(gy, last)},
                  {"input": lay(dy, last), "filters": dw}, expr, terms=gy.size // 2)
    return g


# --------------------------------------------------------------------------- pooling

def pool_call(tf, kind: str, api: str, n: int, k: tuple, s: tuple, d: tuple, padding: Any):
    if api == "pool":
        return (lambda x: tf.nn.pool(x, list(k), kind, list(s), padding, dilations=list(d))), \
            "tf.nn.pool"
    pads = padding if isinstance(padding, str) else [[0, 0], *map(list, padding), [0, 0]]
    f = getattr(tf.nn, f"{'max' if kind == 'MAX' else 'avg'}_pool{n}d")
    return (lambda x: f(x, list(k), list(s), pads)), f"tf.nn.{f.__name__}"


def pool_cases(g: Group, tf, kind: str, api: str, n: int, dtype: str, last: bool, padding: Any,
               k: tuple, s: tuple, d: tuple | None = None, ties: bool = False) -> None:
    d = d or (1,) * n
    x = g.normal((2, *(7, 6, 5)[:n], 3), dtype, ties)
    call, expr = pool_call(tf, kind, api, n, k, s, d, padding)
    y, gy, (dx,) = tape(tf, call, [x], g)
    fmt = (LAST if last else FIRST)[n]
    geo = {"ksize": list(k), "strides": list(s),
           "padding": padding if isinstance(padding, str) else [list(p) for p in padding],
           "data_format": fmt, "dilations": list(d)}
    cid = (f"{dtype}-{fmt}-{pad_tag(padding)}-k{tag(k)}-s{tag(s)}-d{tag(d)}"
           f"{'-ties' if ties else ''}")
    expr = f"GradientTape of {expr}"
    if kind == "MAX":
        g.add(f"max_pool_grad-{cid}", "max_pool_grad", geo,
              {"input": lay(x, last), "grad": lay(gy, last)}, {"output": lay(dx, last)}, expr,
              terms=math.prod(k))
        g.add(f"vjp-max_pool-{cid}", "vjp:max_pool", geo,
              {"input": lay(x, last), "cotangent": lay(gy, last)}, {"input": lay(dx, last)},
              expr, terms=math.prod(k))
    else:
        g.add(f"avg_pool_grad-{cid}", "avg_pool_grad",
              {"input_shape": shape_in(x.shape, last), **geo}, {"grad": lay(gy, last)},
              {"output": lay(dx, last)}, expr, terms=math.prod(k))


def gen_pool(tf) -> Group:
    g = Group("pool", 5004)
    ks = {1: [((3,), (2,)), ((2,), (1,)), ((4,), (4,))],
          2: [((3, 3), (2, 2)), ((2, 3), (1, 2)), ((3, 2), (3, 1))],
          3: [((2, 2, 2), (2, 2, 2)), ((3, 2, 1), (1, 2, 1))]}
    for n in (1, 2, 3):
        for kind in ("MAX", "AVG"):
            for i, (k, s) in enumerate(ks[n]):
                for padding in ("SAME", "VALID"):
                    last = (i + (padding == "SAME")) % 2 == 0
                    api = "pool" if kind == "MAX" and n == 2 else "nd"
                    dtype = F32 if n == 3 else F64
                    pool_cases(g, tf, kind, api, n, dtype, last, padding, k, s)
                    if kind == "MAX" and n < 3:  # MaxPool3DGrad: see the module notes
                        pool_cases(g, tf, kind, "nd", n, F32, not last, padding, k, s, ties=True)
            dil = {1: ((3,), (2,)), 2: ((2, 2), (2, 3)), 3: ((2, 2, 2), (1, 2, 2))}[n]
            pool_cases(g, tf, kind, "pool", n, F32 if n == 3 else F64, n != 2, "VALID", dil[0],
                       (1,) * n, dil[1], ties=kind == "MAX" and n < 3)
        if n < 3:  # explicit pads (max_pool1d/2d only; pads smaller than the window)
            pads = ((1, 2),) if n == 1 else ((1, 0), (2, 1))
            pool_cases(g, tf, "MAX", "nd", n, F32, True, pads, (3,) * n, (2,) * n)
            pool_cases(g, tf, "MAX", "nd", n, F32, False, pads, (3,) * n, (1,) * n, ties=True)
    return g


def gen_argmax(tf) -> Group:
    g = Group("argmax", 5005)
    configs = [((3, 3), (2, 2), "SAME"), ((2, 2), (2, 2), "VALID"), ((3, 2), (1, 2), "SAME"),
               ((2, 3), (2, 1), "VALID"), ((4, 4), (3, 3), "SAME")]
    for i, (k, s, padding) in enumerate(configs):
        for dtype, ties, batch_index in ((F32, False, i % 2 == 0), (F32, True, i % 2 == 1),
                                         (F64, i > 2, True)):
            x = g.normal((2, 7, 6, 3), dtype, ties)
            v, idx = tf.nn.max_pool_with_argmax(x, list(k), list(s), padding,
                                                include_batch_in_index=batch_index)
            _, gy, (dx,) = tape(tf, lambda x_: tf.nn.max_pool_with_argmax(
                x_, list(k), list(s), padding, include_batch_in_index=batch_index)[0], [x], g)
            kw = {"ksize": list(k), "strides": list(s), "padding": padding,
                  "data_format": "NHWC", "include_batch_in_index": batch_index}
            cid = (f"{dtype}-{padding}-k{tag(k)}-s{tag(s)}{'-batch' if batch_index else ''}"
                   f"{'-ties' if ties else ''}")
            expr = "tf.nn.max_pool_with_argmax and its GradientTape"
            g.add(f"fwd-{cid}", "max_pool_with_argmax", kw, {"input": x},
                  {"output": np.asarray(v), "argmax": np.asarray(idx)}, expr, exact=True)
            g.add(f"vjp-{cid}", "vjp:max_pool_with_argmax", kw, {"input": x, "cotangent": gy},
                  {"input": dx}, expr, terms=math.prod(k))
    return g


# --------------------------------------------------------------------------- activations

def gen_act(tf) -> Group:
    g = Group("act", 5006)
    kinks = np.array([-2.0, -0.0, 0.0, 1e-3, 3.0, 6.0, 6.5, np.nan, -np.inf, np.inf])
    for dtype in ("float16", F32, F64):
        x = np.concatenate([kinks, g.rng.standard_normal(30) * 4]).astype(dtype)
        gr = g.rng.standard_normal(x.shape).astype(dtype)
        gr[-3:] = [np.nan, np.inf, -1.0]
        tx, tg = tf.constant(x), tf.constant(gr)  # raw ops given NumPy float64 return float32
        kw: dict[str, Any] = {}
        for fn, op in (("relu_grad", tf.raw_ops.ReluGrad), ("relu6_grad", tf.raw_ops.Relu6Grad)):
            out = op(gradients=tg, features=tx)
            g.add(f"{fn}-{dtype}", fn, kw, {"gradients": gr, "features": x},
                  {"output": np.asarray(out)}, f"tf.raw_ops.{op.__name__}", exact=True)
        # alpha is a float32 attribute: TF's float64 gradient uses float32(0.2) (measured,
        # relative error 1.5e-8), so float64 cases take alphas exact in float32
        for alpha in ((0.25, 0.0625) if dtype == F64 else (0.2, 0.01)):
            out = tf.raw_ops.LeakyReluGrad(gradients=tg, features=tx, alpha=alpha)
            g.add(f"leaky_relu_grad-{dtype}-a{alpha}", "leaky_relu_grad", {"alpha": alpha},
                  {"gradients": gr, "features": x}, {"output": np.asarray(out)},
                  "tf.raw_ops.LeakyReluGrad", exact=True)
    import keras  # Keras 3 on the TF backend: the relu options, away from the kinks
    for max_value, slope, threshold in ((None, 0.3, 0.0), (6.0, 0.0, 0.0), (4.0, 0.5, 1.0),
                                        (None, 0.0, -1.0)):
        x = (g.rng.standard_normal(40) * 4).astype(F32)      # Keras computes in float32
        x = x[np.abs(x - threshold) > 1e-3]
        if max_value is not None:
            x = x[np.abs(x - max_value) > 1e-3]
        _, gy, (dx,) = tape(tf, lambda x_: keras.activations.relu(
            x_, negative_slope=slope, max_value=max_value, threshold=threshold), [x], g)
        kw = {"max_value": max_value, "negative_slope": slope, "threshold": threshold}
        g.add(f"vjp-relu-keras-{max_value}-{slope}-{threshold}", "vjp:relu", kw,
              {"features": x, "cotangent": gy}, {"features": dx},
              "GradientTape of keras.activations.relu", terms=1)
    return g


GROUPS = (gen_conv, gen_depthwise, gen_transpose, gen_pool, gen_argmax, gen_act)


def generate(tf, out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Write every ``grad_*.npz``; return their paths."""
    written = []
    for make in GROUPS:
        group = make(tf)
        written.append(group.save(out_dir, tf.__version__))
        print(f"  {written[-1].name}: {len(group.cases)} cases, "
              f"{written[-1].stat().st_size / 1e6:.2f} MB")
    return written
