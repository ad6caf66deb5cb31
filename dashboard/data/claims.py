"""Claims, appeals and QA for the console: the API's own code, with the console's identity.

Every write goes through `lambdas/common/claims.py`, `appeals.py` and `qa.py` (imported
as the functions import them, `common.*`, so their enums and refusals are the same
objects): a claim is `claims.claim` (the oldest unclaimed items of a queue, one
conditional UpdateItem each), a release `claims.release`, a decision `appeals.decide` or
`qa.decide`. The console differs from the API only in who acts (the signed-in identity,
or the machine's operator) and in that it writes no metrics: the times to claim and to
decide shown on its pages are computed from the jobs' own timestamps (`timings`), which
hold the console's claims and decisions as well as the API's.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common import appeals, claims, jobs, qa
from common.contract import (
    AppealField,
    AppealOutcome,
    ClaimField,
    Decision,
    Output,
    QaField,
    WorkQueue,
)
from common.review import Refused
from common.timeutil import epoch, parse_iso
from lambdas.common.contract import JobAttr

DEFAULT_CLAIM_MINUTES = 15  # moderation:review.claimMinutes' default
MAX_COUNT = claims.MAX_COUNT
# Pending index entries read to find the moderator's own claims (one Query page each).
MINE_PAGE = 100
MINE_PAGES = 5


@dataclass(frozen=True)
class Done:
    """What a console action did: ok, the sentence to show, the refusal's code, the job."""

    ok: bool
    message: str
    code: str | None = None
    job: dict[str, Any] | None = None


def refused(exc: Refused) -> Done:
    """A refusal as the page shows it: the API's message, and for a claim held by someone
    else the plain instruction (409 `claimed_by_another`)."""
    if exc.code == "claimed_by_another":
        return Done(
            False,
            f"Refused: {exc.message}. Nothing was recorded; this job is another moderator's "
            "now. Claim the next one.",
            exc.code,
        )
    return Done(False, f"Refused: {exc.message}", exc.code)


def claim_minutes(outputs: Mapping[str, Any]) -> int:
    """How long a claim lasts: the stack's `review_claim_minutes` output (older stacks:
    the setting's default)."""
    value = outputs.get(Output.REVIEW_CLAIM_MINUTES)
    return int(value) if value else DEFAULT_CLAIM_MINUTES


def claim(
    ddb: Any,
    table: str,
    queue: WorkQueue,
    moderator: str,
    now: datetime,
    minutes: int,
    count: int = 1,
) -> list[claims.Claimed]:
    """Claim up to `count` of the oldest items of `queue` the moderator may take."""
    count = max(1, min(int(count), MAX_COUNT))
    got: list[claims.Claimed] = claims.claim(
        ddb, table, WorkQueue(queue), moderator, now, minutes, count
    )
    return got


def release(
    ddb: Any, table: str, job_id: str, queue: WorkQueue, moderator: str, now: datetime
) -> Done:
    try:
        claims.release(ddb, table, job_id, WorkQueue(queue), moderator, now)
    except Refused as exc:
        return refused(exc)
    return Done(True, f"Released {job_id}: it is back in the {queue} queue.")


def waited(job: Mapping[str, Any], queue: WorkQueue, now: datetime) -> float | None:
    """Seconds from the item entering `queue` until `now`."""
    seconds: float | None = claims.waited(job, WorkQueue(queue), now)
    return seconds


def holder(job: Mapping[str, Any], queue: WorkQueue, now: datetime) -> str | None:
    held: str | None = claims.holder(job, WorkQueue(queue), now)
    return held


def seconds_left(job: Mapping[str, Any], queue: WorkQueue, now: datetime) -> int | None:
    """Seconds until the claim on the job in `queue` expires; None without a live claim."""
    until = job.get(WorkQueue(queue).claim_attribute(ClaimField.UNTIL))
    now_s: int = epoch(now)
    if not isinstance(until, int) or until < now_s:
        return None
    return until - now_s


def mine(
    ddb: Any, table: str, queue: WorkQueue, moderator: str, now: datetime
) -> list[dict[str, Any]]:
    """The queue's pending items the moderator holds an unexpired claim on, oldest first
    (whole records: the indexes project every attribute)."""
    queue = WorkQueue(queue)
    names = {
        "#by": queue.claim_attribute(ClaimField.BY),
        "#until": queue.claim_attribute(ClaimField.UNTIL),
    }
    held: list[dict[str, Any]] = claims.pending_matching(
        ddb,
        table,
        queue,
        "#by = :me AND #until >= :epoch",
        names,
        moderator,
        now,
        MINE_PAGE,
        MINE_PAGES,
    )
    return held


def pending(
    ddb: Any, table: str, queue: WorkQueue, now: datetime, limit: int
) -> list[dict[str, Any]]:
    """Up to `limit` pending items of `queue`, oldest first, whoever holds them."""
    q = claims.QUEUES[WorkQueue(queue)]
    page = ddb.query(
        TableName=table,
        IndexName=q.index,
        KeyConditionExpression="#state = :pending",
        ExpressionAttributeNames={"#state": q.state},
        ExpressionAttributeValues={":pending": {"S": "pending"}},
        ScanIndexForward=True,
        Limit=limit,
    )
    return [jobs.deserialize(raw) or {} for raw in page.get("Items", [])]


def view(job: Mapping[str, Any], queue: WorkQueue, now: datetime, moderator: str) -> dict[str, Any]:
    """One claimed item as the API's claim shows it (`claims.claim_view`): in QA without
    the decision under test or its reasons; in the appeal queue with the appeal."""
    queue = WorkQueue(queue)
    waited = claims.waited(job, queue, now)
    item: dict[str, Any] = claims.claim_view(
        queue, claims.Claimed(dict(job), waited), now, moderator
    )
    return item


