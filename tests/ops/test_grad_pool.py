"""Pooling gradients, max_pool_with_argmax and max_unpool against numconv.reference.

Expected gradients come from ``numconv.reference.max_pool_vjp`` / ``avg_pool_vjp``
(tests/oracle.py), which test_reference.py checks against loops over every window tap;
the argmax indices, which the reference does not compute, against those loops here.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import numconv
from helpers import assert_matches
from loops import first_max, windows
from oracle import ref_avg_grad, ref_max_grad

RNG = np.random.default_rng(77)


def ref_argmax(x, window, strides, padding, include_batch):
    """TF's flat index ((b*H + y)*W + x)*C + c by loops (channels-last)."""
    n = x.ndim - 2
    out_shape = None
    result = {}
    for o, taps in windows(x.shape, window, strides, padding, (1,) * n):
        real = [p for _, p, _ in taps if p is not None]
        for b in range(x.shape[0]):
            for c in range(x.shape[-1]):
                p = real[first_max([float(x[(b, *q, c)]) for q in real])]
                flat = np.ravel_multi_index((b, *p, c) if include_batch else (*p, c),
                                            x.shape if include_batch else x.shape[1:])
                result[(b, *o, c)] = flat
        out_shape = o
    idx = np.zeros((x.shape[0], *[v + 1 for v in out_shape], x.shape[-1]), np.int64)
    for key, v in result.items():
        idx[key] = v
    return idx


GRID = [
    # (spatial, window, strides, dilations, padding)
    ((7,), (3,), (2,), (1,), "SAME"),
    ((9,), (3,), (1,), (3,), "VALID"),
    ((6, 7), (3, 3), (2, 2), (1, 1), "SAME"),
    ((6, 7), (2, 3), (1, 2), (2, 1), "SAME"),             # dilated SAME (TF refuses)
    ((5, 6), (3, 2), (2, 1), (1, 1), [(1, 1), (0, 1)]),
    ((4, 4), (2, 2), (1, 1), (3, 3), [(3, 3), (0, 0)]),   # windows that cover only padding
    ((2, 2), (3, 3), (1, 1), (1, 1), "VALID"),            # empty output
    ((4, 5, 3), (2, 3, 2), (2, 1, 2), (1, 1, 1), "SAME"),
]


@pytest.mark.parametrize("spatial, window, strides, dilations, padding", GRID)
@pytest.mark.parametrize("ties", [False, True])
def test_max_grad_against_reference(spatial, window, strides, dilations, padding, ties):
    shape = (2, *spatial, 3)
    x = RNG.integers(0, 3, shape).astype(float) if ties else RNG.standard_normal(shape)
    y = numconv.pool(x, list(window), "MAX", strides, padding, None, dilations)
    g = RNG.standard_normal(y.shape)
    got = numconv.max_pool_grad(x, g, window, strides, padding, dilations=dilations)
    assert_matches(got, ref_max_grad(x, g, window, strides, padding, dilations),
                   dtype=np.float64)


@pytest.mark.parametrize("spatial, window, strides, dilations, padding", GRID)
@pytest.mark.parametrize("include", [False, True])
def test_avg_grad_against_reference(spatial, window, strides, dilations, padding, include):
    shape = (2, *spatial, 3)
    with np.errstate(invalid="ignore"):
        y = numconv.pool(np.zeros(shape), list(window), "AVG", strides, padding, None, dilations,
                         count_include_pad=include)
    g = RNG.standard_normal(y.shape)
    got = numconv.avg_pool_grad(shape, g, window, strides, padding, dilations=dilations,
                                count_include_pad=include)
    assert_matches(got, ref_avg_grad(shape, g, window, strides, padding, dilations,
                                     count_include_pad=include), dtype=np.float64)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_random_torch_options_against_reference(data):
    n = data.draw(st.integers(1, 3))
    spatial = data.draw(st.tuples(*[st.integers(1, 6)] * n))
    window = data.draw(st.tuples(*[st.integers(1, 3)] * n))
    strides = data.draw(st.tuples(*[st.integers(1, 3)] * n))
    dilations = data.draw(st.tuples(*[st.integers(1, 2)] * n))
    padding = data.draw(st.one_of(st.just("VALID"), st.tuples(
        *[st.tuples(st.integers(0, 1), st.integers(0, 1))] * n)))
    ceil_mode = data.draw(st.booleans())
    include = data.draw(st.booleans())
    override = data.draw(st.sampled_from([None, 3]))
    x = RNG.integers(0, 4, (2, *spatial, 2)).astype(float)           # many ties
    kw = dict(dilations=dilations, ceil_mode=ceil_mode)
    with np.errstate(invalid="ignore"):
        y = numconv.max_pool(x, window, strides, padding, **kw)
    g = RNG.standard_normal(y.shape)
    assert_matches(numconv.max_pool_grad(x, g, window, strides, padding, **kw),
                   ref_max_grad(x, g, window, strides, padding, dilations, ceil_mode),
                   dtype=np.float64)
    got = numconv.avg_pool_grad(x.shape, g, window, strides, padding, count_include_pad=include,
                                divisor_override=override, **kw)
    assert_matches(got, ref_avg_grad(x.shape, g, window, strides, padding, dilations, ceil_mode,
                                     include, override), dtype=np.float64)


