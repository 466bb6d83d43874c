"""Smoke tests of the benchmark harness (tiny cases, worker processes).

Benchmarks are not tests: nothing here checks a speed, only that the harness runs
each implementation in its own process, writes its JSON and markdown, and that its
floors and error columns compute what they claim (against plain loops written here).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import ROOT


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks import cases, measure, suite
    monkeypatch.setattr(measure, "gemm_peak", lambda: 100.0)      # skip the 2048^3 GEMM
    monkeypatch.setattr(measure, "copy_bandwidth", lambda: 10.0)
    return suite, cases


def _tiny(cases):
    conv = cases.ConvCase("tiny", (2, 9, 10, 8), (3, 3, 8, 16), group="targets")
    pool = cases.PoolCase("tiny pool", (2, 9, 10, 8), "MAX", (3, 3), (2, 2), "SAME",
                          group="targets")
    return [conv, pool, cases.GradCase("tiny dw", "conv_filter", conv, group="targets"),
            cases.GradCase("tiny pool dx", "max_pool", pool)]


def _run(bench, tmp_path, peers):
    suite, cases = bench
    assert suite.run(_tiny(cases), peers, quick=True, budget=0.2, out_dir=tmp_path,
                     plots=False) == 0
    [path] = tmp_path.glob("bench-*-quick.json")
    return json.loads(path.read_text())


def test_tiny_cases_in_worker_processes(bench, tmp_path, capsys):
    data = _run(bench, tmp_path, ["scipy", "gemm", "copy"])
    out = capsys.readouterr().out
    conv, pool, dw, pool_dx = data["cases"]
    assert [c["name"] for c in data["cases"]] == ["tiny", "tiny pool", "tiny dw", "tiny pool dx"]
    assert [c["floor"] for c in data["cases"]] == ["gemm", "copy", "gemm", "copy"]
    for case in data["cases"]:
        assert set(case["times"]) >= {"numconv", case["floor"]}
        assert case["times"]["numconv"]["best"] > 0
        assert case["times"]["numconv"]["samples"] >= 2
        assert case["memory"]["extra"] >= 0
    # scipy cannot run multi-channel cases: left out of the line, its reason in the JSON
    assert conv["notes"]["scipy"] == "single-channel, single-image convolutions only"
    assert 0 <= conv["errors"]["numconv"] < 1e-5       # an exact algorithm: ~u * taps
    assert "copy" not in conv["times"] and "gemm" not in pool["times"]
    assert set(data["targets"]) == {"floors"}           # no TF ratios without TF
    lines = [line for line in out.splitlines() if line.startswith("tiny")]
    assert len(lines) == 4 and "floor gemm" in lines[0] and "err " in lines[0]
    assert not any("scipy" in line for line in lines)
    table = (tmp_path / path_name(tmp_path, "md")).read_text()
    assert "| case | shape | numconv ms |" in table and "| tiny pool |" in table
    assert data["machine"]["cores"] >= 1 and data["machine"]["load_average"] is not None


def path_name(tmp_path, ext):
    [path] = tmp_path.glob(f"bench-*.{ext}")
    return path.name


def test_framework_peers_in_their_own_processes(bench, tmp_path):
    """Skipped, like an importorskip, when a worker cannot import TensorFlow or PyTorch
    (checked there: importing them here too would double the test's time)."""
    data = _run(bench, tmp_path, ["tf", "torch"])
    if set(data["machine"]["absent"]) & {"tf", "torch"}:
        pytest.skip(f"not importable: {data['machine']['absent']}")
    conv, pool_dx = data["cases"][0], data["cases"][3]
    for case in data["cases"][:3]:
        assert set(case["times"]) >= {"numconv", "tf", "torch"}
    assert pool_dx["notes"]["torch"].startswith("asymmetric SAME padding")
    for peer in ("tf", "torch"):
        assert conv["errors"][peer] < 1e-5
    assert data["machine"]["versions"]["tf"] and data["machine"]["versions"]["torch"]
    assert set(data["targets"]) == {"conv", "grad", "pool"}
    assert data["targets"]["conv"]["ratios"]["tiny"] == pytest.approx(
        conv["times"]["tf"]["best"] / conv["times"]["numconv"]["best"])


def test_unknown_peer_is_refused(bench):
    suite, _ = bench
    with pytest.raises(ValueError, match="--peers: unknown peer 'jax'"):
        suite.main(["--quick", "--cases", "seed", "--peers", "jax"])


def test_a_baseline_revision_runs_in_its_own_process(bench, tmp_path, capsys):
    """--baseline REV: numconv as of a git revision, exported and imported by its own
    worker, timed beside the checkout's, with the 5% regression line in the targets."""
    suite, cases = bench
    from benchmarks import measure
    try:
        measure.revision("HEAD")
    except ValueError:                  # an unpacked archive: no git history to export
        pytest.skip("not a git checkout")
    home = measure.export_revision("HEAD", tmp_path / "base")
    assert (home / "numconv" / "__init__.py").is_file()
    assert suite.run(_tiny(cases)[:2], [], quick=True, budget=0.2, out_dir=tmp_path,
                     plots=False, homes={"numconv@HEAD": home}) == 0
    [path] = tmp_path.glob("bench-*-quick.json")
    data = json.loads(path.read_text())
    assert data["machine"]["baselines"] == {"numconv@HEAD": str(home.resolve() / "numconv")}
    for case in data["cases"]:
        assert case["times"]["numconv@HEAD"]["samples"] >= 2
    ratios = data["targets"]["numconv@HEAD"]["ratios"]
    conv = data["cases"][0]["times"]
    assert ratios["tiny"] == pytest.approx(conv["numconv@HEAD"]["best"] / conv["numconv"]["best"])
    assert data["targets"]["numconv@HEAD"]["met"] == (min(ratios.values()) >= 1 / 1.05)
    with pytest.raises(SystemExit) as exit:     # before any timing, one line
        suite.main(["--quick", "--cases", "seed", "--baseline", "no-such-revision"])
    assert exit.value.code == 2
    assert "--baseline: 'no-such-revision' is not a commit" in capsys.readouterr().err


def _loop_conv(x, w, strides, pads):
    """Plain nested loops: the float64 convolution the harness's truth must equal."""
    (t, b), (left, right) = pads
    xp = np.pad(x.astype(np.float64), ((0, 0), (t, b), (left, right), (0, 0)))
    kh, kw, _, cout = w.shape
    oh = (xp.shape[1] - kh) // strides[0] + 1
    ow = (xp.shape[2] - kw) // strides[1] + 1
    out = np.zeros((x.shape[0], oh, ow, cout))
    for n in range(x.shape[0]):
        for i in range(oh):
            for j in range(ow):
                window = xp[n, i * strides[0]:i * strides[0] + kh,
                            j * strides[1]:j * strides[1] + kw]
                out[n, i, j] = np.tensordot(window, w, axes=3)
    return out


def test_truth_and_error_measure_match_plain_loops(bench):
    from benchmarks import accuracy
    _, cases = bench
    case = cases.ConvCase("t", (2, 7, 6, 3), (3, 2, 3, 4), (2, 1))
    a = case.arrays(wide=True)
    assert np.abs(a["x"]).max() > 1e4 and np.abs(a["x"]).min() < 1e-3   # wide range
    truth, scale = accuracy.reference(case)
    pads = case.geometry().pads
    assert pads == ((1, 1), (0, 1))                     # TF SAME: 7/2 -> 4, 6/1 -> 6
    np.testing.assert_allclose(truth, _loop_conv(a["x"], a["w"], (2, 1), pads), rtol=1e-12)
    np.testing.assert_allclose(scale, _loop_conv(np.abs(a["x"]), np.abs(a["w"]), (2, 1), pads),
                               rtol=1e-12)
    got = truth.copy()
    got.flat[5] += 3 * scale.flat[5]
    assert accuracy.error(got, truth, scale) == pytest.approx(3.0)


def test_gemm_floor_multiplies_the_real_operands(bench, monkeypatch):
    """The floor's GEMMs compute the case's convolution and its filter gradient (with one
    worker a small case is one block, whose patches are the real ones)."""
    from benchmarks import floors
    _, cases = bench
    monkeypatch.setenv("NUMCONV_NUM_THREADS", "1")
    case = cases.ConvCase("f", (3, 9, 8, 5), (3, 2, 5, 6), (2, 1))
    a = case.arrays()
    run, scale = floors.make("gemm", case, a)
    assert scale == 1.0
    expected = _loop_conv(a["x"], a["w"], (2, 1), case.geometry().pads)
    np.testing.assert_allclose(run(), expected, rtol=1e-4, atol=1e-4)
    dw_case = cases.GradCase("fdw", "conv_filter", case)
    d = dw_case.arrays()
    got = floors.make("gemm", dw_case, d)[0]()
    (t, b), (left, right) = case.geometry().pads
    xp = np.pad(d["x"].astype(np.float64), ((0, 0), (t, b), (left, right), (0, 0)))
    oh, ow = case.geometry().out_shape
    want = np.array([[np.einsum("nhwc,nhwo->co", xp[:, i:i + 2 * oh:2, j:j + ow], d["g"])
                      for j in range(2)] for i in range(3)])
    np.testing.assert_allclose(got.reshape(3, 2, 5, 6), want, rtol=1e-4, atol=1e-3)
    with pytest.raises(floors.Unavailable, match="grouped or depthwise"):
        floors.make("gemm", cases.ConvCase("g", (1, 5, 5, 4), (3, 3, 4, 1),
                                           depthwise=True), {})


def test_fast_precision_is_passed_only_where_the_keyword_exists(bench, monkeypatch):
    """numconv-fast calls conv2d(..., precision="fast") when conv2d takes the keyword."""
    import numconv
    from benchmarks import peers, subject
    _, cases = bench
    case = cases.ConvCase("p", (1, 5, 5, 2), (3, 3, 2, 3))
    a = case.arrays()
    calls = []

    def conv2d(x, w, strides, padding, dilations=None, *, precision="exact"):
        calls.append(precision)
        return np.zeros(case.result_shape(), np.float32)

    if not subject.HAS_PRECISION:
        with pytest.raises(peers.Unavailable, match="conv2d has no precision= keyword"):
            subject.make(case, a, "fast")
    monkeypatch.setattr(numconv, "conv2d", conv2d)
    subject.make(case, a, "fast")[0]()
    subject.make(case, a)[0]()
    assert calls == ["fast", "exact"]
    with pytest.raises(peers.Unavailable, match="convolutions only"):
        subject.make(cases.PoolCase("q", (1, 4, 4, 1), "MAX", (2, 2), (2, 2), "VALID"),
                     {"x": np.ones((1, 4, 4, 1), np.float32)}, "fast")


def test_a_dead_worker_answers_with_its_reason(bench):
    from benchmarks import measure
    workers, hellos = measure.start_workers(["copy", "no-such-peer"])
    assert set(workers) == {"copy"} and hellos["no-such-peer"]["ready"] is False
    worker = workers["copy"]
    try:
        worker.proc.kill()
        worker.proc.wait()
        reply = worker.ask("time", loops=1, samples=1)
        assert reply["ok"] is False and "worker copy" in reply["why"]
        assert worker.ask("memory") == reply                  # and keeps saying so
    finally:
        worker.close()
