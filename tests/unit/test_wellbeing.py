"""Images are shielded on the server (blurred, greyscale, small) and preferences kept."""

from __future__ import annotations

import io

from PIL import Image, ImageChops, ImageFilter, ImageStat

from dashboard.data.wellbeing import SHIELD_SIDE, FilePreferences, Preferences, shield


def checkerboard(size: int = 800, cell: int = 8) -> bytes:
    img = Image.new("RGB", (size, size // 2))
    px = img.load()
    for x in range(img.width):
        for y in range(img.height):
            px[x, y] = (255, 0, 0) if (x // cell + y // cell) % 2 else (0, 0, 255)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def edges(img: Image.Image) -> float:
    return ImageStat.Stat(img.convert("L").filter(ImageFilter.FIND_EDGES)).mean[0]


def test_a_shielded_image_is_small_greyscale_and_has_no_detail_left():
    original = checkerboard()
    shielded = Image.open(io.BytesIO(shield(original)))
    assert shielded.format == "PNG" and shielded.mode == "L"
    assert max(shielded.size) == SHIELD_SIDE and shielded.size == (SHIELD_SIDE, SHIELD_SIDE // 2)
    before = Image.open(io.BytesIO(original)).resize(shielded.size)
    assert edges(before) > 40, "the pattern has sharp edges at this size"
    assert edges(shielded) < 2, "the blur leaves none"


def test_colour_is_gone_and_animations_give_their_first_frame():
    frames = [Image.new("RGB", (64, 64), c) for c in ((255, 0, 0), (0, 255, 0))]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    shielded = Image.open(io.BytesIO(shield(out.getvalue())))
    assert shielded.mode == "L"
    red_grey = Image.new("RGB", (64, 64), (255, 0, 0)).convert("L").getpixel((0, 0))
    assert abs(shielded.getpixel((32, 32)) - red_grey) <= 2, "the first frame, in grey"
    rgba = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    out = io.BytesIO()
    rgba.save(out, format="PNG")
    clear = Image.open(io.BytesIO(shield(out.getvalue())))
    assert ImageChops.difference(clear, Image.new("L", clear.size, 255)).getbbox() is None, (
        "transparency is flattened over white"
    )


def test_file_preferences_default_to_shielding_and_are_kept_per_identity(tmp_path):
    path = tmp_path / "prefs" / "preferences.json"
    store = FilePreferences(path)
    assert store.get("local:alice") == Preferences(shield_images=True)
    store.put("local:alice", Preferences(shield_images=False))
    assert FilePreferences(path).get("local:alice").shield_images is False
    assert FilePreferences(path).get("local:bob").shield_images is True
    path.write_text("{not json")
    assert FilePreferences(path).get("local:alice").shield_images is True
    FilePreferences(path).put("local:bob", Preferences(shield_images=False))
    assert FilePreferences(path).get("local:bob").shield_images is False
