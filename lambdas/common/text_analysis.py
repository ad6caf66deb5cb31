"""The text analyzer: RapidOCR reads the image, `text_categories` says what the text holds.

Signals (`spam_link`, `contact_info`, `blocked_terms`) score the OCR confidence of the
best line that carries the evidence, so a category's threshold also filters out
uncertain reads; the evidence is what was read (the URL, the number, the term). The
recognised text goes into the result, truncated, so a reviewer sees why.
"""

from __future__ import annotations

import time
from typing import Any

from common.images import open_image
from common.models.base import Model
from common.models.text_categories import CATEGORIES, BlockedTerms, categorize
from common.rule_types import TextRules

MAX_LINES = 40


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
    data: bytes, rules: TextRules, ocr: Model, blocked: BlockedTerms | None = None
) -> dict[str, Any]:
    """The text branch's result for one image's bytes."""
    try:
        img = open_image(data)
    except ValueError as exc:
        return {"lines": [], "text": "", "signals": [], "error": f"corrupt: {exc}"}
    started = time.perf_counter()
    prediction = ocr.predict(img)
    took = round((time.perf_counter() - started) * 1000, 1)
    lines = list(prediction.details.get("lines", []))
    terms = blocked if blocked is not None else BlockedTerms(rules.blocked_terms)
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
