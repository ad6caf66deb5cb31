"""Finding a decided image near a new one's PDQ without a scan: multi-index hashing.

A PDQ hash (256 bits, 64 hex digits) is cut into `SLICES` slices of 16 bits. Two hashes
within `MAX_DISTANCE` bits of each other agree exactly on at least one slice (pigeonhole:
at most 15 of the 16 slices can differ), so each analysed image is filed under its 16
(slice number, slice value) keys, and a lookup reads exactly those 16 keys, in one
BatchGetItem, however many images the index holds. A slice key's item holds the images
filed there as attributes `<content sha256>` = `<pdq> <expires epoch>`; the labels live
once per image, in its result item (`result_key`). Random 16-bit slices spread the images
over 65,536 items per slice, so an item holds about N / 65,536 images (a 400 KB item
holds some 2,800: the index serves some 180 million images per rules digest).

Pure functions here; `verdicts.py` reads and writes the items (one writer per table).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

SLICES = 16
SLICE_DIGITS = 4  # 16 bits
MAX_DISTANCE = SLICES - 1
PDQ_DIGITS = SLICES * SLICE_DIGITS
# PDQ's own threshold (common/pdq.py MIN_QUALITY): a flatter picture's hash is noise.
MIN_QUALITY = 50


def slice_keys(pdq_hex: str, digest: str) -> list[str]:
    """The 16 index keys an image with this PDQ is filed under (and looked up by)."""
    if len(pdq_hex) != PDQ_DIGITS:
        raise ValueError(f"a PDQ hash is {PDQ_DIGITS} hex digits")
    return [
        f"nd#{digest}#{i:02d}#{pdq_hex[i * SLICE_DIGITS : (i + 1) * SLICE_DIGITS]}"
        for i in range(SLICES)
    ]


def result_key(content_sha256: str, digest: str) -> str:
    """The item holding an analysed image's reusable results."""
    return f"ndr#{content_sha256}#{digest}"


def entry_value(pdq_hex: str, expires_at: int) -> str:
    return f"{pdq_hex} {expires_at}"


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def candidates(
    items: Iterable[Mapping[str, Any]],
    pdq_hex: str,
    max_distance: int,
    now_epoch: int,
    key_attribute: str,
) -> list[tuple[int, str]]:
    """(distance, content sha256) of every unexpired image filed in `items` within
    `max_distance` of `pdq_hex`, nearest first."""
    found: dict[str, int] = {}
    for item in items:
        for name, value in item.items():
            if name == key_attribute or not isinstance(value, str):
                continue
            stored, _, expires = value.partition(" ")
            if not expires.isdigit() or int(expires) <= now_epoch or len(stored) != PDQ_DIGITS:
                continue
            d = distance(stored, pdq_hex)
            if d <= max_distance:
                found[name] = min(d, found.get(name, d))
    return sorted((d, sha) for sha, d in found.items())
