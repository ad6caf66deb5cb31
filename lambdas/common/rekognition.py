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
"""

from __future__ import annotations

import io
from typing import Any

from botocore.exceptions import ClientError
from PIL import Image

from common import originals
from common.images import open_image

MAX_BYTES_PAYLOAD = 5 * 1024 * 1024
MAX_CONVERTED_SIDE = 4096


def _as_jpeg(data: bytes) -> bytes:
    img = open_image(data)
    if max(img.size) > MAX_CONVERTED_SIDE:
        # reduce() by an integer factor first, then resample: never a second full-size copy.
        img.thumbnail(
            (MAX_CONVERTED_SIDE, MAX_CONVERTED_SIDE), Image.Resampling.BILINEAR, reducing_gap=2.0
        )
    img = img.convert("RGB")
    for quality in (90, 80, 70, 60):
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality)
        if buf.tell() <= MAX_BYTES_PAYLOAD:
            return buf.getvalue()
        img = img.resize((img.width * 3 // 4, img.height * 3 // 4))
    raise ValueError("image cannot be made small enough for Rekognition")


# The formats DetectModerationLabels reads from S3.
READABLE_TYPES = ("image/jpeg", "image/png")


def detect(
    rek: Any,
    s3: Any,
    bucket: str,
    key: str,
    min_confidence: float,
    content_type: str | None = None,
    etag: str | None = None,
) -> dict[str, Any]:
    """Raises originals.ImageChanged when the object no longer has `etag`."""

    def converted() -> Any:
        data = originals.read(s3, bucket, key, etag)
        return rek.detect_moderation_labels(
            Image={"Bytes": _as_jpeg(data)}, MinConfidence=min_confidence
        )

    if content_type and content_type not in READABLE_TYPES:
        out, source = converted(), "converted-jpeg"
    else:
        originals.check(s3, bucket, key, etag)
        try:
            out, source = (
                rek.detect_moderation_labels(
                    Image={"S3Object": {"Bucket": bucket, "Name": key}},
                    MinConfidence=min_confidence,
                ),
                "s3",
            )
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
        }
        for lab in raw
    ]
    return {
        "labels": labels,
        "model_version": out.get("ModerationModelVersion", ""),
        "min_confidence": min_confidence,
        "source": source,
    }
