"""Files and the command line (issue 7).

* Every bad image file -- missing, a directory, empty, text, truncated anywhere, image
  data shorter than the size, a decompression bomb -- gives one clear error naming
  ``read_image`` and the path, fast and without allocating the claimed image.
* The ``numconv`` command answers any argument list with status 0, or status 2 and a
  one-line ``numconv ...: error: ...`` (never a traceback), also in a subprocess.
* Output files are written whole or not at all: a write that fails half way leaves
  neither a partial file nor a temporary one, and keeps an older file intact.
"""

from __future__ import annotations

import struct
import subprocess
import sys
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from numconv.cli import main
from numconv.config import memory_limit
from numconv.lesson.image import default_image_path, read_image

DATA = Path(__file__).resolve().parents[2] / "data"
MiB = 2**20


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(width: int, height: int, rows: int | None = None) -> bytes:
    """An 8-bit grayscale PNG of zeros whose data holds ``rows`` rows (default all)."""
    rows = height if rows is None else rows
    data = zlib.compress(b"\0" * (width + 1) * rows, 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0,
                                                              0, 0, 0))
            + chunk(b"IDAT", data) + chunk(b"IEND", b""))


# --------------------------------------------------------------------------- image files

def bad_files(tmp: Path) -> dict[str, tuple[Path, type, str]]:
    """name -> (path, exception, message pattern after 'read_image: path ')."""
    jpeg = (DATA / "grace_hopper.jpg").read_bytes()
    good_png = (DATA / "circle.png").read_bytes()
    files = {
        "empty": (b"", ValueError, r"must be a complete JPEG or PNG .*the file is empty"),
        "text": (b"hello, world\n", ValueError, r"must be a complete .*not a known image format"),
        "png header only": (good_png[:8], ValueError, r"must be a complete JPEG or PNG"),
        "short png data": (png(40, 40, 10), ValueError,
                           r"its image data holds 410 of the 1640 bytes .*truncated or corrupt"),
        "bomb 10^10 pixels": (png(100000, 100000, 1), ValueError,
                              r"DecompressionBombError|over the memory limit"),
    }
    for cut in (20, 100, len(good_png) // 2, len(good_png) - 13):
        files[f"png cut at {cut}"] = (good_png[:cut], ValueError, r"must be a complete JPEG")
    for cut in (2, 200, len(jpeg) // 2, len(jpeg) - 2):
        files[f"jpeg cut at {cut}"] = (jpeg[:cut], ValueError, r"must be a complete JPEG")
    out = {}
    for name, (body, exc, pattern) in files.items():
        path = tmp / (name.replace(" ", "_") + (".jpg" if "jpeg" in name else ".png"))
        path.write_bytes(body)
        out[name] = (path, exc, pattern)
    out["missing"] = (tmp / "missing.png", FileNotFoundError, r"must be an existing file")
    out["directory"] = (tmp, IsADirectoryError, r"")
    return out


NAMES = ["empty", "text", "png header only", "short png data", "bomb 10^10 pixels",
         "png cut at 20", "png cut at 100", "png cut at half", "png cut before IEND",
         "jpeg cut at 2", "jpeg cut at 200", "jpeg cut at half", "jpeg cut before EOI",
         "missing", "directory"]


def lookup(files, name):
    aliases = {"png cut at half": "png cut at ", "png cut before IEND": "png cut at ",
               "jpeg cut at half": "jpeg cut at ", "jpeg cut before EOI": "jpeg cut at "}
    if name in files:
        return files[name]
    cuts = sorted((k for k in files if k.startswith(aliases[name])),
                  key=lambda k: int(k.rsplit(" ", 1)[1]))
    return files[cuts[-2] if "half" in name else cuts[-1]]


@pytest.mark.parametrize("name", NAMES)
def test_bad_image_files_give_one_clear_error(name, tmp_path):
    path, exc, pattern = lookup(bad_files(tmp_path), name)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(exc) as info:
            read_image(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert message.startswith("read_image: path "), message
    assert pattern == "" or __import__("re").search(pattern, message), message
    assert str(path) in message
    assert "\n" not in message
    assert peak < 64 * MiB and time.perf_counter() - start < 10


def test_a_bomb_under_pillows_limit_is_refused_by_the_memory_limit(tmp_path):
    """3000x3000 zeros compress to 9 KiB; decoding them needs 206 MiB."""
    path = tmp_path / "bomb.png"
    path.write_bytes(png(3000, 3000))
    assert path.stat().st_size < 64 * 1024
    with memory_limit(64 * MiB):
        with pytest.raises(ValueError, match=r"^read_image: path must be a complete JPEG or PNG "
                                             r"file that can be decoded \(decoding its "
                                             r"3000x3000 pixels needs 206.0 MiB, over the "
                                             r"memory limit of 64.0 MiB"):
            read_image(path)
    assert read_image(path).shape == (3000, 3000, 1)        # the default limit allows it


def test_reading_does_not_change_the_file(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(default_image_path().read_bytes())
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    read_image(path, channels=1)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


# --------------------------------------------------------------------------- the command

TOKENS = ["explain", "demo", "check", "bench", "--input", "--window", "--stride", "--padding",
          "--dilation", "--ceil-mode", "--kernel", "--pool", "-o", "--help", "--version",
          "224", "7", "0", "-3", "2x2", "224x", "x", "abc", "", " ", "SAME", "valid", "1,2",
          "2,", ",", "1,2,3", "99999999999999999999999", "-", "--", "\0", "é", "3.5", "nan"]


def run(capsys, argv):
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def assert_clean(status, out, err):
    assert status in (0, 2), status
    assert "Traceback" not in out + err
    if status == 2:
        lines = err.splitlines()
        assert len(lines) == 1 or lines[0].startswith("usage:"), err
        assert lines[-1].startswith("numconv") and ": error: " in lines[-1], err


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(TOKENS), max_size=8))
def test_explain_answers_any_arguments(capsys, argv):
    status, out, err = run(capsys, ["explain", *argv])
    assert_clean(status, out, err)


# argument lists the other commands refuse before doing any work
REFUSED = [
    ["nosuchcommand"], [], ["--nonsense"],
    ["demo", "--window", "-1"], ["demo", "--padding", "FULL"], ["demo", "--kernel", "nosuch"],
    ["demo", "/no/such/image.png"], ["demo", str(DATA / "make_patterns.py")],
    ["check", "conv2d", "--input", "1x5x5x1", "--filters", "3x3x2x1"],
    ["check", "nope", "--input", "1x5"],
    ["check", "max_pool2d", "--input", "1x5x5x1", "--window", "0"],
    ["check", "conv2d", "--input", "1x5x5x1", "--filters", "3x3x1x1", "--dtype", "int8"],
    ["bench", "--peers", "--nonsense"],
]


@pytest.mark.parametrize("argv", REFUSED, ids=" ".join)
def test_commands_refuse_bad_arguments_in_one_line(capsys, argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, argv)
    assert status == 2
    assert_clean(status, out, err)
    assert list(tmp_path.iterdir()) == []                    # nothing written


def test_demo_cannot_create_its_output_directory(capsys, tmp_path):
    """/proc refuses new directories even to root: a real unwritable place."""
    if not Path("/proc/self").exists():
        pytest.skip("no /proc")
    status, out, err = run(capsys, ["demo", str(DATA / "circle.png"), "-o", "/proc/numconv-out"])
    assert (status, out) == (2, "")
    assert err.startswith("numconv demo: error: ") and err.count("\n") == 1


BENCH_REFUSED = {
    "budget -1": (["--budget", "-1"], "argument --budget: must be a positive number of "
                  "seconds, got -1.0"),
    "budget 0": (["--budget", "0"], "argument --budget: must be a positive number of "
                 "seconds, got 0.0"),
    "budget nan": (["--budget", "nan"], "argument --budget: must be a positive number of "
                   "seconds, got nan"),
    "budget inf": (["--budget", "inf", "--quick"], "argument --budget: must be a positive "
                   "number of seconds, got inf"),
    "output uncreatable": (["--output", "/proc/numconv-out"], "cannot create the output "
                           "directory"),
    "output unwritable": (["--output", "/proc"], "the output directory is not writable"),
    "output a file": (["--output", "FILE"], "the output must be a directory, not a file"),
}


@pytest.mark.parametrize("case", BENCH_REFUSED)
def test_bench_refuses_bad_options_before_running(capsys, case, tmp_path, monkeypatch):
    """Checked up front: a bad --budget or --output never costs a benchmark run."""
    from numconv.commands import bench
    suite = bench._suite()
    if isinstance(suite, str):                    # why the suite is absent
        pytest.skip("not a source checkout: no benchmarks/")
    argv, message = BENCH_REFUSED[case]
    if "/proc" in argv[1] and not Path("/proc/self").exists():
        pytest.skip("no /proc")
    (tmp_path / "FILE").write_text("x")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(suite, "main", lambda **kw: pytest.fail("the suite ran"))
    status, out, err = run(capsys, ["bench", *argv])
    assert (status, out) == (2, "")
    assert_clean(status, out, err)
    assert err.startswith(f"numconv bench: error: {message}")
    assert [p.name for p in tmp_path.iterdir()] == ["FILE"]     # nothing written


def test_bad_arguments_in_a_subprocess():
    proc = subprocess.run([sys.executable, "-m", "numconv", "explain", "--input", "abc",
                           "--window", "3"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("numconv explain: error: argument --input: ")


# --------------------------------------------------------------------------- whole files

class DiskFull(OSError):
    pass


def test_save_figure_writes_whole_files_or_nothing(tmp_path, monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from numconv.viz import save_figure
    fig = Figure()
    fig.add_subplot().plot([0, 1])
    target = tmp_path / "plot.png"
    save_figure(fig, target)
    old = target.read_bytes()
    assert old.startswith(b"\x89PNG")

    def half_then_fail(fh, **kwargs):
        fh.write(old[: len(old) // 2])
        raise DiskFull(28, "No space left on device")

    monkeypatch.setattr(fig, "savefig", half_then_fail)
    with pytest.raises(DiskFull):
        save_figure(fig, target)
    assert target.read_bytes() == old                     # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["plot.png"]   # no temporary left

    def interrupted(fh, **kwargs):
        fh.write(b"\x89PNG partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(fig, "savefig", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_figure(fig, tmp_path / "new.png")
    assert [p.name for p in tmp_path.iterdir()] == ["plot.png"]


def test_demo_failing_half_way_leaves_only_whole_files(capsys, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure
    real = Figure.savefig
    calls = []

    def third_fails(self, fh, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            fh.write(b"\x89PNG\r\n\x1a\n half")
            raise DiskFull(28, "No space left on device")
        return real(self, fh, **kwargs)

    monkeypatch.setattr(Figure, "savefig", third_fails)
    out_dir = tmp_path / "out"
    status, out, err = run(capsys, ["demo", str(DATA / "dots_near.png"), "-o", str(out_dir)])
    assert status == 2
    assert err.startswith("numconv demo: error: ") and "No space left" in err and \
        err.count("\n") == 1
    files = sorted(p.name for p in out_dir.iterdir())
    assert len(files) == 2 and all(not f.startswith(".") for f in files)
    for f in files:
        from PIL import Image
        with Image.open(out_dir / f) as im:
            im.load()                                     # complete PNGs
    assert np.all([(out_dir / f).stat().st_size > 1000 for f in files])
