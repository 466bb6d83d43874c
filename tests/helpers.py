"""Helpers shared by the tests: the repository's paths, TF golden files, per-dtype
tolerances and the one comparison helper (shape, then dtype, then values).

Import it as ``from helpers import assert_matches`` (``tests/`` is on ``pythonpath``).
"""

from __future__ import annotations

import functools
import json
import pathlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "data" / "golden"

#: (rtol, atol) per result dtype, for sums of products (convolution, average pooling).
#: Max pooling and ReLU are compared exactly (tol=None -> exact).
TOLERANCES = {
    np.dtype("float16"): (1e-2, 1e-2),
    np.dtype("float32"): (1e-5, 1e-5),
    np.dtype("float64"): (1e-12, 1e-12),
}


def assert_matches(got, expected, *, exact: bool = False, dtype=None, scale: float = 1.0):
    """Check shape, then dtype, then values (NaN equal to NaN).

    ``scale`` multiplies the absolute tolerance (e.g. the number of summed terms).
    """
    got = np.asarray(got)
    expected = np.asarray(expected)
    assert got.shape == expected.shape, f"shape {got.shape} != expected {expected.shape}"
    if dtype is not None:
        assert got.dtype == np.dtype(dtype), f"dtype {got.dtype} != expected {np.dtype(dtype)}"
    if exact or got.dtype.kind in "biu":
        np.testing.assert_array_equal(got, expected)
        return
    rtol, atol = TOLERANCES.get(got.dtype, TOLERANCES[np.dtype("float64")])
    np.testing.assert_allclose(got.astype(np.float64), expected.astype(np.float64),
                               rtol=rtol, atol=atol * scale, equal_nan=True)


def load_golden(name: str) -> dict:
    """Load ``data/golden/<name>.npz`` as a dict (allow_pickle for argument dicts)."""
    with np.load(GOLDEN / f"{name}.npz", allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


@functools.lru_cache(maxsize=None)
def golden_cases(stem: str) -> tuple[dict[str, np.ndarray], list[dict]]:
    """A case-table golden (``ops_*``, ``grad_*``): its arrays and its JSON case list."""
    arrays = load_golden(stem)
    return arrays, json.loads(str(arrays["cases"]))


def golden_params(prefix: str) -> list:
    """One ``pytest.param(stem, index)`` per case of every ``<prefix>_*.npz`` golden."""
    params = []
    for path in sorted(GOLDEN.glob(f"{prefix}_*.npz")):
        _, cases = golden_cases(path.stem)
        params += [pytest.param(path.stem, i, id=f"{path.stem[len(prefix) + 1:]}:{case['id']}")
                   for i, case in enumerate(cases)]
    return params
