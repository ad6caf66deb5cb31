"""Rekognition DetectModerationLabels on the S3 object; the image never passes through Lambda.

DetectModerationLabels reads JPEG and PNG only. The API also accepts WebP uploads: an
image whose type is known not to be JPEG or PNG is converted to JPEG in memory and sent
as bytes (up to Rekognition's 5 MB bytes limit) without first making a call Rekognition
would refuse; one of unknown type is tried from S3 and converted when refused. A WebP may hold up to 40
megapixels (`images.MAX_PIXELS`): it is shrunk to `MAX_CONVERTED_SIDE` while it is
converted, which bounds the encoder's memory and the JPEG's size, and loses nothing
moderation labels depend on. The function's memory is sized from the measured peak
(`tests/handlers/test_rekognition_webp.py`).

With the job's `etag`, the image is read only if it still has it (common/originals.py):
the converted path reads the bytes with `IfMatch`; the S3Object path checks the ETag
first (HeadObject `IfMatch`), and the key, written once, cannot change after the check.

Animations: Rekognition reads one still image per call and never a GIF. A GIF, PNG or
WebP upload is read and sampled (`frames.py`); each sampled frame of an animation is sent
as JPEG bytes in its own DetectModerationLabels call (each one billed), and the labels
are merged: per label, the frame where it was most confident, recorded as `frame`; the
result counts its `calls`. A still PNG is still read by Rekognition from S3, a still
WebP or GIF (or an animation's first frame under `first-frame-only`) converted once.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from PIL import Image

from common import frames, originals
from common.contract import FrameField
from common.images import open_image
from common.rule_types import AnimationRules

MAX_BYTES_PAYLOAD = 5 * 1024 * 1024
MAX_CONVERTED_SIDE = 4096


def _as_jpeg(data: bytes) -> bytes:
    return _encode_jpeg(open_image(data))


def _encode_jpeg(img: Image.Image) -> bytes:
    """JPEG bytes Rekognition accepts (at most 5 MB, at most MAX_CONVERTED_SIDE px)."""
    if max(img.size) > MAX_CONVERTED_SIDE:
        # reduce() by an integer factor first, then resample: never a second full-size copy.
        img.thumbnail(
            (MAX_CONVERTED_SIDE, MAX_CONVERTED_SIDE), Image.Resampling.BILINEAR, reducing_gap=2.0
        )
    img = frames.flatten(img)  # transparency over white, as the models and a viewer see it
    for quality in (90, 80, 70, 60):
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality)
        if buf.tell() <= MAX_BYTES_PAYLOAD:
            return buf.getvalue()
        img = img.resize((img.width * 3 // 4, img.height * 3 // 4))
    raise ValueError("image cannot be made small enough for Rekognition")


# The formats DetectModerationLabels reads from S3.
READABLE_TYPES = ("image/jpeg", "image/png")
# The types that can hold an animation: read and sampled before any call.
ANIMATABLE_TYPES = ("image/gif", "image/png", "image/webp")


def detect_frames(
    call: Callable[[dict[str, Any]], dict[str, Any]], sampled: frames.Frames
) -> tuple[list[dict[str, Any]], str]:
    """One call per sampled frame (JPEG bytes); each label at its most confident frame."""
    best: dict[str, dict[str, Any]] = {}
    version = ""
    for frame in sampled.frames:
        out = call({"Bytes": _encode_jpeg(frame.image)})
        version = version or out.get("ModerationModelVersion", "")
        for lab in out.get("ModerationLabels", []):
            held = best.get(lab["Name"])
            if held is None or float(lab["Confidence"]) > float(held["Confidence"]):
                best[lab["Name"]] = {**lab, FrameField.FRAME: frame.index}
    return list(best.values()), version


def detect(
    rek: Any,
    s3: Any,
    bucket: str,
    key: str,
    min_confidence: float,
    content_type: str | None = None,
    *,
    etag: str | None = None,
    animation: AnimationRules | None = None,
) -> dict[str, Any]:
    """Raises originals.ImageChanged when the object no longer has `etag`."""
    calls = 0

    def call(image: dict[str, Any]) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        out: dict[str, Any] = rek.detect_moderation_labels(
            Image=image, MinConfidence=min_confidence
        )
        return out

    def converted() -> Any:
        return call({"Bytes": _as_jpeg(originals.read(s3, bucket, key, etag))})

    sampled: frames.Frames | None = None
    out: dict[str, Any]
    if content_type in ANIMATABLE_TYPES:
        data = originals.read(s3, bucket, key, etag)
        if content_type != "image/png" or frames.is_animated(data):
            sampled = frames.sample(data, animation or AnimationRules())
    if sampled is not None and len(sampled.frames) > 1:
        merged, version = detect_frames(call, sampled)
        out, source = {"ModerationLabels": merged, "ModerationModelVersion": version}, "frames"
    elif sampled is not None and content_type != "image/png":
        out, source = call({"Bytes": _encode_jpeg(sampled.frames[0].image)}), "converted-jpeg"
    elif content_type and content_type not in READABLE_TYPES:
        out, source = converted(), "converted-jpeg"
    else:
        originals.check(s3, bucket, key, etag)
        try:
            out, source = call({"S3Object": {"Bucket": bucket, "Name": key}}), "s3"
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "InvalidImageFormatException":
                raise
            out, source = converted(), "converted-jpeg"
    raw = out.get("ModerationLabels", [])
    parents = {lab["Name"]: lab.get("ParentName", "") for lab in raw}

    def top_level(name: str) -> str:
        seen = set()
        while parents.get(name) and name not in seen:
            seen.add(name)
            name = parents[name]
        return name

    labels = [
        {
            "name": lab["Name"],
            "confidence": round(float(lab["Confidence"]), 3),
            "parent": lab.get("ParentName", ""),
            "top_level": top_level(lab["Name"]),
            "level": lab.get("TaxonomyLevel"),
            **({FrameField.FRAME: lab[FrameField.FRAME]} if FrameField.FRAME in lab else {}),
        }
        for lab in raw
    ]
    result: dict[str, Any] = {
        "labels": labels,
        "model_version": out.get("ModerationModelVersion", ""),
        "min_confidence": min_confidence,
        "source": source,
        FrameField.CALLS: calls,
    }
    if sampled is not None and sampled.animated:
        result[FrameField.FRAMES] = sampled.record()
    return result