def test_ties_go_to_the_first_maximum_in_window_order():
    x = np.zeros((1, 4, 4, 1))                            # every window is one big tie
    got = numconv.max_pool_grad(x, np.ones((1, 4, 4, 1)), 3, 1, "SAME")[0, :, :, 0]
    # measured in TF 2.21 (tf.nn.max_pool2d + GradientTape): the first real element wins
    assert got.tolist() == [[4, 2, 2, 0], [2, 1, 1, 0], [2, 1, 1, 0], [0, 0, 0, 0]]


def test_minus_inf_input_routes_to_input_not_padding():
    x = np.full((1, 3, 1), -np.inf)
    got = numconv.max_pool_grad(x, np.ones((1, 2, 1)), 2, 2, "SAME")
    assert got.ravel().tolist() == [1, 0, 1]               # window [x2, pad]: x2


def test_nan_gets_the_gradient_of_its_windows():
    x = np.array([1., np.nan, 3., np.nan, 0.]).reshape(1, 5, 1)
    y = numconv.max_pool(x, 2, 1, "VALID")
    assert np.isnan(y.ravel()).tolist() == [True, True, True, True]
    got = numconv.max_pool_grad(x, np.ones(y.shape), 2, 1, "VALID")
    assert got.ravel().tolist() == [0, 2, 0, 2, 0]           # first NaN of each window
    x = np.array([np.nan, 1.0, 2.0]).reshape(1, 3, 1)        # SAME pads (0, 1)
    assert numconv.max_pool_grad(x, np.ones((1, 2, 1)), 2, 2, "SAME").ravel().tolist() == \
        [1, 0, 1]
    out, idx = numconv.max_pool_with_argmax(x, 2, 2, "SAME")
    assert np.isnan(out.ravel()[0]) and idx.ravel().tolist() == [0, 2]


def test_padding_only_windows_drop_their_gradient():
    x = np.arange(1.0, 3.0).reshape(1, 2, 1)
    # explicit pads (3, 3), window 2: windows [p,p] [p,p] [p,x0] [x0,x1] [x1,p] [p,p] [p,p]
    g = np.arange(1.0, 8.0).reshape(1, 7, 1)
    assert numconv.max_pool_grad(x, g, 2, 1, [(3, 3)]).ravel().tolist() == [3, 4 + 5]
    assert numconv.avg_pool_grad(x.shape, g, 2, 1, [(3, 3)]).ravel().tolist() == [3 + 2, 2 + 5]
    out, idx = numconv.max_pool_with_argmax(x, 2, 1, [(3, 3)])
    assert idx.ravel().tolist() == [-1, -1, 0, 1, 1, -1, -1]
    assert out.ravel()[0] == -np.inf
    # a workspace of one output row per block: blocks with no tap on the input at all
    with numconv.workspace_limit(1024):
        out, idx = numconv.max_pool_with_argmax(x, 2, 1, [(3, 3)])
        assert idx.ravel().tolist() == [-1, -1, 0, 1, 1, -1, -1]
        assert numconv.max_pool_grad(x, g, 2, 1, [(3, 3)]).ravel().tolist() == [3, 4 + 5]
        assert numconv.avg_pool_grad(x.shape, g, 2, 1, [(3, 3)]).ravel().tolist() == \
            [3 + 2, 2 + 5]
    # window 2, dilation 2, pads (1, 1) on one pixel: taps at pads only, no tap at all
    one = np.ones((2, 1, 3))
    out, idx = numconv.max_pool_with_argmax(one, 2, 1, [(1, 1)], dilations=2)
    assert out.shape == (2, 1, 3) and (idx == -1).all() and (out == -np.inf).all()
    assert not numconv.max_pool_grad(one, one, 2, 1, [(1, 1)], dilations=2).any()


