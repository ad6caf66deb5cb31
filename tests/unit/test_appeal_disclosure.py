"""What an uploader sees of their appeal, and what the appeal notification carries."""

from __future__ import annotations

from common import disclosure, notify
from common.contract import NotificationEvent

JOB = {
    "job_id": "j",
    "user_id": "u",
    "status": "complete",
    "decision": "approve",
    "categories": [],
    "appeal_state": "decided",
    "appeal": {
        "message": "a film still",
        "appealed_at": "2026-12-01T00:00:00.000Z",
        "decision_before": "reject",
        "decision_after": "approve",
        "outcome": "overturn",
        "note": "internal note",
        "decided_by": "mod-a",
        "decided_at": "2026-12-02T00:00:00.000Z",
    },
}


def test_the_owner_sees_the_state_and_outcome_not_who_decided_nor_their_note():
    view = disclosure.owner_view(JOB)
    assert view["appeal"] == {
        "state": "decided",
        "outcome": "overturn",
        "appealed_at": "2026-12-01T00:00:00.000Z",
        "decided_at": "2026-12-02T00:00:00.000Z",
    }
    assert disclosure.owner_view(view) == view, "a view of a view is the same view"
    assert "appeal" not in disclosure.owner_view({**JOB, "appeal": None})


def test_one_notification_per_appeal_outcome_without_the_moderator():
    old = {**JOB, "appeal_state": "pending", "decision": "reject"}
    from common.jobs import serialize

    record = {
        "eventName": "MODIFY",
        "dynamodb": {"OldImage": serialize(old), "NewImage": serialize(JOB)},
    }
    note = notify.notification_for(record)
    assert note is not None and note.event is NotificationEvent.APPEAL_DECIDED
    assert note.deduplication_id == "j.appeal"
    message = notify.message_for(note.job, note.event)
    assert message["appeal"]["outcome"] == "overturn" and message["decision"] == "approve"
    assert "mod-a" not in str(message) and "internal note" not in str(message)
    # An unrelated change of an already decided appeal announces nothing.
    again = {
        "eventName": "MODIFY",
        "dynamodb": {"OldImage": serialize(JOB), "NewImage": serialize(JOB)},
    }
    assert notify.notification_for(again) is None
