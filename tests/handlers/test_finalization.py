"""The analyzers report; the one that completes the job's set finalizes, exactly once;
one notification per terminal job. With two branches and with three."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from common import analysis, jobs
from common.analysis import BranchOutcome
from common.contract import Branch
from common.decision import Rules
from common.timeutil import utcnow
from tests.support.helpers import job, put_job
from tests.support.inprocess import notifications, stream_records, subscribe_queue

RULES = Rules(min_confidence=50, reject_threshold=90, unsafe_categories=("Explicit", "Violence"))
REK_CLEAN = {"labels": []}
REK_EXPLICIT = {
    "labels": [{"name": "Explicit", "confidence": 97.0, "parent": "", "top_level": "Explicit"}]
}
CUSTOM_CLEAN = {"signals": [{"category": "nsfw", "score": 0.01, "evidence": []}]}
TEXT_CLEAN = {"signals": [], "text": ""}
TEXT_LINK = {
    "signals": [{"category": "spam_link", "score": 0.99, "evidence": ["url http://spam.example"]}]
}
THREE = (Branch.REKOGNITION, Branch.CUSTOM, Branch.TEXT)


def analyzing_job(stack, branches=(Branch.REKOGNITION, Branch.CUSTOM)) -> str:
    job_id = str(uuid.uuid4())
    put_job(stack, job_id, "pending", utcnow())
    jobs.claim_for_analysis(
        stack.client("dynamodb"), stack.exports["jobs_table"], job_id, utcnow(), 30, branches
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
    assert final["reasons"] == ["rekognition: Explicit (97.0%) -> reject"]
    assert final["categories"] == [
        {"category": "Explicit", "source": "rekognition", "score": 97.0, "effect": "reject"}
    ]
    assert final["completed_at"].endswith("Z")
    assert "dispatch_lease" not in final


def test_a_retried_branch_after_completion_changes_nothing(stack):
    job_id = analyzing_job(stack)
    report(stack, job_id, "custom", CUSTOM_CLEAN)
    report(stack, job_id, "rekognition", REK_CLEAN)
    before = job(stack, job_id)
    assert report(stack, job_id, "rekognition", REK_EXPLICIT).outcome is BranchOutcome.IGNORED
    assert job(stack, job_id) == before


def test_with_three_branches_only_the_third_report_finalizes(stack):
    job_id = analyzing_job(stack, THREE)
    first = report(stack, job_id, "custom", CUSTOM_CLEAN)
    assert first.outcome is BranchOutcome.WAITING
    assert first.waiting_for == ("rekognition", "text")
    assert report(stack, job_id, "rekognition", REK_CLEAN).waiting_for == ("text",)
    assert job(stack, job_id)["status"] == "analyzing"
    last = report(stack, job_id, "text", TEXT_LINK)
    assert last.finalized and last.decision == "review"
    final = job(stack, job_id)
    # The reasons count what the text branch read; the text itself stays in text_result.
    assert final["reasons"] == ["text: spam_link 0.99 >= 0.5: 1 match in the text read -> review"]
    assert final["text_result"] == TEXT_LINK


def test_finalize_refuses_while_an_expected_result_is_missing(stack):
    job_id = analyzing_job(stack, THREE)
    report(stack, job_id, "custom", CUSTOM_CLEAN)
    report(stack, job_id, "rekognition", REK_CLEAN)
    won, item = jobs.finalize(
        stack.client("dynamodb"),
        stack.exports["jobs_table"],
        job_id,
        "approve",
        [],
        utcnow(),
        branches=THREE,
    )
    assert not won and item["status"] == "analyzing"


RESULTS = {"rekognition": REK_CLEAN, "custom": CUSTOM_CLEAN, "text": TEXT_CLEAN}


@pytest.mark.parametrize("branches", [THREE[:2], THREE], ids=["two branches", "three branches"])
def test_racing_branches_finalize_each_job_exactly_once(stack, branches):
    """Every analyzer of hundreds of jobs finishes at the same instant."""
    topic_queue = subscribe_queue(stack)
    job_ids = [analyzing_job(stack, branches) for _ in range(200)]
    outcomes: dict[str, list[analysis.BranchReport]] = {j: [] for j in job_ids}
    barriers = {j: threading.Barrier(len(branches)) for j in job_ids}

    def branch(job_id, name, result):
        barriers[job_id].wait()
        outcomes[job_id].append(report(stack, job_id, name, result))

    with ThreadPoolExecutor(max_workers=24) as pool:
        futures = [pool.submit(branch, j, b, RESULTS[b]) for j in job_ids for b in branches]
        for f in futures:
            f.result()

    for j in job_ids:
        finalized = [o for o in outcomes[j] if o.finalized]
        assert len(finalized) == 1, (j, outcomes[j])
        assert len(outcomes[j]) == len(branches)
        final = job(stack, j)
        assert final["status"] == "complete" and final["decision"] == "approve"
        assert all(b.result_attribute in final for b in branches)

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
