"""Adjoint identities, randomised with Hypothesis over geometry, layout and groups.

For a linear map ``A`` and its adjoint ``A*``: ``<A x, y> == <x, A* y>`` for all x, y.

* im2col / col2im; convolution / conv_backprop_input (in the input) and
  conv_backprop_filter (in the filters); depthwise likewise; avg_pool / avg_pool_grad;
* conv_transpose is conv_backprop_input, bit for bit;
* max pooling is piecewise linear: each window's gradient lands on an element equal to
  its maximum, so ``<max_pool_grad(x, g), x> == <g, max_pool(x)>`` and the gradient's
  total is ``sum(g)`` (windows with an input element).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import numconv

LAST = {1: "NWC", 2: "NHWC", 3: "NDHWC"}
FIRST = {1: "NCW", 2: "NCHW", 3: "NCDHW"}


def close(a, b):
    assert abs(a - b) <= 1e-10 * max(1.0, abs(a), abs(b)), (a, b)


@st.composite
def geometries(draw, rank=None):
    n = draw(st.integers(1, 3)) if rank is None else rank
    spatial = draw(st.tuples(*[st.integers(1, 7 if n < 3 else 4)] * n))
    window = draw(st.tuples(*[st.integers(1, 3)] * n))
    strides = draw(st.tuples(*[st.integers(1, 3)] * n))
    dilations = draw(st.tuples(*[st.integers(1, 2)] * n))
    padding = draw(st.one_of(st.sampled_from(["SAME", "VALID"]),
                             st.tuples(*[st.tuples(st.integers(0, 3), st.integers(0, 3))] * n)))
    channels_last = draw(st.booleans())
    fmt = (LAST if channels_last else FIRST)[n]
    return n, spatial, window, strides, dilations, padding, fmt, channels_last


def shape_of(batch, spatial, channels, channels_last):
    return (batch, *spatial, channels) if channels_last else (batch, channels, *spatial)


@settings(max_examples=150, deadline=None)
@given(geometries(), st.integers(0, 2**32 - 1))
def test_im2col_col2im(geom, seed):
    n, spatial, window, strides, dilations, padding, fmt, last = geom
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape_of(2, spatial, 3, last))
    cols = numconv.im2col(x, window, strides, padding, fmt, dilations)
    y = rng.standard_normal(cols.shape)
    back = numconv.col2im(y, x.shape, window, strides, padding, fmt, dilations)
    close(np.vdot(cols, y), np.vdot(x, back))


@settings(max_examples=150, deadline=None)
@given(geometries(), st.integers(1, 3), st.integers(1, 2), st.integers(0, 2**32 - 1))
def test_convolution_backprops(geom, groups, cin_g, seed):
    n, spatial, window, strides, dilations, padding, fmt, last = geom
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape_of(2, spatial, cin_g * groups, last))
    w = rng.standard_normal((*window, cin_g, 2 * groups))
    out = numconv.convolution(x, w, strides, padding, fmt, dilations)
    y = rng.standard_normal(out.shape)
    dx = numconv.conv_backprop_input(x.shape, w, y, strides, padding, fmt, dilations)
    dw = numconv.conv_backprop_filter(x, w.shape, y, strides, padding, fmt, dilations)
    close(np.vdot(out, y), np.vdot(x, dx))
    close(np.vdot(out, y), np.vdot(w, dw))
    output_shape = x.shape
    np.testing.assert_array_equal(
        numconv.conv_transpose(y, w, output_shape, strides, padding, fmt, dilations), dx)


@settings(max_examples=60, deadline=None)
@given(geometries(rank=2), st.integers(1, 2), st.integers(0, 2**32 - 1))
def test_depthwise_backprops(geom, multiplier, seed):
    n, spatial, window, strides, dilations, padding, fmt, last = geom
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape_of(2, spatial, 3, last))
    f = rng.standard_normal((*window, 3, multiplier))
    out = numconv.depthwise_conv2d(x, f, strides, padding, fmt, dilations)
    y = rng.standard_normal(out.shape)
    dx = numconv.depthwise_conv2d_backprop_input(x.shape, f, y, strides, padding, fmt, dilations)
    df = numconv.depthwise_conv2d_backprop_filter(x, f.shape, y, strides, padding, fmt,
                                                  dilations)
    close(np.vdot(out, y), np.vdot(x, dx))
    close(np.vdot(out, y), np.vdot(f, df))


@settings(max_examples=150, deadline=None)
@given(geometries(), st.booleans(), st.booleans(), st.sampled_from([None, 2]),
       st.integers(0, 2**32 - 1))
def test_pooling(geom, include, ceil, override, seed):
    n, spatial, window, strides, dilations, padding, fmt, last = geom
    ceil = ceil and padding != "SAME"
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape_of(2, spatial, 3, last))
    opts = dict(dilations=dilations, ceil_mode=ceil)
    with np.errstate(invalid="ignore"):
        avg = numconv.avg_pool(x, window, strides, padding, fmt, count_include_pad=include,
                               divisor_override=override, **opts)
    y = np.where(np.isnan(avg), 0.0, rng.standard_normal(avg.shape))  # windows of no element
    dx = numconv.avg_pool_grad(x.shape, y, window, strides, padding, fmt,
                               count_include_pad=include, divisor_override=override, **opts)
    close(np.vdot(np.nan_to_num(avg), y), np.vdot(x, dx))

    mx = numconv.max_pool(x, window, strides, padding, fmt, **opts)
    g = np.where(np.isfinite(mx), rng.standard_normal(mx.shape), 0.0)
    dm = numconv.max_pool_grad(x, g, window, strides, padding, fmt, **opts)
    close(np.vdot(dm, x), np.vdot(g, np.where(np.isfinite(mx), mx, 0.0)))
    close(dm.sum(), g.sum())
