"""The Rekognition branch calls DetectModerationLabels once per image: a WebP upload is
converted first rather than refused first."""

from __future__ import annotations

import io

import pytest
from botocore.exceptions import ClientError

from common import rekognition
from local.tools import fixtures


class FakeRekognition:
    """Refuses what Rekognition refuses (anything but JPEG/PNG bytes), records each call."""

    def __init__(self, s3_type: str) -> None:
        self.calls: list[dict] = []
        self.s3_type = s3_type

    def detect_moderation_labels(self, Image, MinConfidence):  # noqa: N803 - boto3's names
        self.calls.append(Image)
        kind = self.s3_type if "S3Object" in Image else _kind(Image["Bytes"])
        if kind not in ("jpeg", "png"):
            raise ClientError(
                {"Error": {"Code": "InvalidImageFormatException", "Message": "bad"}}, "Detect"
            )
        return {"ModerationLabels": [], "ModerationModelVersion": "7.0"}


class FakeS3:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def get_object(self, Bucket, Key):  # noqa: N803
        return {"Body": io.BytesIO(self.data)}


def _kind(data: bytes) -> str:
    return "jpeg" if data[:3] == b"\xff\xd8\xff" else "png" if data[:4] == b"\x89PNG" else "?"


@pytest.mark.parametrize(
    ("content_type", "data", "kind", "calls", "source"),
    [
        ("image/webp", fixtures.webp(seed=1), "webp", 1, "converted-jpeg"),
        ("image/png", fixtures.png(seed=1), "png", 1, "s3"),
        ("image/jpeg", fixtures.jpeg(seed=1), "jpeg", 1, "s3"),
        (None, fixtures.webp(seed=1), "webp", 2, "converted-jpeg"),  # type unknown: tried
    ],
)
def test_one_call_per_image_when_the_type_is_known(content_type, data, kind, calls, source):
    rek = FakeRekognition(kind)
    out = rekognition.detect(rek, FakeS3(data), "b", "k", 50.0, content_type)
    assert len(rek.calls) == calls and out["source"] == source
    assert out["model_version"] == "7.0"
