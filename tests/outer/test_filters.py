"""numconv.lesson.filters: hand-checkable values, orientation on step images, filter layout."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_matches, load_golden

import numconv
from numconv.lesson.filters import KERNELS, as_filters, get_kernel, kernel_names

NAMES = ["edge", "laplacian", "bottom_sobel", "top_sobel", "left_sobel", "right_sobel",
         "emboss", "sharpen", "blur", "gaussian", "gaussian5", "identity"]


def test_names():
    assert kernel_names() == NAMES == list(KERNELS)


def test_lesson_kernels_by_hand():
    # the four kernels of the lesson, typed from it
    assert_matches(get_kernel("edge"), [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], exact=True)
    assert_matches(get_kernel("bottom_sobel"), [[-1, -2, -1], [0, 0, 0], [1, 2, 1]], exact=True)
    assert_matches(get_kernel("emboss"), [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], exact=True)
    assert_matches(get_kernel("sharpen"), [[0, -1, 0], [-1, 5, -1], [0, -1, 0]], exact=True)


def test_variant_golden_kernels():
    # data/tf_reference/demo.py types every kernel independently of numconv
    golden = load_golden("demo_variants")
    seen = set()
    for i in range(int(golden["count"])):
        name = str(golden[f"v{i}__kernel_name"])
        assert_matches(get_kernel(name), golden[f"v{i}__kernel"], exact=True, dtype=np.float32)
        seen.add(name)
    assert seen == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_dtype_shape_and_read_only(name):
    k = KERNELS[name]
    assert k.dtype == np.float32 and k.ndim == 2 and k.shape[0] == k.shape[1] in (3, 5)
    assert not k.flags.writeable
    copy = get_kernel(name)
    assert copy.flags.writeable and not np.shares_memory(copy, k)
    copy[0, 0] = 99
    assert KERNELS[name][0, 0] != 99


@pytest.mark.parametrize("name, total", [
    ("edge", 0), ("laplacian", 0), ("bottom_sobel", 0), ("top_sobel", 0), ("left_sobel", 0),
    ("right_sobel", 0), ("emboss", 1), ("sharpen", 1), ("blur", 1), ("gaussian", 1),
    ("gaussian5", 1), ("identity", 1)])
def test_sums(name, total):
    # 0: flat regions give 0 (edge detectors); 1: flat regions keep their brightness
    assert abs(float(get_kernel(name).astype(np.float64).sum()) - total) < 1e-6


def test_smoothing_kernels_by_hand():
    assert_matches(get_kernel("blur"), np.full((3, 3), 1 / 9, np.float32), exact=True)
    assert_matches(get_kernel("gaussian"),
                   np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float32) / 16, exact=True)
    g5 = get_kernel("gaussian5")
    assert g5[2, 2] == np.float32(36 / 256) and g5[0, 0] == np.float32(1 / 256)
    assert_matches(get_kernel("identity"), np.eye(3)[1][:, None] * np.eye(3)[1], exact=True)


def test_sobel_family_symmetries():
    bottom = get_kernel("bottom_sobel")
    assert_matches(get_kernel("top_sobel"), -bottom, exact=True)
    assert_matches(get_kernel("right_sobel"), bottom.T, exact=True)
    assert_matches(get_kernel("left_sobel"), -bottom.T, exact=True)


def _step(axis: int) -> np.ndarray:
    """6x6 image, dark (0) on the top/left half, bright (1) on the bottom/right half."""
    x = np.zeros((6, 6), np.float32)
    if axis == 0:
        x[3:] = 1
    else:
        x[:, 3:] = 1
    return x[None, :, :, None]


@pytest.mark.parametrize("name, axis, profile", [
    # VALID windows over rows (cols) 0-2, 1-3, 2-4, 3-5; the edge lies between 2 and 3.
    # Windows 1-3 and 2-4 see 0 above and 1 below: 1 + 2 + 1 = 4 for bottom_sobel.
    ("bottom_sobel", 0, [0, 4, 4, 0]),
    ("top_sobel", 0, [0, -4, -4, 0]),
    ("right_sobel", 1, [0, 4, 4, 0]),
    ("left_sobel", 1, [0, -4, -4, 0]),
    ("bottom_sobel", 1, [0, 0, 0, 0]),    # blind to vertical edges
    ("right_sobel", 0, [0, 0, 0, 0]),
])
def test_sobel_orientation_on_step(name, axis, profile):
    out = numconv.conv2d(_step(axis), as_filters(name), 1, "VALID")[0, :, :, 0]
    expected = np.array(profile, np.float32)
    want = np.tile(expected[:, None], (1, 4)) if axis == 0 else np.tile(expected, (4, 1))
    assert_matches(out, want, exact=True, dtype=np.float32)


def test_edge_on_flat_and_on_a_dot():
    flat = np.full((1, 5, 5, 1), 0.5, np.float32)
    assert_matches(numconv.conv2d(flat, as_filters("edge"), 1, "VALID"), np.zeros((1, 3, 3, 1)),
                   exact=True)
    dot = np.zeros((1, 5, 5, 1), np.float32)
    dot[0, 2, 2, 0] = 1
    out = numconv.conv2d(dot, as_filters("edge"), 1, "VALID")[0, :, :, 0]
    assert_matches(out, get_kernel("edge"), exact=True)     # a dot draws the kernel


def test_blur_keeps_flat_brightness():
    flat = np.full((1, 4, 4, 1), 0.25, np.float32)
    out = numconv.conv2d(flat, as_filters("blur"), 1, "VALID")
    assert np.allclose(out, 0.25, rtol=0, atol=1e-7)


def test_as_filters_like_tf_reshape():
    k = get_kernel("emboss")
    w = as_filters(k)
    assert w.shape == (3, 3, 1, 1) and w.dtype == np.float32
    assert_matches(w[:, :, 0, 0], k, exact=True)
    assert not np.shares_memory(w, k)
    assert_matches(as_filters("emboss"), w, exact=True)
    assert_matches(as_filters(w), w, exact=True)           # HWIO (kh, kw, 1, 1) accepted


def test_as_filters_channels_tile():
    w = as_filters("sharpen", 3, 2)
    assert w.shape == (3, 3, 3, 2) and w.flags.writeable
    for i in range(3):
        for o in range(2):
            assert_matches(w[:, :, i, o], get_kernel("sharpen"), exact=True)


def test_as_filters_dtypes():
    assert as_filters([[1, 2], [3, 4]]).dtype == np.float32
    assert as_filters(np.ones((2, 2), bool)).dtype == np.float32
    assert as_filters(np.ones((2, 2))).dtype == np.float64


def test_get_kernel_spellings():
    assert_matches(get_kernel(" Bottom-Sobel "), get_kernel("bottom_sobel"), exact=True)
    assert_matches(get_kernel("GAUSSIAN5"), get_kernel("gaussian5"), exact=True)


def test_unknown_name():
    with pytest.raises(ValueError, match=r"get_kernel: name must be a kernel name, one of "
                                         r"'edge', 'laplacian', .* 'identity', got 'sobel'"):
        get_kernel("sobel")


def test_name_type():
    with pytest.raises(TypeError, match=r"get_kernel: name must be a kernel name, one of "
                                        r"'edge', .*, got int 3"):
        get_kernel(3)


def test_as_filters_unknown_name():
    with pytest.raises(ValueError, match=r"as_filters: kernel must be a kernel name, one of "
                                         r"'edge', .*, got 'edges'"):
        as_filters("edges")


def test_as_filters_channels_positive():
    with pytest.raises(ValueError, match=r"as_filters: out_channels must be positive, got 0"):
        as_filters("edge", 1, 0)


def test_as_filters_memory():
    with pytest.raises(ValueError, match=r"as_filters: in_channels and out_channels must keep "
                                         r"the memory this call needs under the limit of .*, "
                                         r"got 288.0 TiB \(output 288.0 TiB\)"):
        as_filters("edge", 2 ** 23, 2 ** 20)
