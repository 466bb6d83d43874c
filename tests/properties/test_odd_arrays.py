"""Odd arrays (issue 7): layouts, flags, dtypes and array-likes the ops must take in stride.

For every op and every array argument, an odd version of the argument (non-contiguous,
negative strides, Fortran order, read-only, ``np.memmap``, unaligned, big-endian,
zero-stride broadcast, a nested list, an object with ``__array__``) must give exactly the
result of a plain C-contiguous native copy of the same values, and must not be modified
(its bytes and flags are fingerprinted before and after).  Zero-size batch, spatial and
channel dims give correctly shaped empty results; bool and integer inputs compute the
same values as their float64 copies; float16 is accumulated in float32; complex and
object arrays are a TypeError naming the function and the argument.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import numconv
from numconv import activations, conv_grad, pooling_grad, windows

RNG = np.random.default_rng(7)


def data(*shape, dtype="float64", low=-4, high=5):
    """Small integers as ``dtype``: sums of products are exact in every float type."""
    return RNG.integers(low, high, shape).astype(dtype)


X4 = data(2, 7, 6, 3)          # NHWC
W4 = data(3, 3, 3, 4)
G4 = data(2, 4, 3, 4)          # conv2d(X4, W4, 2, "SAME") output
P4 = data(2, 4, 3, 3)          # max/avg_pool2d(X4, 2, 2, "SAME") output
IDX = numconv.max_pool_with_argmax(X4, 2, 2, "SAME")[1]

#: op name -> (function of the arrays, the arrays); every array is varied in turn
OPS = {
    "conv2d": (lambda x, w: numconv.conv2d(x, w, 2, "SAME"), (X4, W4)),
    "conv2d NCHW": (lambda x, w: numconv.conv2d(x, w, (1, 2), [(1, 0), (2, 1)], "NCHW",
                                                dilations=2), (data(2, 3, 7, 6), W4)),
    "conv1d": (lambda x, w: numconv.conv1d(x, w, 2, "SAME"), (data(2, 9, 3), data(3, 3, 2))),
    "conv3d": (lambda x, w: numconv.conv3d(x, w, 1, "VALID", bias=np.arange(2.0)),
               (data(1, 4, 5, 3, 2), data(2, 2, 2, 2, 2))),
    "grouped convolution": (lambda x, w: numconv.convolution(x, w, padding="SAME"),
                            (data(2, 5, 4, 4), data(3, 3, 2, 6))),
    "depthwise_conv2d": (lambda x, w: numconv.depthwise_conv2d(x, w, 2, "SAME"),
                         (X4, data(3, 3, 3, 2))),
    "max_pool2d": (lambda x: numconv.max_pool2d(x, 3, 2, "SAME"), (X4,)),
    "max_pool2d ignore NaN": (lambda x: numconv.max_pool2d(x, 3, 2, "SAME",
                                                           nan_policy="ignore"), (X4,)),
    "avg_pool2d": (lambda x: numconv.avg_pool2d(x, 3, 2, "SAME"), (X4,)),
    "pool 3d NCDHW": (lambda x: numconv.pool(x, [2, 2, 2], "AVG", 1, "VALID", "NCDHW",
                                             count_include_pad=True), (data(1, 2, 3, 4, 5),)),
    "global_max_pool": (lambda x: numconv.global_max_pool(x), (X4,)),
    "global_avg_pool": (lambda x: numconv.global_avg_pool(x, "NCHW"), (X4,)),
    "relu": (lambda x: numconv.relu(x, max_value=3.0, threshold=-1.0), (X4,)),
    "relu6": (numconv.relu6, (X4,)),
    "leaky_relu": (numconv.leaky_relu, (X4,)),
    "im2col": (lambda x: numconv.im2col(x, 2, 2, "SAME"), (X4,)),
    "col2im": (lambda c: windows.col2im(c, X4.shape, 2, 2, "SAME"), (data(2, 4, 3, 12),)),
    "conv2d_backprop_input": (lambda w, g: conv_grad.conv2d_backprop_input(
        X4.shape, w, g, 2, "SAME"), (W4, G4)),
    "conv2d_backprop_filter": (lambda x, g: conv_grad.conv2d_backprop_filter(
        x, W4.shape, g, 2, "SAME"), (X4, G4)),
    "conv2d_transpose": (lambda g, w: conv_grad.conv2d_transpose(g, w, X4.shape, 2, "SAME"),
                         (G4, W4)),
    "bias_add_grad": (conv_grad.bias_add_grad, (G4,)),
    "relu_grad": (activations.relu_grad, (X4, X4[::-1].copy())),
    "max_pool_grad": (lambda x, g: pooling_grad.max_pool_grad(x, g, 2, 2, "SAME"), (X4, P4)),
    "avg_pool_grad": (lambda g: pooling_grad.avg_pool_grad(X4.shape, g, 2, 2, "SAME"), (P4,)),
    "max_pool_with_argmax": (lambda x: pooling_grad.max_pool_with_argmax(x, 2, 2, "SAME"),
                             (X4,)),
    "max_unpool": (lambda v, i: pooling_grad.max_unpool(v, i, 2, 2, "SAME",
                                                        output_size=X4.shape), (P4, IDX)),
}


class ArrayLike:
    """Not an ndarray, but convertible: ``__array__`` (NumPy 2 signature)."""

    def __init__(self, a):
        self._a = a

    def __array__(self, dtype=None, copy=None):
        return self._a if dtype is None else self._a.astype(dtype)


def noncontiguous(a):
    big = np.zeros(tuple(2 * s for s in a.shape), a.dtype)
    view = big[tuple(slice(None, None, 2) for _ in a.shape)]
    view[...] = a
    return view


def negative_strides(a):
    flipped = np.ascontiguousarray(a[(slice(None, None, -1),) * a.ndim])
    return flipped[(slice(None, None, -1),) * a.ndim]


def read_only(a):
    b = a.copy()
    b.flags.writeable = False
    return b


def memmap(a, tmp_path):
    path = tmp_path / f"a{a.ndim}_{a.size}.dat"
    m = np.memmap(path, dtype=a.dtype, mode="w+", shape=a.shape)
    m[...] = a
    m.flush()
    del m
    return np.memmap(path, dtype=a.dtype, mode="r", shape=a.shape)


def unaligned(a):
    buf = bytearray(a.nbytes + 1)
    b = np.frombuffer(buf, dtype=a.dtype, count=a.size, offset=1).reshape(a.shape)
    b[...] = a
    return b


VARIANTS = {
    "non-contiguous": noncontiguous,
    "negative strides": negative_strides,
    "Fortran order": np.asfortranarray,
    "read-only": read_only,
    "memmap": memmap,
    "unaligned": unaligned,
    "big-endian": lambda a: a.astype(a.dtype.newbyteorder(">")),
    "zero strides": lambda a: np.broadcast_to(a[(slice(0, 1),) * a.ndim], a.shape),
    "nested list": lambda a: a.tolist(),
    "__array__": ArrayLike,
}


def fingerprint(a):
    if isinstance(a, np.ndarray):
        return a.shape, a.strides, a.dtype.str, a.tobytes(), a.flags.writeable
    if isinstance(a, ArrayLike):
        return fingerprint(a._a)
    return repr(a)


def results(out):
    return out if isinstance(out, tuple) else (out,)


def assert_same(got, expected):
    for g, e in zip(results(got), results(expected)):
        assert g.shape == e.shape
        assert g.dtype.kind == e.dtype.kind and g.dtype.itemsize == e.dtype.itemsize
        assert g.dtype.isnative, g.dtype
        np.testing.assert_array_equal(g, e)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("op", sorted(OPS))
def test_odd_layouts_give_the_contiguous_result(op, variant, tmp_path):
    fn, arrays = OPS[op]
    make = VARIANTS[variant]
    for i in range(len(arrays)):
        odd = make(arrays[i], tmp_path) if variant == "memmap" else make(arrays[i])
        plain = np.ascontiguousarray(np.asarray(odd)).astype(arrays[i].dtype, copy=False)
        before = fingerprint(odd)
        got = fn(*arrays[:i], odd, *arrays[i + 1:])
        assert fingerprint(odd) == before, f"{op} modified argument {i}"
        assert_same(got, fn(*arrays[:i], plain, *arrays[i + 1:]))


FORWARD = ["conv2d", "conv2d NCHW", "conv1d", "conv3d", "grouped convolution",
           "depthwise_conv2d", "max_pool2d", "avg_pool2d", "pool 3d NCDHW", "global_max_pool",
           "global_avg_pool", "relu", "relu6", "leaky_relu", "im2col"]


@pytest.mark.parametrize("dtype", ["bool", "int8", "uint8", "int64"])
@pytest.mark.parametrize("op", FORWARD)
def test_bool_and_integer_inputs_compute_the_float64_values(op, dtype):
    fn, arrays = OPS[op]
    low = 0 if dtype in ("bool", "uint8") else -4
    ints = [data(*a.shape, dtype="int64", low=low, high=2 if dtype == "bool" else 5)
            .astype(dtype) for a in arrays]
    before = [fingerprint(a) for a in ints]
    got = fn(*ints)
    assert [fingerprint(a) for a in ints] == before
    expected = fn(*[a.astype(np.float64) for a in ints])
    for g, e in zip(results(got), results(expected)):
        assert g.dtype.kind in "biuf"
        np.testing.assert_array_equal(g.astype(np.float64), e)


@pytest.mark.parametrize("op", ["conv2d", "conv1d", "grouped convolution", "depthwise_conv2d",
                                "avg_pool2d", "pool 3d NCDHW", "global_avg_pool"])
def test_float16_is_accumulated_in_float32(op):
    """The float16 result is the float32 computation rounded once to float16."""
    fn, arrays = OPS[op]
    halves = [(a / 4).astype(np.float16) for a in arrays]
    got = fn(*halves)
    assert got.dtype == np.float16
    expected = fn(*[h.astype(np.float32) for h in halves]).astype(np.float16)
    np.testing.assert_array_equal(got, expected)


def test_float16_sum_beyond_float16_precision():
    """2048 + 1 + 1 is 2050 in float32 but 2048 if accumulated in float16 (spacing 2)."""
    x = np.array([2048, 1, 1], np.float16).reshape(1, 3, 1)
    assert numconv.conv1d(x, np.ones((3, 1, 1), np.float16))[0, 0, 0] == 2050
    assert numconv.avg_pool1d(x, 3, 1, "VALID")[0, 0, 0] == np.float16(2050 / 3)


ZERO_SIZE = {
    # (op, input shape, expected output shape): computed by hand from the formulas
    "batch 0 conv2d": (lambda x: numconv.conv2d(x, W4, 2, "SAME"), (0, 7, 6, 3), (0, 4, 3, 4)),
    "height 0 conv2d SAME": (lambda x: numconv.conv2d(x, W4, 1, "SAME"), (2, 0, 6, 3),
                             (2, 0, 6, 4)),
    "width 0 conv2d VALID": (lambda x: numconv.conv2d(x, W4), (2, 7, 0, 3), (2, 5, 0, 4)),
    "window > input VALID": (lambda x: numconv.conv2d(x, W4), (2, 2, 2, 3), (2, 0, 0, 4)),
    "out channels 0 conv2d": (lambda x: numconv.conv2d(x, W4[..., :0], 2, "SAME", bias=[]),
                              (2, 7, 6, 3), (2, 4, 3, 0)),
    "out channels 0 conv3d shift": (lambda x: numconv.conv3d(x, np.ones((1, 1, 1, 3, 0)),
                                                             algorithm="shift"),
                                    (1, 2, 2, 2, 3), (1, 2, 2, 2, 0)),
    "batch 0 max_pool2d": (lambda x: numconv.max_pool2d(x, 2, 2, "SAME"), (0, 5, 5, 2),
                           (0, 3, 3, 2)),
    "channels 0 max_pool2d": (lambda x: numconv.max_pool2d(x, 2, 2, "SAME"), (1, 5, 5, 0),
                              (1, 3, 3, 0)),
    "channels 0 avg_pool2d": (lambda x: numconv.avg_pool2d(x, 2, 1, "VALID"), (1, 5, 5, 0),
                              (1, 4, 4, 0)),
    "depth 0 avg_pool3d": (lambda x: numconv.avg_pool3d(x, 2, 2, "SAME"), (1, 0, 4, 4, 1),
                           (1, 0, 2, 2, 1)),
    "batch 0 global_avg_pool": (numconv.global_avg_pool, (0, 3, 3, 2), (0, 2)),
    "channels 0 relu": (numconv.relu, (2, 3, 0), (2, 3, 0)),
    "batch 0 im2col": (lambda x: numconv.im2col(x, 2, 1, "SAME"), (0, 3, 3, 2), (0, 3, 3, 8)),
    "height 0 im2col NCHW": (lambda x: numconv.im2col(x, 2, 1, "VALID", "NCHW"),
                             (1, 2, 0, 3), (1, 8, 0, 2)),
    "batch 0 conv2d_backprop_filter": (lambda x: conv_grad.conv2d_backprop_filter(
        x, W4.shape, np.zeros((0, 4, 3, 4)), 2, "SAME"), (0, 7, 6, 3), (3, 3, 3, 4)),
}


@pytest.mark.parametrize("case", sorted(ZERO_SIZE))
def test_zero_size_dims(case):
    fn, shape, expected = ZERO_SIZE[case]
    got = fn(np.zeros(shape))
    assert got.shape == expected
    if math.prod(expected) and "backprop_filter" in case:
        np.testing.assert_array_equal(got, 0)        # an empty sum


@pytest.mark.parametrize("kind, bad", [
    ("complex", np.zeros((1, 4, 4, 3), complex)),
    ("object", np.full((1, 4, 4, 3), 1.0, dtype=object)),
    ("string", np.full((1, 4, 4, 3), "a")),
    ("datetime", np.zeros((1, 4, 4, 3), "M8[s]")),
])
@pytest.mark.parametrize("op", FORWARD)
def test_complex_object_string_arrays_are_a_type_error(op, kind, bad):
    fn, arrays = OPS[op]
    name = op.split()[0].replace("grouped", "convolution")
    name = {"pool": "pool"}.get(name, name)
    others = [a for a in arrays[1:]]
    first = bad if arrays[0].ndim == 4 else np.zeros(arrays[0].shape, bad.dtype)
    with pytest.raises(TypeError, match=rf"^{name}: (input|features) must be a real numeric "
                                        rf"array \(bool, integer or float\), got dtype"):
        fn(first, *others)


HUGE_BUT_UNUSED = {
    # (op with stride s and dilation d, input shape): one window per dim, one tap or none
    "conv1d im2col": (lambda x, s, d: numconv.conv1d(x, np.ones((1, 2, 3)), s, "VALID",
                                                     dilations=d, algorithm="im2col"), (2, 7, 2)),
    "conv1d shift": (lambda x, s, d: numconv.conv1d(x, np.ones((1, 2, 3)), s, "SAME",
                                                    dilations=d, algorithm="shift"), (2, 7, 2)),
    "conv2d pointwise": (lambda x, s, d: numconv.conv2d(x, np.ones((1, 1, 2, 3)), s, "SAME",
                                                        dilations=d), (2, 5, 4, 2)),
    "max_pool1d": (lambda x, s, d: numconv.max_pool1d(x, 1, s, "SAME", dilations=d), (2, 7, 2)),
    "max_pool1d ignore": (lambda x, s, d: numconv.max_pool1d(x, 1, s, [(1, 0)], dilations=d,
                                                             nan_policy="ignore"), (2, 7, 2)),
    "avg_pool2d": (lambda x, s, d: numconv.avg_pool2d(x, 1, s, "VALID", dilations=d),
                   (2, 5, 4, 2)),
    "im2col": (lambda x, s, d: numconv.im2col(x, 1, s, "SAME", dilations=d), (2, 5, 4, 2)),
}


@pytest.mark.parametrize("op", sorted(HUGE_BUT_UNUSED))
def test_huge_strides_and_dilations_that_are_never_applied(op):
    """A stride over one window and a dilation of one tap may exceed any C integer."""
    fn, shape = HUGE_BUT_UNUSED[op]
    x = data(*shape)
    expected = fn(x, max(shape[1:-1]) + 2, 1)           # the same single window, small
    for huge in (2**63, 2**64 - 1, 10**30):
        np.testing.assert_array_equal(fn(x, huge, huge), expected)
