"""Concurrency and global state (issue 7).

* The same call from several threads at once (concurrent.futures) gives bit-identical
  results, also when the threads run under different workspace and memory limits
  (held in context variables, so one thread's ``with`` block never reaches another).
* No call changes global state, whether it returns or raises: NumPy's error state,
  print options and buffer size, the global random state, the BLAS/OpenMP thread counts
  seen by threadpoolctl, numconv's limits, the warning filters, matplotlib's rcParams,
  backend and pyplot figure list, the working directory and the environment.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import sys
import warnings

import numpy as np
import pytest

import numconv
from numconv import activations, conv_grad, pooling_grad, windows
from numconv.config import get_memory_limit, get_workspace_limit, memory_limit, workspace_limit

RNG = np.random.default_rng(11)
X = RNG.standard_normal((2, 33, 31, 5))
W = RNG.standard_normal((3, 3, 5, 6))
G = RNG.standard_normal((2, 17, 16, 6))
P = RNG.standard_normal((2, 17, 16, 5))
XN = X.copy()
XN[0, ::3, ::2, 1] = np.nan

#: name -> thunk; each runs one op on fixed inputs
CALLS = {
    "conv2d": lambda: numconv.conv2d(X, W, 2, "SAME"),
    "conv2d dilated NCHW": lambda: numconv.conv2d(np.moveaxis(X, -1, 1), W, 1, "VALID",
                                                  "NCHW", dilations=2),
    "grouped convolution": lambda: numconv.convolution(X[..., :4], W[:, :, :2], padding="SAME"),
    "depthwise_conv2d": lambda: numconv.depthwise_conv2d(X, W[:, :, :, :2], 1, "SAME"),
    "conv3d": lambda: numconv.conv3d(X[..., None, :], W[:, :, None], 1, "SAME"),
    "max_pool2d": lambda: numconv.max_pool2d(XN, 3, 2, "SAME"),
    "max_pool2d ignore": lambda: numconv.max_pool2d(XN, 3, 2, "SAME", nan_policy="ignore"),
    "avg_pool2d": lambda: numconv.avg_pool2d(X, 3, 2, "SAME"),
    "pool ceil_mode": lambda: numconv.pool(X, [3, 2], "AVG", 2, [(1, 1), (0, 1)],
                                           ceil_mode=True, count_include_pad=True),
    "global_avg_pool": lambda: numconv.global_avg_pool(X),
    "relu": lambda: numconv.relu(X, max_value=1.0, negative_slope=0.1),
    "im2col": lambda: numconv.im2col(X, 3, 2, "SAME"),
    "col2im": lambda: windows.col2im(numconv.im2col(X, 3, 2, "SAME"), X.shape, 3, 2, "SAME"),
    "conv2d_backprop_input": lambda: conv_grad.conv2d_backprop_input(X.shape, W, G, 2, "SAME"),
    "conv2d_backprop_filter": lambda: conv_grad.conv2d_backprop_filter(X, W.shape, G, 2,
                                                                       "SAME"),
    "max_pool_grad": lambda: pooling_grad.max_pool_grad(X, P, 3, 2, "SAME"),
    "avg_pool_grad": lambda: pooling_grad.avg_pool_grad(X.shape, P, 3, 2, "SAME"),
    "relu_grad": lambda: activations.relu_grad(X, X[::-1]),
}

#: name -> thunk raising ValueError/TypeError (after validation where possible)
ERRORS = {
    "conv2d memory": lambda: numconv.conv2d(X, W, 1, "SAME", dilations=10**6),
    "conv2d channels": lambda: numconv.conv2d(X, W[:, :, :3]),
    "conv2d algorithm": lambda: numconv.conv2d(X, W, algorithm="no such algorithm"),
    "max_pool2d memory": lambda: numconv.max_pool2d(X, 3, 1, 10**7),   # a 2e7-wide output
    "pool nan_policy": lambda: numconv.pool(X, [2, 2], "AVG", nan_policy="ignore"),
    "relu complex": lambda: numconv.relu(X.astype(complex)),
    "im2col memory": lambda: numconv.im2col(X, 2**20, 1, "SAME"),
    "conv2d_backprop_input shape": lambda: conv_grad.conv2d_backprop_input(X.shape, W, G[:, 1:],
                                                                           2, "SAME"),
    "max_pool_grad shape": lambda: pooling_grad.max_pool_grad(X, P[:, 1:], 3, 2, "SAME"),
}


def results(out):
    return out if isinstance(out, tuple) else (out,)


def bits(out):
    return [(a.shape, a.dtype.str, a.tobytes()) for a in results(out)]


# --------------------------------------------------------------------------- threads

@pytest.mark.parametrize("name", sorted(CALLS))
def test_same_call_from_many_threads_is_identical(name):
    expected = bits(CALLS[name]())
    with cf.ThreadPoolExecutor(max_workers=6) as pool:
        got = list(pool.map(lambda _: bits(CALLS[name]()), range(12)))
    assert all(g == expected for g in got)


def test_limits_are_per_thread():
    """One thread with a tiny memory limit refuses; the others, meanwhile, run unchanged."""
    expected = bits(CALLS["conv2d"]())
    limits = []

    def tight():
        with memory_limit(4096):
            limits.append(get_memory_limit())
            with pytest.raises(ValueError, match=r"^conv2d: .* under the limit of 4.0 KiB"):
                CALLS["conv2d"]()
        return "refused"

    def small_workspace():
        with workspace_limit(4096):
            limits.append(get_workspace_limit())
            return bits(CALLS["conv2d"]())

    with cf.ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(f) for f in [tight, small_workspace] * 6]
        outs = [f.result() for f in futures]
    assert outs[::2] == ["refused"] * 6
    for o in outs[1::2]:      # chunked under 4 KiB: same values (docs/determinism.md)
        np.testing.assert_allclose(np.frombuffer(o[0][2]), np.frombuffer(expected[0][2]),
                                   rtol=1e-13, atol=1e-13)
    assert sorted(set(limits)) == [4096]
    assert get_memory_limit() == numconv.config.DEFAULT_MEMORY_BYTES
    assert get_workspace_limit() == numconv.config.DEFAULT_WORKSPACE_BYTES


# --------------------------------------------------------------------------- global state

def snapshot() -> dict:
    state = {
        "errstate": np.geterr(), "bufsize": np.getbufsize(),
        "printoptions": np.get_printoptions(),
        "random": repr(np.random.get_state()),
        "workspace": get_workspace_limit(), "memory": get_memory_limit(),
        "warnings": list(warnings.filters),
        "cwd": os.getcwd(), "environ": dict(os.environ),
    }
    try:
        from threadpoolctl import threadpool_info
        state["threadpools"] = sorted((i["internal_api"], i["filepath"], i["num_threads"])
                                      for i in threadpool_info())
    except ImportError:
        pass
    if "matplotlib" in sys.modules:
        import matplotlib
        state["rcParams"] = {k: repr(v) for k, v in matplotlib.rcParams.items()}
        state["backend"] = matplotlib.get_backend()
        if "matplotlib.pyplot" in sys.modules:
            state["figures"] = sys.modules["matplotlib.pyplot"].get_fignums()
    return state


def assert_unchanged(before: dict) -> None:
    after = snapshot()
    changed = {k for k in before if before[k] != after.get(k)}
    assert not changed, {k: (before[k], after.get(k)) for k in changed if k != "environ"}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_calls_leave_global_state_alone(name):
    CALLS[name]()                 # warm up: lazy imports and thread pools start once
    before = snapshot()
    CALLS[name]()
    assert_unchanged(before)


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_leave_global_state_alone(name):
    before = snapshot()
    with pytest.raises((ValueError, TypeError)):
        ERRORS[name]()
    assert_unchanged(before)


def test_errors_inside_thread_pools_leave_state_alone():
    """A refusal raised while other threads compute changes nothing either."""
    before = snapshot()
    with cf.ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(ERRORS["conv2d memory"]) for _ in range(4)]
        futures += [pool.submit(CALLS["avg_pool2d"]) for _ in range(4)]
        outcomes = [f.exception() for f in futures]
    assert [type(e) for e in outcomes[:4]] == [ValueError] * 4
    assert outcomes[4:] == [None] * 4
    assert_unchanged(before)


def test_concurrent_calls_restore_blas_threads():
    """Overlapping calls that limit BLAS to one thread restore the original count once."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = snapshot()
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        inner = snapshot()
        with cf.ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(lambda i: CALLS[("conv2d", "conv2d_backprop_filter",
                                           "depthwise_conv2d")[i % 3]](), range(18)))
        assert_unchanged(inner)
    assert_unchanged(before)


