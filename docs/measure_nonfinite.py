"""Measure what numconv, TensorFlow and PyTorch do with NaN, +Inf and -Inf.

Prints the Markdown tables of docs/nonfinite.md (one per op: rows are cases, columns
are numconv, TensorFlow and PyTorch), computed live.  Every windowed case is a 1x2
window (stride 2) over a float32 input of one row: ``[a, b]`` is the first window, and
the "padding" rows use a one-element input with SAME padding (TF's pad (0, 1);
PyTorch's symmetric pad 1, which gives the same window).

Run with the dev environment (tensorflow-cpu 2.21 and torch 2.13 installed)::

    TF_CPP_MIN_LOG_LEVEL=2 /work/venv/bin/python docs/measure_nonfinite.py

It is a script, not a test: the tests of numconv's rows are in tests/properties/test_nonfinite.py
and do not need the frameworks.
"""

from __future__ import annotations

import os
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

nan, inf = float("nan"), float("inf")
LOWEST = float(np.finfo(np.float32).min)

#: case name -> (first window's values, padding) for the windowed ops
WINDOW_CASES = {
    "`[NaN, 1]`": ([nan, 1.0], "VALID"),
    "`[1, NaN]`": ([1.0, nan], "VALID"),
    "`[NaN, NaN]`": ([nan, nan], "VALID"),
    "`[+Inf, 1]`": ([inf, 1.0], "VALID"),
    "`[-Inf, 1]`": ([-inf, 1.0], "VALID"),
    "`[-Inf, -Inf]`": ([-inf, -inf], "VALID"),
    "`[+Inf, -Inf]`": ([inf, -inf], "VALID"),
    "`[NaN, +Inf]`": ([nan, inf], "VALID"),
    "`[NaN, -Inf]`": ([nan, -inf], "VALID"),
    "`[3e38, 3e38]` (sum overflows)": ([3e38, 3e38], "VALID"),
    "`[NaN]` + SAME padding": ([nan], "SAME"),
    "`[-Inf]` + SAME padding": ([-inf], "SAME"),
}
ELEMENT_CASES = {"NaN": nan, "+Inf": inf, "-Inf": -inf}


def show(v: float) -> str:
    """A measured value as table text."""
    v = float(v)
    if np.isnan(v):
        return "NaN"
    if np.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == LOWEST:
        return "lowest (-3.4e38)"
    return f"{v:g}"


def row_input(values: list[float]) -> np.ndarray:
    return np.array(values, np.float32).reshape(1, 1, -1, 1)   # NHWC


# ----------------------------------------------------------------------------- numconv

def numconv_ops():
    import numconv as nc

    def conv(x, pad, w=(1.0, 1.0)):
        return nc.conv2d(x, np.array(w, np.float32).reshape(1, 2, 1, 1), (1, 2), pad)

    return {
        "conv2d": lambda x, pad: conv(x, pad),
        "conv2d, weights `[0, 1]`": lambda x, pad: conv(x, pad, (0.0, 1.0)),
        "max_pool2d": lambda x, pad: nc.max_pool2d(x, (1, 2), (1, 2), pad),
        "avg_pool2d": lambda x, pad: nc.avg_pool2d(x, (1, 2), (1, 2), pad),
        "global_max_pool": lambda x, pad: nc.global_max_pool(x),
        "global_avg_pool": lambda x, pad: nc.global_avg_pool(x),
        "relu": nc.relu, "relu6": nc.relu6, "leaky_relu": nc.leaky_relu,
    }


# ----------------------------------------------------------------------------- frameworks

