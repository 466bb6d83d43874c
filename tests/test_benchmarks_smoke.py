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


def test_gemm_floor_multiplies_the_real_patch_matrix(suite):
    """The floor's GEMM computes the case's convolution (checked by an einsum over taps)."""
    import numpy as np
    from benchmarks import peers
    from numconv.geometry import resolve
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 9, 8, 3))
    w = rng.standard_normal((3, 2, 3, 5))
    g = resolve((9, 8), (3, 2), (2, 1), (1, 2), "SAME")
    out = peers.gemm_floor(x, w, (2, 1), g, (1, 2), 1)()
    (pt, pb), (pl, pr) = [(d.pad_before, d.pad_after) for d in g.dims]
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    oh, ow = g.out_shape
    expected = sum(np.einsum("nhwc,co->nhwo", xp[:, i:i + 2 * oh:2, 2 * j:2 * j + ow], w[i, j])
                   for i in range(3) for j in range(2))
    np.testing.assert_allclose(out.reshape(2, oh, ow, 5), expected, rtol=1e-12, atol=1e-12)
    with pytest.raises(peers.Unavailable, match="grouped"):
        peers.gemm_floor(x, w[:, :, :1], (2, 1), g, (1, 2), 3)
