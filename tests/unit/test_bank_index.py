"""Matching pictures against hash banks: variants, distances, quality, allow lists, and the
custom analyzer's signals and record."""

from __future__ import annotations

import io

from PIL import Image

from common import bank_index, pdq
from common.contract import BankMatchField
from common.custom_analysis import CustomRules, analyze
from common.decision import DEFAULT_CATEGORIES, Effect
from common.disclosure import owner_view
from common.images import dhash
from local.tools import hash_corpus, safe_images
from tests.support.models import custom_models

PHOTO = safe_images.grace_hopper()
DISTANCES = {"pdq": 31, "dhash": 10}


def bank(name, action, pictures=(), pdq_only=False, dhash_only=False, distances=DISTANCES):
    entries = []
    for i, img in enumerate(pictures):
        entry = {"entry_id": f"{name}-{i}"}
        if not dhash_only:
            entry["pdq"] = pdq.hash_image(img).hash
        if not pdq_only:
            entry["dhash"] = dhash(img)
        entries.append(entry)
    return bank_index.build_bank(name, action, distances, entries)


def jpeg(img, quality=40):
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def test_an_exact_copy_matches_at_distance_zero():
    (m,) = bank_index.match([bank("bad", "reject", [PHOTO])], bank_index.query_of(PHOTO))
    assert m == {
        "bank": "bad",
        "action": "reject",
        "entry_id": "bad-0",
        "hash_type": "pdq",
        "distance": 0,
    }


def test_mirrored_and_rotated_copies_match_through_the_variants():
    banks = [bank("bad", "reject", [PHOTO], pdq_only=True)]
    for t in (Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.ROTATE_90):
        copy = PHOTO.transpose(t)
        (m,) = bank_index.match(banks, bank_index.query_of(copy))
        assert m["hash_type"] == "pdq" and m["distance"] <= 31
        # Without the variants (the original's hash alone) it would not have matched.
        assert pdq.distance(pdq.hash_image(copy).hash, pdq.hash_image(PHOTO).hash) > 31


def test_dhash_variants_match_a_mirrored_copy():
    banks = [bank("bad", "reject", [PHOTO], dhash_only=True)]
    copy = PHOTO.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    assert dhash(copy) != dhash(PHOTO)
    (m,) = bank_index.match(banks, bank_index.query_of(copy))
    assert m["hash_type"] == "dhash" and m["distance"] <= 10


def test_a_distinct_picture_does_not_match():
    banks = [bank("bad", "reject", [hash_corpus.scene(s) for s in range(20)])]
    assert bank_index.match(banks, bank_index.query_of(PHOTO)) == []


def test_the_bank_max_distance_is_the_limit():
    cropped = PHOTO.crop((20, 30, 500, 590))
    d = pdq.distance(pdq.hash_image(cropped).hash, pdq.hash_image(PHOTO).hash)
    assert d > 0
    tight = bank("t", "reject", [PHOTO], pdq_only=True, distances={"pdq": d - 1, "dhash": 10})
    loose = bank("l", "reject", [PHOTO], pdq_only=True, distances={"pdq": d, "dhash": 10})
    assert [m["bank"] for m in bank_index.match([tight, loose], bank_index.query_of(cropped))] == [
        "l"
    ]


def test_a_low_quality_pdq_is_not_matched_but_dhash_is():
    flat = Image.new("RGB", (300, 200), (90, 90, 90))
    query = bank_index.query_of(flat)
    assert query.pdq_quality < pdq.MIN_QUALITY
    assert bank_index.match([bank("b", "reject", [flat], pdq_only=True)], query) == []
    (m,) = bank_index.match([bank("b", "reject", [flat], dhash_only=True)], query)
    assert m["hash_type"] == "dhash"


def test_an_allow_match_suppresses_reject_and_review():
    banks = [
        bank("bad", "reject", [PHOTO]),
        bank("check", "review", [PHOTO]),
        bank("fine", "allow", [PHOTO]),
    ]
    assert [m["bank"] for m in bank_index.match(banks, bank_index.query_of(PHOTO))] == ["fine"]
    assert [m["bank"] for m in bank_index.match(banks[:2], bank_index.query_of(PHOTO))] == [
        "bad",
        "check",
    ]


def test_the_analyzer_rejects_on_a_reject_bank_and_records_the_match():
    banks = [bank("bad", "reject", [PHOTO])]
    result = analyze(jpeg(PHOTO), CustomRules(), custom_models(), banks=banks)
    (sig,) = [s for s in result["signals"] if s["category"] == "blocklisted"]
    assert "bank bad entry bad-0" in sig["evidence"][0]
    (m,) = result[BankMatchField.MATCHES]
    assert m["bank"] == "bad" and m["hash_type"] == "pdq"
    assert pdq.is_hash(result["pdq"]) and result["pdq_quality"] == 100


def test_a_review_bank_gives_a_review_signal_and_allow_gives_none():
    review = [bank("check", "review", [PHOTO])]
    result = analyze(jpeg(PHOTO), CustomRules(), custom_models(), banks=review)
    assert "bank_review" in [s["category"] for s in result["signals"]]
    assert DEFAULT_CATEGORIES["bank_review"].effect == Effect.REVIEW
    allowed = analyze(
        jpeg(PHOTO), CustomRules(), custom_models(), banks=review + [bank("ok", "allow", [PHOTO])]
    )
    cats = [s["category"] for s in allowed["signals"]]
    assert "bank_review" not in cats and "blocklisted" not in cats
    assert [m["bank"] for m in allowed[BankMatchField.MATCHES]] == ["ok"]


def test_the_uploader_never_sees_the_match():
    banks = [bank("bad", "reject", [PHOTO])]
    result = analyze(jpeg(PHOTO), CustomRules(), custom_models(), banks=banks)
    job = {
        "job_id": "j",
        "status": "complete",
        "decision": "reject",
        "results": {"custom": result},
        "categories": [{"category": "blocklisted", "effect": "reject"}],
        BankMatchField.MATCHES: result[BankMatchField.MATCHES],
    }
    view = owner_view(job)
    text = repr(view)
    assert "bad-0" not in text and "bank_matches" not in text and "pdq" not in text
    assert view["reasons"] == ["The image matches an image that is not allowed here."]


def test_a_bordered_or_captioned_copy_matches_through_the_trimmed_query():
    from PIL import ImageOps

    from bench.banks import _caption

    scene = hash_corpus.scene(1005)
    banks = [bank("bad", "reject", [scene], pdq_only=True)]
    bordered = ImageOps.expand(scene, border=40, fill=(0, 0, 0))
    captioned = _caption(scene)
    for copy in (bordered, captioned):
        assert pdq.distance(pdq.hash_image(copy).hash, pdq.hash_image(scene).hash) > 31
        assert bank_index.trim_bands(copy) is not None
        (m,) = bank_index.match(banks, bank_index.query_of(copy))
        assert m["entry_id"] == "bad-0"


def test_a_coloured_edge_is_not_trimmed():
    flat_edge = Image.new("RGB", (200, 200), (120, 60, 200))
    flat_edge.paste(PHOTO.resize((100, 100)), (50, 50))
    assert bank_index.trim_bands(flat_edge) is None
