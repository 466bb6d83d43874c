"""The geometry engine: hand-checked examples, and a window-counting reference via Hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import numconv
from numconv.geometry import resolve, resolve_dim
from loops import ref_dim


@pytest.mark.parametrize("args, expected", [
    # (in, k, s, d, padding) -> (out, before, after); worked by hand from the TF formulas
    ((224, 7, 2, 1, "SAME"), (112, 2, 3)),
    ((224, 7, 2, 1, "VALID"), (109, 0, 0)),     # (224 - 7 + 2) // 2 = 109
    ((5, 3, 1, 1, "SAME"), (5, 1, 1)),
    ((4, 2, 2, 1, "SAME"), (2, 0, 0)),
    ((5, 2, 2, 1, "SAME"), (3, 0, 1)),          # odd pad goes after
    ((5, 3, 1, 2, "SAME"), (5, 2, 2)),          # eff 5
    ((5, 3, 1, 2, "VALID"), (1, 0, 0)),
    ((2, 3, 1, 1, "VALID"), (0, 0, 0)),         # window larger than input -> empty
    ((2, 7, 1, 1, "VALID"), (0, 0, 0)),         # TF raises here; numconv clamps to 0
    ((0, 3, 2, 1, "SAME"), (0, 0, 1)),          # TF: max((0-1)*2 + 3 - 0, 0) = 1
    ((6, 3, 2, 1, (1, 2)), (4, 1, 2)),          # (6 + 3 - 3 + 2) // 2 = 4
])
def test_hand_examples(args, expected):
    g = resolve_dim(*args)
    assert (g.out_size, g.pad_before, g.pad_after) == expected


@pytest.mark.parametrize("args, expected", [
    # PyTorch ceil_mode, by hand: in 5, k 2, s 2 -> ceil(3/2)+1 = 3, last window starts at 4 < 5
    ((5, 2, 2, 1, (0, 0)), (3, 0, 1)),
    # in 4, k 2, s 2, pad 1 -> ceil(4/2)+1 = 3; starts 0, 2, 4; 4 < 4 + 1 keeps it
    ((4, 2, 2, 1, (1, 1)), (3, 1, 1)),
    # in 3, k 2, s 2, pad 1 -> ceil(3/2)+1 = 3, start 4 >= 3 + 1 -> dropped: 2
    ((3, 2, 2, 1, (1, 1)), (2, 1, 1)),
])
def test_ceil_mode_examples(args, expected):
    g = resolve_dim(*args, ceil_mode=True)
    assert (g.out_size, g.pad_before, g.pad_after) == expected


sizes = st.integers(0, 40)
small = st.integers(1, 6)
pads = st.one_of(st.sampled_from(["SAME", "VALID"]),
                 st.tuples(st.integers(0, 5), st.integers(0, 5)))


@given(sizes, small, small, small, pads)
def test_matches_window_counting(n, k, s, d, padding):
    g = resolve_dim(n, k, s, d, padding)
    out, before, after, _ = ref_dim(n, k, s, d, padding)
    assert (g.out_size, g.pad_before, g.pad_after) == (out, before, after)
    assert g.out_size >= 0 and g.pad_before >= 0 and g.pad_after >= 0
    if g.out_size:  # every window fits in the padded input
        assert (g.out_size - 1) * s + g.effective_window <= g.padded_size


@given(st.integers(1, 40), small, small, small, st.tuples(st.integers(0, 5), st.integers(0, 5)))
def test_ceil_mode_matches_window_counting(n, k, s, d, padding):
    # PyTorch's domain: pads at most half the effective window
    padding = tuple(min(p, ((k - 1) * d + 1) // 2) for p in padding)
    g = resolve_dim(n, k, s, d, padding, ceil_mode=True)
    out, before, after, _ = ref_dim(n, k, s, d, padding, ceil_mode=True)
    assert (g.out_size, g.pad_before, g.pad_after) == (out, before, after)
    floor = resolve_dim(n, k, s, d, padding)
    assert floor.out_size <= g.out_size <= floor.out_size + 1


@given(st.integers(1, 300), small, small)
def test_same_covers_input(n, k, s):
    g = resolve_dim(n, k, s, 1, "SAME")
    assert g.out_size == -(-n // s)
    assert abs(g.pad_after - g.pad_before) <= 1 and g.pad_after >= g.pad_before


def test_geometry_is_plain_ints():
    g = resolve((224, 100), (7, 3), (2, 1), (1, 2), "SAME")
    assert g.out_shape == (112, 100)
    assert g.pads == ((2, 3), (2, 2))
    for dim in g.dims:
        for value in (dim.out_size, dim.pad_before, dim.pad_after):
            assert type(value) is int


def test_explain_text():
    text = numconv.explain(224, 7, 2, "SAME")
    assert text == ("SAME: out = ceil(224/2) = 112; total pad = max((112-1)*2 + 7 - 224, 0) "
                    "= 5 -> before 2, after 3")
    multi = numconv.explain((5, 6), (3, 2), (1, 2), [(1, 1), (0, 1)]).splitlines()
    assert multi == ["dim 0: EXPLICIT: out = (5 + 1 + 1 - 3 + 1) // 1 = 5; pads before 1, after 1",
                     "dim 1: EXPLICIT: out = (6 + 0 + 1 - 2 + 2) // 2 = 3; pads before 0, after 1"]
    assert "clamped to 0" in numconv.explain(2, 7, 1, "VALID")
    assert "inside the right padding" in numconv.explain(3, 2, 2, 1, ceil_mode=True)
