"""The console's claims, appeal and QA decisions on in-process moto: the API's own code
(`lambdas/common/claims.py`, `appeals.py`, `qa.py`) with the console's identity."""

from __future__ import annotations

from datetime import timedelta

from common import appeals, qa
from common.timeutil import utcnow
from dashboard.data import claims as work
from dashboard.data import review as review_data
from lambdas.common.contract import WorkQueue
from tests.dashboard.test_dashboard_review import queued_job
from tests.support.helpers import job


def ddb_table(stack):
    return stack.client("dynamodb"), stack.exports["jobs_table"]


def test_two_console_moderators_claim_different_jobs_and_a_held_job_is_refused(stack):
    made = [queued_job(stack, seed)[0] for seed in (41, 42, 43)]
    ddb, table = ddb_table(stack)
    now = utcnow()
    first = work.claim(ddb, table, WorkQueue.REVIEW, "local:ana", now, 15, count=2)
    second = work.claim(ddb, table, WorkQueue.REVIEW, "local:ben", now, 15, count=2)
    got_a = [c.job["job_id"] for c in first]
    got_b = [c.job["job_id"] for c in second]
    assert got_a == made[:2] and got_b == made[2:], "oldest first, never the same job"
    mine = work.mine(ddb, table, WorkQueue.REVIEW, "local:ana", now)
    assert [j["job_id"] for j in mine] == got_a
    assert work.seconds_left(mine[0], WorkQueue.REVIEW, now) == 15 * 60
    assert work.holder(mine[0], WorkQueue.REVIEW, now) == "local:ana"

    # Ben's verdict on Ana's job: 409 claimed_by_another, said plainly, nothing written.
    before = job(stack, got_a[0])
    refused = review_data.submit(ddb, table, got_a[0], "approve", "", "local:ben", utcnow())
    assert not refused.ok and refused.code == "claimed_by_another"
    assert "claimed by another moderator" in refused.message
    assert "Nothing was recorded" in refused.message
    assert job(stack, got_a[0]) == before

    # Released, it is Ben's to claim and decide.
    assert not work.release(ddb, table, got_a[0], WorkQueue.REVIEW, "local:ben", now).ok
    assert work.release(ddb, table, got_a[0], WorkQueue.REVIEW, "local:ana", now).ok
    again = work.claim(ddb, table, WorkQueue.REVIEW, "local:ben", utcnow(), 15)
    assert [c.job["job_id"] for c in again] == [got_a[0]]
    assert review_data.submit(ddb, table, got_a[0], "reject", "", "local:ben", utcnow()).ok
    assert work.mine(ddb, table, WorkQueue.REVIEW, "local:ana", utcnow())[0]["job_id"] == got_a[1]

    # Its time to claim and to decide, from the job's own timestamps.
    decided = work.decided_items(ddb, table, WorkQueue.REVIEW, 50)
    found = work.timings(decided, WorkQueue.REVIEW)
    assert (found.decided, found.claimed) == (1, 1)
    assert found.claim_median is not None and found.decide_median is not None


def test_an_expired_console_claim_returns_the_job_to_the_queue(stack):
    job_id, _ = queued_job(stack, 44)
    ddb, table = ddb_table(stack)
    long_ago = utcnow() - timedelta(minutes=20)
    assert work.claim(ddb, table, WorkQueue.REVIEW, "local:ana", long_ago, 15)
    assert work.mine(ddb, table, WorkQueue.REVIEW, "local:ana", utcnow()) == []
    taken = work.claim(ddb, table, WorkQueue.REVIEW, "local:ben", utcnow(), 15)
    assert [c.job["job_id"] for c in taken] == [job_id]


def test_timings_are_the_spans_from_the_queue_to_the_claim_and_the_claim_to_the_decision():
    def item(queued: str, claimed: str | None, decided: str, by: str, claimant: str) -> dict:
        out = {"completed_at": queued, "review": {"reviewed_at": decided, "reviewer": by}}
        if claimed:
            out |= {"review_claimed_at": claimed, "review_claim_by": claimant}
        return out

    found = work.timings(
        [
            item("2026-12-01T10:00:00Z", "2026-12-01T10:01:00Z", "2026-12-01T10:03:00Z", "a", "a"),
            item("2026-12-01T10:00:00Z", "2026-12-01T10:03:00Z", "2026-12-01T10:04:00Z", "b", "b"),
            # decided by someone other than the claimant: no time to decide
            item("2026-12-01T10:00:00Z", "2026-12-01T10:05:00Z", "2026-12-01T10:06:00Z", "c", "d"),
            item("2026-12-01T10:00:00Z", None, "2026-12-01T10:09:00Z", "e", "e"),  # unclaimed
        ],
        WorkQueue.REVIEW,
    )
    assert (found.decided, found.claimed) == (4, 3)
    assert found.claim_median == 180.0 and found.claim_p90 == 300.0
    assert found.decide_median == 90.0
    empty = work.timings([], WorkQueue.QA)
    assert (empty.claim_median, empty.decide_median, empty.decided) == (None, None, 0)


