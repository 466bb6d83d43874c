"""numconv.viz: figures are produced headless, are not blank, and draw the right things.

Expected titles, shapes, numbers and windows are derived by hand in the tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

from numconv import viz

EDGE = [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]


def _rc() -> dict:
    # dict.items reads the raw values: RcParams.__getitem__ would resolve the backend
    return dict(dict.items(matplotlib.rcParams))


@pytest.fixture(autouse=True)
def rc_unchanged():
    """Every figure function leaves matplotlib's global rcParams as they were."""
    before = _rc()
    yield
    assert _rc() == before


def rendered(fig: Figure) -> np.ndarray:
    """Draw on the figure's own Agg canvas; the RGBA pixels."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())


def assert_not_blank(fig: Figure) -> None:
    assert isinstance(fig, Figure)
    rgb = rendered(fig)[..., :3].astype(float)
    assert rgb.shape[0] > 50 and rgb.shape[1] > 50
    assert rgb.var() > 100                     # a blank (one-colour) canvas has 0


def titles(fig: Figure) -> list[str]:
    return [ax.get_title() for ax in fig.axes]


def drawn(ax) -> np.ndarray:
    return np.asarray(ax.images[0].get_array())


def assert_centred(ax) -> None:
    """The panel is drawn on a diverging colour map whose limits are symmetric about 0."""
    norm = ax.images[0].norm
    assert ax.images[0].get_cmap().name == "RdBu_r"
    assert norm.vmax > 0 and norm.vmin == -norm.vmax


def assert_colour_bars(fig: Figure) -> None:
    """Every colour-mapped image (not RGB) whose values are not written in its cells has a
    colour bar, drawn for that image."""
    checked = 0
    for ax in fig.axes:
        for image in ax.images:
            if np.ndim(image.get_array()) == 3 or ax.texts:
                continue
            assert image.colorbar is not None, ax.get_title()
            assert image.colorbar.mappable is image
            checked += 1
    assert checked > 0


# --------------------------------------------------------------------------- show_kernel

def test_show_kernel_writes_the_kernels_values_in_their_cells():
    fig = viz.show_kernel(EDGE)
    assert_not_blank(fig)
    (ax,) = fig.axes
    texts = ax.texts
    assert [t.get_text() for t in texts] == ["-1", "-1", "-1", "-1", "8", "-1", "-1", "-1", "-1"]
    assert [t.get_position() for t in texts] == [(j, i) for i in range(3) for j in range(3)]
    np.testing.assert_array_equal(drawn(ax), EDGE)
    assert ax.get_xticks().size == 0 and ax.get_yticks().size == 0


def test_show_kernel_text_colours_contrast_with_the_cells():
    cmap = matplotlib.colormaps["Blues_r"]
    texts = viz.show_kernel(EDGE).axes[0].texts
    # threshold (8 + -1) / 2 = 3.5: only the 8 is above it
    assert [t.get_color() for t in texts] == [cmap(255)] * 4 + [cmap(0)] + [cmap(255)] * 4


def test_show_kernel_title_names_the_kernel_and_its_shape():
    assert viz.show_kernel(EDGE).axes[0].get_title() == "Kernel: 3x3"
    assert viz.show_kernel(np.ones((2, 5)), name="box").axes[0].get_title() == "Kernel: box 2x5"
    assert viz.show_kernel("Bottom-Sobel").axes[0].get_title() == "Kernel: bottom_sobel 3x3"


def test_show_kernel_values_rounded_to_3_significant_digits():
    texts = [t.get_text() for t in viz.show_kernel("blur").axes[0].texts]
    assert texts == ["0.111"] * 9                  # float32(1/9) = 0.111111...
    texts = [t.get_text() for t in viz.show_kernel([[2 / 3, 1234.5, 1e-5 / 3]]).axes[0].texts]
    assert texts == ["0.667", "1.23e+03", "3.33e-06"]


def test_show_kernel_fractions_and_float32():
    k = np.array([[0.5, 0.25], [0.125, -0.75]], np.float32)
    texts = [t.get_text() for t in viz.show_kernel(k).axes[0].texts]
    assert texts == ["0.5", "0.25", "0.125", "-0.75"]


def test_show_kernel_digits_and_size():
    texts = viz.show_kernel([[1 / 3, 2 / 3]], digits=2, text_size=10).axes[0].texts
    assert [t.get_text() for t in texts] == ["0.33", "0.67"]
    assert [t.get_fontsize() for t in texts] == [10, 10]


def test_show_kernel_without_labels_accepts_filter_layout():
    fig = viz.show_kernel(np.ones((5, 5, 1, 1)) / 25, label=False)
    assert len(fig.axes[0].texts) == 0
    assert drawn(fig.axes[0]).shape == (5, 5)
    assert_colour_bars(fig)                         # no values written: a colour bar


def test_show_kernel_draws_into_a_given_axes():
    fig = Figure()
    ax = fig.add_subplot(1, 2, 2)
    assert viz.show_kernel(EDGE, ax=ax) is fig
    assert fig.axes == [ax] and len(ax.texts) == 9


# --------------------------------------------------------------------------- rows of stages

def test_show_stages_titles_carry_the_shapes():
    fig = viz.show_stages([("Input", np.zeros((4, 6))), ("RGB", np.ones((1, 4, 6, 3)) / 2),
                           ("Many", np.ones((4, 6, 5)))])
    assert titles(fig) == ["Input\n(1, 4, 6, 1)", "RGB\n(1, 4, 6, 3)",
                           "Many\n(1, 4, 6, 5) (mean of 5 channels)"]
    assert drawn(fig.axes[1]).shape == (4, 6, 3)
    assert fig.axes[0].images[0].get_cmap().name == "gray"
    assert fig.axes[2].images[0].get_cmap().name == "magma"      # no negatives: the style's
    assert fig.axes[2].images[0].norm.vmin == 0
    assert fig.axes[1].images[0].colorbar is None                # RGB: no colour bar
    assert_colour_bars(fig)


def test_show_stages_signed_values_share_a_scale_centred_on_zero():
    signed = np.linspace(-4, 4, 24).reshape(4, 6)
    fig = viz.show_stages([("Input", np.eye(4)), ("Signed", signed),
                           ("Positive", np.maximum(signed, 0))])
    assert fig.axes[0].images[0].get_cmap().name == "gray"
    for ax in fig.axes[1:]:
        assert_centred(ax)
    assert fig.axes[1].images[0].norm.vmax == fig.axes[2].images[0].norm.vmax
    # 99.5th percentile of the 48 nonzero magnitudes (|signed| twice over, then its
    # positive half), by numpy's linear interpolation rule
    nonzero = np.abs(np.concatenate([signed.ravel(), np.maximum(signed, 0).ravel()]))
    nonzero = np.sort(nonzero[nonzero > 0])
    rank = 0.995 * (nonzero.size - 1)
    lo = int(rank)
    expected = nonzero[lo] + (rank - lo) * (nonzero[lo + 1] - nonzero[lo])
    assert fig.axes[1].images[0].norm.vmax == pytest.approx(expected, rel=1e-12)


def test_show_stages_a_few_large_values_do_not_flatten_the_rest():
    x = np.tile(np.linspace(-1, 1, 50), (50, 1))
    x[0, 0] = -100.0                                # one outlier
    fig = viz.show_stages([("Filter", x)])
    norm = fig.axes[0].images[0].norm
    assert 0.99 <= norm.vmax <= 1.0 and norm.vmin == -norm.vmax
    assert fig.axes[0].images[0].colorbar.extend == "min"      # the outlier is clipped


def test_show_stages_resolution_stays_within_the_pixel_bounds():
    x = np.zeros((800, 800))
    x[::2] = 1
    fig = viz.show_stages([("Detect", x)] * 12)        # 12 panels: about 59 inches wide
    width, height = fig.get_size_inches() * fig.dpi
    assert width <= 10_000 and width * height <= 25_000_000
    assert fig.dpi > 100                                # raised as far as the bound allows
    assert {ax.images[0].get_interpolation() for ax in fig.axes} == {"antialiased"}
    big = viz.show_stages([("Detect", np.zeros((2000, 2000)))])   # 4 inches: 500 dpi needed
    assert big.dpi == 300
    assert big.axes[0].images[0].get_interpolation() == "antialiased"


def test_show_stages_draws_every_array_pixel_on_a_device_pixel():
    x = np.zeros((600, 512))
    x[::2] = 1                                      # one-pixel stripes
    fig = viz.show_stages([("Input", x), ("Filter", -x), ("Detect", x)])
    for ax in fig.axes:
        box = ax.get_window_extent()
        assert box.width >= 512 and box.height >= 600
        assert ax.images[0].get_interpolation() == "nearest"
    saved = rendered(fig)
    assert saved.shape[0] >= 600 and saved.shape[1] >= 3 * 512


def test_show_extraction_row():
    image = np.zeros((10, 7))
    image[4, 3] = 0.5
    fig = viz.show_extraction(image, EDGE, pool_size=3, pool_stride=2, pool_padding="VALID")
    assert_not_blank(fig)
    # conv SAME stride 1 keeps 10x7; VALID 3x3 stride 2: (10-3+2)//2 = 4, (7-3+2)//2 = 3
    assert titles(fig) == ["Input\n(1, 10, 7, 1)", "Filter: conv2d 3x3/1 SAME\n(1, 10, 7, 1)",
                           "Detect: ReLU\n(1, 10, 7, 1)",
                           "Condense: MAX 3x3/2 VALID\n(1, 4, 3, 1)"]
    assert_colour_bars(fig)
    for ax in fig.axes[1:]:                          # Filter has negatives: all centred
        assert_centred(ax)
    filtered = np.zeros((10, 7))                     # the kernel, times 0.5, around (4, 3)
    filtered[3:6, 2:5] = -0.5
    filtered[4, 3] = 4.0
    np.testing.assert_array_equal(drawn(fig.axes[1]), filtered)
    np.testing.assert_array_equal(drawn(fig.axes[2]), np.maximum(filtered, 0))
    condensed = np.zeros((4, 3))                     # windows rows 2-4 and 4-6, cols 2-4
    condensed[1:3, 1] = 4.0
    np.testing.assert_array_equal(drawn(fig.axes[3]), condensed)


def test_show_filter_detect_row():
    fig = viz.show_filter_detect(np.eye(5), [[1, -1]], conv_stride=2, activation=None)
    # SAME stride 2: ceil(5/2) = 3
    assert titles(fig) == ["Input\n(1, 5, 5, 1)", "Filter: conv2d 1x2/2 SAME\n(1, 3, 3, 1)",
                           "Detect: none (= Filter)\n(1, 3, 3, 1)"]
    # 1x2 window, SAME pad (0, 1) per row: out[i, j] = x[2i, 2j] - x[2i, 2j+1]
    np.testing.assert_array_equal(drawn(fig.axes[1]), np.eye(3))
    np.testing.assert_array_equal(drawn(fig.axes[2]), np.eye(3))          # no activation


@pytest.mark.parametrize("kernel, stride, padding, activation, expected", [
    ("edge", 1, "SAME", "relu", ["Filter: conv2d edge 3x3/1 SAME", "Detect: ReLU"]),
    ("Bottom_Sobel", (2, 1), "VALID", "relu6",
     ["Filter: conv2d bottom_sobel 3x3/2x1 VALID", "Detect: ReLU6"]),
    ([[1, 2]], 3, [[0, 1], [1, 0]], "leaky_relu",
     ["Filter: conv2d 1x2/3 explicit pads (0,1),(1,0)", "Detect: leaky ReLU (alpha 0.2)"]),
])
def test_filter_detect_titles_name_the_operations(kernel, stride, padding, activation, expected):
    fig = viz.show_filter_detect(np.eye(9), kernel, stride, padding, activation)
    named = [" ".join(t.splitlines()[:-1]) for t in titles(fig)]     # wrapped to 32 columns
    assert named == ["Input", *expected]
    assert all(len(line) <= 32 for t in titles(fig) for line in t.splitlines())


def test_filter_panel_is_centred_on_zero_for_the_lessons_edge_kernel():
    rng = np.random.default_rng(0)
    fig = viz.show_filter_detect(rng.random((40, 30)), "edge")
    filtered = drawn(fig.axes[1])
    assert filtered.min() < 0 < filtered.max()
    assert_centred(fig.axes[1])
    assert_centred(fig.axes[2])                       # Detect on the same scale
    assert fig.axes[1].images[0].norm.vmax == fig.axes[2].images[0].norm.vmax


def test_show_pools_draws_the_pooled_maps():
    x = np.arange(16.0).reshape(4, 4)
    fig = viz.show_pools(x)                                  # 2x2 and 3x3, stride 2, SAME
    assert_not_blank(fig)
    assert titles(fig) == ["Detect\n(1, 4, 4, 1)", "Pool: MAX 2x2/2 SAME\n(1, 2, 2, 1)",
                           "Pool2: MAX 3x3/2 SAME\n(1, 2, 2, 1)"]
    assert_colour_bars(fig)
    np.testing.assert_array_equal(drawn(fig.axes[0]), x)
    # 2x2 blocks: max of [[0,1],[4,5]] = 5, ...
    np.testing.assert_array_equal(drawn(fig.axes[1]), [[5, 7], [13, 15]])
    # 3x3 SAME, pad (0, 1): windows rows/cols 0-2 and 2-3
    np.testing.assert_array_equal(drawn(fig.axes[2]), [[10, 11], [14, 15]])


def test_show_pools_valid_average():
    fig = viz.show_pools(np.ones((9, 12)), windows=[3], strides=2, padding="VALID",
                         pooling_type="avg")
    # VALID: (9 - 3 + 2) // 2 = 4, (12 - 3 + 2) // 2 = 5
    assert titles(fig)[1] == "Pool: AVG 3x3/2 VALID\n(1, 4, 5, 1)"
    np.testing.assert_array_equal(drawn(fig.axes[1]), np.ones((4, 5)))


# --------------------------------------------------------------------------- invariance

def test_translation_invariance_near_pair_merges_far_pair_stays_apart():
    near, far = np.zeros((32, 32)), np.zeros((32, 32))
    near[16, [16, 18]] = 1       # columns 16, 18 -> 8, 9 -> 4, 4 (one pixel)
    far[16, [2, 29]] = 1         # columns 2, 29 -> 1, 14 -> 0, 7 -> 0, 3
    fig = viz.show_translation_invariance(near, far, steps=3)
    assert_not_blank(fig)
    assert len(fig.axes) == 8
    assert [t.splitlines()[0] for t in titles(fig)[:4]] == [
        "input 32x32", "pooled x1 16x16", "pooled x2 8x8", "pooled x3 4x4"]
    assert [t.splitlines()[1] for t in titles(fig)] == (
        ["2 bright pixels"] * 2 + ["1 bright pixel"] * 2 + ["2 bright pixels"] * 4)
    assert fig.axes[0].get_ylabel() == "near pair" and fig.axes[4].get_ylabel() == "far pair"
    expected = np.zeros((4, 4))
    expected[2, [0, 3]] = 1      # row 16 -> 8 -> 4 -> 2
    np.testing.assert_array_equal(drawn(fig.axes[7]), expected)
    assert fig.get_suptitle() == ("MAX pooling 2x2/2 SAME, repeated\nnear dots merge after 2 "
                                  "poolings, far dots stay apart after 3 poolings")
    assert_colour_bars(fig)


def test_translation_invariance_caption_follows_the_counts():
    near, far = np.zeros((8, 8)), np.zeros((8, 8))
    near[4, 4] = 1               # one dot: one pixel from the start
    far[4, [1, 6]] = 1           # columns 1, 6 -> 0, 3 -> 0, 1 -> 0: merged after 3
    fig = viz.show_translation_invariance(near, far, steps=3, pooling_type="avg")
    assert fig.get_suptitle().splitlines() == [
        "AVG pooling 2x2/2 SAME, repeated",
        "near dots are one pixel from the start, far dots merge after 3 poolings"]


def test_translation_invariance_default_dots():
    fig = viz.show_translation_invariance()         # 64x64, 2 and 31 apart, 3 poolings
    counts = [int(t.splitlines()[1].split()[0]) for t in titles(fig)]
    # near: columns 32, 34 -> 16, 17 -> 8, 8; far: 16, 47 -> 8, 23 -> 4, 11 -> 2, 5
    assert counts == [2, 2, 1, 1] + [2, 2, 2, 2]
    for ax in fig.axes:                              # no dot on a border of any map
        bright = np.argwhere(drawn(ax))
        n = drawn(ax).shape[0]
        assert bright.min() > 0 and bright.max() < n - 1, ax.get_title()
    assert "far dots stay apart" in fig.get_suptitle()


# --------------------------------------------------------------------------- im2col

def highlight(ax):
    (rect,) = [p for p in ax.patches if p.get_gid() == "highlight"]
    return rect


@pytest.mark.parametrize("window, stride, padding, position", [
    (3, 1, "VALID", (1, 2)),
    ((2, 3), (2, 1), "VALID", (1, 3)),
    (3, 2, "SAME", (2, 2)),        # 6x6, window 3, stride 2: out 3, pad (0, 1)
])
def test_show_im2col_highlights_the_window_and_its_row(window, stride, padding, position):
    image = np.arange(36.0).reshape(6, 6)
    fig = viz.show_im2col(image, window, stride, padding, highlight=position)
    assert_not_blank(fig)
    ax_img, ax_mat = fig.axes
    kh, kw = (window, window) if isinstance(window, int) else window
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    i, j = position
    padded = np.pad(image, ((0, 1), (0, 1))) if padding == "SAME" else image
    expected = padded[i * sh:i * sh + kh, j * sw:j * sw + kw].ravel()
    row = highlight(ax_mat).get_y() + 0.5
    assert row == int(row)
    np.testing.assert_array_equal(drawn(ax_mat)[int(row)], expected)
    np.testing.assert_array_equal(drawn(ax_img), padded)
    rect = highlight(ax_img)
    assert (rect.get_x(), rect.get_y(), rect.get_width(), rect.get_height()) == (
        j * sw - 0.5, i * sh - 0.5, kw, kh)
    assert highlight(ax_mat).get_width() == kh * kw


def test_show_im2col_colour_bars_when_values_are_not_written():
    fig = viz.show_im2col(np.arange(400.0).reshape(20, 20))
    assert all(len(ax.texts) == 0 for ax in fig.axes)
    assert_colour_bars(fig)
    small = viz.show_im2col()                        # values in the cells: no colour bar
    assert all(ax.texts and ax.images[0].colorbar is None for ax in small.axes)


def test_show_im2col_default_image_and_titles():
    fig = viz.show_im2col()
    assert titles(fig) == ["image 6x6\nwindow 3x3 at (0, 0)", "patch matrix 16x9\nrow 0"]
    np.testing.assert_array_equal(drawn(fig.axes[1])[0], [0, 1, 2, 6, 7, 8, 12, 13, 14])
    assert fig.axes[0].texts[7].get_text() == "7"


# --------------------------------------------------------------------------- saving

def test_save_figure_writes_a_png_and_no_temporary_file(tmp_path):
    path = viz.save_figure(viz.show_kernel(EDGE), tmp_path / "kernel.png")
    assert path == str(tmp_path / "kernel.png")
    assert (tmp_path / "kernel.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert os.listdir(tmp_path) == ["kernel.png"]


def test_save_figure_failure_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "fig.png"
    target.write_bytes(b"old")
    fig = viz.show_kernel(EDGE)

    def broken(fh, **kwargs):
        fh.write(b"\x89PNG partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(fig, "savefig", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        viz.save_figure(fig, target)
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["fig.png"]


def test_save_figure_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        viz.save_figure(viz.show_kernel(EDGE), tmp_path / "missing" / "k.png")


def test_headless_without_pyplot_or_display(tmp_path):
    code = ("import sys, json, numpy as np; from numconv import viz; "
            "viz.save_figure(viz.show_im2col(), sys.argv[1]); "
            "print(json.dumps('matplotlib.pyplot' in sys.modules))")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MPLBACKEND")}
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "a.png")], env=env,
                         capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) is False
    assert (tmp_path / "a.png").stat().st_size > 1000


# --------------------------------------------------------------------------- display

PNG = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    assert data[:8] == PNG
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_returned_figures_have_a_png_for_jupyter():
    fig = viz.show_filter_detect(np.eye(6), "edge")
    width, height = fig.get_size_inches() * fig.dpi
    assert png_size(fig._repr_png_()) == (round(width), round(height))


def test_ipython_displays_a_returned_figure_as_png():
    formatters = pytest.importorskip("IPython.core.formatters")
    data, _ = formatters.DisplayFormatter().format(viz.show_kernel("edge"))
    assert data["image/png"][:8] == PNG


def test_show_in_a_notebook_is_ipythons_display(monkeypatch):
    shown = []
    kernel_shell = types.SimpleNamespace(kernel=object())
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: kernel_shell
    fake_display = types.ModuleType("IPython.display")
    fake_display.display = shown.append
    monkeypatch.setitem(sys.modules, "IPython", fake)
    monkeypatch.setitem(sys.modules, "IPython.display", fake_display)
    fig = viz.show_kernel("edge")
    viz.show(fig)
    fig.show()
    assert shown == [fig, fig]


SHOW_HEADLESS = """
import json, sys, warnings
import matplotlib
from numconv import viz
fig = viz.show_kernel("edge")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    {call}
import matplotlib.pyplot as plt
print(json.dumps({{"warnings": [str(w.message) for w in caught],
                  "categories": [w.category.__name__ for w in caught],
                  "pyplot figures": plt.get_fignums()}}))
