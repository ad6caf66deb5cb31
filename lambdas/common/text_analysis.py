"""The text analyzer: RapidOCR reads the image, `text_categories` says what the text holds.

Signals (`spam_link`, `contact_info`, `blocked_terms`) score the OCR confidence of the
best line that carries the evidence, so a category's threshold also filters out
uncertain reads; the evidence is what was read (the URL, the number, the term). The
recognised text goes into the result, truncated, so a reviewer sees why.

An animation's sampled frames (`frames.py`) are each read, in this one invocation; per
category the frame with the highest score is kept and recorded, and the text read is
kept per frame (`[frame N]` headers, each line with its `frame`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from PIL import Image

from common import frames
from common.contract import FrameField
from common.images import AnimationRules
from common.models.base import Model
from common.models.text_categories import CATEGORIES, BlockedTerms, categorize

MAX_LINES = 40


@dataclass(frozen=True)
class TextRules:
    blocked_terms: tuple[str, ...] = ()
    max_text_chars: int = 1000


def default_model() -> Model:
    from common.models.ocr import RapidOcr

    return RapidOcr()


def _describe(evidence: dict[str, Any]) -> str:
    if evidence.get("term"):
        return f"term {evidence['term']!r} read as {evidence['text']!r}"
    return f"{evidence['kind']} {evidence['text']}"


def signals_from_lines(lines: list[dict[str, Any]], blocked: BlockedTerms) -> list[dict[str, Any]]:
    """One signal per category with evidence in the OCR lines (`[{text, confidence}]`)."""
    found = categorize([str(line["text"]) for line in lines], blocked)
    out = []
    for category in CATEGORIES:
        evidence = found[category]
        if not evidence:
            continue
        confidence = max(float(lines[e["line"]]["confidence"]) for e in evidence)
        out.append(
            {
                "category": category,
                "score": round(confidence, 4),
                "evidence": [_describe(e) for e in evidence[:5]],
            }
        )
    return out


def analyze(
    data: bytes,
    rules: TextRules,
    ocr: Model,
    blocked: BlockedTerms | None = None,
    animation: AnimationRules | None = None,
) -> dict[str, Any]:
    """The text branch's result for one upload's bytes (every sampled frame of an
    animation, in this one call)."""
    try:
        sampled = frames.sample(data, animation or AnimationRules())
    except ValueError as exc:
        return {"lines": [], "text": "", "signals": [], "error": f"corrupt: {exc}"}
    terms = blocked if blocked is not None else BlockedTerms(rules.blocked_terms)
    if len(sampled.frames) == 1:
        result = analyze_image(sampled.frames[0].image, rules, ocr, terms)
        if sampled.animated:
            result[FrameField.FRAMES] = sampled.record()
        return result
    per_frame = [(f.index, analyze_image(f.image, rules, ocr, terms)) for f in sampled.frames]
    return combine(per_frame, sampled, rules, ocr)


def combine(
    per_frame: list[tuple[int, dict[str, Any]]],
    sampled: frames.Frames,
    rules: TextRules,
    ocr: Model,
) -> dict[str, Any]:
    """One result from each frame's: the signals of the most severe frame, the text of all."""
    signals = frames.merge_signals([(index, result["signals"]) for index, result in per_frame])
    text = "\n".join(
        f"[frame {index}]\n{result['text']}" for index, result in per_frame if result["text"]
    )
    lines = [
        {**line, FrameField.FRAME: index} for index, result in per_frame for line in result["lines"]
    ]
    line_count = sum(int(result["line_count"]) for _, result in per_frame)
    took = round(sum(float(r["timings_ms"].get(ocr.name, 0.0)) for _, r in per_frame), 1)
    return {
        "signals": signals,
        "text": text[: rules.max_text_chars],
        "truncated": len(text) > rules.max_text_chars
        or len(lines) > MAX_LINES
        or any(r["truncated"] for _, r in per_frame),
        "lines": lines[:MAX_LINES],
        "line_count": line_count,
        "models": {ocr.name: ocr.version},
        "timings_ms": {ocr.name: took},
        FrameField.FRAMES: sampled.record(),
    }


def analyze_image(
    img: Image.Image, rules: TextRules, ocr: Model, terms: BlockedTerms
) -> dict[str, Any]:
    """The text branch's result for one decoded image (or one frame of an animation)."""
    started = time.perf_counter()
    prediction = ocr.predict(img)
    took = round((time.perf_counter() - started) * 1000, 1)
    lines = list(prediction.details.get("lines", []))
    text = "\n".join(str(line["text"]) for line in lines)
    truncated = len(text) > rules.max_text_chars or len(lines) > MAX_LINES
    return {
        "signals": signals_from_lines(lines, terms),
        "text": text[: rules.max_text_chars],
        "truncated": truncated,
        "lines": [
            {"text": str(line["text"])[:200], "confidence": line["confidence"], "box": line["box"]}
            for line in lines[:MAX_LINES]
        ],
        "line_count": len(lines),
        "models": {ocr.name: ocr.version},
        "timings_ms": {ocr.name: took},
    }
