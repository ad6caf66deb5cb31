"""A varied corpus of safe pictures for the perceptual hashes' tests and benchmark.

Pictures that ship inside installed packages (matplotlib's public-domain portrait and
logos; matplotlib is pinned, so they are the same everywhere) and generated ones
(seeded, so the same on every machine): scenes of random shapes, gradients, noise,
stripes, rendered text, and sizes from 90 px to 1600 px. Nothing is stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from local.tools import safe_images


def _site_packages() -> Path:
    import matplotlib

    return Path(matplotlib.__file__).resolve().parent.parent


# Package pictures (relative to site-packages); a missing one is skipped.
PACKAGE_PICTURES = (
    "matplotlib/mpl-data/sample_data/grace_hopper.jpg",
    "matplotlib/mpl-data/sample_data/logo2.png",
    "matplotlib/mpl-data/images/matplotlib_large.png",
)


def package_pictures() -> Iterator[tuple[str, Image.Image]]:
    root = _site_packages()
    for rel in PACKAGE_PICTURES:
        path = root / rel
        if path.exists():
            with Image.open(path) as img:
                rgba = img.convert("RGBA")
            flat = Image.new("RGB", rgba.size, "white")
            flat.paste(rgba, mask=rgba.getchannel("A"))
            yield Path(rel).stem, flat


def scene(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """Random filled shapes over a random two-colour gradient: one distinct picture per seed."""
    rng = np.random.default_rng(seed)
    width, height = size
    top, bottom = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = np.linspace(0, 1, height)[:, None, None]
    ground = (top * (1 - t) + bottom * t).astype(np.uint8)
    image = Image.fromarray(np.broadcast_to(ground, (height, width, 3)).copy())
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(6, 14))):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        w, h = (
            int(rng.integers(width // 10, width // 2)),
            int(rng.integers(height // 10, height // 2)),
        )
        fill = tuple(int(c) for c in rng.integers(0, 256, 3))
        box = (x0 - w // 2, y0 - h // 2, x0 + w // 2, y0 + h // 2)
        kind = int(rng.integers(0, 3))
        if kind == 0:
            draw.rectangle(box, fill=fill)
        elif kind == 1:
            draw.ellipse(box, fill=fill)
        else:
            draw.polygon(
                [(int(rng.integers(0, width)), int(rng.integers(0, height))) for _ in range(3)],
                fill=fill,
            )
    return image


def generated() -> Iterator[tuple[str, Image.Image]]:
    rng = np.random.default_rng(22)
    yy, xx = np.mgrid[0:300, 0:400]
    yield "gradient", Image.fromarray((xx * 255 / 399).astype(np.uint8)).convert("RGB")
    yield (
        "radial",
        Image.fromarray(
            (np.hypot(xx - 200, yy - 150) * 255 / 250).clip(0, 255).astype(np.uint8)
        ).convert("RGB"),
    )
    yield "noise", Image.fromarray(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8))
    yield "stripes", Image.fromarray(((np.sin(xx / 7.0 + yy / 13.0) + 1) * 127).astype(np.uint8))
    yield "shapes", safe_images.shapes()
    yield "text", safe_images.text_image(["a line of plain text", "and another one"])
    font = ImageFont.truetype(safe_images.font_path(), 48)
    poster = Image.new("RGB", (500, 700), (20, 30, 60))
    ImageDraw.Draw(poster).text((40, 300), "OPEN DAY", font=font, fill=(250, 220, 80))
    yield "poster", poster
    yield "small", scene(5, (90, 120))
    yield "wide", scene(6, (1600, 500))
    yield "large", scene(7, (1200, 1600))
    hopper = safe_images.grace_hopper()
    yield "hopper_tall", hopper.resize((300, 900))
    yield (
        "hopper_sepia",
        Image.merge(
            "RGB",
            [
                hopper.convert("L").point(lambda v, k=k: int(min(255, v * k)))
                for k in (1.07, 0.74, 0.43)
            ],
        ),
    )


def corpus(scenes: int = 8) -> list[tuple[str, Image.Image]]:
    """The package pictures, the generated ones, then `scenes` random scenes."""
    out = list(package_pictures()) + list(generated())
    out += [(f"scene{seed}", scene(seed)) for seed in range(100, 100 + scenes)]
    return out
