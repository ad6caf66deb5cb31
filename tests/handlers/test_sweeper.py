"""Sweeper: analyzer failure records and overdue jobs end failed, once, with a reason."""

from __future__ import annotations

import json
import uuid

from tests.support.helpers import ago, job, put_job
from tests.support.inprocess import notifications, stream_records, subscribe_queue


def failure_record(job_id: str, function: str = "moderation-test-custom-analyzer") -> str:
    return json.dumps(
        {
            "version": "1.0",
            "requestContext": {
                "requestId": "r",
                "functionArn": f"arn:aws:lambda:us-east-1:123456789012:function:{function}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 3,
            },
            "requestPayload": {"job_id": job_id, "image_key": "k"},
            "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
            "responsePayload": {"errorType": "OSError", "errorMessage": "model unavailable"},
        }
    )


def test_overdue_jobs_fail_and_fresh_or_finished_ones_do_not(stack):
    ids = {name: str(uuid.uuid4()) for name in ("old_pending", "old_analyzing", "fresh", "done")}
    put_job(stack, ids["old_pending"], "pending", ago(3600))
    put_job(stack, ids["old_analyzing"], "analyzing", ago(3600))
    put_job(stack, ids["fresh"], "pending", ago(5))
    put_job(stack, ids["done"], "complete", ago(3600), decision="approve")
    summary = stack.invoke("sweeper", {})
    assert summary["overdue"] == {"pending": 1, "analyzing": 1}
    assert summary["failed_overdue"] == 2
    assert job(stack, ids["old_pending"])["status"] == "failed"
    assert job(stack, ids["old_pending"])["reasons"] == [
        "deadline exceeded: still pending after 900 s"
    ]
    assert job(stack, ids["old_analyzing"])["reasons"][0].startswith(
        "deadline exceeded: still analyzing"
    )
    assert job(stack, ids["fresh"])["status"] == "pending"
    assert job(stack, ids["done"])["status"] == "complete"
    # A second sweep finds nothing more to do.
    assert stack.invoke("sweeper", {})["failed_overdue"] == 0


def test_failure_records_fail_their_job_with_the_analyzer_error(stack):
    job_id = str(uuid.uuid4())
    put_job(stack, job_id, "analyzing", ago(10))
    sqs, url = stack.client("sqs"), stack.exports["failure_queue_url"]
    sqs.send_message(QueueUrl=url, MessageBody=failure_record(job_id))
    summary = stack.invoke("sweeper", {})
    assert summary["failed_from_records"] == 1
    reason = job(stack, job_id)["reasons"][0]
    assert reason == (
        "moderation-test-custom-analyzer failed after 3 attempt(s): OSError: model unavailable"
    )
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "0"


def test_unreadable_failure_records_stay_for_an_operator(stack):
    sqs, url = stack.client("sqs"), stack.exports["failure_queue_url"]
    sqs.send_message(QueueUrl=url, MessageBody='{"DDBStreamBatchInfo": {}}')
    summary = stack.invoke("sweeper", {})
    assert summary["unreadable_records"] == 1
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert (
        int(attrs["ApproximateNumberOfMessages"])
        + int(attrs["ApproximateNumberOfMessagesNotVisible"])
        == 1
    )


def test_a_record_for_a_completed_job_changes_nothing(stack):
    job_id = str(uuid.uuid4())
    put_job(stack, job_id, "complete", ago(10), decision="approve")
    stack.client("sqs").send_message(
        QueueUrl=stack.exports["failure_queue_url"], MessageBody=failure_record(job_id)
    )
    assert stack.invoke("sweeper", {})["failed_from_records"] == 0
    assert job(stack, job_id)["status"] == "complete"


def test_swept_jobs_are_notified_once(stack):
    topic_queue = subscribe_queue(stack)
    job_id = str(uuid.uuid4())
    put_job(stack, job_id, "pending", ago(7200))
    stack.invoke("sweeper", {})
    stack.invoke("sweeper", {})
    stack.invoke("notifier", {"Records": stream_records(stack)})
    (msg,) = notifications(stack, topic_queue)
    assert msg["job_id"] == job_id and msg["status"] == "failed"


def test_a_sweep_that_finds_the_run_lease_held_skips_its_run(stack):
    """No reserved concurrency: overlapping sweeps are kept single by the lease."""
    from common import lease
    from common.timeutil import utcnow

    ddb, table = stack.client("dynamodb"), stack.exports["idempotency_table"]
    held = lease.Lease("sweeper", "another-sweep")
    assert lease.acquire(ddb, table, held, utcnow(), 60)
    put_job(stack, "overdue-while-held", "pending", ago(3600))
    assert stack.invoke("sweeper", {}) == {"skipped": True}
    assert job(stack, "overdue-while-held")["status"] == "pending"
    lease.release(ddb, table, held)
    assert stack.invoke("sweeper", {})["failed_overdue"] == 1
    # the sweep gave its lease back: the next one runs at once
    assert "skipped" not in stack.invoke("sweeper", {})


def test_an_expired_lease_is_taken_over_and_only_its_holder_releases_it(stack):
    from datetime import timedelta

    from common import lease
    from common.timeutil import utcnow

    ddb, table = stack.client("dynamodb"), stack.exports["idempotency_table"]
    now = utcnow()
    first, second = lease.Lease("sweeper", "first"), lease.Lease("sweeper", "second")
    assert lease.acquire(ddb, table, first, now, 60)
    assert not lease.acquire(ddb, table, second, now + timedelta(seconds=30), 60)
    assert lease.acquire(ddb, table, second, now + timedelta(seconds=61), 60)
    lease.release(ddb, table, first)  # no longer first's: must not free it
    assert not lease.acquire(ddb, table, first, now + timedelta(seconds=62), 60)
