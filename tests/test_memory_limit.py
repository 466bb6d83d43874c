"""Memory (issue 7): huge requests fail fast, before allocating; big inputs run in chunks.

A call whose output, padded input copy and workspace would exceed
:func:`numconv.config.get_memory_limit` raises ValueError naming the function and the
arguments that set those sizes, without allocating (checked with tracemalloc, which
sees NumPy's allocations).  Within the limit, an input whose patch matrix is far larger
than the workspace bound is convolved in chunks: same result, smaller peak.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pytest

import numconv
from numconv import engine
from numconv.config import (DEFAULT_MEMORY_BYTES, get_memory_limit, memory_limit,
                            set_memory_limit, workspace_limit)

MiB = 2**20


def peak_bytes(fn, *args, **kwargs):
    """(result or exception, peak bytes traced during the call)."""
    engine.drop_kept_scratch()        # (kept buffers would hide scratch from tracemalloc)
    tracemalloc.start()
    try:
        try:
            out = fn(*args, **kwargs)
        except ValueError as exc:
            out = exc
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


HUGE = {
    # name: (call, message pattern); every request is terabytes under the default limit
    "conv2d dilation 10**6 SAME": (
        lambda: numconv.conv2d(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 1)), 1, "SAME",
                               dilations=10**6),
        r"^conv2d: input, filters, strides, padding and dilations must keep the memory this "
        r"call needs under the limit of .* \(numconv.config.memory_limit\), got 29.1 TiB "
        r"\(output 200 B, padded input 29.1 TiB, workspace 1.8 KiB\)$"),
    "conv1d explicit padding 10**13": (
        lambda: numconv.conv1d(np.ones((1, 5, 1)), np.ones((1, 1, 1)), 1, [(10**13, 0)]),
        r"^conv1d: input, filters, stride, padding and dilations must keep .* got 145.5 TiB"),
    "max_pool2d window 10**6 SAME": (
        lambda: numconv.max_pool2d(np.ones((1, 5, 5, 1)), 10**6, 1, "SAME"),
        r"^max_pool2d: input, ksize, strides, padding and dilations must keep .*padded "
        r"input 7.3 TiB"),
    "pool 3d window 10**4 SAME": (
        lambda: numconv.pool(np.ones((1, 4, 4, 4, 2)), [10**4] * 3, "AVG", padding="SAME"),
        r"^pool: input, window_shape, strides, padding and dilations must keep .*TiB"),
    "im2col window 2**20": (
        lambda: numconv.im2col(np.ones((1, 64, 64, 3)), 2**20, 1, "SAME"),
        r"^im2col: input, window_shape, strides, padding and dilations must keep .*got 96.0 PiB "
        r"\(output 96.0 PiB, padded input 24.0 TiB\)$"),
    "im2col window 10**30 VALID (empty output of enormous rows)": (
        lambda: numconv.im2col(np.ones((1, 4, 4, 1)), 10**15, 1, "VALID"),
        r"^im2col: input, window_shape, strides, padding and dilations must keep .*got "),
    "max_pool1d empty batch, padding 2**64": (
        lambda: numconv.max_pool1d(np.ones((0, 1, 2)), 1, 1, [(0, 2**64)], "NCW"),
        r"^max_pool1d: input, ksize, strides, padding and dilations must keep .*got 256.0 EiB "
        r"\(output 128.0 EiB, padded input 128.0 EiB\)$"),
    "depthwise_conv2d batch of 10**6 ones": (
        lambda: numconv.depthwise_conv2d(np.broadcast_to(np.ones((1, 1, 1, 1)),
                                                         (10**6, 1, 1, 1)),
                                         np.ones((1, 1, 1, 2)), 1, [(10**3, 10**3)] * 2),
        r"^depthwise_conv2d: input, filter, strides, padding and dilations must keep .*"),
}


@pytest.mark.parametrize("case", sorted(HUGE))
def test_huge_requests_fail_fast_without_allocating(case):
    call, pattern = HUGE[case]
    start = time.perf_counter()
    out, peak = peak_bytes(call)
    assert isinstance(out, ValueError), out
    assert pytest.raises(ValueError, call).match(pattern)
    assert peak < 4 * MiB, f"allocated {peak} bytes before refusing"
    assert time.perf_counter() - start < 5


def test_the_limit_is_configurable():
    x, w = np.ones((1, 256, 256, 1)), np.ones((3, 3, 1, 1))        # 512 KiB out
    assert numconv.conv2d(x, w, 1, "SAME").shape == (1, 256, 256, 1)
    with memory_limit(MiB):
        with pytest.raises(ValueError, match=r"under the limit of 1.0 MiB"):
            numconv.conv2d(x, w, 1, "SAME")
        assert get_memory_limit() == MiB
    assert get_memory_limit() == DEFAULT_MEMORY_BYTES
    assert numconv.conv2d(x, w, 1, "SAME").shape == (1, 256, 256, 1)


def test_set_memory_limit_stays_in_its_context():
    import contextvars

    def inner():
        set_memory_limit(4096)
        return get_memory_limit()

    assert contextvars.copy_context().run(inner) == 4096
    assert get_memory_limit() == DEFAULT_MEMORY_BYTES


def test_default_is_half_the_memory_at_most_8_gib():
    import os
    assert DEFAULT_MEMORY_BYTES <= 8 * 2**30
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert DEFAULT_MEMORY_BYTES == min(8 * 2**30, physical // 2)


def test_memory_limit_refuses_nonsense():
    with pytest.raises(ValueError, match=r"^memory_limit: nbytes must be >= 1024, got 10$"):
        with memory_limit(10):
            pass


def test_within_the_limit_big_inputs_run_in_chunks():
    """A patch matrix of 10.1 MiB under a 256 KiB workspace bound: same result, chunked.

    The peak is the output (576 KiB) plus a few chunks, not the patch matrix.
    """
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 96, 96, 8))
    w = rng.standard_normal((3, 3, 8, 4))
    whole, peak_whole = peak_bytes(numconv.conv2d, x, w, 1, "SAME")
    with workspace_limit(256 * 1024):
        chunked, peak_chunked = peak_bytes(numconv.conv2d, x, w, 1, "SAME")
    np.testing.assert_allclose(chunked, whole, rtol=1e-12, atol=1e-12)
    assert peak_chunked < chunked.nbytes + 4 * 256 * 1024
    assert peak_chunked < peak_whole / 3
