"""PyTorch's conventions compared live with torch: pooling options and symmetric-pad conv.

numconv's ``count_include_pad``, ``ceil_mode``, ``divisor_override``, symmetric int
padding, dilated max pooling and grouped convolution follow PyTorch; Hypothesis draws
random configurations inside what torch accepts (pads at most half the window, a
non-empty output) and compares ``torch.nn.functional`` with numconv in channels-first
(torch's layout) and channels-last (transposed around the torch call).  numconv's
filters are ``(*window, C_in / groups, C_out)``: torch's ``(C_out, C_in / groups,
*window)`` weight permuted.

Tolerances (``helpers.TOLERANCES``, rtol / atol): float32 1e-5 / 1e-5, float64
1e-12 / 1e-12, the atol multiplied by the number of terms summed per output; max
pooling exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
F = torch.nn.functional

import numconv  # noqa: E402
from helpers import assert_matches  # noqa: E402

pytestmark = pytest.mark.live

#: examples per test; together with tests/frameworks/test_live_tf.py over 1,000 configurations
EXAMPLES = {"avg": 200, "max": 200, "conv": 200}


def live(name: str):
    return settings(max_examples=EXAMPLES[name], deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


FLOATS = st.sampled_from(["float32", "float64"])
FIRST = {1: "NCW", 2: "NCHW", 3: "NCDHW"}
LAST = {1: "NWC", 2: "NHWC", 3: "NDHWC"}


def last(a: np.ndarray) -> np.ndarray:
    """Channels-first -> channels-last."""
    return np.ascontiguousarray(np.moveaxis(a, 1, -1))


def ints(n: int, lo: int, hi: int) -> st.SearchStrategy:
    return st.tuples(*[st.integers(lo, hi)] * n)


@st.composite
def windows(draw, dilate: bool):
    """n, window, stride, dilation, symmetric pads (<= window // 2) and a valid size."""
    n = draw(st.integers(1, 3))
    k = draw(ints(n, 1, 4))
    s = draw(ints(n, 1, 4))
    d = draw(ints(n, 1, 3)) if dilate else (1,) * n
    p = tuple(draw(st.integers(0, ki // 2)) for ki in k)
    lows = [max(1, (ki - 1) * di + 1 - 2 * pi) for ki, di, pi in zip(k, d, p)]
    size = tuple(draw(st.integers(lo, lo + 6)) for lo in lows)
    return n, k, s, d, p, size


def pad_arg(draw, p: tuple):
    """numconv's padding: one int when all dims agree (sometimes), else ints per dim."""
    return p[0] if len(set(p)) == 1 and draw(st.booleans()) else list(p)


@st.composite
def avg_configs(draw):
    n, k, s, _, p, size = draw(windows(dilate=False))
    if n == 3:  # torch's avg_pool3d wants the input itself at least the window
        size = tuple(max(z, ki) for z, ki in zip(size, k))
    override = draw(st.none() | st.integers(1, 9)) if n > 1 else None  # not in avg_pool1d
    return dict(n=n, k=k, s=s, p=p, size=size, padding=pad_arg(draw, p),
                include=draw(st.booleans()), ceil=draw(st.booleans()), override=override,
                dtype=draw(FLOATS), channels_last=draw(st.booleans()),
                fn=draw(st.sampled_from(["pool", "avg_pool", f"avg_pool{n}d"])),
                seed=draw(st.integers(0, 2**32 - 1)))


@live("avg")
@given(avg_configs())
def test_avg_pool_matches_torch(cfg) -> None:
    rng = np.random.default_rng(cfg["seed"])
    n = cfg["n"]
    x = rng.standard_normal((2, 3, *cfg["size"])).astype(cfg["dtype"])
    f = getattr(F, f"avg_pool{n}d")
    extra = {} if n == 1 else {"divisor_override": cfg["override"]}
    expected = f(torch.from_numpy(x), cfg["k"], cfg["s"], cfg["p"], ceil_mode=cfg["ceil"],
                 count_include_pad=cfg["include"], **extra).numpy()
    options = dict(count_include_pad=cfg["include"], ceil_mode=cfg["ceil"],
                   divisor_override=cfg["override"])
    xin, fmt = (last(x), LAST[n]) if cfg["channels_last"] else (x, FIRST[n])
    if cfg["fn"] == "pool":
        got = numconv.pool(xin, list(cfg["k"]), "AVG", list(cfg["s"]), cfg["padding"], fmt,
                           **options)
    else:
        got = getattr(numconv, cfg["fn"])(xin, list(cfg["k"]), list(cfg["s"]), cfg["padding"],
                                          fmt, **options)
    assert_matches(got, last(expected) if cfg["channels_last"] else expected,
                   dtype=cfg["dtype"], scale=math.prod(cfg["k"]))


@st.composite
def max_configs(draw):
    n, k, s, d, p, size = draw(windows(dilate=True))
    return dict(n=n, k=k, s=s, d=d, p=p, size=size, padding=pad_arg(draw, p),
                ceil=draw(st.booleans()), dtype=draw(FLOATS),
                channels_last=draw(st.booleans()),
                fn=draw(st.sampled_from(["pool", "max_pool", f"max_pool{n}d"])),
                seed=draw(st.integers(0, 2**32 - 1)))


@live("max")
@given(max_configs())
def test_max_pool_matches_torch(cfg) -> None:
    rng = np.random.default_rng(cfg["seed"])
    n = cfg["n"]
    x = rng.standard_normal((2, 3, *cfg["size"])).astype(cfg["dtype"])
    expected = getattr(F, f"max_pool{n}d")(torch.from_numpy(x), cfg["k"], cfg["s"], cfg["p"],
                                           cfg["d"], ceil_mode=cfg["ceil"]).numpy()
    xin, fmt = (last(x), LAST[n]) if cfg["channels_last"] else (x, FIRST[n])
    if cfg["fn"] == "pool":
        got = numconv.pool(xin, list(cfg["k"]), "MAX", list(cfg["s"]), cfg["padding"], fmt,
                           list(cfg["d"]), ceil_mode=cfg["ceil"])
    else:
        got = getattr(numconv, cfg["fn"])(xin, list(cfg["k"]), list(cfg["s"]), cfg["padding"],
                                          fmt, dilations=list(cfg["d"]), ceil_mode=cfg["ceil"])
    assert_matches(got, last(expected) if cfg["channels_last"] else expected,
                   dtype=cfg["dtype"], exact=True)


@st.composite
def conv_configs(draw):
    n, k, s, d, p, size = draw(windows(dilate=True))
    groups = draw(st.integers(1, 3))
    mode = draw(st.sampled_from(["int", "int", "same", "valid"]))
    if mode == "same":  # torch's padding="same": stride 1 only, pads like TF's SAME
        s = (1,) * n
    if mode != "int":
        p = (0,) * n
        size = tuple(max(z, (ki - 1) * di + 1) for z, ki, di in zip(size, k, d))
    return dict(n=n, k=k, s=s, d=d, p=p, size=size, mode=mode, groups=groups,
                padding={"int": pad_arg(draw, p), "same": "SAME", "valid": "VALID"}[mode],
                cin=groups * draw(st.integers(1, 3)), cout=groups * draw(st.integers(1, 3)),
                bias=draw(st.booleans()), dtype=draw(FLOATS),
                channels_last=draw(st.booleans()), seed=draw(st.integers(0, 2**32 - 1)))


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")
@live("conv")
@given(conv_configs())
def test_convolution_matches_torch(cfg) -> None:
    rng = np.random.default_rng(cfg["seed"])
    n, dtype = cfg["n"], cfg["dtype"]
    x = rng.standard_normal((2, cfg["cin"], *cfg["size"])).astype(dtype)
    weight = rng.standard_normal((cfg["cout"], cfg["cin"] // cfg["groups"], *cfg["k"]))
    weight = weight.astype(dtype)
    b = rng.standard_normal(cfg["cout"]).astype(dtype) if cfg["bias"] else None
    padding = cfg["p"] if cfg["mode"] == "int" else cfg["mode"]
    expected = getattr(F, f"conv{n}d")(
        torch.from_numpy(x), torch.from_numpy(weight),
        None if b is None else torch.from_numpy(b), cfg["s"], padding, cfg["d"],
        cfg["groups"]).numpy()
    filters = np.moveaxis(weight, (0, 1), (-1, -2))  # (C_out, C_in/g, *k) -> (*k, C_in/g, C_out)
    xin, fmt = (last(x), LAST[n]) if cfg["channels_last"] else (x, FIRST[n])
    got = numconv.convolution(xin, filters, list(cfg["s"]), cfg["padding"], fmt,
                              list(cfg["d"]), bias=b)
    assert_matches(got, last(expected) if cfg["channels_last"] else expected, dtype=dtype,
                   scale=math.prod(cfg["k"]) * cfg["cin"] // cfg["groups"] + 1)


def test_max_pool_nan_propagates_like_torch() -> None:
    x = np.array([1, np.nan, 3, 2, np.nan, np.nan, 0, -1]).reshape(1, 1, 8)
    expected = F.max_pool1d(torch.from_numpy(x), 2, 2).numpy()
    np.testing.assert_array_equal(expected[0, 0], [np.nan, 3, np.nan, 0])
    assert_matches(numconv.max_pool1d(x, 2, 2, "VALID", "NCW"), expected, exact=True)
