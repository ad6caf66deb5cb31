"""QA: a share of decisions is decided again, blind, by another moderator.

`moderation:review.qaSampleRate` (0-1) picks jobs by a hash of their id (`sampled`), so
every retry of the same step, and every function, agrees on whether a job is sampled.
Two kinds of decision are sampled: the rules' automatic ones (by the function whose
finalize write won, right after it) and moderators' verdicts (by the review function,
right after the verdict). `jobs.queue_for_qa` puts the job in the QA queue (the QA
index's `pending` partition) at most once, with what is being checked: `source`
(`rules` or `moderator`), `original` (the decision) and `original_reviewer`.

Moderators claim QA items like any other (`common/claims.py`); the item they see hides
the decision under test and its reasons. `POST /jobs/{job_id}/qa` (`{"decision":
"approve" | "reject", "note"}`) by a moderator who is neither the uploader nor the
original reviewer records the QA decision and whether it agrees (`agrees`): `approve`
agrees with an original `approve` or `warn` (both publish the image), `reject` with
`reject`. One conditional UpdateItem: exactly once per job. The dashboard's calibration
page reads the agreement per category and per moderator (`dashboard/data/calibration.py`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from common import claims, jobs
from common.contract import VERDICTS, Decision, JobAttr, QaField, QaState, WorkQueue
from common.review import MAX_NOTE_CHARS, OWN_UPLOAD, Refused

SOURCE_RULES = "rules"
SOURCE_MODERATOR = "moderator"
# The decisions that publish the image: a QA `approve` agrees with any of them.
PUBLISHED = (Decision.APPROVE, Decision.WARN)


def sampled(job_id: str, rate: float) -> bool:
    """Whether `job_id` is in the QA sample at `rate`: the first 8 bytes of its SHA-256
    as a fraction of 2**64, below the rate. Deterministic, uniform over random ids."""
    if rate <= 0:
        return False
    if rate >= 1:
        return True
    digest = hashlib.sha256(job_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def agrees(original: str, decision: str) -> bool:
    if decision == Decision.APPROVE:
        return original in PUBLISHED
    return original == decision


def sample_automatic(
    ddb: Any, table: str, job_id: str, decision: str, rate: float, now: datetime
) -> bool:
    """After the rules decided a job without a person: into QA if it is sampled.
    Decisions waiting for a moderator are sampled when the verdict is given instead."""
    if decision == Decision.REVIEW or not sampled(job_id, rate):
        return False
    won, _ = jobs.queue_for_qa(
        ddb, table, job_id, {"source": SOURCE_RULES, "original": decision}, now
    )
    return won


def sample_verdict(
    ddb: Any, table: str, job_id: str, decision: str, reviewer: str, rate: float, now: datetime
) -> bool:
    """After a moderator's verdict: into QA if the job is sampled."""
    if not sampled(job_id, rate):
        return False
    sample = {"source": SOURCE_MODERATOR, "original": decision, "original_reviewer": reviewer}
    won, _ = jobs.queue_for_qa(ddb, table, job_id, sample, now)
    return won


def parse_decision(body: bytes) -> tuple[Decision, str]:
    """`{"decision": "approve" | "reject", "note": "..."}`."""
    doc = claims.json_object(body, {"decision", "note"}, '{"decision": "approve" | "reject"}')
    decision = doc.get(JobAttr.DECISION)
    if decision not in VERDICTS:
        raise Refused(
            400,
            "invalid_request",
            f"decision must be one of {', '.join(VERDICTS)}, not {decision!r}",
        )
    note = doc.get("note") or ""
    if not isinstance(note, str) or len(note) > MAX_NOTE_CHARS:
        raise Refused(
            400, "invalid_request", f"note must be a string of at most {MAX_NOTE_CHARS} characters"
        )
    return Decision(decision), note


def _refusal(
    job: Mapping[str, Any] | None, job_id: str, moderator: str, now: datetime
) -> Refused | None:
    if job is None:
        return Refused(404, "not_found", "no such job")
    state = job.get(QaField.STATE)
    if state == QaState.DECIDED:
        return Refused(409, "qa_decided", f"job {job_id} was checked already")
    if state != QaState.PENDING:
        return Refused(409, "not_in_qa", f"job {job_id} is not in the QA queue")
    if job.get(JobAttr.USER_ID) == moderator:
        return Refused(403, OWN_UPLOAD, f"job {job_id} is your own upload")
    if (job.get(QaField.QA) or {}).get("original_reviewer") == moderator:
        return Refused(403, "own_review", f"you decided job {job_id}: another moderator checks it")
    held = claims.holder(job, WorkQueue.QA, now)
    if held is not None and held != moderator:
        return claims.claimed_by_another(job_id, WorkQueue.QA)
    return None


def decide(
    ddb: Any, table: str, job_id: str, moderator: str, decision: Decision, note: str, now: datetime
) -> dict[str, Any]:
    """Record the blind QA decision once; returns what the moderator may see afterwards:
    their decision and whether it agreed (the original is then no secret)."""
    job = jobs.get_job(ddb, table, job_id, consistent=True)
    refused = _refusal(job, job_id, moderator, now)
    if refused is not None:
        raise refused
    assert job is not None
    original = str((job.get(QaField.QA) or {}).get("original"))
    decided = {JobAttr.DECISION: decision, "note": note, "agrees": agrees(original, decision)}
    won, item = jobs.decide_qa(ddb, table, job_id, moderator, decided, now)
    if not won:
        raise _refusal(item, job_id, moderator, now) or Refused(
            409, "qa_decided", f"job {job_id} changed meanwhile; read it again"
        )
    return item or {}
