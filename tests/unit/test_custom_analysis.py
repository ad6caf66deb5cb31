"""The custom analyzer's checks and signals, with models whose scores are injected."""

from __future__ import annotations

import io

from PIL import Image

from common.custom_analysis import CustomRules, analyze
from common.images import dhash, hamming, open_image
from local.tools import fixtures
from tests.support.models import custom_models


def categories(result: dict) -> list[str]:
    return [s["category"] for s in result["signals"]]


def evidence(result: dict, category: str) -> str:
    return next(" ".join(s["evidence"]) for s in result["signals"] if s["category"] == category)


def test_same_image_same_result():
    data = fixtures.png(seed=1)
    first = analyze(data, CustomRules(), custom_models())
    again = analyze(data, CustomRules(), custom_models())
    first.pop("timings_ms"), again.pop("timings_ms")
    first.pop("bank_ms"), again.pop("bank_ms")
    assert first == again


def test_nsfw_score_is_always_reported_with_the_model_version():
    result = analyze(fixtures.jpeg(seed=5), CustomRules(), custom_models(nsfw=0.93))
    (nsfw,) = [s for s in result["signals"] if s["category"] == "nsfw"]
    assert nsfw["score"] == 0.93 and "open_nsfw 0.930" in nsfw["evidence"]
    assert result["scores"]["nsfw"] == 0.93
    assert result["models"] == {"open_nsfw": "open_nsfw==fixed", "blazeface": "blazeface==fixed"}
    assert set(result["timings_ms"]) == {"open_nsfw", "blazeface"}


def test_faces_give_a_signal_with_count_and_boxes():
    face = {"box": [0.2, 0.1, 0.6, 0.5], "score": 0.94, "keypoints": []}
    result = analyze(fixtures.jpeg(seed=5), CustomRules(), custom_models(faces=[face]))
    assert "faces" in categories(result) and result["face_count"] == 1
    assert result["faces"] == [face]
    assert "1 face(s)" in evidence(result, "faces")
    no_face = analyze(fixtures.jpeg(seed=5), CustomRules(), custom_models())
    assert "faces" not in categories(no_face) and no_face["face_count"] == 0


def test_blocklist_matches_near_duplicates_not_other_images():
    original = fixtures.png(seed=fixtures.BLOCKLISTED_SEED)
    digest = dhash(open_image(original))
    # A re-encoded, slightly resized copy is still a near-duplicate.
    img = open_image(original).resize((250, 250))
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=70)
    rules = CustomRules(blocklist=(digest,), max_distance=10)
    near = analyze(buf.getvalue(), rules, custom_models())
    assert "blocklisted" in categories(near)
    assert near["scores"]["blocklist_similarity"] >= 1 - 10 / 64
    other = analyze(fixtures.png(seed=99), rules, custom_models())
    assert "blocklisted" not in categories(other)
    assert hamming(digest, other["dhash"]) > 10


def test_too_small_and_extreme_aspect_ratio_are_unusable():
    tiny = analyze(fixtures.png(90, 90, seed=2), CustomRules(min_side=100), custom_models())
    assert "unusable" in categories(tiny) and "too small" in evidence(tiny, "unusable")
    strip = analyze(fixtures.png(800, 100, seed=3), CustomRules(), custom_models())
    assert "unusable" in categories(strip) and "aspect ratio" in evidence(strip, "unusable")


def test_blank_image_is_off_topic():
    result = analyze(fixtures.blank_png(), CustomRules(), custom_models())
    assert categories(result) == ["nsfw", "off_topic"]


def test_corrupt_bytes_are_unusable_and_no_model_runs():
    models = custom_models()
    result = analyze(b"\x89PNG\r\n\x1a\n" + b"\0" * 50, CustomRules(), models)
    assert categories(result) == ["unusable"]
    assert evidence(result, "unusable").startswith("corrupt")
    assert models.nsfw.calls == 0  # type: ignore[attr-defined]


def test_clean_texture_has_only_the_nsfw_score():
    result = analyze(fixtures.jpeg(seed=5), CustomRules(), custom_models())
    assert categories(result) == ["nsfw"]


def test_plugin_signals_are_merged():
    def plugin(img: Image.Image, data: bytes) -> dict:
        return {
            "signals": [{"category": "cat", "score": 0.9, "evidence": ["model: cat"]}],
            "scores": {"cat": 0.9},
        }

    result = analyze(fixtures.jpeg(seed=5), CustomRules(), custom_models(), plugin)
    assert "cat" in categories(result)
    assert result["scores"]["cat"] == 0.9