def appealed(stack, seed: int) -> str:
    """A job a moderator rejected and its uploader appealed."""
    job_id, _ = queued_job(stack, seed)
    ddb, table = ddb_table(stack)
    assert review_data.submit(ddb, table, job_id, "reject", "", "local:rita", utcnow()).ok
    appeals.file(
        ddb, table, job_id, "uploader", "it is a [painting](http://x.example)", utcnow(), 14
    )
    return job_id


def test_a_console_appeal_decision_goes_through_the_claim(stack):
    job_id = appealed(stack, 45)
    ddb, table = ddb_table(stack)
    now = utcnow()
    # The reviewer never gets it; another moderator does.
    assert work.claim(ddb, table, WorkQueue.APPEAL, "local:rita", now, 15) == []
    (got,) = work.claim(ddb, table, WorkQueue.APPEAL, "local:ana", now, 15)
    shown = work.view(got.job, WorkQueue.APPEAL, now, "local:ana")
    assert shown["appeal"]["message"] == "it is a [painting](http://x.example)"
    assert shown["decision"] == "reject"
    held = work.decide_appeal(ddb, table, job_id, "local:ben", "overturn", "", utcnow())
    assert not held.ok and held.code == "claimed_by_another"
    assert not work.decide_appeal(ddb, table, job_id, "local:ana", "maybe", "", utcnow()).ok
    done = work.decide_appeal(ddb, table, job_id, "local:ana", "overturn", "art", utcnow())
    assert done.ok and "approve" in done.message
    after = job(stack, job_id)
    assert after["decision"] == "approve" and after["appeal"]["decided_by"] == "local:ana"
    again = work.decide_appeal(ddb, table, job_id, "local:ana", "uphold", "", utcnow())
    assert not again.ok and again.code == "appeal_decided"


def test_a_console_qa_decision_is_blind_and_goes_through_the_claim(stack):
    job_id, _ = queued_job(stack, 46)
    ddb, table = ddb_table(stack)
    assert review_data.submit(ddb, table, job_id, "reject", "", "local:rita", utcnow()).ok
    assert qa.sample_verdict(ddb, table, job_id, "reject", "local:rita", 1.0, utcnow())
    now = utcnow()
    assert work.claim(ddb, table, WorkQueue.QA, "local:rita", now, 15) == []
    (got,) = work.claim(ddb, table, WorkQueue.QA, "local:ana", now, 15)
    shown = work.view(got.job, WorkQueue.QA, now, "local:ana")
    assert "decision" not in shown and "reasons" not in shown, "blind"
    assert [j["job_id"] for j in work.pending(ddb, table, WorkQueue.QA, now, 10)] == [job_id]
    held = work.decide_qa(ddb, table, job_id, "local:ben", "approve", "", utcnow())
    assert not held.ok and held.code == "claimed_by_another"
    done = work.decide_qa(ddb, table, job_id, "local:ana", "approve", "", utcnow())
    assert done.ok and "differs from" in done.message
    assert job(stack, job_id)["qa"]["agrees"] is False
    decided = work.decided_items(ddb, table, WorkQueue.QA, 10)
    assert work.timings(decided, WorkQueue.QA).claimed == 1


def test_the_claim_lasts_what_the_stack_says_else_the_settings_default():
    assert work.claim_minutes({"review_claim_minutes": 20}) == 20
    assert work.claim_minutes({}) == work.DEFAULT_CLAIM_MINUTES == 15


def test_a_console_verdict_is_sampled_for_qa_as_an_api_verdict_is(stack):
    sampled, _ = queued_job(stack, 47)
    skipped, _ = queued_job(stack, 48)
    ddb, table = ddb_table(stack)
    assert review_data.qa_rate({"review_qa_sample_rate": 1.0}) == 1.0
    assert review_data.qa_rate({}) == 0.0
    done = review_data.submit(ddb, table, sampled, "reject", "", "local:rita", utcnow(), qa_rate=1)
    assert done.ok
    assert job(stack, sampled)["qa"] == {
        "source": "moderator",
        "original": "reject",
        "original_reviewer": "local:rita",
    }
    assert review_data.submit(ddb, table, skipped, "approve", "", "local:rita", utcnow()).ok
    assert "qa_state" not in job(stack, skipped), "rate 0: not sampled"
