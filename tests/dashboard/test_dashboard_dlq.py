"""Dead-letter browsing, redrive and delete: no message lost, none shown or moved twice.

The failure tests wrap a real (moto) SQS client so that sends fail for some messages,
or the process "dies" (an exception no handler catches) between send and delete; the
invariant checked is that every original message still exists in the DLQ or the
source queue — never in neither.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter

import boto3
import pytest
from moto import mock_aws

from dashboard.data import dlq


@pytest.fixture
def sqs():
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


@pytest.fixture
def queues(sqs):
    dlq_url = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    source = sqs.create_queue(
        QueueName=f"src-{uuid.uuid4().hex[:6]}",
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 3})
        },
    )["QueueUrl"]
    return dlq_url, source


def fill(sqs, url: str, n: int) -> dict[str, str]:
    """n messages shaped like the pipeline's ({"job_id"}); returns body by MessageId."""
    sent = {}
    for i in range(n):
        body = json.dumps({"job_id": f"job-{i}"})
        out = sqs.send_message(
            QueueUrl=url,
            MessageBody=body,
            MessageAttributes={"origin": {"DataType": "String", "StringValue": f"test-{i}"}},
        )
        sent[out["MessageId"]] = body
    return sent


def drain(sqs, url: str) -> list[dict]:
    """Every message in the queue, handed back afterwards; waits (up to 10 s) for messages
    someone else holds."""
    found: dict[str, dict] = {}
    deadline = time.monotonic() + 10
    while True:
        out = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            VisibilityTimeout=30,
            MessageAttributeNames=["All"],
        )
        batch = out.get("Messages", [])
        for m in batch:
            found[m["MessageId"]] = m
        if batch:
            continue
        _, in_flight = depth(sqs, url)
        if in_flight <= len(found) or time.monotonic() > deadline:
            dlq.release(sqs, url, {m: msg["ReceiptHandle"] for m, msg in found.items()})
            return list(found.values())
        time.sleep(0.2)


def bodies(sqs, url: str) -> Counter:
    """Bodies currently in the queue, counted (the queue must hold nothing in flight)."""
    return Counter(m["Body"] for m in drain(sqs, url))


def depth(sqs, url: str) -> tuple[int, int]:
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])


# --- browsing -------------------------------------------------------------------------------


def test_peek_shows_each_message_once_and_hands_them_back(sqs, queues):
    dlq_url, _ = queues
    sent = fill(sqs, dlq_url, 25)
    peek = dlq.peek(sqs, dlq_url, max_messages=100, visibility_timeout=30, wait_seconds=0)
    assert sorted(peek.messages["message_id"]) == sorted(sent)
    assert peek.messages["message_id"].is_unique
    assert set(peek.messages["job_id"]) == {f"job-{i}" for i in range(25)}
    assert peek.released == 25 and peek.release_failed == 0
    assert depth(sqs, dlq_url) == (25, 0)  # all visible again at once
    assert json.loads(peek.messages.iloc[0]["message_attributes"])["origin"]["StringValue"]


def test_peek_counts_messages_in_flight_instead_of_showing_them(sqs, queues):
    dlq_url, _ = queues
    fill(sqs, dlq_url, 5)
    sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=2, VisibilityTimeout=60)
    peek = dlq.peek(sqs, dlq_url, max_messages=100, wait_seconds=0)
    assert len(peek.messages) == 3 and peek.in_flight_before == 2 and peek.unseen == 2


def test_peek_merges_a_message_received_twice(sqs, queues):
    dlq_url, _ = queues
    fill(sqs, dlq_url, 3)

    class Redelivering:
        """SQS hands the same message out again (its visibility lapsed mid-browse)."""

        def __init__(self, inner):
            self.inner, self.first = inner, None

        def receive_message(self, **kw):
            out = self.inner.receive_message(**kw)
            if self.first is None and out.get("Messages"):
                self.first = dict(out["Messages"][0])
            elif self.first is not None:
                out["Messages"] = out.get("Messages", []) + [self.first]
            return out

        def __getattr__(self, name):
            return getattr(self.inner, name)

    peek = dlq.peek(Redelivering(sqs), dlq_url, max_messages=100, wait_seconds=0)
    assert len(peek.messages) == 3 and peek.duplicate_receipts >= 1


def test_job_id_from_both_kinds_of_body():
    assert dlq.job_id_from_body('{"job_id": "a"}') == "a"
    assert dlq.job_id_from_body(json.dumps({"requestPayload": {"job_id": "b"}})) == "b"
    assert dlq.job_id_from_body("{not json") is None
    assert dlq.job_id_from_body("[1, 2]") is None


# --- redrive and delete ---------------------------------------------------------------------


def test_redrive_all_moves_every_message_once(sqs, queues):
    dlq_url, source = queues
    sent = fill(sqs, dlq_url, 23)
    report = dlq.redrive(sqs, dlq_url, source, wait_seconds=0)
    assert (report.moved, report.failed, report.in_both) == (23, 0, 0)
    assert depth(sqs, dlq_url) == (0, 0)
    moved = drain(sqs, source)
    assert Counter(m["Body"] for m in moved) == Counter(sent.values())
    assert all(m["MessageAttributes"]["origin"]["DataType"] == "String" for m in moved)


