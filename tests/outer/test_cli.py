"""The ``numconv`` command, run in-process through ``numconv.cli.main``.

Expected outputs are derived by hand: SAME ``out = ceil(in / s)``, total pad
``(out - 1) * s + k - in`` split ``P // 2`` before and the rest after; VALID
``out = (in - k + s) // s``.  The bundled photograph is 512 wide and 600 high.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
from helpers import assert_matches, load_golden

import numconv.commands.demo as demo_command
from numconv.cli import COMMANDS, main

PNG = b"\x89PNG\r\n\x1a\n"
FIGURES = ["kernel.png", "filter_detect.png", "pools.png", "extraction.png",
           "translation_invariance.png", "im2col.png"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_error(capsys, argv: list[str], message: str) -> None:
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert out == ""
    assert err == message + "\n"


# --------------------------------------------------------------------------- explain

def test_explain_224_7_2_same(capsys):
    status, out, err = run(capsys, "explain", "--input", "224", "--window", "7", "--stride", "2",
                           "--padding", "SAME")
    assert (status, err) == (0, "")
    # out = ceil(224/2) = 112; P = (112-1)*2 + 7 - 224 = 5 -> 5 // 2 = 2 before, 3 after
    assert out == ("SAME: out = ceil(224/2) = 112; total pad = max((112-1)*2 + 7 - 224, 0) = 5"
                   " -> before 2, after 3\n")


@pytest.mark.parametrize("dims", [["224x224"], ["224", "224"]])
def test_explain_two_dims(capsys, dims):
    status, out, _ = run(capsys, "explain", "--input", *dims, "--window", "7", "3",
                         "--stride", "2", "--padding", "VALID")
    assert status == 0
    # (224 - 7 + 2) // 2 = 109; (224 - 3 + 2) // 2 = 111
    assert out == ("dim 0: VALID: out = (224 - 7 + 2) // 2 = 109; no padding\n"
                   "dim 1: VALID: out = (224 - 3 + 2) // 2 = 111; no padding\n")


def test_explain_explicit_pads_and_dilation(capsys):
    status, out, _ = run(capsys, "explain", "--input", "10", "--window", "3", "--dilation", "2",
                         "--padding", "2,1")
    assert status == 0
    # effective window (3-1)*2 + 1 = 5; out = (10 + 2 + 1 - 5 + 1) // 1 = 9
    assert out == ("effective window = (3-1)*2 + 1 = 5; EXPLICIT: out = (10 + 2 + 1 - 5 + 1) // 1"
                   " = 9; pads before 2, after 1\n")


def test_explain_ceil_mode(capsys):
    status, out, _ = run(capsys, "explain", "--input", "5", "--window", "2", "--stride", "2",
                         "--padding", "VALID", "--ceil-mode")
    assert status == 0
    # ceil((5 - 2) / 2) + 1 = 3 windows, starting at 0, 2, 4: the last reads 1 past the end
    assert out.startswith("VALID ceil_mode: out = ceil((5 + 0 + 0 - 2)/2) + 1 = 3;")
    assert "reads 1 more padding after" in out


@pytest.mark.parametrize("argv, message", [
    (["explain", "--input", "abc", "--window", "2"],
     "numconv explain: error: argument --input: must be an integer or integers joined by 'x' "
     "(such as 224x224), got 'abc'"),
    (["explain", "--input", "5", "--window", "0"],
     "numconv explain: error: explain: window must be positive integers, got (0,)"),
    (["explain", "--window", "2"],
     "numconv explain: error: the following arguments are required: --input"),
    (["explain", "--input", "5", "--window", "2", "--padding", "SAME", "1"],
     "numconv explain: error: --padding: a padding mode (SAME, VALID, ...) must be given "
     "alone, got ['SAME', 1]"),
    (["explain", "--input", "5", "--window", "2", "--padding", "1,2,3"],
     "numconv explain: error: argument --padding: must be SAME, VALID, SAME_LOWER, "
     "SAME_UPPER, a pad p or a pair before,after (such as 2,3), got '1,2,3'"),
    (["explain", "--input", "5", "5", "--window", "2", "2", "2"],
     "numconv explain: error: explain: window must have 1 or 2 elements for 2 spatial dims, "
     "got (2, 2, 2)"),
    # other commands may follow demo and explain in COMMANDS
    ([], "numconv: error: missing command: choose one of " + ", ".join(COMMANDS)
     + " (numconv --help)"),
    (["frobnicate"], "numconv: error: argument COMMAND: invalid choice: 'frobnicate' "
     "(choose from " + ", ".join(repr(c) for c in COMMANDS) + ")"),
])
def test_explain_and_command_errors(capsys, argv, message):
    assert_one_line_error(capsys, argv, message)


# --------------------------------------------------------------------------- help

@pytest.mark.parametrize("argv, first", [
    (["--help"], "usage: numconv [-h] [--version] COMMAND ..."),
    (["demo", "--help"], "usage: numconv demo [-h]"),
    (["explain", "--help"], "usage: numconv explain [-h]"),
])
def test_help(capsys, argv, first):
    status, out, err = run(capsys, *argv)
    assert (status, err) == (0, "")
    assert out.startswith(first)


def test_commands_registered():
    assert COMMANDS[:2] == ["demo", "explain"]


def test_help_lists_kernels_and_commands(capsys):
    assert "bottom_sobel" in run(capsys, "demo", "--help")[1]
    assert "explain" in run(capsys, "--help")[1]


def test_version(capsys):
    import numconv

    assert run(capsys, "--version") == (0, f"numconv {numconv.__version__}\n", "")


def test_python_dash_m():
    out = subprocess.run([sys.executable, "-m", "numconv", "--help"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.startswith("usage: numconv ")
    assert "demo" in out.stdout and "explain" in out.stdout


# --------------------------------------------------------------------------- demo

@pytest.fixture(scope="module")
def photo_demo(tmp_path_factory):
    """`numconv demo` with the defaults, on the bundled photograph (run once).

    Returns the exit status, the printed report, the output directory and the
    DemoResult (recorded on its way to the report), whose figures hold the drawn arrays.
    """
    out_dir = tmp_path_factory.mktemp("demo") / "figures"     # created by the demo
    results, original = [], demo_command.demo

    def recording(*args, **kwargs):
        results.append(original(*args, **kwargs))
        return results[-1]

    stdout = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(stdout):
        mp.setattr(demo_command, "demo", recording, raising=True)
        status = main(["demo", "-o", str(out_dir)])
    return status, stdout.getvalue(), out_dir, results[0] if results else None


def words(text: str) -> list[str]:
    """The lines of ``text`` with runs of spaces collapsed."""
    return [" ".join(line.split()) for line in text.splitlines()]


def test_demo_defaults_on_the_bundled_photo(photo_demo):
    status, out, out_dir, _ = photo_demo
    assert status == 0
    assert sorted(os.listdir(out_dir)) == sorted(FIGURES)
    for name in FIGURES:
        data = (out_dir / name).read_bytes()
        assert data[:8] == PNG and len(data) > 5000
    lines = words(out)
    assert lines[0].startswith("image: ") and lines[0].endswith(
        "grace_hopper.jpg (read as grayscale, float32 in [0, 1])")
    assert lines[1] == "Input (1, 600, 512, 1) image"
    assert lines[2] == ("Filter (1, 600, 512, 1) conv2d, kernel 'edge' 3x3, strides 1, "
                        "padding SAME, algorithm shift")       # one channel in and out
    # 3x3 stride 1 SAME: P = (600-1)*1 + 3 - 600 = 2 -> 1, 1
    assert lines[3] == ("height: SAME: out = ceil(600/1) = 600; total pad = "
                        "max((600-1)*1 + 3 - 600, 0) = 2 -> before 1, after 1")
    assert lines[5] == "Detect (1, 600, 512, 1) relu (elementwise, shape unchanged)"
    # 2x2 stride 2 SAME: 300 x 256, P = (256-1)*2 + 2 - 512 = 0
    assert lines[6] == ("Condense (1, 300, 256, 1) MAX pool 2x2, strides 2, padding SAME, "
                        "algorithm auto")
    assert lines[8] == ("width: SAME: out = ceil(512/2) = 256; total pad = "
                        "max((256-1)*2 + 2 - 512, 0) = 0 -> before 0, after 0")
    # the pools figure's 3x3: P = (300-1)*2 + 3 - 600 = 1 -> before 0, after 1
    assert lines[9] == ("Pool2 (1, 300, 256, 1) MAX pool 3x3, strides 2, padding SAME "
                        "(of Detect; pools figure)")
    assert lines[10] == ("height: SAME: out = ceil(600/2) = 300; total pad = "
                         "max((300-1)*2 + 3 - 600, 0) = 1 -> before 0, after 1")
    assert lines[12] == f"wrote 6 figures to {out_dir}:"
    assert lines[13:] == FIGURES


def test_demo_draws_tensorflows_arrays(photo_demo):
    """The arrays drawn in the figures equal the TF lesson's (data/golden/demo.npz)."""
    result = photo_demo[3]
    golden = load_golden("demo")
    extraction = [np.asarray(ax.images[0].get_array()) for ax in
                  result.figures["extraction"].axes]
    pools = [np.asarray(ax.images[0].get_array()) for ax in result.figures["pools"].axes]
    assert_matches(extraction[0], golden["input"][0, :, :, 0], exact=True)
    assert_matches(extraction[1], golden["filter"][0, :, :, 0], scale=9)   # 9-term sums
    assert_matches(extraction[2], golden["detect"][0, :, :, 0], scale=9)
    assert_matches(extraction[3], golden["pool"][0, :, :, 0], scale=9)
    assert_matches(pools[1], golden["pool"][0, :, :, 0], scale=9)
    assert_matches(pools[2], golden["pool2"][0, :, :, 0], scale=9)
    np.testing.assert_array_equal(
        np.asarray(result.figures["kernel"].axes[0].images[0].get_array()), golden["kernel"])


