"""Human review: the moderator queue, the verdict, and who may give one.

A job whose rules decided `review` (and `warn`, with `moderation:review.queueWarn`) is
finalized with `review_state = pending` in the same write (`jobs.finalize`), which puts
it in the jobs table's review index (`REVIEW_INDEX`, hash `review_state`, range
`completed_at`, every attribute projected). From there:

- `list_queue`: the `pending` partition of the index, oldest first, one Query per page
  (no GetItem per job: the index holds the whole item), with a cursor for the next page;
- `record_verdict`: one conditional UpdateItem (`jobs.record_review`), only while the
  job is still `pending`.
  It keeps the rules' decision (`automatic_decision`) and reasons, sets `decision` to the
  moderator's, adds `review: {decision, reviewer, note, reviewed_at, via}` and moves
  `review_state` to `reviewed`. A second verdict fails the condition and changes
  nothing; the item the failed condition returns says why (unknown job, already
  reviewed, never queued), so no read is needed before or after;
- `queue_stats`: the backlog and the age of the oldest pending review, from one Query
  bounded by `Limit` (the sweeper's metrics, the dashboard's Overview);
- `authorize`: moderators only, from the JWT claims API Gateway passes on;
  `authorize_verdict`: never on one's own upload (403 `own_upload`), checked before the
  verdict write from the job's owner (one GetItem of `user_id`, which never changes).
  A verdict is reused for every identical upload, so a moderator deciding their own
  image would decide it for everyone. The queue marks such jobs (`own_upload`) rather
  than hiding them: pages keep their size and the backlog stays what it is.

The API's review function and the dashboard's Review page both act through these
functions; the dashboard records the operator's AWS identity as the reviewer.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common import jobs, verdicts
from common.contract import (
    GROUPS_CLAIM,
    REVIEW_INDEX,
    VERDICTS,
    Decision,
    JobAttr,
    ReviewField,
    ReviewState,
    Status,
)
from common.timeutil import iso, parse_iso

MAX_NOTE_CHARS = 2000
DEFAULT_PAGE = 25
MAX_PAGE = 100
# The sweeper's backlog figure reads at most this many index entries (one Query page):
# above it the metric says "at least", and the alarm is on the oldest age, which is exact.
BACKLOG_CAP = 200
# Who recorded a verdict: a moderator through the API, or an operator on the dashboard.
VIA_API = "api"
VIA_DASHBOARD = "dashboard"
_MAX_CURSOR_CHARS = 512
_VERDICT_FIELDS = {ReviewField.DECISION, ReviewField.NOTE}


class Refused(Exception):
    """A review request that is refused; nothing was written. Maps to an HTTP error."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


# --- who may review --------------------------------------------------------------------


def parse_groups(value: Any) -> frozenset[str]:
    """The groups in a `cognito:groups` claim, in the shape API Gateway passes it on.

    The token carries a JSON array; an HTTP API's JWT authorizer hands every claim to
    Lambda (payload 2.0, `requestContext.authorizer.jwt.claims`) as a string, an array
    as its members in brackets separated by spaces: `"[moderators admins]"`. Cognito
    group names cannot contain whitespace, so splitting on it is exact. A list (a direct
    invocation) is taken as it is. Membership is by whole name: `moderators-prod` is not
    `moderators`.
    """
    if isinstance(value, (list, tuple, set, frozenset)):
        return frozenset(str(v) for v in value if str(v))
    if not isinstance(value, str):
        return frozenset()
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return frozenset(text.split())


def claims_of(event: Mapping[str, Any]) -> dict[str, Any]:
    context = event.get("requestContext") or {}
    authorizer = context.get("authorizer") or {}
    claims = (authorizer.get("jwt") or {}).get("claims") or {}
    return dict(claims) if isinstance(claims, Mapping) else {}


