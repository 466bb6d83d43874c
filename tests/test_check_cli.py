"""``numconv check``: the report, ``--explain-port``, errors, and every known divergence named."""

from __future__ import annotations

import json
import os

import pytest

from numconv.cli import main
from numconv.crosscheck import DIVERGENCES, FRAMEWORKS

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
MODULES = {"tf": "tensorflow", "keras": "keras", "torch": "torch", "jax": "jax"}
#: the versions the divergences were measured on
MEASURED = {"tensorflow": "2.21.", "keras": "3.15.", "torch": "2.13."}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(["check", *argv])
    out, err = capsys.readouterr()
    return status, out, err


# --------------------------------------------------------------------------- no framework needed

def test_explain_port_prints_target_code(capsys):
    status, out, err = run(capsys, "--explain-port", "tf->torch", "conv2d", "--input",
                           "1x224x224x3", "--filters", "7x7x3x64", "--strides", "2",
                           "--padding", "SAME")
    assert (status, err) == (0, "")
    assert "# geometry: dim 0: out 112, pads (2, 3); dim 1: out 112, pads (2, 3)" in out
    assert "    x = F.pad(x, (2, 3, 2, 3))" in out
    assert "    y = F.conv2d(x, w, None, stride=(2, 2), padding=0" in out
    assert "#   [torch-same-symmetric]" in out


def test_explain_port_states_what_cannot_be_expressed(capsys):
    status, out, _ = run(capsys, "--explain-port", "tf:torch", "avg_pool2d", "--input",
                         "1x8x8x1", "--window", "4", "--padding", "SAME")
    assert status == 0
    assert "# cannot express this configuration: PyTorch's avg pool can leave out of the " \
           "count only its own symmetric padding" in out


def test_bad_op_is_one_line_exit_2(capsys):
    status, out, err = run(capsys, "conv9d", "--input", "1x4x4x1")
    assert (status, out) == (2, "")
    assert err.startswith("numconv check: error: argument OP: must be one of conv1d, conv2d,")
    assert err.endswith(", got 'conv9d'\n") and err.count("\n") == 1
    assert err.count("numconv check") == 1                    # the prefix once


@pytest.mark.parametrize("shape", ["100000x100000x100000x3",            # 60 PiB
                                   "100000000000x100000000000x100000000000x3"])  # > 2**63 B
def test_absurd_input_shape_meets_the_memory_limit_exit_2(capsys, shape):
    status, out, err = run(capsys, "conv2d", "--input", shape, "--filters", "3x3x3x1",
                           "--against", "tf")
    assert (status, out) == (2, "")
    assert err.startswith("numconv check: error: compare: config's input, filter and output "
                          "shapes must keep the memory this call needs under the limit of ")
    assert "(numconv.config.memory_limit), got " in err and err.count("\n") == 1


def test_absurd_shape_can_still_be_ported(capsys):
    # --explain-port allocates nothing: a shape too large to run is still described
    status, out, err = run(capsys, "--explain-port", "tf->torch", "conv2d", "--input",
                           "100000000000x100000000000x100000000000x3", "--filters", "3x3x3x1")
    assert (status, err) == (0, "")
    assert "input (100000000000, 100000000000, 100000000000, 3)" in out


@pytest.mark.parametrize("option, message", [
    (["--seed", "-1"], "compare: seed must be >= 0, got -1"),
    (["--nan", "2"], "compare: nan_fraction must lie in [0, 1], got 2.0"),
])
def test_bad_numbers_are_refused_before_any_framework_runs(capsys, option, message):
    status, out, err = run(capsys, "relu", "--input", "4", "--against", "tf", *option)
    assert (status, out, err) == (2, "", f"numconv check: error: {message}\n")


def test_bad_framework_is_one_line_exit_2(capsys):
    status, _, err = run(capsys, "relu", "--input", "4", "--against", "caffe")
    assert status == 2
    assert "compare: against must name frameworks among jax, keras, tf, torch" in err


def test_missing_framework_names_the_extra_exit_2(capsys, monkeypatch):
    monkeypatch.setitem(FRAMEWORKS, "torch", ("PyTorch", "numconv_missing_torch", "torch"))
    status, out, err = run(capsys, "relu", "--input", "4", "--against", "torch")
    assert (status, out) == (2, "")
    assert err == ("numconv check: error: compare: torch is not installed (no module "
                   "'numconv_missing_torch'); pip install numconv[torch]\n")


# --------------------------------------------------------------------------- live

