"""The review queue for the dashboard's Review page, acting through the API's own behaviour.

Every read and write goes through `lambdas/common/review.py`, the code the review
function runs: the queue is the review index's `pending` partition (one Query per page,
whole records, oldest first), a verdict is its one conditional UpdateItem. The page acts
with the operator's own credentials and records the operator as the reviewer: the AWS
caller identity's ARN, or `local:<user>` on the local cloud (where no one signs in).
No one decides their own upload: the operator's identity and the app user ids they
name on the page (their token `sub`s) are checked by the API's own
`authorize_verdict` before the write, and their uploads are marked in the queue.

Results are shown generically (`result_sections`): whatever each analysis stored
(labels, scores, flags, categories, text, boxes) is laid out by its shape, so a branch
added later appears without a change here.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from common import qa
from lambdas.common import review as behaviour
from lambdas.common.contract import VERDICTS, Decision, JobAttr, Output

QUEUE_COLUMNS = [
    "job_id",
    "age_seconds",
    "decision",
    "reasons",
    "categories",
    "completed_at",
    "user_id",
    "own_upload",
]
VERDICT_COLUMNS = [
    "job_id",
    "decision",
    "automatic_decision",
    "reviewer",
    "via",
    "reviewed_at",
    "note",
]
MAX_NOTE_CHARS = behaviour.MAX_NOTE_CHARS
# The largest original the page will show inline (uploads are at most 15 MiB).
MAX_IMAGE_BYTES = 16 * 1024 * 1024


@dataclass
class Queue:
    """Jobs awaiting review, oldest first: their whole records and a table of them."""

    records: list[dict[str, Any]]
    truncated: bool  # more are waiting than were read
    now: datetime
    identities: tuple[str, ...] = ()  # the operator's: their uploads are marked
    table: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        self.table = queue_frame(self.records, self.now, self.identities)

    def own(self, job_id: str) -> bool:
        record = self.record(job_id)
        return record is not None and behaviour.is_own_upload(record, self.identities)

    def record(self, job_id: str) -> dict[str, Any] | None:
        return next((r for r in self.records if r.get(JobAttr.JOB_ID) == job_id), None)


def queue_frame(
    records: list[dict[str, Any]], now: datetime, identities: tuple[str, ...] = ()
) -> pd.DataFrame:
    rows = []
    for job in records:
        item = behaviour.queue_item(job, now, identities)
        rows.append(
            {
                **{k: item.get(k) for k in QUEUE_COLUMNS},
                JobAttr.REASONS: "; ".join(item[JobAttr.REASONS]),
                JobAttr.CATEGORIES: ", ".join(item[JobAttr.CATEGORIES]),
            }
        )
    return pd.DataFrame(rows, columns=QUEUE_COLUMNS)


def read_queue(
    ddb: Any, table: str, now: datetime, limit: int = 200, identities: tuple[str, ...] = ()
) -> Queue:
    """Up to `limit` jobs awaiting review, oldest first (pages of the API's page size);
    those uploaded by one of `identities` (the operator) are marked `own_upload`."""
    records: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(records) < limit:
        page, cursor = behaviour.pending_jobs(
            ddb, table, min(behaviour.MAX_PAGE, limit - len(records)), cursor
        )
        records += page
        if cursor is None:
            break
    return Queue(records, truncated=cursor is not None, now=now, identities=identities)


def stats(ddb: Any, table: str, now: datetime) -> behaviour.QueueStats:
    """Backlog and oldest wait: the sweeper's Query, run now."""
    return behaviour.queue_stats(ddb, table, now)


def recent_verdicts(ddb: Any, table: str, limit: int = 50) -> pd.DataFrame:
    """The audit list: reviewed jobs, most recently decided first, with who and why."""
    rows = []
    for job in behaviour.recent_verdicts(ddb, table, limit):
        verdict = job.get(JobAttr.REVIEW) or {}
        rows.append(
            {
                JobAttr.JOB_ID: job.get(JobAttr.JOB_ID),
                JobAttr.DECISION: job.get(JobAttr.DECISION),
                JobAttr.AUTOMATIC_DECISION: job.get(JobAttr.AUTOMATIC_DECISION),
                "reviewer": verdict.get("reviewer"),
                "via": verdict.get("via"),
                "reviewed_at": verdict.get("reviewed_at"),
                "note": verdict.get("note"),
            }
        )
    frame = pd.DataFrame(rows, columns=VERDICT_COLUMNS)
    return frame.sort_values("reviewed_at", ascending=False, ignore_index=True)


def image_bytes(s3: Any, bucket: str, key: str) -> bytes:
    """The original, read through the target's own S3 client (no URL leaves the page)."""
    head = s3.head_object(Bucket=bucket, Key=key)
    if int(head.get("ContentLength", 0)) > MAX_IMAGE_BYTES:
        raise ValueError(f"{key} is larger than {MAX_IMAGE_BYTES} bytes")
    data: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return data


def operator(sts: Any | None, local: bool) -> str:
    """Who is acting: the caller identity's ARN on AWS; `local:<user>` on the local cloud."""
    if local or sts is None:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no login name in this environment
            user = "operator"
        return f"local:{user}"
    arn: str = sts.get_caller_identity()["Arn"]
    return arn


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str
    job: dict[str, Any] | None = None
    code: str | None = None  # the API's error code of a refusal (`claimed_by_another`, ...)


def operator_identities(operator_id: str, app_user_ids: str = "") -> tuple[str, ...]:
    """Who the operator is: their dashboard identity and the app user ids (token `sub`s,
    separated by commas or spaces) they upload with."""
    named = [u for u in app_user_ids.replace(",", " ").split() if u]
    return tuple(dict.fromkeys([operator_id, *named]))


def qa_rate(outputs: Mapping[str, Any]) -> float:
    """moderation:review.qaSampleRate from the stack's outputs (0 on older stacks)."""
    return float(outputs.get(Output.REVIEW_QA_SAMPLE_RATE) or 0.0)


def verdict_store(outputs: dict[str, Any]) -> tuple[str, int] | None:
    """The verdicts table and TTL from the stack outputs; None without verdict reuse."""
    table = outputs.get(Output.VERDICTS_TABLE)
    if not table:
        return None
    return str(table), int(outputs.get(Output.VERDICT_TTL_DAYS) or 30)


def submit(
    ddb: Any,
    table: str,
    job_id: str,
    decision: str,
    note: str,
    reviewer: str,
    now: datetime,
    verdict_store: tuple[str, int] | None = None,
    identities: tuple[str, ...] = (),
    qa_rate: float = 0.0,
) -> Outcome:
    """Record a verdict as the API does (same checks, same single conditional write; with
    `verdict_store`, the verdict is stored for reuse as the API stores it). The reviewer
    and `identities` (the operator's app user ids) may not have uploaded the job. As
    after an API verdict, a share `qa_rate` of verdicts goes to the QA queue
    (`qa.sample_verdict`, the stack's `review_qa_sample_rate` output)."""
    if decision not in VERDICTS:
        return Outcome(False, f"decision must be one of {', '.join(VERDICTS)}")
    if len(note) > MAX_NOTE_CHARS:
        return Outcome(False, f"the note is longer than {MAX_NOTE_CHARS} characters")
    verdict = behaviour.ModeratorVerdict(Decision(decision), note)
    try:
        behaviour.authorize_verdict(ddb, table, job_id, (reviewer, *identities))
        job = behaviour.record_verdict(
            ddb,
            table,
            job_id,
            verdict,
            reviewer,
            now,
            behaviour.VIA_DASHBOARD,
            verdict_store=verdict_store,
        )
    except behaviour.Refused as refused:
        if refused.code == "claimed_by_another":
            return Outcome(
                False,
                f"Refused (409 claimed_by_another): {refused.message}. Nothing was recorded.",
                code=refused.code,
            )
        return Outcome(False, refused.message, code=refused.code)
    qa.sample_verdict(ddb, table, job_id, decision, reviewer, qa_rate, now)
    return Outcome(True, f"{decision} recorded for {job_id} by {reviewer}", job)


# --- what the analyses saw ------------------------------------------------------------------


@dataclass
class Section:
    """One analysis's result, laid out by shape."""

    branch: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def result_sections(job: Mapping[str, Any]) -> list[Section]:
    """Each `<branch>_result` of the job: lists of records as tables, `scores` as numbers,
    strings as text (OCR text shows here), the rest as values."""
    sections = []
    for branch, result in sorted(behaviour.recorded_results(job).items()):
        section = Section(branch)
        for key, value in result.items():
            if key == "scores" and isinstance(value, dict):
                section.scores.update({k: float(v) for k, v in value.items() if _is_number(v)})
            elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                section.tables[key] = pd.DataFrame(value)
            elif isinstance(value, str) and (len(value) > 40 or "text" in key):
                section.texts[key] = value
            else:
                section.values[key] = value
        sections.append(section)
    return sections
