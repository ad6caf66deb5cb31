"""Combine the two analyzers' results into one decision. Pure: no I/O.

The rules, in order (thresholds from stack config):

1. reject  - an unsafe Rekognition label at or above the reject threshold;
             or a moderate-confidence unsafe label that the custom analyzer
             corroborates with a blocklist match (both sides see a problem).
2. review  - a moderate-confidence unsafe label (min confidence <= c < reject threshold)
             that the custom analyzer does not corroborate: the signals disagree
             and a person should look.
3. warn    - the custom analyzer flags the image (blocklisted, off-topic,
             unusable) and Rekognition sees nothing unsafe.
4. approve - neither side flags anything.

A label is unsafe when it, or its parent, or its top-level category is one of the
configured unsafe categories. Labels below the minimum confidence never count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from common.contract import Decision


@dataclass(frozen=True)
class Rules:
    min_confidence: float = 50.0
    reject_threshold: float = 90.0
    unsafe_categories: tuple[str, ...] = ()


def _is_unsafe(label: dict[str, Any], categories: tuple[str, ...]) -> bool:
    names = {
        label.get("name", ""),
        label.get("parent", "") or "",
        label.get("top_level", "") or "",
    }
    return any(n and n in categories for n in names)


def decide(
    rekognition: dict[str, Any], custom: dict[str, Any], rules: Rules
) -> tuple[Decision, list[str]]:
    """Return (decision, reasons). Reasons are short human-readable strings."""
    labels = [
        lab
        for lab in rekognition.get("labels", [])
        if float(lab.get("confidence", 0)) >= rules.min_confidence
        and _is_unsafe(lab, rules.unsafe_categories)
    ]
    high = [lab for lab in labels if float(lab["confidence"]) >= rules.reject_threshold]
    moderate = [lab for lab in labels if float(lab["confidence"]) < rules.reject_threshold]
    flags = list(custom.get("flags", []))
    blocklisted = "blocklisted" in flags

    def describe(lab: dict[str, Any]) -> str:
        return f"rekognition: {lab['name']} ({float(lab['confidence']):.1f}%)"

    if high:
        return Decision.REJECT, [describe(lab) for lab in high]
    if moderate and blocklisted:
        return Decision.REJECT, [describe(lab) for lab in moderate] + _custom_reasons(custom)
    if moderate:
        return Decision.REVIEW, [describe(lab) for lab in moderate] + [
            "signals disagree: only rekognition sees this, below the reject threshold"
        ] + _custom_reasons(custom)
    if flags:
        return Decision.WARN, _custom_reasons(custom)
    return Decision.APPROVE, []


def _custom_reasons(custom: dict[str, Any]) -> list[str]:
    details = custom.get("details", {})
    return [
        f"custom: {flag}" + (f" ({details[flag]})" if flag in details else "")
        for flag in custom.get("flags", [])
    ]