"""


@pytest.mark.parametrize("call", ["viz.show(fig)", "fig.show()"])
def test_show_without_a_display_says_how_to_save(call, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["MPLBACKEND"] = "Agg"
    out = subprocess.run([sys.executable, "-c", SHOW_HEADLESS.format(call=call)], env=env,
                         capture_output=True, text=True, check=True, cwd=tmp_path)
    report = json.loads(out.stdout)
    assert report["categories"] == ["UserWarning"]
    assert report["warnings"][0].startswith("show: matplotlib's backend 'Agg' cannot open a "
                                            "window")
    assert "numconv.viz.save_figure(fig, 'figure.png')" in report["warnings"][0]
    assert report["pyplot figures"] == []              # pyplot keeps no reference


FAKE_GUI = """
from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg

SHOWN = []


class FigureManager(FigureManagerBase):
    def show(self):
        SHOWN.append(self.canvas.figure)

    @classmethod
    def start_main_loop(cls):
        SHOWN.append("main loop")


class FigureCanvas(FigureCanvasAgg):
    manager_class = FigureManager
"""

SHOW_WINDOW = """
import json, warnings
warnings.simplefilter("error")
from numconv import viz
import fakegui
fig = viz.show_kernel("edge")
viz.show(fig, block=True)
import matplotlib.pyplot as plt
print(json.dumps({"shown": [x is fig if x != "main loop" else x for x in fakegui.SHOWN],
                  "pyplot figures": [plt.figure(n) is fig for n in plt.get_fignums()]}))
