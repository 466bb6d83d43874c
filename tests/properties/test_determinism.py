"""Determinism: the statements of docs/determinism.md, tested.

1. Repeated calls and a fresh process give bit-identical results.
2. The thread count (``NUMCONV_NUM_THREADS``, BLAS threads) does not change any bit.
3. Chunking (the workspace bound) changes nothing for pooling, ReLU, im2col,
   max_pool_grad and Winograd, and at most 8 eps x max|output| for the sums of the
   GEMM/FFT convolutions and the convolution gradients.
4. An image alone gives the bits it gets in a batch.
5. The memory layout of the arguments (Fortran, strided, negative strides, read-only,
   big-endian, nested lists) does not change any bit.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import numconv
from numconv import activations, conv_grad, conv_transposed, depthwise_grad, pooling_grad
from numconv import threads as worker_threads
from numconv.config import workspace_limit

#: the tests' arrays are small: run them on the workers a large call would get
pytestmark = pytest.mark.usefixtures("parallel_small_calls")

RNG = np.random.default_rng(5)
X = RNG.standard_normal((3, 21, 19, 6))
W = RNG.standard_normal((3, 3, 6, 8))
G = RNG.standard_normal((3, 11, 10, 8))       # conv2d(X, W, 2, "SAME") output
P = RNG.standard_normal((3, 11, 10, 6))       # pool(X, 3, 2, "SAME") output
XL = RNG.standard_normal((4, 40, 36, 16))     # large enough for BLAS to split its GEMMs
GL = RNG.standard_normal((4, 20, 18, 32))     # conv2d(XL, 3x3x16x32, 2, "SAME") output


def ops(dtype):
    """name -> fn(batch slice) on inputs of ``dtype``."""
    x, w, g, p, xl, gl = (a.astype(dtype) for a in (X, W, G, P, XL, GL))
    return {
        "conv2d im2col": lambda b=slice(None): numconv.conv2d(x[b], w, 2, "SAME",
                                                              algorithm="im2col"),
        "conv2d fft": lambda b=slice(None): numconv.conv2d(x[b], w, 1, "SAME", algorithm="fft"),
        "conv2d winograd": lambda b=slice(None): numconv.conv2d(x[b], w, 1, "SAME",
                                                                algorithm="winograd"),
        "conv2d auto dilated": lambda b=slice(None): numconv.conv2d(x[b], w, 1, "VALID",
                                                                    dilations=2),
        "depthwise_conv2d": lambda b=slice(None): numconv.depthwise_conv2d(x[b], w[..., :2], 1,
                                                                           "SAME"),
        "max_pool2d": lambda b=slice(None): numconv.max_pool2d(x[b], 3, 2, "SAME"),
        "max_pool2d ignore": lambda b=slice(None): numconv.max_pool2d(x[b], 3, 2, "SAME",
                                                                      nan_policy="ignore"),
        "avg_pool2d": lambda b=slice(None): numconv.avg_pool2d(x[b], 3, 2, "SAME"),
        "pool 1d ceil": lambda b=slice(None): numconv.pool(x[b, 0], [3], "AVG", 2, [(1, 1)],
                                                           ceil_mode=True),
        "global_avg_pool": lambda b=slice(None): numconv.global_avg_pool(x[b]),
        "relu": lambda b=slice(None): numconv.relu(x[b], max_value=1.0, negative_slope=0.2),
        "im2col": lambda b=slice(None): numconv.im2col(x[b], 3, 2, "SAME"),
        "max_pool_grad": lambda b=slice(None): pooling_grad.max_pool_grad(x[b], p[b], 3, 2,
                                                                          "SAME"),
        "avg_pool_grad": lambda b=slice(None): pooling_grad.avg_pool_grad(x[b].shape, p[b], 3,
                                                                          2, "SAME"),
        "conv2d_backprop_input": lambda b=slice(None): conv_grad.conv2d_backprop_input(
            x[b].shape, w, g[b], 2, "SAME"),
        "conv2d_backprop_filter": lambda b=slice(None): conv_grad.conv2d_backprop_filter(
            x[b], w.shape, g[b], 2, "SAME"),
        "conv2d_backprop_filter large": lambda b=slice(None): conv_grad.conv2d_backprop_filter(
            xl[b], (3, 3, 16, 32), gl[b], 2, "SAME"),
        "relu_grad": lambda b=slice(None): activations.relu_grad(g[b], 0.5 - g[b]),
    }


NAMES = sorted(ops(np.float64))
#: bit-identical under any workspace bound (docs/determinism.md, point 3)
CHUNK_EXACT = {"max_pool2d", "max_pool2d ignore", "avg_pool2d", "pool 1d ceil",
               "global_avg_pool", "relu", "im2col", "max_pool_grad", "conv2d winograd",
               "relu_grad"}
#: sums over the batch: an image alone is another sum (point 4)
BATCH_SUMS = {"conv2d_backprop_filter", "conv2d_backprop_filter large"}
BOUNDS = [4 << 10, 16 << 10, 64 << 10, 1 << 20, 16 << 20]
EPS_BOUND = 8


def bits(out):
    return [(a.shape, a.dtype.str, a.tobytes()) for a in (out if isinstance(out, tuple)
                                                           else (out,))]


def close(got, ref):
    """|got - ref| <= EPS_BOUND * eps * max|ref| (the summation-order bound)."""
    got, ref = np.asarray(got), np.asarray(ref)
    assert got.shape == ref.shape and got.dtype == ref.dtype
    bound = EPS_BOUND * np.finfo(ref.dtype).eps * max(np.abs(ref).max(initial=0), 1e-300)
    assert np.abs(got.astype(np.float64) - ref).max(initial=0) <= bound


@pytest.fixture(params=["float32", "float64"])
def dtype(request):
    return np.dtype(request.param)


@pytest.mark.parametrize("name", NAMES)
def test_repeated_calls_are_bit_identical(name, dtype):
    fn = ops(dtype)[name]
    first = bits(fn())
    assert all(bits(fn()) == first for _ in range(3))


DIGEST = textwrap.dedent("""
    import hashlib, sys
    import numpy as np
    sys.path[:0] = {paths!r}
    import test_determinism as t
    h = hashlib.sha256()
    for dt in ("float32", "float64"):
        for name, fn in sorted(t.ops(np.dtype(dt)).items()):
            for _, _, b in t.bits(fn()):
                h.update(b)
    print(h.hexdigest())
