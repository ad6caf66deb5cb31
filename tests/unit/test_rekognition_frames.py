"""Rekognition on an animation: one DetectModerationLabels call per sampled frame, each
frame sent as JPEG bytes, labels merged at their most confident frame."""

from __future__ import annotations

import io

import pytest
from botocore.exceptions import ClientError
from PIL import Image, ImageStat

from common import frames, rekognition
from common.decision import Rules, decide
from common.images import AnimationRules
from local.tools import fixtures
from local.tools.safe_images import spam_animation

RULES = Rules(min_confidence=50, reject_threshold=90, unsafe_categories=("Explicit",))


class FrameRekognition:
    """Refuses what Rekognition refuses (anything but JPEG/PNG bytes); answers Explicit for a
    mostly white frame (the injected score), nothing otherwise; records each call."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def detect_moderation_labels(self, Image, MinConfidence):  # noqa: N803 - boto3's names
        self.calls.append(Image)
        if "S3Object" in Image:
            return {"ModerationLabels": [], "ModerationModelVersion": "7.0"}
        img = _open(Image["Bytes"])
        if img.format not in ("JPEG", "PNG"):
            raise ClientError(
                {"Error": {"Code": "InvalidImageFormatException", "Message": "bad"}}, "Detect"
            )
        white = ImageStat.Stat(img.convert("L")).mean[0] > 200
        labels = [{"Name": "Explicit", "ParentName": "", "Confidence": 97.0}] if white else []
        return {"ModerationLabels": labels, "ModerationModelVersion": "7.0"}


class FakeS3:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.reads = 0

    def get_object(self, Bucket, Key):  # noqa: N803
        self.reads += 1
        return {"Body": io.BytesIO(self.data)}


def _open(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("GIF", "image/gif"), ("WEBP", "image/webp"), ("PNG", "image/png")]
)
def test_one_call_per_sampled_frame_each_a_jpeg(fmt, content_type):
    data = spam_animation(fmt)
    rek = FrameRekognition()
    out = rekognition.detect(
        rek, FakeS3(data), "b", "k", 50.0, content_type, animation=AnimationRules()
    )
    expected = frames.sample(data, AnimationRules()).indices
    assert len(rek.calls) == len(expected) == out["calls"] == 8
    assert all(_open(call["Bytes"]).format == "JPEG" for call in rek.calls)
    assert out["source"] == "frames"
    assert out["frames"] == {"count": 12, "analyzed": expected, "policy": "analyze"}
    (label,) = out["labels"]
    assert label["name"] == "Explicit" and label["frame"] == 8
    assert decide({"rekognition": out}, RULES).decision == "reject"


def test_first_frame_only_sends_frame_zero_once_and_misses_the_later_frame():
    data = spam_animation("GIF")
    rek = FrameRekognition()
    policy = AnimationRules(policy="first-frame-only")
    out = rekognition.detect(rek, FakeS3(data), "b", "k", 50.0, "image/gif", animation=policy)
    assert len(rek.calls) == 1 == out["calls"] and out["labels"] == []
    assert _open(rek.calls[0]["Bytes"]).format == "JPEG"
    assert out["frames"]["analyzed"] == [0] and out["frames"]["count"] == 12


def test_a_still_png_is_still_read_from_s3_in_one_call():
    rek = FrameRekognition()
    out = rekognition.detect(rek, FakeS3(fixtures.png(seed=2)), "b", "k", 50.0, "image/png")
    assert rek.calls == [{"S3Object": {"Bucket": "b", "Name": "k"}}]
    assert out["source"] == "s3" and out["calls"] == 1 and "frames" not in out


def test_a_still_gif_is_converted_once():
    buf = io.BytesIO()
    fixtures.texture(200, 150, 3).save(buf, "GIF")
    rek = FrameRekognition()
    out = rekognition.detect(rek, FakeS3(buf.getvalue()), "b", "k", 50.0, "image/gif")
    assert len(rek.calls) == 1 and out["source"] == "converted-jpeg"
