"""Notices (DSA Article 16): anyone signed in may notify a job they think breaks the rules.

`POST /jobs/{job_id}/notices` with `{"category", "explanation"}`:
- `category` is a Transparency Database category key (`STATEMENT_CATEGORY_*`), so the
  statement that follows a restriction can name it; `explanation` is 1-2000 characters
  (kept on the job for moderators; never in a statement or a notification);
- the owner cannot notify their own job (403 `own_job`); a job not decided yet answers
  409 `not_decided`; unknown jobs 404;
- each user may send `dsa.noticesPerDay` notices a UTC day (429 `over_quota`): one
  conditional counter per user and day, in the notices usage table;
- the job enters the review queue marked as a notice (`noticed`), whatever its review
  state: a notice racing a verdict either lands first (the verdict answers it) or puts
  the job back in the queue (the next verdict answers it). A job a `reject` already
  restricted only records the notice (`already_restricted`; `queued` false on it).

When a verdict follows, the notifier publishes one `notice_outcome` message per notice
it answers (`answered`: by write order), addressed to the notifier (`notifier`), never
naming the uploader.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from common import dsa_rules, jobs
from common.contract import Decision, JobAttr, NoticeEvent, NoticeField, ReviewState, Status
from common.timeutil import epoch, iso

MAX_EXPLANATION = 2000


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class Filed:
    notice: dict[str, Any]
    queued: bool  # in the review queue (False: a reject had already restricted the job)


def parse(body: bytes) -> tuple[str, str]:
    """`{"category", "explanation"}`, or Refused 400."""
    try:
        doc = json.loads(body or b"")
    except ValueError:
        raise Refused(400, "invalid_json", "the body must be a JSON object") from None
    if not isinstance(doc, dict):
        raise Refused(400, "invalid_json", "the body must be a JSON object")
    category = doc.get("category")
    explanation = doc.get("explanation")
    if category not in dsa_rules.CATEGORIES:
        raise Refused(
            400,
            "invalid_request",
            "category must be one of the DSA categories: " + ", ".join(dsa_rules.CATEGORIES),
        )
    if not isinstance(explanation, str) or not explanation.strip():
        raise Refused(400, "invalid_request", "explanation is required: why the image is wrong")
    if len(explanation) > MAX_EXPLANATION:
        raise Refused(
            400, "invalid_request", f"explanation is longer than {MAX_EXPLANATION} characters"
        )
    extra = sorted(set(doc) - {"category", "explanation"})
    if extra:
        raise Refused(400, "invalid_request", f"unknown fields: {', '.join(extra)}")
    return str(category), explanation.strip()


def admit(ddb: Any, table: str, user_id: str, now: datetime, per_day: int) -> None:
    """Count one notice for `user_id` today, or Refused 429 (nothing counted)."""
    day = now.strftime("%Y-%m-%d")
    try:
        ddb.update_item(
            TableName=table,
            Key={"usage_key": {"S": f"{user_id}#{day}"}},
            UpdateExpression="SET expires_at = :expires ADD notice_count :one",
            ConditionExpression="attribute_not_exists(notice_count) OR notice_count < :limit",
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":limit": {"N": str(per_day)},
                ":expires": {"N": str(epoch(now + timedelta(days=2)))},
            },
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        raise Refused(
            429,
            "over_quota",
            f"you have sent {per_day} notices today (UTC), the most one user may",
            retry_after=max(1, int((midnight - now).total_seconds())),
        ) from None


def file(
    ddb: Any, table: str, job_id: str, notifier: str, category: str, explanation: str, now: datetime
) -> Filed:
    """Record the notice on the job (and queue it), or Refused 403/404/409."""
    notice = {
        "notice_id": str(uuid.uuid4()),
        "notifier": notifier,
        "category": category,
        "explanation": explanation,
        "at": iso(now),
    }
    won, job = jobs.add_notice(ddb, table, job_id, notice, now)
    if won:
        return Filed(notice, queued=True)
    _why_not(job, notifier)
    restricted = {**notice, "queued": False}  # told now; no verdict answers it
    won, job = jobs.add_restricted_notice(ddb, table, job_id, restricted, now)
    if won:
        return Filed(restricted, queued=False)
    _why_not(job, notifier)
    raise Refused(409, "conflict", "the job changed while the notice was recorded; retry")


def _why_not(job: Mapping[str, Any] | None, notifier: str) -> None:
    if job is None:
        raise Refused(404, "not_found", "no such job")
    if job.get(JobAttr.USER_ID) == notifier:
        raise Refused(403, "own_job", "you cannot notify your own upload")
    if job.get(JobAttr.STATUS) != Status.COMPLETE:
        raise Refused(409, "not_decided", "the job is not decided yet; notify it once it is")


def response(filed: Filed, job_id: str) -> dict[str, Any]:
    return {
        JobAttr.JOB_ID: job_id,
        "notice_id": filed.notice["notice_id"],
        "state": "queued_for_review" if filed.queued else "already_restricted",
    }


# --- the outcome, told to each notifier -------------------------------------------------------


def answered(new: Mapping[str, Any], old: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The notices a verdict (pending -> reviewed: `new`, `old` its stream images) answers.

    Decided by write order, never by clocks: `notices` is appended to in the order the
    notices' writes landed, and each verdict records in the same write the id of the
    latest notice it found (`notices_answered_through`, common/jobs.py `record_review`).
    A verdict answers the notices after the one the previous verdict recorded (all of
    them when no verdict recorded one), so a notice whose write landed just after a
    verdict, whatever its clock read, is answered by the next verdict, and one that
    landed just before it by this one; each exactly once. A notice on a job a `reject`
    had already restricted (`queued` false) was answered when it was filed.

    Verdicts written before the marker existed leave none; for them the previous
    verdict's `reviewed_at` bounds the notices it answered, as it did then.
    """
    if new.get(JobAttr.REVIEW_STATE) != ReviewState.REVIEWED or not new.get(NoticeField.NOTICED):
        return []
    notices = [n for n in new.get(NoticeField.NOTICES) or [] if n.get("queued", True)]
    through = old.get(NoticeField.ANSWERED_THROUGH)
    if through is not None:
        ids = [n.get("notice_id") for n in notices]
        return notices[ids.index(through) + 1 :] if through in ids else notices
    before = str((old.get(JobAttr.REVIEW) or {}).get("reviewed_at") or "")
    return [n for n in notices if str(n.get("at")) > before]