def authorize(claims: Mapping[str, Any], moderator_group: str) -> str:
    """The reviewer (the token's `sub`) if the claims are a moderator's; else Refused.

    No `sub` is 401 (the authorizer lets no such request through; this is the second
    lock). A signed-in user outside `moderator_group` is 403.
    """
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise Refused(401, "unauthorized", "a signed-in user is required")
    if moderator_group not in parse_groups(claims.get(GROUPS_CLAIM)):
        raise Refused(403, "forbidden", "reviewing is for the stack's moderators")
    return sub


OWN_UPLOAD = "own_upload"


def is_own_upload(job: Mapping[str, Any], identities: Iterable[str]) -> bool:
    """Whether the job was uploaded by the person acting (any of their `identities`)."""
    owner = job.get(JobAttr.USER_ID)
    return isinstance(owner, str) and bool(owner) and owner in set(identities)


def owner_of(ddb: Any, table: str, job_id: str) -> str | None:
    """The job's uploader (`user_id`, set at creation and never changed), or None."""
    out = ddb.get_item(
        TableName=table,
        Key={JobAttr.JOB_ID: {"S": job_id}},
        ProjectionExpression=str(JobAttr.USER_ID),
    )
    owner = (out.get("Item") or {}).get(JobAttr.USER_ID, {}).get("S")
    return owner if isinstance(owner, str) else None


def authorize_verdict(ddb: Any, table: str, job_id: str, identities: Iterable[str]) -> None:
    """Refused 403 `own_upload` when the person acting uploaded the job; else nothing.

    `identities`: who is acting (the API: the token's `sub`; the dashboard: the
    operator's identity and the app user ids they sign in to the API with). An unknown
    job passes here and is refused 404 by the verdict write.
    """
    owner = owner_of(ddb, table, job_id)
    if is_own_upload({JobAttr.USER_ID: owner}, identities):
        raise Refused(
            403,
            OWN_UPLOAD,
            f"job {job_id} is your own upload: another moderator must decide it",
        )


def queued(decision: str, queue_warn: bool) -> bool:
    """Whether a job finalized with `decision` waits for a moderator."""
    return decision == Decision.REVIEW or (queue_warn and decision == Decision.WARN)


# --- requests --------------------------------------------------------------------------


@dataclass(frozen=True)
class ModeratorVerdict:
    """A moderator's verdict as the request gives it (`parse_verdict`)."""

    decision: Decision
    note: str = ""


