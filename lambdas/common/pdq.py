"""PDQ, Meta's open perceptual hash, with numpy: the hash, its quality and the dihedral variants.

The steps are those of the reference implementation (facebook/ThreatExchange `pdq/`):

1. the picture is scaled to fit 512x512 (as the reference's file hasher does), then turned
   into float luminance (0.299 R + 0.587 G + 0.114 B);
2. two passes of a Jarosz box filter along rows then columns (a tent filter), each window
   `ceil(side / 128)` pixels;
3. the filtered picture is decimated to 64x64 by sampling the centre of each cell;
4. the quality: the sum of the significant gradients of that 64x64, scaled to 0-100;
5. a 2-D DCT of which only the 16x16 lowest frequencies but DC are computed;
6. a bit is set where a coefficient is above the (lower) median of the 256.

The hash is 256 bits, written as 64 hex digits in the reference's order: bit `16 i + j`
is DCT coefficient (i, j), and the hex string is the 256-bit number, most significant
digit first. Two pictures are the same when their hashes differ in at most ~31 bits, and a
hash of quality under 50 is not reliable (the reference's advice, followed by `banks.py`).

The eight dihedral variants (four rotations, each mirrored) come from the 16x16 DCT by
transposing and flipping signs, as the reference does: no second pass over the pixels.
`pdqhash` (the reference's C++ behind Python bindings) is source-only on PyPI; this
module needs numpy and Pillow, both already in the custom analyzer's layer.
`tests/unit/test_pdq.py` holds these hashes against the reference's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

# The reference's file hasher scales anything larger to fit this box first.
MAX_SIDE = 512
# Luminance, as the reference (ITU-R BT.601).
LUMA = np.array([0.299, 0.587, 0.114])
WINDOW_DIVISOR = 128
JAROSZ_PASSES = 2
# The reference: hashes of quality below this should not be matched.
MIN_QUALITY = 50
# Hashes within this many bits are the same picture (the reference's default threshold).
DEFAULT_MAX_DISTANCE = 31
HEX_DIGITS = 64

_DCT = np.array(
    [[math.cos((math.pi / 2 / 64.0) * (i + 1) * (2 * j + 1)) for j in range(64)] for i in range(16)]
)
_ODD = np.arange(16) % 2 == 1
# Sign masks over the 16x16 DCT (row i, column j), as the reference's dct16OriginalTo*.
_ROW_ODD = np.broadcast_to(_ODD[:, None], (16, 16))
_COL_ODD = np.broadcast_to(_ODD[None, :], (16, 16))
_SUM_ODD = _ROW_ODD ^ _COL_ODD

# The variant names, in the order `dihedral` returns them.
VARIANTS = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flipx",
    "flipy",
    "flip_plus1",
    "flip_minus1",
)


@dataclass(frozen=True)
class PdqHash:
    hash: str  # 64 hex digits
    quality: int  # 0-100


def luma_of(img: Image.Image) -> np.ndarray:
    """The float luminance of a picture scaled to fit 512x512, as the reference reads it."""
    rgb = img.convert("RGB")
    if max(rgb.size) > MAX_SIDE:
        rgb = rgb.copy()
        rgb.thumbnail((MAX_SIDE, MAX_SIDE))
    luma: np.ndarray = np.asarray(rgb, dtype=np.float64) @ LUMA
    return luma


def window_size(side: int) -> int:
    return (side + WINDOW_DIVISOR - 1) // WINDOW_DIVISOR


def box_filter(values: np.ndarray, window: int, axis: int) -> np.ndarray:
    """The reference's box1DFloat along `axis`: output k averages the inputs
    `k - (window - half) .. k + half - 1` (half = (window + 2) // 2) that exist."""
    n = values.shape[axis]
    half = (window + 2) // 2
    moved = np.moveaxis(values, axis, 0)
    csum = np.concatenate([np.zeros((1,) + moved.shape[1:]), np.cumsum(moved, axis=0)])
    k = np.arange(n)
    lo = np.clip(k - (window - half), 0, n)
    hi = np.clip(k + half, 0, n)
    count = (hi - lo).astype(np.float64).reshape((n,) + (1,) * (moved.ndim - 1))
    out = (csum[hi] - csum[lo]) / count
    return np.moveaxis(out, 0, axis)


def downsample(luma: np.ndarray) -> np.ndarray:
    """Jarosz filter (two row/column passes of a box filter), then decimation to 64x64."""
    rows, cols = luma.shape
    along_rows, along_cols = window_size(cols), window_size(rows)
    out = luma
    for _ in range(JAROSZ_PASSES):
        out = box_filter(out, along_rows, axis=1)
        out = box_filter(out, along_cols, axis=0)
    ri = ((np.arange(64) + 0.5) * rows / 64).astype(np.int64)
    ci = ((np.arange(64) + 0.5) * cols / 64).astype(np.int64)
    return out[np.ix_(ri, ci)]


def quality_of(block: np.ndarray) -> int:
    """The reference's heuristic: significant gradients of the 64x64, scaled to 0-100."""
    vertical = np.trunc((block[:-1, :] - block[1:, :]) * 100 / 255)
    horizontal = np.trunc((block[:, :-1] - block[:, 1:]) * 100 / 255)
    total = int(np.abs(vertical).sum() + np.abs(horizontal).sum())
    return min(total // 90, 100)


def dct16(block: np.ndarray) -> np.ndarray:
    """The 16x16 lowest frequencies but DC of the 64x64's DCT."""
    out: np.ndarray = _DCT @ block @ _DCT.T
    return out


def bits_to_hex(dct: np.ndarray) -> str:
    """Bit 16 i + j set where coefficient (i, j) is above the lower median."""
    flat = dct.reshape(256)
    median = np.sort(flat)[127]
    value = 0
    for k in np.flatnonzero(flat > median):
        value |= 1 << int(k)
    return f"{value:064x}"


def transforms(dct: np.ndarray) -> tuple[np.ndarray, ...]:
    """The DCT of each dihedral variant of the picture, in `VARIANTS` order."""
    return (
        dct,
        np.where(_COL_ODD, dct, -dct).T,  # rotate 90
        np.where(_SUM_ODD, -dct, dct),  # rotate 180
        np.where(_ROW_ODD, dct, -dct).T,  # rotate 270
        np.where(_ROW_ODD, dct, -dct),  # flip x
        np.where(_COL_ODD, dct, -dct),  # flip y
        dct.T,  # flip about the main diagonal
        np.where(_SUM_ODD, -dct, dct).T,  # flip about the other diagonal
    )


def hash_image(img: Image.Image) -> PdqHash:
    """The PDQ hash and quality of a decoded picture."""
    block = downsample(luma_of(img))
    return PdqHash(bits_to_hex(dct16(block)), quality_of(block))


def dihedral(img: Image.Image) -> tuple[tuple[str, ...], int]:
    """The hashes of the picture's eight dihedral variants (`VARIANTS` order) and its quality."""
    block = downsample(luma_of(img))
    return tuple(bits_to_hex(t) for t in transforms(dct16(block))), quality_of(block)


def is_hash(value: str) -> bool:
    if len(value) != HEX_DIGITS:
        return False
    try:
        int(value, 16)
    except ValueError:
        return False
    return True


def words(value: str) -> np.ndarray:
    """A hash as four uint64 words (most significant first): the form banks are searched in."""
    number = int(value, 16)
    return np.array([(number >> (64 * (3 - w))) & (2**64 - 1) for w in range(4)], dtype=np.uint64)


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()
