"""Smoke test of the benchmark suite's code path (no peers, two tiny cases).

Benchmarks are not tests: nothing here checks a speed, only that the suite runs,
prints its tables and writes its JSON and plot.
"""

from __future__ import annotations

import json

import pytest

from conftest import ROOT


@pytest.fixture
def suite(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks import measure, suite
    monkeypatch.setattr(measure, "gemm_peak", lambda: 100.0)      # skip the 2048^3 GEMM
    monkeypatch.setattr(measure, "copy_bandwidth", lambda: 10.0)
    return suite


def test_quick_suite_runs_without_peers(suite, tmp_path, capsys):
    status = suite.main(["--quick", "--cases", "seed,kernel 1", "--peers", "",
                         "--output", str(tmp_path)])
    assert status == 0
    out = capsys.readouterr().out
    assert "seed" in out and "where the time goes" in out and "targets" in out
    [path] = tmp_path.glob("bench-*-quick.json")
    data = json.loads(path.read_text())
    assert [c["name"] for c in data["cases"]] == ["seed", "kernel 1"]
    seed = data["cases"][0]
    assert seed["times"]["numconv"]["best"] > 0 and seed["algorithm"] == "shift"
    assert seed["memory"]["extra"] < data["machine"]["workspace_limit"]
    assert set(seed["profile"]) >= {"taps", "outside"}
    assert len(list(tmp_path.glob("sweep-kernel-*.png"))) == 1


def test_unknown_peer_is_refused(suite):
    with pytest.raises(ValueError, match="--peers: unknown peer 'jax'"):
        suite.main(["--quick", "--cases", "seed", "--peers", "jax"])
