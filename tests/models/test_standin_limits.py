"""The local Rekognition stand-in's input limits and error codes, and its fixture override."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from local.tools import fixtures
from local.tools.safe_images import encoded, grace_hopper
from local.twins import rekognition


def call(data: bytes, **extra) -> dict:
    return rekognition.detect_moderation_labels(None, {"Image": {"Bytes": data}, **extra})


def error(data: bytes) -> str:
    with pytest.raises(rekognition.RekognitionError) as caught:
        call(data)
    return caught.value.code


def image(width: int, height: int, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (120, 130, 140)).save(buf, fmt)
    return buf.getvalue()


def test_a_photo_gets_a_stand_in_answer_from_the_model():
    response = call(encoded(grace_hopper(), "JPEG"), MinConfidence=10)
    assert response["ModerationModelVersion"].startswith("local-standin nsfwjs@4.4.0")
    assert "not Amazon Rekognition" in response["ModerationModelVersion"]
    assert not {lab["Name"] for lab in response["ModerationLabels"]} & {"Explicit"}


@pytest.mark.parametrize(
    "data,code",
    [
        (image(200, 200, "WEBP"), "InvalidImageFormatException"),
        (image(200, 200, "GIF"), "InvalidImageFormatException"),
        (b"not an image", "InvalidImageFormatException"),
        (image(79, 200), "InvalidParameterException"),
        (image(200, 79), "InvalidParameterException"),
        (image(10_001, 80), "ImageTooLargeException"),
    ],
)
def test_rekognition_refuses_what_it_refuses(data, code):
    assert error(data) == code


def test_the_limits_themselves_are_accepted():
    call(image(80, 80))  # no error at exactly 80 px
    call(image(10_000, 80))


def test_bytes_over_5_mb_are_too_large():
    assert error(b"\x89PNG\r\n\x1a\n" + b"\0" * (5 * 1024 * 1024)) == "ImageTooLargeException"


def test_s3_objects_over_15_mb_are_too_large():
    class S3:
        def get_object(self, Bucket, Key):
            return {"Body": io.BytesIO(b"\0" * (15 * 1024 * 1024 + 1))}

    with pytest.raises(rekognition.RekognitionError) as caught:
        rekognition.detect_moderation_labels(
            S3(), {"Image": {"S3Object": {"Bucket": "b", "Name": "k"}}}
        )
    assert caught.value.code == "ImageTooLargeException"


def test_min_confidence_out_of_range_is_invalid():
    with pytest.raises(rekognition.RekognitionError) as caught:
        call(image(100, 100), MinConfidence=101)
    assert caught.value.code == "InvalidParameterException"


def test_fixture_labels_override_the_model_and_honour_min_confidence():
    data = fixtures.png(labels=fixtures.EXPLICIT)
    response = call(data)
    assert [lab["Name"] for lab in response["ModerationLabels"]] == ["Explicit", "Explicit Nudity"]
    # One version for every answer, as Rekognition gives (verdict reuse keys on it).
    assert response["ModerationModelVersion"] == rekognition.model_version()
    assert response["ModerationModelVersion"] == call(image(100, 100))["ModerationModelVersion"]
    assert call(data, MinConfidence=99)["ModerationLabels"] == []
    json.dumps(response)
