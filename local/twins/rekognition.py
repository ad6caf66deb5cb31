"""A stand-in for Rekognition DetectModerationLabels, which moto does not implement.

It is not a model. It reads the object from the local S3 and returns the labels the
image carries in a PNG `moderation-labels` text chunk (the load generator's fixtures
set them), or none. Answers are therefore deterministic and reproducible, and
`ModerationModelVersion` says `local-stand-in` so nothing mistakes them for Rekognition.
"""

from __future__ import annotations

import io
import json

from PIL import Image, UnidentifiedImageError

from local.tools.fixtures import LABEL_CHUNK

MODEL_VERSION = "local-stand-in"
MAX_S3_OBJECT = 15 * 1024 * 1024


class RekognitionError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def labels_from_image(data: bytes) -> list[dict]:
    try:
        img = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError) as exc:
        raise RekognitionError(
            "InvalidImageFormatException", "Request has invalid image format"
        ) from exc
    if img.format not in ("JPEG", "PNG"):
        # Rekognition's moderation API reads JPEG and PNG only.
        raise RekognitionError("InvalidImageFormatException", "Request has invalid image format")
    text = getattr(img, "text", {}) or {}
    raw = text.get(LABEL_CHUNK)
    if not raw:
        return []
    try:
        labels = json.loads(raw)
    except ValueError:
        return []
    return [lab for lab in labels if isinstance(lab, dict) and "Name" in lab]


def detect_moderation_labels(s3, request: dict) -> dict:
    image = request.get("Image") or {}
    if "S3Object" in image:
        obj = image["S3Object"]
        try:
            body = s3.get_object(Bucket=obj["Bucket"], Key=obj["Name"])["Body"].read()
        except Exception as exc:  # noqa: BLE001 - any S3 failure is Rekognition's InvalidS3Object
            raise RekognitionError(
                "InvalidS3ObjectException", f"Unable to get object metadata from S3: {exc}"
            ) from exc
        if len(body) > MAX_S3_OBJECT:
            raise RekognitionError("ImageTooLargeException", "Image size is too large")
    elif "Bytes" in image:
        import base64

        raw = image["Bytes"]
        # Over HTTP the JSON protocol carries base64 text; an in-process call passes bytes.
        body = raw if isinstance(raw, (bytes, bytearray)) else base64.b64decode(raw)
    else:
        raise RekognitionError("InvalidParameterException", "Image is required")
    min_conf = float(request.get("MinConfidence", 50))
    labels = [lab for lab in labels_from_image(body) if float(lab.get("Confidence", 0)) >= min_conf]
    return {"ModerationLabels": labels, "ModerationModelVersion": MODEL_VERSION}
