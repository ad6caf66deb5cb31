"""Appeals: a job's owner asks for another look; a moderator upholds or overturns.

`POST /jobs/{job_id}/appeal` (`{"message"}`, at most MAX_MESSAGE_CHARS) by the job's owner,
once per job, for a `reject` or `warn` from the rules or any moderator's verdict, within
`moderation:appeals.windowDays` of that decision: one conditional UpdateItem
(`jobs.file_appeal`) puts the job in the appeal queue (the appeal index's `pending`
partition), which moderators claim from like the review queue (`common/claims.py`).

`POST /jobs/{job_id}/appeal/decision` (`{"outcome": "uphold" | "overturn", "note"}`) by a
moderator who is neither the uploader nor the job's reviewer: one conditional UpdateItem
(`jobs.decide_appeal`), only while the appeal is pending, so moderators racing on it
decide it exactly once. An overturn flips the decision (`reject`/`warn` -> `approve`,
a verdict to its opposite) and, with verdict reuse, becomes the stored verdict for the
image's bytes. The table's stream then carries one record of the decision, from which
the notifier sends one `appeal_decided` notification. The owner's `GET /jobs/{job_id}`
shows the appeal's state and outcome, not who decided it nor their note
(`disclosure.owner_appeal`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from common import claims, jobs, verdicts
from common.contract import (
    AppealField,
    AppealOutcome,
    AppealState,
    Decision,
    JobAttr,
    ReviewState,
    Status,
    WorkQueue,
)
from common.review import MAX_NOTE_CHARS, OWN_UPLOAD, Refused
from common.timeutil import iso, parse_iso

MAX_MESSAGE_CHARS = 1000
DEFAULT_WINDOW_DAYS = 14
# Decisions of the rules an owner may appeal (a verdict of a moderator always may be).
APPEALABLE = (Decision.REJECT, Decision.WARN)


def _text(doc: Mapping[str, Any], name: str, limit: int, required: bool) -> str:
    value = doc.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise Refused(400, "invalid_request", f"{name} must be a non-empty string")
    if len(value) > limit:
        raise Refused(400, "invalid_request", f"{name} is {len(value)} characters; at most {limit}")
    return value


def parse_appeal(body: bytes) -> str:
    """`{"message": "..."}`: why the owner asks for another look (1-1,000 characters)."""
    doc = claims.json_object(body, {"message"}, '{"message": "..."}')
    return _text(doc, "message", MAX_MESSAGE_CHARS, required=True)


def parse_decision(body: bytes) -> tuple[AppealOutcome, str]:
    """`{"outcome": "uphold" | "overturn", "note": "..."}`."""
    doc = claims.json_object(body, {"outcome", "note"}, '{"outcome": "uphold" | "overturn"}')
    outcome = doc.get("outcome")
    if outcome not in tuple(AppealOutcome):
        raise Refused(
            400,
            "invalid_request",
            f"outcome must be one of {', '.join(AppealOutcome)}, not {outcome!r}",
        )
    return AppealOutcome(outcome), _text(doc, "note", MAX_NOTE_CHARS, required=False)


def decided_at(job: Mapping[str, Any]) -> str | None:
    """When the appealed decision was made: the verdict's time, or the rules'."""
    if job.get(JobAttr.REVIEW_STATE) == ReviewState.REVIEWED:
        return (job.get(JobAttr.REVIEW) or {}).get("reviewed_at")
    value = job.get(JobAttr.COMPLETED_AT)
    return value if isinstance(value, str) else None


def appealable(job: Mapping[str, Any]) -> bool:
    if job.get(JobAttr.STATUS) != Status.COMPLETE:
        return False
    state = job.get(JobAttr.REVIEW_STATE)
    if state == ReviewState.REVIEWED:
        return True
    return state is None and job.get(JobAttr.DECISION) in APPEALABLE


def _refusal(
    job: Mapping[str, Any] | None, job_id: str, owner: str, window_start: datetime, window_days: int
) -> Refused | None:
    """Why the owner may not appeal the job as it is; None if they may."""
    if job is None or job.get(JobAttr.USER_ID) != owner:
        return Refused(404, "not_found", "no such job")
    if job.get(AppealField.STATE):
        return Refused(409, "already_appealed", f"job {job_id} has been appealed already")
    if not appealable(job):
        return Refused(
            409,
            "not_appealable",
            f"job {job_id} cannot be appealed: only a rejected or warned image, or one a "
            "moderator decided, can be",
        )
    when = decided_at(job)
    if when is None or parse_iso(when) < window_start:
        return Refused(
            409,
            "appeal_window_closed",
            f"job {job_id} was decided at {when}: appeals are accepted for {window_days} "
            "days after the decision",
        )
    return None


def file(
    ddb: Any, table: str, job_id: str, owner: str, message: str, now: datetime, window_days: int
) -> dict[str, Any]:
    """File the owner's appeal; returns what the owner sees of it. Refused otherwise."""
    window_start = now - timedelta(days=window_days)
    job = jobs.get_job(ddb, table, job_id, consistent=True)
    refused = _refusal(job, job_id, owner, window_start, window_days)
    if refused is not None:
        raise refused
    assert job is not None
    won, _ = jobs.file_appeal(
        ddb, table, job_id, owner, message, str(job.get(JobAttr.DECISION)), now, window_start
    )
    if not won:
        after = jobs.get_job(ddb, table, job_id, consistent=True)
        raise _refusal(after, job_id, owner, window_start, window_days) or Refused(
            409, "already_appealed", f"job {job_id} changed meanwhile; read it again"
        )
    return {JobAttr.JOB_ID: job_id, "state": AppealState.PENDING, "appealed_at": iso(now)}


