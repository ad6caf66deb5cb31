"""PDQ against the reference implementation (Meta's C++ behind `pdqhash`), on a varied corpus.

`pdq_reference.json` holds the reference's hashes, quality and dihedral hashes of every
picture of `local.tools.hash_corpus` (recorded by `scripts/pdq_reference.py`). Held: the
quality is equal on every picture, and a hash of usable quality (>= 50) is within
`MAX_BITS` of the reference's (float32 in the reference, float64 here: a coefficient that
sits on the median can round either way). Today 21 of 22 usable pictures are identical.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from common import pdq
from local.tools import hash_corpus, safe_images

REFERENCE = json.loads((Path(__file__).with_name("pdq_reference.json")).read_text())
CORPUS = dict(hash_corpus.corpus())
MAX_BITS = 2


def test_the_corpus_is_the_recorded_one():
    assert set(CORPUS) == set(REFERENCE)
    for name, img in CORPUS.items():
        assert list(img.size) == REFERENCE[name]["size"], name


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_hash_and_quality_match_the_reference(name):
    ours = pdq.hash_image(CORPUS[name])
    ref = REFERENCE[name]
    assert ours.quality == ref["quality"]
    if ref["quality"] >= pdq.MIN_QUALITY:
        assert pdq.distance(ours.hash, ref["pdq"]) <= MAX_BITS


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_dihedral_hashes_match_the_reference(name):
    variants, quality = pdq.dihedral(CORPUS[name])
    ref = REFERENCE[name]
    assert quality == ref["quality"] and len(variants) == 8
    if ref["quality"] >= pdq.MIN_QUALITY:
        for ours, theirs in zip(variants, ref["dihedral"], strict=True):
            assert pdq.distance(ours, theirs) <= MAX_BITS


def test_most_pictures_are_bit_identical():
    usable = [n for n in REFERENCE if REFERENCE[n]["quality"] >= pdq.MIN_QUALITY]
    same = [n for n in usable if pdq.hash_image(CORPUS[n]).hash == REFERENCE[n]["pdq"]]
    assert len(same) >= len(usable) - 1


@pytest.mark.parametrize(
    "transpose",
    [
        Image.Transpose.ROTATE_90,
        Image.Transpose.ROTATE_180,
        Image.Transpose.ROTATE_270,
        Image.Transpose.FLIP_LEFT_RIGHT,
        Image.Transpose.FLIP_TOP_BOTTOM,
        Image.Transpose.TRANSPOSE,
        Image.Transpose.TRANSVERSE,
    ],
)
def test_a_rotated_or_mirrored_copy_hashes_to_one_of_the_variants(transpose):
    photo = safe_images.grace_hopper()
    copy = pdq.hash_image(photo.transpose(transpose)).hash
    variants, _ = pdq.dihedral(photo)
    # Within PDQ's match distance, not bit-equal: the decimation samples each cell's
    # centre rounded down, which a flip moves by up to a pixel (the reference does the same).
    assert min(pdq.distance(copy, v) for v in variants) <= pdq.DEFAULT_MAX_DISTANCE
    # ... and far from the original's hash: the variants are what makes it match.
    assert pdq.distance(copy, variants[0]) > 90


def test_distinct_pictures_are_far_apart():
    hashes = [pdq.hash_image(hash_corpus.scene(seed)).hash for seed in range(10)]
    gaps = [pdq.distance(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1 :]]
    assert min(gaps) > pdq.DEFAULT_MAX_DISTANCE


def test_a_flat_picture_has_no_quality():
    flat = Image.new("RGB", (300, 200), (120, 120, 120))
    assert pdq.hash_image(flat).quality == 0


def test_box_filter_is_the_reference_running_mean():
    values = np.arange(10, dtype=np.float64)[None, :] ** 2
    window, half = 4, 3
    expected = [
        np.mean(values[0, max(0, k - (window - half)) : min(10, k + half)]) for k in range(10)
    ]
    assert np.allclose(pdq.box_filter(values, window, axis=1)[0], expected)


def test_hash_words_and_hex_round_trip():
    h = REFERENCE["grace_hopper"]["pdq"]
    words = pdq.words(h)
    assert words.dtype == np.uint64 and "".join(f"{int(w):016x}" for w in words) == h
    assert pdq.is_hash(h) and not pdq.is_hash(h[:-1]) and not pdq.is_hash("g" * 64)
