"""Section ``ops``: TensorFlow goldens for the forward ops (convolution, pooling, ReLU, im2col).

Run ``python data/make_tf_reference.py ops``.  Writes ``data/golden/ops_<group>.npz``, one
file per group of cases.  Schema (``np.load(path, allow_pickle=False)`` works):

``tf_version``
    0-d str array, ``tf.__version__``.
``cases``
    0-d str array holding a JSON list; entry ``i`` describes case ``i``::

        {"id": unique test id, "fn": numconv function name,
         "args": names of the positional arrays in call order (e.g. ["input", "filters"]),
         "kwargs": numconv keyword arguments (str / int / float / null / nested lists),
         "array_kwargs": names of keyword arguments stored as arrays (e.g. ["bias"]),
         "tf": the TensorFlow expression that produced the output,
         "dtype": the dtype numconv must return, "exact": compare exactly (max, relu, im2col),
         "terms": products or elements summed per output value (tolerance scale)}

``case{i}_{name}``
    The arrays of case ``i``: its inputs by name and ``case{i}_output``.

Only configurations TF 2.21's CPU kernels compute correctly are recorded.  Measured
limits, which the grids below respect by construction: ``tf.nn.convolution`` refuses
strides > 1 with dilations > 1 (``tf.nn.conv1d`` / ``conv2d`` compute it); explicit
padding exists for conv2d, depthwise_conv2d and max pooling 1-D/2-D only (1-D
convolution uses conv2d on a height-1 image; 3-D uses ``tf.pad`` then VALID); grouped
convolution is 1-D/2-D only; CPU Conv3D dilates in float32 (oneDNN) only;
depthwise_conv2d needs equal strides (except float32) and strides 1 with dilations
(else it warns and returns a wrongly shaped result); ``tf.nn.pool`` refuses strides
larger than the window and dilation with SAME or strides; 3-D pooling is float32 only;
``tf.nn.max_pool2d`` returns float32 for float16/float64 input (float16 results are
exact and cast back; float64 max goldens come from ``tf.nn.pool``); max-pool explicit
pads must be smaller than the window.  Empty (size-0) outputs come from float64 for
conv and max pool: oneDNN's float32 conv returns input-shaped garbage there and its
float32 max pool crashes the process (SIGFPE).  Two classes of wrong TF convolution
results are kept out of the grids (:func:`tf_conv_wrong`).  TF's CPU kernels are NHWC-only:
channels-first goldens transpose around channels-last calls.
"""

from __future__ import annotations

import itertools
import math
import pathlib
from typing import Any

import numpy as np

from ._common import FIRST, LAST, GoldenFile, first, pad_tag, tag

F16, F32, F64 = "float16", "float32", "float64"


class Group(GoldenFile):
    """Cases of one golden file."""

    prefix = "ops"

    def normal(self, shape: tuple[int, ...], dtype: str) -> np.ndarray:
        return self.rng.standard_normal(shape).astype(dtype)

    def add(self, id: str, fn: str, args: dict[str, np.ndarray], kwargs: dict, output: Any,
            tf_call: str, *, exact: bool = False, terms: int = 1, dtype: str | None = None,
            array_kwargs: dict[str, np.ndarray] | None = None) -> None:
        i = self._next(id)
        out = np.asarray(output)
        for name, a in {**args, **(array_kwargs or {}), "output": out}.items():
            self.arrays[f"case{i}_{name}"] = np.ascontiguousarray(a)
        self.cases.append({"id": id, "fn": fn, "args": list(args), "kwargs": kwargs,
                           "array_kwargs": list(array_kwargs or {}), "tf": tf_call,
                           "dtype": dtype or out.dtype.name, "exact": exact, "terms": terms})


# --------------------------------------------------------------------------- helpers

def full(values: tuple, n: int, last: bool, fill: Any) -> list:
    """Per-spatial values in TF's N+2 form for a layout."""
    out = [fill] * (n + 2)
    for axis, v in zip(range(1, n + 1) if last else range(2, n + 2), values):
        out[axis] = v
    return out


