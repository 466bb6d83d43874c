"""PyTorch's pooling options against torch.autograd, live, randomised with Hypothesis.

``ceil_mode``, ``count_include_pad``, ``divisor_override``, dilation and PyTorch's
symmetric padding (at most half the window), 1-D to 3-D, channels-first (PyTorch's
layout), float64, with ties: max pooling and its gradient, average pooling's gradient,
the argmax indices (numconv's channels-first index is PyTorch's per-plane index plus
``c * prod(spatial)``) and ``max_unpool`` with its gradient.  Draws avoid windows that
cover only padding, which PyTorch mishandles (pinned in the last test).  Tolerances: float64
1e-12 (``helpers``), indices and max values exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
F = torch.nn.functional

import numconv  # noqa: E402
from helpers import assert_matches  # noqa: E402

pytestmark = pytest.mark.live
FIRST = {1: "NCW", 2: "NCHW", 3: "NCDHW"}
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def torch_pool(draw):
    n = draw(st.integers(1, 3))
    spatial = draw(st.tuples(*[st.integers(1, 7 if n < 3 else 5)] * n))
    window = draw(st.tuples(*[st.integers(1, 3)] * n))
    strides = draw(st.tuples(*[st.integers(1, 3)] * n))
    pads = tuple(draw(st.integers(0, k // 2)) for k in window)
    return n, spatial, window, strides, pads, draw(st.booleans())


def fits(spatial, window, pads, dilations=(1, 1, 1)):
    """Every window fits in the padded input.  (PyTorch's ceil_mode also makes one output
    of a window larger than the padded input; numconv's geometry gives 0 there, see
    test_ceil_mode_window_larger_than_input.)"""
    return all(n + 2 * p >= (k - 1) * d + 1 for n, k, p, d in zip(spatial, window, pads,
                                                                     dilations))


def every_window_reads_input(spatial, window, strides, pads, dilations, out_spatial):
    """No window of only padding (PyTorch mishandles those, see the divergence test)."""
    return all(any(0 <= o * s - p + t * d < n for t in range(k))
               for n, k, s, p, d, m in zip(spatial, window, strides, pads, dilations,
                                           out_spatial) for o in range(m))


def torch_call(fn, x, *args, **kwargs):
    """Run a torch pooling op; configurations PyTorch refuses are not drawn again."""
    try:
        return fn(x, *args, **kwargs)
    except RuntimeError:
        assume(False)


def grad_of(out, x, g):
    out.backward(torch.from_numpy(g))
    return x.grad.numpy()


@settings(max_examples=150, **SETTINGS)
@given(torch_pool(), st.booleans(), st.sampled_from([None, 1, 3]), st.booleans(),
       st.integers(0, 2**32 - 1))
def test_avg_pool_gradient(config, include, override, ties, seed):
    n, spatial, window, strides, pads, ceil = config
    assume(fits(spatial, window, pads))
    if n == 1:
        override = None                       # avg_pool1d has no divisor_override
    rng = np.random.default_rng(seed)
    xn = rng.integers(0, 3, (2, 3, *spatial)).astype(float) if ties else \
        rng.standard_normal((2, 3, *spatial))
    x = torch.tensor(xn, requires_grad=True)
    kw = dict(ceil_mode=ceil, count_include_pad=include)
    if override:
        kw["divisor_override"] = override
    out = torch_call(getattr(F, f"avg_pool{n}d"), x, window, strides, pads, **kw)
    g = rng.standard_normal(tuple(out.shape))
    dx = grad_of(out, x, g)
    got = numconv.avg_pool(xn, window, strides, list(pads), FIRST[n], ceil_mode=ceil,
                           count_include_pad=include, divisor_override=override)
    assert_matches(got, out.detach().numpy(), dtype=np.float64, scale=math.prod(window))
    got = numconv.avg_pool_grad(xn.shape, g, window, strides, list(pads), FIRST[n],
                                ceil_mode=ceil, count_include_pad=include,
                                divisor_override=override)
    assert_matches(got, dx, dtype=np.float64, scale=math.prod(window))


@settings(max_examples=150, **SETTINGS)
@given(torch_pool(), st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 2)),
       st.booleans(), st.integers(0, 2**32 - 1))
def test_max_pool_gradient_and_indices(config, dilation, ties, seed):
    n, spatial, window, strides, pads, ceil = config
    dilations = dilation[:n]
    assume(fits(spatial, window, pads, dilations))
    rng = np.random.default_rng(seed)
    xn = rng.integers(0, 3, (2, 3, *spatial)).astype(float) if ties else \
        rng.standard_normal((2, 3, *spatial))
    x = torch.tensor(xn, requires_grad=True)
    out, idx = torch_call(getattr(F, f"max_pool{n}d"), x, window, strides, pads, dilations,
                          ceil_mode=ceil, return_indices=True)
    assume(every_window_reads_input(spatial, window, strides, pads, dilations, out.shape[2:]))
    g = rng.standard_normal(tuple(out.shape))
    dx = grad_of(out, x, g)
    fmt, kw = FIRST[n], dict(dilations=dilations, ceil_mode=ceil)
    assert_matches(numconv.max_pool_grad(xn, g, window, strides, list(pads), fmt, **kw), dx,
                   dtype=np.float64, scale=math.prod(window))
    values, flat = numconv.max_pool_with_argmax(xn, window, strides, list(pads), fmt, **kw)
    assert_matches(values, out.detach().numpy(), exact=True, dtype=np.float64)
    plane = math.prod(spatial)
    channel = np.arange(3).reshape(1, 3, *(1,) * n) * plane
    assert_matches(flat, idx.numpy() + channel, exact=True, dtype=np.int64)


@settings(max_examples=100, **SETTINGS)
@given(torch_pool(), st.integers(0, 2**32 - 1))
def test_max_unpool_and_its_gradient(config, seed):
    n, spatial, window, strides, pads, ceil = config
    assume(fits(spatial, window, pads))
    rng = np.random.default_rng(seed)
    xn = rng.standard_normal((2, 3, *spatial))
    pooled, idx = torch_call(getattr(F, f"max_pool{n}d"), torch.tensor(xn), window, strides,
                             pads, ceil_mode=ceil, return_indices=True)
    y = pooled.clone().requires_grad_(True)
    out = torch_call(getattr(F, f"max_unpool{n}d"), y, idx, window, strides, pads,
                     output_size=list(spatial))
    g = rng.standard_normal(tuple(out.shape))
    dy = grad_of(out, y, g)
    ours_idx = idx.numpy() + np.arange(3).reshape(1, 3, *(1,) * n) * math.prod(spatial)
    got, pullback = numconv.vjp(numconv.max_unpool, pooled.numpy(), ours_idx, window, strides,
                                list(pads), FIRST[n], output_size=list(spatial))
    assert_matches(got, out.detach().numpy(), exact=True, dtype=np.float64)
    assert_matches(pullback(g)[0], dy, exact=True, dtype=np.float64)


@settings(max_examples=50, **SETTINGS)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_max_unpool_default_output_size(n, size, k, seed):
    stride = k                                  # PyTorch's default stride: the window
    xn = np.random.default_rng(seed).standard_normal((1, 2, *(size * k,) * n))
    pooled, idx = F.__dict__[f"max_pool{n}d"](torch.tensor(xn), k, return_indices=True)
    out = F.__dict__[f"max_unpool{n}d"](pooled, idx, k)
    ours_idx = idx.numpy() + np.arange(2).reshape(1, 2, *(1,) * n) * (size * k) ** n
    got = numconv.max_unpool(pooled.numpy(), ours_idx, k, stride, data_format=FIRST[n])
    assert_matches(got, out.numpy(), exact=True, dtype=np.float64)


def test_ceil_mode_window_larger_than_input():
    x = np.arange(1.0, 2.0).reshape(1, 1, 1)       # one sample, window 2, stride 2
    expected = F.avg_pool1d(torch.tensor(x), 2, 2, ceil_mode=True).numpy()
    assert expected.tolist() == [[[1.0]]]
    got = numconv.avg_pool(x, 2, 2, "VALID", "NCW", ceil_mode=True)
    assert_matches(got, expected, dtype=np.float64)


def test_divergence_max_pool_window_of_only_padding():
    # PyTorch 2.13 (CPU): a dilated window whose taps all fall on padding returns -inf
    # with an index past its plane, and the backward writes the gradient there: into the
    # next channel (measured).  numconv drops that gradient and reports index -1.
    x = torch.tensor([[[1.0], [2.0]]], dtype=torch.float64, requires_grad=True)  # (1, 2, 1)
    y, idx = F.max_pool1d(x, 2, 3, 1, 2, ceil_mode=True, return_indices=True)
    y.backward(torch.ones_like(y))
    assert idx.ravel().tolist() == [1, 1] and x.grad.ravel().tolist() == [0.0, 1.0]
    values, ours = numconv.max_pool_with_argmax(x.detach().numpy(), 2, 3, 1, "NCW",
                                                dilations=2, ceil_mode=True)
    assert ours.ravel().tolist() == [-1, -1] and (values == -np.inf).all()
    grad = numconv.max_pool_grad(x.detach().numpy(), np.ones((1, 2, 1)), 2, 3, 1, "NCW",
                                 dilations=2, ceil_mode=True)
    assert grad.ravel().tolist() == [0.0, 0.0]
