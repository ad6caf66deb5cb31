"""Claims: a moderator leases the oldest unclaimed items of a queue, so no two work one.

`POST /reviews/claim` (`{"queue": "review" | "appeal" | "qa", "count": n}`, both optional)
reads the queue's partition of its sparse index oldest first (`QUEUES`), skipping items
someone else holds, the caller's own uploads and, in the appeal and QA queues, jobs the
caller reviewed; then takes each candidate with one conditional UpdateItem
(`jobs.claim_job`) until it holds `count`. Two moderators claiming at once race on that
write per job: one wins, the other moves on to the next candidate, so no job is handed
to both. A claim lasts `moderation:review.claimMinutes`; past it the job is claimable
again (no sweep is needed: every condition compares the claim's expiry with the clock).
A moderator's own claim is renewed by claiming again.

While a claim holds, every decision on the job in that queue (the verdict, the appeal
decision, the QA decision) by anyone else is refused 409 `claimed_by_another`: the
condition is part of the decision's own write. `POST /reviews/{job_id}/release` gives a
claim back.

Two metrics: `ReviewTimeToClaimSeconds` (from entering the queue to a claim) and
`ReviewTimeToDecideSeconds` (from the claim to the decision), dimension `queue`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common import jobs, review
from common.contract import (
    APPEAL_INDEX,
    QA_INDEX,
    REVIEW_INDEX,
    AppealField,
    ClaimField,
    JobAttr,
    QaField,
    WorkQueue,
)
from common.review import Refused
from common.timeutil import epoch, parse_iso

DEFAULT_COUNT = 1
MAX_COUNT = 25
# Index entries read per claim request at most (pages of PAGE): a queue whose oldest
# entries are all held by others is claimed from further back, up to this far.
PAGE = 25
MAX_PAGES = 8


@dataclass(frozen=True)
class QueueIndex:
    index: str
    state: jobs.Field  # the index's hash key; the queue is its `pending` partition
    since: jobs.Field  # the index's range key: when the job entered the queue


QUEUES: dict[WorkQueue, QueueIndex] = {
    WorkQueue.REVIEW: QueueIndex(REVIEW_INDEX, JobAttr.REVIEW_STATE, JobAttr.COMPLETED_AT),
    WorkQueue.APPEAL: QueueIndex(APPEAL_INDEX, AppealField.STATE, AppealField.AT),
    WorkQueue.QA: QueueIndex(QA_INDEX, QaField.STATE, QaField.QUEUED_AT),
}
# Who may not take an item of the queue besides its uploader: the person whose decision
# the item re-examines.
_REEXAMINED_BY: dict[WorkQueue, tuple[str, dict[str, str]]] = {
    WorkQueue.APPEAL: ("#rv.reviewer", {"#rv": JobAttr.REVIEW}),
    WorkQueue.QA: ("#qa.original_reviewer", {"#qa": QaField.QA}),
}


def json_object(body: bytes, fields: set[str], example: str) -> dict[str, Any]:
    """The body as a JSON object with only `fields` (an empty body: `{}`); else Refused 400."""
    if not body.strip():
        return {}
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(400, "invalid_json", f"the body is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise Refused(400, "invalid_request", f"the body must be a JSON object: {example}")
    unknown = sorted(set(doc) - fields)
    if unknown:
        raise Refused(
            400, "invalid_request", f"unknown field(s) {', '.join(unknown)}: send {example}"
        )
    return doc


def parse_queue(doc: Mapping[str, Any]) -> WorkQueue:
    name = doc.get("queue", WorkQueue.REVIEW)
    if name not in tuple(WorkQueue):
        raise Refused(
            400,
            "invalid_request",
            f"queue must be one of {', '.join(WorkQueue)}, not {name!r}",
        )
    return WorkQueue(name)


def parse_claim(body: bytes) -> tuple[WorkQueue, int]:
    """`{"queue", "count"}`, both optional (the review queue, one item)."""
    doc = json_object(body, {"queue", "count"}, '{"queue": "review" | "appeal" | "qa", "count": n}')
    count = doc.get("count", DEFAULT_COUNT)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise Refused(400, "invalid_request", f"count must be an integer 1-{MAX_COUNT}")
    return parse_queue(doc), count


def claim_condition(queue: WorkQueue) -> tuple[str, dict[str, str]]:
    """The filter a claim's candidate read uses (a moderator `:me` at `:epoch`): nobody
    holds the job's claim in `queue`, it expired, or it is theirs; and the names it uses.
    The writes (common/jobs.py) state the same condition through `Update.claim_free`."""
    names = {
        "#cby": queue.claim_attribute(ClaimField.BY),
        "#cuntil": queue.claim_attribute(ClaimField.UNTIL),
    }
    return "(attribute_not_exists(#cuntil) OR #cuntil < :epoch OR #cby = :me)", names


def _candidates(
    ddb: Any, table: str, queue: WorkQueue, moderator: str, now: datetime
) -> list[dict[str, Any]]:
    """Up to MAX_PAGES pages of the queue's pending items the moderator could take, oldest
    first: free, expired or their own claims; not their uploads nor their own decisions."""
    condition, names = claim_condition(queue)
    filters = [condition, "(attribute_not_exists(#owner) OR #owner <> :me)"]
    names = {**names, "#owner": JobAttr.USER_ID}
    if queue in _REEXAMINED_BY:
        path, more = _REEXAMINED_BY[queue]
        filters.append(f"(attribute_not_exists({path}) OR {path} <> :me)")
        names = {**names, **more}
    return pending_matching(
        ddb, table, queue, " AND ".join(filters), names, moderator, now, PAGE, MAX_PAGES
    )


def pending_matching(
    ddb: Any,
    table: str,
    queue: WorkQueue,
    condition: str,
    names: Mapping[str, str],
    moderator: str,
    now: datetime,
    page_size: int,
    pages: int,
) -> list[dict[str, Any]]:
    """Up to `pages` pages of the queue's `pending` partition, oldest first, filtered by
    `condition` (which may use `:me` for the moderator and `:epoch` for now); whole records
    (the queue indexes project every attribute)."""
    q = QUEUES[WorkQueue(queue)]
    kwargs: dict[str, Any] = {
        "TableName": table,
        "IndexName": q.index,
        "KeyConditionExpression": "#state = :pending",
        "FilterExpression": condition,
        "ExpressionAttributeNames": {**names, "#state": q.state},
        "ExpressionAttributeValues": {
            ":pending": {"S": "pending"},
            ":me": {"S": moderator},
            ":epoch": {"N": str(epoch(now))},
        },
        "ScanIndexForward": True,
        "Limit": page_size,
    }
    found: list[dict[str, Any]] = []
    for _ in range(pages):
        page = ddb.query(**kwargs)
        found += [jobs.deserialize(raw) or {} for raw in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return found


@dataclass(frozen=True)
class Claimed:
    job: dict[str, Any]
    waited_seconds: float | None  # from entering the queue to this claim


def waited(job: Mapping[str, Any], queue: WorkQueue, now: datetime) -> float | None:
    since = job.get(QUEUES[queue].since)
    if not isinstance(since, str):
        return None
    try:
        return round(max(0.0, (now - parse_iso(since)).total_seconds()), 3)
    except ValueError:
        return None


def claim(
    ddb: Any,
    table: str,
    queue: WorkQueue,
    moderator: str,
    now: datetime,
    minutes: int,
    count: int = DEFAULT_COUNT,
) -> list[Claimed]:
    """Claim up to `count` of the oldest items of `queue` the moderator may take."""
    out: list[Claimed] = []
    for candidate in _candidates(ddb, table, queue, moderator, now):
        if len(out) >= count:
            break
        won, job = jobs.claim_job(
            ddb,
            table,
            str(candidate[JobAttr.JOB_ID]),
            queue,
            QUEUES[queue].state,
            moderator,
            now,
            minutes,
        )
        if won and job:
            out.append(Claimed(job, waited(job, queue, now)))
    return out


def release(
    ddb: Any, table: str, job_id: str, queue: WorkQueue, moderator: str, now: datetime
) -> None:
    """Give the caller's claim back; 409 `not_claimed` when they hold none on the job."""
    won, item = jobs.release_job(ddb, table, job_id, queue, moderator, now)
    if won:
        return
    if item is None:
        raise Refused(404, "not_found", "no such job")
    raise Refused(
        409, "not_claimed", f"you hold no unexpired claim on job {job_id} in the {queue} queue"
    )


