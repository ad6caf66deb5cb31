"""Image validation for uploads: magic bytes first, then a full decode with Pillow.

A request is accepted only when its bytes are a JPEG, PNG or WebP, match the
declared content type, and decode completely (a truncated file or a decompression
bomb is refused). Everything here is pure so the upload path and its tests share it.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError

ALLOWED_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
# Images above this many pixels are refused before decoding (decompression bombs).
MAX_PIXELS = 40_000_000
# Rekognition's image limits (DetectModerationLabels): each side at least 80 px and at
# most 10,000 px. Refused at upload so neither branch ever sees an image one of them
# cannot analyze.
MIN_SIDE = 80
MAX_SIDE = 10_000


@dataclass(frozen=True)
class Rejection(Exception):
    status: int
    error: str
    message: str

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "message": self.message}


@dataclass(frozen=True)
class ImageInfo:
    content_type: str
    width: int
    height: int
    size_bytes: int


def sniff(data: bytes) -> str | None:
    """Content type from the file signature, or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def normalize_type(value: str | None) -> str:
    """`Image/PNG; charset=x` -> `image/png`."""
    return (value or "").split(";", 1)[0].strip().lower()


def check_declared(content_type: str, size_bytes: int, max_bytes: int) -> None:
    """Checks that need no bytes: type allowed, size within limits."""
    if content_type not in ALLOWED_TYPES:
        raise Rejection(
            415,
            "unsupported_media_type",
            f"content type {content_type or '(none)'!r} is not accepted; "
            f"send one of {', '.join(sorted(ALLOWED_TYPES))}",
        )
    if size_bytes <= 0:
        raise Rejection(400, "empty_body", "the image is empty")
    if size_bytes > max_bytes:
        raise Rejection(
            413,
            "payload_too_large",
            f"the image is {size_bytes} bytes; the limit is {max_bytes} bytes",
        )


def open_image(data: bytes) -> Image.Image:
    """Decode fully; raise ValueError with a reason when the bytes are not a sound image."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
            if img.width * img.height > MAX_PIXELS:
                raise ValueError(f"{img.width}x{img.height} exceeds {MAX_PIXELS} pixels")
            img.load()
        except (
            UnidentifiedImageError,
            Image.DecompressionBombError,
            Image.DecompressionBombWarning,
        ) as exc:
            raise ValueError(str(exc) or type(exc).__name__) from exc
        except (OSError, SyntaxError, EOFError) as exc:
            raise ValueError(f"corrupt or truncated image: {exc}") from exc
    return img


def inspect(data: bytes, declared_type: str, max_bytes: int) -> ImageInfo:
    """Validate an upload's bytes against its declared type. Raises Rejection."""
    declared = normalize_type(declared_type)
    check_declared(declared, len(data), max_bytes)
    actual = sniff(data)
    if actual is None:
        raise Rejection(400, "not_an_image", "the body is not a JPEG, PNG or WebP image")
    if actual != declared:
        raise Rejection(
            400,
            "content_type_mismatch",
            f"the body is {actual} but the request declared {declared}",
        )
    try:
        img = open_image(data)
    except ValueError as exc:
        raise Rejection(400, "invalid_image", f"the image could not be decoded: {exc}") from exc
    if ALLOWED_TYPES[declared] != img.format:
        raise Rejection(
            400, "content_type_mismatch", f"the body decodes as {img.format}, not {declared}"
        )
    check_dimensions(img.width, img.height)
    return ImageInfo(declared, img.width, img.height, len(data))


def check_dimensions(width: int, height: int) -> None:
    """Rekognition's side limits, with the limit in the message. Raises Rejection."""
    if min(width, height) < MIN_SIDE:
        raise Rejection(
            400,
            "image_too_small",
            f"the image is {width}x{height} px; each side must be at least {MIN_SIDE} px",
        )
    if max(width, height) > MAX_SIDE:
        raise Rejection(
            400,
            "image_too_large",
            f"the image is {width}x{height} px; no side may exceed {MAX_SIDE} px",
        )


def dhash(img: Image.Image) -> str:
    """64-bit difference hash as 16 hex digits.

    Written here rather than taken from `imagehash`, which would pull numpy and
    scipy into the function package for eight lines of arithmetic.
    """
    small = img.convert("L").resize((9, 8), Image.Resampling.LANCZOS)
    px = list(small.tobytes())
    bits = 0
    for row in range(8):
        for col in range(8):
            left, right = px[row * 9 + col], px[row * 9 + col + 1]
            bits = (bits << 1) | (1 if left > right else 0)
    return f"{bits:016x}"


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()
