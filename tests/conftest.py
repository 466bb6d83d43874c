"""pytest configuration: Hypothesis profiles and quiet framework logs.

Shared helpers live in importable modules beside this file: ``helpers`` (golden files,
tolerances, ``assert_matches``), ``oracle`` (:mod:`numconv.reference` in the tests'
spellings) and ``loops`` (independent nested-loop references).
"""

from __future__ import annotations

import os

import pytest

# quiet TensorFlow's C++ logging in the live tests (must be set before TF is imported)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from hypothesis import HealthCheck, settings

# a shared 2-core machine: no per-example deadline, no "too slow" health check; CI runs
# a fixed (derandomised) set of examples so that a red run can be reproduced exactly
settings.register_profile("default", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", parent=settings.get_profile("default"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture
def parallel_small_calls(monkeypatch):
    """Small calls on as many workers as large ones: the engine runs a call whose blocks
    hold less than ``engine.PARALLEL_BYTES`` on one worker (pooling: less work than
    ``kernels.pool.PARALLEL_BYTES``), which would leave the tests' small arrays
    single-threaded whatever ``NUMCONV_NUM_THREADS`` says."""
    from numconv import engine
    from numconv.kernels import pool
    monkeypatch.setattr(engine, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(pool, "PARALLEL_BYTES", 0)
