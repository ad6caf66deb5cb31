"""The custom analyzer: an NSFW classifier, a face detector, the dHash blocklist, image checks.

Every check reports a signal `{category, score, evidence}`; which of them fire and
what they do is the decision's business (`decision.py`, thresholds and effects from
`moderation:customCategories`):

- nsfw: open_nsfw's P(nsfw) (always reported, so a reviewer sees the score);
- faces: the best BlazeFace score, with the count and the boxes in `faces`;
- blocklisted: a dHash near-duplicate of a known-bad image;
- unusable: corrupt, too small, or an extreme aspect ratio;
- off_topic: a blank or near-uniform image that carries no content.

The models are loaded once per execution environment (`CustomModels.load` at module
scope of the handler). To plug in a model of your own, set the function's CUSTOM_MODEL
environment variable to `module:function`; the module ships in the function package and
is called as `fn(image, data)` with the decoded PIL image and the raw bytes. It returns
`{"signals": [{"category", "score", "evidence"}], "scores": {...}}`, merged into the
result; a category it reports needs an entry in `moderation:customCategories` to count.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageStat

from common.images import dhash, hamming, open_image
from common.models.base import Model
from common.rule_types import CustomRules

DETERMINISTIC = ("blocklisted", "unusable", "off_topic")


@dataclass
class CustomModels:
    """The models of the custom branch, behind `base.Model` (tests inject their own)."""

    nsfw: Model
    faces: Model

    def load(self) -> dict[str, float]:
        """Load every model; the milliseconds each took (the cold start's model share)."""
        took = {}
        for model in (self.nsfw, self.faces):
            started = time.perf_counter()
            model.load()
            took[model.name] = round((time.perf_counter() - started) * 1000, 1)
        return took

    def versions(self) -> dict[str, str]:
        return {self.nsfw.name: self.nsfw.version, self.faces.name: self.faces.version}


def default_models() -> CustomModels:
    """open_nsfw and BlazeFace from the package's model directory (not yet loaded)."""
    from common.models.base import model_dir
    from common.models.faces import BlazeFace
    from common.models.nsfw import OpenNsfw

    return CustomModels(nsfw=OpenNsfw(), faces=BlazeFace(model_dir()))


def load_plugin(spec: str | None) -> Callable[..., Any] | None:
    if not spec:
        return None
    module_name, _, attr = spec.partition(":")
    plugin: Callable[..., Any] = getattr(importlib.import_module(module_name), attr or "analyze")
    return plugin


def signal(category: str, score: float, *evidence: str) -> dict[str, Any]:
    return {"category": category, "score": round(float(score), 4), "evidence": list(evidence)}


def image_checks(img: Image.Image, rules: CustomRules) -> tuple[list[dict[str, Any]], str]:
    """The deterministic signals of a decoded image, and its dHash."""
    out: list[dict[str, Any]] = []
    width, height = img.size
    if min(width, height) < rules.min_side:
        out.append(
            signal("unusable", 1.0, f"too small: {width}x{height}, minimum side {rules.min_side}px")
        )
    else:
        ratio = max(width, height) / min(width, height)
        if ratio > rules.max_aspect_ratio:
            out.append(signal("unusable", 1.0, f"extreme aspect ratio {ratio:.1f}:1"))
    digest = dhash(img)
    if rules.blocklist:
        nearest = min(hamming(digest, known) for known in rules.blocklist)
        if nearest <= rules.max_distance:
            out.append(
                signal("blocklisted", 1.0, f"dHash within {nearest} bits of a blocklisted image")
            )
    stddev = max(ImageStat.Stat(img.convert("L")).stddev[0], 0.0)
    if stddev < rules.blank_stddev:
        out.append(signal("off_topic", 1.0, f"blank or near-uniform image (stddev {stddev:.1f})"))
    return out, digest


def analyze(
    data: bytes,
    rules: CustomRules,
    models: CustomModels,
    plugin: Callable[..., Any] | None = None,
) -> dict[str, Any]:
    """The custom branch's result for one image's bytes."""
    try:
        img = open_image(data)
    except ValueError as exc:
        return {
            "signals": [signal("unusable", 1.0, f"corrupt: {exc}")],
            "scores": {},
            "faces": [],
            "dhash": None,
            "models": models.versions(),
            "timings_ms": {},
        }
    signals, digest = image_checks(img, rules)
    timings: dict[str, float] = {}

    def run(model: Model) -> dict[str, Any]:
        started = time.perf_counter()
        prediction = model.predict(img)
        timings[model.name] = round((time.perf_counter() - started) * 1000, 1)
        return {"scores": prediction.scores, "details": prediction.details}

    nsfw = run(models.nsfw)
    p_nsfw = float(nsfw["scores"].get("nsfw", 0.0))
    signals.insert(0, signal("nsfw", p_nsfw, f"{models.nsfw.name} {p_nsfw:.3f}"))
    faces = run(models.faces)
    found = list(faces["details"].get("faces", []))
    best_face = float(faces["scores"].get("face", 0.0))
    if found:
        signals.append(signal("faces", best_face, f"{len(found)} face(s), best {best_face:.2f}"))
    scores: dict[str, float] = {"nsfw": round(p_nsfw, 4), "face": round(best_face, 4)}
    if rules.blocklist:
        nearest = min(hamming(digest, known) for known in rules.blocklist)
        scores["blocklist_similarity"] = round(1.0 - nearest / 64.0, 4)

    if plugin is not None:
        extra = plugin(img, data) or {}
        signals.extend(extra.get("signals", []))
        scores.update(extra.get("scores", {}))

    return {
        "signals": signals,
        "scores": scores,
        "faces": found,
        "face_count": len(found),
        "dhash": digest,
        "width": img.width,
        "height": img.height,
        "models": models.versions(),
        "timings_ms": timings,
    }