def test_avg_grad_by_hand_with_options():
    # SAME, window 3, stride 2 on 5: pads (1, 1); windows [p,0,1] [1,2,3] [3,4,p]
    g = np.array([6., 6., 6.]).reshape(1, 3, 1)
    assert numconv.avg_pool_grad((1, 5, 1), g, 3, 2, "SAME").ravel().tolist() == \
        [3, 3 + 2, 2, 2 + 3, 3]
    assert numconv.avg_pool_grad((5,), g, 3, 2, 1, count_include_pad=True).ravel().tolist() == \
        [2, 4, 2, 4, 2]
    assert numconv.avg_pool_grad([1, 5, 1], g, 3, 2, 1, divisor_override=1).ravel().tolist() \
        == [6, 12, 6, 12, 6]


@pytest.mark.parametrize("dtype, expected", [(np.float16, np.float16), (np.float32, np.float32),
                                             (np.int32, np.int64)])
def test_dtypes(dtype, expected):
    x = np.arange(16).reshape(1, 4, 4, 1)
    g = np.ones((1, 2, 2, 1), dtype)
    assert numconv.max_pool_grad(x, g, 2, 2, "VALID").dtype == expected
    avg = numconv.avg_pool_grad(x.shape, g, 2, 2, "VALID")
    assert avg.dtype == (np.float64 if dtype == np.int32 else dtype)


@pytest.mark.parametrize("include_batch", [False, True])
def test_argmax_against_reference(include_batch):
    x = RNG.integers(0, 3, (2, 5, 6, 3)).astype(np.float32)         # ties
    out, idx = numconv.max_pool_with_argmax(x, (3, 2), (2, 2), "SAME", "NHWC", include_batch)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx, ref_argmax(x, (3, 2), (2, 2), "SAME", include_batch))
    np.testing.assert_array_equal(out, numconv.max_pool2d(x, (3, 2), 2, "SAME"))


def test_argmax_channels_first_is_torch_plane_index_plus_channel_offset():
    x = RNG.standard_normal((2, 3, 5, 4))                           # NCHW
    _, idx = numconv.max_pool_with_argmax(x, 2, 2, "VALID", "NCHW")
    _, idx_last = numconv.max_pool_with_argmax(np.moveaxis(x, 1, -1), 2, 2, "VALID")
    plane = np.moveaxis(idx_last, -1, 1) // 3                        # (y*W + x)
    np.testing.assert_array_equal(idx, plane + np.arange(3).reshape(1, 3, 1, 1) * 20)


@pytest.mark.parametrize("fmt, include_batch", [("NWC", False), ("NCHW", True),
                                                ("NDHWC", False), ("NHWC", True)])
def test_unpool_puts_maxima_back(fmt, include_batch):
    n = len(fmt) - 2
    shape = (2, *(4,) * n, 3) if fmt.endswith("C") else (2, 3, *(4,) * n)
    x = RNG.standard_normal(shape)
    out, idx = numconv.max_pool_with_argmax(x, 2, 2, "VALID", fmt, include_batch)
    back = numconv.max_unpool(out, idx, 2, 2, data_format=fmt, include_batch_in_index=include_batch)
    assert back.shape == x.shape
    flat_x, flat_back = x.reshape(-1), back.reshape(-1)
    kept = np.flatnonzero(back.reshape(-1))
    np.testing.assert_array_equal(flat_back[kept], flat_x[kept])      # maxima where they were
    assert kept.size == out.size                                      # one per window
    assert np.array_equal(np.sort(flat_back[kept]), np.sort(out.reshape(-1)))


def test_unpool_output_size_and_default_sizes():
    v = np.array([5., 4.]).reshape(1, 2, 1)
    idx = np.array([1, 2]).reshape(1, 2, 1)
    assert numconv.max_unpool(v, idx, 2, 2).ravel().tolist() == [0, 5, 4, 0]   # (2-1)*2 + 2
    assert numconv.max_unpool(v, idx, 3, 2, 1).ravel().tolist() == [0, 5, 4]  # (2-1)*2+3-2
    idx = np.array([1, 4]).reshape(1, 2, 1)
    assert numconv.max_unpool(v, idx, 2, 2, "SAME", output_size=[5]).ravel().tolist() == \
        [0, 5, 0, 0, 4]
    assert numconv.max_unpool(v, np.array([-1, 0]).reshape(1, 2, 1), 2, 2).ravel().tolist() == \
        [4, 0, 0, 0]                                                          # -1 skipped


