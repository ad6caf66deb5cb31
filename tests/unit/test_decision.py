"""The decision table (docs/architecture.md): Rekognition's labels, the custom and text
branches' categories, their thresholds and effects, corroboration and disagreement."""

from __future__ import annotations

import pytest

from common.contract import Decision
from common.decision import DEFAULT_CATEGORIES, CategoryRule, Rules, custom_rejects, decide

APPROVE, WARN, REJECT, REVIEW = Decision.APPROVE, Decision.WARN, Decision.REJECT, Decision.REVIEW

RULES = Rules(
    min_confidence=50.0,
    reject_threshold=90.0,
    unsafe_categories=(
        "Explicit",
        "Explicit Nudity",
        "Violence",
        "Visually Disturbing",
        "Hate Symbols",
    ),
)


def lab(name, conf, parent="", top=None):
    return {
        "name": name,
        "confidence": conf,
        "parent": parent,
        "top_level": top or (parent or name),
    }


def sig(category, score=1.0, *evidence):
    return {"category": category, "score": score, "evidence": list(evidence)}


def results(labels=(), custom=(), text=()):
    return {
        "rekognition": {"labels": list(labels)},
        "custom": {"signals": [sig("nsfw", 0.01), *custom]},
        "text": {"signals": list(text)},
    }


EXPLICIT_MODERATE = lab("Explicit Nudity", 70.0, "Explicit", "Explicit")


@pytest.mark.parametrize(
    "labels,custom,text,expected",
    [
        # Rekognition alone
        ([], [], [], APPROVE),
        ([lab("Explicit", 97.0)], [], [], REJECT),
        ([lab("Graphic Violence", 95.0, "Violence")], [], [], REJECT),  # parent is unsafe
        ([lab("Violence", 90.0)], [], [], REJECT),  # at the threshold rejects
        ([lab("Violence", 89.9)], [], [], REVIEW),  # moderate, uncorroborated
        ([lab("Violence", 40.0)], [], [], APPROVE),  # below min confidence never counts
        ([lab("Swimwear or Underwear", 99.0)], [], [], APPROVE),  # not an unsafe category
        # the model category with a counterpart: corroborated or disagreeing
        ([], [sig("nsfw", 0.93)], [], REVIEW),  # only the model sees it
        ([EXPLICIT_MODERATE], [sig("nsfw", 0.93)], [], REJECT),  # both see it
        ([EXPLICIT_MODERATE], [sig("nsfw", 0.5)], [], REVIEW),  # only rekognition, moderate
        ([lab("Explicit", 97.0)], [sig("nsfw", 0.2)], [], REJECT),  # rekognition high wins
        ([lab("Violence", 70.0)], [sig("nsfw", 0.93)], [], REVIEW),  # not a counterpart
        ([], [sig("nsfw", 0.79)], [], APPROVE),  # below the category's threshold
        # deterministic categories apply their effect directly
        ([], [sig("blocklisted")], [], REJECT),
        ([lab("Violence", 70.0)], [sig("blocklisted")], [], REJECT),  # corroborated
        ([lab("Violence", 70.0)], [sig("unusable")], [], REVIEW),
        ([], [sig("off_topic")], [], WARN),
        ([], [sig("unusable"), sig("off_topic")], [], WARN),
        ([], [sig("faces", 0.94)], [], APPROVE),  # info only
        ([], [], [sig("spam_link", 0.99, "url http://spam.example")], REVIEW),
        ([], [], [sig("contact_info", 0.98, "phone 555-0100")], REVIEW),
        ([], [], [sig("blocked_terms", 0.97, "term 'buy now'")], REJECT),
        ([], [], [sig("spam_link", 0.3)], APPROVE),  # an uncertain read does not count
        # the most severe effect wins
        ([lab("Explicit", 99.0)], [sig("off_topic")], [], REJECT),
        ([], [sig("off_topic")], [sig("spam_link", 0.9)], REVIEW),
        ([], [sig("faces", 0.9)], [sig("blocked_terms", 0.9)], REJECT),
    ],
)
def test_decision_table(labels, custom, text, expected):
    verdict = decide(results(labels, custom, text), RULES)
    assert verdict.decision == expected
    assert (verdict.decision == APPROVE) == all(f.effect == "info" for f in verdict.findings), (
        verdict.reasons
    )


