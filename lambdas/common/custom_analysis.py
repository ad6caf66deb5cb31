"""The custom analyzer: deterministic checks that need no model download.

- blocklist: a dHash near-duplicate match against known-bad images;
- unusable: corrupt, too small, or an extreme aspect ratio;
- off_topic: a blank or near-uniform image that carries no content.

To plug in your own model, set the function's CUSTOM_MODEL environment variable to
`module:function`; the module ships in the function package and the function is
called as `fn(image, data)` with a decoded PIL image and the raw bytes. It returns
`{"flags": [...], "details": {...}, "scores": {...}}`, which is merged into the result.
Load weights at import time so warm invocations reuse them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import ImageStat

from common.images import dhash, hamming, open_image

FLAGS = ("blocklisted", "unusable", "off_topic")


@dataclass(frozen=True)
class CustomRules:
    blocklist: tuple[str, ...] = ()
    max_distance: int = 10
    min_side: int = 64
    max_aspect_ratio: float = 4.0
    blank_stddev: float = 4.0


def load_plugin(spec: str | None) -> Callable[..., Any] | None:
    if not spec:
        return None
    module_name, _, attr = spec.partition(":")
    plugin: Callable[..., Any] = getattr(importlib.import_module(module_name), attr or "analyze")
    return plugin


def analyze(
    data: bytes, rules: CustomRules, plugin: Callable[..., Any] | None = None
) -> dict[str, Any]:
    flags: list[str] = []
    details: dict[str, str] = {}
    scores: dict[str, float] = {}
    try:
        img = open_image(data)
    except ValueError as exc:
        return {
            "flags": ["unusable"],
            "details": {"unusable": f"corrupt: {exc}"},
            "scores": {},
            "categories": [{"category": "unusable", "score": 1.0}],
            "dhash": None,
        }

    width, height = img.size
    if min(width, height) < rules.min_side:
        flags.append("unusable")
        details["unusable"] = f"too small: {width}x{height}, minimum side {rules.min_side}px"
    else:
        ratio = max(width, height) / min(width, height)
        if ratio > rules.max_aspect_ratio:
            flags.append("unusable")
            details["unusable"] = f"extreme aspect ratio {ratio:.1f}:1"

    digest = dhash(img)
    if rules.blocklist:
        nearest = min(hamming(digest, known) for known in rules.blocklist)
        similarity = 1.0 - nearest / 64.0
        scores["blocklist_similarity"] = round(similarity, 4)
        if nearest <= rules.max_distance:
            flags.append("blocklisted")
            details["blocklisted"] = f"dHash within {nearest} bits of a blocklisted image"

    stddev = max(ImageStat.Stat(img.convert("L")).stddev[0], 0.0)
    scores["contrast"] = round(min(stddev / 128.0, 1.0), 4)
    if stddev < rules.blank_stddev:
        flags.append("off_topic")
        details["off_topic"] = f"blank or near-uniform image (stddev {stddev:.1f})"

    if plugin is not None:
        extra = plugin(img, data) or {}
        for flag in extra.get("flags", []):
            if flag not in flags:
                flags.append(flag)
        details.update(extra.get("details", {}))
        scores.update(extra.get("scores", {}))

    categories = [{"category": f, "score": 1.0} for f in flags]
    return {
        "flags": flags,
        "details": details,
        "scores": scores,
        "categories": categories,
        "dhash": digest,
        "width": width,
        "height": height,
    }
