"""Statements of reasons: the Transparency Database's rules, and the statements built from jobs."""

from __future__ import annotations

import json

import pytest

from common import dsa_rules, language, statements
from common.contract import (
    AppealOutcome,
    Decision,
    NoticeField,
    NotificationEvent,
    ReviewState,
    Status,
)
from common.statements import Config, Source

JOB_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"


def _job(**extra):
    job = {
        "job_id": JOB_ID,
        "user_id": "user-sub-123",
        "status": Status.COMPLETE,
        "decision": Decision.REJECT,
        "reasons": ["nsfw 0.97 (rekognition agrees: Explicit Nudity)"],
        "categories": [
            {"category": "nsfw", "source": "custom", "score": 0.97, "effect": "reject"},
            {
                "category": "Explicit Nudity",
                "source": "rekognition",
                "score": 98.1,
                "effect": "reject",
            },
            {"category": "faces", "source": "custom", "score": 0.9, "effect": "info"},
        ],
        "created_at": "2026-05-01T11:59:00Z",
        "completed_at": "2026-05-01T12:00:03Z",
    }
    job.update(extra)
    return job


# --- the API's rules --------------------------------------------------------------------


def _valid():
    """The API documentation's example, cut to the fields this stack uses."""
    return {
        "decision_visibility": ["DECISION_VISIBILITY_CONTENT_DISABLED"],
        "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "incompatible_content_ground": "incompatible content grounds",
        "incompatible_content_explanation": "incompatible content explanation",
        "incompatible_content_illegal": "Yes",
        "content_type": ["CONTENT_TYPE_IMAGE"],
        "category": "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
        "territorial_scope": ["PT", "ES", "DE"],
        "content_language": "EN",
        "content_date": "2023-08-08",
        "application_date": "2023-08-08",
        "decision_facts": "facts about the decision",
        "source_type": "SOURCE_TRUSTED_FLAGGER",
        "automated_detection": "No",
        "automated_decision": "AUTOMATED_DECISION_PARTIALLY",
        "puid": "TK421",
    }


def test_the_documented_example_is_valid():
    assert dsa_rules.validate(_valid(), strict=True) == []


@pytest.mark.parametrize(
    "name",
    [
        "decision_ground",
        "content_type",
        "category",
        "content_date",
        "application_date",
        "decision_facts",
        "source_type",
        "automated_detection",
        "automated_decision",
        "puid",
    ],
)
def test_each_required_field_is_required(name):
    s = _valid()
    del s[name]
    assert any(e.startswith(f"{name}: required") for e in dsa_rules.validate(s))
    s[name] = ""
    assert any(e.startswith(f"{name}: required") for e in dsa_rules.validate(s))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"decision_visibility": None}, "decision_visibility: required when none"),
        ({"decision_visibility": ["DECISION_VISIBILITY_OTHER"]}, "decision_visibility_other"),
        ({"decision_visibility": ["REMOVED"]}, "decision_visibility"),
        ({"decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT"}, "illegal_content_legal_ground"),
        ({"incompatible_content_explanation": ""}, "incompatible_content_explanation"),
        ({"incompatible_content_ground": "x" * 501}, "longer than 500"),
        ({"decision_facts": "x" * 5001}, "longer than 5000"),
        ({"content_type": ["CONTENT_TYPE_OTHER"]}, "content_type_other"),
        ({"category": "STATEMENT_CATEGORY_PIRACY"}, "category"),
        ({"territorial_scope": ["US"]}, "territorial_scope"),
        ({"territorial_scope": "DE"}, "must be an array"),
        ({"content_language": "en"}, "content_language"),
        ({"content_date": "2023-8-8"}, "YYYY-MM-DD"),
        ({"application_date": "2023-08-08-12"}, "YYYY-MM-DD"),
        ({"application_date": "2019-12-31"}, "outside"),
        ({"content_date": "1999-12-31"}, "outside"),
        ({"content_date": "2023-02-30"}, "YYYY-MM-DD"),
        ({"automated_decision": "Yes"}, "automated_decision"),
        ({"automated_detection": "yes"}, "automated_detection"),
        ({"puid": "job 1"}, "puid"),
        ({"puid": "x" * 501}, "longer than 500"),
        ({"source_type": "SOURCE_USER"}, "source_type"),
        ({"decision_ground_reference_url": "not a url"}, "not a URL"),
        ({"incompatible_content_illegal": "Maybe"}, "incompatible_content_illegal"),
    ],
)
def test_each_rule_refuses_what_the_api_refuses(change, expected):
    s = {**_valid(), **change}
    errors = dsa_rules.validate(s)
    assert any(expected in e for e in errors), errors


