"""Reading images as TensorFlow does, and the lessons' synthetic patterns.

:func:`read_image` returns what the lesson's

``tf.image.convert_image_dtype(tf.io.decode_image(contents, channels), tf.float32)``

returns: float32 ``(H, W, C)`` in [0, 1], and for the bundled files exactly the
same numbers (checked against TF goldens).  Decoding goes through Pillow (the
image library under imageio and matplotlib), driven so that it reproduces TF:

* **JPEG.**  TF's ``decode_jpeg`` uses libjpeg with the fast integer inverse DCT
  (``dct_method=""``, i.e. ``INTEGER_FAST``) and "fancy" (triangular) chroma
  upsampling; Pillow's default is the accurate DCT.  numconv asks Pillow's
  decoder for the fast DCT and the raw YCbCr planes, then upsamples the chroma
  (4:2:0 and 4:2:2) and converts to RGB with libjpeg's integer arithmetic, in
  NumPy.  ``dct_method="INTEGER_ACCURATE"`` gives TF's accurate mode (Pillow's
  default decoding).  Grayscale, 4:4:4, 4:2:2 and 4:2:0 files (baseline or
  progressive) are checked against TF; other chroma layouts (4:4:0, 4:1:1) are
  upsampled by plain replication and are not; CMYK JPEGs use Pillow's conversion.
* **PNG.**  Lossless: 1/2/3/4 channels as stored; palettes expand to RGB, or RGBA
  when the file has a transparency chunk (TF ignores that chunk in grayscale and
  RGB files, and so does numconv); 1/2/4-bit grayscale expands to 8 bits like
  libpng.  16-bit grayscale is scaled by 1/65535 (``decode_png(..., dtype=tf.uint16)``
  then ``convert_image_dtype``); 16-bit colour or alpha PNGs are refused, because
  Pillow only decodes them to 8 bits.
* Other formats Pillow reads (BMP, GIF's first frame, ...) are decoded by Pillow.

The integer-to-float step is TF's ``convert_image_dtype``: ``x * float32(1/255)``
(``1/65535`` for 16 bits), which is not always the correctly rounded ``x / 255``.

**Grayscale.**  ``channels=1`` returns ``tf.image.rgb_to_grayscale`` of the RGB
image: ``0.2989 R + 0.5870 G + 0.1140 B`` in float32, the same for every format.
TF's *decoders* do something else when asked for one channel:
``decode_jpeg(channels=1)`` returns libjpeg's luma plane Y (computed by the
encoder with 0.299/0.587/0.114, before chroma subsampling and rounding) and
``decode_png(channels=1)`` libpng's fixed-point conversion; on the bundled photo
TF's JPEG luma and ``rgb_to_grayscale`` differ by up to 12.3 levels of 255.
Alpha is dropped, never composited, as in TF.

>>> image = read_image(default_image_path())
>>> image.shape, image.dtype, float(image.min()) >= 0.0, float(image.max()) <= 1.0
((600, 512, 3), dtype('float32'), True, True)
>>> read_image(default_image_path(), channels=1).shape
(600, 512, 1)
"""

from __future__ import annotations

import io
import pathlib
import struct
import zlib
from typing import Any

import numpy as np

from .. import _args
from ..config import get_memory_limit
from ._jpeg import decode_fast

__all__ = ["read_image", "default_image_path", "as_batch", "rgb_to_grayscale",
           "GRAYSCALE_WEIGHTS", "circle", "dots", "dot_pairs", "MAX_PATTERN_SIZE"]

#: ``tf.image.rgb_to_grayscale``'s weights for R, G, B
GRAYSCALE_WEIGHTS = (0.2989, 0.5870, 0.1140)

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_PHOTO = "grace_hopper.jpg"
#: where the repository keeps the bundled images (exists in a source checkout)
_LOCAL_DATA = pathlib.Path(__file__).resolve().parents[2] / "data"


class _Unsupported(Exception):
    """A file numconv cannot decode as TF does (turned into ValueError by read_image)."""


# --------------------------------------------------------------------------- reading