""")


def test_a_fresh_process_gives_the_same_bits():
    h = hashlib.sha256()
    for dt in ("float32", "float64"):
        for name, fn in sorted(ops(np.dtype(dt)).items()):
            for _, _, b in bits(fn()):
                h.update(b)
    here = os.path.dirname(os.path.abspath(__file__))
    code = DIGEST.format(paths=[here, os.path.dirname(here)])   # this file and helpers
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300)
    assert out.stdout.split()[-1] == h.hexdigest()


@pytest.mark.parametrize("name", NAMES)
def test_thread_count_does_not_change_results(name, dtype, monkeypatch):
    fn = ops(dtype)[name]
    for bound in (None, 256 << 10):
        with workspace_limit(bound or numconv.get_workspace_limit()):
            monkeypatch.setenv("NUMCONV_NUM_THREADS", "1")
            ref = bits(fn())
            for threads in ("2", "3", "8"):
                monkeypatch.setenv("NUMCONV_NUM_THREADS", threads)
                assert bits(fn()) == ref, (bound, threads)


@pytest.mark.parametrize("name", NAMES)
def test_blas_thread_count_does_not_change_results(name, dtype):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    fn = ops(dtype)[name]
    ref = bits(fn())
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        assert bits(fn()) == ref


@pytest.mark.parametrize("name", NAMES)
def test_chunking(name, dtype):
    fn = ops(dtype)[name]
    ref = fn()
    for bound in BOUNDS:
        with workspace_limit(bound):
            got = fn()
        if name in CHUNK_EXACT:
            assert bits(got) == bits(ref), bound
        else:
            close(got, ref)


@pytest.mark.parametrize("name", sorted(set(NAMES) - BATCH_SUMS))
def test_an_image_alone_gives_its_batch_result(name, dtype):
    fn = ops(dtype)[name]
    whole = fn()
    alone = [fn(slice(i, i + 1)) for i in range(3)]
    if isinstance(whole, tuple):
        whole, alone = whole[0], [a[0] for a in alone]
    assert bits(np.concatenate(alone)) == bits(whole)


def test_chunking_really_differs_somewhere():
    """The tolerance of point 3 is needed: a 4 KiB bound changes some float32 sums."""
    fn = ops(np.dtype("float32"))["conv2d_backprop_filter"]
    ref = fn()
    with workspace_limit(4 << 10):
        assert bits(fn()) != bits(ref)


# --------------------------------------------------------------------------- same values, same bits
#
# The cases below run on random float data whose magnitudes span six decades, so that
# any change in the order of a sum shows in the last bits.  Each case is a function of
# its arrays; every array is varied in memory (same values) and the results compared
# bit for bit, as are the results on 1, 2, 3, 4 and 8 threads (at the default
# workspace bound and under a small one, where images are cut into bands), and each
# image computed alone against its slice of the batch's result.

WIDE = np.random.default_rng(11)


def wide(*shape):
    """Gaussian values times 10**U(-3, 3): sums whose order shows in the last bits."""
    return WIDE.standard_normal(shape) * 10.0 ** WIDE.uniform(-3, 3, shape)


XI, WI = wide(3, 5, 9, 1), wide(2, 1, 1, 1)          # im2col, strides (2, 1), VALID
XS, WS = wide(2, 23, 19, 16), wide(3, 3, 16, 24)      # 3x3 SAME, 16 -> 24 channels
XG, WG = wide(2, 13, 11, 8), wide(3, 3, 4, 6)         # grouped: 2 groups
XP = wide(2, 21, 18, 6)                               # pools
GS1, GS2 = wide(2, 23, 19, 24), wide(2, 12, 10, 24)   # conv2d(XS, WS, 1 | 2, "SAME") grads


def _vjp_conv(x, w, b, g):
    _, back = numconv.vjp(numconv.conv2d, x, w, 1, "SAME", bias=b)
    return back(g)


def _first(fn):
    return lambda *a: fn(*a)[0]


#: name -> (function of the arrays, the arrays, which arrays hold a batch: the op is
#: batch-invariant if the tuple is given (an image alone gives its bits in the batch))
CASES = {
    "conv2d im2col (2, 1) VALID": (
        lambda x, w: numconv.conv2d(x, w, (2, 1), "VALID", algorithm="im2col"),
        (XI, WI), (True, False)),
    "conv2d SAME 16->24": (lambda x, w: numconv.conv2d(x, w, 1, "SAME"), (XS, WS),
                           (True, False)),
    "conv2d SAME 16->24 dilated": (lambda x, w: numconv.conv2d(x, w, 1, "SAME", dilations=2),
                                   (XS, WS), (True, False)),
    "conv2d strided": (lambda x, w: numconv.conv2d(x, w, 2, "SAME"), (XS, WS), (True, False)),
    "conv2d shift": (lambda x, w: numconv.conv2d(x, w, 1, "SAME", algorithm="shift"),
                     (XS, WS), (True, False)),
    "conv2d 1x1": (lambda x, w: numconv.conv2d(x, w, 1, "SAME"), (XS, wide(1, 1, 16, 12)),
                   (True, False)),
    "conv2d 1x1 strided": (lambda x, w: numconv.conv2d(x, w, 2, "SAME"),
                           (XS, wide(1, 1, 16, 12)), (True, False)),
    "conv2d winograd": (lambda x, w: numconv.conv2d(x, w, 1, "SAME", algorithm="winograd"),
                        (XS, WS), (True, False)),
    "conv2d fft": (lambda x, w: numconv.conv2d(x, w, 1, "SAME", algorithm="fft"),
                   (XS, WS), (True, False)),
    "conv1d": (lambda x, w: numconv.conv1d(x, w, 2, "SAME"), (wide(3, 30, 5), wide(5, 5, 7)),
               (True, False)),
    "conv3d": (lambda x, w: numconv.conv3d(x, w, 1, "SAME"),
               (wide(2, 6, 7, 5, 3), wide(3, 2, 3, 3, 4)), (True, False)),
    "conv2d grouped": (lambda x, w: numconv.conv2d(x, w, 1, "SAME"), (XG, WG), (True, False)),
    "depthwise_conv2d": (lambda x, w: numconv.depthwise_conv2d(x, w, 1, "SAME"),
                         (XG, wide(3, 3, 8, 2)), (True, False)),
    "depthwise_conv2d multiplier 1": (lambda x, w: numconv.depthwise_conv2d(x, w, 1, "SAME"),
                                      (XG, wide(3, 3, 8, 1)), (True, False)),
    "conv2d_backprop_input stride 1": (
        lambda w, g: conv_grad.conv2d_backprop_input((len(g), 23, 19, 16), w, g, 1, "SAME"),
        (WS, GS1), (False, True)),
    "conv2d_backprop_input stride 2": (
        lambda w, g: conv_grad.conv2d_backprop_input((len(g), 23, 19, 16), w, g, 2, "SAME"),
        (WS, GS2), (False, True)),
    "conv2d_backprop_input grouped": (
        lambda w, g: conv_grad.conv2d_backprop_input((len(g), 13, 11, 8), w, g, 2, "SAME"),
        (WG, wide(2, 7, 6, 6)), (False, True)),
    "conv2d_backprop_filter": (
        lambda x, g: conv_grad.conv2d_backprop_filter(x, (3, 3, 16, 24), g, 1, "SAME"),
        (XS, GS1), None),
    "depthwise_conv2d_backprop_filter": (
        lambda x, g: depthwise_grad.depthwise_conv2d_backprop_filter(x, (3, 3, 8, 2), g, 1,
                                                                "SAME"),
        (XG, wide(2, 13, 11, 16)), None),
    "conv2d_transpose": (
        lambda y, w: conv_transposed.conv2d_transpose(y, w, (len(y), 23, 19, 16), 2, "SAME"),
        (GS2, WS), (True, False)),
    "vjp conv2d": (_vjp_conv, (XS, WS, wide(24), GS1), None),
    "vjp conv2d dx": (_first(_vjp_conv), (XS, WS, wide(24), GS1), (True, False, False, True)),
    "max_pool2d": (lambda x: numconv.max_pool2d(x, 3, 2, "SAME"), (XP,), (True,)),
    "avg_pool2d": (lambda x: numconv.avg_pool2d(x, 3, 2, "SAME"), (XP,), (True,)),
    "avg_pool3d": (lambda x: numconv.avg_pool3d(x, 2, 1, "SAME"), (wide(2, 5, 6, 4, 3),),
                   (True,)),
    "global_avg_pool": (numconv.global_avg_pool, (XP,), (True,)),
    "global_avg_pool one channel": (numconv.global_avg_pool, (wide(3, 5, 6, 1),), (True,)),
    "global_max_pool": (numconv.global_max_pool, (XP,), (True,)),
    "max_pool_grad": (lambda x, g: pooling_grad.max_pool_grad(x, g, 3, 2, "SAME"),
                      (XP, wide(2, 11, 9, 6)), (True, True)),
    "avg_pool_grad": (lambda g: pooling_grad.avg_pool_grad((len(g), 21, 18, 6), g, 3, 2,
                                                           "SAME"),
                      (wide(2, 11, 9, 6),), (True,)),
    "max_pool_with_argmax": (lambda x: pooling_grad.max_pool_with_argmax(x, 3, 2, "SAME"),
                             (XP,), None),
}
CASE_NAMES = sorted(CASES)


def _strided(a):
    """The values of ``a`` in every other element of a larger buffer."""
    buf = np.zeros((*a.shape[:-1], 2 * a.shape[-1]), a.dtype)
    buf[..., ::2] = a
    return buf[..., ::2]


def _negative(a):
    """A view with negative strides on the first and last axes."""
    flip = (slice(None, None, -1),) + (slice(None),) * (a.ndim - 2) + (slice(None, None, -1),)
    return np.ascontiguousarray(a[flip])[flip] if a.ndim > 1 else np.ascontiguousarray(
        a[::-1])[::-1]


def _readonly(a):
    b = a.copy()
    b.flags.writeable = False
    return b


#: memory variants of the same values
VARIANTS = {
    "Fortran": np.asfortranarray,
    "strided": _strided,
    "negative strides": _negative,
    "read-only": _readonly,
    "big-endian": lambda a: a.astype(a.dtype.newbyteorder(">")),
    "nested list": lambda a: a.tolist(),         # float64 only: lists hold Python floats
}


def _arrays(name, dtype):
    return [np.ascontiguousarray(a, dtype) for a in CASES[name][1]]


@pytest.mark.parametrize("name", CASE_NAMES)
@pytest.mark.parametrize("variant, dtype", [(v, t) for v in sorted(VARIANTS)
                                            for t in ("float32", "float64")
                                            if v != "nested list" or t == "float64"])
def test_memory_layout_does_not_change_bits(name, variant, dtype):
    fn, arrays = CASES[name][0], _arrays(name, np.dtype(dtype))
    ref = bits(fn(*arrays))
    assert bits(fn(*(VARIANTS[variant](a) for a in arrays))) == ref


@pytest.mark.parametrize("name", CASE_NAMES)
def test_threads_do_not_change_bits(name, dtype, monkeypatch):
    fn, arrays = CASES[name][0], _arrays(name, dtype)
    for bound in (None, 64 << 10):      # 64 KiB: images cut into bands
        with workspace_limit(bound or numconv.get_workspace_limit()):
            monkeypatch.setenv("NUMCONV_NUM_THREADS", "1")
            ref = bits(fn(*arrays))
            for threads in ("2", "3", "4", "8"):
                monkeypatch.setenv("NUMCONV_NUM_THREADS", threads)
                assert bits(fn(*arrays)) == ref, (bound, threads)


@pytest.mark.parametrize("name", [n for n in CASE_NAMES if CASES[n][2] is not None])
def test_an_image_gives_its_bits_alone(name, dtype):
    fn, arrays, batched = CASES[name][0], _arrays(name, dtype), CASES[name][2]
    for bound in (None, 64 << 10):
        with workspace_limit(bound or numconv.get_workspace_limit()):
            whole = fn(*arrays)
            batch = len(next(a for a, b in zip(arrays, batched) if b))
            for i in range(batch):
                alone = fn(*(a[i:i + 1] if b else a for a, b in zip(arrays, batched)))
                assert bits(alone) == bits(whole[i:i + 1]), (bound, i)


@pytest.mark.parametrize("name", ["conv2d im2col (2, 1) VALID", "conv2d SAME 16->24",
                                  "conv2d 1x1", "conv2d_backprop_filter",
                                  "conv2d_backprop_input stride 2"])
def test_without_threadpoolctl_threads_do_not_change_bits(name, monkeypatch):
    """Without threadpoolctl, blocks that call BLAS run serially: any thread count."""
    monkeypatch.setitem(worker_threads._BLAS_STATE, "controller", False)
    assert not worker_threads.can_limit_blas()
    fn, arrays = CASES[name][0], _arrays(name, np.dtype("float32"))
    monkeypatch.setenv("NUMCONV_NUM_THREADS", "1")
    ref = bits(fn(*arrays))
    for threads in ("2", "4"):
        monkeypatch.setenv("NUMCONV_NUM_THREADS", threads)
        assert bits(fn(*arrays)) == ref, threads


@pytest.mark.parametrize("name", CASE_NAMES)
def test_blas_threads_set_outside_do_not_change_bits(name):
    """numconv runs its GEMMs on one BLAS thread whatever the caller's BLAS setting."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    fn, arrays = CASES[name][0], _arrays(name, np.dtype("float64"))
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        ref = bits(fn(*arrays))
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        assert bits(fn(*arrays)) == ref