@pytest.fixture(scope="module")
def dot_demo(tmp_path_factory):
    """demo() on an 8x8 image with one bright pixel at (3, 4)."""
    from numconv.commands.demo import demo

    tmp = tmp_path_factory.mktemp("dot")
    pixels = np.zeros((8, 8), np.uint8)
    pixels[3, 4] = 255
    iio.imwrite(tmp / "dot.png", pixels)
    return demo(str(tmp / "dot.png"), "edge", output=str(tmp / "out"))


def test_demo_draws_the_stages(dot_demo):
    input_ax, filter_ax, detect_ax, condense_ax = dot_demo.figures["extraction"].axes
    v = np.asarray(input_ax.images[0].get_array())[3, 4]    # 255 read as ~1.0
    assert abs(v - 1) < 1e-6
    expected = np.zeros((8, 8))                       # the edge kernel around the dot
    expected[2:5, 3:6] = -v
    expected[3, 4] = 8 * v
    np.testing.assert_allclose(np.asarray(filter_ax.images[0].get_array()), expected,
                               rtol=1e-6)
    np.testing.assert_allclose(np.asarray(detect_ax.images[0].get_array()),
                               np.maximum(expected, 0), rtol=1e-6)
    pooled = np.zeros((4, 4))                         # 2x2 max of relu: 8v in block (1, 2)
    pooled[1, 2] = 8 * v
    for ax in (condense_ax, dot_demo.figures["pools"].axes[1]):
        np.testing.assert_allclose(np.asarray(ax.images[0].get_array()), pooled, rtol=1e-6)
    # 3x3 stride 2 SAME on 8: out 4, P = 3*2 + 3 - 8 = 1 -> (0, 1): the 8 at row/col (3, 4)
    # lies in windows starting at rows 2 (i = 1) and cols 2, 4 (j = 1, 2)
    pool2 = np.zeros((4, 4))
    pool2[1, 1:3] = 8 * v
    np.testing.assert_allclose(np.asarray(dot_demo.figures["pools"].axes[2].images[0]
                                          .get_array()), pool2, rtol=1e-6)
    assert [t.get_text() for t in dot_demo.figures["kernel"].axes[0].texts][4] == "8"