def test_redrive_selected_leaves_the_others_visible(sqs, queues):
    dlq_url, source = queues
    sent = fill(sqs, dlq_url, 12)
    chosen = sorted(sent)[:4]
    report = dlq.redrive(sqs, dlq_url, source, chosen + ["no-such-message"], wait_seconds=0)
    assert report.moved == 4 and report.not_found == ["no-such-message"]
    assert depth(sqs, dlq_url) == (8, 0)  # held ones were handed back
    assert bodies(sqs, source) == Counter(sent[m] for m in chosen)


def test_delete_selected_only(sqs, queues):
    dlq_url, _ = queues
    sent = fill(sqs, dlq_url, 10)
    chosen = sorted(sent)[:3]
    report = dlq.delete(sqs, dlq_url, chosen, wait_seconds=0)
    assert report.deleted == 3 and report.not_found == []
    assert depth(sqs, dlq_url) == (7, 0)
    left = {m["MessageId"] for m in drain(sqs, dlq_url)}
    assert left == set(sent) - set(chosen)


class FailingSends:
    """SendMessageBatch refuses every message whose job id is in `refuse`."""

    def __init__(self, inner, refuse: set[str]):
        self.inner, self.refuse = inner, refuse

    def send_message_batch(self, QueueUrl, Entries):  # noqa: N803 - boto3's names
        ok = [e for e in Entries if json.loads(e["MessageBody"])["job_id"] not in self.refuse]
        bad = [e for e in Entries if e not in ok]
        out = (
            self.inner.send_message_batch(QueueUrl=QueueUrl, Entries=ok)
            if ok
            else {"Successful": []}
        )
        out["Failed"] = [
            {"Id": e["Id"], "Code": "InternalError", "Message": "injected", "SenderFault": False}
            for e in bad
        ]
        return out

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_refused_sends_stay_in_the_dlq(sqs, queues):
    dlq_url, source = queues
    sent = fill(sqs, dlq_url, 20)
    refuse = {f"job-{i}" for i in range(0, 20, 3)}
    report = dlq.redrive(FailingSends(sqs, refuse), dlq_url, source, wait_seconds=0)
    assert report.failed == len(refuse) and report.moved == 20 - len(refuse)
    assert report.errors and "injected" in report.errors[0]
    assert depth(sqs, dlq_url) == (len(refuse), 0)  # handed back at once, not hidden
    in_dlq, in_source = bodies(sqs, dlq_url), bodies(sqs, source)
    assert in_dlq + in_source == Counter(sent.values())  # every message exactly once
    assert {json.loads(b)["job_id"] for b in in_dlq} == refuse


def test_a_failing_send_call_loses_nothing(sqs, queues):
    dlq_url, source = queues
    sent = fill(sqs, dlq_url, 7)

    class Down:
        def send_message_batch(self, **kw):
            raise ConnectionError("source queue unreachable")

        def __getattr__(self, name):
            return getattr(sqs, name)

    report = dlq.redrive(Down(), dlq_url, source, wait_seconds=0)
    assert report.moved == 0 and report.failed == 7
    assert bodies(sqs, dlq_url) == Counter(sent.values()) and bodies(sqs, source) == Counter()


class Died(BaseException):
    """The process ends here: nothing after it runs (not even `except Exception`)."""


def test_death_between_send_and_delete_leaves_the_message_in_both_never_neither(sqs, queues):
    dlq_url, source = queues
    sent = fill(sqs, dlq_url, 15)

    class DiesOnDelete:
        def __init__(self):
            self.deletes = 0

        def delete_message_batch(self, **kw):
            self.deletes += 1
            if self.deletes == 2:  # the second batch has been sent, not deleted
                raise Died()
            return sqs.delete_message_batch(**kw)

        def __getattr__(self, name):
            return getattr(sqs, name)

    with pytest.raises(Died):
        dlq.redrive(DiesOnDelete(), dlq_url, source, visibility_timeout=1, wait_seconds=0)
    time.sleep(1.2)  # the dead process's receipts expire and the DLQ copies reappear
    in_dlq, in_source = bodies(sqs, dlq_url), bodies(sqs, source)
    for body in sent.values():
        assert in_dlq[body] + in_source[body] >= 1, body  # never neither
    assert sum(in_source.values()) == 10 + min(10, 15 - 10)  # batches 1 and 2 were sent
    # A second redrive finishes the job; a duplicate in the source is a no-op for the
    # dispatcher (its claim is conditional on the job's status).
    report = dlq.redrive(sqs, dlq_url, source, wait_seconds=0)
    assert report.failed == 0 and depth(sqs, dlq_url) == (0, 0)
    assert set(bodies(sqs, source)) == set(sent.values())


def test_a_failed_delete_is_reported_as_in_both(sqs, queues):
    dlq_url, source = queues
    sent = fill(sqs, dlq_url, 4)

    class DeleteRefused:
        def delete_message_batch(self, QueueUrl, Entries):  # noqa: N803 - boto3's names
            return {
                "Successful": [],
                "Failed": [
                    {
                        "Id": e["Id"],
                        "Code": "InternalError",
                        "Message": "injected",
                        "SenderFault": False,
                    }
                    for e in Entries
                ],
            }

        def __getattr__(self, name):
            return getattr(sqs, name)

    report = dlq.redrive(DeleteRefused(), dlq_url, source, visibility_timeout=1, wait_seconds=0)
    assert report.moved == 0 and report.in_both == 4
    assert "sent but not yet deleted" in report.summary()
    time.sleep(1.2)
    assert bodies(sqs, dlq_url) == Counter(sent.values())
    assert bodies(sqs, source) == Counter(sent.values())
