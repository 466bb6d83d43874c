"""numconv.lesson.image: read_image against TensorFlow's decoding (goldens), patterns, errors.

Every golden comparison here is exact (bit for bit): TF's decoders are integer code,
and its uint -> float32 conversion is applied through TF's own table
(image_convert.npz), so numconv's floats must equal TF's.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
from helpers import ROOT, assert_matches, load_golden

import numconv
from numconv.lesson import image as nimage
from numconv.lesson.image import (GRAYSCALE_WEIGHTS, as_batch, circle, default_image_path, dot_pairs,
                           dots, read_image, rgb_to_grayscale)

DATA = ROOT / "data"
FILES = load_golden("image_files")
CASES = load_golden("image_cases")
CONVERT = load_golden("image_convert")
REFUSED = {"png_rgb16", "png_ga16"}      # 16-bit colour/alpha PNGs: Pillow gives 8 bits


def tf_float(pixels: np.ndarray) -> np.ndarray:
    """TF's convert_image_dtype(pixels, float32), through TF's own table."""
    return CONVERT["u16" if pixels.dtype == np.uint16 else "u8"][pixels]


def expected(golden: dict, stem: str, channels: int | None) -> np.ndarray:
    if channels == 1:
        return golden[f"{stem}__ch1"]
    key = f"{stem}__c3" if channels == 3 and f"{stem}__c3" in golden else f"{stem}__c0"
    return tf_float(golden[key])


def case_file(tmp_path: pathlib.Path, name: str) -> pathlib.Path:
    path = tmp_path / name
    path.write_bytes(CASES[f"{name}__bytes"].tobytes())
    return path


# --------------------------------------------------------------------------- goldens

def test_golden_covers_every_bundled_image():
    on_disk = sorted(p.name for p in DATA.iterdir() if p.suffix in (".jpg", ".png"))
    assert list(FILES["files"]) == on_disk


@pytest.mark.parametrize("channels", [None, 0, 1, 3])
@pytest.mark.parametrize("name", sorted(str(n) for n in FILES["files"]))
def test_bundled_files_match_tf(name, channels):
    got = read_image(DATA / name, channels)
    assert_matches(got, expected(FILES, pathlib.Path(name).stem, channels), exact=True,
                   dtype=np.float32)


@pytest.mark.parametrize("channels", [None, 1, 3])
@pytest.mark.parametrize("name", sorted(str(n) for n in CASES["cases"] if n not in REFUSED))
def test_synthetic_files_match_tf(tmp_path, name, channels):
    got = read_image(case_file(tmp_path, name), channels)
    assert_matches(got, expected(CASES, name, channels), exact=True, dtype=np.float32)


@pytest.mark.parametrize("golden, stem", [(FILES, "grace_hopper")] + [
    (CASES, str(n)) for n in CASES["cases"] if str(n).startswith("jpeg")])
def test_jpeg_integer_accurate_matches_tf(tmp_path, golden, stem):
    path = DATA / f"{stem}.jpg" if golden is FILES else case_file(tmp_path, stem)
    accurate = (golden[f"{stem}__c0"] + golden[f"{stem}__accurate_minus_c0"]).astype(np.uint8)
    assert_matches(read_image(path, dct_method="INTEGER_ACCURATE"), tf_float(accurate),
                   exact=True, dtype=np.float32)


def test_fast_and_accurate_dct_differ_on_the_photo():
    # why dct_method matters: TF's default (fast) DCT is not libjpeg's accurate one
    diff = FILES["grace_hopper__accurate_minus_c0"]
    assert np.abs(diff).max() == 6 and (diff != 0).mean() > 0.5


def test_tf_decoder_grayscale_differs_as_documented():
    # decode_jpeg(channels=1) is libjpeg's luma; read_image(channels=1) is rgb_to_grayscale
    ours = read_image(DATA / "grace_hopper.jpg", 1)
    luma = tf_float(FILES["grace_hopper__c1"])
    assert round(float(np.abs(ours - luma).max()) * 255, 1) == 12.3     # module docstring


def test_tf_uint_to_float_is_a_multiplication():
    u8, u16 = np.arange(256), np.arange(65536)
    assert_matches(nimage._to_float(u8.astype(np.uint8)), CONVERT["u8"], exact=True,
                   dtype=np.float32)
    assert_matches(nimage._to_float(u16.astype(np.uint16)), CONVERT["u16"], exact=True,
                   dtype=np.float32)
    # ... by float32(1/255), which is not the correctly rounded x / 255 (module docstring)
    assert (CONVERT["u8"] != (u8 / 255).astype(np.float32)).any()
    assert CONVERT["u8"][255] == 1.0 and CONVERT["u16"][65535] == 1.0


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_16bit_colour_png(tmp_path, name):
    assert CASES[f"{name}__c0"].shape[-1] > 1 and CASES[f"{name}__c0"].dtype == np.uint16
    with pytest.raises(ValueError, match=r"read_image: path must be a complete JPEG or PNG file "
                       r"that can be decoded \(16-bit colour or alpha PNGs are not supported: "
                       rf"Pillow decodes them to 8 bits; .*\), got '.*{name}'"):
        read_image(case_file(tmp_path, name))


def test_palette_with_transparency_gets_alpha(tmp_path):
    assert read_image(case_file(tmp_path, "png_palette_trns")).shape[-1] == 4
    assert read_image(case_file(tmp_path, "png_palette")).shape[-1] == 3


def test_grayscale_weights_by_hand():
    x = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.5]],
                 np.float32)
    got = rgb_to_grayscale(x)
    assert_matches(got, np.array([[0.2989], [0.5870], [0.1140], [0.49995]], np.float32),
                   dtype=np.float32)
    assert GRAYSCALE_WEIGHTS == (0.2989, 0.5870, 0.1140)


def test_read_image_accepts_str_and_pathlike():
    a = read_image(str(DATA / "circle.png"))
    b = read_image(DATA / "circle.png")
    assert_matches(a, b, exact=True)


# --------------------------------------------------------------------------- bundled photo

def test_default_image_path_is_the_repository_copy():
    path = default_image_path()
    assert path == DATA / "grace_hopper.jpg"


def test_default_image_path_is_matplotlibs_photo():
    from matplotlib import cbook
    sample = pathlib.Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    assert default_image_path().read_bytes() == sample.read_bytes()


def test_default_image_path_falls_back_to_matplotlib(monkeypatch, tmp_path):
    monkeypatch.setattr(nimage, "_LOCAL_DATA", tmp_path)
    path = default_image_path()
    assert path.parent.name == "sample_data" and path.name == "grace_hopper.jpg"


def test_default_image_path_missing(monkeypatch, tmp_path):
    from matplotlib import cbook
    monkeypatch.setattr(nimage, "_LOCAL_DATA", tmp_path)
    monkeypatch.setattr(cbook, "get_sample_data", lambda *a, **k: str(tmp_path / "nothing"))
    with pytest.raises(FileNotFoundError, match=r"default_image_path: the bundled photograph "
                       r"grace_hopper.jpg is neither in .* nor in matplotlib's sample data"):
        default_image_path()


def test_photo_shape():
    assert read_image(default_image_path()).shape == (600, 512, 3)


# --------------------------------------------------------------------------- as_batch

def test_as_batch_shapes_and_view():
    x = np.arange(12.0).reshape(3, 4)
    b = as_batch(x)
    assert b.shape == (1, 3, 4, 1) and np.shares_memory(b, x)
    assert as_batch(np.zeros((3, 4, 3))).shape == (1, 3, 4, 3)
    assert_matches(as_batch(x)[0, :, :, 0], x, exact=True)


def test_as_batch_rank():
    with pytest.raises(ValueError, match=r"as_batch: image must be an image of shape \(H, W\) "
                                         r"or \(H, W, C\), got shape \(1, 3, 4, 1\) \(rank 4\)"):
        as_batch(np.zeros((1, 3, 4, 1)))


# --------------------------------------------------------------------------- patterns

def test_circle_against_loops():
    size, radius = 9, 3.2
    ref = np.zeros((size, size), np.float32)
    c = (size - 1) / 2
    for i in range(size):
        for j in range(size):
            ref[i, j] = (i - c) ** 2 + (j - c) ** 2 <= radius ** 2
    assert_matches(circle(size, radius), ref, exact=True, dtype=np.float32)
    assert_matches(circle(64), circle(64, 16), exact=True)


@pytest.mark.parametrize("name, pattern", [("circle.png", lambda: circle(64)),
                                           ("dots_near.png", lambda: dot_pairs(64)[0]),
                                           ("dots_far.png", lambda: dot_pairs(64)[1])])
def test_bundled_patterns_are_reproducible(name, pattern):
    assert_matches(read_image(DATA / name)[:, :, 0], pattern(), exact=True, dtype=np.float32)


def test_dots_positions():
    d = dots(16, 3, row=2, column=5)
    assert d.dtype == np.float32 and d.sum() == 2
    assert d[2, 5] == 1 and d[2, 8] == 1
    assert np.argwhere(dots(64, 2)).tolist() == [[32, 32], [32, 34]]


@pytest.mark.parametrize("separation", [1, 2, 3, 5, 8, 15, 16, 31])
def test_dots_merge_rule(separation):
    # documented: the aligned pair is one pixel after k 2x2 max poolings iff separation < 2**k
    x = dots(64, separation)[None, :, :, None]
    for k in range(6):
        assert int((x > 0).sum()) == (1 if separation < 2 ** k else 2), k
        x = numconv.max_pool2d(x, 2, 2, "SAME")


def test_dot_pairs_separations():
    near, far = dot_pairs(32)
    assert np.flatnonzero(near[16]).tolist() == [16, 18]
    assert np.flatnonzero(far[16]).tolist() == [8, 23]       # 32 // 4 and + 15: off the borders


# --------------------------------------------------------------------------- errors

def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"read_image: path must be an existing file, "
                       r"got '.*nothing\.jpg' \(no such file\)"):
        read_image(tmp_path / "nothing.jpg")


def test_directory(tmp_path):
    with pytest.raises(IsADirectoryError, match=r"read_image: path must be an image file, not "
                       r"a directory, got '.*'"):
        read_image(tmp_path)


def test_path_type():
    with pytest.raises(TypeError, match=r"read_image: path must be a file path \(str or "
                                        r"os.PathLike\), got int 3"):
        read_image(3)


def test_unreadable(monkeypatch, tmp_path):
    path = tmp_path / "locked.png"
    path.write_bytes(b"x")

    def refuse(self):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(pathlib.Path, "read_bytes", refuse)
    with pytest.raises(PermissionError, match=r"read_image: path must be a readable file "
                       r"\(Permission denied\), got '.*locked\.png'"):
        read_image(path)


def test_empty_file(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ValueError, match=r"read_image: path must be a complete JPEG or PNG file "
                       r"that can be decoded \(the file is empty\), got '.*empty\.png'"):
        read_image(tmp_path / "empty.png")


def test_truncated_jpeg(tmp_path):
    data = (DATA / "grace_hopper.jpg").read_bytes()
    (tmp_path / "half.jpg").write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match=r"read_image: .* \(OSError: image file is truncated "
                                         r".*\), got '.*half\.jpg'"):
        read_image(tmp_path / "half.jpg")


def test_not_an_image(tmp_path):
    (tmp_path / "notes.png").write_bytes(b"this is not an image\n" * 4)
    with pytest.raises(ValueError, match=r"read_image: .* \(not a known image format, or its "
                                         r"header is damaged\), got '.*notes\.png'"):
        read_image(tmp_path / "notes.png")


def test_corrupt_png_without_data(tmp_path):
    png = (DATA / "circle.png").read_bytes()
    (tmp_path / "noidat.png").write_bytes(png[:33] + png[-12:])   # IHDR + IEND only
    with pytest.raises(ValueError, match=r"read_image: .* \(OSError: cannot load this image\)"):
        read_image(tmp_path / "noidat.png")


def test_channels_value():
    with pytest.raises(ValueError, match=r"read_image: channels must be None \(or 0: the file's "
                                         r"channels\), 1 \(grayscale\) or 3 \(RGB\), got 4"):
        read_image(DATA / "circle.png", 4)


def test_channels_type():
    with pytest.raises(TypeError, match=r"read_image: channels must be None .*, got str '1'"):
        read_image(DATA / "circle.png", "1")


def test_dct_method():
    with pytest.raises(ValueError, match=r"read_image: dct_method must be one of '', "
                                         r"'INTEGER_FAST', 'INTEGER_ACCURATE', got 'fast'"):
        read_image(DATA / "grace_hopper.jpg", dct_method="fast")


def test_grayscale_needs_float():
    with pytest.raises(TypeError, match=r"rgb_to_grayscale: images must be a floating-point "
                                        r"array .*, got ndarray array of shape \(2, 3\)"):
        rgb_to_grayscale(np.ones((2, 3), np.uint8))


def test_grayscale_needs_three_channels():
    with pytest.raises(ValueError, match=r"rgb_to_grayscale: images must have 3 channels on its "
                                         r"last axis, got shape \(2, 4\)"):
        rgb_to_grayscale(np.ones((2, 4)))


def test_circle_size_bounded():
    with pytest.raises(ValueError, match=r"circle: size must be between 1 and 4096, got 5000"):
        circle(5000)


def test_circle_radius():
    with pytest.raises(ValueError, match=r"circle: radius must be positive, got 0"):
        circle(8, 0)


def test_dots_size():
    with pytest.raises(ValueError, match=r"dots: size must be between 2 and 4096, got 1"):
        dots(1)


def test_dots_separation_inside():
    with pytest.raises(ValueError, match=r"dots: separation must keep the right dot inside the "
                                         r"8x8 image \(column 4 \+ separation < 8\), got 4"):
        dots(8, 4)


def test_dots_row():
    with pytest.raises(ValueError, match=r"dots: row must lie inside the 8x8 image \(< 8\), "
                                         r"got 8"):
        dots(8, 1, row=8)


def test_dot_pairs_size():
    with pytest.raises(ValueError, match=r"dot_pairs: size must be between 8 and 4096, got 4"):
        dot_pairs(4)


# --------------------------------------------------------------------------- live TF

@pytest.mark.live
def test_live_tf_decodes_like_read_image(tmp_path):
    tf = pytest.importorskip("tensorflow")
    from PIL import Image
    photo = Image.open(DATA / "grace_hopper.jpg")
    rng = np.random.default_rng(7)
    for i in range(12):   # random crops, qualities and chroma layouts
        h, w = (int(v) for v in rng.integers(3, 90, 2))
        top, left = int(rng.integers(0, 600 - h)), int(rng.integers(0, 512 - w))
        path = tmp_path / f"crop{i}.jpg"
        photo.crop((left, top, left + w, top + h)).save(
            path, "JPEG", quality=int(rng.integers(30, 100)), subsampling=i % 3)
        contents = path.read_bytes()
        for channels in (0, 3):
            want = tf.image.convert_image_dtype(tf.io.decode_image(contents, channels),
                                                tf.float32).numpy()
            assert_matches(read_image(path, channels), want, exact=True, dtype=np.float32)