def outcome_message(job: Mapping[str, Any], notice: Mapping[str, Any]) -> dict[str, Any]:
    """What a notifier is told: their notice, the job id, the decision; not whose job it is."""
    decision = job.get(JobAttr.DECISION)
    return {
        "event": NoticeEvent.NOTICE_OUTCOME,
        "notice_id": notice["notice_id"],
        "notifier": notice["notifier"],
        JobAttr.JOB_ID: job[JobAttr.JOB_ID],
        "category": notice.get("category"),
        JobAttr.DECISION: decision,
        "restricted": decision == Decision.REJECT,
        "decided_at": (job.get(JobAttr.REVIEW) or {}).get("reviewed_at"),
    }


def publish_outcomes(
    sns: Any, topic_arn: str, job: Mapping[str, Any], notices: list[dict[str, Any]]
) -> list[str]:
    """One message per answered notice; on a FIFO topic deduplicated per notice."""
    ids = []
    for notice in notices:
        kwargs: dict[str, Any] = {}
        if topic_arn.endswith(".fifo"):
            kwargs = {
                "MessageGroupId": str(job[JobAttr.JOB_ID]),
                "MessageDeduplicationId": f"{job[JobAttr.JOB_ID]}.notice.{notice['notice_id']}",
            }
        out = sns.publish(
            TopicArn=topic_arn,
            Message=json.dumps(outcome_message(job, notice), separators=(",", ":")),
            MessageAttributes={
                JobAttr.JOB_ID: {"DataType": "String", "StringValue": str(job[JobAttr.JOB_ID])},
                "event": {"DataType": "String", "StringValue": str(NoticeEvent.NOTICE_OUTCOME)},
                "notifier": {"DataType": "String", "StringValue": str(notice["notifier"])},
            },
            **kwargs,
        )
        ids.append(str(out["MessageId"]))
    return ids


def answered_in(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`answered` for a jobs-table stream record (its new and old images)."""
    change = record.get("dynamodb") or {}
    new = jobs.deserialize(change.get("NewImage")) or {}
    old = jobs.deserialize(change.get("OldImage")) or {}
    if old.get(JobAttr.REVIEW_STATE) != ReviewState.PENDING:
        return []
    return answered(new, old)