def test_demo_report_lists_the_files(dot_demo):
    lines = words(dot_demo.report())
    assert lines[1] == "Input (1, 8, 8, 1) image"
    assert lines[6] == "Condense (1, 4, 4, 1) MAX pool 2x2, strides 2, padding SAME, algorithm auto"
    assert lines[-7] == f"wrote 6 figures to {dot_demo.output}:"
    assert lines[-6:] == FIGURES
    assert sorted(os.listdir(dot_demo.output)) == sorted(FIGURES)


def test_demo_options(tmp_path, capsys):
    image = tmp_path / "small.png"
    iio.imwrite(image, np.full((20, 14), 128, np.uint8))
    status, out, err = run(capsys, "demo", str(image), "--kernel", "Blur", "--pool", "AVG",
                           "--window", "3", "--stride", "3", "--padding", "valid",
                           "-o", str(tmp_path / "o"))
    assert (status, err) == (0, "")
    lines = words(out)
    assert lines[2] == ("Filter (1, 20, 14, 1) conv2d, kernel 'blur' 3x3, strides 1, "
                        "padding SAME, algorithm shift")
    # VALID: (20 - 3 + 3) // 3 = 6, (14 - 3 + 3) // 3 = 4
    assert lines[6] == ("Condense (1, 6, 4, 1) AVG pool 3x3, strides 3, padding VALID, "
                        "algorithm auto")
    assert lines[7] == "height: VALID: out = (20 - 3 + 3) // 3 = 6; no padding"
    assert not any(line.startswith("Pool2") for line in lines)   # window 3 is the seed's 3
    assert sorted(os.listdir(tmp_path / "o")) == sorted(FIGURES)


