"""The text branch on the generated evasion set: rotated text, QR codes and barcodes, and
the normalised tricks, end to end through RapidOCR, OpenCV and the decision rules."""

from __future__ import annotations

import pytest

from common import codes, text_analysis
from common.contract import Branch, Decision
from common.decision import Rules, decide
from local.tools import evasions
from local.tools.safe_images import encoded

RULES = text_analysis.TextRules()


def decision(ocr, image):
    result = text_analysis.analyze_image(image, RULES, ocr)
    return decide({Branch.TEXT: result}, Rules()), result


@pytest.fixture(scope="module")
def outcomes(ocr):
    """Every case of the evasion set, analysed once: (case, verdict, result)."""
    return [(case, *decision(ocr, case.image)) for case in evasions.cases(variants=1)]


def test_at_least_nine_in_ten_evasions_are_flagged(outcomes):
    caught = [c.name for c, v, _ in outcomes if v.decision in (Decision.REVIEW, Decision.REJECT)]
    missed = [c.name for c, v, _ in outcomes if c.name not in caught]
    assert len(caught) / len(outcomes) >= 0.9, missed


@pytest.mark.parametrize(
    "trick",
    sorted(
        {t for t, _, _ in evasions.TEXTS} | {"rotated_90", "rotated_180", "rotated_270", "qr_code"}
    ),
)
def test_each_trick_is_caught_in_most_of_its_renderings(outcomes, trick):
    mine = [(c, v) for c, v, _ in outcomes if c.trick == trick]
    caught = [c for c, v in mine if v.decision == Decision.REVIEW]
    assert mine and len(caught) * 2 >= len(mine), [c.name for c, _ in mine]


def test_safe_photos_and_benign_text_stay_approved(ocr):
    for case in evasions.safe_photos() + evasions.benign():
        verdict, result = decision(ocr, case.image)
        assert verdict.decision == Decision.APPROVE, (case.name, result["lines"], verdict.reasons)


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotated_lines_are_read_turned_back(ocr, rotation):
    image = evasions.render(["Visit bigwin.example today"], rotation=rotation)
    (line,) = ocr.predict(image).details["lines"]
    assert line["text"] == "Visit bigwin.example today"
    assert line["rotation"] == {90: 270, 180: 180, 270: 90}[rotation]


def test_upright_lines_are_not_read_twice(ocr, monkeypatch):
    calls = []
    engine = ocr._engine
    original = engine.recognize_txt
    monkeypatch.setattr(
        engine, "recognize_txt", lambda crops: calls.append(len(crops)) or original(crops)
    )
    lines = ocr.predict(evasions.render(["Visit bigwin.example today"])).details["lines"]
    assert lines[0]["rotation"] == 0
    assert calls == [1]  # rapidocr's own recognition, no second reading


def test_a_qr_code_carrying_a_link_is_a_spam_link_named_as_from_a_code(ocr):
    image = evasions.qr_image("https://bigwin.example/promo", background="photo")
    verdict, result = decision(ocr, image)
    assert verdict.decision == Decision.REVIEW
    assert [c["kind"] for c in result["codes"]] == [codes.QR]
    assert result["codes"][0]["text"] == "https://bigwin.example/promo"
    (link,) = [s for s in result["signals"] if s["category"] == "spam_link"]
    assert link["score"] == 1.0
    assert "https://bigwin.example/promo in a QR_CODE" in link["evidence"][0]


def test_a_barcode_is_decoded_with_its_type():
    found = codes.read_codes(evasions.barcode_image("590123412345"))
    assert found == [
        {"kind": "EAN_13", "text": evasions.ean13("590123412345"), "box": found[0]["box"]}
    ]


def test_no_codes_on_the_safe_photos(images):
    for name, image in images.items():
        assert codes.read_codes(image) == [], name


def test_evidence_names_the_trick_and_what_was_read(ocr):
    result = text_analysis.analyze(
        encoded(evasions.render(["Visit bigwin dot example"])), RULES, ocr
    )
    (link,) = result["signals"]
    assert link["category"] == "spam_link"
    assert link["evidence"] == [
        "domain bigwin.example (read as 'Visit bigwin dot example': spelled-out dot)"
    ]
