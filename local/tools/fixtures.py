"""Deterministic test images, each carrying the outcome it is meant to produce.

PNG fixtures can embed the moderation labels the local Rekognition stand-in should
return (a `moderation-labels` text chunk), so load runs and tests are reproducible
without Rekognition. The same bytes sent to real Rekognition are just images. The
`text` and `face` kinds are real content the models read (`safe_images.py`): a
rendered link and phone number (the text branch's `spam_link` and `contact_info`,
review by default) and a public-domain portrait (`faces`, informational).
"""

from __future__ import annotations

import io
import json
import random
import struct
from dataclasses import dataclass

from PIL import Image, ImageFilter
from PIL.PngImagePlugin import PngInfo

LABEL_CHUNK = "moderation-labels"


def texture(width: int, height: int, seed: int) -> Image.Image:
    """A smooth, non-uniform RGB image from a seed (never blank, never random run to run)."""
    rng = random.Random(seed)
    small = (max(2, width // 8), max(2, height // 8))
    channels = [
        Image.frombytes("L", small, bytes(rng.randrange(256) for _ in range(small[0] * small[1])))
        .resize((width, height), Image.Resampling.BICUBIC)
        .filter(ImageFilter.GaussianBlur(1))
        for _ in range(3)
    ]
    return Image.merge("RGB", channels)


def encode(img: Image.Image, fmt: str, labels: list[dict] | None = None) -> bytes:
    buf = io.BytesIO()
    if fmt == "PNG":
        info = PngInfo()
        if labels is not None:
            info.add_text(LABEL_CHUNK, json.dumps(labels))
        img.save(buf, "PNG", pnginfo=info)
    elif fmt == "JPEG":
        img.convert("RGB").save(buf, "JPEG", quality=85)
    elif fmt == "WEBP":
        img.save(buf, "WEBP", quality=80)
    else:
        raise ValueError(fmt)
    return buf.getvalue()


def png(width=256, height=256, seed=1, labels: list[dict] | None = None) -> bytes:
    return encode(texture(width, height, seed), "PNG", labels)


def jpeg(width=256, height=256, seed=1) -> bytes:
    return encode(texture(width, height, seed), "JPEG")


def webp(width=256, height=256, seed=1) -> bytes:
    return encode(texture(width, height, seed), "WEBP")


def tiny_frame_gif(count: int, canvas: tuple[int, int] = (100, 100)) -> bytes:
    """A GIF of `count` 1x1 frames on `canvas`, written block by block (no encoder): a
    frame bomb costs bytes per frame, the decoder canvas-sized work per frame."""
    width, height = canvas
    out = bytearray(b"GIF89a" + struct.pack("<HH", width, height) + bytes([0x80, 0, 0]))
    out += b"\x00\x00\x00\xff\xff\xff"  # global colour table: two colours
    frame = b"\x2c" + struct.pack("<HHHH", 0, 0, 1, 1) + b"\x00" + b"\x02\x02\x44\x01\x00"
    out += frame * count
    return bytes(out + b"\x3b")


def blank_png(width=256, height=256, color=(128, 128, 128)) -> bytes:
    return encode(Image.new("RGB", (width, height), color), "PNG")


def label(name: str, confidence: float, parent: str = "") -> dict:
    """A label in DetectModerationLabels' own shape."""
    return {
        "Name": name,
        "Confidence": confidence,
        "ParentName": parent,
        "TaxonomyLevel": 2 if parent else 1,
    }


EXPLICIT = [label("Explicit", 97.5), label("Explicit Nudity", 97.5, "Explicit")]
MODERATE_VIOLENCE = [label("Violence", 72.0), label("Graphic Violence", 72.0, "Violence")]
SAFE_LABELS = [label("Swimwear or Underwear", 88.0)]

# The image whose dHash the demo stack blocklists.
BLOCKLISTED_SEED = 4242


@dataclass(frozen=True)
class Fixture:
    kind: str
    content_type: str
    data: bytes
    expected_decision: str


def make(kind: str, seed: int) -> Fixture:
    """One fixture of `kind`; `seed` varies the pixels but not the outcome."""
    if kind == "clean":
        fmt = ("PNG", "JPEG", "WEBP")[seed % 3]
        data = encode(texture(256, 192, seed), fmt, [] if fmt == "PNG" else None)
        return Fixture(kind, f"image/{fmt.lower()}", data, "approve")
    if kind == "swimwear":
        return Fixture(kind, "image/png", png(seed=seed, labels=SAFE_LABELS), "approve")
    if kind == "explicit":
        return Fixture(kind, "image/png", png(seed=seed, labels=EXPLICIT), "reject")
    if kind == "moderate":
        return Fixture(kind, "image/png", png(seed=seed, labels=MODERATE_VIOLENCE), "review")
    if kind == "blank":
        shade = 40 + seed % 150
        return Fixture(kind, "image/png", blank_png(color=(shade, shade, shade)), "warn")
    if kind == "tiny":
        # Above the 80 px the upload accepts, below minImageSide's default 100: unusable.
        return Fixture(kind, "image/png", png(90, 90, seed=seed, labels=[]), "warn")
    if kind == "blocklisted":
        return Fixture(kind, "image/png", png(seed=BLOCKLISTED_SEED, labels=[]), "reject")
    if kind == "text":
        from local.tools import safe_images

        lines = [f"call 555-01{seed % 90 + 10:02d} now", f"http://spam{seed % 97}.example"]
        return Fixture(
            kind, "image/jpeg", safe_images.encoded(safe_images.text_image(lines), "JPEG"), "review"
        )
    if kind == "face":
        from local.tools import safe_images

        img = safe_images.grace_hopper().rotate(seed % 7 - 3, fillcolor=(255, 255, 255))
        return Fixture(kind, "image/jpeg", safe_images.encoded(img, "JPEG"), "approve")
    raise ValueError(f"unknown fixture kind {kind!r}")


# Mix used by load runs: mostly clean traffic with every decision represented.
MIX = (
    ["clean"] * 10
    + ["swimwear"] * 2
    + ["explicit"] * 2
    + ["moderate"] * 2
    + ["blank"]
    + ["tiny"]
    + ["blocklisted"]
    + ["text"]
    + ["face"]
)


def workload(count: int, seed: int = 7) -> list[Fixture]:
    rng = random.Random(seed)
    return [make(rng.choice(MIX), seed * 100000 + i) for i in range(count)]
