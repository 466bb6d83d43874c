"""TF golden: how TensorFlow decodes the bundled images and small synthetic files.

Writes three files under data/golden/:

* ``image_convert.npz``: ``tf.image.convert_image_dtype(x, tf.float32)`` for every
  uint8 value (``u8``) and every uint16 value (``u16``).
* ``image_files.npz``: for each image file in data/ (key prefix = its name without
  extension): ``<stem>__c0`` and ``<stem>__c3``, ``tf.io.decode_image(contents,
  channels=0 / 3)`` as integers (``__c3`` only when it differs from ``__c0``, i.e. not
  for RGB files); ``<stem>__ch1``, the float32 grayscale numconv's
  ``read_image(path, 1)`` must equal (``tf.image.rgb_to_grayscale`` of the float RGB
  image for colour files, ``convert_image_dtype(decode_image(contents, channels=1))``
  for grayscale ones); for JPEGs also ``<stem>__c1`` (TF's decoder grayscale,
  libjpeg's luma, kept to document the difference) and
  ``<stem>__accurate_minus_c0`` (``decode_jpeg(..., dct_method="INTEGER_ACCURATE")``
  minus ``__c0``, int16: small numbers that compress well).
* ``image_cases.npz``: the same keys for small files built here (JPEGs with 4:2:0,
  4:2:2, 4:4:4 chroma, progressive, grayscale, odd and tiny sizes; PNGs of every
  colour type, 1- and 16-bit, palettes with and without transparency; BMP, GIF), each
  file's bytes stored as ``<case>__bytes`` (uint8) so the tests need no encoder.

Decodes are stored as integers (uint8 / uint16); the tests turn them into floats with
TF's own conversion table from ``image_convert.npz``.
"""

from __future__ import annotations

import io
import pathlib

import numpy as np

DATA = pathlib.Path(__file__).resolve().parent.parent
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def _decode(tf, contents: bytes, stem: str, out: dict) -> None:
    """TF's decodings of one file under ``<stem>__*`` keys."""
    def dec(channels: int) -> np.ndarray:
        dtype = tf.uint16 if b"IHDR" in contents[:16] and contents[24] == 16 else tf.uint8
        return tf.io.decode_image(contents, channels=channels, dtype=dtype,
                                  expand_animations=False).numpy()

    c0, c3 = dec(0), dec(3)
    out[f"{stem}__c0"] = c0
    if not np.array_equal(c0, c3):  # an RGB file's c3 is its c0: not stored twice
        out[f"{stem}__c3"] = c3
    if c0.shape[-1] >= 3:
        rgb = tf.image.convert_image_dtype(c3, tf.float32)
        out[f"{stem}__ch1"] = tf.image.rgb_to_grayscale(rgb).numpy()
    else:
        out[f"{stem}__ch1"] = tf.image.convert_image_dtype(dec(1), tf.float32).numpy()
    if contents[:3] == b"\xff\xd8\xff":
        out[f"{stem}__c1"] = dec(1)
        accurate = tf.io.decode_jpeg(contents, dct_method="INTEGER_ACCURATE").numpy()
        out[f"{stem}__accurate_minus_c0"] = accurate.astype(np.int16) - c0.astype(np.int16)


def _encode(image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _png_bytes(tf, array: np.ndarray) -> bytes:
    return tf.io.encode_png(array).numpy()


def synthetic_files(tf) -> dict[str, bytes]:
    """Small test files: name -> encoded bytes (Pillow or TF encoders, fixed seeds)."""
    from PIL import Image
    rng = np.random.default_rng(20240607)
    photo = Image.open(DATA / "grace_hopper.jpg").convert("RGB")
    crop = photo.crop((180, 150, 217, 179))                       # 37 x 29, odd sizes
    files: dict[str, bytes] = {}
    for name, sampling in (("jpeg420", 2), ("jpeg422", 1), ("jpeg444", 0)):
        files[name] = _encode(crop, "JPEG", quality=85, subsampling=sampling)
    files["jpeg420_progressive"] = _encode(crop, "JPEG", quality=85, subsampling=2,
                                           progressive=True)
    files["jpeg_gray"] = _encode(crop.convert("L"), "JPEG", quality=85)
    for size in ((3, 3), (4, 5), (6, 6)):                           # chroma width 2, 2, 3
        tiny = photo.crop((200, 200, 200 + size[0], 200 + size[1]))
        files[f"jpeg420_{size[0]}x{size[1]}"] = _encode(tiny, "JPEG", quality=90,
                                                         subsampling=2)
    u8 = lambda *shape: rng.integers(0, 256, shape, dtype=np.uint8)          # noqa: E731
    u16 = lambda *shape: rng.integers(0, 65536, shape, dtype=np.uint16)      # noqa: E731
    for name, array in (("png_g8", u8(5, 7, 1)), ("png_ga8", u8(5, 7, 2)),
                        ("png_rgb8", u8(5, 7, 3)), ("png_rgba8", u8(5, 7, 4)),
                        ("png_g16", u16(5, 7, 1)), ("png_rgb16", u16(5, 7, 3)),
                        ("png_ga16", u16(5, 7, 2))):
        files[name] = _png_bytes(tf, array)
    palette = Image.fromarray(u8(6, 5, 3)).convert("P", palette=Image.Palette.ADAPTIVE, colors=6)
    files["png_palette"] = _encode(palette, "PNG")
    files["png_palette_trns"] = _encode(palette, "PNG", transparency=2)
    files["png_g1"] = _encode(Image.fromarray(u8(9, 11) > 127), "PNG")
    files["png_g8_trns"] = _encode(Image.fromarray(u8(5, 7)), "PNG", transparency=17)
    files["png_rgb8_trns"] = _encode(Image.fromarray(u8(5, 7, 3)), "PNG",
                                     transparency=(1, 2, 3))
    files["bmp_rgb"] = _encode(Image.fromarray(u8(5, 7, 3)), "BMP")
    files["gif"] = _encode(palette, "GIF")
    return files


def generate(tf, out_dir: pathlib.Path) -> list[pathlib.Path]:
    written = []
    version = np.array(tf.__version__)

    path = out_dir / "image_convert.npz"
    np.savez_compressed(
        path, tf_version=version,
        u8=tf.image.convert_image_dtype(np.arange(256, dtype=np.uint8), tf.float32).numpy(),
        u16=tf.image.convert_image_dtype(np.arange(65536, dtype=np.uint16),
                                         tf.float32).numpy())
    written.append(path)

    out: dict[str, np.ndarray] = {"tf_version": version}
    names = sorted(p for p in DATA.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    for file in names:
        _decode(tf, file.read_bytes(), file.stem, out)
    out["files"] = np.array([p.name for p in names])
    path = out_dir / "image_files.npz"
    np.savez_compressed(path, **out)
    written.append(path)

    out = {"tf_version": version}
    cases = synthetic_files(tf)
    for name, contents in cases.items():
        out[f"{name}__bytes"] = np.frombuffer(contents, dtype=np.uint8)
        _decode(tf, contents, name, out)
    out["cases"] = np.array(sorted(cases))
    path = out_dir / "image_cases.npz"
    np.savez_compressed(path, **out)
    written.append(path)
    return written
