"""The text analyzer: RapidOCR reads the image, `text_categories` says what the text holds.

Signals (`spam_link`, `contact_info`, `blocked_terms`) score the OCR confidence of the
best line that carries the evidence, so a category's threshold also filters out
uncertain reads; the evidence is what was read (the URL, the number, the term). The
recognised text goes into the result, truncated, so a reviewer sees why.

What QR codes and barcodes carry (`codes.read_codes`) goes through the same rules as
text read with confidence 1 (a decoded code is exact), listed under `codes` and named
in the evidence ("url https://... in a QR_CODE"). The rules see each line as read and
normalised (`text_normalize`: spelled-out and bracketed dots, letter-spacing,
look-alike characters...); evidence only the normalised line shows names what was read
and the tricks undone.

`analyze_image` is the whole analysis of one picture (a still image, or one frame of
an animation); `analyze` opens the bytes first.

An animation's sampled frames (`frames.py`) are each read, in this one invocation; per
category the frame with the highest score is kept and recorded, and the text read is
kept per frame (`[frame N]` headers, each line with its `frame`).
"""

from __future__ import annotations

import time
from typing import Any

from PIL import Image

from common import codes, frames
from common.contract import FrameField
from common.models.base import Model, to_rgb
from common.models.text_categories import CATEGORIES, BlockedTerms
from common.rule_types import AnimationRules, TextRules
from common.text_normalize import categorize_read

MAX_LINES = 40
CODES_TIMING = "opencv_codes"  # the timing (and metric dimension) of reading codes


def default_model() -> Model:
    from common.models.ocr import RapidOcr

    return RapidOcr()


def _describe(evidence: dict[str, Any], line: dict[str, Any]) -> str:
    if evidence.get("term"):
        described = f"term {evidence['term']!r} read as {evidence['text']!r}"
    else:
        described = f"{evidence['kind']} {evidence['text']}"
    if evidence.get("tricks"):
        described += f" (read as {evidence['read']!r}: {', '.join(evidence['tricks'])})"
    if line.get("code"):
        described += f" in a {line['code']}"
    return described


def signals_from_lines(lines: list[dict[str, Any]], blocked: BlockedTerms) -> list[dict[str, Any]]:
    """One signal per category with evidence in the lines (`[{text, confidence}]`, and
    `code` for text a QR code or barcode carries)."""
    found = categorize_read([str(line["text"]) for line in lines], blocked)
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
                "evidence": [_describe(e, lines[e["line"]]) for e in evidence[:5]],
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
    codes_took = round(sum(float(r["timings_ms"].get(CODES_TIMING, 0.0)) for _, r in per_frame), 1)
    return {
        "signals": signals,
        "text": text[: rules.max_text_chars],
        "truncated": len(text) > rules.max_text_chars
        or len(lines) > MAX_LINES
        or any(r["truncated"] for _, r in per_frame),
        "lines": lines[:MAX_LINES],
        "line_count": line_count,
        "codes": [
            {**code, FrameField.FRAME: index}
            for index, result in per_frame
            for code in result["codes"]
        ],
        "models": {ocr.name: ocr.version},
        "timings_ms": {ocr.name: took, CODES_TIMING: codes_took},
        FrameField.FRAMES: sampled.record(),
    }


def analyze_image(
    img: Image.Image, rules: TextRules, ocr: Model, blocked: BlockedTerms | None = None
) -> dict[str, Any]:
    """The text branch's result for one picture (a still image, or one frame of an
    animation): OCR, codes, then the rules."""
    started = time.perf_counter()
    prediction = ocr.predict(img)
    took = round((time.perf_counter() - started) * 1000, 1)
    lines = list(prediction.details.get("lines", []))
    started = time.perf_counter()
    found_codes = codes.read_codes(to_rgb(img))
    codes_took = round((time.perf_counter() - started) * 1000, 1)
    terms = blocked if blocked is not None else BlockedTerms(rules.blocked_terms)
    # An empty line keeps code text from being joined to the last line read.
    code_lines = [{"text": c["text"], "confidence": 1.0, "code": c["kind"]} for c in found_codes]
    ruled = lines + ([{"text": "", "confidence": 0.0}] + code_lines if code_lines else [])
    text = "\n".join(str(line["text"]) for line in lines)
    truncated = len(text) > rules.max_text_chars or len(lines) > MAX_LINES
    return {
        "signals": signals_from_lines(ruled, terms),
        "text": text[: rules.max_text_chars],
        "truncated": truncated,
        "lines": [
            {"text": str(line["text"])[:200], "confidence": line["confidence"], "box": line["box"]}
            | ({"rotation": line["rotation"]} if line.get("rotation") else {})
            for line in lines[:MAX_LINES]
        ],
        "line_count": len(lines),
        "codes": [{**c, "text": c["text"][:200]} for c in found_codes],
        "models": {ocr.name: ocr.version},
        "timings_ms": {ocr.name: took, CODES_TIMING: codes_took},
    }