def _cf(a):
    """Channels-last -> channels-first (a copy of the same values)."""
    return np.ascontiguousarray(np.moveaxis(a, -1, 1))


#: name -> (function of (arrays, data_format), channels-last arrays, which arrays to
#: transpose, whether the result is transposed back)
FORMATS = {
    "conv2d": (lambda x, w, f: numconv.conv2d(x, w, 1, "SAME", f, dilations=2), (XS, WS),
               (True, False), True),
    "conv2d_backprop_input stride 1": (
        lambda w, g, f: conv_grad.conv2d_backprop_input(
            (2, 23, 19, 16) if f == "NHWC" else (2, 16, 23, 19), w, g, 1, "SAME", f),
        (WS, GS1), (False, True), True),
    "conv2d_backprop_input stride 2": (
        lambda w, g, f: conv_grad.conv2d_backprop_input(
            (2, 23, 19, 16) if f == "NHWC" else (2, 16, 23, 19), w, g, 2, "SAME", f),
        (WS, GS2), (False, True), True),
    "conv2d_backprop_filter": (
        lambda x, g, f: conv_grad.conv2d_backprop_filter(x, (3, 3, 16, 24), g, 1, "SAME", f),
        (XS, GS1), (True, True), False),
    "bias_add_grad": (lambda g, f: conv_grad.bias_add_grad(g, f), (GS1,), (True,), False),
    "avg_pool2d": (lambda x, f: numconv.avg_pool2d(x, 3, 2, "SAME", f), (XP,), (True,), True),
    "global_avg_pool": (lambda x, f: numconv.global_avg_pool(x, f), (XP,), (True,), False),
    "avg_pool_grad": (lambda g, f: pooling_grad.avg_pool_grad(
        (2, 21, 18, 6) if f == "NHWC" else (2, 6, 21, 18), g, 3, 2, "SAME", f),
        (wide(2, 11, 9, 6),), (True,), True),
}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_channels_first_gives_the_same_bits(name, dtype):
    fn, arrays, moved, back = FORMATS[name]
    arrays = [np.asarray(a, dtype) for a in arrays]
    last = fn(*arrays, "NHWC")
    first = fn(*(_cf(a) if m else a for a, m in zip(arrays, moved)), "NCHW")
    assert bits(np.moveaxis(first, 1, -1) if back else first) == bits(last)
