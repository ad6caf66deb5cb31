"""Moderation rules from the function's baked-in configuration (set from stack config).

`decision` and `animation` are in every analyzer's file (any of them may finalize;
each samples an animation's frames); `custom` and `text` only in their own
analyzer's. The program writes the sections with `*_section` below, so the reader
and the writer of each key are in one module. Every import here is of the standard
library or of pure rule types (`decision.py`, `rule_types.py`): the dispatcher and
the Rekognition analyzer read these rules without Pillow or ONNX Runtime in their
layers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from common import function_config
from common.decision import CategoryRule, Rules
from common.rule_types import AnimationRules, CustomRules, TextRules


def decision_section(
    min_confidence: float,
    reject_threshold: float,
    unsafe_categories: Sequence[str],
    categories: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    return {
        "min_confidence": float(min_confidence),
        "reject_threshold": float(reject_threshold),
        "unsafe_categories": list(unsafe_categories),
        "categories": {
            name: {"threshold": float(c["threshold"]), "effect": str(c["effect"])}
            for name, c in sorted(categories.items())
        },
    }


def custom_section(
    blocklist: Sequence[str], max_distance: int, min_side: int, max_aspect_ratio: float
) -> dict[str, Any]:
    return {
        "blocklist": list(blocklist),
        "max_distance": int(max_distance),
        "min_side": int(min_side),
        "max_aspect_ratio": float(max_aspect_ratio),
    }


def text_section(blocked_terms: Sequence[str], max_text_chars: int) -> dict[str, Any]:
    return {"blocked_terms": list(blocked_terms), "max_text_chars": int(max_text_chars)}


def animation_section(max_frames: int, policy: str) -> dict[str, Any]:
    return {"max_frames": int(max_frames), "policy": str(policy)}


def rules_of(doc: Mapping[str, Any]) -> Rules:
    return Rules(
        min_confidence=float(doc["min_confidence"]),
        reject_threshold=float(doc["reject_threshold"]),
        unsafe_categories=tuple(doc["unsafe_categories"]),
        categories={
            name: CategoryRule(float(c["threshold"]), str(c["effect"]))
            for name, c in doc["categories"].items()
        },
    )


def custom_rules_of(doc: Mapping[str, Any]) -> CustomRules:
    return CustomRules(
        blocklist=tuple(doc["blocklist"]),
        max_distance=int(doc["max_distance"]),
        min_side=int(doc["min_side"]),
        max_aspect_ratio=float(doc["max_aspect_ratio"]),
    )


def text_rules_of(doc: Mapping[str, Any]) -> TextRules:
    return TextRules(
        blocked_terms=tuple(doc["blocked_terms"]), max_text_chars=int(doc["max_text_chars"])
    )


def animation_rules_of(doc: Mapping[str, Any]) -> AnimationRules:
    return AnimationRules(max_frames=int(doc["max_frames"]), policy=str(doc["policy"]))


def from_config() -> Rules:
    return rules_of(function_config.section("decision"))


def custom_from_config() -> CustomRules:
    return custom_rules_of(function_config.section("custom"))


def text_from_config() -> TextRules:
    return text_rules_of(function_config.section("text"))


def animation_from_config() -> AnimationRules:
    return animation_rules_of(function_config.section("animation"))
