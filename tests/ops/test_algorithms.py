"""Every convolution algorithm against numconv.reference, TF goldens and each other.

numconv.reference (through tests/oracle.py) is itself checked against nested loops in
test_reference.py.  Also: chunked runs under a tiny workspace bound, the bound itself
measured with tracemalloc, ``choose`` and the explicit-algorithm errors.
"""

from __future__ import annotations

import itertools
import re
import tracemalloc

import numpy as np
import pytest

import numconv
from numconv import engine
from helpers import GOLDEN, assert_matches, golden_cases
from numconv.algorithms import ALGORITHMS, choose, profiling, requirement
from numconv.geometry import resolve
from oracle import ref_conv

RNG = np.random.default_rng(20261127)
ALGOS = sorted(ALGORITHMS)
FAST = [a for a in ALGOS if a != "reference"]   # checked against the reference


def supported(algo: str, spatial, window, strides, dilations, padding) -> bool:
    g = resolve(spatial, window, strides, dilations, padding if isinstance(padding, str)
                else tuple(map(tuple, padding)))
    return requirement(algo, g) is None


def run(algo, x, w, strides, padding, dilations):
    fmt = {1: "NWC", 2: "NHWC", 3: "NDHWC"}[x.ndim - 2]
    return numconv.convolution(x, w, strides, padding, fmt, dilations, algorithm=algo)


# (spatial, window, strides, dilations, padding)
GEOMETRIES = [
    ((9,), (3,), (1,), (1,), "SAME"),
    ((9,), (3,), (2,), (2,), "VALID"),
    ((10,), (1,), (3,), (1,), "VALID"),
    ((4, 5, 3), (2, 2, 2), (1, 2, 1), (1, 1, 2), "SAME"),
    ((4, 3, 4), (1, 1, 1), (1, 1, 2), (1, 1, 1), [(0, 1), (1, 0), (0, 0)]),
] + [((7, 8), window, strides, dilations, padding)
     for window, strides, dilations, padding in itertools.product(
         [(3, 3), (1, 1), (2, 3)], [(1, 1), (2, 1)], [(1, 1), (2, 1)],
         ["SAME", "VALID", [(1, 0), (2, 1)]])]

# (in channels, groups, out channels)
CHANNELS = [(3, 1, 4), (4, 2, 6), (4, 4, 8), (4, 4, 4), (1, 1, 1), (6, 1, 2)]

CASES = [pytest.param(algo, *geo, *ch, id=f"{algo}-{i}-{ch}")
         for algo in FAST for i, geo in enumerate(GEOMETRIES) for ch in CHANNELS
         if supported(algo, *geo)]


@pytest.mark.parametrize("algo, spatial, window, strides, dilations, padding, cin, groups, "
                         "cout", CASES)