# --- decisions ---------------------------------------------------------------------------------


def decide_appeal(
    ddb: Any,
    table: str,
    job_id: str,
    moderator: str,
    outcome: str,
    note: str,
    now: datetime,
    verdict_store: tuple[str, int] | None = None,
) -> Done:
    """`appeals.decide` as the API runs it; a refusal (409 `claimed_by_another`, ...) as Done."""
    if outcome not in tuple(AppealOutcome):
        return Done(False, f"outcome must be one of {', '.join(AppealOutcome)}")
    if len(note) > appeals.MAX_NOTE_CHARS:
        return Done(False, f"the note is longer than {appeals.MAX_NOTE_CHARS} characters")
    try:
        job = appeals.decide(
            ddb,
            table,
            job_id,
            moderator,
            AppealOutcome(outcome),
            note,
            now,
            verdict_store=verdict_store,
        )
    except Refused as exc:
        return refused(exc)
    return Done(
        True,
        f"Appeal of {job_id}: {outcome} recorded by {moderator}; the decision is now "
        f"{job.get(JobAttr.DECISION)}.",
        job=job,
    )


def decide_qa(
    ddb: Any, table: str, job_id: str, moderator: str, decision: str, note: str, now: datetime
) -> Done:
    """`qa.decide` as the API runs it; afterwards the original is no secret."""
    if decision not in (Decision.APPROVE, Decision.REJECT):
        return Done(False, "decision must be approve or reject")
    if len(note) > qa.MAX_NOTE_CHARS:
        return Done(False, f"the note is longer than {qa.MAX_NOTE_CHARS} characters")
    try:
        job = qa.decide(ddb, table, job_id, moderator, Decision(decision), note, now)
    except Refused as exc:
        return refused(exc)
    checked = job.get(QaField.QA) or {}
    agreed = "agrees with" if checked.get("agrees") else "differs from"
    return Done(
        True,
        f"QA of {job_id}: {decision} recorded by {moderator}; it {agreed} the original "
        f"decision ({checked.get('original')}).",
        job=job,
    )


# --- how long items wait and take --------------------------------------------------------------


def _seconds(start: Any, end: Any) -> float | None:
    if not isinstance(start, str) or not isinstance(end, str):
        return None
    try:
        span: float = (parse_iso(end) - parse_iso(start)).total_seconds()
        return max(0.0, span)
    except ValueError:
        return None


def _decided(job: Mapping[str, Any], queue: WorkQueue) -> tuple[str | None, str | None]:
    """When the item of `queue` was decided, and by whom."""
    if queue is WorkQueue.REVIEW:
        done = job.get(JobAttr.REVIEW) or {}
    elif queue is WorkQueue.APPEAL:
        done = {
            "reviewed_at": (job.get(AppealField.APPEAL) or {}).get("decided_at"),
            "reviewer": (job.get(AppealField.APPEAL) or {}).get("decided_by"),
        }
    else:
        qa_doc = job.get(QaField.QA) or {}
        done = {"reviewed_at": qa_doc.get("decided_at"), "reviewer": qa_doc.get("reviewer")}
    at, by = done.get("reviewed_at"), done.get("reviewer")
    return (at if isinstance(at, str) else None, by if isinstance(by, str) else None)


@dataclass(frozen=True)
class Timings:
    """Medians and 90th percentiles over decided items (seconds); None without data."""

    claimed: int  # decided items that had been claimed
    decided: int  # decided items looked at
    claim_median: float | None
    claim_p90: float | None
    decide_median: float | None
    decide_p90: float | None


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def timings(decided: Iterable[Mapping[str, Any]], queue: WorkQueue) -> Timings:
    """Time to claim (entering the queue to the claim) and time to decide (the claim to
    the decision, by the claimant) over `decided` items of `queue`, from the job's own
    timestamps: the same spans as `ReviewTimeToClaimSeconds`/`ReviewTimeToDecideSeconds`."""
    queue = WorkQueue(queue)
    since = claims.QUEUES[queue].since
    to_claim: list[float] = []
    to_decide: list[float] = []
    count = 0
    for job in decided:
        count += 1
        at = job.get(queue.claim_attribute(ClaimField.AT))
        if not isinstance(at, str):
            continue
        waited = _seconds(job.get(since), at)
        if waited is not None:
            to_claim.append(waited)
        decided_at, by = _decided(job, queue)
        took = _seconds(at, decided_at)
        if took is not None and by == job.get(queue.claim_attribute(ClaimField.BY)):
            to_decide.append(took)
    return Timings(
        claimed=len(to_claim),
        decided=count,
        claim_median=statistics.median(to_claim) if to_claim else None,
        claim_p90=_p90(to_claim),
        decide_median=statistics.median(to_decide) if to_decide else None,
        decide_p90=_p90(to_decide),
    )


def decided_items(ddb: Any, table: str, queue: WorkQueue, limit: int) -> list[dict[str, Any]]:
    """The most recently decided items of `queue` (newest first), for `timings`."""
    queue = WorkQueue(queue)
    q = claims.QUEUES[queue]
    state = "reviewed" if queue is WorkQueue.REVIEW else "decided"
    page = ddb.query(
        TableName=table,
        IndexName=q.index,
        KeyConditionExpression="#state = :done",
        ExpressionAttributeNames={"#state": q.state},
        ExpressionAttributeValues={":done": {"S": state}},
        ScanIndexForward=False,
        Limit=limit,
    )
    return [jobs.deserialize(raw) or {} for raw in page.get("Items", [])]
