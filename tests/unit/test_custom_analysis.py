"""The custom analyzer: deterministic blocklist and image checks."""

from __future__ import annotations

import io

from PIL import Image

from common.custom_analysis import CustomRules, analyze
from common.images import dhash, hamming, open_image
from local.tools import fixtures


def test_same_image_same_hash_and_result():
    data = fixtures.png(seed=1)
    assert analyze(data, CustomRules()) == analyze(data, CustomRules())


def test_blocklist_matches_near_duplicates_not_other_images():
    original = fixtures.png(seed=fixtures.BLOCKLISTED_SEED)
    digest = dhash(open_image(original))
    # A re-encoded, slightly resized copy is still a near-duplicate.
    img = open_image(original).resize((250, 250))
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=70)
    rules = CustomRules(blocklist=(digest,), max_distance=10)
    near = analyze(buf.getvalue(), rules)
    assert "blocklisted" in near["flags"]
    assert near["scores"]["blocklist_similarity"] >= 1 - 10 / 64
    other = analyze(fixtures.png(seed=99), rules)
    assert "blocklisted" not in other["flags"]
    assert hamming(digest, other["dhash"]) > 10


def test_too_small_and_extreme_aspect_ratio_are_unusable():
    tiny = analyze(fixtures.png(32, 32, seed=2), CustomRules(min_side=64))
    assert tiny["flags"] == ["unusable"] and "too small" in tiny["details"]["unusable"]
    strip = analyze(fixtures.png(800, 100, seed=3), CustomRules(max_aspect_ratio=4.0))
    assert "unusable" in strip["flags"] and "aspect ratio" in strip["details"]["unusable"]


def test_blank_image_is_off_topic():
    result = analyze(fixtures.blank_png(), CustomRules())
    assert result["flags"] == ["off_topic"]


def test_corrupt_bytes_are_unusable_not_an_exception():
    result = analyze(b"\x89PNG\r\n\x1a\n" + b"\0" * 50, CustomRules())
    assert result["flags"] == ["unusable"]
    assert result["details"]["unusable"].startswith("corrupt")


def test_clean_texture_has_no_flags():
    assert analyze(fixtures.jpeg(seed=5), CustomRules())["flags"] == []


def test_plugin_results_are_merged():
    def plugin(img: Image.Image, data: bytes) -> dict:
        return {
            "flags": ["off_topic"],
            "details": {"off_topic": "model: cat"},
            "scores": {"cat": 0.9},
        }

    result = analyze(fixtures.jpeg(seed=5), CustomRules(), plugin)
    assert result["flags"] == ["off_topic"]
    assert result["scores"]["cat"] == 0.9
