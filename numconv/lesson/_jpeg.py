"""JPEG decoding as TensorFlow configures libjpeg, on top of Pillow.

TF's ``decode_jpeg`` (default ``dct_method=""``) runs libjpeg with the fast integer
inverse DCT (``JDCT_IFAST``) and "fancy" chroma upsampling; Pillow's default is the
accurate DCT (``JDCT_ISLOW``, TF's ``INTEGER_ACCURATE``).  Pillow's decoder has one
switch, its "draft" flag, that selects ``JDCT_IFAST`` but also turns fancy
upsampling off.  So for 4:2:0 and 4:2:2 files numconv decodes the raw Y, Cb, Cr
planes with that flag (Y is full size, chroma comes back replicated), then redoes
libjpeg's two remaining steps in integer NumPy:

* fancy upsampling (``h2v1_fancy_upsample``, ``h2v2_fancy_upsample`` in libjpeg's
  jdsample.c): each output sample is ``3/4`` of the nearer input sample plus ``1/4`` of
  the farther one, per axis, with libjpeg's alternating rounding biases;
* YCbCr -> RGB with libjpeg's 16-bit fixed-point constants (``ycc_rgb_convert`` in
  jdcolor.c), clamped to [0, 255].

Grayscale and 4:4:4 files need no upsampling: the draft flag alone gives TF's
pixels.  Other layouts (4:4:0, 4:1:1) keep libjpeg's replication.

The draft flag is set through ``decoderconfig``, an attribute of Pillow's image
file objects rather than a documented API; the golden tests (data/golden/image_*.npz)
and the live TF test in tests/outer/test_image.py catch a Pillow release that changes it.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def decode_fast(im: Any) -> np.ndarray:
    """Decode an opened Pillow JPEG (mode L or RGB) as TF's default ``decode_jpeg``.

    Returns uint8 ``(H, W, 1)`` or ``(H, W, 3)``.
    """
    sampling = [tuple(layer[1:3]) for layer in getattr(im, "layer", [])]
    ycc = (im.mode == "RGB" and len(sampling) == 3 and sampling[1] == sampling[2] == (1, 1)
           and sampling[0] in ((2, 1), (2, 2)) and im.info.get("adobe_transform", 1) != 0)
    im.draft("YCbCr" if ycc else im.mode, None)
    ycc = ycc and im.mode == "YCbCr"
    # Pillow's decoder "draft" flag: libjpeg JDCT_IFAST and no fancy upsampling
    # (which numconv does itself, below, for 4:2:0 and 4:2:2)
    im.decoderconfig = (1, 1)
    pixels = np.asarray(im)
    if not ycc:
        return pixels[:, :, None] if pixels.ndim == 2 else pixels
    return _ycc_to_rgb(pixels, *sampling[0])


def _upsample(plane: np.ndarray, h: int, v: int, shape: tuple[int, int]) -> np.ndarray:
    """libjpeg's fancy (triangle) upsampling of a chroma plane by 2 in x (and in y)."""
    c = plane.astype(np.int32)
    if c.shape[1] <= 2:  # libjpeg replicates when the plane is this narrow
        return np.repeat(np.repeat(c, v, axis=0), h, axis=1)[:shape[0], :shape[1]]
    if v == 2:  # vertical pass: 3 * nearer row + farther row (edges repeat)
        p = np.pad(c, ((1, 1), (0, 0)), mode="edge")
        rows = np.empty((2 * c.shape[0], c.shape[1]), np.int32)
        rows[0::2] = 3 * c + p[:-2]
        rows[1::2] = 3 * c + p[2:]
        c, bias, shift = rows, (8, 7), 4
    else:
        bias, shift = (1, 2), 2
    q = np.pad(c, ((0, 0), (1, 1)), mode="edge")
    out = np.empty((c.shape[0], 2 * c.shape[1]), np.int32)
    out[:, 0::2] = (3 * c + q[:, :-2] + bias[0]) >> shift
    out[:, 1::2] = (3 * c + q[:, 2:] + bias[1]) >> shift
    return out[:shape[0], :shape[1]]


def _ycc_to_rgb(ycc: np.ndarray, h: int, v: int) -> np.ndarray:
    """Full-resolution Y and replicated chroma -> RGB, libjpeg's ``ycc_rgb_convert``."""
    shape = ycc.shape[:2]
    y = ycc[:, :, 0].astype(np.int32)
    cb = _upsample(ycc[::v, ::h, 1], h, v, shape) - 128
    cr = _upsample(ycc[::v, ::h, 2], h, v, shape) - 128

    def fix(x: float) -> int:  # 16-bit fixed point, libjpeg's FIX()
        return int(x * 65536 + 0.5)

    half = 1 << 15
    r = y + ((fix(1.40200) * cr + half) >> 16)
    g = y + ((-fix(0.34414) * cb - fix(0.71414) * cr + half) >> 16)
    b = y + ((fix(1.77200) * cb + half) >> 16)
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255).astype(np.uint8)
