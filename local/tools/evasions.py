"""A generated set of spam-text images that use the usual evasions, and a benign set.

Nothing here is stored: every image is rendered at test or benchmark time from plain
synthetic text (a made-up `bigwin.example` link, the reserved 555-01xx numbers) over
flat, gradient, noisy and photo backgrounds (the public-domain portrait of
`safe_images`), in the fonts matplotlib ships (DejaVu Sans/Serif/Mono, STIX, Computer
Modern) and Pillow's built-in one, at several sizes, contrasts and rotations. Each
case names its trick, so recall is reported per trick (`bench/evasion.py`,
`tests/models/test_evasions.py`).

    cases()  -> [Case(trick, name, image, expect)]   # expect: the category that must fire
    benign() -> [Case(...)]                          # ordinary text: nothing may fire
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from local.tools import safe_images

LINK = "spam_link"
CONTACT = "contact_info"

# (trick, lines, the category it must raise); the link is made up, the numbers are the
# reserved fictional ones.
TEXTS: list[tuple[str, list[str], str]] = [
    ("plain", ["Visit bigwin.example today"], LINK),
    ("plain", ["call 555-010-0100 now"], CONTACT),
    ("bracketed_dot", ["Visit bigwin[.]example"], LINK),
    ("bracketed_dot", ["bigwin(dot)example/promo"], LINK),
    ("bracketed_dot", ["Win big: bigwin{.}com"], LINK),
    ("spelled_dot", ["Visit bigwin dot example"], LINK),
    ("spelled_dot", ["WWW DOT BIGWIN DOT COM"], LINK),
    ("spelled_dot", ["bigwin d0t com"], LINK),
    ("spaced_dot", ["Prizes at bigwin . com"], LINK),
    ("letter_spacing", ["b i g w i n . e x a m p l e"], LINK),
    ("letter_spacing", ["w w w . b i g w i n . c o m"], LINK),
    ("letter_spacing", ["b  i  g  w  i  n  dot  c  o  m"], LINK),
    ("lookalike_letters", ["Visit bіgwіn.ехаmple"], LINK),  # Cyrillic і, е, х, а
    ("lookalike_letters", ["ВIGWIN.СОM"], LINK),  # Cyrillic В, С, О
    ("digit_for_letter", ["bigwin.c0m"], LINK),
    ("split_lines", ["Go to bigwin.", "example"], LINK),
    ("split_lines", ["Visit bigwin dot", "com/promo"], LINK),
    ("other_language", ["Besuchen Sie bigwin punkt de"], LINK),
    ("other_language", ["Gana dinero en bigwin punto com"], LINK),
    ("email_obfuscated", ["mail name [at] bigwin [dot] example"], CONTACT),
    ("email_obfuscated", ["write to name at bigwin dot example"], CONTACT),
    ("phone_spaced", ["call 5 5 5 - 0 1 0 - 0 1 0 0"], CONTACT),
    ("phone_spaced", ["WhatsApp 5 5 5 0 1 0 0"], CONTACT),
    ("phone_words", ["call five five five zero one zero zero"], CONTACT),
]
ROTATED: list[tuple[list[str], str]] = [
    (["Visit bigwin.example today"], LINK),
    (["call 555-010-0100 now"], CONTACT),
    (["Win big at", "bigwin.example"], LINK),
]
QR_TEXTS: list[tuple[str, str]] = [
    ("https://bigwin.example/promo", LINK),
    ("bigwin.example", LINK),
    ("tel:+15550100100", CONTACT),
    ("mailto:name@bigwin.example", CONTACT),
]
BENIGN_TEXTS: list[list[str]] = [
    ["Polka dot dress on sale"],
    ["Meet us at noon by the lake"],
    ["The end . Info below"],
    ["Version 1.2.3 released"],
    ["Connect the dot com dots"],
    ["Soup 4.50  Bread 2.10"],
    ["Happy birthday, Anna!"],
    ["See you soon.", "Shop"],
]

FONTS = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSansMono.ttf",
    "STIXGeneral.ttf",
    "cmss10.ttf",
    "(pillow)",
)
# Fonts with Cyrillic and Greek glyphs (a look-alike needs a font that draws it).
FONTS_WITH_CYRILLIC = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSansMono.ttf",
)
SIZES = (20, 28, 40, 56)
BACKGROUNDS = ("flat", "dark", "gradient", "noise", "photo", "low_contrast")


@dataclass(frozen=True)
class Case:
    trick: str
    name: str
    image: Image.Image
    expect: str | None  # the category that must fire; None: nothing may


def _font(name: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if name == "(pillow)":
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(str(Path(safe_images.font_path()).with_name(name)), size)


@cache
def _photo() -> Image.Image:
    return safe_images.grace_hopper()


def _background(kind: str, size: tuple[int, int], rng: random.Random) -> Image.Image:
    width, height = size
    if kind == "dark":
        return Image.new("RGB", size, (25, 30, 45))
    if kind == "gradient":
        ramp = np.linspace(0, 1, width, dtype=np.float32)[None, :, None]
        left, right = np.array([250, 220, 160]), np.array([150, 200, 250])
        pixels = left + (right - left) * ramp
        return Image.fromarray(np.repeat(pixels, height, 0).astype(np.uint8))
    if kind == "noise":
        noise = np.random.default_rng(rng.randrange(1 << 30)).normal(225, 18, (height, width, 3))
        return Image.fromarray(np.clip(noise, 0, 255).astype(np.uint8))
    if kind == "photo":
        photo = _photo()
        scale = max(width / photo.width, height / photo.height)
        resized = photo.resize((int(photo.width * scale) + 1, int(photo.height * scale) + 1))
        return resized.crop((0, 0, width, height))
    if kind == "low_contrast":
        return Image.new("RGB", size, (175, 175, 170))
    return Image.new("RGB", size, (255, 255, 255))


def _ink(kind: str) -> dict[str, object]:
    if kind == "dark":
        return {"fill": (245, 245, 245)}
    if kind == "photo":
        return {"fill": (255, 255, 255), "stroke_width": 2, "stroke_fill": (0, 0, 0)}
    if kind == "low_contrast":
        return {"fill": (95, 95, 95)}
    return {"fill": (20, 20, 20)}


def render(
    lines: list[str],
    font: str = "DejaVuSans.ttf",
    size: int = 32,
    background: str = "flat",
    rotation: int = 0,
    seed: int = 0,
) -> Image.Image:
    """Text lines on a background, then the whole picture turned `rotation` degrees
    counter-clockwise (as a photo of a turned sign would be)."""
    rng = random.Random(seed)
    face = _font(font, size)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    widths = [probe.textbbox((0, 0), line, font=face)[2] for line in lines]
    line_height = int(size * 1.5)
    margin = max(24, size)
    canvas = (max(widths) + 2 * margin, line_height * len(lines) + 2 * margin)
    image = _background(background, canvas, rng)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((margin, margin + i * line_height), line, font=face, **_ink(background))  # type: ignore[arg-type]
    if rotation:
        fill = image.getpixel((0, 0))
        image = image.rotate(rotation, expand=True, fillcolor=fill)
    return image


def qr_image(
    text: str, module: int = 6, background: str = "flat", caption: str = ""
) -> Image.Image:
    """A QR code (OpenCV's encoder) carrying `text`, on a background, with a caption."""
    import cv2

    code = cv2.QRCodeEncoder.create().encode(text)
    code = cv2.resize(code, None, fx=module, fy=module, interpolation=cv2.INTER_NEAREST)
    tile = Image.fromarray(code).convert("RGB")
    quiet = 4 * module
    framed = Image.new("RGB", (tile.width + 2 * quiet, tile.height + 2 * quiet), "white")
    framed.paste(tile, (quiet, quiet))
    wide = 1 if background == "flat" else 2
    size = (framed.width * wide + 40, framed.height + 80)
    image = _background(background, size, random.Random(len(text)))
    image.paste(framed, (size[0] - framed.width - 20, 60))
    if caption:
        draw = ImageDraw.Draw(image)
        draw.text((10, 10), caption, font=_font("DejaVuSans-Bold.ttf", 20), **_ink(background))  # type: ignore[arg-type]
    return image


# EAN-13 (the barcode on retail goods): left-hand odd (L) and even (G) digit codes,
# right-hand (R) codes, and the parity pattern the first digit selects.
_EAN_L = ("0001101", "0011001", "0010011", "0111101", "0100011",
          "0110001", "0101111", "0111011", "0110111", "0001011")  # fmt: skip
_EAN_G = ("0100111", "0110011", "0011011", "0100001", "0011101",
          "0111001", "0000101", "0010001", "0001001", "0010111")  # fmt: skip
_EAN_PARITY = ("LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG",
               "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL")  # fmt: skip


def ean13(first12: str) -> str:
    """The 13 digits with their check digit."""
    digits = [int(c) for c in first12]
    total = sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return first12 + str((10 - total % 10) % 10)


def barcode_image(first12: str, module: int = 3, height: int = 150) -> Image.Image:
    """An EAN-13 barcode, slightly blurred as a photographed or printed one is."""
    code = ean13(first12)
    digits = [int(c) for c in code]
    right = ["".join("1" if b == "0" else "0" for b in _EAN_L[d]) for d in digits[7:]]
    left = [
        (_EAN_L if parity == "L" else _EAN_G)[d]
        for parity, d in zip(_EAN_PARITY[digits[0]], digits[1:7], strict=True)
    ]
    bits = "101" + "".join(left) + "01010" + "".join(right) + "101"
    row = np.array([0 if b == "1" else 255 for b in bits], dtype=np.uint8)
    bars = np.repeat(np.repeat(row[None, :], height, 0), module, 1)
    image = Image.new("L", (bars.shape[1] + 240, height + 160), 255)
    image.paste(Image.fromarray(bars), (120, 80))
    return image.convert("RGB").filter(ImageFilter.GaussianBlur(0.8))


def cases(variants: int = 2, seed: int = 21) -> list[Case]:
    """Every trick in `variants` renderings (font, size, background picked in turn from
    a seeded shuffle), the rotated set at 90/180/270, and the QR codes."""
    rng = random.Random(seed)
    looks = [(f, s, b) for f in FONTS for s in SIZES for b in BACKGROUNDS]
    rng.shuffle(looks)
    pick = iter(looks * 4)
    out: list[Case] = []
    for trick, lines, expect in TEXTS:
        for v in range(variants):
            font, size, background = next(pick)
            if trick == "lookalike_letters" and font not in FONTS_WITH_CYRILLIC:
                font = FONTS_WITH_CYRILLIC[v % len(FONTS_WITH_CYRILLIC)]
            name = f"{trick}:{lines[0][:24]}:{font}:{size}:{background}:{v}"
            image = render(lines, font, size, background, seed=rng.randrange(1 << 30))
            out.append(Case(trick, name, image, expect))
    for lines, expect in ROTATED:
        for rotation in (90, 180, 270):
            font, size, background = next(pick)
            name = f"rotated_{rotation}:{lines[0][:24]}:{font}:{size}:{background}"
            image = render(lines, font, max(size, 24), background, rotation, rng.randrange(1 << 30))
            out.append(Case(f"rotated_{rotation}", name, image, expect))
    for i, (text, expect) in enumerate(QR_TEXTS):
        background = ("flat", "photo", "gradient", "noise")[i % 4]
        image = qr_image(text, module=(4, 6, 8)[i % 3], background=background, caption="Scan me!")
        out.append(Case("qr_code", f"qr_code:{text}:{background}", image, expect))
    return out


def benign(seed: int = 7) -> list[Case]:
    """Ordinary text in the same fonts and backgrounds, and the safe photos."""
    rng = random.Random(seed)
    out: list[Case] = []
    for i, lines in enumerate(BENIGN_TEXTS):
        font, background = FONTS[i % len(FONTS)], BACKGROUNDS[i % len(BACKGROUNDS)]
        image = render(lines, font, SIZES[i % len(SIZES)], background, seed=rng.randrange(1 << 30))
        out.append(Case("benign_text", f"benign_text:{lines[0]}:{font}:{background}", image, None))
    return out


def safe_photos() -> list[Case]:
    """The project's safe images without text (its `text` image is the spam demo)."""
    return [
        Case("safe_photo", name, image, None)
        for name, image in safe_images.all_safe().items()
        if name != "text"
    ]