def test_against_reference(algo, spatial, window, strides, dilations, padding, cin,
                                groups, cout):
    x = RNG.standard_normal((2, *spatial, cin))
    w = RNG.standard_normal((*window, cin // groups, cout))
    expected = ref_conv(x, w, strides, padding, dilations)
    got = run(algo, x, w, strides, padding, dilations)
    assert_matches(got, expected, dtype=np.float64, scale=10)


DTYPE_GEOMETRIES = [GEOMETRIES[0], GEOMETRIES[3],
                    ((7, 8), (3, 3), (1, 1), (1, 1), "SAME"),
                    ((7, 8), (1, 1), (2, 1), (1, 1), "VALID"),
                    ((7, 8), (2, 3), (2, 1), (2, 1), [(1, 0), (2, 1)])]


@pytest.mark.parametrize("algo, geometry", [
    (algo, i) for algo in FAST for i, geo in enumerate(DTYPE_GEOMETRIES)
    if supported(algo, *geo)])
@pytest.mark.parametrize("xtype, wtype, result", [
    (np.float32, np.float32, np.float32),
    (np.float16, np.float16, np.float16),
    (np.float32, np.float64, np.float64),
    (np.int32, np.int8, np.int64),
    (np.uint8, np.bool_, np.int64),
])
@pytest.mark.parametrize("cin, groups", [(4, 1), (4, 2), (3, 3)])
def test_dtypes(algo, geometry, xtype, wtype, result, cin, groups):
    spatial, window, strides, dilations, padding = DTYPE_GEOMETRIES[geometry]
    if np.dtype(xtype).kind == "f":
        x = RNG.standard_normal((2, *spatial, cin)).astype(xtype)
        w = RNG.standard_normal((*window, cin // groups, 2 * groups)).astype(wtype)
    else:
        x = RNG.integers(0, 100, (2, *spatial, cin)).astype(xtype)
        w = RNG.integers(-3, 4, (*window, cin // groups, 2 * groups)).astype(wtype)
    expected = ref_conv(x, w, strides, padding, dilations)
    got = run(algo, x, w, strides, padding, dilations)
    terms = int(np.prod(window)) * cin // groups
    assert_matches(got, expected.astype(result), dtype=result, scale=terms)


CHUNKED = [  # (batch, spatial, window, strides, padding, cin, groups)
    (3, (9, 10), (3, 3), (1, 1), "SAME", 5, 1),
    (3, (9, 10), (3, 3), (1, 1), "SAME", 4, 4),
    (3, (9, 10), (3, 2), (2, 1), [(2, 1), (0, 2)], 4, 2),
    (3, (9, 10), (1, 1), (2, 2), "VALID", 6, 1),
    (3, (9, 10), (1, 1), (1, 1), "VALID", 4, 2),
    (3, (9, 10), (5, 5), (1, 1), "SAME", 1, 1),
    (1, (300,), (3,), (1,), "SAME", 4, 4),
    (1, (300,), (9,), (2,), "SAME", 2, 1),
    (1, (40, 30), (3, 3), (1, 1), "SAME", 3, 3),
    (1, (12, 5, 6), (3, 1, 2), (1, 1, 2), "SAME", 2, 1),
]


@pytest.mark.parametrize("algo, batch, spatial, window, strides, padding, cin, groups", [
    (algo, *case) for algo in FAST for case in CHUNKED
    if supported(algo, case[1], case[2], case[3], (1,) * len(case[1]), case[4])])
def test_chunked_under_tiny_workspace(algo, batch, spatial, window, strides, padding, cin,
                                      groups):
    """With a 1 KiB bound every block is a row or a few: many blocks, same result."""
    x = RNG.standard_normal((batch, *spatial, cin))
    w = RNG.standard_normal((*window, cin // groups, groups))
    dilations = (1,) * len(spatial)
    expected = ref_conv(x, w, strides, padding, dilations)
    with numconv.workspace_limit(1024):
        got = run(algo, x, w, strides, padding, dilations)
    assert_matches(got, expected, dtype=np.float64, scale=10)


def test_all_algorithms_agree_on_a_larger_problem():
    x = RNG.standard_normal((3, 20, 17, 8))
    w = RNG.standard_normal((3, 3, 8, 12))
    results = {a: numconv.conv2d(x, w, 1, "SAME", algorithm=a)
               for a in ALGOS if a != "pointwise"}
    reference = results.pop("im2col")
    for algo, got in results.items():
        np.testing.assert_allclose(got, reference, rtol=1e-10, atol=1e-10, err_msg=algo)


def test_channels_first_and_noncontiguous_inputs():
    x = RNG.standard_normal((2, 5, 9, 8)).astype(np.float32)     # NCHW
    w = RNG.standard_normal((1, 1, 5, 3)).astype(np.float32)
    expected = ref_conv(np.moveaxis(x, 1, -1), w, (1, 1), "VALID", (1, 1))
    for algo in ["im2col", "shift", "pointwise", "fft"]:
        got = numconv.conv2d(x, w, 1, "VALID", "NCHW", algorithm=algo)
        assert_matches(np.moveaxis(got, 1, -1), expected.astype(np.float32), dtype=np.float32,
                       scale=5)


# --------------------------------------------------------------------------- TF goldens

CONV_FNS = {"convolution", "conv1d", "conv2d", "conv3d", "depthwise_conv2d"}


@pytest.mark.parametrize("algo", ALGOS)
def test_against_tensorflow_goldens(algo):
    checked, failures = 0, []
    for i, case, arrays in (
            (i, case, golden_cases(p.stem)[0]) for p in sorted(GOLDEN.glob("ops_*.npz"))
            for i, case in enumerate(golden_cases(p.stem)[1])):
        if case["fn"] not in CONV_FNS:
            continue
        args = [arrays[f"case{i}_{name}"] for name in case["args"]]
        kwargs = dict(case["kwargs"])
        kwargs.update({name: arrays[f"case{i}_{name}"] for name in case["array_kwargs"]})
        try:
            got = getattr(numconv, case["fn"])(*args, **kwargs, algorithm=algo)
        except ValueError as exc:
            if "algorithm" in str(exc):  # this algorithm does not run this window
                continue
            raise
        checked += 1
        try:
            assert_matches(got, arrays[f"case{i}_output"], exact=case["exact"],
                           dtype=case["dtype"], scale=case["terms"])
        except AssertionError as exc:
            failures.append(f"{case['id']}: {str(exc)[:200]}")
    assert checked, f"no golden case has a window that {algo} runs"
    assert not failures, "\n".join(failures[:10])


@pytest.mark.live
@pytest.mark.parametrize("algo, x_shape, w_shape, strides, padding", [
    ("winograd", (2, 9, 8, 5), (3, 3, 5, 4), 1, "SAME"),
    ("winograd", (1, 7, 10, 3), (3, 3, 3, 2), 1, "VALID"),
    ("pointwise", (2, 9, 8, 5), (1, 1, 5, 4), 1, "VALID"),
    ("pointwise", (2, 9, 8, 6), (1, 1, 3, 4), 2, "SAME"),
    ("fft", (1, 20, 24, 2), (9, 7, 2, 3), 1, "SAME"),
    ("shift", (2, 9, 8, 6), (3, 3, 1, 12), 2, "SAME"),
])
def test_against_live_tensorflow(algo, x_shape, w_shape, strides, padding):
    """Windows the goldens lack (3x3 stride 1, 1x1) against tf.nn.conv2d directly."""
    tf = pytest.importorskip("tensorflow")
    x = RNG.standard_normal(x_shape).astype(np.float32)
    w = RNG.standard_normal(w_shape).astype(np.float32)
    expected = tf.nn.conv2d(x, w, strides, padding).numpy()
    got = numconv.conv2d(x, w, strides, padding, algorithm=algo)
    assert_matches(got, expected, dtype=np.float32, scale=int(np.prod(w_shape[:-1])))


# (batch, height, width, in channels, out channels, padding): odd sizes, tile remainders
# (outputs of 1 to 4 past a multiple of 4), one image and several, SAME, VALID, explicit
WINOGRAD_SHAPES = [
    (1, 1, 1, 1, 1, "SAME"), (1, 3, 3, 2, 3, "VALID"), (2, 4, 4, 3, 2, "SAME"),
    (1, 5, 7, 1, 1, "SAME"), (3, 6, 6, 4, 5, "VALID"), (1, 9, 13, 7, 6, "SAME"),
    (2, 10, 11, 16, 8, "VALID"), (1, 17, 5, 3, 4, "SAME"), (4, 8, 8, 2, 2, "SAME"),
    (1, 12, 12, 1, 3, ((0, 2), (1, 0))), (2, 23, 19, 16, 24, "SAME"),
    (1, 30, 2, 5, 5, "SAME"),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n, h, w, cin, cout, padding", WINOGRAD_SHAPES)
def test_winograd_against_reference_and_im2col(n, h, w, cin, cout, padding, dtype):
    """F(4x4, 3x3) against the textbook (numconv.reference, float64) and im2col."""
    x = RNG.standard_normal((n, h, w, cin)).astype(dtype)
    f = RNG.standard_normal((3, 3, cin, cout)).astype(dtype)
    pad = padding if isinstance(padding, str) else [(0, 0), *padding, (0, 0)]
    expected = ref_conv(x, f, (1, 1), padding, (1, 1))
    got = numconv.conv2d(x, f, 1, pad, algorithm="winograd")
    assert got.dtype == dtype
    # normwise: the transforms mix a tile (constant 32, see numconv.algorithms)
    scale = np.abs(x).max() * np.abs(f).reshape(-1, cout).sum(0).max()
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 32 * np.finfo(dtype).eps / 2 * scale
    im2col = numconv.conv2d(x, f, 1, pad, algorithm="im2col")
    assert np.abs(got - im2col).max() <= 64 * np.finfo(dtype).eps / 2 * scale


def test_winograd_in_bands_matches_whole_images():
    """Under a small workspace bound an image runs in bands of tile rows: same values."""
    x = RNG.standard_normal((2, 37, 21, 8))
    f = RNG.standard_normal((3, 3, 8, 8))
    whole = numconv.conv2d(x, f, 1, "SAME", algorithm="winograd")
    with numconv.workspace_limit(200_000):
        banded = numconv.conv2d(x, f, 1, "SAME", algorithm="winograd")
    expected = ref_conv(x, f, (1, 1), "SAME", (1, 1))
    scale = np.abs(x).max() * np.abs(f).reshape(-1, 8).sum(0).max()
    for got in (whole, banded):
        assert np.abs(got - expected).max() <= 32 * 2.0 ** -53 * scale


# --------------------------------------------------------------------------- workspace bound

@pytest.mark.parametrize("algo, window, cin, groups", [
    ("im2col", (3, 3), 8, 1), ("im2col", (3, 3), 8, 2), ("shift", (3, 3), 8, 1),
    ("shift", (3, 3), 8, 8), ("pointwise", (1, 1), 8, 1), ("fft", (5, 5), 4, 1),
    ("winograd", (3, 3), 8, 1), ("auto", (3, 3), 8, 1), ("shift", (3, 3), 16, 16),
])
def test_workspace_bound_holds_under_tracemalloc(algo, window, cin, groups):
    """Extra memory of one call stays under the bound though the patches need 36x more."""
    limit = 1 << 20
    x = RNG.standard_normal((16, 64, 64, cin)).astype(np.float32)
    w = RNG.standard_normal((*window, cin // groups, 16)).astype(np.float32)
    patches = 16 * 64 * 64 * int(np.prod(window)) * cin * 4
    assert algo == "pointwise" or patches > 16 * limit
    strides = 2 if algo == "pointwise" else 1          # a strided 1x1 copies its blocks
    with numconv.workspace_limit(limit):
        numconv.conv2d(x, w, strides, "SAME", algorithm=algo)       # warm-up (imports)
        engine.drop_kept_scratch()    # (kept buffers would hide scratch from tracemalloc)
        tracemalloc.start()
        try:
            out = numconv.conv2d(x, w, strides, "SAME", algorithm=algo)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    extra = peak - out.nbytes
    assert extra <= limit + (64 << 10), f"{algo}: {extra} bytes over a {limit}-byte bound"


@pytest.mark.parametrize("algo", ["im2col", "winograd", "shift"])
@pytest.mark.parametrize("data_format, dtype", [("NCHW", np.float32), ("NHWC", np.float16)])
def test_result_conversion_stays_under_the_bound(algo, data_format, dtype):
    """Channels-first output and float16 results are converted batch chunk by chunk."""
    limit = 1 << 20
    x = RNG.standard_normal((16, 8, 64, 64) if data_format == "NCHW" else (16, 64, 64, 8))
    x = x.astype(dtype)
    w = RNG.standard_normal((3, 3, 8, 16)).astype(dtype)
    with numconv.workspace_limit(limit):
        numconv.conv2d(x, w, 1, "SAME", data_format, algorithm=algo)
        engine.drop_kept_scratch()    # (kept buffers would hide scratch from tracemalloc)
        tracemalloc.start()
        try:
            out = numconv.conv2d(x, w, 1, "SAME", data_format, algorithm=algo)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert out.dtype == dtype and out.flags.c_contiguous
    assert peak - out.nbytes <= limit + (64 << 10)
    first = x[:1] if data_format == "NHWC" else np.moveaxis(x[:1], 1, -1)
    got = out[:1] if data_format == "NHWC" else np.moveaxis(out[:1], 1, -1)
    expected = ref_conv(first, w, (1, 1), "SAME", (1, 1))
    assert_matches(got, expected.astype(dtype), dtype=dtype, scale=72)


@pytest.mark.parametrize("kind", ["MAX", "AVG"])
def test_pooling_makes_no_padded_copy(kind):
    limit = 1 << 20
    x = RNG.standard_normal((16, 64, 64, 16)).astype(np.float32)        # 4 MiB
    with numconv.workspace_limit(limit):
        numconv.pool(x, (3, 3), kind, 2, "SAME")
        engine.drop_kept_scratch()    # (kept buffers would hide scratch from tracemalloc)
        tracemalloc.start()
        try:
            out = numconv.pool(x, (3, 3), kind, 2, "SAME")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak - out.nbytes <= limit + (64 << 10)


# --------------------------------------------------------------------------- choose, errors

@pytest.mark.parametrize("x_shape, w_shape, strides, exact, fast", [
    ((8, 28, 28, 256), (1, 1, 256, 128), 1, "pointwise", "pointwise"),
    ((8, 56, 56, 64), (3, 3, 1, 64), 1, "shift", "shift"),         # depthwise
    ((1, 400, 600, 1), (3, 3, 1, 1), 1, "shift", "shift"),         # one channel
    ((1, 400, 600, 3), (5, 5, 3, 1), 1, "shift", "shift"),         # RGB to one output
    ((8, 224, 224, 3), (7, 7, 3, 64), 2, "im2col", "im2col"),
    ((8, 56, 56, 64), (3, 3, 64, 64), 1, "im2col", "winograd"),
    ((8, 14, 14, 256), (3, 3, 256, 256), 1, "im2col", "im2col"),   # 16 tiles an image
    ((8, 28, 28, 128), (3, 3, 128, 128), 1, "im2col", "winograd"),
    ((8, 24, 24, 16), (3, 3, 16, 16), 1, "im2col", "winograd"),    # 36 tiles, 16 channels
    ((8, 20, 20, 64), (3, 3, 64, 64), 1, "im2col", "im2col"),      # 25 tiles
    ((8, 56, 56, 8), (3, 3, 8, 64), 1, "im2col", "im2col"),        # 8 input channels
    ((8, 14, 14, 256), (3, 3, 256, 256), 2, "im2col", "im2col"),
    ((1, 256, 256, 1), (15, 15, 1, 1), 1, "shift", "fft"),
    ((1, 256, 256, 2), (9, 9, 2, 2), 1, "im2col", "fft"),
    ((1, 256, 256, 2), (9, 9, 2, 2), 2, "im2col", "im2col"),
])
def test_choose(x_shape, w_shape, strides, exact, fast):
    """``exact`` (the default) picks only direct sums; ``fast`` may pick Winograd and FFT."""
    g = resolve(x_shape[1:3], w_shape[:2], (strides,) * 2, (1, 1), "SAME")
    groups = x_shape[-1] // w_shape[-2]
    f32 = np.dtype(np.float32)
    assert choose(x_shape, w_shape, g, groups, f32) == exact
    assert choose(x_shape, w_shape, g, groups, f32, "exact") == exact
    assert choose(x_shape, w_shape, g, groups, f32, "fast") == fast
    with numconv.default_precision("fast"):
        assert choose(x_shape, w_shape, g, groups, f32) == fast


def test_choose_avoids_patches_that_cannot_fit():
    g = resolve((8, 4000), (3, 3), (1, 1), (1, 1), "SAME")
    with numconv.workspace_limit(1 << 20):          # one row of patches: 4000*9*64*8 bytes
        assert choose((1, 8, 4000, 64), (3, 3, 64, 64), g, 1) == "shift"


@pytest.mark.parametrize("algo, window, rule", [
    ("pointwise", (3, 3), "needs a window of ones (1x1)"),
    ("winograd", (5, 5), "needs a 2-D 3x3 window with strides 1 and dilations 1"),
])
def test_unsupported_algorithm_is_refused(algo, window, rule):
    x, w = np.ones((1, 6, 6, 1)), np.ones((*window, 1, 1))
    message = f"conv2d: algorithm '{algo}' {rule}, got '{algo}' with window {window}"
    with pytest.raises(ValueError, match=re.escape(message)):
        numconv.conv2d(x, w, 1, "SAME", algorithm=algo)


def test_profiling_reports_phases_and_is_off_by_default():
    x, w = np.ones((2, 8, 8, 3)), np.ones((3, 3, 3, 4))
    with profiling() as phases:
        numconv.conv2d(x, w, 1, "SAME", algorithm="im2col")
    assert {"pad", "patches", "gemm"} <= set(phases) and all(v >= 0 for v in phases.values())
    from numconv import profiling as _profiling
    assert _profiling._PROFILE is None


@pytest.mark.parametrize("algo", ALGOS)
def test_inf_and_nan_reach_only_the_windows_that_see_them(algo):
    """IEEE results, silently, on every worker thread (fft and winograd run im2col then)."""
    window = (1, 1) if algo == "pointwise" else (3, 3)
    x = RNG.random((2, 7, 8, 2)) + 1
    x[0, 2, 2, 0], x[0, 5, 6, 1], x[1, 3, 3, 1] = np.inf, -np.inf, np.nan
    w = RNG.random((*window, 2, 3)) + 1                 # positive: no 0 * inf
    with np.errstate(invalid="ignore"):
        expected = ref_conv(x, w, (1, 1), "SAME", (1, 1))
    got = numconv.conv2d(x, w, 1, "SAME", algorithm=algo)
    assert_matches(got, expected, dtype=np.float64, scale=10)
    assert np.isfinite(expected).sum() > expected.size // 2


# --------------------------------------------------------------------------- shift's flat path

@pytest.mark.parametrize("spatial, window, strides, dilations, padding, channels", [
    ((11,), (3,), (1,), (1,), "SAME", 3),                   # 1-D: no trailing dims, no crop
    ((11,), (4,), (3,), (2,), "VALID", 1),                  # first-dim stride and dilation
    ((9, 13), (3, 3), (1, 1), (1, 1), "SAME", 1),           # one channel (scalar weights)
    ((9, 13), (3, 3), (1, 1), (1, 1), "SAME", 5),           # depthwise, multiplier 1
    ((9, 13), (2, 5), (3, 1), (2, 2), "VALID", 4),          # strided rows, dilated taps
    ((9, 13), (3, 2), (2, 1), (1, 3), [(2, 0), (1, 4)], 2),  # explicit asymmetric pads
    ((5, 6, 7), (3, 2, 3), (2, 1, 1), (1, 2, 1), "SAME", 3),  # 3-D: two trailing dims
    ((2, 1), (3, 1), (1, 1), (2, 1), "SAME", 2),            # every row in the frame
    ((3, 4), (4, 3), (2, 1), (2, 2), "SAME", 3),            # no interior rows nor columns
])
@pytest.mark.parametrize("limit", [None, 1024])
def test_flat_shift_path(spatial, window, strides, dilations, padding, channels, limit):
    """One output per channel, trailing strides 1: the flat path, whole or a row a block."""
    x = RNG.standard_normal((3, *spatial, channels))
    w = RNG.standard_normal((*window, 1, channels))
    expected = ref_conv(x, w, strides, padding, dilations)
    with numconv.workspace_limit(limit or numconv.get_workspace_limit()):
        got = numconv.convolution(x, w, strides, padding, dilations=dilations,
                                  algorithm="shift")
    assert_matches(got, expected, dtype=np.float64, scale=int(np.prod(window)))
    xi = RNG.integers(-50, 50, (2, *spatial, channels)).astype(np.int16)
    wi = RNG.integers(-9, 9, (*window, 1, channels)).astype(np.int8)
    exact = numconv.convolution(xi, wi, strides, padding, dilations=dilations,
                                algorithm="shift")
    np.testing.assert_array_equal(exact, ref_conv(xi, wi, strides, padding, dilations))


def test_scratch_kept_between_calls_only_without_live_views():
    """A scratch buffer outlives its call only when no view of it does, within the bound,
    and only when it is large enough for the C heap to have mapped it afresh."""
    engine.drop_kept_scratch()
    n = engine.SPARE_MIN_BYTES // 4            # float32 elements of the smallest kept size
    first = engine.Scratch(1)
    held = first.get(0, "a", (n,), np.float32)
    held[...] = 7.0
    del first                                # a view is alive: the buffer is not kept
    assert not engine._SPARE
    second = engine.Scratch(1)
    again = second.get(0, "a", (n,), np.float32)
    again[...] = 0.0
    assert not np.shares_memory(held, again) and (held == 7.0).all()
    small = engine.Scratch(1)
    small.get(0, "s", (n // 2,), np.float32)   # half the smallest kept size
    del small
    assert not engine._SPARE                 # small buffers are never kept
    with numconv.workspace_limit(1 << 20):
        big = engine.Scratch(1)
        big.get(0, "b", (1 << 20,), np.float32)   # 4 MiB: more than the bound
        del again, second, big
        assert sum(b.nbytes for bufs in engine._SPARE.values() for b in bufs) <= 1 << 20
    kept = list(engine._SPARE[0])
    assert [b.nbytes for b in kept] == [4 * n]    # the buffer without views was kept
    reused = engine.Scratch(1).get(0, "c", (n,), np.float32)
    assert np.shares_memory(reused, kept[0])


def test_small_elementwise_calls_run_on_one_worker():
    """An elementwise call (split_rows) whose blocks hold less than PARALLEL_BYTES in all
    runs on one worker (no thread hand-off); a larger one is spread over the workers.
    Other kernels (GEMMs: much work per byte) keep their workers."""
    per_row = 1000                           # bytes of scratch per output row
    small_rows = engine.PARALLEL_BYTES // per_row - 1
    small = engine.plan(1, (small_rows, 8), lambda n, r: n * r * per_row, workers=4,
                        split_rows=True)
    assert small.workers == 1 and len(small.blocks) == 1
    large = engine.plan(1, (small_rows + 2, 8), lambda n, r: n * r * per_row, workers=4,
                        split_rows=True)
    assert large.workers == 4 and len(large.blocks) == 4
    batch = engine.plan(4, (small_rows // 4 + 2, 8), lambda n, r: n * r * per_row,
                        workers=4, split_rows=True)    # the whole batch counts
    assert batch.workers == 4 and len(batch.blocks) == 4
    few = engine.plan(4, (10, 8), lambda n, r: n * r * per_row, workers=4, split_rows=True)
    assert few.workers == 1 and len(few.blocks) == 4      # one image a block, one worker
    gemm = engine.plan(4, (10, 8), lambda n, r: n * r * per_row, workers=4)
    assert gemm.workers == 4 and gemm.blocks == few.blocks
