"""The Rekognition stand-in: no labels on safe images, correct shapes for injected scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.twins.rekognition_model import (
    CLASSES,
    RekognitionStandIn,
    moderation_response,
    preprocess,
    resize_bilinear_align_corners,
)
from scripts import nsfwjs_convert

VERSION = "local-standin test"


def probs(**kw):
    base = dict.fromkeys(CLASSES, 0.0)
    base.update(kw)
    return base


@pytest.mark.parametrize("name", ["grace_hopper", "text", "blank", "shapes"])
def test_no_explicit_labels_on_safe_images(standin, images, name):
    response = standin.detect_moderation_labels(images[name], min_confidence=10.0)
    names = {label["Name"] for label in response["ModerationLabels"]}
    assert not names & {"Explicit", "Explicit Nudity"}
    assert response["ModerationModelVersion"].startswith("local-standin nsfwjs@4.4.0")


def test_photos_are_neutral(standin, images):
    for name in ("grace_hopper",):
        scores = standin.predict(images[name]).scores
        assert max(scores, key=scores.get) == "Neutral", name
        assert sum(scores.values()) == pytest.approx(1.0, abs=1e-4)


def test_porn_maps_to_explicit_hierarchy():
    response = moderation_response(probs(Porn=0.97, Neutral=0.03), VERSION)
    assert response["ModerationLabels"] == [
        {"Name": "Explicit", "ParentName": "", "Confidence": 97.0, "TaxonomyLevel": 1},
        {
            "Name": "Explicit Nudity",
            "ParentName": "Explicit",
            "Confidence": 97.0,
            "TaxonomyLevel": 2,
        },
    ]
    assert response["ContentTypes"] == []
    assert response["ModerationModelVersion"] == VERSION


def test_hentai_is_explicit_and_illustrated():
    response = moderation_response(probs(Hentai=0.6, Porn=0.3, Drawing=0.1), VERSION)
    assert [(lab["Name"], lab["Confidence"]) for lab in response["ModerationLabels"]] == [
        ("Explicit", 90.0),
        ("Explicit Nudity", 90.0),
    ]
    assert response["ContentTypes"] == [{"Name": "Illustrated", "Confidence": 70.0}]


def test_sexy_is_swimwear_or_underwear():
    response = moderation_response(probs(Sexy=0.8, Neutral=0.2), VERSION)
    assert response["ModerationLabels"] == [
        {"Name": "Swimwear or Underwear", "ParentName": "", "Confidence": 80.0, "TaxonomyLevel": 1}
    ]


@pytest.mark.parametrize("cls", ["Drawing", "Neutral"])
def test_drawing_and_neutral_give_no_labels(cls):
    assert moderation_response(probs(**{cls: 1.0}), VERSION)["ModerationLabels"] == []


def test_min_confidence_is_honoured():
    p = probs(Porn=0.55, Sexy=0.45)
    assert [lab["Name"] for lab in moderation_response(p, VERSION, 50)["ModerationLabels"]] == [
        "Explicit",
        "Explicit Nudity",
    ]
    assert [lab["Name"] for lab in moderation_response(p, VERSION, 40)["ModerationLabels"]] == [
        "Explicit",
        "Explicit Nudity",
        "Swimwear or Underwear",
    ]
    assert moderation_response(p, VERSION, 60)["ModerationLabels"] == []
    assert moderation_response(p, VERSION, 55)["ModerationLabels"][0]["Confidence"] == 55.0
    for bad in (-1, 100.5):
        with pytest.raises(ValueError):
            moderation_response(p, VERSION, bad)
    with pytest.raises(ValueError):
        moderation_response({"Violence": 1.0}, VERSION)


def test_scorer_seam_runs_the_whole_path(images, model_dir):
    standin = RekognitionStandIn(model_dir, scorer=lambda image: probs(Porn=0.99, Neutral=0.01))
    standin.load()  # no session needed with a scorer
    response = standin.detect_moderation_labels(images["blank"], min_confidence=90)
    assert [lab["Name"] for lab in response["ModerationLabels"]] == ["Explicit", "Explicit Nudity"]
    json.dumps(response)
    prediction = standin.predict(images["blank"])
    assert prediction.scores["Porn"] == 0.99
    assert prediction.details["response"]["ModerationLabels"][0]["Name"] == "Explicit"


def test_response_feeds_the_projects_label_parser(standin, images):
    """The shape common/rekognition.py reads: Name, Confidence, ParentName, TaxonomyLevel."""
    response = moderation_response(probs(Porn=0.9, Neutral=0.1), VERSION)
    parents = {lab["Name"]: lab.get("ParentName", "") for lab in response["ModerationLabels"]}
    assert parents == {"Explicit": "", "Explicit Nudity": "Explicit"}
    assert all(isinstance(lab["Confidence"], float) for lab in response["ModerationLabels"])


def test_preprocess_is_nsfwjs_resize():
    import numpy as np

    ramp = np.tile(np.arange(448, dtype=np.float64)[None, :, None], (10, 1, 3))
    out = resize_bilinear_align_corners(ramp, 224)
    assert out.shape == (224, 224, 3)
    assert out[0, 0, 0] == 0 and out[0, -1, 0] == pytest.approx(447)  # align corners: ends to ends
    from local.tools.safe_images import blank_page

    tensor = preprocess(blank_page())
    assert tensor.shape == (1, 224, 224, 3) and float(tensor.max()) == 1.0


def test_js_literal_parser():
    literal = nsfwjs_convert._JsLiteral(
        '{a:[1,.5,-2e-3,28941005139666446e-21],"b c":!0,d:!1,e:null,f:"x\\"y",g:{}}'
    )
    value, end = literal.parse(0)
    assert value == {
        "a": [1, 0.5, -0.002, 2.8941005139666446e-05],
        "b c": True,
        "d": False,
        "e": None,
        "f": 'x"y',
        "g": {},
    }
    assert end == len(literal.s)


def test_converted_model_provenance(model_dir):
    record = json.loads((Path(model_dir) / "nsfwjs_mobilenet_v2.json").read_text())
    assert record["source_package"] == "nsfwjs" and record["source_version"] == "4.4.0"
    assert record["license_code"].startswith("MIT") and len(record["sha256_output"]) == 64
    assert record["classes"] == list(CLASSES)
