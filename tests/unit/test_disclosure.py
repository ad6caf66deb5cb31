"""The owner's view of a job: the decision, categories and plain reasons; nothing a
person could tune an image against, and nothing read from the image."""

from __future__ import annotations

import json
import re

from common import disclosure
from common.decision import DEFAULT_CATEGORIES

READ = ("jane.doe@mail.example", "+1 (555) 010-0100", "http://spam.example/win")

# A complete record as the finalizer and a moderator leave it: every internal detail.
RECORD = {
    "job_id": "5d0c3c52-8f5e-4a9e-9a39-2a1f5f0f6e11",
    "user_id": "u-1",
    "status": "complete",
    "created_at": "2025-01-01T00:00:00Z",
    "updated_at": "2025-01-01T00:00:09Z",
    "completed_at": "2025-01-01T00:00:05Z",
    "content_type": "image/png",
    "size_bytes": 2048,
    "image_key": "uploads/5d0c3c52/original",
    "attempts": 1,
    "branches": ["rekognition", "custom", "text"],
    "content_sha256": "ab" * 32,
    "verdict_key": "ab#rules",
    "reused_from": "another-users-job",
    "expires_at": 1893456000,
    "decision": "review",
    "automatic_decision": "review",
    "review_state": "pending",
    "reasons": [
        "custom: blocklisted 1.00 >= 1: dhash 00ff00ff00ff00ff distance 3 -> reject",
        "text: contact_info 0.93 >= 0.5: 2 matches in the text read -> review",
        "rekognition: Violence (72.0%); signals disagree -> review",
        "custom: faces 0.94 >= 0.5: 1 face(s), best 0.94 -> info",
    ],
    "categories": [
        {"category": "blocklisted", "source": "custom", "score": 1.0, "effect": "reject"},
        {"category": "contact_info", "source": "text", "score": 0.93, "effect": "review"},
        {"category": "Violence", "source": "rekognition", "score": 72.0, "effect": "review"},
        {"category": "faces", "source": "custom", "score": 0.94, "effect": "info"},
    ],
    "custom_result": {
        "dhash": "00ff00ff00ff00ff",
        "blocklist_similarity": {"distance": 3, "max_distance": 10},
        "faces": [{"box": [1, 2, 3, 4], "score": 0.94}],
        "models": {"open_nsfw": "opennsfw2==0.10.2"},
        "signals": [{"category": "blocklisted", "score": 1.0, "evidence": ["distance 3"]}],
    },
    "text_result": {
        "text": "\n".join(READ),
        "lines": [{"text": t, "confidence": 0.93, "box": [0, 0, 1, 1]} for t in READ],
        "signals": [{"category": "contact_info", "score": 0.93, "evidence": list(READ[:2])}],
        "models": {"rapidocr": "rapidocr==3.0"},
    },
    "rekognition_result": {
        "labels": [{"name": "Violence", "confidence": 72.0}],
        "model_version": "7.0",
    },
    "review": {
        "decision": "reject",
        "reviewer": "m-1",
        "note": "internal",
        "reviewed_at": "t",
        "via": "api",
    },
}


def test_the_owner_sees_decision_categories_and_plain_reasons_only():
    view = disclosure.owner_view(RECORD)
    assert set(view) <= set(disclosure.OWNER_FIELDS)
    assert view["decision"] == "review" and view["review_state"] == "pending"
    assert view["categories"] == ["blocklisted", "contact_info", "Violence"]
    assert view["reasons"] == [
        disclosure.OWNER_REASONS["blocklisted"],
        disclosure.OWNER_REASONS["contact_info"],
        "The image may contain content of the kind 'Violence'.",
        disclosure.AWAITING_REVIEW_REASON,
    ]
    text = json.dumps(view)
    for hidden in (
        "dhash",
        "00ff00ff",
        "distance",
        "similarity",
        "score",
        "box",
        "model",
        "opennsfw",
        "rapidocr",
        "7.0",
        "reused",
        "another-users-job",
        "verdict",
        "sha256",
        "image_key",
        "automatic_decision",
        "m-1",
        "internal",
        "branches",
        "attempts",
        "expires_at",
        *READ,
        "jane.doe",
        "555",
        "spam.example",
    ):
        assert hidden not in text, hidden


def test_reasons_shown_to_the_owner_carry_no_numbers():
    for category in [*DEFAULT_CATEGORIES, "Violence", "Drugs & Tobacco", "custom99_cat"]:
        reason = disclosure.owner_reason(category)
        assert not re.search(r"\d", reason), reason
    for sentence in (
        disclosure.FAILED_REASON,
        disclosure.AWAITING_REVIEW_REASON,
        disclosure.REVIEWED_REASON,
    ):
        assert not re.search(r"\d", sentence)


def test_every_category_the_rules_know_has_its_own_sentence():
    assert set(DEFAULT_CATEGORIES) <= set(disclosure.OWNER_REASONS)


def test_the_view_is_idempotent_so_old_cache_entries_are_cut_down_too():
    view = disclosure.owner_view(RECORD)
    assert disclosure.owner_view(view) == view
    reviewed = {**RECORD, "review_state": "reviewed"}
    assert disclosure.owner_view(reviewed)["reasons"][-1] == disclosure.REVIEWED_REASON
    assert disclosure.owner_view(reviewed)["review"] == {"decision": "reject", "reviewed_at": "t"}


def test_a_failed_job_says_so_without_the_internal_error():
    failed = {
        **{k: RECORD[k] for k in ("job_id", "user_id", "created_at", "updated_at")},
        "status": "failed",
        "reasons": ["text_analyzer failed after 3 attempt(s): OSError: /opt/models/x.onnx"],
    }
    view = disclosure.owner_view(failed)
    assert view["reasons"] == [disclosure.FAILED_REASON] and view["categories"] == []


def test_a_job_in_progress_has_no_reasons_yet():
    view = disclosure.owner_view({"job_id": "j", "user_id": "u", "status": "analyzing"})
    assert view == {"job_id": "j", "user_id": "u", "status": "analyzing"}


def test_the_owner_sees_the_verdict_but_not_who_gave_it_or_their_note():
    assert disclosure.owner_review(RECORD["review"]) == {"decision": "reject", "reviewed_at": "t"}
    assert disclosure.owner_review(None) is None


def test_log_summaries_count_evidence_without_quoting_it():
    summary = disclosure.signal_summary(RECORD["text_result"]["signals"])
    assert summary == [{"category": "contact_info", "score": 0.93, "evidence_count": 2}]
    assert not any(t in json.dumps(summary) for t in READ)
