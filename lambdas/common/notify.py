"""Notifications from the jobs table's stream: one SNS message per terminal job.

The stream carries exactly one record for the write that made a job terminal
(status only moves forward and every transition is conditional), so publishing
from it cannot double-notify through a race, and a crash between the decision
write and the publish cannot lose the notification: the record is retried. A crash
after a publish replays it; a FIFO topic (the default) deduplicates the replay.
"""

from __future__ import annotations

import json
from typing import Any

from common import jobs
from common.contract import TERMINAL_STATUSES, Decision, Status


def terminal_transition(record: dict[str, Any]) -> dict[str, Any] | None:
    """The new job image if this stream record moved the job into a terminal status."""
    if record.get("eventName") not in ("MODIFY", "INSERT"):
        return None
    change = record.get("dynamodb") or {}
    new = jobs.deserialize(change.get("NewImage"))
    old = jobs.deserialize(change.get("OldImage")) or {}
    if not new or new.get("status") not in TERMINAL_STATUSES:
        return None
    if old.get("status") in TERMINAL_STATUSES:
        return None
    return new


def message_for(job: dict[str, Any]) -> dict[str, Any]:
    return {
        "job_id": job["job_id"],
        "user_id": job.get("user_id"),
        "status": job["status"],
        "decision": job.get("decision"),
        "reasons": job.get("reasons", []),
        "completed_at": job.get("completed_at"),
    }


def publish(sns: Any, topic_arn: str, job: dict[str, Any]) -> str:
    """Publish the job's notification; on a FIFO topic, once per job whatever the retries.

    A stream batch is retried whole after a crash, so a record may be published again.
    On a FIFO topic the deduplication id (job id and terminal status) makes SNS accept
    and drop the repeat for five minutes; each job is its own message group, so jobs
    never wait behind each other.
    """
    kwargs: dict[str, Any] = {}
    if topic_arn.endswith(".fifo"):
        kwargs = {
            "MessageGroupId": job["job_id"],
            "MessageDeduplicationId": f"{job['job_id']}.{job['status']}",
        }
    out = sns.publish(
        TopicArn=topic_arn,
        Message=json.dumps(message_for(job), separators=(",", ":")),
        MessageAttributes={
            "job_id": {"DataType": "String", "StringValue": job["job_id"]},
            "status": {"DataType": "String", "StringValue": job["status"]},
        },
        **kwargs,
    )
    return str(out["MessageId"])


def publish_content(
    s3: Any, source_bucket: str, content_bucket: str, job: dict[str, Any], max_age: int = 31536000
) -> bool:
    """Copy an approved image to the CDN's content bucket; never a rejected one.

    The object is immutable (keyed by job id), so it is cacheable for `max_age`. It is
    `private`: only the browser of a signed-in user may keep it, never a shared cache
    between the browser and CloudFront (CloudFront caches it under its own cache policy,
    after the edge function has checked the token).
    """
    if job.get("status") != Status.COMPLETE or job.get("decision") != Decision.APPROVE:
        return False
    s3.copy_object(
        Bucket=content_bucket,
        Key=f"content/{job['job_id']}",
        CopySource={"Bucket": source_bucket, "Key": job["image_key"]},
        ContentType=job.get("content_type", "application/octet-stream"),
        MetadataDirective="REPLACE",
        CacheControl=f"private, max-age={int(max_age)}, immutable",
    )
    return True
