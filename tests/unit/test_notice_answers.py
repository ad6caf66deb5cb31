"""Which notices a verdict answers, and the deduplication ids their outcomes go out with.

Stream images are built the way the writes leave them: notices appended in the order
their writes landed, each verdict recording the latest notice it found
(`notices_answered_through`).
"""

from __future__ import annotations

from typing import Any

from common import notices
from common.contract import NoticeField

TOPIC = "arn:aws:sns:us-east-1:123456789012:mod-notifications.fifo"


def notice(notice_id: str, at: str, **extra: Any) -> dict[str, Any]:
    return {"notice_id": notice_id, "notifier": f"reader-{notice_id}", "at": at, **extra}


def verdict(
    before: dict[str, Any], reviewed_at: str, decision: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(new, old) images of a verdict written on `before` (pending), as record_review writes it."""
    latest = before.get(NoticeField.LATEST) or {}
    new = {
        **before,
        "review_state": "reviewed",
        "decision": decision,
        "review": {"decision": decision, "reviewed_at": reviewed_at},
        NoticeField.ANSWERED_THROUGH: latest.get("notice_id", ""),
    }
    return new, before


def filed(job: dict[str, Any], n: dict[str, Any], queued: bool = True) -> dict[str, Any]:
    """The job after a notice's write (add_notice, or add_restricted_notice)."""
    after = {**job, NoticeField.NOTICES: [*job.get(NoticeField.NOTICES, []), n]}
    if queued:
        after.update({NoticeField.LATEST: n, NoticeField.NOTICED: True, "review_state": "pending"})
    return after


JOB = {"job_id": "j", "status": "complete", "decision": "review", "review_state": "pending"}


def test_a_notice_whose_clock_read_preceded_a_verdict_it_landed_after_is_answered_next():
    # The notice's handler read its clock (20:00:00.100) before the moderator's did
    # (20:00:00.200), but its write landed after the verdict: it put the job back in the
    # queue, and the next verdict answers it, once.
    first_new, first_old = verdict(JOB, "2026-12-07T20:00:00.200Z", "approve")
    assert notices.answered(first_new, first_old) == []
    late = notice("n1", "2026-12-07T20:00:00.100Z")
    requeued = filed(first_new, late)
    second_new, second_old = verdict(requeued, "2026-12-07T20:03:00.000Z", "reject")
    assert notices.answered(second_new, second_old) == [late]


def test_a_notice_whose_clock_read_followed_a_verdict_it_landed_before_is_answered_once():
    early = notice("n1", "2026-12-07T20:00:00.300Z")
    first_new, first_old = verdict(filed(JOB, early), "2026-12-07T20:00:00.200Z", "approve")
    assert notices.answered(first_new, first_old) == [early]
    other = notice("n2", "2026-12-07T20:01:00.000Z")
    second_new, second_old = verdict(filed(first_new, other), "2026-12-07T20:02:00.000Z", "reject")
    assert notices.answered(second_new, second_old) == [other]


def test_a_notice_on_an_already_restricted_job_is_never_answered_by_a_verdict():
    queued = notice("n1", "2026-12-07T20:00:00.000Z")
    restricted = notice("n2", "2026-12-07T20:00:01.000Z", queued=False)
    job = filed(filed(JOB, queued), restricted, queued=False)
    new, old = verdict(job, "2026-12-07T20:00:02.000Z", "reject")
    assert notices.answered(new, old) == [queued]


def test_a_verdict_written_before_the_marker_bounds_by_its_time():
    n1 = notice("n1", "2026-12-07T19:00:00.000Z")
    n2 = notice("n2", "2026-12-07T20:30:00.000Z")
    old = {
        **filed(filed(JOB, n1), n2),
        "review": {"decision": "approve", "reviewed_at": "2026-12-07T20:00:00.000Z"},
    }
    new = {**old, "review_state": "reviewed", "review": {"reviewed_at": "2026-12-07T21:00:00Z"}}
    assert notices.answered(new, old) == [n2]


class Sns:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def publish(self, **kwargs: Any) -> dict[str, str]:
        self.sent.append(kwargs)
        return {"MessageId": str(len(self.sent))}


def test_outcomes_of_two_decisions_on_one_job_have_distinct_ids_and_a_retry_the_same():
    first_new, first_old = verdict(
        filed(JOB, notice("n1", "2026-12-07T20:00:00.000Z")), "2026-12-07T20:00:01.000Z", "approve"
    )
    second_new, second_old = verdict(
        filed(first_new, notice("n2", "2026-12-07T20:00:02.000Z")),
        "2026-12-07T20:00:03.000Z",
        "reject",
    )
    sns = Sns()
    for new, old in ((first_new, first_old), (second_new, second_old), (second_new, second_old)):
        notices.publish_outcomes(sns, TOPIC, new, notices.answered(new, old))
    ids = [m["MessageDeduplicationId"] for m in sns.sent]
    assert ids[0] != ids[1] and ids[1] == ids[2]  # the third is a retried record
    assert [m["MessageGroupId"] for m in sns.sent] == ["j"] * 3
