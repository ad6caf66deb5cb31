"""Both analyzers report; exactly one finalizes; one notification per terminal job."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from common import analysis, jobs
from common.analysis import BranchOutcome
from common.decision import Rules
from common.timeutil import utcnow
from tests.support.helpers import job, put_job
from tests.support.inprocess import notifications, stream_records, subscribe_queue

RULES = Rules(min_confidence=50, reject_threshold=90, unsafe_categories=("Explicit", "Violence"))
REK_CLEAN = {"labels": []}
REK_EXPLICIT = {
    "labels": [{"name": "Explicit", "confidence": 97.0, "parent": "", "top_level": "Explicit"}]
}
CUSTOM_CLEAN = {"flags": []}


def analyzing_job(stack) -> str:
    job_id = str(uuid.uuid4())
    put_job(stack, job_id, "pending", utcnow())
    jobs.claim_for_analysis(
        stack.client("dynamodb"), stack.exports["jobs_table"], job_id, utcnow(), 30
    )
    return job_id


def report(stack, job_id, branch, result):
    return analysis.complete_branch(
        stack.client("dynamodb"), stack.exports["jobs_table"], job_id, branch, result, RULES, utcnow
    )


def run_notifier(stack) -> dict:
    records = stream_records(stack)
    return stack.invoke("notifier", {"Records": records})


def test_second_branch_finalizes_with_the_combined_decision(stack):
    job_id = analyzing_job(stack)
    assert report(stack, job_id, "custom", CUSTOM_CLEAN).outcome is BranchOutcome.WAITING
    reported = report(stack, job_id, "rekognition", REK_EXPLICIT)
    assert reported.finalized and reported.decision == "reject"
    final = job(stack, job_id)
    assert final["status"] == "complete" and final["decision"] == "reject"
    assert final["reasons"] == ["rekognition: Explicit (97.0%)"]
    assert final["completed_at"].endswith("Z")
    assert "dispatch_lease" not in final


def test_a_retried_branch_after_completion_changes_nothing(stack):
    job_id = analyzing_job(stack)
    report(stack, job_id, "custom", CUSTOM_CLEAN)
    report(stack, job_id, "rekognition", REK_CLEAN)
    before = job(stack, job_id)
    assert report(stack, job_id, "rekognition", REK_EXPLICIT).outcome is BranchOutcome.IGNORED
    assert job(stack, job_id) == before


def test_racing_branches_finalize_each_job_exactly_once(stack):
    """Both analyzers finish at the same instant for hundreds of jobs."""
    topic_queue = subscribe_queue(stack)
    job_ids = [analyzing_job(stack) for _ in range(200)]
    outcomes: dict[str, list[analysis.BranchReport]] = {j: [] for j in job_ids}
    barriers = {j: threading.Barrier(2) for j in job_ids}

    def branch(job_id, name, result):
        barriers[job_id].wait()
        outcomes[job_id].append(report(stack, job_id, name, result))

    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = []
        for j in job_ids:
            futures.append(pool.submit(branch, j, "rekognition", REK_CLEAN))
            futures.append(pool.submit(branch, j, "custom", CUSTOM_CLEAN))
        for f in futures:
            f.result()

    for j in job_ids:
        finalized = [o for o in outcomes[j] if o.finalized]
        assert len(finalized) == 1, (j, outcomes[j])
        assert job(stack, j)["status"] == "complete"

    result = run_notifier(stack)
    assert result == {"batchItemFailures": []}
    sent = notifications(stack, topic_queue)
    assert sorted(m["job_id"] for m in sent) == sorted(job_ids), "one notification per job"
    assert {m["status"] for m in sent} == {"complete"}


def test_notification_body_is_the_contract(stack):
    topic_queue = subscribe_queue(stack)
    job_id = analyzing_job(stack)
    report(stack, job_id, "custom", CUSTOM_CLEAN)
    report(stack, job_id, "rekognition", REK_EXPLICIT)
    run_notifier(stack)
    (msg,) = notifications(stack, topic_queue)
    assert set(msg) == {
        "job_id",
        "user_id",
        "status",
        "decision",
        "reasons",
        "completed_at",
        "event",
    }
    assert msg["decision"] == "reject" and msg["status"] == "complete" and msg["user_id"] == "u"
    assert msg["event"] == "decided"


def test_redelivered_stream_records_do_not_renotify_non_terminal_changes(stack):
    topic_queue = subscribe_queue(stack)
    job_id = analyzing_job(stack)
    report(stack, job_id, "custom", CUSTOM_CLEAN)
    run_notifier(stack)  # only non-terminal changes so far
    assert notifications(stack, topic_queue) == []


def test_failed_jobs_are_notified_with_their_reason(stack):
    topic_queue = subscribe_queue(stack)
    job_id = analyzing_job(stack)
    jobs.fail_job(
        stack.client("dynamodb"), stack.exports["jobs_table"], job_id, "deadline", utcnow()
    )
    run_notifier(stack)
    (msg,) = notifications(stack, topic_queue)
    assert msg["status"] == "failed" and msg["reasons"] == ["deadline"] and msg["decision"] is None
    assert msg["event"] == "failed"


def test_notifier_reports_only_the_record_that_failed(stack):
    job_id = analyzing_job(stack)
    jobs.fail_job(stack.client("dynamodb"), stack.exports["jobs_table"], job_id, "x", utcnow())
    records = stream_records(stack)
    terminal = records[-1]
    broken = {
        **terminal,
        "eventID": "broken",
        "dynamodb": {
            **terminal["dynamodb"],
            "NewImage": {"status": {"S": "failed"}},
            "SequenceNumber": "999",
        },
    }
    result = stack.invoke("notifier", {"Records": [terminal, broken]})
    assert result == {"batchItemFailures": [{"itemIdentifier": "999"}]}


def test_a_replayed_stream_batch_notifies_each_job_once(stack):
    """A notifier that crashed after publishing gets its whole batch again."""
    topic_queue = subscribe_queue(stack)
    job_ids = [analyzing_job(stack) for _ in range(5)]
    for j in job_ids:
        report(stack, j, "custom", CUSTOM_CLEAN)
        report(stack, j, "rekognition", REK_CLEAN)
    assert run_notifier(stack) == {"batchItemFailures": []}
    assert run_notifier(stack) == {"batchItemFailures": []}  # the replay
    sent = notifications(stack, topic_queue)
    assert sorted(m["job_id"] for m in sent) == sorted(job_ids)


def test_a_standard_topic_is_at_least_once_under_a_replay():
    """What `notificationFifo: false` trades away, shown rather than claimed."""
    from moto import mock_aws

    from tests.support.inprocess import build_stack

    with mock_aws():
        stack = build_stack({"notificationFifo": False})
        assert not stack.exports["notification_topic_arn"].endswith(".fifo")
        topic_queue = subscribe_queue(stack)
        job_id = analyzing_job(stack)
        report(stack, job_id, "custom", CUSTOM_CLEAN)
        report(stack, job_id, "rekognition", REK_CLEAN)
        run_notifier(stack)
        run_notifier(stack)
        assert [m["job_id"] for m in notifications(stack, topic_queue)] == [job_id, job_id]