"""


def test_show_opens_a_window_with_a_gui_backend(tmp_path):
    # a stand-in GUI backend that records what pyplot asks of it
    (tmp_path / "fakegui.py").write_text(FAKE_GUI)
    env = dict(os.environ, MPLBACKEND="module://fakegui",
               PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", SHOW_WINDOW], env=env, capture_output=True,
                         text=True, check=True, cwd=tmp_path)
    report = json.loads(out.stdout)
    assert report["shown"] == [True, "main loop"]       # the window, then its event loop
    assert report["pyplot figures"] == [True]            # pyplot adopted the figure


# --------------------------------------------------------------------------- errors

def test_show_type():
    with pytest.raises(TypeError, match=r"show: fig must be a matplotlib Figure, got str 'x'"):
        viz.show("x")


def test_kernel_name_type():
    with pytest.raises(TypeError, match=r"show_kernel: name must be a str or None, got int 3"):
        viz.show_kernel("edge", name=3)


def test_kernel_rank():
    with pytest.raises(ValueError, match=r"show_kernel: kernel must be a non-empty 2-D array "
                                         r"\(rows, cols\), got shape \(3, 3, 2\)"):
        viz.show_kernel(np.ones((3, 3, 2)))


def test_kernel_finite():
    with pytest.raises(ValueError, match=r"show_kernel: kernel must be finite, got an array "
                                         r"containing NaN or inf"):
        viz.show_kernel([[1.0, np.nan]])


def test_text_size_positive():
    with pytest.raises(ValueError, match=r"show_kernel: text_size must be positive, got 0"):
        viz.show_kernel(EDGE, text_size=0)


def test_ax_type():
    with pytest.raises(TypeError, match=r"show_kernel: ax must be a matplotlib Axes or None, "
                                        r"got Figure"):
        viz.show_kernel(EDGE, ax=Figure())


def test_stage_image_shape():
    with pytest.raises(ValueError, match=r"show_pools: detect must be one non-empty image: "
                                         r"\(H, W\), \(H, W, C\), \(H, W, 1\) or \(1, H, W, C\), "
                                         r"got shape \(2, 4, 4, 1\)"):
        viz.show_pools(np.zeros((2, 4, 4, 1)))


def test_single_channel_image():
    with pytest.raises(ValueError, match=r"show_im2col: image must be a single-channel image: "
                                         r"\(H, W\), \(H, W, 1\) or \(1, H, W, 1\), "
                                         r"got shape \(4, 4, 3\)"):
        viz.show_im2col(np.zeros((4, 4, 3)))


def test_stages_empty():
    with pytest.raises(ValueError, match=r"show_stages: stages must hold at least one "
                                         r"\(name, array\) pair, got \[\]"):
        viz.show_stages([])


def test_pools_windows_type():
    with pytest.raises(TypeError, match=r"show_pools: windows must be a non-empty list of "
                                        r"window sizes, got int 2"):
        viz.show_pools(np.zeros((4, 4)), windows=2)


def test_im2col_window_fits():
    with pytest.raises(ValueError, match=r"show_im2col: window must fit in the padded 6x6 "
                                         r"image, got \(7, 7\)"):
        viz.show_im2col(window=7)


def test_im2col_highlight_inside_grid():
    with pytest.raises(ValueError, match=r"show_im2col: highlight must be a \(row, col\) window "
                                         r"position inside the 4x4 output grid, got \(0, 4\)"):
        viz.show_im2col(highlight=(0, 4))


def test_save_figure_type(tmp_path):
    with pytest.raises(TypeError, match=r"save_figure: fig must be a matplotlib Figure, "
                                        r"got str 'x'"):
        viz.save_figure("x", tmp_path / "x.png")


def test_save_figure_path_type():
    with pytest.raises(TypeError, match=r"save_figure: path must be a path, got int 3"):
        viz.save_figure(Figure(), 3)


def test_stages_type():
    with pytest.raises(TypeError, match=r"show_stages: stages must be a list of \(name, array\) "
                                        r"pairs with str names, got float 1.5"):
        viz.show_stages(1.5)


def test_stages_item_type():
    with pytest.raises(TypeError, match=r"show_stages: stages must be a list of \(name, array\) "
                                        r"pairs with str names, got an item \(None, "):
        viz.show_stages([(None, np.eye(3))])


def test_stages_gray_type():
    with pytest.raises(TypeError, match=r"show_stages: gray must be a str or a list of str, "
                                        r"got NoneType None"):
        viz.show_stages([("Input", np.eye(3))], gray=None)


def test_stages_gray_single_name():
    fig = viz.show_stages([("Input", np.eye(3))], gray="Input")
    assert fig.axes[0].images[0].get_cmap().name == "gray"


def test_stages_panel_range():
    with pytest.raises(ValueError, match=r"show_stages: panel must lie in \[0.5, 50\] inches, "
                                         r"got -1"):
        viz.show_stages([("Input", np.eye(3))], panel=-1)


def test_stages_figure_size_capped():
    # 30 panels of 4 inches: 120 inches wide, over the 100-inch cap
    with pytest.raises(ValueError, match=r"show_stages: stages and panel must give a figure of "
                                         r"at most 100 inches a side and 2500 square inches, "
                                         r"got 147 x 4.9 inches"):
        viz.show_stages([("Input", np.eye(3))] * 30)


def test_kernel_figure_size_capped():
    with pytest.raises(ValueError, match=r"show_kernel: kernel, text_size and digits must give "
                                         r"a figure of at most 100 inches"):
        viz.show_kernel(np.ones((3, 200)))


def test_kernel_label_cells_capped():
    with pytest.raises(ValueError, match=r"show_kernel: kernel must have at most 10000 cells "
                                         r"with label=True, got \(101, 100\)"):
        viz.show_kernel(np.ones((101, 100)))


def test_kernel_many_digits_round_nothing_away():
    # rounding 1/3 to 400 or 2**31 - 1 decimals keeps float64's 1/3 (no overflow warning)
    for digits in (400, 2**31 - 1):
        texts = viz.show_kernel([[1 / 3, 2.5]], digits=digits).axes[0].texts
        assert [t.get_text() for t in texts] == [np.format_float_positional(1 / 3), "2.5"]


def test_pools_window_must_fit():
    with pytest.raises(ValueError, match=r"show_pools: windows must each fit in the padded 4x4 "
                                         r"map, got \(5, 5\)"):
        viz.show_pools(np.zeros((4, 4)), windows=[2, 5], padding="VALID")


def test_pools_memory_limit_is_named():
    from numconv.config import memory_limit
    with memory_limit(2**20), pytest.raises(
            ValueError, match=r"show_pools: windows, strides and padding must give a pooling "
                              r"numconv computes \(pool: .* memory"):
        viz.show_pools(np.zeros((4, 4)), windows=[2], padding=10**6)   # a 2000002^2 output


def test_pools_window_count_capped():
    with pytest.raises(ValueError, match=r"show_pools: windows must give a figure of at most "
                                         r"100 inches a side"):
        viz.show_pools(np.zeros((4, 4)), windows=[2] * 30)


def test_im2col_memory_limit():
    from numconv.config import memory_limit
    with memory_limit(2**20), pytest.raises(
            ValueError, match=r"show_im2col: image, window, stride and padding must keep the "
                              r"memory this call needs under the limit of 1.0 MiB"):
        viz.show_im2col(padding=10**6)
