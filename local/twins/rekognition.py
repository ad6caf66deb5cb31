"""A stand-in for Rekognition DetectModerationLabels, which moto does not implement.

It looks at pixels: nsfwjs's MobileNetV2 (converted to ONNX at build time,
`rekognition_model.py`), whose five classes are mapped onto Rekognition's moderation
taxonomy. It is a different and much weaker model than both Rekognition and the custom
branch's open_nsfw, so the two branches can disagree locally as they do on AWS, and
`ModerationModelVersion` says it is a stand-in. A PNG carrying a `moderation-labels`
text chunk gets exactly those labels instead (the load generator's fixtures use it for
deterministic runs), under the same `ModerationModelVersion`: like Rekognition, the
stand-in answers every image with one version (verdict reuse keys on it).

Rekognition's documented input limits are enforced with its error codes: JPEG or PNG
only (InvalidImageFormatException), at most 5 MB as bytes and 15 MB as an S3 object
(ImageTooLargeException), each side at least 80 px (InvalidParameterException) and at
most 10,000 px (ImageTooLargeException).
"""

from __future__ import annotations

import base64
import functools
import io
import json
import threading
from typing import Any

from PIL import Image, UnidentifiedImageError

from common.models.base import model_dir
from local.tools.fixtures import LABEL_CHUNK
from local.twins.rekognition_model import DEFAULT_MIN_CONFIDENCE, RekognitionStandIn

MAX_BYTES = 5 * 1024 * 1024
MAX_S3_OBJECT = 15 * 1024 * 1024
MIN_SIDE = 80
MAX_SIDE = 10_000


class RekognitionError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


_model: RekognitionStandIn | None = None
_lock = threading.Lock()


@functools.cache
def model_version() -> str:
    """The version every answer carries (read from the model's provenance, not loaded)."""
    return RekognitionStandIn(model_dir()).model_version


def model() -> RekognitionStandIn:
    """The stand-in's model, loaded once per process (one thread per call: the endpoint
    serves calls from many threads at once)."""
    global _model
    with _lock:
        if _model is None:
            loaded = RekognitionStandIn(model_dir(), threads=1)
            loaded.load()
            _model = loaded
        return _model


def open_checked(data: bytes) -> Image.Image:
    """The decoded image, or Rekognition's error for what it would refuse."""
    try:
        img = Image.open(io.BytesIO(data))
        fmt = img.format
    except (UnidentifiedImageError, OSError) as exc:
        raise RekognitionError(
            "InvalidImageFormatException", "Request has invalid image format"
        ) from exc
    if fmt not in ("JPEG", "PNG"):
        raise RekognitionError("InvalidImageFormatException", "Request has invalid image format")
    width, height = img.size
    if min(width, height) < MIN_SIDE:
        raise RekognitionError(
            "InvalidParameterException",
            f"Request has invalid parameters: image dimensions {width}x{height} are below "
            f"the minimum of {MIN_SIDE} pixels",
        )
    if max(width, height) > MAX_SIDE:
        raise RekognitionError(
            "ImageTooLargeException",
            f"Image size is too large: {width}x{height} exceeds {MAX_SIDE} pixels",
        )
    try:
        img.load()
    except OSError as exc:
        raise RekognitionError(
            "InvalidImageFormatException", "Request has invalid image format"
        ) from exc
    return img


def fixture_labels(img: Image.Image) -> list[dict[str, Any]] | None:
    """The labels a fixture PNG carries, or None for an ordinary image."""
    raw = (getattr(img, "text", {}) or {}).get(LABEL_CHUNK)
    if raw is None:
        return None
    try:
        labels = json.loads(raw)
    except ValueError:
        return None
    return [lab for lab in labels if isinstance(lab, dict) and "Name" in lab]


def _image_bytes(s3: Any, image: dict[str, Any]) -> bytes:
    if "S3Object" in image:
        obj = image["S3Object"]
        try:
            body: bytes = s3.get_object(Bucket=obj["Bucket"], Key=obj["Name"])["Body"].read()
        except Exception as exc:  # noqa: BLE001 - any S3 failure is Rekognition's InvalidS3Object
            raise RekognitionError(
                "InvalidS3ObjectException", f"Unable to get object metadata from S3: {exc}"
            ) from exc
        if len(body) > MAX_S3_OBJECT:
            raise RekognitionError("ImageTooLargeException", "Image size is too large")
        return body
    if "Bytes" in image:
        raw = image["Bytes"]
        # Over HTTP the JSON protocol carries base64 text; an in-process call passes bytes.
        data = bytes(raw) if isinstance(raw, (bytes, bytearray)) else base64.b64decode(raw)
        if len(data) > MAX_BYTES:
            raise RekognitionError(
                "ImageTooLargeException", f"Image size is too large: over {MAX_BYTES} bytes"
            )
        return data
    raise RekognitionError("InvalidParameterException", "Image is required")


def detect_moderation_labels(s3: Any, request: dict[str, Any]) -> dict[str, Any]:
    min_conf = float(request.get("MinConfidence", DEFAULT_MIN_CONFIDENCE))
    if not 0.0 <= min_conf <= 100.0:
        raise RekognitionError(
            "InvalidParameterException", "MinConfidence must be between 0 and 100"
        )
    img = open_checked(_image_bytes(s3, request.get("Image") or {}))
    labels = fixture_labels(img)
    if labels is not None:
        kept = [lab for lab in labels if float(lab.get("Confidence", 0)) >= min_conf]
        return {"ModerationLabels": kept, "ModerationModelVersion": model_version()}
    return model().detect_moderation_labels(img, min_conf)
