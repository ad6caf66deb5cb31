"""The sweeper: no job stays `pending` or `analyzing` forever.

Two sources of failures: records in the analyzers' on-failure destination queue
(async retries exhausted) fail their job at once with the analyzer's error; jobs
past the deadline (found through the status GSI, never a scan) fail with the stage
they were stuck in. Each transition is conditional, so a job that finished in the
meantime is left alone and nothing is failed twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from common import jobs
from common.contract import JobAttr, Status


@dataclass
class SweepReport:
    failure_records: int = 0
    failed_from_records: int = 0
    unreadable_records: int = 0
    overdue: dict[str, int] = field(
        default_factory=lambda: {Status.PENDING: 0, Status.ANALYZING: 0}
    )
    failed_overdue: int = 0

    @property
    def stuck(self) -> int:
        return sum(self.overdue.values())


def reason_from_record(record: dict[str, Any]) -> tuple[str, str]:
    """(job_id, reason) from a Lambda on-failure destination record."""
    payload = record.get("requestPayload") or {}
    job_id = payload.get(JobAttr.JOB_ID)
    if not isinstance(job_id, str):
        raise ValueError("destination record has no requestPayload.job_id")
    context = record.get("requestContext") or {}
    function = (context.get("functionArn") or "analyzer").split(":function:")[-1].split(":")[0]
    response = record.get("responsePayload") or {}
    error = response.get("errorType") or context.get("condition") or "error"
    message = response.get("errorMessage") or ""
    attempts = context.get("approximateInvokeCount")
    reason = f"{function} failed after {attempts} attempt(s): {error}"
    if message:
        reason += f": {message[:300]}"
    return job_id, reason


def drain_failure_queue(
    sqs: Any,
    ddb: Any,
    table: str,
    queue_url: str,
    now: datetime,
    report: SweepReport,
    max_batches: int = 10,
) -> None:
    for _ in range(max_batches):
        out = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
        )
        messages = out.get("Messages", [])
        if not messages:
            return
        done = []
        for msg in messages:
            report.failure_records += 1
            try:
                job_id, reason = reason_from_record(json.loads(msg["Body"]))
            except ValueError:
                # Left in the queue for an operator; its age alarm fires.
                report.unreadable_records += 1
                continue
            won, _ = jobs.fail_job(ddb, table, job_id, reason, now)
            report.failed_from_records += int(won)
            done.append({"Id": msg["MessageId"], "ReceiptHandle": msg["ReceiptHandle"]})
        if done:
            sqs.delete_message_batch(QueueUrl=queue_url, Entries=done)


def fail_overdue(
    ddb: Any,
    table: str,
    deadline_seconds: int,
    now: datetime,
    report: SweepReport,
    limit: int = 500,
) -> None:
    cutoff = now - timedelta(seconds=deadline_seconds)
    for status in (Status.PENDING, Status.ANALYZING):
        for job in jobs.jobs_older_than(ddb, table, status, cutoff, limit):
            report.overdue[status] += 1
            won, _ = jobs.fail_job(
                ddb,
                table,
                job[JobAttr.JOB_ID],
                f"deadline exceeded: still {status} after {deadline_seconds} s",
                now,
            )
            report.failed_overdue += int(won)
