"""Human review's pure parts: groups from claims, who may review, requests, cursors, views."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from common import review
from common.contract import Decision, ReviewState
from common.review import Refused
from common.status_cache import ttl_for

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


# --- cognito:groups as API Gateway passes it --------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "groups"),
    [
        ("[moderators]", {"moderators"}),
        ("[moderators admins]", {"moderators", "admins"}),
        ("[admins  moderators ]", {"admins", "moderators"}),
        ("[]", set()),
        ("", set()),
        ("moderators", {"moderators"}),
        (["moderators", "admins"], {"moderators", "admins"}),
        (None, set()),
        (42, set()),
        ("[moderators-prod]", {"moderators-prod"}),
        ("[x,y]", {"x,y"}),  # commas are part of a Cognito group name, not a separator
    ],
)
def test_groups_are_read_from_the_claim_as_api_gateway_passes_it(claim, groups):
    assert review.parse_groups(claim) == groups


def test_only_members_of_the_configured_group_may_review():
    assert review.authorize({"sub": "m1", "cognito:groups": "[moderators]"}, "moderators") == "m1"
    cases = [
        ({}, 401),
        ({"sub": ""}, 401),
        ({"cognito:groups": "[moderators]"}, 401),
        ({"sub": "u1"}, 403),
        ({"sub": "u1", "cognito:groups": "[users]"}, 403),
        # another stack's moderators, and names that merely contain the group's
        ({"sub": "u1", "cognito:groups": "[moderators-prod]"}, 403),
        ({"sub": "u1", "cognito:groups": "[xmoderators moderatorsx]"}, 403),
        ({"sub": "u1", "cognito:groups": "moderators-prod moderators2"}, 403),
    ]
    for claims, status in cases:
        with pytest.raises(Refused) as err:
            review.authorize(claims, "moderators")
        assert err.value.status == status, claims


def test_which_decisions_wait_for_a_moderator():
    assert review.queued(Decision.REVIEW, queue_warn=False)
    assert not review.queued(Decision.WARN, queue_warn=False)
    assert review.queued(Decision.WARN, queue_warn=True)
    for decision in (Decision.APPROVE, Decision.REJECT):
        assert not review.queued(decision, queue_warn=True)


# --- the verdict request -------------------------------------------------------------------


def test_a_verdict_is_a_decision_and_an_optional_note():
    assert review.parse_verdict(b'{"decision": "approve"}') == review.ModeratorVerdict(
        Decision.APPROVE
    )
    v = review.parse_verdict(json.dumps({"decision": "reject", "note": "n" * 2000}).encode())
    assert v.decision == Decision.REJECT and len(v.note) == 2000
    assert review.parse_verdict(b'{"decision": "reject", "note": null}').note == ""


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "empty_body"),
        (b"   ", "empty_body"),
        (b"{not json", "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (b"[]", "invalid_request"),
        (b'"approve"', "invalid_request"),
        (b"{}", "invalid_request"),
        (b'{"decision": "maybe"}', "invalid_request"),
        (b'{"decision": "review"}', "invalid_request"),
        (b'{"decision": "warn"}', "invalid_request"),
        (b'{"decision": "APPROVE"}', "invalid_request"),
        (b'{"decision": ["approve"]}', "invalid_request"),
        (b'{"decision": "approve", "note": 5}', "invalid_request"),
        (b'{"decision": "approve", "reviewer": "someone-else"}', "invalid_request"),
        (json.dumps({"decision": "approve", "note": "n" * 2001}).encode(), "invalid_request"),
    ],
)
def test_a_bad_verdict_request_is_refused_with_400(body, code):
    with pytest.raises(Refused) as err:
        review.parse_verdict(body)
    assert (err.value.status, err.value.code) == (400, code)


def test_the_note_limit_counts_characters_not_bytes():
    # 2,000 four-byte characters are 8 KB: far under DynamoDB's 400 KB item limit.
    v = review.parse_verdict(json.dumps({"decision": "approve", "note": "🙂" * 2000}).encode())
    assert len(v.note) == 2000


@pytest.mark.parametrize("raw", ["0", "101", "-1", "ten", "1.5", " "])
def test_a_bad_limit_is_refused(raw):
    with pytest.raises(Refused) as err:
        review.parse_limit(raw)
    assert err.value.status == 400


def test_limits_default_and_bound():
    assert review.parse_limit(None) == review.DEFAULT_PAGE
    assert review.parse_limit("1") == 1 and review.parse_limit("100") == 100


def test_a_cursor_round_trips_and_a_forged_one_is_refused():
    key = {
        "job_id": {"S": "j-1"},
        "review_state": {"S": "pending"},
        "completed_at": {"S": "2026-05-01T12:00:00.000Z"},
    }
    cursor = review.encode_cursor(key)
    assert cursor is not None and review.decode_cursor(cursor) == key
    assert review.encode_cursor(None) is None and review.decode_cursor(None) is None
    forged = [
        "not-base64!!",
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(b'{"j": "x"}').decode(),
        base64.urlsafe_b64encode(b'{"j": "x", "c": 5}').decode(),
        base64.urlsafe_b64encode(b'{"j": "x", "c": "t", "s": "reviewed"}').decode(),
        "A" * 600,
    ]
    for bad in forged:
        with pytest.raises(Refused) as err:
            review.decode_cursor(bad)
        assert err.value.status == 400, bad


# --- what a moderator sees -----------------------------------------------------------------


def job(**extra) -> dict:
    return {
        "job_id": "j-1",
        "user_id": "u-1",
        "status": "complete",
        "created_at": "2026-05-01T11:58:00.000Z",
        "completed_at": "2026-05-01T11:59:00.000Z",
        "decision": "review",
        "reasons": ["rekognition: Violence (72.0%)"],
        "image_key": "uploads/j-1/original",
        "content_type": "image/png",
        "review_state": "pending",
        "expires_at": 1,
        "rekognition_result": {
            "labels": [
                {"name": "Violence", "confidence": 72.0, "parent": "", "top_level": "Violence"},
                {
                    "name": "Graphic Violence",
                    "confidence": 71.5,
                    "parent": "Violence",
                    "top_level": "Violence",
                },
            ]
        },
        "custom_result": {
            "signals": [{"category": "off_topic", "score": 1.0, "evidence": ["blank"]}],
            "scores": {"contrast": 0.02, "nsfw": 0.31},
        },
        **extra,
    }


def test_a_queue_item_names_age_reasons_categories_and_scores():
    item = review.queue_item(job(), NOW)
    assert item["age_seconds"] == 60.0
    assert item["categories"] == ["off_topic", "Violence", "Graphic Violence"]
    assert item["scores"] == {
        "custom:off_topic": 1.0,
        "custom:contrast": 0.02,
        "custom:nsfw": 0.31,
        "rekognition:Violence": 72.0,
        "rekognition:Graphic Violence": 71.5,
    }
    assert item["reasons"] == ["rekognition: Violence (72.0%)"]
    assert "expires_at" not in item and "review_state" not in item


def test_a_result_of_a_branch_added_later_shows_without_code_changes():
    text = {
        "text": "call 555-0100",
        "categories": [{"category": "contact_details", "score": 0.93}],
        "scores": {"ocr_confidence": 0.88},
        "boxes": [[1, 2, 3, 4]],
    }
    item = review.queue_item(job(text_result=text), NOW)
    assert "contact_details" in item["categories"]
    assert item["scores"]["text:contact_details"] == 0.93
    assert item["scores"]["text:ocr_confidence"] == 0.88
    assert item["text"] == "call 555-0100"


def test_odd_results_do_not_break_the_queue():
    odd = job(
        rekognition_result={"labels": [{"confidence": 5}, "x", {"name": "A", "confidence": True}]},
        custom_result={
            "signals": [1, {"category": "f", "score": "x"}],
            "scores": {"s": "high"},
            "categories": ["c", 3],
        },
        completed_at="not a time",
    )
    item = review.queue_item(odd, NOW)
    assert item["categories"] == ["f", "c", "A"]
    assert item["scores"] == {}
    assert item["age_seconds"] is None


def test_a_job_awaiting_review_is_cached_as_active_not_as_final():
    done = {"status": "complete", "decision": "approve"}
    assert ttl_for(done, 3600, 1, 0) == 3600
    assert ttl_for({**done, "review_state": ReviewState.PENDING}, 3600, 1, 0) == 1
    assert ttl_for({**done, "review_state": ReviewState.REVIEWED}, 3600, 1, 0) == 3600


def test_a_job_whose_appeal_is_pending_is_cached_as_active_until_it_is_decided():
    done = {"status": "complete", "decision": "reject"}
    assert ttl_for({**done, "appeal_state": "pending"}, 3600, 1, 0) == 1
    assert ttl_for({**done, "appeal": {"state": "pending"}}, 3600, 1, 0) == 1  # an owner view
    assert ttl_for({**done, "appeal_state": "decided"}, 3600, 1, 0) == 3600
    assert ttl_for({**done, "appeal": {"state": "decided"}}, 3600, 1, 0) == 3600


def test_the_reviewed_notification_has_its_own_fifo_deduplication_id():
    import string

    from common.contract import NotificationEvent
    from common.notify import Notification

    job_id = "0f8fad5b-d9cb-469f-a165-70867728950e"
    done = {"job_id": job_id, "status": "complete"}
    first = Notification(NotificationEvent.AWAITING_REVIEW, done)
    verdict = {**done, "review": {"decision": "approve", "reviewed_at": "2026-12-07T20:00:00.000Z"}}
    second = Notification(NotificationEvent.REVIEWED, verdict)
    assert first.deduplication_id == f"{job_id}.complete"
    assert second.deduplication_id == f"{job_id}.reviewed.2026-12-07T20:00:00.000Z"
    # A retried stream record carries the same image: the same id, dropped as a replay.
    assert Notification(NotificationEvent.REVIEWED, dict(verdict)).deduplication_id == (
        second.deduplication_id
    )
    # SNS FIFO: at most 128 characters, alphanumeric and punctuation
    for dedup in (first.deduplication_id, second.deduplication_id):
        assert len(dedup) <= 128 and all(c.isalnum() or c in string.punctuation for c in dedup)


def test_a_second_verdict_after_a_notice_is_not_deduplicated_as_the_first():
    """A notice re-queues a reviewed job; the next verdict is a new `reviewed` notification."""
    from common.contract import NotificationEvent
    from common.notify import Notification

    job = {"job_id": "j", "status": "complete", "noticed": True}
    ids = {
        Notification(
            NotificationEvent.REVIEWED,
            {**job, "review": {"decision": decision, "reviewed_at": at}},
        ).deduplication_id
        for decision, at in (
            ("approve", "2026-12-07T20:00:00.000Z"),
            ("reject", "2026-12-07T20:01:30.250Z"),
        )
    }
    assert len(ids) == 2
