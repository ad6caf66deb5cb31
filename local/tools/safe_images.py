"""Safe images for tests, benchmarks and the demo: a public-domain photo and renders.

The photo ships inside matplotlib (`sample_data/grace_hopper.jpg`, a US Navy portrait,
public domain); text is rendered with matplotlib's DejaVuSans. Nothing explicit is ever
stored: the unsafe path is tested with injected scores through the models' interface.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

# Text that every text category recognises, as the tests and the demo render it.
SPAM_LINES = ["call 555-0100 buy now", "http://spam.example"]


def _mpl_data() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path())


def grace_hopper() -> Image.Image:
    """A 512x600 portrait with one face."""
    with Image.open(_mpl_data() / "sample_data" / "grace_hopper.jpg") as img:
        return img.convert("RGB")


def font_path() -> str:
    return os.path.join(_mpl_data(), "fonts", "ttf", "DejaVuSans.ttf")


def text_image(lines: list[str], size: int = 32, width: int = 900) -> Image.Image:
    font = ImageFont.truetype(font_path(), size)
    line_height = int(size * 1.6)
    image = Image.new("RGB", (width, 40 + line_height * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((24, 20 + i * line_height), line, font=font, fill="black")
    return image


def blank_page(width: int = 850, height: int = 1100) -> Image.Image:
    return Image.new("RGB", (width, height), "white")


def shapes() -> Image.Image:
    image = Image.new("RGB", (640, 480), (240, 240, 235))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 60, 260, 300), fill=(200, 40, 40))
    draw.ellipse((300, 80, 560, 340), fill=(40, 90, 200))
    draw.polygon([(120, 440), (320, 330), (520, 440)], fill=(40, 160, 60))
    return image


def all_safe() -> dict[str, Image.Image]:
    return {
        "grace_hopper": grace_hopper(),
        "text": text_image(SPAM_LINES),
        "blank": blank_page(),
        "shapes": shapes(),
    }


def encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buf.getvalue()


# What the later frame of a spam animation shows: a link and a phone number.
FRAME_SPAM_LINES = ["visit http://bigwin.example", "call +1 (555) 010-0199"]


def encode_animation(frames: list[Image.Image], fmt: str, duration: int = 80) -> bytes:
    """Frames as an animated GIF, PNG (APNG) or WebP, looping."""
    buf = io.BytesIO()
    extra = {"quality": 85} if fmt == "WEBP" else {}
    frames[0].save(
        buf,
        fmt,
        save_all=True,
        append_images=frames[1:],
        duration=duration,
        loop=0,
        **extra,
    )
    return buf.getvalue()


def photo_frames(count: int, size: tuple[int, int] = (400, 300)) -> list[Image.Image]:
    """A slow pan across the public-domain portrait: `count` frames of an ordinary clip."""
    photo = grace_hopper()
    width, height = size
    scale = max(width / photo.width, height / photo.height) * 1.2
    big = photo.resize((round(photo.width * scale), round(photo.height * scale)))
    room = big.width - width
    return [
        big.crop((x, 0, x + width, height))
        for x in (round(room * i / max(count - 1, 1)) for i in range(count))
    ]


def spam_animation(
    fmt: str = "GIF", count: int = 12, spam_at: int = 8, size: tuple[int, int] = (400, 300)
) -> bytes:
    """A safe photo clip whose frame `spam_at` (never the first) shows a link and a phone
    number: the evasion an analysis of frame 0 alone lets through."""
    frames = photo_frames(count, size)
    card = text_image(FRAME_SPAM_LINES, size=22, width=size[0])
    page = Image.new("RGB", size, "white")
    page.paste(card.crop((0, 0, size[0], min(card.height, size[1]))), (0, size[1] // 3))
    frames[spam_at] = page
    return encode_animation(frames, fmt)