def parse_verdict(body: bytes) -> ModeratorVerdict:
    """`{"decision": "approve" | "reject", "note": "..."}`; anything else is Refused (400)."""
    if not body.strip():
        raise Refused(400, "empty_body", 'send {"decision": "approve" | "reject", "note": "..."}')
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(400, "invalid_json", f"the body is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise Refused(400, "invalid_request", "the body must be a JSON object")
    unknown = sorted(set(doc) - _VERDICT_FIELDS)
    if unknown:
        raise Refused(
            400,
            "invalid_request",
            f"unknown field(s) {', '.join(unknown)}: only decision and note "
            "(the reviewer is the signed-in user)",
        )
    decision = doc.get(ReviewField.DECISION)
    if decision not in VERDICTS:
        raise Refused(
            400,
            "invalid_request",
            f"decision must be one of {', '.join(VERDICTS)}, not {decision!r}",
        )
    note = doc.get("note", "")
    if note is None:
        note = ""
    if not isinstance(note, str):
        raise Refused(400, "invalid_request", "note must be a string")
    if len(note) > MAX_NOTE_CHARS:
        raise Refused(
            400,
            "invalid_request",
            f"note is {len(note)} characters; at most {MAX_NOTE_CHARS}",
        )
    return ModeratorVerdict(Decision(decision), note)


def parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_PAGE
    try:
        limit = int(raw)
    except ValueError as exc:
        raise Refused(400, "invalid_request", f"limit must be an integer, not {raw!r}") from exc
    if not 1 <= limit <= MAX_PAGE:
        raise Refused(400, "invalid_request", f"limit must be 1-{MAX_PAGE}, not {limit}")
    return limit


def encode_cursor(last_key: Mapping[str, Any] | None) -> str | None:
    """The next page's cursor: the index position after the page (job id and time)."""
    if not last_key:
        return None
    doc = {"j": last_key[JobAttr.JOB_ID]["S"], "c": last_key[JobAttr.COMPLETED_AT]["S"]}
    raw = json.dumps(doc, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """The ExclusiveStartKey a cursor names; a cursor that is not one of ours is Refused.

    The cursor is not secret: it only says where in the pending partition to resume.
    """
    if not cursor:
        return None
    refused = Refused(400, "invalid_request", "cursor is not one this API returned")
    if len(cursor) > _MAX_CURSOR_CHARS:
        raise refused
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        doc = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise refused from exc
    if (
        not isinstance(doc, dict)
        or set(doc) != {"j", "c"}
        or not all(isinstance(doc[k], str) and doc[k] for k in ("j", "c"))
    ):
        raise refused
    return {
        JobAttr.JOB_ID: {"S": doc["j"]},
        JobAttr.REVIEW_STATE: {"S": ReviewState.PENDING},
        JobAttr.COMPLETED_AT: {"S": doc["c"]},
    }


# --- the queue -------------------------------------------------------------------------


@dataclass(frozen=True)
class QueuePage:
    items: list[dict[str, Any]]
    cursor: str | None


def _query_partition(
    ddb: Any,
    table: str,
    state: ReviewState,
    *,
    limit: int,
    oldest_first: bool = True,
    start: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "TableName": table,
        "IndexName": REVIEW_INDEX,
        "KeyConditionExpression": f"{JobAttr.REVIEW_STATE} = :state",
        "ExpressionAttributeValues": {":state": {"S": str(state)}},
        "ScanIndexForward": oldest_first,
        "Limit": limit,
        **extra,
    }
    if start is not None:
        kwargs["ExclusiveStartKey"] = start
    out: dict[str, Any] = ddb.query(**kwargs)
    return out


def pending_jobs(
    ddb: Any, table: str, limit: int = DEFAULT_PAGE, cursor: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """Whole records of jobs awaiting review, oldest first, and the next page's cursor.

    One Query on the review index, which projects every attribute: the results of
    every analysis come with it, whatever branches the stack runs.
    """
    page = _query_partition(
        ddb, table, ReviewState.PENDING, limit=limit, start=decode_cursor(cursor)
    )
    records = [jobs.deserialize(raw) or {} for raw in page.get("Items", [])]
    return records, encode_cursor(page.get("LastEvaluatedKey"))


def list_queue(
    ddb: Any,
    table: str,
    now: datetime,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
    image_url: Callable[[str], str] | None = None,
    reviewer: str | None = None,
) -> QueuePage:
    """One page of the queue as the API shows it (`queue_item`, plus `image_url`); the
    reviewer's own uploads are marked `own_upload`."""
    records, next_cursor = pending_jobs(ddb, table, limit, cursor)
    items = []
    for job in records:
        item = queue_item(job, now, (reviewer,) if reviewer else ())
        if image_url is not None and job.get(JobAttr.IMAGE_KEY):
            item["image_url"] = image_url(str(job[JobAttr.IMAGE_KEY]))
        items.append(item)
    return QueuePage(items, next_cursor)


def recent_verdicts(ddb: Any, table: str, limit: int = 50) -> list[dict[str, Any]]:
    """The most recently decided reviewed jobs (newest `completed_at` first), for the audit list."""
    page = _query_partition(ddb, table, ReviewState.REVIEWED, limit=limit, oldest_first=False)
    return [jobs.deserialize(raw) or {} for raw in page.get("Items", [])]


def _age_seconds(job: Mapping[str, Any], now: datetime) -> float | None:
    completed = job.get(JobAttr.COMPLETED_AT)
    if not isinstance(completed, str):
        return None
    try:
        return round(max(0.0, (now - parse_iso(completed)).total_seconds()), 3)
    except ValueError:
        return None


def recorded_results(job: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every analysis result on the job (`<branch>_result` attributes), by branch name."""
    return {
        name.removesuffix("_result"): value
        for name, value in job.items()
        if name.endswith("_result") and isinstance(value, dict)
    }


def categories_and_scores(job: Mapping[str, Any]) -> tuple[list[str], dict[str, float]]:
    """What the analyses saw, read generically from each result so new branches show too.

    Categories: each label's top-level category and name, each signal's category, each
    named category. Scores (`<branch>:<name>`): label confidences, named category scores and
    the result's own `scores`.
    """
    categories: dict[str, None] = {}
    scores: dict[str, float] = {}

    def score(key: str, value: Any) -> None:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            scores[key] = float(value)

    for branch, result in sorted(recorded_results(job).items()):
        for lab in result.get("labels") or []:
            if isinstance(lab, dict) and lab.get("name"):
                for name in (lab.get("top_level"), lab.get("name")):
                    if isinstance(name, str) and name:
                        categories.setdefault(name)
                score(f"{branch}:{lab['name']}", lab.get("confidence"))
        for sig in result.get("signals") or []:
            if isinstance(sig, dict) and isinstance(sig.get("category"), str):
                categories.setdefault(sig["category"])
                score(f"{branch}:{sig['category']}", sig.get("score"))
        for cat in result.get("categories") or []:  # not a job attribute: a result's
            if isinstance(cat, dict) and isinstance(cat.get("category"), str):
                categories.setdefault(cat["category"])
                score(f"{branch}:{cat['category']}", cat.get("score"))
            elif isinstance(cat, str):
                categories.setdefault(cat)
        own = result.get("scores")
        if isinstance(own, dict):
            for name, value in own.items():
                score(f"{branch}:{name}", value)
    return list(categories), scores


def queue_item(
    job: Mapping[str, Any], now: datetime, identities: Iterable[str] = ()
) -> dict[str, Any]:
    """What a moderator needs to see of one queued job, without the record's internals;
    `own_upload` when one of `identities` (the person looking) uploaded it."""
    categories, scores = categories_and_scores(job)
    return {
        JobAttr.JOB_ID: job.get(JobAttr.JOB_ID),
        JobAttr.USER_ID: job.get(JobAttr.USER_ID),
        JobAttr.CREATED_AT: job.get(JobAttr.CREATED_AT),
        JobAttr.COMPLETED_AT: job.get(JobAttr.COMPLETED_AT),
        "age_seconds": _age_seconds(job, now),
        JobAttr.DECISION: job.get(JobAttr.DECISION),
        JobAttr.REASONS: list(job.get(JobAttr.REASONS) or []),
        "categories": categories,  # not a job attribute: the results' category names
        "scores": scores,
        "text": _text_read(job),
        JobAttr.IMAGE_KEY: job.get(JobAttr.IMAGE_KEY),
        JobAttr.CONTENT_TYPE: job.get(JobAttr.CONTENT_TYPE),
        "own_upload": is_own_upload(job, identities),
    }


def _text_read(job: Mapping[str, Any]) -> str | None:
    """The text the OCR branch read (already truncated by it), so a reviewer sees why."""
    text = (job.get(JobAttr.TEXT_RESULT) or {}).get("text")
    return text if isinstance(text, str) and text else None


@dataclass(frozen=True)
class QueueStats:
    backlog: int
    at_least: bool  # the read stopped (its cap, or 1 MB) before the end: maybe more
    oldest_age_seconds: float | None
    oldest_job_id: str | None
    consumed_read_units: float | None


def queue_stats(ddb: Any, table: str, now: datetime, cap: int = BACKLOG_CAP) -> QueueStats:
    """Backlog and oldest age from one Query of at most `cap` index entries.

    Oldest first, so the first entry is the oldest pending review whatever the cap; only
    the key attributes come back. DynamoDB charges a Query by the size of the entries it
    reads (0.5 read units per 4 KB, eventually consistent), so this costs at most `cap`
    entries' worth, about 0.5 units per sweep for a short queue.
    """
    page = _query_partition(
        ddb,
        table,
        ReviewState.PENDING,
        limit=cap,
        ProjectionExpression=f"{JobAttr.JOB_ID}, {JobAttr.COMPLETED_AT}",
        ReturnConsumedCapacity="TOTAL",
    )
    items = [jobs.deserialize(raw) or {} for raw in page.get("Items", [])]
    consumed = (page.get("ConsumedCapacity") or {}).get("CapacityUnits")
    oldest = items[0] if items else None
    return QueueStats(
        backlog=len(items),
        # More may wait: the cap was reached, or the page stopped at DynamoDB's 1 MB.
        at_least=bool(page.get("LastEvaluatedKey")),
        oldest_age_seconds=_age_seconds(oldest, now) if oldest else None,
        oldest_job_id=oldest.get(JobAttr.JOB_ID) if oldest else None,
        consumed_read_units=float(consumed) if isinstance(consumed, (int, float)) else None,
    )


# --- the verdict -----------------------------------------------------------------------


def record_verdict(
    ddb: Any,
    table: str,
    job_id: str,
    verdict: ModeratorVerdict,
    reviewer: str,
    now: datetime,
    via: str = VIA_API,
    verdict_store: tuple[str, int] | None = None,
) -> dict[str, Any]:
    """Record `verdict` by `reviewer`: one conditional UpdateItem; returns the job after it.

    With `verdict_store` (the verdicts table and its TTL in days: verdict reuse is on),
    the moderator's verdict also becomes the stored verdict for the image's bytes, ahead
    of the rules' one: an identical upload later gets the person's decision.

    Refused 404 for an unknown job, 409 `already_reviewed` for a job a moderator has
    decided already (a race, or a retried request), 409 `not_awaiting_review` for a job
    that never went to review; in each case nothing was written.
    """
    review: dict[str, Any] = {
        ReviewField.DECISION: verdict.decision,
        ReviewField.REVIEWER: reviewer,
        ReviewField.NOTE: verdict.note,
        ReviewField.REVIEWED_AT: iso(now),
        ReviewField.VIA: via,
    }
    won, after = jobs.record_review(
        ddb, table, job_id, verdict.decision, review, now, moderator=reviewer
    )
    if not won:
        raise _why_not(job_id, after)
    job = after or {}
    if verdict_store is not None and job.get(verdicts.KEY):
        table_name, ttl_days = verdict_store
        verdicts.store_moderator(
            ddb, table_name, str(job[verdicts.KEY]), job_id, verdict.decision, now, ttl_days
        )
    return job


def _why_not(job_id: str, job: dict[str, Any] | None) -> Refused:
    """Why a verdict was refused, from the job as the failed condition found it."""
    if job is None:
        return Refused(404, "not_found", "no such job")
    if (
        job.get(JobAttr.REVIEW_STATE) == ReviewState.PENDING
        and job.get(JobAttr.STATUS) == Status.COMPLETE
    ):
        # Still pending and complete: the claim condition is what failed.
        return Refused(
            409,
            "claimed_by_another",
            f"job {job_id} is claimed by another moderator; claim another item "
            "(POST /reviews/claim)",
        )
    if job.get(JobAttr.REVIEW_STATE) == ReviewState.REVIEWED:
        done = job.get(JobAttr.REVIEW) or {}
        return Refused(
            409,
            "already_reviewed",
            f"job {job_id} was already reviewed: {done.get(ReviewField.DECISION)} at "
            f"{done.get('reviewed_at')}; nothing was changed",
        )
    return Refused(
        409,
        "not_awaiting_review",
        f"job {job_id} is not awaiting review (status {job.get(JobAttr.STATUS)}, "
        f"decision {job.get(JobAttr.DECISION)})",
    )