def test_issue_example_prints_the_report(capsys):
    for module in ("tensorflow", "torch", "jax"):
        pytest.importorskip(module)
    status, out, _ = run(capsys, "conv2d", "--input", "8x56x56x64", "--filters", "3x3x64x64",
                         "--strides", "2", "--padding", "SAME", "--against", "tf,torch,jax")
    assert status == 0
    lines = out.splitlines()
    assert lines[1].startswith("geometry: dim 0: out 28, pads (0, 1); dim 1: out 28, pads (0, 1)")
    header = next(line for line in lines if line.lstrip().startswith("status"))
    assert header.split()[:4] == ["status", "max", "abs", "max"]
    for name in ("numconv", "tf", "torch", "jax"):
        assert any(line.startswith(name + " ") and " ok " in line for line in lines), name
    assert "[torch-same-symmetric] (torch)" in out


def test_json_report(capsys):
    pytest.importorskip("torch")
    status, out, _ = run(capsys, "max_pool1d", "--input", "2x9x3", "--window", "3",
                         "--strides", "2", "--padding", "SAME", "--against", "torch", "--json")
    data = json.loads(out)
    assert status == 0 and data["frameworks"]["torch"]["status"] == "ok"
    assert data["frameworks"]["torch"]["stats"]["ulp_max"] == 0.0


#: a command line per known divergence: (framework, argv)
DIVERGENCE_COMMANDS = {
    "tf-max-pool-nan": ("tf", "max_pool2d --input 1x8x8x3 --window 2 --strides 2 --nan 0.3"),
    "tf-valid-window-larger": ("tf", "conv2d --input 1x2x2x1 --filters 3x3x1x1"),
    "tf-depthwise-stride-dilation": ("tf", "depthwise_conv2d --input 2x9x10x4 --filters "
                                           "3x3x4x2 --strides 3 --dilations 2 --padding SAME"),
    "tf-conv3d-same-negative-pad": ("tf", "conv3d --input 2x6x6x6x4 --filters 1x1x1x4x3 "
                                          "--strides 3x1x1 --padding SAME --dtype float64"),
    "tf-max-pool2d-dtype": ("tf", "max_pool2d --input 1x9x10x2 --window 4 --strides 1x3 "
                                  "--padding SAME --dtype float64"),
    "keras-channels-first-bias": ("keras", "conv2d --input 2x2x3x9 --filters 1x3x2x3 "
                                           "--strides 1x3 --padding SAME --data-format NCHW "
                                           "--bias"),
    "tf-leaky-relu-alpha": ("keras", "leaky_relu --input 2x5x7 --alpha 0.1 --dtype float64"),
    "torch-same-symmetric": ("torch", "conv2d --input 1x8x8x2 --filters 3x3x2x2 --strides 2 "
                                      "--padding SAME"),
    "torch-avg-count-include-pad": ("torch", "avg_pool2d --input 1x6x6x1 --window 3 "
                                             "--strides 2 --padding SAME"),
    "torch-ceil-mode-not-same": ("torch", "max_pool2d --input 1x7x7x1 --window 3 --strides 2 "
                                          "--padding SAME"),
    "torch-size1-channel-stride": ("torch", "conv2d --input 2x8x4x1 --filters 3x3x1x1 "
                                            "--strides 1x3"),
    "onednn-float32-order": ("tf", "conv2d --input 1x6x6x2 --filters 3x3x2x2"),
    "jax-float64-needs-x64": ("jax", "relu --input 3x4 --dtype float64"),
}


def test_every_divergence_has_a_command():
    assert set(DIVERGENCE_COMMANDS) == set(DIVERGENCES)


@pytest.mark.parametrize("divergence", sorted(DIVERGENCE_COMMANDS))
def test_check_prints_and_names_each_known_divergence(capsys, divergence):
    framework, argv = DIVERGENCE_COMMANDS[divergence]
    pytest.importorskip(MODULES[framework])
    if divergence == "tf-valid-window-larger":
        from numconv.crosscheck._tf import onednn_on
        if not onednn_on():
            pytest.skip("oneDNN is off: TF gives the right empty result")
    status, out, _ = run(capsys, *argv.split(), "--against", framework)
    summary = DIVERGENCES[divergence].summary
    assert f"[{divergence}] ({framework}) {summary}" in out
    module = MODULES[framework]
    version = __import__(module).__version__
    if module in MEASURED and version.startswith(MEASURED[module]):   # the measured bug shows
        changes = DIVERGENCES[divergence].changes_result
        assert status == (1 if changes and divergence not in _AVOIDED else 0), out


#: divergences the translation steps around (only a naive port meets them)
_AVOIDED = {"torch-same-symmetric", "torch-avg-count-include-pad", "torch-ceil-mode-not-same",
            "torch-size1-channel-stride"}
