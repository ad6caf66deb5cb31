"""The decision table (docs/architecture.md), with config thresholds."""

from __future__ import annotations

import pytest

from common.contract import Decision
from common.decision import Rules, decide

APPROVE, WARN, REJECT, REVIEW = Decision.APPROVE, Decision.WARN, Decision.REJECT, Decision.REVIEW

RULES = Rules(
    min_confidence=50.0,
    reject_threshold=90.0,
    unsafe_categories=("Explicit", "Violence", "Visually Disturbing", "Hate Symbols"),
)


def lab(name, conf, parent="", top=None):
    return {
        "name": name,
        "confidence": conf,
        "parent": parent,
        "top_level": top or (parent or name),
    }


CLEAN = {"flags": []}


@pytest.mark.parametrize(
    "labels,custom,expected",
    [
        ([], CLEAN, APPROVE),
        ([lab("Explicit", 97.0)], CLEAN, REJECT),
        ([lab("Graphic Violence", 95.0, "Violence")], CLEAN, REJECT),  # parent is unsafe
        ([lab("Violence", 90.0)], CLEAN, REJECT),  # at the threshold rejects
        ([lab("Violence", 89.9)], CLEAN, REVIEW),  # moderate, uncorroborated
        ([lab("Violence", 70.0)], {"flags": ["blocklisted"]}, REJECT),  # corroborated
        ([lab("Violence", 70.0)], {"flags": ["unusable"]}, REVIEW),
        ([], {"flags": ["blocklisted"]}, WARN),
        ([], {"flags": ["off_topic"]}, WARN),
        ([], {"flags": ["unusable", "off_topic"]}, WARN),
        ([lab("Violence", 40.0)], CLEAN, APPROVE),  # below min confidence never counts
        ([lab("Swimwear or Underwear", 99.0)], CLEAN, APPROVE),  # not an unsafe category
        ([lab("Swimwear or Underwear", 99.0)], {"flags": ["off_topic"]}, WARN),
        ([lab("Explicit", 99.0)], {"flags": ["off_topic"]}, REJECT),  # reject wins
    ],
)
def test_decision_table(labels, custom, expected):
    decision, reasons = decide({"labels": labels}, custom, RULES)
    assert decision == expected
    assert (decision == APPROVE) == (reasons == [])


def test_reasons_name_labels_and_flags():
    _, reasons = decide(
        {"labels": [lab("Violence", 72.0)]},
        {"flags": ["blocklisted"], "details": {"blocklisted": "dHash within 3 bits"}},
        RULES,
    )
    assert reasons == ["rekognition: Violence (72.0%)", "custom: blocklisted (dHash within 3 bits)"]


def test_thresholds_come_from_config():
    strict = Rules(min_confidence=50, reject_threshold=60, unsafe_categories=("Violence",))
    assert decide({"labels": [lab("Violence", 65.0)]}, CLEAN, strict)[0] == REJECT
    assert decide({"labels": [lab("Violence", 65.0)]}, CLEAN, RULES)[0] == REVIEW