def read_image(path: Any, channels: int | None = None, *, dct_method: str = "") -> np.ndarray:
    """Read a JPEG or PNG file as float32 ``(H, W, C)`` in [0, 1], as TensorFlow does.

    Equal to ``tf.image.convert_image_dtype(tf.io.decode_image(contents, channels),
    tf.float32)``, except that ``channels=1`` applies ``tf.image.rgb_to_grayscale``
    (see the module notes for TF's decoder-specific grayscale).

    Parameters
    ----------
    path : str or os.PathLike
        The image file.
    channels : {None, 0, 1, 3}
        None (or TF's 0): the file's channels (1 gray, 2 gray + alpha, 3 RGB, 4 RGBA).
        1: grayscale with :data:`GRAYSCALE_WEIGHTS` (alpha dropped).
        3: RGB (gray repeated, alpha dropped).
    dct_method : {"", "INTEGER_FAST", "INTEGER_ACCURATE"}
        JPEG only, as ``tf.io.decode_jpeg``: "" is TF's default, the fast DCT.

    Returns
    -------
    ndarray, float32, shape ``(H, W, C)``

    Raises
    ------
    FileNotFoundError
        No such file.
    IsADirectoryError
        ``path`` is a directory.
    PermissionError
        The file cannot be read.
    ValueError
        Empty, truncated, corrupt or unsupported file; bad ``channels`` or
        ``dct_method`` value.
    TypeError
        ``path`` is not a path, ``channels`` not an int.

    Notes
    -----
    Pixels are scaled as ``tf.image.convert_image_dtype`` does (``v / 255`` for 8-bit,
    ``v / 65535`` for 16-bit, in float32), and grayscale uses TF's
    ``rgb_to_grayscale`` weights, so numconv's arrays equal the lesson's bit for bit
    (tested against TensorFlow's goldens).

    Examples
    --------
    >>> gray = read_image(default_image_path(), channels=1)
    >>> rgb = read_image(default_image_path(), channels=3)
    >>> w = np.float32(GRAYSCALE_WEIGHTS)
    >>> bool(np.array_equal(gray[..., 0], (rgb[..., 0] * w[0] + rgb[..., 1] * w[1])
    ...                                   + rgb[..., 2] * w[2]))
    True
    """
    fn = "read_image"
    file = _args.file_path(fn, "path", path, "an image file")
    want = _args.image_channels(fn, channels)
    fast = _args.choice(fn, "dct_method", dct_method,
                        ("", "INTEGER_FAST", "INTEGER_ACCURATE")) != "INTEGER_ACCURATE"
    try:
        data = file.read_bytes()
    except OSError as exc:
        _args.unreadable_file(fn, "path", file, exc)
    if not data:
        _args.undecodable_image(fn, "path", file, "the file is empty")
    from PIL import Image
    try:
        pixels = _decode(data, fast)
    except _Unsupported as exc:
        _args.undecodable_image(fn, "path", file, str(exc))
    except Image.UnidentifiedImageError:
        _args.undecodable_image(fn, "path", file, "not a known image format, or its header "
                                "is damaged")
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error,
            Image.DecompressionBombError) as exc:
        _args.undecodable_image(fn, "path", file, f"{type(exc).__name__}: {exc}")
    return _select_channels(_to_float(pixels), want)


def _decode(data: bytes, fast: bool) -> np.ndarray:
    """Integer pixels ``(H, W, C)``, uint8 or uint16, as TF's decoders give them."""
    from PIL import Image
    if data.startswith(_PNG_MAGIC):
        _check_png(data)
    with Image.open(io.BytesIO(data)) as im:
        # decompression bombs: the header's size, checked before any pixel is decoded
        # (Pillow itself refuses only above 2 * Image.MAX_IMAGE_PIXELS)
        need = im.width * im.height * 4 * (2 + 4)   # <= 4 channels: 16-bit pixels + float32
        if need > get_memory_limit():
            raise _Unsupported(f"decoding its {im.width}x{im.height} pixels needs "
                               f"{_args.show_bytes(need)}, over the memory limit of "
                               f"{_args.show_bytes(get_memory_limit())} "
                               "(numconv.config.memory_limit)")
        if im.format == "PNG":
            _check_png_length(data)
        if im.format == "JPEG" and fast and im.mode in ("L", "RGB"):
            return decode_fast(im)
        return _pil_pixels(im)


def _check_png(data: bytes) -> None:
    """Refuse 16-bit PNGs other than plain grayscale (Pillow decodes them to 8 bits)."""
    if len(data) < 33 or data[12:16] != b"IHDR" or data[24] != 16:
        return  # 8-bit or less, or damaged (then Pillow reports it)
    chunks, pos = set(), 8
    while pos + 8 <= len(data) and b"IDAT" not in chunks:  # walk the chunks before the data
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunks.add(kind)
        pos += 12 + length
    if data[25] != 0 or b"tRNS" in chunks:
        raise _Unsupported("16-bit colour or alpha PNGs are not supported: Pillow decodes "
                           "them to 8 bits; save as 8-bit or as 16-bit grayscale")


