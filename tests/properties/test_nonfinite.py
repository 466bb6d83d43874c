"""NaN, +Inf and -Inf: numconv's rows of docs/nonfinite.md (issue 7).

The expected values are IEEE arithmetic worked out by hand (``inf * 0 = NaN``,
``inf - inf = NaN``, ``max`` with NaN is NaN) and, for ``nan_policy="ignore"``, the rule
measured on TensorFlow 2.21 (docs/measure_nonfinite.py): ``max(lowest finite,
non-NaN taps)``.  The test also checks that the table in docs/nonfinite.md says the
same, and that no op warns about the non-finite values it is given.
"""

from __future__ import annotations

import pathlib
import re
import warnings

import numpy as np
import pytest

import numconv

nan, inf = np.nan, np.inf
LOW = float(np.finfo(np.float32).min)
DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "nonfinite.md"

#: the first window of a 1x2-window, stride-2 op over a one-row float32 input
CASES = {
    "`[NaN, 1]`": ([nan, 1], "VALID"), "`[1, NaN]`": ([1, nan], "VALID"),
    "`[NaN, NaN]`": ([nan, nan], "VALID"), "`[+Inf, 1]`": ([inf, 1], "VALID"),
    "`[-Inf, 1]`": ([-inf, 1], "VALID"), "`[-Inf, -Inf]`": ([-inf, -inf], "VALID"),
    "`[+Inf, -Inf]`": ([inf, -inf], "VALID"), "`[NaN, +Inf]`": ([nan, inf], "VALID"),
    "`[NaN, -Inf]`": ([nan, -inf], "VALID"),
    "`[3e38, 3e38]` (sum overflows)": ([3e38, 3e38], "VALID"),
    "`[NaN]` + SAME padding": ([nan], "SAME"), "`[-Inf]` + SAME padding": ([-inf], "SAME"),
}
ORDER = list(CASES)


def column(*values):
    return dict(zip(ORDER, values))


N, P, M = nan, inf, -inf
EXPECTED = {
    "conv2d": column(N, N, N, P, M, M, N, N, N, P, N, M),
    "conv2d, weights `[0, 1]`": column(N, N, N, N, N, N, N, N, N, 3e38, N, N),
    "max_pool2d": column(N, N, N, P, 1, M, P, N, N, 3e38, N, M),
    'max_pool2d, `nan_policy="ignore"`': column(1, 1, LOW, P, 1, LOW, P, P, LOW, 3e38, LOW,
                                                LOW),
    "avg_pool2d": column(N, N, N, P, M, M, N, N, N, P, N, M),
    "global_max_pool": column(N, N, N, P, 1, M, P, N, N, 3e38),
    "global_avg_pool": column(N, N, N, P, M, M, N, N, N, P),
}
ELEMENTWISE = {"relu": (N, P, 0), "relu6": (N, 6, 0), "leaky_relu": (N, P, M)}


def run(op, values, padding):
    x = np.array(values, np.float32).reshape(1, 1, -1, 1)
    w = np.array([0, 1] if "[0, 1]" in op else [1, 1], np.float32).reshape(1, 2, 1, 1)
    calls = {
        "conv2d": lambda: numconv.conv2d(x, w, (1, 2), padding),
        "conv2d, weights `[0, 1]`": lambda: numconv.conv2d(x, w, (1, 2), padding),
        "max_pool2d": lambda: numconv.max_pool2d(x, (1, 2), (1, 2), padding),
        'max_pool2d, `nan_policy="ignore"`': lambda: numconv.max_pool2d(
            x, (1, 2), (1, 2), padding, nan_policy="ignore"),
        "avg_pool2d": lambda: numconv.avg_pool2d(x, (1, 2), (1, 2), padding),
        "global_max_pool": lambda: numconv.global_max_pool(x),
        "global_avg_pool": lambda: numconv.global_avg_pool(x),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # IEEE results, silently
        out = calls[op]()
    assert out.dtype == np.float32
    return float(out.ravel()[0])


def same(got, expected):
    return (np.isnan(got) and np.isnan(expected)) or got == np.float32(expected)


@pytest.mark.parametrize("op, case", [(op, case) for op in sorted(EXPECTED)
                                       for case in EXPECTED[op]])
def test_window_ops(op, case):
    values, padding = CASES[case]
    got = run(op, values, padding)
    assert same(got, EXPECTED[op][case]), (got, EXPECTED[op][case])


@pytest.mark.parametrize("op", sorted(ELEMENTWISE))
def test_elementwise_ops(op):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = getattr(numconv, op)(np.array([nan, inf, -inf], np.float32))
    assert all(same(g, e) for g, e in zip(got, ELEMENTWISE[op])), got


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_ignore_gives_the_lowest_value_of_the_dtype(dtype):
    x = np.array([nan, nan, -inf, 2.0], dtype).reshape(1, 4, 1)
    got = numconv.max_pool1d(x, 2, 2, "VALID", nan_policy="ignore")
    assert got.dtype == dtype
    np.testing.assert_array_equal(got.ravel(), [np.finfo(dtype).min, 2.0])


def test_ignore_does_not_touch_integers():
    x = np.array([-5, -7, 3, 1], np.int32).reshape(1, 4, 1)
    got = numconv.max_pool1d(x, 2, 2, "VALID", nan_policy="ignore")
    np.testing.assert_array_equal(got.ravel(), [-5, 3])


def test_ignore_equals_propagate_without_nan():
    x = np.random.default_rng(3).standard_normal((2, 9, 8, 3))
    a = numconv.max_pool2d(x, 3, 2, "SAME", dilations=2, nan_policy="ignore")
    np.testing.assert_array_equal(a, numconv.max_pool2d(x, 3, 2, "SAME", dilations=2))


def test_nan_policy_is_for_max_pooling_only():
    with pytest.raises(ValueError, match=r"^pool: nan_policy 'ignore' applies to max pooling "
                                         r"only .*got 'ignore'"):
        numconv.pool(np.zeros((1, 4, 1)), [2], "AVG", nan_policy="ignore")


def test_nan_policy_values():
    with pytest.raises(ValueError, match=r"^max_pool2d: nan_policy must be one of "
                                         r"'propagate', 'ignore', got 'omit'"):
        numconv.max_pool2d(np.zeros((1, 4, 4, 1)), 2, 2, "SAME", nan_policy="omit")


def doc_tables() -> dict[str, dict[str, str]]:
    """``### op`` sections of docs/nonfinite.md -> {input: numconv column}."""
    tables, op = {}, None
    for line in DOC.read_text().splitlines():
        if line.startswith("### "):
            op = line[4:].strip()
            tables[op] = {}
        elif op and line.startswith("| ") and not line.startswith("| input"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            tables[op][cells[0]] = cells[1:]
    return tables


def shown(v: float) -> str:
    if np.isnan(v):
        return "NaN"
    if np.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return "lowest (-3.4e38)" if v == LOW else f"{v:g}"


def test_the_documented_table_says_the_same():
    tables = doc_tables()
    for op, expected in EXPECTED.items():
        if "nan_policy" in op:
            rows = tables["max_pool2d"]
            assert {k: rows[k][1] for k in expected} == {k: shown(v) for k, v in
                                                         expected.items()}
            continue
        assert {k: tables[op][k][0] for k in expected} == {k: shown(v) for k, v in
                                                           expected.items()}, op
    for op, values in ELEMENTWISE.items():
        assert [tables[op][k][0] for k in ("NaN", "+Inf", "-Inf")] == [shown(v) for v in
                                                                        values]
    assert re.search(r"TensorFlow 2\.21", DOC.read_text())