def test_another_restriction_stands_in_for_visibility():
    s = {**_valid(), "decision_visibility": None, "decision_account": "DECISION_ACCOUNT_SUSPENDED"}
    assert dsa_rules.validate(s) == []


def test_strict_refuses_a_field_the_api_does_not_know():
    s = {**_valid(), "user_id": "u-1"}
    assert dsa_rules.validate(s) == []
    assert dsa_rules.validate(s, strict=True) == ["unknown fields: user_id"]


def test_a_batch_holds_one_to_a_hundred_statements_and_errors_name_the_index():
    assert dsa_rules.validate_batch({"statements": []}) == {
        "statements": ["must be an array of 1-100 statements"]
    }
    assert "statements" in dsa_rules.validate_batch({"statements": [_valid()] * 101})
    bad = {**_valid(), "puid": ""}
    errors = dsa_rules.validate_batch({"statements": [_valid(), bad]})
    assert list(errors) == ["statement_1"]


# --- statements built from jobs ------------------------------------------------------------


def _assert_no_personal_data(statement, job):
    text = json.dumps(statement)
    assert job["user_id"] not in text
    for secret in ("call me", "+44 20 7946 0958", "me@example.com", "moderator-7", "my note"):
        assert secret not in text


def test_a_rules_reject_gives_a_valid_fully_automated_statement():
    job = _job(text_result={"text": "call me +44 20 7946 0958 me@example.com"})
    s = statements.statement_for(job, source=Source.RULES, config=Config())
    assert dsa_rules.validate(s, strict=True) == []
    assert s["puid"] == JOB_ID
    assert s["automated_detection"] == "Yes"
    assert s["automated_decision"] == "AUTOMATED_DECISION_FULLY"
    assert s["source_type"] == "SOURCE_VOLUNTARY"
    assert s["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert s["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert s["category"] == "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"
    assert s["category_specification"] == ["KEYWORD_NUDITY"]
    assert s["content_date"] == "2026-05-01"
    assert s["application_date"] == "2026-05-01"
    assert "nsfw (custom, score 0.97)" in s["decision_facts"]
    assert "faces" not in s["decision_facts"]  # info never restricts
    _assert_no_personal_data(s, job)


def test_the_decision_path_sets_the_automation_fields():
    reviewed = _job(
        review_state=ReviewState.REVIEWED,
        automatic_decision=Decision.REVIEW,
        review={"decision": "reject", "reviewer": "moderator-7", "note": "my note",
                "reviewed_at": "2026-05-03T09:00:00Z"},
    )  # fmt: skip
    s = statements.statement_for(reviewed, source=Source.REVIEW, config=Config())
    assert (s["automated_detection"], s["automated_decision"]) == (
        "Yes",
        "AUTOMATED_DECISION_NOT_AUTOMATED",
    )
    assert s["application_date"] == "2026-05-03"
    _assert_no_personal_data(s, reviewed)
    confirmed = {**reviewed, "automatic_decision": Decision.REJECT}
    s = statements.statement_for(confirmed, source=Source.REVIEW, config=Config())
    assert s["automated_decision"] == "AUTOMATED_DECISION_PARTIALLY"
    noticed = {
        **reviewed,
        "categories": [],
        NoticeField.NOTICED: True,
        NoticeField.LATEST: {"category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"},
    }
    s = statements.statement_for(noticed, source=Source.NOTICE, config=Config())
    assert s["source_type"] == "SOURCE_ARTICLE_16"
    assert (s["automated_detection"], s["automated_decision"]) == (
        "No",
        "AUTOMATED_DECISION_NOT_AUTOMATED",
    )
    assert s["category"] == "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
    assert dsa_rules.validate(s, strict=True) == []


def test_warn_restricts_only_where_the_stack_says_it_labels():
    job = _job(
        decision=Decision.WARN,
        categories=[{"category": "off_topic", "source": "custom", "score": 1.0, "effect": "warn"}],
    )
    with pytest.raises(ValueError, match="restricts nothing"):
        statements.statement_for(job, source=Source.RULES, config=Config())
    s = statements.statement_for(job, source=Source.RULES, config=Config(warn_restricts=True))
    assert s["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_LABELLED"]
    assert dsa_rules.validate(s, strict=True) == []


def test_an_illegal_ground_carries_the_law_and_its_explanation():
    config = Config.from_dict(
        {
            "categories": {
                "nsfw": {
                    "ground": "illegal",
                    "category": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
                    "clause": "Example Act s. 1",
                    "explanation": "Sexual content shown to minors is illegal here.",
                }
            },
            "territorialScope": ["DE", "AT"],
            "termsUrl": "https://example.com/terms",
        }
    )
    # The most severe finding, by score on one scale (Rekognition's 0-100 as 0-1), leads.
    job = _job()
    job["categories"][0]["score"] = 0.99
    s = statements.statement_for(job, source=Source.RULES, config=config)
    assert s["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert s["illegal_content_legal_ground"] == "Example Act s. 1"
    assert "incompatible_content_ground" not in s
    assert s["territorial_scope"] == ["DE", "AT"]
    assert s["category_addition"] == ["STATEMENT_CATEGORY_OTHER_VIOLATION_TC"]
    assert dsa_rules.validate(s, strict=True) == []


def test_rekognition_labels_map_by_what_they_name():
    job = _job(
        categories=[
            {
                "category": "Graphic Violence",
                "source": "rekognition",
                "score": 97,
                "effect": "reject",
            }
        ]
    )
    s = statements.statement_for(job, source=Source.RULES, config=Config())
    assert s["category"] == "STATEMENT_CATEGORY_VIOLENCE"
    assert "score 97%" in s["decision_facts"]


def test_which_events_call_for_a_statement():
    config = Config()
    assert statements.source_for(NotificationEvent.DECIDED, _job()) is Source.RULES
    assert statements.source_for(NotificationEvent.AWAITING_REVIEW, _job()) is None
    assert statements.source_for(NotificationEvent.FAILED, _job()) is None
    noticed = _job(**{NoticeField.NOTICED: True})
    assert statements.source_for(NotificationEvent.REVIEWED, noticed) is Source.NOTICE
    assert statements.restricts(Decision.APPROVE, config) is False
    assert statements.restricts(Decision.REVIEW, config) is False


def test_an_overturn_gets_a_statement_of_its_own_and_an_upheld_appeal_does_not():
    decided = {"decided_at": "2026-05-03T09:00:00Z"}
    overturned = _job(appeal={**decided, "outcome": AppealOutcome.OVERTURN})
    upheld = _job(appeal={**decided, "outcome": AppealOutcome.UPHOLD})
    event = NotificationEvent.APPEAL_DECIDED
    assert statements.source_for(event, overturned) is Source.APPEAL
    assert statements.source_for(event, upheld) is None
    statement = statements.statement_for(
        overturned,
        source=Source.APPEAL,
        config=Config(),
        puid=statements.puid_for(overturned, Source.APPEAL),
    )
    assert dsa_rules.validate(statement, strict=True) == []
    assert statement["puid"] == f"{JOB_ID}-appeal"
    assert statement["application_date"] == "2026-05-03"
    assert statement["automated_decision"] == dsa_rules.AUTOMATED_DECISION_NOT_AUTOMATED


def test_the_redress_names_the_stacks_own_appeal_route_and_window():
    from components.settings.dsa import DsaSettings

    config = Config.from_dict(DsaSettings().function_config(183))
    redress = config.redress.as_dict(JOB_ID)
    assert redress["appeal"] == {"route": f"POST /jobs/{JOB_ID}/appeal", "window_days": 183}


def test_one_puid_per_restricting_decision():
    assert statements.puid_for(_job(), Source.RULES) == JOB_ID
    assert statements.puid_for(_job(), Source.APPEAL) == f"{JOB_ID}-appeal"
    labelled_then_noticed = _job(automatic_decision=Decision.WARN)
    assert statements.puid_for(labelled_then_noticed, Source.NOTICE) == f"{JOB_ID}-notice"
    assert dsa_rules.PUID_PATTERN.fullmatch(f"{JOB_ID}-appeal")


# --- content language ---------------------------------------------------------------------


def test_the_language_of_the_text_read_is_identified_by_the_shipped_model():
    assert language.identify("Visit our shop today for the cheapest watches in town") == "EN"
    assert language.identify("Kaufen Sie jetzt die günstigsten Uhren der Stadt") == "DE"
    assert language.identify("www.x.io 42") is None
    assert language.identify(None) is None
    job = _job(text_result={"text": "Achetez maintenant les montres les moins chères de la ville"})
    s = statements.statement_for(
        job, source=Source.RULES, config=Config(), language=statements.identify_language(job)
    )
    assert s["content_language"] == "FR"
    assert dsa_rules.validate(s, strict=True) == []