def test_zero_size():
    x = np.zeros((0, 4, 4, 2))
    assert numconv.max_pool_grad(x, np.zeros((0, 2, 2, 2)), 2, 2, "VALID").shape == x.shape
    out, idx = numconv.max_pool_with_argmax(np.zeros((1, 2, 2, 1)), 3, 1, "VALID")
    assert out.shape == idx.shape == (1, 0, 0, 1)
    assert numconv.avg_pool_grad((1, 2, 2, 1), np.zeros((1, 0, 0, 1)), 3, 1, "VALID").tolist() \
        == np.zeros((1, 2, 2, 1)).tolist()


def test_errors():
    x = np.zeros((1, 4, 4, 1))
    with pytest.raises(ValueError, match=r"max_pool_grad: grad must have shape \(1, 2, 2, 1\) "
                       r"\(the pooled output for input shape \(1, 4, 4, 1\)\), got shape "
                       r"\(1, 4, 4, 1\)"):
        numconv.max_pool_grad(x, x, 2, 2, "VALID")
    with pytest.raises(ValueError, match=r"avg_pool_grad: grad must have shape \(1, 1, 1, 1\) "
                       r"\(the pooled output for input_shape \(1, 2, 2, 1\)\)"):
        numconv.avg_pool_grad((2, 2), np.zeros((1, 2, 2, 1)), 2, 2, "VALID")
    v, idx = np.zeros((1, 2, 1)), np.zeros((1, 2, 1), np.int64)
    with pytest.raises(TypeError, match=r"max_unpool: indices must be an integer array, got "
                       r"ndarray array of shape \(1, 2, 1\) and dtype float64"):
        numconv.max_unpool(v, v, 2, 2)
    with pytest.raises(ValueError, match=r"max_unpool: indices must have the input's shape "
                       r"\(1, 2, 1\), got shape \(1, 3, 1\)"):
        numconv.max_unpool(v, np.zeros((1, 3, 1), np.int64), 2, 2)
    with pytest.raises(ValueError, match=r"max_unpool: indices must lie in \[0, 4\) \(output "
                       r"shape \(1, 4, 1\)\) or be -1, got values in \[0, 4\]"):
        numconv.max_unpool(v, idx + np.array([0, 4]).reshape(1, 2, 1), 2, 2)
    with pytest.raises(ValueError, match=r"max_unpool: output_size must have shape \(1, 4, 1\) "
                       r"\(the input's batch and channels\), got shape \(1, 4, 2\)"):
        numconv.max_unpool(v, idx, 2, 2, output_size=(1, 4, 2))


def test_memory_limit_refuses_before_allocating():
    from numconv.config import memory_limit
    g = np.ones((1, 1, 1))
    with memory_limit(2**20):
        with pytest.raises(ValueError, match=r"avg_pool_grad: input_shape, ksize, strides, "
                           r"padding and dilations must keep the memory this call needs"):
            numconv.avg_pool_grad((1, 10**8, 1), g, 10**8, 10**8, "VALID")
        with pytest.raises(ValueError, match=r"max_unpool: output_size \(or input, ksize, "
                           r"strides and padding\) must keep the memory this call needs"):
            numconv.max_unpool(g, np.zeros((1, 1, 1), np.int64), 2, 2, output_size=[10**8])
        huge = np.broadcast_to(g, (1, 10**8, 1))             # a 763 MiB gradient
        with pytest.raises(ValueError, match=r"max_pool_grad: input, ksize, strides, padding "
                           r"and dilations must keep the memory this call needs"):
            numconv.max_pool_grad(huge, huge, 1, 1, "VALID")
        # a window of 10**8 taps over one element: no array of the padded extent is made
        assert numconv.max_pool_grad(g, g, 10**8, 1, [(10**8 - 1, 0)]).tolist() == [[[1.0]]]


def test_shapes_numpy_cannot_describe_are_refused():
    with pytest.raises(ValueError, match=r"max_unpool: output_size \(or input, ksize, strides "
                       r"and padding\) must give arrays NumPy can describe \(the product of "
                       r"the non-zero dims times the item size under 2\*\*63 bytes\), got "
                       r"shape \(0, 9223372036854775808, 1\) for the output"):
        numconv.max_unpool(np.ones((0, 2, 1)), np.zeros((0, 2, 1), np.int64), 2**62, 2**62)
