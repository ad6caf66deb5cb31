"""Notifications from the jobs table's stream: one SNS message per job event.

A job is notified when it becomes terminal (`decided`, `failed`, or `awaiting_review`
when its decision waits for a moderator) and, if it went to review, once more when the
verdict is recorded (`reviewed`). The stream carries exactly one record for each of
those writes (status only moves forward, review_state only from `pending` to
`reviewed`, and every transition is conditional), so publishing from it cannot
double-notify through a race, and a crash between the write and the publish cannot
lose the notification: the record is retried. A crash after a publish replays it; a
FIFO topic (the default) deduplicates the replay. A notice (common/notices.py) can put
a reviewed job back in the queue: its next verdict is a new `reviewed` notification,
with its own deduplication id (the verdict's `reviewed_at`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from common import jobs
from common.contract import (
    IMAGE_ETAG,
    IMAGE_KEY,
    TERMINAL_STATUSES,
    AppealField,
    AppealState,
    Decision,
    JobAttr,
    NotificationEvent,
    ReviewField,
    ReviewState,
    Status,
)
from common.originals import ImageChanged, precondition_failed


@dataclass(frozen=True)
class Notification:
    event: NotificationEvent
    job: dict[str, Any]

    @property
    def deduplication_id(self) -> str:
        """`<job id>.<status>` for the terminal notification, `<job id>.reviewed.<reviewed_at>`
        for a verdict, `<job id>.appeal` for an appeal's outcome.

        The same for a retried stream record (its image is the same), distinct for a new
        decision: a notice can put a reviewed job back in the queue, and the next verdict's
        `reviewed` notification must not be taken for a replay of the first.
        """
        if self.event is NotificationEvent.REVIEWED:
            reviewed_at = (self.job.get(JobAttr.REVIEW) or {}).get(ReviewField.REVIEWED_AT)
            return f"{self.job[JobAttr.JOB_ID]}.reviewed" + (
                f".{reviewed_at}" if reviewed_at else ""
            )
        suffix = {NotificationEvent.APPEAL_DECIDED: "appeal"}.get(self.event)
        return f"{self.job[JobAttr.JOB_ID]}.{suffix or self.job[JobAttr.STATUS]}"


def _images(record: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    change = record.get("dynamodb") or {}
    new = jobs.deserialize(change.get("NewImage"))
    old = jobs.deserialize(change.get("OldImage")) or {}
    return new, old


def terminal_transition(record: dict[str, Any]) -> dict[str, Any] | None:
    """The new job image if this stream record moved the job into a terminal status."""
    if record.get("eventName") not in ("MODIFY", "INSERT"):
        return None
    new, old = _images(record)
    if not new or new.get(JobAttr.STATUS) not in TERMINAL_STATUSES:
        return None
    if old.get(JobAttr.STATUS) in TERMINAL_STATUSES:
        return None
    return new


def review_transition(record: dict[str, Any]) -> dict[str, Any] | None:
    """The new job image if this stream record is a moderator's verdict (pending -> reviewed)."""
    if record.get("eventName") != "MODIFY":
        return None
    new, old = _images(record)
    if not new or new.get(JobAttr.REVIEW_STATE) != ReviewState.REVIEWED:
        return None
    if old.get(JobAttr.REVIEW_STATE) != ReviewState.PENDING:
        return None
    return new


def notification_for(record: dict[str, Any]) -> Notification | None:
    """What this stream record announces, if anything."""
    job = terminal_transition(record)
    if job is not None:
        if job[JobAttr.STATUS] == Status.FAILED:
            return Notification(NotificationEvent.FAILED, job)
        if job.get(JobAttr.REVIEW_STATE) == ReviewState.PENDING:
            return Notification(NotificationEvent.AWAITING_REVIEW, job)
        return Notification(NotificationEvent.DECIDED, job)
    job = review_transition(record)
    if job is not None:
        return Notification(NotificationEvent.REVIEWED, job)
    job = appeal_transition(record)
    if job is not None:
        return Notification(NotificationEvent.APPEAL_DECIDED, job)
    return None


def appeal_transition(record: dict[str, Any]) -> dict[str, Any] | None:
    """The new job image if this stream record decided an appeal (pending -> decided):
    one record per appeal, the decision's conditional write (common/appeals.py)."""
    if record.get("eventName") != "MODIFY":
        return None
    new, old = _images(record)
    if not new or new.get(AppealField.STATE) != AppealState.DECIDED:
        return None
    if old.get(AppealField.STATE) != AppealState.PENDING:
        return None
    return new