def overturned(decision: str) -> Decision:
    """The decision an overturn gives: a reject or warn becomes approve, approve reject."""
    return Decision.REJECT if decision == Decision.APPROVE else Decision.APPROVE


def _decision_refusal(
    job: Mapping[str, Any] | None, job_id: str, moderator: str, now: datetime
) -> Refused | None:
    """Why this moderator may not decide the appeal now, from the job; None if they may."""
    if job is None:
        return Refused(404, "not_found", "no such job")
    state = job.get(AppealField.STATE)
    if state == AppealState.DECIDED:
        outcome = (job.get(AppealField.APPEAL) or {}).get("outcome")
        return Refused(
            409, "appeal_decided", f"the appeal of job {job_id} was decided already ({outcome})"
        )
    if state != AppealState.PENDING:
        return Refused(409, "no_appeal", f"job {job_id} has no pending appeal")
    if job.get(JobAttr.USER_ID) == moderator:
        return Refused(
            403,
            OWN_UPLOAD,
            f"job {job_id} is your own upload: another moderator must decide its appeal",
        )
    if (job.get(JobAttr.REVIEW) or {}).get("reviewer") == moderator:
        return Refused(
            403,
            "own_review",
            f"you reviewed job {job_id}: another moderator must decide its appeal",
        )
    held = claims.holder(job, WorkQueue.APPEAL, now)
    if held is not None and held != moderator:
        return claims.claimed_by_another(job_id, WorkQueue.APPEAL)
    return None


def decide(
    ddb: Any,
    table: str,
    job_id: str,
    moderator: str,
    outcome: AppealOutcome,
    note: str,
    now: datetime,
    verdict_store: tuple[str, int] | None = None,
) -> dict[str, Any]:
    """Decide the pending appeal once; returns the job after it. Refused otherwise."""
    job = jobs.get_job(ddb, table, job_id, consistent=True)
    refused = _decision_refusal(job, job_id, moderator, now)
    if refused is not None:
        raise refused
    assert job is not None
    before = str(job.get(JobAttr.DECISION))
    after = overturned(before) if outcome == AppealOutcome.OVERTURN else before
    decided = {"outcome": outcome, "note": note}
    won, item = jobs.decide_appeal(ddb, table, job_id, moderator, decided, before, after, now)
    if not won:
        raise _decision_refusal(item, job_id, moderator, now) or Refused(
            409, "appeal_decided", f"the appeal of job {job_id} changed meanwhile; read it again"
        )
    done = item or {}
    if outcome == AppealOutcome.OVERTURN and verdict_store is not None and done.get(verdicts.KEY):
        table_name, ttl_days = verdict_store
        verdicts.store_moderator(
            ddb, table_name, str(done[verdicts.KEY]), job_id, after, now, ttl_days
        )
    return done