def test_demo_on_the_reference_path(tmp_path, capsys):
    image = tmp_path / "small.png"
    iio.imwrite(image, np.arange(80, dtype=np.uint8).reshape(8, 10))
    status, out, err = run(capsys, "demo", str(image), "--algorithm", "reference",
                           "-o", str(tmp_path / "o"))
    assert (status, err) == (0, "")
    lines = words(out)
    assert lines[2] == ("Filter (1, 8, 10, 1) conv2d, kernel 'edge' 3x3, strides 1, "
                        "padding SAME, algorithm reference")
    assert lines[6] == ("Condense (1, 4, 5, 1) MAX pool 2x2, strides 2, padding SAME, "
                        "algorithm reference")


@pytest.mark.parametrize("argv, message", [
    (["demo", "--kernel", "nope"],
     "numconv demo: error: --kernel must be a kernel name, one of 'edge', "),
    (["demo", "--window", "0"],
     "numconv demo: error: argument --window: must be a positive integer, got '0'"),
    (["demo", "--stride", "two"],
     "numconv demo: error: argument --stride: must be a positive integer, got 'two'"),
    (["demo", "--padding", "full"],
     "numconv demo: error: argument --padding: must be one of SAME, VALID, SAME_LOWER, "
     "SAME_UPPER, got 'full'"),
    (["demo", "--pool", "min"],
     "numconv demo: error: argument --pool: invalid choice: 'min' (choose from 'max', 'avg')"),
    (["demo", "--algorithm", "shift"],
     "numconv demo: error: argument --algorithm: invalid choice: 'shift' (choose from 'auto', "
     "'reference')"),
])
def test_demo_argument_errors(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert (status, out) == (2, "")
    assert err.startswith(message) and err.count("\n") == 1


def test_demo_missing_image(tmp_path, capsys):
    missing = tmp_path / "missing.jpg"
    assert_one_line_error(capsys, ["demo", str(missing), "-o", str(tmp_path / "o")],
                          f"numconv demo: error: image must be an existing file, "
                          f"got '{missing}' (no such file)")
    assert not (tmp_path / "o").exists()             # nothing created on bad input


def test_demo_corrupt_image(tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(PNG + b"garbage")
    status, out, err = run(capsys, "demo", str(bad), "-o", str(tmp_path / "o"))
    assert (status, out) == (2, "")
    assert err.startswith("numconv demo: error: image must be a complete JPEG or PNG "
                          "file that can be decoded (")
    assert err.endswith(f"got '{bad}'\n") and err.count("\n") == 1


def test_demo_output_is_a_file(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert_one_line_error(capsys, ["demo", "-o", str(blocker)],
                          f"numconv demo: error: the output must be a directory, not a file: "
                          f"'{blocker}'")
    assert_one_line_error(capsys, ["demo", "-o", str(blocker / "sub")],
                          f"numconv demo: error: cannot create the output directory (Not a "
                          f"directory): '{blocker / 'sub'}'")


def test_demo_output_not_writable(tmp_path, capsys, monkeypatch):
    # root may write anywhere: the probe file the check creates fails as for a user
    import tempfile

    def refused(**kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", refused)
    assert_one_line_error(capsys, ["demo", "-o", str(tmp_path)],
                          "numconv demo: error: the output directory is not writable (creating "
                          f"a file there failed: Permission denied): '{tmp_path}'")


def test_demo_window_too_large_names_the_flag_and_the_detect_stage(tmp_path, capsys):
    # the bundled photograph is 600x512: a VALID 600x600 window leaves nothing to pool
    assert_one_line_error(capsys, ["demo", "--window", "600", "--padding", "VALID", "-o",
                                   str(tmp_path / "o")],
                          "numconv demo: error: --window 600 must fit in the Detect stage it "
                          "pools (600x512, the image's size) with --padding VALID, or the "
                          "pooled map is empty: use --padding SAME or a smaller --window")
    assert not (tmp_path / "o").exists()                  # nothing written


def test_demo_tiny_image_fails_before_writing_anything(tmp_path, capsys):
    image = tmp_path / "tiny.png"
    iio.imwrite(image, np.full((2, 2), 128, np.uint8))
    # the 2x2 window fits, the pools figure's extra 3x3 pool does not: 2 - 3 + 2 < 2
    assert_one_line_error(capsys, ["demo", str(image), "--padding", "VALID", "-o",
                                   str(tmp_path / "o")],
                          "numconv demo: error: the pools figure's extra 3x3 pool must fit in "
                          "the Detect stage it pools (2x2, the image's size) with --padding "
                          "VALID, or the pooled map is empty: use --padding SAME or a larger "
                          "image")
    assert not (tmp_path / "o").exists()
    status, _, err = run(capsys, "demo", str(image), "-o", str(tmp_path / "o"))  # SAME: fine
    assert (status, err) == (0, "")
    assert sorted(os.listdir(tmp_path / "o")) == sorted(FIGURES)


# --------------------------------------------------------------------------- bench

BENCH_ABSENT = ("numconv bench: error: the benchmark suite is not installed with numconv; run "
                "it from a numconv source checkout: pip install -e \".[bench]\" there, then "
                "numconv bench or python -m benchmarks")


@pytest.mark.parametrize("argv", [["bench"], ["bench", "--quick"], ["bench", "--help"],
                                  ["bench", "-h"], ["bench", "--cases", "issue", "--quick"]])
def test_bench_without_the_suite_says_what_to_do_in_one_line(capsys, monkeypatch, argv):
    # as after a plain pip install: the benchmarks package is not importable
    monkeypatch.setitem(sys.modules, "benchmarks", None)
    monkeypatch.setitem(sys.modules, "benchmarks.suite", None)
    assert_one_line_error(capsys, argv, BENCH_ABSENT)


def test_bench_without_the_suite_is_still_listed(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "benchmarks", None)
    monkeypatch.setitem(sys.modules, "benchmarks.suite", None)
    status, out, _ = run(capsys, "--help")
    assert status == 0 and "(needs a source checkout)" in " ".join(out.split())


def test_bench_cases_matching_nothing_is_an_error(capsys):
    pytest.importorskip("benchmarks.suite")
    status, out, err = run(capsys, "bench", "--cases", "nomatch", "--quick", "--no-plots")
    assert (status, out) == (2, "")
    assert err.startswith("numconv bench: error: argument --cases: 'nomatch' matches no case; "
                          "use groups (")
    assert "targets" in err and "vgg" in err and err.count("\n") == 1


def test_bench_help_in_a_checkout_lists_the_options(capsys):
    pytest.importorskip("benchmarks.suite")
    status, out, err = run(capsys, "bench", "--help")
    assert (status, err) == (0, "")
    assert out.startswith("usage: numconv bench [-h] [--quick]")


def test_bench_from_an_installed_copy_says_what_to_do(tmp_path):
    # numconv alone on the path, as after pip install . (no benchmarks/ beside it)
    import shutil

    import numconv
    site = tmp_path / "site"
    shutil.copytree(os.path.dirname(numconv.__file__), site / "numconv",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(site)}
    for argv in (["bench", "--quick"], ["bench", "--help"]):
        done = subprocess.run([sys.executable, "-m", "numconv", *argv], capture_output=True,
                              text=True, env=env, cwd=tmp_path, timeout=120)
        assert (done.returncode, done.stdout, done.stderr) == (2, "", BENCH_ABSENT + "\n")
