"""Convolution gradients, transposed convolution and col2im against numconv.reference.

Expected gradients come from ``numconv.reference.conv_vjp`` (tests/oracle.py), which
test_reference.py checks against loops that scatter each output gradient through each
window tap.
"""

from __future__ import annotations

import numpy as np
import pytest

import numconv
from helpers import assert_matches
from oracle import geometry
from oracle import ref_conv_vjp as ref_backprop

RNG = np.random.default_rng(2024)
LAST = {1: "NWC", 2: "NHWC", 3: "NDHWC"}
FIRST = {1: "NCW", 2: "NCHW", 3: "NCDHW"}


def rand(*shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


def forward_shape(x_shape, w_shape, strides, padding, dilations):
    out = geometry(x_shape, w_shape[:-2], strides, padding, dilations).out_shape
    return (x_shape[0], *out, w_shape[-1])


GRID = [
    # (spatial, window, strides, dilations, padding, in_channels, groups)
    ((7,), (3,), (2,), (1,), "SAME", 2, 1),
    ((8,), (2,), (3,), (2,), "VALID", 4, 2),
    ((6, 7), (3, 3), (2, 2), (1, 1), "SAME", 3, 1),
    ((6, 7), (3, 2), (1, 2), (2, 1), "SAME", 4, 4),
    ((5, 5), (2, 2), (2, 1), (2, 3), "VALID", 2, 1),
    ((5, 6), (3, 3), (2, 1), (1, 1), [(1, 0), (2, 1)], 2, 2),
    ((4, 4), (3, 3), (1, 1), (3, 3), [(4, 4), (0, 4)], 1, 1),   # windows of only padding
    ((2, 2), (3, 3), (1, 1), (1, 1), "VALID", 1, 1),            # empty output
    ((4, 3, 5), (2, 2, 3), (1, 2, 2), (1, 1, 1), "SAME", 2, 1),
    ((4, 4, 4), (2, 1, 2), (2, 1, 1), (1, 1, 2), "VALID", 3, 3),
    # stride 1: dL/dx is gathered by a forward convolution of g
    ((6, 7), (3, 3), (1, 1), (1, 1), "SAME", 3, 1),
    ((7,), (3,), (1,), (2,), "VALID", 2, 2),
    ((5, 6), (3, 2), (1, 1), (1, 2), [(2, 0), (0, 2)], 4, 1),
    ((3, 4, 5), (2, 2, 3), (1, 1, 1), (1, 1, 1), [(1, 0), (0, 1), (2, 2)], 2, 1),
    ((4, 4), (2, 2), (3, 1), (1, 1), "VALID", 2, 1),             # one output row: stride moot
]


@pytest.mark.parametrize("spatial, window, strides, dilations, padding, cin, groups", GRID)
@pytest.mark.parametrize("channels_last", [True, False])
def test_backprop_against_reference(spatial, window, strides, dilations, padding, cin, groups,
                                    channels_last):
    n = len(spatial)
    x = rand(2, *spatial, cin)
    w = rand(*window, cin // groups, 2 * groups)
    g = rand(*forward_shape(x.shape, w.shape, strides, padding, dilations))
    dx_ref, dw_ref = ref_backprop(x, w, g, strides, padding, dilations)
    db_ref = g.reshape(-1, g.shape[-1]).sum(axis=0)
    if channels_last:
        fmt, xs, gs = LAST[n], x, g
    else:
        fmt, xs, gs = FIRST[n], np.moveaxis(x, -1, 1), np.moveaxis(g, -1, 1)
    dx = numconv.conv_backprop_input(xs.shape, w, gs, strides, padding, fmt, dilations)
    dw = numconv.conv_backprop_filter(xs, w.shape, gs, strides, padding, fmt, dilations)
    db = numconv.bias_add_grad(gs, fmt)
    assert_matches(dx if channels_last else np.moveaxis(dx, 1, -1), dx_ref, dtype=np.float64)
    assert_matches(dw, dw_ref, dtype=np.float64)
    assert_matches(db, db_ref, dtype=np.float64)


@pytest.mark.parametrize("alias, n", [("conv1d", 1), ("conv2d", 2), ("conv3d", 3)])
def test_rank_aliases_and_spatial_only_sizes(alias, n):
    x = rand(2, *(5,) * n, 3)
    w = rand(*(2,) * n, 3, 4)
    g = rand(*forward_shape(x.shape, w.shape, (2,) * n, "SAME", (1,) * n))
    dx_ref, dw_ref = ref_backprop(x, w, g, (2,) * n, "SAME", (1,) * n)
    dx = getattr(numconv, f"{alias}_backprop_input")((5,) * n, w, g, 2, "SAME")  # TF's n-form
    dw = getattr(numconv, f"{alias}_backprop_filter")(x, list(w.shape), g, [2] * n, "SAME")
    assert_matches(dx, dx_ref, dtype=np.float64)
    assert_matches(dw, dw_ref, dtype=np.float64)


@pytest.mark.parametrize("multiplier, strides", [(2, (2, 1)), (1, (2, 1)), (1, (1, 1))])
def test_depthwise_gradients_are_grouped_gradients(multiplier, strides):
    x = rand(2, 6, 5, 3)
    f = rand(3, 2, 3, multiplier)                            # 3 * multiplier channels
    g = rand(*forward_shape(x.shape, (3, 2, 1, 3 * multiplier), strides, "SAME", (1, 1)))
    dx_ref, dw_ref = ref_backprop(x, f.reshape(3, 2, 1, -1), g, strides, "SAME", (1, 1))
    dx = numconv.depthwise_conv2d_backprop_input(x.shape, f, g, [1, *strides, 1], "SAME")
    df = numconv.depthwise_conv2d_backprop_filter(x, f.shape, g, [1, *strides, 1], "SAME")
    assert_matches(dx, dx_ref, dtype=np.float64)
    assert_matches(df, dw_ref.reshape(f.shape), dtype=np.float64)


def test_backprop_input_by_hand():
    # 2x2 ones filter, VALID on 3x3: each pixel gets one per window that covers it
    dx = numconv.conv2d_backprop_input([1, 3, 3, 1], np.ones((2, 2, 1, 1)), np.ones((1, 2, 2, 1)),
                                       1, "VALID")
    assert dx[0, :, :, 0].tolist() == [[1, 2, 1], [2, 4, 2], [1, 2, 1]]
    # SAME 1-D, window 3, stride 2 on 4 samples: pads (0, 1); windows [0..2], [2..4]
    dx = numconv.conv1d_backprop_input([1, 4, 1], np.array([1., 2., 3.]).reshape(3, 1, 1),
                                       np.array([10., 100.]).reshape(1, 2, 1), 2, "SAME")
    assert dx.ravel().tolist() == [10, 20, 30 + 100, 200]   # 300 fell on the padding


def test_conv_transpose_is_backprop_input_and_upsamples():
    y = rand(2, 3, 4, 5)
    w = rand(3, 3, 2, 5)                                     # (kh, kw, out_c, in_c)
    for shape in ([2, 5, 7, 2], [2, 6, 8, 2]):               # both SAME-consistent with (3, 4)
        out = numconv.conv2d_transpose(y, w, shape, 2, "SAME")
        np.testing.assert_array_equal(
            out, numconv.conv2d_backprop_input(shape, w, y, 2, "SAME"))
    one = numconv.conv1d_transpose(np.array([1., 2.]).reshape(1, 2, 1), np.ones((2, 1, 1)),
                                   [1, 4, 1], 2, "VALID")
    assert one.ravel().tolist() == [1, 1, 2, 2]             # nearest-neighbour upsampling
    out3 = numconv.conv3d_transpose(rand(1, 2, 2, 2, 1), rand(2, 2, 2, 3, 1), [1, 4, 4, 4, 3],
                                    2, "VALID")
    assert out3.shape == (1, 4, 4, 4, 3)


def test_conv_transpose_refuses_output_shape_off_the_forward_formula():
    with pytest.raises(ValueError, match=r"conv2d_transpose: output_shape must map to the "
                       r"input's spatial size by the forward formula \(dim 0: output 9, window "
                       r"3, stride 2, dilation 1, SAME -> 5, but the input has 4.*\(1, 9, 9, 2\)"):
        numconv.conv2d_transpose(np.ones((1, 4, 4, 1)), np.ones((3, 3, 2, 1)), [1, 9, 9, 2], 2,
                                 "SAME")


def test_grouped_transpose_channels():
    y = rand(1, 3, 4)                                        # 4 input channels
    w = rand(2, 3, 4)                                        # out 6 = 2 groups x 3
    out = numconv.conv_transpose(y, w, [1, 6, 6], 2, "VALID")
    dx_ref, _ = ref_backprop(np.zeros((1, 6, 6)), w, y, (2,), "VALID", (1,))
    assert_matches(out, dx_ref, dtype=np.float64)


@pytest.mark.parametrize("dtype, expected", [
    (np.float16, np.float16), (np.float32, np.float32), (np.int32, np.int64),
    (np.bool_, np.int64)])
def test_dtypes(dtype, expected):
    x = RNG.integers(0, 3, size=(1, 5, 5, 2)).astype(dtype)
    w = RNG.integers(0, 3, size=(3, 3, 2, 2)).astype(dtype)
    g = RNG.integers(0, 3, size=(1, 5, 5, 2)).astype(dtype)
    dx_ref, dw_ref = ref_backprop(x.astype(float), w.astype(float), g.astype(float), (1, 1),
                                  "SAME", (1, 1))
    dx = numconv.conv2d_backprop_input(x.shape, w, g, 1, "SAME")
    dw = numconv.conv2d_backprop_filter(x, w.shape, g, 1, "SAME")
    assert_matches(dx, dx_ref.astype(expected), exact=True, dtype=expected)   # small ints: exact
    assert_matches(dw, dw_ref.astype(expected), exact=True, dtype=expected)
    assert numconv.bias_add_grad(g).dtype == expected


def test_chunked_equals_unchunked_and_inputs_untouched():
    x = rand(3, 9, 11, 4)
    w = rand(3, 3, 2, 6)
    g = rand(3, 5, 11, 6)
    x.flags.writeable = w.flags.writeable = g.flags.writeable = False
    whole = (numconv.conv2d_backprop_input(x.shape, w, g, (2, 1), "SAME"),
             numconv.conv2d_backprop_filter(x, w.shape, g, (2, 1), "SAME"))
    with numconv.workspace_limit(1024):                      # one row band per block
        chunked = (numconv.conv2d_backprop_input(x.shape, w, g, (2, 1), "SAME"),
                   numconv.conv2d_backprop_filter(x, w.shape, g, (2, 1), "SAME"))
    for a, b in zip(chunked, whole):
        assert_matches(a, b, dtype=np.float64)


def test_empty_output_gives_zero_gradients():
    x = rand(1, 2, 2, 1)
    g = np.zeros((1, 0, 0, 3))
    assert numconv.conv2d_backprop_input(x.shape, rand(3, 3, 1, 3), g, 1, "VALID").tolist() == \
        np.zeros(x.shape).tolist()
    assert not numconv.conv2d_backprop_filter(x, (3, 3, 1, 3), g, 1, "VALID").any()
    assert numconv.bias_add_grad(g).tolist() == [0, 0, 0]


def test_nan_in_out_backprop_reaches_only_its_window():
    g = np.zeros((1, 3, 1))
    g[0, 1, 0] = np.nan
    dx = numconv.conv1d_backprop_input([1, 5, 1], np.ones((3, 1, 1)), g, 1, "VALID")
    assert np.isnan(dx.ravel()).tolist() == [False, True, True, True, False]


def test_col2im_by_hand_and_channels_first():
    x = rand(1, 2, 3, 3)                                     # NCHW
    cols = numconv.im2col(x, 2, data_format="NCHW")
    back = numconv.col2im(np.ones_like(cols), x.shape, 2, data_format="NCHW")
    assert back[0, 0].tolist() == [[1, 2, 1], [2, 4, 2], [1, 2, 1]]
    assert back.shape == x.shape


def test_errors():
    w, g = np.ones((3, 3, 1, 2)), np.ones((1, 5, 5, 2))
    with pytest.raises(ValueError, match=r"conv_backprop_input: out_backprop must have shape "
                       r"\(1, 3, 3, 2\) \(the forward output for input_sizes \(1, 5, 5, 1\)\), "
                       r"got shape \(1, 5, 5, 2\)"):
        numconv.conv_backprop_input((1, 5, 5, 1), w, g, 1, "VALID")
    with pytest.raises(TypeError, match=r"conv2d_backprop_input: input_sizes must be a sequence "
                       r"of 2 or 4 non-negative integers \(NHWC\), got str"):
        numconv.conv2d_backprop_input("1,5,5,1", w, g, 1, "SAME")
    with pytest.raises(ValueError, match=r"conv2d_backprop_input: input_sizes must be a sequence "
                       r"of 2 or 4 non-negative integers \(NHWC\), got \(1, 5, 5\)"):
        numconv.conv2d_backprop_input((1, 5, 5), w, g, 1, "SAME")
    with pytest.raises(ValueError, match=r"conv2d_backprop_filter: filter_sizes must have 4 "
                       r"elements \(\*window, in_channels, out_channels\) with positive window "
                       r"and in_channels, got \(0, 3, 1, 2\)"):
        numconv.conv2d_backprop_filter(np.ones((1, 5, 5, 1)), (0, 3, 1, 2), g, 1, "SAME")
    with pytest.raises(ValueError, match=r"depthwise_conv2d_backprop_input: filter in_channels "
                       r"\(axis -2\) must equal the input's channels \(3\), got shape"):
        numconv.depthwise_conv2d_backprop_input((1, 5, 5, 3), w, g, 1, "SAME")
    with pytest.raises(ValueError, match=r"depthwise_conv2d_backprop_filter: filter_sizes "
                       r"in_channels \(element -2\) must equal the input's channels \(3\)"):
        numconv.depthwise_conv2d_backprop_filter(np.ones((1, 5, 5, 3)), (3, 3, 1, 2), g, 1,
                                                 "SAME")
    with pytest.raises(ValueError, match=r"bias_add_grad: out_backprop must have rank >= 2 "
                       r"\(batch, \.\.\., channels\), got shape \(3,\) \(rank 1\)"):
        numconv.bias_add_grad(np.ones(3))
    with pytest.raises(TypeError, match=r"col2im: input_shape must be a sequence of 3 to 5 "
                       r"non-negative integers, got int 5"):
        numconv.col2im(np.ones((1, 4, 2)), 5, 2)
    with pytest.raises(ValueError, match=r"col2im: input_shape must have 3 to 5 elements "
                       r"\(1 to 3 spatial dims\), got \(5, 5\)"):
        numconv.col2im(np.ones((1, 4, 2)), (5, 5), 2)
    with pytest.raises(ValueError, match=r"col2im: input_shape must have 4 elements \(NCHW\), "
                       r"got \(1, 5, 1\)"):
        numconv.col2im(np.ones((1, 4, 2)), (1, 5, 1), 2, data_format="NCHW")
    with pytest.raises(ValueError, match=r"col2im: cols must have shape \(1, 4, 2\) \(im2col's "
                       r"output for input_shape\), got shape \(1, 4, 3\)"):
        numconv.col2im(np.ones((1, 4, 3)), (1, 5, 1), 2)


def test_memory_limit_refuses_before_allocating():
    from numconv.config import memory_limit
    w, g = np.ones((3, 3, 1, 1)), np.ones((1, 1, 1, 1))
    with memory_limit(2**20), pytest.raises(ValueError, match=r"conv2d_backprop_input: "
                                            r"input_sizes, filters, strides, padding and "
                                            r"dilations must keep the memory this call needs "
                                            r"under the limit"):
        numconv.conv2d_backprop_input((1, 10**6, 10**6, 1), w, g, 10**6, "SAME")
