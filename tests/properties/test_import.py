"""`import numconv` loads no deep-learning framework, no matplotlib and no dask."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ["tensorflow", "torch", "jax", "keras", "matplotlib", "dask"]


def test_import_loads_no_framework():
    code = ("import sys, json, numconv, numconv.lesson.image, numconv.lesson.filters; "
            f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_public_api_is_declared():
    import numconv

    for name in numconv.__all__:
        assert hasattr(numconv, name), name