def holder(job: Mapping[str, Any], queue: WorkQueue, now: datetime) -> str | None:
    """Who holds an unexpired claim on the job in `queue`, if anyone."""
    until = job.get(queue.claim_attribute(ClaimField.UNTIL))
    by = job.get(queue.claim_attribute(ClaimField.BY))
    if isinstance(until, int) and until >= epoch(now) and isinstance(by, str):
        return by
    return None


def claimed_by_another(job_id: str, queue: WorkQueue) -> Refused:
    return Refused(
        409,
        "claimed_by_another",
        f"job {job_id} is claimed by another moderator in the {queue} queue; "
        "claim another item (POST /reviews/claim)",
    )


def decide_seconds(
    job: Mapping[str, Any], queue: WorkQueue, moderator: str, now: datetime
) -> float | None:
    """Seconds from the moderator's claim to now (their decision); None without one."""
    if job.get(queue.claim_attribute(ClaimField.BY)) != moderator:
        return None
    at = job.get(queue.claim_attribute(ClaimField.AT))
    if not isinstance(at, str):
        return None
    return round(max(0.0, (now - parse_iso(at)).total_seconds()), 3)


def claim_view(
    queue: WorkQueue,
    claimed: Claimed,
    now: datetime,
    moderator: str,
    image_url: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """One claimed item as the moderator sees it: the queue item, the claim, and per
    queue what it needs (an appeal's message; nothing of the original decision in QA)."""
    job = claimed.job
    item = review.queue_item(job, now, (moderator,))
    if queue is WorkQueue.QA:
        # Blind: the QA moderator decides without the decision or verdict under test.
        for hidden in ("decision", "reasons"):
            item.pop(hidden, None)
    if queue is WorkQueue.APPEAL:
        appeal = job.get(AppealField.APPEAL) or {}
        item["appeal"] = {k: appeal.get(k) for k in ("message", "appealed_at", "decision_before")}
    if image_url is not None and job.get(JobAttr.IMAGE_KEY):
        item["image_url"] = image_url(str(job[JobAttr.IMAGE_KEY]))
    item["queue"] = str(queue)
    item["queued_at"] = job.get(QUEUES[queue].since)
    item["claim"] = {
        "claimed_by": job.get(queue.claim_attribute(ClaimField.BY)),
        "claimed_at": job.get(queue.claim_attribute(ClaimField.AT)),
        JobAttr.EXPIRES_AT: job.get(queue.claim_attribute(ClaimField.UNTIL)),
        "waited_seconds": claimed.waited_seconds,
    }
    return item
