"""Matching a picture against the hash banks, vectorised: no AWS here (`banks.py` loads them).

The query is a picture's eight dihedral variants (four rotations, each mirrored), for
PDQ (from its 16x16 DCT, `pdq.dihedral`) and for dHash (eight transposed copies); when
the picture has a band added at an edge (a border, a caption strip), the variants of the
picture without it too. Each
bank's entries are numpy arrays: PDQ as four uint64 words per entry, dHash as one. A
lookup is one XOR and one popcount (`np.bitwise_count`) per word over the whole array,
per variant, column by column: about 3.2 M word operations for 100,000 entries.

Why a linear vectorised scan and not multi-index hashing (MIH): MIH splits a 256-bit hash
into 16 slices and finds candidates that agree exactly on one slice, which is sublinear
only while the radius is small against the slice count (PDQ's 31 bits over 16 slices
leaves pigeonhole slack of about 2 bits per slice, so each probe enumerates thousands of
near keys), and it needs a built index that costs memory and load time at cold start. At
this project's sizes (up to ~10^6 entries per bank) the scan is a few milliseconds, exact,
has nothing to build beyond the array, and its cost does not depend on the radius.

A PDQ hash under `pdq.MIN_QUALITY` is not matched (the reference's advice); dHash has no
quality and is always queried. An `allow` bank's match suppresses every `reject` and
`review` bank's match for the picture.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from common import pdq
from common.contract import BankAction, BankMatchField, HashType
from common.images import dhash

DHASH_TRANSPOSES = (
    None,
    Image.Transpose.ROTATE_90,
    Image.Transpose.ROTATE_180,
    Image.Transpose.ROTATE_270,
    Image.Transpose.FLIP_LEFT_RIGHT,
    Image.Transpose.FLIP_TOP_BOTTOM,
    Image.Transpose.TRANSPOSE,
    Image.Transpose.TRANSVERSE,
)
# dHash's 9x8 grid is taken from a copy this size at most (transposing it is cheap).
DHASH_WORK_SIDE = 256
# Bands added around a picture (a border, a caption strip) are trimmed for a second query:
# edge rows/columns where this share of pixels is within BAND_LEVELS of the edge's colour,
# at most MAX_TRIM of each side, when at least MIN_BAND rows/columns of one edge are.
BAND_SHARE = 0.5
BAND_LEVELS = 24
MAX_TRIM = 0.3
MIN_BAND = 3
# The severity of a bank's action, for the most severe match first.
SEVERITY = {BankAction.REJECT: 2, BankAction.REVIEW: 1, BankAction.ALLOW: 0}


@dataclass(frozen=True)
class Query:
    """What a picture is looked up by: its variants' hashes, and PDQ's quality."""

    pdq: tuple[str, ...]
    pdq_quality: int
    dhash: tuple[str, ...]

    def words(self) -> np.ndarray:
        """The PDQ variants as an (n, 4) uint64 array."""
        return np.stack([pdq.words(h) for h in self.pdq])


def _variants(img: Image.Image) -> tuple[tuple[str, ...], int, tuple[str, ...]]:
    variants, quality = pdq.dihedral(img)
    work = img.convert("L")
    if max(work.size) > DHASH_WORK_SIDE:
        work.thumbnail((DHASH_WORK_SIDE, DHASH_WORK_SIDE))
    dhashes = tuple(dhash(work if t is None else work.transpose(t)) for t in DHASH_TRANSPOSES)
    # The original's dHash as the project has always computed it (from the full picture),
    # so entries added from a job's stored hash match exactly.
    return variants, quality, (dhash(img),) + dhashes[1:]


def trim_bands(img: Image.Image) -> Image.Image | None:
    """The picture without the bands added around it: a white or black border, or a
    caption strip (rows or columns at an edge where at least `BAND_SHARE` of the pixels
    are within `BAND_LEVELS` of the edge's own near-white or near-black colour), at most
    `MAX_TRIM` of a side each; None when there is nothing to trim."""
    grey = np.asarray(img.convert("L"), dtype=np.int16)
    rows, cols = grey.shape
    if min(rows, cols) < 32:
        return None

    def band(lines: np.ndarray) -> int:
        ground = int(np.median(lines[0]))
        if BAND_LEVELS < ground < 255 - BAND_LEVELS:
            return 0  # only white or black bands: a coloured edge is part of the picture
        near = (np.abs(lines - ground) <= BAND_LEVELS).mean(axis=1)
        limit = int(len(lines) * MAX_TRIM)
        count = 0
        while count < limit and near[count] >= BAND_SHARE:
            count += 1
        return count

    top, bottom = band(grey), band(grey[::-1])
    left, right = band(grey.T), band(grey.T[::-1])
    if max(top, bottom, left, right) < MIN_BAND:
        return None
    return img.crop((left, top, cols - right, rows - bottom))


def query_of(img: Image.Image) -> Query:
    """The variants of the picture, and of the picture without an added border or caption."""
    variants, quality, dhashes = _variants(img)
    trimmed = trim_bands(img)
    if trimmed is not None:
        more, more_quality, more_dhashes = _variants(trimmed)
        if more_quality >= pdq.MIN_QUALITY or quality < pdq.MIN_QUALITY:
            variants, quality = variants + more, max(quality, more_quality)
        dhashes += more_dhashes
    return Query(pdq=variants, pdq_quality=quality, dhash=dhashes)


@dataclass(frozen=True)
class Bank:
    name: str
    action: str
    max_distance: Mapping[str, int]
    pdq_ids: tuple[str, ...] = ()
    pdq_words: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), dtype=np.uint64))
    dhash_ids: tuple[str, ...] = ()
    dhash_words: np.ndarray = field(default_factory=lambda: np.zeros((0,), dtype=np.uint64))

    @functools.cached_property
    def pdq_columns(self) -> np.ndarray:
        """The PDQ words word-major, (4, entries), each row contiguous."""
        return np.ascontiguousarray(self.pdq_words.T)

    @property
    def size(self) -> int:
        return len(set(self.pdq_ids) | set(self.dhash_ids))

    @property
    def nbytes(self) -> int:
        return int(self.pdq_words.nbytes + self.dhash_words.nbytes)


def build_bank(
    name: str, action: str, max_distance: Mapping[str, int], entries: Iterable[Mapping[str, Any]]
) -> Bank:
    """A bank's arrays from its enabled entries (`{entry_id, pdq?, dhash?}`): the hex of
    every hash joined and read as big-endian uint64 words at once (a 100,000-entry bank
    in milliseconds, not an int() per word). A hash of the wrong length is skipped: it
    would shift every row after it."""
    pdq_ids: list[str] = []
    pdq_hex: list[str] = []
    dhash_ids: list[str] = []
    dhash_hex: list[str] = []
    for entry in entries:
        value = entry.get(HashType.PDQ)
        if value and len(str(value)) == pdq.HEX_DIGITS:
            pdq_ids.append(str(entry["entry_id"]))
            pdq_hex.append(str(value))
        value = entry.get(HashType.DHASH)
        if value and len(str(value)) == DHASH_DIGITS:
            dhash_ids.append(str(entry["entry_id"]))
            dhash_hex.append(str(value))
    return bank_of_columns(name, action, max_distance, pdq_ids, pdq_hex, dhash_ids, dhash_hex)


def bank_of_columns(
    name: str,
    action: str,
    max_distance: Mapping[str, int],
    pdq_ids: list[str],
    pdq_hex: list[str],
    dhash_ids: list[str],
    dhash_hex: list[str],
) -> Bank:
    """A bank from its entries' ids and hex hashes, column by column (PDQ hashes of 64
    digits, dHashes of 16; a damaged one is dropped)."""
    if not _all_hex(pdq_hex, pdq.HEX_DIGITS):  # entries are checked when added
        pdq_ids, pdq_hex = _hex_only(pdq_ids, pdq_hex, pdq.HEX_DIGITS)
    if not _all_hex(dhash_hex, DHASH_DIGITS):
        dhash_ids, dhash_hex = _hex_only(dhash_ids, dhash_hex, DHASH_DIGITS)
    return Bank(
        name=name,
        action=action,
        max_distance=dict(max_distance),
        pdq_ids=tuple(pdq_ids),
        pdq_words=_words(pdq_hex).reshape(-1, 4),
        dhash_ids=tuple(dhash_ids),
        dhash_words=_words(dhash_hex),
    )


DHASH_DIGITS = 16


def _all_hex(hexes: list[str], digits: int) -> bool:
    """Whether every string is `digits` hex digits (fromhex also takes spaces: the byte
    count tells)."""
    try:
        return len(bytes.fromhex("".join(hexes))) * 2 == digits * len(hexes)
    except ValueError:
        return False


def _hex_only(ids: list[str], hexes: list[str], digits: int) -> tuple[list[str], list[str]]:
    kept = [(i, h) for i, h in zip(ids, hexes, strict=True) if _all_hex([h], digits)]
    return [i for i, _ in kept], [h for _, h in kept]


def _words(hexes: list[str]) -> np.ndarray:
    """Hex strings (each a whole number of 64-bit words) as native uint64 words."""
    raw = bytes.fromhex("".join(hexes))
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64)


def _nearest_pdq(columns: np.ndarray, query_words: np.ndarray) -> tuple[int, int]:
    """(entry index, distance) of the nearest entry to any query variant. `columns` is the
    bank's PDQ words word-major, (4, entries): each XOR and popcount streams one contiguous
    uint64 column, and the distances add up in uint16, so no (variants x entries x 4)
    temporary is ever built."""
    best_index, best_distance = 0, 257
    for q in query_words:
        distances = np.bitwise_count(columns[0] ^ q[0]).astype(np.uint16)
        for w in range(1, 4):
            distances += np.bitwise_count(columns[w] ^ q[w])
        index = int(distances.argmin())
        if int(distances[index]) < best_distance:
            best_index, best_distance = index, int(distances[index])
    return best_index, best_distance


def _nearest_dhash(values: np.ndarray, query: np.ndarray) -> tuple[int, int]:
    best_index, best_distance = 0, 65
    for q in query:
        distances = np.bitwise_count(values ^ q)
        index = int(distances.argmin())
        if int(distances[index]) < best_distance:
            best_index, best_distance = index, int(distances[index])
    return best_index, best_distance


def match_bank(bank: Bank, query: Query, query_words: np.ndarray) -> dict[str, Any] | None:
    """The bank's nearest entry within its max distance (PDQ first), or None."""
    limit = bank.max_distance.get(HashType.PDQ, pdq.DEFAULT_MAX_DISTANCE)
    if len(bank.pdq_ids) and query.pdq_quality >= pdq.MIN_QUALITY:
        index, distance = _nearest_pdq(bank.pdq_columns, query_words)
        if distance <= limit:
            return _match(bank, bank.pdq_ids[index], HashType.PDQ, distance)
    limit = bank.max_distance.get(HashType.DHASH, 8)
    if len(bank.dhash_ids):
        q = np.array([int(h, 16) for h in query.dhash], dtype=np.uint64)
        index, distance = _nearest_dhash(bank.dhash_words, q)
        if distance <= limit:
            return _match(bank, bank.dhash_ids[index], HashType.DHASH, distance)
    return None


def _match(bank: Bank, entry_id: str, hash_type: str, distance: int) -> dict[str, Any]:
    return {
        BankMatchField.BANK: bank.name,
        BankMatchField.ACTION: bank.action,
        BankMatchField.ENTRY_ID: entry_id,
        BankMatchField.HASH_TYPE: hash_type,
        BankMatchField.DISTANCE: distance,
    }


def match(banks: Sequence[Bank], query: Query) -> list[dict[str, Any]]:
    """Every bank's match, most severe first; an `allow` match leaves only the allow ones."""
    words = query.words()
    found = [m for bank in banks if (m := match_bank(bank, query, words)) is not None]
    allowed = [m for m in found if m[BankMatchField.ACTION] == BankAction.ALLOW]
    if allowed:
        return allowed
    return sorted(
        found,
        key=lambda m: (-SEVERITY[m[BankMatchField.ACTION]], m[BankMatchField.DISTANCE]),
    )
