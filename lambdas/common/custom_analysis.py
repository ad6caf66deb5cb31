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

An animation's sampled frames (`frames.py`) are each analysed like an image, in this one
invocation; per category the frame with the highest score is kept and recorded
(`off_topic` only when every frame is blank). The plugin is called once per frame.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageStat

from common import frames
from common.contract import FrameField
from common.images import AnimationRules, dhash, hamming
from common.models.base import Model
from common.rule_types import CustomRules

DETERMINISTIC = ("blocklisted", "unusable", "off_topic")
# Categories about the whole picture: an animation has them only when every frame does.
EVERY_FRAME = ("off_topic",)


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
    animation: AnimationRules | None = None,
) -> dict[str, Any]:
    """The custom branch's result for one upload's bytes (every sampled frame of an
    animation, in this one call)."""
    try:
        sampled = frames.sample(data, animation or AnimationRules())
    except ValueError as exc:
        return {
            "signals": [signal("unusable", 1.0, f"corrupt: {exc}")],
            "scores": {},
            "faces": [],
            "dhash": None,
            "models": models.versions(),
            "timings_ms": {},
        }
    if len(sampled.frames) == 1:
        result = analyze_image(sampled.frames[0].image, data, rules, models, plugin)
        if sampled.animated:
            result[FrameField.FRAMES] = sampled.record()
        return result
    per_frame = [
        (f.index, analyze_image(f.image, data, rules, models, plugin)) for f in sampled.frames
    ]
    return combine(per_frame, sampled, models)


def combine(
    per_frame: list[tuple[int, dict[str, Any]]], sampled: frames.Frames, models: CustomModels
) -> dict[str, Any]:
    """One result from each frame's: signals and scores of the most severe frame."""
    signals = frames.merge_signals(
        [(index, result["signals"]) for index, result in per_frame], EVERY_FRAME
    )
    scores: dict[str, float] = {}
    timings: dict[str, float] = {}
    for _, result in per_frame:
        for name, value in result["scores"].items():
            scores[name] = max(scores.get(name, value), value)
        for name, took in result["timings_ms"].items():
            timings[name] = round(timings.get(name, 0.0) + took, 1)
    face_frame, faces = max(
        ((index, result["faces"]) for index, result in per_frame), key=lambda f: len(f[1])
    )
    first = per_frame[0][1]
    return {
        "signals": signals,
        "scores": scores,
        "faces": [{**face, FrameField.FRAME: face_frame} for face in faces],
        "face_count": len(faces),
        "dhash": first["dhash"],
        "width": first["width"],
        "height": first["height"],
        "models": models.versions(),
        "timings_ms": timings,
        FrameField.FRAMES: sampled.record(),
    }


def analyze_image(
    img: Image.Image,
    data: bytes,
    rules: CustomRules,
    models: CustomModels,
    plugin: Callable[..., Any] | None = None,
) -> dict[str, Any]:
    """The custom branch's result for one decoded image (or one frame of an animation)."""
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
