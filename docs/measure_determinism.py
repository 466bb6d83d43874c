"""Measure whether numconv's results depend on repetition, threads, chunking or batching.

For each op and float dtype, the reference result (default settings) is compared
bit for bit with the same call

* repeated (5 times) and in a fresh process,
* with ``NUMCONV_NUM_THREADS`` = 1, 2, 3, 4, 8 (numconv's block workers),
* with BLAS limited to 1 or 2 threads by the caller (threadpoolctl),
* with the arrays given in another memory layout (Fortran order, strided, negative
  strides, big-endian),
* under workspace bounds from 4 KiB to 64 MiB (different chunks, so GEMMs of other sizes),
* on each batch item alone instead of the whole batch,

and prints, per setting, the number of elements that differ and the largest difference
in units of the last place (ulps).  Run with the dev environment::

    python docs/measure_determinism.py

The statements in docs/determinism.md come from this output; tests/properties/test_determinism.py
checks them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys

import numpy as np

import numconv
from numconv import conv_grad, pooling_grad
from numconv.config import workspace_limit

RNG = np.random.default_rng(2024)
#: setting label -> ops on the same values in another memory layout
LAID: dict = {}


def inputs(dtype):
    x = RNG.standard_normal((4, 40, 36, 16)).astype(dtype)
    w = RNG.standard_normal((3, 3, 16, 32)).astype(dtype)
    g = RNG.standard_normal((4, 20, 18, 32)).astype(dtype)
    return x, w, g


def ops(dtype, layout=None):
    """name -> fn(batch slice); every op's inputs are sliced to the same batch items.

    ``layout`` (a function of an array) gives the arrays in another memory layout.
    """
    x, w, g = (a if layout is None else layout(a) for a in inputs(dtype))
    xs, ws = x[:2, :23, :19], w[..., :24]          # 3x3 SAME, 16 -> 24 channels
    return {
        "conv2d": lambda b=slice(None): numconv.conv2d(x[b], w, 2, "SAME"),
        "conv2d 1x1": lambda b=slice(None): numconv.conv2d(x[b], w[1:2, 1:2], 1, "VALID"),
        "conv2d 16->24 SAME": lambda b=slice(None): numconv.conv2d(xs[b], ws, 1, "SAME"),
        "conv2d 16->24 SAME dilated": lambda b=slice(None): numconv.conv2d(
            xs[b], ws, 1, "SAME", dilations=2),
        "conv2d im2col (2, 1) VALID": lambda b=slice(None): numconv.conv2d(
            x[b, :5, :9, :1], w[:2, :1, :1, :1], (2, 1), "VALID", algorithm="im2col"),
        "conv2d fft": lambda b=slice(None): numconv.conv2d(x[b], w, 1, "SAME", algorithm="fft"),
        "conv2d winograd": lambda b=slice(None): numconv.conv2d(x[b], w, 1, "SAME",
                                                                algorithm="winograd"),
        "depthwise_conv2d": lambda b=slice(None): numconv.depthwise_conv2d(
            x[b], w[:, :, :, :2], 1, "SAME"),
        "conv2d_backprop_input": lambda b=slice(None): conv_grad.conv2d_backprop_input(
            x[b].shape, w, g[b], 2, "SAME"),
        "conv2d_backprop_filter": lambda b=slice(None): conv_grad.conv2d_backprop_filter(
            x[b], w.shape, g[b], 2, "SAME"),
        "avg_pool2d": lambda b=slice(None): numconv.avg_pool2d(x[b], 3, 2, "SAME"),
        "global_avg_pool": lambda b=slice(None): numconv.global_avg_pool(x[b]),
        "max_pool2d": lambda b=slice(None): numconv.max_pool2d(x[b], 3, 2, "SAME"),
        "max_pool_grad": lambda b=slice(None): pooling_grad.max_pool_grad(
            x[b], numconv.max_pool2d(x[b], 3, 2, "SAME"), 3, 2, "SAME"),
    }


def ulps(a, b):
    """(elements that differ, max |a - b| / max |b| in units of the dtype's eps)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.tobytes() == b.tobytes():
        return 0, 0.0
    diff = np.abs(a.astype(np.float64) - b.astype(np.float64)).max()
    scale = np.abs(b).max() * np.finfo(b.dtype).eps
    return int((a != b).sum()), float(diff / scale)


@contextlib.contextmanager
def env(name, value):
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            del os.environ[name]
        else:
            os.environ[name] = old


def blas_threads(n):
    from threadpoolctl import threadpool_limits
    return threadpool_limits(n, user_api="blas")


def _negative(a):
    return np.ascontiguousarray(a[::-1, ..., ::-1])[::-1, ..., ::-1]


def _strided(a):
    buf = np.zeros((*a.shape[:-1], 2 * a.shape[-1]), a.dtype)
    buf[..., ::2] = a
    return buf[..., ::2]


LAYOUTS = {"Fortran order": np.asfortranarray, "strided": _strided,
           "negative strides": _negative,
           "big-endian": lambda a: a.astype(a.dtype.newbyteorder(">"))}


def settings():
    """``(label, context, repetitions, layout)`` of every setting compared."""
    yield "repeat x5", contextlib.nullcontext, 5, None
    for t in (1, 2, 3, 4, 8):
        yield (f"NUMCONV_NUM_THREADS={t}", lambda t=t: env("NUMCONV_NUM_THREADS", str(t)), 1,
               None)
    for n in (1, 2):
        yield f"BLAS {n} thread(s)", lambda n=n: blas_threads(n), 1, None
    for label, layout in LAYOUTS.items():
        yield label, contextlib.nullcontext, 1, layout
    for ws in (4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 16 << 20, 64 << 20):
        yield f"workspace {ws >> 10} KiB", lambda ws=ws: workspace_limit(ws), 1, None


def digest(dtype) -> str:
    global RNG
    RNG = np.random.default_rng(2024)
    h = hashlib.sha256()
    for fn in ops(dtype).values():
        out = fn()
        for a in (out if isinstance(out, tuple) else (out,)):
            h.update(a.tobytes())
    return h.hexdigest()


def main() -> int:
    if sys.argv[1:] == ["--digest"]:
        print(digest(np.float32), digest(np.float64))
        return 0
    fresh = subprocess.run([sys.executable, __file__, "--digest"], capture_output=True,
                           text=True, check=True).stdout.split()
    print("| op | dtype | setting | elements that differ | max diff / (eps * max abs) |")
    print("|---|---|---|---|---|")
    for i, dtype in enumerate((np.float32, np.float64)):
        global RNG
        here = digest(dtype)
        print(f"| all | {dtype.__name__} | fresh process | "
              f"{'0 (same digest)' if fresh[i] == here else 'DIGEST DIFFERS'} | 0 |")
        RNG = np.random.default_rng(2024)
        table = ops(dtype)
        for label, _, _, layout in settings():
            if layout is not None:
                RNG = np.random.default_rng(2024)
                LAID[label] = ops(dtype, layout)
        for name, fn in table.items():
            ref = fn()
            for label, ctx, times, layout in settings():
                worst = (0, 0.0)
                for _ in range(times):
                    with ctx():
                        got = (fn if layout is None else LAID[label][name])()
                    worst = max(worst, ulps(got, ref))
                if worst != (0, 0.0) or label == "repeat x5":
                    print(f"| {name} | {dtype.__name__} | {label} | {worst[0]} | "
                          f"{worst[1]:.3g} |")
            if name.startswith("conv2d_backprop_filter"):
                continue          # sums over the batch: one image alone is another sum
            alone = np.concatenate([fn(slice(i, i + 1)) for i in range(4)])
            n, u = ulps(alone, ref)
            print(f"| {name} | {dtype.__name__} | each image alone | {n} | {u:.3g} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