def _check_png_length(data: bytes) -> None:
    """Refuse a PNG whose image data is shorter than its size says (Pillow fills the
    missing rows with zeros; libpng, and so TF, refuse: "Invalid PNG data")."""
    if len(data) < 33 or data[12:16] != b"IHDR" or data[28] != 0:  # interlaced: Pillow's
        return
    width, height, depth, color = struct.unpack(">IIBB", data[16:26])
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(color, 0)
    expected = height * (1 + (width * channels * depth + 7) // 8)
    inflate, got, pos, kind = zlib.decompressobj(), 0, 8, b""
    try:
        while pos + 8 <= len(data) and kind != b"IEND":
            length, kind = struct.unpack(">I4s", data[pos:pos + 8])
            block = data[pos + 8:pos + 8 + length] if kind == b"IDAT" else b""
            while block and got < expected:          # count, 1 MiB at a time
                got += len(inflate.decompress(block, 1 << 20))
                block = inflate.unconsumed_tail
            pos += 12 + length
    except zlib.error:
        return                                       # corrupt: Pillow reports it
    if channels and 0 < got < expected:              # no data at all: Pillow reports it
        raise _Unsupported(f"its image data holds {got} of the {expected} bytes that "
                           f"{width}x{height} pixels need: truncated or corrupt")
    if kind != b"IEND" or pos > len(data):
        raise _Unsupported("the file ends before its IEND chunk: truncated")


def _pil_pixels(im: Any) -> np.ndarray:
    """Pillow image -> uint8/uint16 (H, W, C) with TF's channel conventions."""
    mode = im.mode
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        return np.asarray(im).astype(np.uint16)[:, :, None]
    if mode in ("P", "PA"):  # TF: a palette's transparency chunk adds alpha
        im = im.convert("RGBA" if "transparency" in im.info or mode == "PA" else "RGB")
    elif mode == "1":
        im = im.convert("L")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        im = im.convert("RGBA" if "A" in mode else "RGB")
    pixels = np.asarray(im)
    return pixels[:, :, None] if pixels.ndim == 2 else pixels


def _to_float(pixels: np.ndarray) -> np.ndarray:
    """TF's ``convert_image_dtype`` to float32: multiply by ``float32(1 / max)``."""
    scale = np.float32(1.0 / np.iinfo(pixels.dtype).max)
    return pixels.astype(np.float32) * scale


def _select_channels(x: np.ndarray, want: int) -> np.ndarray:
    if want == 0:
        return x
    color = x[:, :, :3] if x.shape[2] >= 3 else x[:, :, :1]  # alpha dropped
    if want == 1:
        return color if color.shape[2] == 1 else rgb_to_grayscale(color)
    return color if color.shape[2] == 3 else np.repeat(color, 3, axis=2)


def rgb_to_grayscale(images: Any) -> np.ndarray:
    """``tf.image.rgb_to_grayscale`` for float images: ``0.2989 R + 0.5870 G + 0.1140 B``.

    Computed in the input's dtype as ``(R * w0 + G * w1) + B * w2`` (TF's float32
    result, bit for bit on the bundled photo).

    Parameters
    ----------
    images : array_like, float, shape ``(..., 3)``

    Returns
    -------
    ndarray, shape ``(..., 1)``, same dtype

    Examples
    --------
    >>> rgb_to_grayscale(np.array([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]]))
    array([[0.9999],
           [0.2989]])
    """
    x = _args.float_image("rgb_to_grayscale", "images", images, channels=3)
    w = np.asarray(GRAYSCALE_WEIGHTS, dtype=x.dtype)
    return ((x[..., 0] * w[0] + x[..., 1] * w[1]) + x[..., 2] * w[2])[..., None]


def default_image_path() -> pathlib.Path:
    """The bundled photograph (Grace Hopper, U.S. Navy, public domain; see data/README.md).

    ``<repository>/data/grace_hopper.jpg`` when numconv runs from its source tree
    (an editable install); otherwise matplotlib's copy of the same file
    (``matplotlib.cbook.get_sample_data("grace_hopper.jpg")``).

    Raises
    ------
    FileNotFoundError
        If neither copy exists.

    Returns
    -------
    pathlib.Path
        The path of ``grace_hopper.jpg`` (600 x 512, RGB).

    Notes
    -----
    The same photograph as TensorFlow's and matplotlib's sample data.

    Examples
    --------
    >>> default_image_path().name
    'grace_hopper.jpg'
    """
    local = _LOCAL_DATA / _PHOTO
    if local.is_file():
        return local
    try:
        from matplotlib import cbook
        sample = pathlib.Path(cbook.get_sample_data(_PHOTO, asfileobj=False))
    except (ImportError, OSError, ValueError):
        sample = None
    if sample is not None and sample.is_file():
        return sample
    raise FileNotFoundError(f"default_image_path: the bundled photograph {_PHOTO} is neither "
                            f"in {str(local.parent)!r} nor in matplotlib's sample data; pass "
                            "an image path instead")


def as_batch(image: Any) -> np.ndarray:
    """One image as a batch of one, ``(1, H, W, C)``: ``tf.expand_dims(image, 0)``.

    A 2-D ``(H, W)`` image also gets a channel axis.  Returns a view (no copy).

    >>> as_batch(np.zeros((4, 5))).shape, as_batch(np.zeros((4, 5, 3))).shape
    ((1, 4, 5, 1), (1, 4, 5, 3))
    """
    x = _args.unbatched_image("as_batch", "image", image)
    return x[None, :, :, None] if x.ndim == 2 else x[None]


# --------------------------------------------------------------------------- patterns

#: largest side of a synthetic pattern
MAX_PATTERN_SIZE = 4096


def _pattern_size(fn: str, size: Any, minimum: int) -> int:
    n = _args.integer(fn, "size", size)
    if not minimum <= n <= MAX_PATTERN_SIZE:
        _args.fail(fn, "size", f"must be between {minimum} and {MAX_PATTERN_SIZE}", size)
    return n


def circle(size: int = 64, radius: float | None = None) -> np.ndarray:
    """A filled disc of ones on zeros, centred, float32 ``(size, size)``.

    Pixel ``(i, j)`` is 1 when ``(i - c)**2 + (j - c)**2 <= radius**2`` with
    ``c = (size - 1) / 2``.

    Parameters
    ----------
    size : int
        Image side, 1 to :data:`MAX_PATTERN_SIZE`.
    radius : float, optional
        Positive; default ``size / 4``.

    Examples
    --------
    >>> circle(5, 2).astype(int)
    array([[0, 0, 1, 0, 0],
           [0, 1, 1, 1, 0],
           [1, 1, 1, 1, 1],
           [0, 1, 1, 1, 0],
           [0, 0, 1, 0, 0]])
    """
    fn = "circle"
    n = _pattern_size(fn, size, 1)
    r = n / 4 if radius is None else _args.positive_number(fn, "radius", radius)
    d = np.arange(n) - (n - 1) / 2
    return ((d[:, None] ** 2 + d[None, :] ** 2) <= r * r).astype(np.float32)


def dots(size: int = 64, separation: int = 2, *, row: int | None = None,
         column: int | None = None) -> np.ndarray:
    """Two one-pixel dots (value 1) on one row, ``separation`` pixels apart.

    The left dot is at ``(row, column)``, the right one at ``(row, column +
    separation)``; both default to ``size // 2``.  With a power-of-two ``size`` that
    column is aligned to every 2x2 pooling block, so after ``k`` max poolings
    (window 2, stride 2) the dots fall into one pixel exactly when
    ``separation < 2**k``: the near pair merges, the far pair stays apart.

    Parameters
    ----------
    size : int
        Image side, 2 to :data:`MAX_PATTERN_SIZE`.
    separation : int
        Positive; the right dot must stay inside the image.
    row, column : int, optional
        Position of the left dot.

    Returns
    -------
    ndarray, float32, shape ``(size, size)``

    Examples
    --------
    >>> import numconv as nc
    >>> def dots_after(image, k):          # bright pixels after k 2x2 max poolings
    ...     x = image[None, :, :, None]
    ...     for _ in range(k):
    ...         x = nc.max_pool2d(x, 2, 2, "SAME")
    ...     return int((x > 0).sum())
    >>> [dots_after(dots(64, 2), k) for k in range(5)]      # near: merged after 2
    [2, 2, 1, 1, 1]
    >>> [dots_after(dots(64, 24), k) for k in range(5)]     # far: apart for 4
    [2, 2, 2, 2, 2]
    """
    fn = "dots"
    n = _pattern_size(fn, size, 2)
    sep = _args.integer(fn, "separation", separation)
    r = n // 2 if row is None else _args.integer(fn, "row", row, minimum=0)
    c = n // 2 if column is None else _args.integer(fn, "column", column, minimum=0)
    if r >= n:
        _args.fail(fn, "row", f"must lie inside the {n}x{n} image (< {n})", r)
    if c + sep >= n:
        _args.fail(fn, "separation", f"must keep the right dot inside the {n}x{n} image "
                   f"(column {c} + separation < {n})", sep)
    image = np.zeros((n, n), np.float32)
    image[r, [c, c + sep]] = 1
    return image


def dot_pairs(size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """The lesson's near and far pairs, both away from the borders.

    Near: ``dots(size, 2)``, columns ``size // 2`` and ``size // 2 + 2``; far:
    ``dots(size, size // 2 - 1, column=size // 4)``, columns ``size // 4`` and
    ``3 * size // 4 - 1``, a quarter of the width from each side.  For
    ``size = 2**n`` the near pair merges after 2 max poolings (2x2, stride 2) and
    the far pair stays apart for ``n - 1`` poolings (5 for 64), until the map is
    one pixel.

    >>> near, far = dot_pairs(64)
    >>> [np.flatnonzero(p[32]).tolist() for p in (near, far)]
    [[32, 34], [16, 47]]
    """
    n = _pattern_size("dot_pairs", size, 8)
    return dots(n, 2), dots(n, n // 2 - 1, column=n // 4)
