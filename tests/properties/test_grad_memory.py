"""The backward passes keep their extra memory under the workspace bound (issue 4).

Extra memory is tracemalloc's peak during one call minus the arrays the call
returns.  Under a 4 MiB bound, every case below would need 4 to 20 times that in
scratch if computed whole (a padded copy of the input, the patch matrix, an
output-sized tap index and its masks; the estimate is written next to each case), and
runs in blocks instead, whatever the batch size.  Results are checked by identities:
the adjoint identity ``<conv(x, w), g> = <x, dx>`` and its pooling counterparts, so the
blocked paths are not only small but right.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import numconv
from numconv import engine

MiB = 2**20
LIMIT = 4 * MiB
#: Python objects (slices, small index arrays) that no workspace plan counts
SLACK = 64 * 1024
RNG = np.random.default_rng(4)

N, H, C = 32, 64, 16
X = RNG.standard_normal((N, H, H, C), dtype=np.float32)                  # 8 MiB
W = RNG.standard_normal((3, 3, C, C), dtype=np.float32)
WD = RNG.standard_normal((3, 3, C, 1), dtype=np.float32)
G1 = RNG.standard_normal((N, H, H, C), dtype=np.float32)                 # stride 1, SAME
G2 = RNG.standard_normal((N, H // 2, H // 2, C), dtype=np.float32)      # stride 2, SAME
XN, G1N, G2N = (np.ascontiguousarray(np.moveaxis(a, -1, 1)) for a in (X, G1, G2))
G1H, WH = G1.astype(np.float16), W.astype(np.float16)
X1, G1D = X.reshape(N, H * H, C), G1.reshape(N, H * H, C)                # 1-D
X3 = X.reshape(N, 16, 16, 16, C)
G3 = RNG.standard_normal((N, 8, 8, 8, C), dtype=np.float32)              # 3-D stride 2

PATCHES = N * H * H * 9 * C * 4               # stride-1 patch matrix: 72 MiB
PATCHES2 = PATCHES // 4                       # stride 2: 18 MiB
PADDED = N * (H + 2) ** 2 * C * 4             # a padded copy: 8.5 MiB
POOL = 9 * N * (H // 2) ** 2 * C * 8 + PADDED  # one intp index per window and tap


def vdot(a, b):
    return float(np.vdot(a.astype(np.float64), b.astype(np.float64)))


def conv_identity(x, w, g, **kw):
    """<conv(x, w), g> = <x, dL/dx> = <w, dL/dw>."""
    return lambda dx: np.testing.assert_allclose(
        vdot(numconv.convolution(x, w, **kw), g), vdot(x, dx), rtol=1e-4)


def filter_identity(x, w, g, **kw):
    return lambda dw: np.testing.assert_allclose(
        vdot(numconv.convolution(x, w, **kw), g), vdot(w, dw), rtol=1e-4)


def depthwise_identity(x, w, g, wrt):
    out = numconv.depthwise_conv2d(x, w, 1, "SAME")
    return lambda d: np.testing.assert_allclose(vdot(out, g), vdot(x if wrt == "x" else w, d),
                                                rtol=1e-4)


def avg_identity(x, g, *args, **kw):
    return lambda dx: np.testing.assert_allclose(
        vdot(numconv.pool(x, *args, **kw), g), vdot(x, dx), rtol=1e-4)


def max_grad_check(x, g, fmt="NHWC"):
    """Each window's gradient lands once, on an input element equal to the window max."""
    def check(dx):
        np.testing.assert_allclose(dx.astype(np.float64).sum(), g.astype(np.float64).sum(),
                                   rtol=1e-3)
        assert np.all(np.isin(x[dx != 0], numconv.max_pool2d(x, 3, 2, "SAME", fmt)))
    return check


def argmax_check(x, fmt, batch_index):
    def check(out):
        best, idx = out
        np.testing.assert_array_equal(best, numconv.max_pool2d(x, 3, 2, "SAME", fmt))
        flat = x.reshape(-1) if batch_index else x.reshape(x.shape[0], -1)
        got = flat[idx] if batch_index else np.take_along_axis(
            flat, idx.reshape(idx.shape[0], -1), 1).reshape(idx.shape)
        np.testing.assert_array_equal(got, best)
    return check