def tf_ops():
    import tensorflow as tf

    def conv(x, pad, w=(1.0, 1.0)):
        return tf.nn.conv2d(x, np.array(w, np.float32).reshape(1, 2, 1, 1), (1, 2), pad)

    return {
        "conv2d": lambda x, pad: conv(x, pad),
        "conv2d, weights `[0, 1]`": lambda x, pad: conv(x, pad, (0.0, 1.0)),
        "max_pool2d": lambda x, pad: tf.nn.max_pool2d(x, (1, 2), (1, 2), pad),
        "avg_pool2d": lambda x, pad: tf.nn.avg_pool2d(x, (1, 2), (1, 2), pad),
        "global_max_pool": lambda x, pad: tf.keras.layers.GlobalMaxPooling2D()(x),
        "global_avg_pool": lambda x, pad: tf.keras.layers.GlobalAveragePooling2D()(x),
        "relu": tf.nn.relu, "relu6": tf.nn.relu6, "leaky_relu": tf.nn.leaky_relu,
    }


def torch_ops():
    import torch
    import torch.nn.functional as F

    def nchw(x):
        return torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, 1)))

    def conv(x, pad, w=(1.0, 1.0)):
        t = nchw(x)
        if pad == "SAME":
            t = F.pad(t, (0, 1))
        return F.conv2d(t, torch.tensor(w).reshape(1, 1, 1, 2), stride=(1, 2))

    def pool(f, x, pad, **kw):
        return f(nchw(x), (1, 2), (1, 2), padding=(0, 1) if pad == "SAME" else 0, **kw)

    return {
        "conv2d": lambda x, pad: conv(x, pad),
        "conv2d, weights `[0, 1]`": lambda x, pad: conv(x, pad, (0.0, 1.0)),
        "max_pool2d": lambda x, pad: pool(F.max_pool2d, x, pad),
        "avg_pool2d": lambda x, pad: pool(F.avg_pool2d, x, pad, count_include_pad=False),
        "global_max_pool": lambda x, pad: torch.amax(nchw(x), dim=(2, 3)),
        "global_avg_pool": lambda x, pad: torch.mean(nchw(x), dim=(2, 3)),
        "relu": lambda x: F.relu(torch.from_numpy(x)),
        "relu6": lambda x: F.relu6(torch.from_numpy(x)),
        "leaky_relu": lambda x: F.leaky_relu(torch.from_numpy(x), 0.2),
    }


def extra_columns() -> dict:
    """op -> [(column position, column name, fn)]: extra columns of one table."""
    import tensorflow as tf

    import numconv as nc
    return {"max_pool2d": [
        (1, 'numconv `nan_policy="ignore"`',
         lambda x, pad: nc.max_pool2d(x, (1, 2), (1, 2), pad, nan_policy="ignore")),
        (3, "TF `max_pool_with_argmax`",
         lambda x, pad: tf.nn.max_pool_with_argmax(x, (1, 2), (1, 2), pad)[0]),
    ]}


def first(y) -> float:
    y = y.numpy() if hasattr(y, "numpy") else np.asarray(y)
    return float(np.asarray(y, dtype=np.float64).ravel()[0])


def run(fn, op: str, case) -> str:
    if fn is None:
        return "—"
    try:
        if op in ("relu", "relu6", "leaky_relu"):
            return show(first(fn(np.array([case], np.float32))))
        values, pad = case
        if op.startswith("global") and pad == "SAME":
            return "—"
        return show(first(fn(row_input(values), pad)))
    except Exception as exc:  # noqa: BLE001  (a refusal is a measured outcome too)
        return f"error: {type(exc).__name__}"


def main() -> int:
    import tensorflow as tf
    import torch

    columns = [("numconv", numconv_ops()), (f"TensorFlow {tf.__version__}", tf_ops()),
               (f"PyTorch {torch.__version__}", torch_ops())]
    extra = extra_columns()
    for op in columns[0][1]:
        cases = ELEMENT_CASES if op in ("relu", "relu6", "leaky_relu") else WINDOW_CASES
        fns = [(name, ops[op]) for name, ops in columns]
        for position, name, fn in extra.get(op, []):
            fns.insert(position, (name, fn))
        print(f"\n### {op}\n")
        print("| input | " + " | ".join(name for name, _ in fns) + " |")
        print("|---" * (len(fns) + 1) + "|")
        for case, spec in cases.items():
            cells = [run(fn, op, spec) for _, fn in fns]
            if op.startswith("global") and cells[0] == "—":
                continue
            print(f"| {case} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