def test_info_categories_appear_in_reasons_and_categories_but_approve():
    verdict = decide(results(custom=[sig("faces", 0.94, "1 face(s), best 0.94")]), RULES)
    assert verdict.decision == APPROVE
    assert verdict.reasons == ["custom: faces 0.94 >= 0.5: 1 face(s), best 0.94 -> info"]
    assert verdict.categories() == [
        {"category": "faces", "source": "custom", "score": 0.94, "effect": "info"}
    ]


def test_reasons_name_the_category_score_and_evidence():
    verdict = decide(
        results(
            labels=[lab("Violence", 72.0)],
            text=[sig("spam_link", 0.99, "url http://spam.example")],
        ),
        RULES,
    )
    assert verdict.reasons == [
        "rekognition: Violence (72.0%); signals disagree: only rekognition sees this, "
        "below the reject threshold -> review",
        "text: spam_link 0.99 >= 0.5: 1 match in the text read -> review",
    ]


def test_reasons_count_text_read_from_the_image_and_never_quote_it():
    """Reasons go into notifications and stored verdicts: what OCR read stays out."""
    read = ("email jane.doe@mail.example", "phone +1 (555) 010-0100", "url http://spam.example")
    verdict = decide(
        results(text=[sig("contact_info", 0.9, *read[:2]), sig("spam_link", 0.9, read[2])]),
        RULES,
    )
    assert verdict.decision == REVIEW
    joined = " ".join(verdict.reasons)
    assert "2 matches in the text read" in joined and "1 match in the text read" in joined
    for needle in ("jane.doe", "mail.example", "555", "spam.example"):
        assert needle not in joined


def test_disagreement_on_the_model_category_names_both_sides():
    verdict = decide(results(custom=[sig("nsfw", 0.93, "open_nsfw 0.930")]), RULES)
    assert verdict.reasons == [
        "custom: nsfw 0.93 >= 0.8: open_nsfw 0.930; signals disagree: rekognition sees "
        "nothing of it -> review"
    ]
    agreed = decide(results([EXPLICIT_MODERATE], [sig("nsfw", 0.93)]), RULES)
    assert "rekognition agrees: Explicit Nudity" in agreed.reasons[0]


def test_effects_and_thresholds_come_from_config():
    strict = Rules(
        min_confidence=50,
        reject_threshold=60,
        unsafe_categories=("Violence",),
        categories={
            **DEFAULT_CATEGORIES,
            "faces": CategoryRule(0.5, "review"),  # a stack that treats faces as private
            "spam_link": CategoryRule(0.5, "reject"),
            "nsfw": CategoryRule(0.5, "warn"),
        },
    )
    assert decide(results([lab("Violence", 65.0)]), strict).decision == REJECT
    assert decide(results([lab("Violence", 65.0)]), RULES).decision == REVIEW
    assert decide(results(custom=[sig("faces", 0.9)]), strict).decision == REVIEW
    assert decide(results(text=[sig("spam_link", 0.9)]), strict).decision == REJECT
    # A disagreement caps at review but never raises a milder effect.
    assert decide(results(custom=[sig("nsfw", 0.6)]), strict).decision == WARN


def test_a_category_without_a_rule_never_counts():
    assert decide(results(custom=[sig("cat", 1.0)]), RULES).decision == APPROVE


def test_missing_branches_are_empty_not_errors():
    assert decide({"rekognition": {"labels": []}}, RULES).decision == APPROVE


@pytest.mark.parametrize(
    "custom,expected",
    [
        ([sig("blocklisted")], True),
        ([sig("nsfw", 0.99)], False),  # needs Rekognition to corroborate
        ([sig("off_topic")], False),
        ([], False),
    ],
)
def test_custom_rejects_is_decidable_from_the_custom_branch_alone(custom, expected):
    result = {"signals": [sig("nsfw", 0.01), *custom]}
    assert custom_rejects(result, RULES) is expected
    if expected:  # whatever the other branches say, the decision is a reject
        for other in ([], [lab("Violence", 70.0)], [lab("Explicit", 99.0)]):
            verdict = decide(
                {"rekognition": {"labels": other}, "custom": result, "text": {}}, RULES
            )
            assert verdict.decision == REJECT


def test_a_text_reason_names_the_frame_that_fired_and_still_quotes_nothing():
    """An animation's text signal carries its frame: moderators see which one fired."""
    signal = {**sig("spam_link", 0.99, "frame 8: url http://spam.example"), "frame": 8}
    verdict = decide(results(text=[signal]), RULES)
    assert verdict.reasons == [
        "text: spam_link 0.99 >= 0.5: 1 match in the text read of frame 8 -> review"
    ]