g = numconv
CASES = {
    # name: (call, check, unchunked workspace estimate)
    "conv2d_backprop_input stride 1 (gather)": (
        lambda: g.conv2d_backprop_input(X.shape, W, G1, 1, "SAME"),
        conv_identity(X, W, G1, padding="SAME"), PATCHES),
    "conv2d_backprop_input stride 2 (scatter)": (
        lambda: g.conv2d_backprop_input(X.shape, W, G2, 2, "SAME"),
        conv_identity(X, W, G2, strides=2, padding="SAME"), PATCHES2 + PADDED),
    "conv2d_backprop_input NCHW": (
        lambda: g.conv2d_backprop_input(XN.shape, W, G1N, 1, "SAME", "NCHW"),
        conv_identity(XN, W, G1N, padding="SAME", data_format="NCHW"), PATCHES),
    "conv2d_backprop_input float16": (
        lambda: g.conv2d_backprop_input(X.shape, WH, G1H, 1, "SAME"),
        None, PATCHES),
    "conv2d_transpose stride 2": (
        lambda: g.conv2d_transpose(G2, W, X.shape, 2, "SAME"),
        conv_identity(X, W, G2, strides=2, padding="SAME"), PATCHES2 + PADDED),
    "conv1d_backprop_input": (
        lambda: g.conv1d_backprop_input(X1.shape, W[0], G1D, 1, "SAME"),
        conv_identity(X1, W[0], G1D, padding="SAME"), PATCHES // 3),
    "conv3d_backprop_input stride 2": (
        lambda: g.conv3d_backprop_input(X3.shape, np.stack([W] * 3), G3, 2, "SAME"),
        conv_identity(X3, np.stack([W] * 3), G3, strides=2, padding="SAME"), PATCHES2 // 2),
    "conv2d_backprop_filter stride 1": (
        lambda: g.conv2d_backprop_filter(X, W.shape, G1, 1, "SAME"),
        filter_identity(X, W, G1, padding="SAME"), PATCHES + PADDED),
    "conv2d_backprop_filter stride 2 NCHW": (
        lambda: g.conv2d_backprop_filter(XN, W.shape, G2N, 2, "SAME", "NCHW"),
        filter_identity(XN, W, G2N, strides=2, padding="SAME", data_format="NCHW"),
        PATCHES2 + PADDED),
    "conv3d_backprop_filter": (
        lambda: g.conv3d_backprop_filter(X3, (3, 3, 3, C, C), G3, 2, "SAME"),
        filter_identity(X3, np.stack([W] * 3), G3, strides=2, padding="SAME"),
        PATCHES2 // 2),
    "depthwise_conv2d_backprop_input": (
        lambda: g.depthwise_conv2d_backprop_input(X.shape, WD, G1, 1, "SAME"),
        depthwise_identity(X, WD, G1, "x"), PATCHES // C + PADDED),
    "depthwise_conv2d_backprop_filter": (
        lambda: g.depthwise_conv2d_backprop_filter(X, WD.shape, G1, 1, "SAME"),
        depthwise_identity(X, WD, G1, "w"), PATCHES // C + PADDED),
    "max_pool_grad": (
        lambda: g.max_pool_grad(X, G2, 3, 2, "SAME"), max_grad_check(X, G2), POOL),
    "max_pool_grad NCHW": (
        lambda: g.max_pool_grad(XN, G2N, 3, 2, "SAME", "NCHW"), max_grad_check(XN, G2N, "NCHW"),
        POOL),
    "avg_pool_grad": (
        lambda: g.avg_pool_grad(X.shape, G2, 3, 2, "SAME"),
        avg_identity(X, G2, (3, 3), "AVG", 2, "SAME"), PADDED),
    "avg_pool_grad 3-D count_include_pad": (
        lambda: g.avg_pool_grad(X3.shape, G3, 3, 2, [(1, 1)] * 3, count_include_pad=True),
        avg_identity(X3, G3, (3, 3, 3), "AVG", 2, [(1, 1)] * 3, count_include_pad=True),
        PADDED),
    "max_pool_with_argmax": (
        lambda: g.max_pool_with_argmax(X, 3, 2, "SAME"), argmax_check(X, "NHWC", False),
        POOL),
    "max_pool_with_argmax NCHW batch index": (
        lambda: g.max_pool_with_argmax(XN, 3, 2, "SAME", "NCHW", True),
        argmax_check(XN, "NCHW", True), POOL),
}


def extra_bytes(call):
    """(result, tracemalloc peak during ``call`` minus the arrays it returns)."""
    engine.drop_kept_scratch()        # (kept buffers would hide scratch from tracemalloc)
    tracemalloc.start()
    try:
        out = call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    arrays = out if isinstance(out, tuple) else (out,)
    return out, peak - sum(a.nbytes for a in arrays)


@pytest.mark.parametrize("threads", ["1", "2"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_extra_memory_stays_under_the_bound(name, threads, monkeypatch):
    call, check, unchunked = CASES[name]
    assert unchunked >= 2 * LIMIT                  # the bound is what makes the difference
    monkeypatch.setenv("NUMCONV_NUM_THREADS", threads)
    with numconv.workspace_limit(LIMIT):
        call()                                     # warm-up: imports, thread pool
        out, extra = extra_bytes(call)
    assert extra <= LIMIT + SLACK, f"{name}: {extra / MiB:.2f} MiB over a 4 MiB bound"
    if check is not None and threads == "1":
        check(out)


def test_extra_memory_does_not_grow_with_the_batch():
    """A batch 4x larger needs 4x the result, not more scratch."""
    with numconv.workspace_limit(LIMIT):
        small = extra_bytes(lambda: numconv.conv2d_backprop_filter(X[:8], W.shape, G1[:8], 1,
                                                                   "SAME"))[1]
        large = extra_bytes(lambda: numconv.conv2d_backprop_filter(X, W.shape, G1, 1,
                                                                   "SAME"))[1]
    assert small <= LIMIT + SLACK and large <= LIMIT + SLACK
