"""RapidOCR on rendered text: accuracy by font size, no downloads, categories end to end."""

from __future__ import annotations

import socket

import pytest

from common.models import ocr as ocr_module
from common.models.text_categories import BlockedTerms, categorize, flags
from local.tools.safe_images import text_image

LINES = [
    "call 555-0100 buy now",
    "http://spam.example",
    "+1 (555) 010-0100",
    "mail info@spam.example",
]


@pytest.mark.parametrize("size", [12, 16, 24, 32, 48, 72])
def test_reads_url_and_phone_at_font_sizes(ocr, size):
    image = text_image(LINES, size=size, width=max(360, size * 16))
    read = [line["text"] for line in ocr.predict(image).details["lines"]]
    assert read == LINES


def test_small_text_across_a_wide_banner_is_read_at_the_detection_limit(ocr):
    """The detector sees at most 640 px: 20 px text on an 1,800 px banner still reads."""
    image = text_image(LINES, size=20, width=1800)
    assert [line["text"] for line in ocr.predict(image).details["lines"]] == LINES


def test_lines_have_boxes_and_confidences(ocr):
    prediction = ocr.predict(text_image(LINES[:2]))
    assert prediction.scores["text"] > 0.9
    first = prediction.details["lines"][0]
    assert set(first) == {"text", "confidence", "box", "polygon", "rotation"}
    assert first["rotation"] == 0
    xmin, ymin, xmax, ymax = first["box"]
    assert 0 <= xmin < xmax <= 1 and 0 <= ymin < ymax <= 1
    assert len(first["polygon"]) == 4


@pytest.mark.parametrize("name", ["blank"])
def test_no_text_on_images_without_text(ocr, images, name):
    prediction = ocr.predict(images[name])
    assert prediction.details["lines"] == [] and prediction.scores["text"] == 0.0


@pytest.mark.parametrize("name", ["grace_hopper", "shapes", "blank"])
def test_stray_marks_on_photos_make_no_categories(ocr, images, name):
    """OCR reads a circle as "O" or stars as "***"; the rules must not turn that into flags."""
    lines = [line["text"] for line in ocr.predict(images[name]).details["lines"]]
    assert flags(categorize(lines, BlockedTerms(["buy now", "free money"]))) == []


def test_categories_from_ocr_output(ocr):
    lines = [line["text"] for line in ocr.predict(text_image(LINES)).details["lines"]]
    result = categorize(lines, BlockedTerms(["buy now"]))
    assert flags(result) == ["spam_link", "contact_info", "blocked_terms"]
    assert [e["text"] for e in result["contact_info"]] == [
        "555-0100",
        "+1 (555) 010-0100",
        "info@spam.example",
    ]


def test_uses_bundled_models_and_never_the_network(monkeypatch):
    params = ocr_module.engine_params()
    for key in ("Det.model_path", "Rec.model_path"):
        assert "/rapidocr/models/" in params[key]

    def refuse(*args, **kwargs):
        raise AssertionError("RapidOCR tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    fresh = ocr_module.RapidOcr()
    fresh.load()  # builds new sessions and runs a warm-up image
    assert fresh.predict(text_image(["hello 2024"])).details["lines"][0]["text"] == "hello 2024"


def test_missing_bundled_model_is_an_error_not_a_download():
    with pytest.raises(FileNotFoundError):
        ocr_module.bundled_model("absent.onnx")