def pad_kwarg(padding: Any, n: int, last: bool, form: str) -> Any:
    """numconv's padding argument: a string, pairs per spatial dim, or TF's N+2 form."""
    if isinstance(padding, str):
        return padding
    pairs = [list(p) for p in padding]
    return full(pairs, n, last, [0, 0]) if form == "full" else pairs


def out_size(size: int, k: int, s: int, d: int, padding: Any) -> int:
    eff = (k - 1) * d + 1
    if padding == "SAME":
        return -(-size // s)
    b, a = (0, 0) if padding == "VALID" else padding
    return max((size + b + a - eff + s) // s, 0)


def tf_pads(padding: Any) -> Any:
    """TF's channels-last N+2 explicit form (or the string)."""
    return padding if isinstance(padding, str) else [[0, 0], *map(list, padding), [0, 0]]


# --------------------------------------------------------------------------- convolution

def conv_tf(tf, n: int, x, w, s: tuple, d: tuple, padding: Any, fn: str):
    """Run TF on channels-last ``x``; return (output, expression)."""
    if fn == "convolution":
        return tf.nn.convolution(x, w, list(s), padding, dilations=list(d)), "tf.nn.convolution"
    if n == 2:
        return tf.nn.conv2d(x, w, list(s), tf_pads(padding), dilations=list(d)), "tf.nn.conv2d"
    if n == 1 and isinstance(padding, str):
        return tf.nn.conv1d(x, w, s[0], padding, dilations=d[0]), "tf.nn.conv1d"
    if n == 1:
        out = tf.nn.conv2d(x[:, None], w[None], [1, s[0]], tf_pads(((0, 0), padding[0])),
                           dilations=[1, d[0]])
        return out[:, 0], "tf.nn.conv2d on a height-1 image (explicit pads)"
    expr = "tf.nn.conv3d"
    if not isinstance(padding, str):
        x, padding, expr = tf.pad(x, tf_pads(padding)), "VALID", "tf.nn.conv3d(tf.pad(x), VALID)"
    return tf.nn.conv3d(x, w, [1, *s, 1], padding, dilations=[1, *d, 1]), expr


def tf_conv_wrong(n: int, dtype: str, size: tuple, k: tuple, s: tuple, d: tuple,
                  padding: Any, cin: int) -> str:
    """Why TF 2.21's CPU convolution gets this configuration wrong ("" if it does not).

    Measured against float64 / nested-loop results (tests/frameworks/test_live_tf.py keeps both
    classes out of its random draws and documents them):

    * oneDNN float32 Conv2D/Conv3D with one input channel, an output width of 1 and a
      width stride > 1 returns wrong values for some shapes (more than one output row);
    * Eigen Conv3D (float64, float16; float32 without oneDNN) with SAME padding where
      ``(out - 1) * s + eff - in < 0`` pads negatively: its windows start one pixel late.
    """
    outs = [out_size(*a, padding if isinstance(padding, str) else p)
            for a, p in zip(zip(size, k, s, d), padding if not isinstance(padding, str)
                            else [padding] * n)]
    if n >= 2 and dtype == F32 and cin == 1 and s[-1] > 1 and outs[-1] == 1:
        return "oneDNN float32 width-1 output"
    if n == 3 and padding == "SAME" and any(
            (o - 1) * si + (ki - 1) * di + 1 - z < 0
            for o, si, ki, di, z in zip(outs, s, k, d, size)):
        return "Eigen Conv3D negative SAME pad"
    return ""


def conv_case(g: Group, tf, fn: str, n: int, dtype: str, last: bool, padding: Any,
              s: tuple, d: tuple, groups: int, *, size=None, window=None, cin=4, cout=4,
              batch=None, form="int", bias=False, suffix="") -> None:
    size = size or (7, 8, 6)[:n]
    batch = batch if batch is not None else (2 if dtype == F32 else 1)
    window = window or (3, 2, 3)[:n]
    assert not tf_conv_wrong(n, dtype, size, window, s, d, padding, cin), (size, window, s)
    x = g.normal((batch, *size, cin), dtype)
    w = g.normal((*window, cin // groups, cout), dtype)
    out, expr = conv_tf(tf, n, x, w, s, d, padding, fn)
    b = g.normal((cout,), dtype) if bias else None
    if bias:
        out, expr = tf.nn.bias_add(out, b), f"tf.nn.bias_add({expr})"
    out = np.asarray(out)
    fmt = LAST[n] if last else FIRST[n]
    sk = {"int": s[0] if len(set(s)) == 1 else list(s), "list": list(s),
          "full": full(s, n, last, 1)}[form]
    dk = {"int": d[0] if len(set(d)) == 1 else list(d), "list": list(d),
          "full": full(d, n, last, 1)}[form]
    kw = {"strides": sk, "padding": pad_kwarg(padding, n, last, form), "data_format": fmt,
          "dilations": dk}
    if fn == "conv1d":
        kw["stride"] = kw.pop("strides")
    cid = (f"{fn}-{dtype}-{fmt}-{pad_tag(padding)}-s{tag(s)}-d{tag(d)}-g{groups}-"
           f"k{tag(window)}-x{tag(size)}{'-bias' if bias else ''}{suffix}")
    g.add(cid, fn, {"input": x if last else first(x), "filters": w}, kw,
          out if last else first(out), expr, terms=math.prod(window) * cin // groups,
          array_kwargs={"bias": b} if bias else None)


def gen_conv(tf) -> Group:
    g = Group("conv", 1001)
    paddings = {1: ("SAME", "VALID", ((2, 1),)), 2: ("SAME", "VALID", ((1, 2), (0, 1))),
                3: ("SAME", "VALID", ((1, 0), (0, 2), (1, 1)))}
    sd = {1: [((1,), (1,)), ((2,), (1,)), ((1,), (2,)), ((3,), (2,))],
          2: [((1, 1), (1, 1)), ((2, 2), (1, 1)), ((1, 1), (2, 2)), ((2, 1), (1, 3)),
              ((3, 2), (2, 2))],
          3: [((1, 1, 1), (1, 1, 1)), ((2, 1, 2), (1, 1, 1)), ((1, 1, 1), (1, 2, 1)),
              ((2, 2, 1), (2, 1, 2))]}
    forms = itertools.cycle(["int", "list", "full"])
    for n, fn in ((1, "conv1d"), (2, "conv2d"), (3, "conv3d")):
        for dtype, padding, (s, d), groups, last in itertools.product(
                (F16, F32, F64), paddings[n], sd[n], (1, 2), (True, False)):
            dilated = max(d) > 1
            if n == 3 and (groups > 1 or (dilated and dtype != F32)):
                continue  # CPU Conv3D: no groups; dilation only in float32 (oneDNN)
            if dtype != F32 and (groups > 1 or not last) and padding == "VALID" and n < 3:
                continue  # keep the float16/float64 grid smaller
            conv_case(g, tf, fn, n, dtype, last, padding, s, d, groups, form=next(forms))
    # tf.nn.convolution (N-d): strides or dilations, not both
    for n, dtype, padding, (s, d), groups, last in itertools.product(
            (1, 2, 3), (F32, F64), ("SAME", "VALID"), ((1, 1), (2, 1), (1, 2)), (1, 2),
            (True, False)):
        if (n == 3 and (groups > 1 or (d > 1 and dtype != F32))) or (dtype == F64 and not last):
            continue
        conv_case(g, tf, "convolution", n, dtype, last, padding, (s,) * n, (d,) * n, groups)
    # wider channel counts, groups 3 and channels == groups, a bias, batch 1
    for dtype, last in itertools.product((F32, F64), (True, False)):
        conv_case(g, tf, "conv2d", 2, dtype, last, "SAME", (1, 2), (1, 1), 3, cin=6, cout=9,
                  bias=True, batch=1)
        conv_case(g, tf, "conv2d", 2, dtype, last, ((2, 0), (1, 1)), (2, 1), (1, 2), 6,
                  cin=6, cout=6, window=(4, 3))
        conv_case(g, tf, "conv1d", 1, dtype, last, "SAME", (1,), (3,), 1, cin=3, cout=5,
                  window=(4,), size=(11,), bias=True)
        conv_case(g, tf, "conv3d", 3, dtype, last, "SAME", (1, 2, 1), (1, 1, 1), 1, cin=2,
                  cout=3, window=(2, 3, 1), bias=True, batch=1)
    return g


def gen_depthwise(tf) -> Group:
    g = Group("depthwise", 1002)
    forms = itertools.cycle(["int", "full"])
    sd = [((1, 1), (1, 1)), ((2, 2), (1, 1)), ((1, 1), (2, 2)), ((1, 1), (1, 3)),
          ((3, 3), (1, 1)), ((1, 2), (1, 1)), ((2, 1), (1, 1))]
    for dtype, padding, (s, d), mult, last in itertools.product(
            (F16, F32, F64), ("SAME", "VALID", ((1, 2), (0, 1))), sd, (1, 2), (True, False)):
        if s[0] != s[1] and dtype != F32:
            continue  # unequal strides: oneDNN (float32) only
        if dtype != F32 and mult == 2 and not last:
            continue
        x = g.normal((2, 7, 6, 3), dtype)
        w = g.normal((3, 2, 3, mult), dtype)
        out = np.asarray(tf.nn.depthwise_conv2d(x, w, [1, *s, 1], tf_pads(padding),
                                                dilations=list(d)))
        form = next(forms)
        fmt = LAST[2] if last else FIRST[2]
        kw = {"strides": full(s, 2, last, 1) if form == "full" else list(s),
              "padding": pad_kwarg(padding, 2, last, form), "data_format": fmt,
              "dilations": list(d)}
        g.add(f"depthwise_conv2d-{dtype}-{fmt}-{pad_tag(padding)}-s{tag(s)}-d{tag(d)}-m{mult}",
              "depthwise_conv2d", {"input": x if last else first(x), "filter": w}, kw,
              out if last else first(out), "tf.nn.depthwise_conv2d", terms=6)
    return g


# --------------------------------------------------------------------------- pooling

def pool_out(tf, x, kind: str, api: str, n: int, k: tuple, s: tuple, d: tuple, padding: Any):
    """TF pooling of channels-last ``x`` through the named API; returns (output, expr)."""
    if api == "pool":
        return tf.nn.pool(x, list(k), kind, list(s), padding, dilations=list(d)), "tf.nn.pool"
    name = f"{'max' if kind == 'MAX' else 'avg'}_pool{'' if api == 'nd' else api + 'd'}"
    return getattr(tf.nn, name)(x, list(k), list(s), tf_pads(padding)), f"tf.nn.{name}"


def pool_case(g: Group, tf, fn: str, api: str, kind: str, n: int, dtype: str, last: bool,
              padding: Any, k: tuple, s: tuple, d: tuple = None, size=None, form="list",
              suffix="") -> None:
    d = d or (1,) * n
    size = size or (7, 6, 5)[:n]
    x = g.normal((2, *size, 3), dtype)
    out, expr = pool_out(tf, x, kind, api, n, k, s, d, padding)
    out = np.asarray(out)
    if out.dtype != x.dtype:  # tf.nn.max_pool2d gives float32 for float16 input: exact
        assert kind == "MAX" and dtype == F16, (expr, dtype, out.dtype)
        assert np.array_equal(out.astype(dtype).astype(out.dtype), out)
        out, expr = out.astype(dtype), expr + " (float32 result, cast back losslessly)"
    fmt = LAST[n] if last else FIRST[n]
    one = lambda v: v[0] if form == "int" and len(set(v)) == 1 else (  # noqa: E731
        full(v, n, last, 1) if form == "full" else list(v))
    kw: dict[str, Any] = {"padding": pad_kwarg(padding, n, last, form), "data_format": fmt}
    if fn == "pool":
        kw = {"window_shape": list(k), "pooling_type": kind, "strides": list(s), **kw,
              "dilations": list(d)}
    else:
        kw = {"ksize": one(k), "strides": one(s), **kw}
    cid = (f"{fn}-{kind if fn == 'pool' else ''}{dtype}-{fmt}-{pad_tag(padding)}-k{tag(k)}-"
           f"s{tag(s)}{'-d' + tag(d) if max(d) > 1 else ''}-x{tag(size)}{suffix}")
    g.add(cid, fn, {"input": x if last else first(x)}, kw, out if last else first(out), expr,
          exact=kind == "MAX", terms=math.prod(k))


def gen_pool(tf) -> Group:
    """tf.nn.pool: MAX/AVG, SAME (average over real elements)/VALID, dilated VALID."""
    g = Group("pool", 1003)
    ks = {1: [((3,), (2,)), ((2,), (1,)), ((4,), (4,))],
          2: [((3, 3), (2, 2)), ((2, 3), (1, 2)), ((3, 2), (3, 1))],
          3: [((2, 2, 2), (2, 2, 2)), ((3, 2, 1), (1, 2, 1))]}
    for n in (1, 2, 3):
        for kind, padding, (k, s), dtype, last in itertools.product(
                ("MAX", "AVG"), ("SAME", "VALID"), ks[n], (F16, F32, F64), (True, False)):
            if n == 3 and dtype != F32:
                continue  # CPU 3-D pooling is float32 only
            pool_case(g, tf, "pool", "pool", kind, n, dtype, last, padding, k, s)
        dil = {1: [((2,), (2,)), ((3,), (3,))], 2: [((2, 2), (2, 2)), ((3, 2), (1, 3))],
               3: [((2, 2, 2), (2, 1, 2))]}[n]
        for kind, (k, d), dtype, last in itertools.product(("MAX", "AVG"), dil, (F32, F64),
                                                           (True, False)):
            if n == 3 and dtype != F32:
                continue
            pool_case(g, tf, "pool", "pool", kind, n, dtype, last, "VALID", k, (1,) * n, d,
                      size=(9, 8, 6)[:n])
    return g


def gen_max_avg_pool(tf) -> Group:
    """max_pool / avg_pool (N-d) and the 1-D/2-D/3-D functions, incl. explicit max pads."""
    g = Group("max_avg_pool", 1004)
    forms = itertools.cycle(["int", "list", "full"])
    ks = {1: [((3,), (2,)), ((2,), (3,)), ((5,), (1,))],
          2: [((2, 2), (2, 2)), ((3, 2), (2, 3)), ((1, 3), (2, 1))],
          3: [((2, 2, 2), (2, 2, 2)), ((3, 1, 2), (1, 2, 3))]}
    for n in (1, 2, 3):
        for kind, padding, (k, s), dtype, last, api in itertools.product(
                ("MAX", "AVG"), ("SAME", "VALID"), ks[n], (F16, F32, F64), (True, False),
                (str(n), "nd")):
            if n == 3 and dtype != F32:
                continue  # CPU 3-D pooling is float32 only
            if n == 2 and kind == "MAX" and dtype == F64:
                continue  # max_pool2d rounds float64 to float32 (float64 goldens: tf.nn.pool)
            fn = ("max_pool" if kind == "MAX" else "avg_pool") + (f"{n}d" if api != "nd" else "")
            pool_case(g, tf, fn, api, kind, n, dtype, last, padding, k, s, form=next(forms))
    explicit = {1: [((3,), (2,), ((2, 1),)), ((2,), (1,), ((1, 0),))],
                2: [((3, 3), (2, 2), ((1, 2), (0, 1))), ((2, 3), (1, 2), ((1, 0), (2, 2)))]}
    for n in (1, 2):
        for (k, s, padding), dtype, last, api in itertools.product(
                explicit[n], (F16, F32, F64), (True, False), (str(n), "nd")):
            if n == 2 and dtype == F64:
                continue
            fn = "max_pool" + (f"{n}d" if api != "nd" else "")
            pool_case(g, tf, fn, api, "MAX", n, dtype, last, padding, k, s, form=next(forms))
    # float64 2-D max pooling: tf.nn.pool is exact where max_pool2d is not
    for padding, (k, s), last in itertools.product(("SAME", "VALID"), ks[2][:2], (True, False)):
        if max(a - b for a, b in zip(s, k)) > 0:
            continue
        pool_case(g, tf, "max_pool2d", "pool", "MAX", 2, F64, last, padding, k, s)
    return g


# --------------------------------------------------------------------------- relu, im2col

def gen_relu(tf) -> Group:
    import keras

    g = Group("relu", 1005)
    special = [0.0, -0.0, 6.0, 0.5, 2.0, 3.0, -1.0, 1e-3, -1e-3, 7.5, np.inf, -np.inf, np.nan]
    for dtype in (F16, F32, F64):
        x = np.concatenate([np.array(special), g.rng.standard_normal(40) * 4]).astype(dtype)
        x = x.reshape(1, 53)
        g.add(f"relu-{dtype}", "relu", {"features": x}, {}, tf.nn.relu(x), "tf.nn.relu",
              exact=True)
        g.add(f"relu6-{dtype}", "relu6", {"features": x}, {}, tf.nn.relu6(x), "tf.nn.relu6",
              exact=True)
        # TF's alpha attribute is a C float: float64 results use float32(alpha), so the
        # float64 goldens take alphas float32 represents exactly (tests/frameworks/test_live_tf.py
        # measures the difference)
        alphas = (0.25, 1.5, 0.125) if dtype == F64 else (None, 0.01, 0.25, 1.5)
        for alpha in alphas:
            kw = {} if alpha is None else {"alpha": alpha}
            g.add(f"leaky_relu-{dtype}-a{alpha}", "leaky_relu", {"features": x}, kw,
                  tf.nn.leaky_relu(x, **kw), f"tf.nn.leaky_relu(alpha={alpha})", exact=True)
        # Keras with a threshold maps NaN to 0 (numconv propagates it; tests/frameworks/test_live_tf.py)
        xk = x[:, ~np.isnan(x[0])]
        slopes = (0.0, 0.25, 0.375) if dtype == F64 else (0.0, 0.25, 0.1)
        for max_value, slope, thr in itertools.product((None, 6.0, 3.0, 1.0), slopes,
                                                      (0.0, 0.5, 2.0)):
            kw = {"max_value": max_value, "negative_slope": slope, "threshold": thr}
            layer = keras.layers.ReLU(dtype=dtype, **kw)
            g.add(f"relu-keras-{dtype}-m{max_value}-n{slope}-t{thr}", "relu", {"features": xk},
                  kw, layer(xk), f"keras.layers.ReLU({kw})", exact=True)
    for dtype in ("int32", "int64", "int8", "uint8"):
        x = g.rng.integers(-12 if dtype != "uint8" else 0, 12, (3, 7)).astype(dtype)
        g.add(f"relu-{dtype}", "relu", {"features": x}, {}, tf.nn.relu(x), "tf.nn.relu",
              exact=True)
        g.add(f"relu6-{dtype}", "relu6", {"features": x}, {}, tf.nn.relu6(x), "tf.nn.relu6",
              exact=True)
    return g


def gen_im2col(tf) -> Group:
    """im2col against tf.image.extract_patches (2-D, also 1-D as height 1) and 3-D patches."""
    g = Group("im2col", 1006)
    cfgs = [((3, 3), (1, 1), (1, 1)), ((2, 3), (2, 1), (1, 1)), ((2, 2), (1, 1), (2, 3)),
            ((3, 2), (2, 3), (2, 1)), ((1, 1), (3, 2), (1, 1))]
    for (k, s, d), padding, dtype, last in itertools.product(cfgs, ("SAME", "VALID"),
                                                             (F16, F32, F64), (True, False)):
        x = g.normal((2, 7, 8, 3), dtype)
        out = np.asarray(tf.image.extract_patches(x, [1, *k, 1], [1, *s, 1], [1, *d, 1],
                                                  padding))
        fmt = "NHWC" if last else "NCHW"
        if not last:  # (N, oh, ow, taps*C) -> torch unfold order (N, C*taps, oh, ow)
            nb, oh, ow, _ = out.shape
            out = out.reshape(nb, oh, ow, math.prod(k), 3).transpose(0, 4, 3, 1, 2)
            out = out.reshape(nb, -1, oh, ow)
        g.add(f"im2col-{dtype}-{fmt}-{padding}-k{tag(k)}-s{tag(s)}-d{tag(d)}", "im2col",
              {"input": x if last else first(x)},
              {"window_shape": list(k), "strides": list(s), "padding": padding,
               "data_format": fmt, "dilations": list(d)}, out,
              "tf.image.extract_patches" + ("" if last else " (reordered channels, taps)"),
              exact=True)
    for k, s, padding in [((3,), (2,), "SAME"), ((2,), (1,), "VALID"), ((4,), (3,), "SAME")]:
        x = g.normal((2, 9, 2), F32)
        out = np.asarray(tf.image.extract_patches(x[:, None], [1, 1, *k, 1], [1, 1, *s, 1],
                                                  [1, 1, 1, 1], padding))[:, 0]
        g.add(f"im2col-1d-{padding}-k{tag(k)}-s{tag(s)}", "im2col", {"input": x},
              {"window_shape": list(k), "strides": list(s), "padding": padding}, out,
              "tf.image.extract_patches on a height-1 image", exact=True)
    for k, s, padding, dtype in [((2, 3, 2), (2, 1, 2), "SAME", F32),
                                 ((2, 2, 2), (1, 2, 1), "VALID", F64),
                                 ((1, 3, 2), (1, 1, 3), "SAME", F16)]:
        x = g.normal((1, 5, 6, 7, 2), dtype)
        out = np.asarray(tf.extract_volume_patches(x, [1, *k, 1], [1, *s, 1], padding))
        g.add(f"im2col-3d-{dtype}-{padding}-k{tag(k)}-s{tag(s)}", "im2col", {"input": x},
              {"window_shape": list(k), "strides": list(s), "padding": padding}, out,
              "tf.extract_volume_patches", exact=True)
    return g


# --------------------------------------------------------------------------- edge cases

def gen_edge(tf) -> Group:
    """Empty outputs where TF allows them, window == input, 1x1 windows and inputs."""
    g = Group("edge", 1007)
    # VALID output size 0 with -s < in - eff + s <= 0 (TF's C++ division truncates to 0)
    for n, size, k, s in [(2, (2, 2), (3, 3), (1, 1)), (2, (2, 5), (3, 3), (1, 1)),
                          (2, (2, 2), (3, 3), (2, 2)), (1, (3,), (5,), (2,)),
                          (3, (2, 3, 3), (3, 2, 2), (1, 1, 1))]:
        fn = {1: "conv1d", 2: "conv2d", 3: "conv3d"}[n]
        conv_case(g, tf, fn, n, F64, True, "VALID", s, (1,) * n, 1, size=size, window=k,
                  cin=2, cout=3, batch=1, form="list", suffix="-empty")
        if n == 2:
            pool_case(g, tf, "pool", "pool", "MAX", n, F64, True, "VALID", k, s, size=size,
                      suffix="-empty")
            pool_case(g, tf, "pool", "pool", "AVG", n, F32, False, "VALID", k, s, size=size,
                      suffix="-empty")
            pool_case(g, tf, "avg_pool2d", "2", "AVG", n, F32, True, "VALID", k, s, size=size,
                      suffix="-empty")
    conv_case(g, tf, "conv2d", 2, F64, True, "VALID", (1, 1), (2, 2), 1, size=(4, 6),
              window=(3, 2), cin=2, cout=2, batch=1, suffix="-dilated-empty")
    x = g.normal((1, 2, 2, 2), F64)
    w = g.normal((3, 3, 2, 1), F64)
    g.add("depthwise_conv2d-float64-VALID-empty", "depthwise_conv2d",
          {"input": x, "filter": w}, {"strides": 1, "padding": "VALID"},
          tf.nn.depthwise_conv2d(x, w, [1, 1, 1, 1], "VALID"), "tf.nn.depthwise_conv2d",
          terms=9)
    out = tf.image.extract_patches(x, [1, 3, 3, 1], [1, 1, 1, 1], [1, 1, 1, 1], "VALID")
    g.add("im2col-float64-VALID-empty", "im2col", {"input": x},
          {"window_shape": 3, "padding": "VALID"}, out, "tf.image.extract_patches", exact=True)
    # window == input, 1x1 windows, 1x1 inputs, stride larger than the input
    for dtype, padding in itertools.product((F32, F64), ("SAME", "VALID")):
        conv_case(g, tf, "conv2d", 2, dtype, True, padding, (1, 1), (1, 1), 1, size=(4, 5),
                  window=(4, 5), cin=2, cout=3, suffix="-window-is-input")
        conv_case(g, tf, "conv2d", 2, dtype, False, padding, (2, 3), (1, 1), 1, size=(5, 7),
                  window=(1, 1), cin=3, cout=2, suffix="-1x1")
        conv_case(g, tf, "conv2d", 2, dtype, True, padding, (1, 1), (1, 1), 1, size=(1, 1),
                  window=(1, 1), cin=3, cout=2, suffix="-1x1-input")
        if padding == "SAME":
            conv_case(g, tf, "conv2d", 2, dtype, True, padding, (3, 4), (1, 1), 1,
                      size=(1, 1), window=(3, 3), cin=2, cout=2, suffix="-1x1-input-big-window")
        conv_case(g, tf, "conv2d", 2, dtype, True, padding, (5, 6), (1, 1), 1, size=(4, 5),
                  window=(2, 2), cin=2, cout=1, suffix="-stride-beyond-input")
        for kind in ("MAX", "AVG"):
            pool_case(g, tf, "pool", "pool", kind, 2, dtype, True, padding, (4, 5), (4, 5),
                      size=(4, 5), suffix="-window-is-input")
            pool_case(g, tf, "pool", "pool", kind, 2, dtype, False, padding, (1, 1), (1, 1),
                      size=(1, 1), suffix="-1x1")
            if padding == "SAME":
                pool_case(g, tf, "pool", "pool", kind, 1, dtype, True, padding, (5,), (4,),
                          size=(1,), suffix="-1-input-big-window")
    # integer convolution (TF computes int32; numconv computes exactly in int64)
    for padding in ("SAME", "VALID"):
        x = g.rng.integers(-9, 10, (2, 6, 5, 2)).astype("int32")
        w = g.rng.integers(-3, 4, (3, 2, 2, 4)).astype("int32")
        g.add(f"conv2d-int32-{padding}", "conv2d", {"input": x, "filters": w},
              {"strides": [2, 1], "padding": padding}, tf.nn.conv2d(x, w, [2, 1], padding),
              "tf.nn.conv2d (int32)", dtype="int64", exact=True)
        x = g.rng.integers(-50, 50, (2, 6, 5, 2)).astype("int32")
        g.add(f"pool-MAX-int32-{padding}", "pool", {"input": x},
              {"window_shape": [2, 3], "pooling_type": "MAX", "strides": [2, 2],
               "padding": padding}, tf.nn.pool(x, [2, 3], "MAX", [2, 2], padding),
              "tf.nn.pool (int32)", exact=True)
    return g


GROUPS = (gen_conv, gen_depthwise, gen_pool, gen_max_avg_pool, gen_relu, gen_im2col, gen_edge)


def generate(tf, out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Write every ``ops_*.npz``; return their paths."""
    written = []
    for make in GROUPS:
        group = make(tf)
        written.append(group.save(out_dir, tf.__version__))
        print(f"  {written[-1].name}: {len(group.cases)} cases, "
              f"{written[-1].stat().st_size / 1e6:.2f} MB")
    return written