# --------------------------------------------------------------------------- figures

def figure_calls():
    from numconv import viz
    img = RNG.random((12, 12)).astype(np.float32)
    return {
        "show_kernel": lambda: viz.show_kernel(numconv.get_kernel("edge"), digits=1),
        "show_stages": lambda: viz.show_stages([("Input", img), ("Filter", img)]),
        "show_extraction": lambda: viz.show_extraction(img, "edge"),
        "show_pools": lambda: viz.show_pools(img, (2, 3)),
        "show_translation_invariance": lambda: viz.show_translation_invariance(steps=2),
        "show_im2col": lambda: viz.show_im2col(),
    }


FIGURE_ERRORS = {
    "show_kernel bad digits": lambda viz, img: viz.show_kernel([[1.0]], digits=-1.5),
    "show_stages bad second stage": lambda viz, img: viz.show_stages(
        [("Input", img), ("Filter", np.zeros((2, 3, 4, 5, 6)))]),
    "show_pools bad window": lambda viz, img: viz.show_pools(img, (2, 0)),
    "show_im2col bad highlight": lambda viz, img: viz.show_im2col(highlight=(99, 99)),
}


@pytest.mark.parametrize("name", ["show_kernel", "show_stages", "show_extraction", "show_pools",
                                  "show_translation_invariance", "show_im2col"])
def test_figures_leave_rcparams_alone(name):
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    call = figure_calls()[name]
    call()
    before = snapshot()
    fig = call()
    assert_unchanged(before)
    assert fig.get_size_inches().min() > 0


@pytest.mark.parametrize("name", sorted(FIGURE_ERRORS))
def test_figure_errors_leave_rcparams_alone(name):
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    from numconv import viz
    before = snapshot()
    with pytest.raises((ValueError, TypeError), match=r"^show_\w+: "):
        FIGURE_ERRORS[name](viz, RNG.random((8, 8)))
    assert_unchanged(before)
