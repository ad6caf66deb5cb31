"""Image validation for uploads: magic bytes first, then a full decode with Pillow.

A request is accepted only when its bytes are a JPEG, PNG, WebP or GIF, match the
declared content type, and decode completely (a truncated file or a decompression
bomb is refused). Everything here is pure so the upload path and its tests share it.

Animations (GIF, APNG, animated WebP) are counted before any frame is decoded: a file
with more than `MAX_FRAMES` frames, a canvas over `MAX_PIXELS`, more than
`MAX_DECODED_PIXELS` to decode in all (reaching frame k decodes every frame before
it) or more than `MAX_PIXELS` in the frames the analyzers sample
(`moderation:animation.maxFrames`) is refused; then every frame is decoded once.
`moderation:animation.policy` `reject` refuses any animation (415).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError

from common.contract import AnimationPolicy

# Re-exported: the rule type lives with the other pure rule types (rule_types.py).
from common.rule_types import DEFAULT_MAX_FRAMES as DEFAULT_MAX_FRAMES
from common.rule_types import AnimationRules as AnimationRules

ALLOWED_TYPES = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/gif": "GIF",
}
# Images above this many pixels are refused before decoding (decompression bombs). For an
# animation: its canvas, and the sum over the frames the analyzers sample.
MAX_PIXELS = 40_000_000
# Frames in one animation; more is refused before any frame is decoded.
MAX_FRAMES = 1000
# Every frame up to the last is decoded to reach it (each is drawn over the one before):
# frame count x canvas is what an animation costs to decode, whatever is sampled. At
# Pillow's ~150 megapixels a second on one core, about a second and a half.
MAX_DECODED_PIXELS = 200_000_000
# `moderation:animation.maxFrames`: the default and the range validated at preview.
MAX_FRAMES_RANGE = (2, 30)
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
    frames: int = 1


def sniff(data: bytes) -> str | None:
    """Content type from the file signature, or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def _skip_sub_blocks(data: bytes, pos: int) -> int:
    """The position after a GIF data sub-block chain (size byte, data, ..., 0)."""
    while True:
        if pos >= len(data):
            raise ValueError("truncated GIF data block")
        size = data[pos]
        pos += 1 + size
        if size == 0:
            return pos


def gif_frame_count(data: bytes, limit: int = MAX_FRAMES) -> int:
    """Image descriptors in a GIF, counted by walking its blocks without decoding any;
    stops at `limit + 1` so a file of a million tiny frames costs what `limit` do."""
    if len(data) < 13 or data[:6] not in (b"GIF87a", b"GIF89a"):
        raise ValueError("not a GIF")
    flags = data[10]
    pos = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    count = 0
    while pos < len(data):
        block = data[pos]
        if block == 0x3B:  # trailer
            break
        if block == 0x21:  # extension: label, then sub-blocks
            pos = _skip_sub_blocks(data, pos + 2)
        elif block == 0x2C:  # image descriptor, local colour table, LZW code size, data
            count += 1
            if count > limit:
                return count
            if pos + 10 > len(data):
                raise ValueError("truncated GIF image descriptor")
            local = data[pos + 9]
            pos += 10 + (3 * 2 ** ((local & 7) + 1) if local & 0x80 else 0)
            pos = _skip_sub_blocks(data, pos + 1)
        else:
            raise ValueError(f"unexpected GIF block 0x{block:02x} at byte {pos}")
    return count


def frame_count(img: Image.Image, data: bytes) -> int:
    """Frames in an opened image, read from its headers (no frame is decoded)."""
    if img.format == "GIF":
        return max(1, gif_frame_count(data))
    return max(1, int(getattr(img, "n_frames", 1) or 1))


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


def inspect(
    data: bytes, declared_type: str, max_bytes: int, animation: AnimationRules | None = None
) -> ImageInfo:
    """Validate an upload's bytes against its declared type. Raises Rejection."""
    declared = normalize_type(declared_type)
    check_declared(declared, len(data), max_bytes)
    actual = sniff(data)
    if actual is None:
        raise Rejection(400, "not_an_image", "the body is not a JPEG, PNG, WebP or GIF image")
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
    try:
        count = frame_count(img, data)
    except ValueError as exc:
        raise Rejection(400, "invalid_image", f"the image could not be decoded: {exc}") from exc
    if count > 1:
        check_animation(count, img.width, img.height, animation or AnimationRules())
        decode_frames(img, count)
    return ImageInfo(declared, img.width, img.height, len(data), count)


def check_animation(count: int, width: int, height: int, rules: AnimationRules) -> None:
    """An animation's limits, from its headers only (before any frame past the first is
    decoded). Raises Rejection."""
    if rules.policy == AnimationPolicy.REJECT:
        raise Rejection(
            415,
            "animation_not_accepted",
            f"the image is animated ({count} frames) and this service accepts still images "
            "only; send one frame as JPEG, PNG, WebP or GIF",
        )
    if count > MAX_FRAMES:
        raise Rejection(
            400,
            "too_many_frames",
            f"the animation has more than {MAX_FRAMES} frames; the limit is {MAX_FRAMES}",
        )
    canvas = width * height
    if count * canvas > MAX_DECODED_PIXELS:
        raise Rejection(
            400,
            "animation_too_large",
            f"the animation is {count} frames of {width}x{height} px "
            f"({count * canvas} pixels to decode); the limit is {MAX_DECODED_PIXELS}",
        )
    sampled = rules.sampled(count)
    if sampled * canvas > MAX_PIXELS:
        raise Rejection(
            400,
            "animation_too_large",
            f"the {sampled} frames analysed of this {width}x{height} px animation hold "
            f"{sampled * canvas} pixels; the limit is {MAX_PIXELS}",
        )


def decode_frames(img: Image.Image, count: int) -> None:
    """Decode every frame once (a truncated or corrupt later frame is refused here, not in
    the analyzers). Call only within `check_animation`'s limits. Raises Rejection."""
    for index in range(1, count):
        try:
            img.seek(index)
            img.load()
        except (OSError, SyntaxError, EOFError, ValueError) as exc:
            raise Rejection(
                400, "invalid_image", f"frame {index} of {count} could not be decoded: {exc}"
            ) from exc


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
