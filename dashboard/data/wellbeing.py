"""Moderator wellbeing: images reach the browser blurred and greyscale unless revealed,
and each moderator's preference for that is kept.

The shielding is done here, on the server, with Pillow: the browser receives only the
blurred greyscale bytes until the moderator reveals that one image (then the original).
A small copy is blurred (the longest side at most `SHIELD_SIDE` pixels) so nothing of
the detail survives and no large image is processed per draw.

Preferences are kept per identity:
- signed in: one item per identity in the audit table (partition `preferences`, sort key
  the identity — never a day, so audit reads never see it), written with the console's
  own PutItem on that table;
- local (no sign-in): a JSON file, `~/.config/moderation-console/preferences.json` by
  default (`DASHBOARD_PREFERENCES` names another), keyed by the local operator.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageFilter, ImageOps

SHIELD_SIDE = 256
BLUR_RADIUS = 12  # at SHIELD_SIDE: shapes and tones, no detail
PREFERENCES_PARTITION = "preferences"
PREFERENCES_ENV = "DASHBOARD_PREFERENCES"


def shield(data: bytes) -> bytes:
    """The image blurred and in greyscale, as PNG (the first frame of an animation)."""
    with Image.open(io.BytesIO(data)) as img:
        img.seek(0)
        frame = ImageOps.exif_transpose(img.convert("RGBA"))
        small = frame.copy()
        small.thumbnail((SHIELD_SIDE, SHIELD_SIDE))
        flat = Image.new("RGB", small.size, "white")
        flat.paste(small, mask=small.getchannel("A"))
        grey = ImageOps.grayscale(flat).filter(ImageFilter.GaussianBlur(BLUR_RADIUS))
        out = io.BytesIO()
        grey.save(out, format="PNG")
        return out.getvalue()


@dataclass(frozen=True)
class Preferences:
    """A moderator's choices; the defaults protect."""

    shield_images: bool = True

    @classmethod
    def from_mapping(cls, value: Any) -> Preferences:
        if not isinstance(value, dict):
            return cls()
        return cls(shield_images=bool(value.get("shield_images", True)))


def default_preferences_file() -> Path:
    named = os.environ.get(PREFERENCES_ENV)
    if named:
        return Path(named)
    return Path.home() / ".config" / "moderation-console" / "preferences.json"


class FilePreferences:
    """Preferences of the local console's operators, in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _all(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError:
            return {}  # an unreadable file is replaced on the next save
        return data if isinstance(data, dict) else {}

    def get(self, identity: str) -> Preferences:
        return Preferences.from_mapping(self._all().get(identity))

    def put(self, identity: str, prefs: Preferences) -> None:
        data = self._all()
        data[identity] = asdict(prefs)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
        tmp.replace(self.path)


class TablePreferences:
    """Preferences of signed-in moderators, one item each in the audit table."""

    def __init__(self, ddb: Any, table: str) -> None:
        self.ddb = ddb
        self.table = table

    def _key(self, identity: str) -> dict[str, Any]:
        return {"day": {"S": PREFERENCES_PARTITION}, "entry": {"S": identity}}

    def get(self, identity: str) -> Preferences:
        item = self.ddb.get_item(TableName=self.table, Key=self._key(identity)).get("Item")
        if not item:
            return Preferences()
        return Preferences(shield_images=bool(item.get("shield_images", {}).get("BOOL", True)))

    def put(self, identity: str, prefs: Preferences) -> None:
        self.ddb.put_item(
            TableName=self.table,
            Item={**self._key(identity), "shield_images": {"BOOL": prefs.shield_images}},
        )
