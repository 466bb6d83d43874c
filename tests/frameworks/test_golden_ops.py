"""The forward ops against TensorFlow's outputs stored in data/golden/ops_*.npz (no TF needed).

The files are written by ``python data/make_tf_reference.py ops`` (schema in
data/tf_reference/ops.py): each case names the numconv function, its arrays and
keyword arguments, the TF expression that produced the output and the dtype numconv
must return.  Tolerances (``helpers.TOLERANCES``, rtol / atol per result dtype):
float16 1e-2 / 1e-2, float32 1e-5 / 1e-5, float64 1e-12 / 1e-12, the atol multiplied by
the number of terms summed per output (convolution taps x input channels per group,
pooling window); max pooling, ReLU, im2col and integer results are compared exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

import numconv
from helpers import GOLDEN, assert_matches, golden_cases, golden_params

FILES = sorted(GOLDEN.glob("ops_*.npz"))


@pytest.mark.parametrize("stem, index", golden_params("ops"))
def test_matches_tensorflow(stem: str, index: int) -> None:
    arrays, cases = golden_cases(stem)
    case = cases[index]
    args = [arrays[f"case{index}_{name}"] for name in case["args"]]
    kwargs = dict(case["kwargs"])
    kwargs.update({name: arrays[f"case{index}_{name}"] for name in case["array_kwargs"]})
    before = [a.copy() for a in args]
    for a in args:
        a.flags.writeable = False  # read-only inputs must work
    got = getattr(numconv, case["fn"])(*args, **kwargs)
    assert_matches(got, arrays[f"case{index}_output"], exact=case["exact"],
                   dtype=case["dtype"], scale=case["terms"])
    for a, b in zip(args, before):  # and are never modified
        np.testing.assert_array_equal(a, b, strict=True)


def test_golden_files_cover_every_forward_op() -> None:
    assert FILES, "no data/golden/ops_*.npz: run python data/make_tf_reference.py ops"
    fns, versions, ids = set(), set(), []
    for path in FILES:
        arrays, cases = golden_cases(path.stem)
        versions.add(str(arrays["tf_version"]))
        fns |= {case["fn"] for case in cases}
        ids += [case["id"] for case in cases]
    assert len(ids) == len(set(ids)) and len(ids) > 1000
    assert all(v.count(".") >= 2 for v in versions)
    windowed = {"convolution", "conv1d", "conv2d", "conv3d", "depthwise_conv2d", "pool",
                "max_pool", "avg_pool", "max_pool1d", "max_pool2d", "max_pool3d",
                "avg_pool1d", "avg_pool2d", "avg_pool3d", "relu", "relu6", "leaky_relu",
                "im2col"}
    assert fns == windowed
