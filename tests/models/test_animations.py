"""Animated uploads through the real models: a safe photo clip whose later frame carries a
link and a phone number is flagged by that frame, in one call per branch. The unsafe
visual path uses injected scores through the models' interface (no explicit image)."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageStat

from common import custom_analysis, rekognition, text_analysis
from common.custom_analysis import CustomModels, CustomRules
from common.decision import Rules, decide
from common.images import AnimationRules
from common.models.base import Prediction
from local.tools.safe_images import spam_animation
from local.twins import rekognition as twin
from local.twins.rekognition_model import RekognitionStandIn

FORMATS = [("GIF", "image/gif"), ("WEBP", "image/webp"), ("PNG", "image/png")]
RULES = Rules(unsafe_categories=("Explicit", "Explicit Nudity"))


def by_category(result):
    return {s["category"]: s for s in result["signals"]}


def white(img: Image.Image) -> bool:
    return ImageStat.Stat(img.convert("L")).mean[0] > 200


@pytest.mark.parametrize(("fmt", "content_type"), FORMATS)
def test_the_text_branch_flags_the_frame_with_the_link_and_the_phone(ocr, fmt, content_type):
    result = text_analysis.analyze(
        spam_animation(fmt), text_analysis.TextRules(), ocr, animation=AnimationRules()
    )
    signals = by_category(result)
    assert set(signals) == {"spam_link", "contact_info"}
    assert signals["spam_link"]["frame"] == 8 and signals["contact_info"]["frame"] == 8
    assert any("bigwin.example" in e for e in signals["spam_link"]["evidence"])
    assert signals["spam_link"]["evidence"][0].startswith("frame 8: ")
    assert result["frames"]["count"] == 12 and 8 in result["frames"]["analyzed"]
    assert len(result["frames"]["analyzed"]) == 8
    assert "[frame 8]" in result["text"]
    assert decide({"text": result}, Rules()).decision == "review"


def test_first_frame_only_lets_the_later_frame_through(ocr):
    policy = AnimationRules(policy="first-frame-only")
    result = text_analysis.analyze(
        spam_animation("GIF"), text_analysis.TextRules(), ocr, animation=policy
    )
    assert result["signals"] == [] and result["frames"]["analyzed"] == [0]
    assert decide({"text": result}, Rules()).decision == "approve"


class WhiteFrameNsfw:
    """The NSFW model's interface with an injected score: high for the white frame only."""

    name = "open_nsfw"
    version = "injected"

    def load(self) -> None:
        return None

    def predict(self, image: Image.Image) -> Prediction:
        return Prediction({"nsfw": 0.95 if white(image) else 0.01})


def test_the_custom_branch_runs_per_frame_and_records_the_frame(faces):
    models = CustomModels(nsfw=WhiteFrameNsfw(), faces=faces)
    data = spam_animation("WEBP")
    result = custom_analysis.analyze(data, CustomRules(), models, animation=AnimationRules())
    signals = by_category(result)
    assert signals["nsfw"]["score"] == 0.95 and signals["nsfw"]["frame"] == 8
    assert signals["faces"]["frame"] != 8  # the portrait, not the text card
    assert "off_topic" not in signals
    assert result["frames"]["count"] == 12 and result["face_count"] >= 1
    still = custom_analysis.analyze(data, CustomRules(), models, animation=AnimationRules(
        policy="first-frame-only"))  # fmt: skip
    assert by_category(still)["nsfw"]["score"] == 0.01


class StandInClient:
    """boto3's rekognition client shape over the local stand-in: its format and size checks
    (open_checked) and its response, with nsfwjs scores injected per frame."""

    def __init__(self, model_dir) -> None:
        self.model = RekognitionStandIn(
            model_dir,
            scorer=lambda img: {"Porn": 0.97, "Neutral": 0.03} if white(img) else {"Neutral": 1.0},
        )
        self.formats: list[str] = []

    def detect_moderation_labels(self, Image, MinConfidence):  # noqa: N803
        img = twin.open_checked(Image["Bytes"])
        self.formats.append(str(img.format))
        return self.model.detect_moderation_labels(img, MinConfidence)


class S3:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def get_object(self, Bucket, Key):  # noqa: N803
        return {"Body": io.BytesIO(self.data)}


@pytest.mark.parametrize(("fmt", "content_type"), FORMATS)
def test_the_stand_in_gets_one_jpeg_per_frame_and_the_verdict_is_the_worst_frame(
    model_dir, fmt, content_type
):
    client = StandInClient(model_dir)
    data = spam_animation(fmt)
    out = rekognition.detect(
        client, S3(data), "b", "k", 50.0, content_type, animation=AnimationRules()
    )
    assert client.formats == ["JPEG"] * 8 and out["calls"] == 8
    frames_of = {lab["name"]: lab["frame"] for lab in out["labels"]}
    assert frames_of == {"Explicit": 8, "Explicit Nudity": 8}
    assert decide({"rekognition": out}, RULES).decision == "reject"
