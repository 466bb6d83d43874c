"""The backward passes against TensorFlow's gradients stored in data/golden/grad_*.npz.

No TF needed: the files are written by ``python data/make_tf_reference.py grad`` (schema
and TF's measured limits in data/tf_reference/grad.py).  A case calls a numconv
backward function directly, or runs ``numconv.vjp`` on a forward op and applies the
pullback to the stored cotangent.  Tolerances (``helpers.TOLERANCES``, rtol / atol per
result dtype): float32 1e-5 / 1e-5, float64 1e-12 / 1e-12, the atol multiplied by the
number of terms summed per value; argmax indices, ReLU-family gradients and max-pool
argmax values compare exactly.
"""

from __future__ import annotations

import pytest

import numconv
from helpers import GOLDEN, assert_matches, golden_cases, golden_params

FILES = sorted(GOLDEN.glob("grad_*.npz"))


def test_goldens_present_and_small():
    assert {p.stem for p in FILES} >= {"grad_conv", "grad_depthwise", "grad_transpose",
                                       "grad_pool", "grad_argmax", "grad_act"}
    assert sum(p.stat().st_size for p in FILES) < 5e6


@pytest.mark.parametrize("stem, index", golden_params("grad"))
def test_matches_tensorflow(stem: str, index: int) -> None:
    arrays, cases = golden_cases(stem)
    case = cases[index]
    kwargs = dict(case["kwargs"])
    kwargs.update({name: arrays[f"case{index}_{name}"] for name in case["arrays"]})
    expected = [arrays[f"case{index}_out_{name}"] for name in case["outputs"]]
    if case["fn"].startswith("vjp:"):
        cotangent = kwargs.pop("cotangent")
        _, pullback = numconv.vjp(getattr(numconv, case["fn"][4:]), **kwargs)
        got = pullback(cotangent)
    else:
        got = getattr(numconv, case["fn"])(**kwargs)
        got = got if isinstance(got, tuple) else (got,)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert_matches(g, e, exact=case["exact"] or e.dtype.kind in "iu", dtype=e.dtype,
                       scale=case["terms"])
