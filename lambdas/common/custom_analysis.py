"""The custom analyzer: an NSFW classifier, a face detector, the dHash blocklist, image checks.

Every check reports a signal `{category, score, evidence}`; which of them fire and
what they do is the decision's business (`decision.py`, thresholds and effects from
`moderation:customCategories`):

- nsfw: open_nsfw's P(nsfw) (always reported, so a reviewer sees the score);
- faces: the best BlazeFace score, with the count and the boxes in `faces`;
- blocklisted: a dHash near-duplicate of a known-bad image (the stack's blocklist), or a
  match in a `reject` hash bank (`bank_index.py`: PDQ and dHash, every rotation and
  mirror); bank_review: a match in a `review` bank. The match (bank, entry, hash type,
  distance) is the result's `bank_matches`, for operators; an `allow` bank's match
  suppresses both. The result carries the picture's `pdq` and `pdq_quality`;
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

from common import bank_index, frames
from common.contract import BANK_REVIEW_CATEGORY, BankAction, BankMatchField, FrameField
from common.images import AnimationRules, dhash, hamming
from common.models.base import Model
from common.rule_types import CustomRules

DETERMINISTIC = ("blocklisted", "unusable", "off_topic", BANK_REVIEW_CATEGORY)
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
    banks: list[bank_index.Bank] | None = None,
) -> dict[str, Any]:
    """The custom branch's result for one upload's bytes (every sampled frame of an
    animation, in this one call), matched against `banks` (the enabled hash banks)."""
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
        result = analyze_image(sampled.frames[0].image, data, rules, models, plugin, banks)
        if sampled.animated:
            result[FrameField.FRAMES] = sampled.record()
        return result
    per_frame = [
        (f.index, analyze_image(f.image, data, rules, models, plugin, banks))
        for f in sampled.frames
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
    matches = {
        (m[BankMatchField.BANK], m[BankMatchField.ENTRY_ID]): {**m, FrameField.FRAME: index}
        for index, result in reversed(per_frame)
        for m in result.get(BankMatchField.MATCHES, [])
    }
    return {
        BankMatchField.MATCHES: list(matches.values()),
        "pdq": first.get("pdq"),
        "pdq_quality": first.get("pdq_quality"),
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
    banks: list[bank_index.Bank] | None = None,
) -> dict[str, Any]:
    """The custom branch's result for one decoded image (or one frame of an animation)."""
    signals, digest = image_checks(img, rules)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    query = bank_index.query_of(img)
    matches = bank_index.match(banks or [], query)
    bank_ms = round((time.perf_counter() - started) * 1000, 1)
    signals.extend(bank_signals(matches))

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
        BankMatchField.MATCHES: matches,
        "pdq": query.pdq[0],
        "pdq_quality": query.pdq_quality,
        "bank_ms": bank_ms,
        "faces": found,
        "face_count": len(found),
        "dhash": digest,
        "width": img.width,
        "height": img.height,
        "models": models.versions(),
        "timings_ms": timings,
    }


def bank_signals(matches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One signal per acting bank match: `blocklisted` for `reject`, `bank_review` for
    `review` (an `allow` match has already removed both)."""
    category = {BankAction.REJECT: "blocklisted", BankAction.REVIEW: BANK_REVIEW_CATEGORY}
    out = []
    for m in matches:
        name = category.get(m[BankMatchField.ACTION])
        if name is not None:
            out.append(
                signal(
                    name,
                    1.0,
                    f"bank {m[BankMatchField.BANK]} entry {m[BankMatchField.ENTRY_ID]}: "
                    f"{m[BankMatchField.HASH_TYPE]} within {m[BankMatchField.DISTANCE]} bits",
                )
            )
    return out