def message_for(job: dict[str, Any], event: NotificationEvent | None = None) -> dict[str, Any]:
    """The body: the job's outcome, what happened (`event`), and for a review its verdict.

    `reviewed` adds `automatic_decision` (the rules' decision, kept) and `review`
    (`decision`, `reviewer`, `note`, `reviewed_at`, `via`); `decision` is then the
    moderator's.
    """
    message: dict[str, Any] = {
        JobAttr.JOB_ID: job[JobAttr.JOB_ID],
        JobAttr.USER_ID: job.get(JobAttr.USER_ID),
        JobAttr.STATUS: job[JobAttr.STATUS],
        JobAttr.DECISION: job.get(JobAttr.DECISION),
        JobAttr.REASONS: job.get(JobAttr.REASONS, []),
        JobAttr.COMPLETED_AT: job.get(JobAttr.COMPLETED_AT),
    }
    if event is not None:
        message["event"] = event
    if job.get(JobAttr.REVIEW_STATE):
        message[JobAttr.REVIEW_STATE] = job[JobAttr.REVIEW_STATE]
    if job.get(JobAttr.REUSED_FROM):
        # Not whose job it came from: that is another user's (operators see it on the record).
        message["verdict_reused"] = True
    if event is NotificationEvent.REVIEWED:
        message[JobAttr.AUTOMATIC_DECISION] = job.get(JobAttr.AUTOMATIC_DECISION)
        message[JobAttr.REVIEW] = job.get(JobAttr.REVIEW)
    if event is NotificationEvent.APPEAL_DECIDED:
        # The outcome and the decisions before and after it; who decided stays internal.
        appeal = job.get(AppealField.APPEAL) or {}
        message["appeal"] = {
            k: appeal.get(k) for k in ("outcome", "decision_before", "decision_after", "decided_at")
        }
    return message


def publish(sns: Any, topic_arn: str, note: Notification) -> str:
    """Publish one notification; on a FIFO topic, once per job event whatever the retries.

    A stream batch is retried whole after a crash, so a record may be published again.
    On a FIFO topic the deduplication id (job id and status, or `reviewed` and the
    verdict's time) makes SNS accept and drop the repeat for five minutes, while a job's
    `reviewed` notification is never mistaken for its first, nor a second verdict's
    for the first's; each job is its own message group, so jobs never
    wait behind each other.
    """
    job = note.job
    kwargs: dict[str, Any] = {}
    if topic_arn.endswith(".fifo"):
        kwargs = {
            "MessageGroupId": job[JobAttr.JOB_ID],
            "MessageDeduplicationId": note.deduplication_id,
        }
    out = sns.publish(
        TopicArn=topic_arn,
        Message=json.dumps(message_for(job, note.event), separators=(",", ":")),
        MessageAttributes={
            JobAttr.JOB_ID: {"DataType": "String", "StringValue": job[JobAttr.JOB_ID]},
            JobAttr.STATUS: {"DataType": "String", "StringValue": job[JobAttr.STATUS]},
            "event": {"DataType": "String", "StringValue": str(note.event)},
        },
        **kwargs,
    )
    return str(out["MessageId"])


def publish_content(
    s3: Any, source_bucket: str, content_bucket: str, job: dict[str, Any], max_age: int = 31536000
) -> bool:
    """Copy an approved image to the CDN's content bucket; never a rejected one.

    Approved means the job's final decision: the rules', or a moderator's verdict (the
    `reviewed` notification's job has the moderator's decision).

    The object is immutable (keyed by job id), so it is cacheable for `max_age`. It is
    `private`: only the browser of a signed-in user may keep it, never a shared cache
    between the browser and CloudFront (CloudFront caches it under its own cache policy,
    after the edge function has checked the token).

    The copy is of the bytes that were decided: conditional on the ETag the job recorded
    (`CopySourceIfMatch`), so a changed object raises `originals.ImageChanged` and is
    never published.
    """
    if job.get(JobAttr.STATUS) != Status.COMPLETE or job.get(JobAttr.DECISION) != Decision.APPROVE:
        return False
    etag = job.get(IMAGE_ETAG)
    try:
        _copy(s3, source_bucket, content_bucket, job, max_age, etag)
    except ClientError as exc:
        if precondition_failed(exc):
            raise ImageChanged(f"{job[IMAGE_KEY]} changed after it was decided") from exc
        raise
    return True


def _copy(
    s3: Any,
    source_bucket: str,
    content_bucket: str,
    job: dict[str, Any],
    max_age: int,
    etag: str | None,
) -> None:
    s3.copy_object(
        Bucket=content_bucket,
        Key=f"content/{job[JobAttr.JOB_ID]}",
        CopySource={"Bucket": source_bucket, "Key": job[IMAGE_KEY]},
        **({"CopySourceIfMatch": etag} if etag else {}),
        ContentType=job.get(JobAttr.CONTENT_TYPE, "application/octet-stream"),
        MetadataDirective="REPLACE",
        CacheControl=f"private, max-age={int(max_age)}, immutable",
    )
