"""Terminal jobs from the jobs table's stream -> gzip JSON Lines objects in the results bucket.

Layout: `jobs/dt=YYYY-MM-DD/part-<digest>.jsonl.gz`, `dt` being the UTC date of the
job's `completed_at`. One object per (stream batch, date), not one per job: at 100
records a batch that is about 1/100 of the PUTs (S3 charges $0.005 per 1,000 PUTs, so
a million jobs cost $5 as single objects and cents as batches) and 1/100 of the files
Spark has to open. Format: JSON Lines compressed with gzip, written with the standard
library; Parquet would need pyarrow (over 100 MB) in the function's package for files
Spark reads in one pass anyway.

Idempotent per batch: the key is a digest of the batch's stream event ids and the
bytes are deterministic (sorted keys, gzip mtime 0), so Lambda redelivering the same
batch overwrites the same object with the same bytes. A batch that is *re-cut*
(bisected after an error, or resumed after a partial failure) has another digest and
may repeat rows of an earlier object; the report keeps one row per `job_id` (the one
with the latest `updated_at`, then the highest stream sequence number), so repeats
never count twice. The exporter writes every good record of a batch even when
another record fails, so a batch Lambda later gives up on (retries exhausted) has
still exported everything it could.

One row per job, written when it became terminal (a moderator's later verdict is not
exported: the row keeps the rules' decision). Rows carry the job's contract fields
plus what only the stream record knows:
- `claimed_at`: when the dispatcher last claimed the job, from the old image's
  dispatch lease (the lease is the claim time + the dispatcher timeout, in whole
  seconds, so this is second-precision);
- `analyzed_at`: when the last analyzer reported (the old image's `updated_at` when
  it holds every result the job expected), i.e. the moment before the decision write;
- `stream`: the record's event id and sequence number.

Text read from the image is personal data (e-mail addresses, phone numbers, URLs) and
analytics has no use for it: a row's `text_result` keeps the categories and scores
the text branch found, how many lines it read and its model versions, and drops the
text, the lines and the evidence (`redact_text_result`).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from common import disclosure, jobs
from common.contract import TERMINAL_STATUSES, JobAttr
from common.timeutil import iso, parse_iso

PREFIX = "jobs/"
SCHEMA_VERSION = 1
CONTENT_TYPE = "application/gzip"

# The job's contract fields that go into a row (the TTL and internal lease stay out).
JOB_FIELDS = (
    JobAttr.JOB_ID,
    JobAttr.USER_ID,
    JobAttr.STATUS,
    JobAttr.DECISION,
    JobAttr.REASONS,
    JobAttr.CREATED_AT,
    JobAttr.UPDATED_AT,
    JobAttr.COMPLETED_AT,
    JobAttr.CONTENT_TYPE,
    JobAttr.SIZE_BYTES,
    JobAttr.ATTEMPTS,
    JobAttr.BRANCHES,
    JobAttr.REKOGNITION_RESULT,
    JobAttr.CUSTOM_RESULT,
    JobAttr.TEXT_RESULT,
    JobAttr.CATEGORIES,
)


class MalformedRecord(ValueError):
    """A stream record that cannot become a row; retrying it will not help."""


@dataclass(frozen=True)
class ExportRow:
    job_id: str
    dt: str
    line: str


def export_row(record: dict[str, Any], lease_seconds: int | None = None) -> ExportRow | None:
    """The row for one stream record, or None when the record is not a terminal job.

    Raises MalformedRecord for a record that claims to be a job change but cannot be
    read: no change, an undecodable image, no job id, or no usable completion time.
    """
    if record.get("eventName") not in ("INSERT", "MODIFY"):
        return None  # REMOVE (TTL expiry) and anything else: nothing to export
    change = record.get("dynamodb")
    if not isinstance(change, dict):
        raise MalformedRecord("the record has no `dynamodb` change")
    try:
        new = jobs.deserialize(change.get("NewImage"))
        old = jobs.deserialize(change.get("OldImage")) or {}
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise MalformedRecord(f"the record's image cannot be decoded: {exc}") from exc
    if not new or new.get(JobAttr.STATUS) not in TERMINAL_STATUSES:
        return None
    if old.get(JobAttr.STATUS) in TERMINAL_STATUSES:
        # A later write to a terminal job (a moderator's verdict): the row is the job as
        # it became terminal, with the rules' decision and its stage times, so the report
        # keeps one meaning for `decision` and `review`; verdicts are in the job record.
        return None
    job_id = new.get(JobAttr.JOB_ID)
    if not isinstance(job_id, str) or not job_id:
        raise MalformedRecord("the terminal image has no job_id")
    completed = new.get(JobAttr.COMPLETED_AT) or new.get(JobAttr.UPDATED_AT)
    try:
        completed_at = parse_iso(str(completed))
    except (TypeError, ValueError) as exc:
        raise MalformedRecord(f"job {job_id}: completed_at {completed!r} is not ISO-8601") from exc
    if completed_at.tzinfo is None:
        raise MalformedRecord(f"job {job_id}: completed_at {completed!r} has no time zone")

    row: dict[str, Any] = {k: new.get(k) for k in JOB_FIELDS}
    row[JobAttr.TEXT_RESULT] = redact_text_result(row[JobAttr.TEXT_RESULT])
    row[JobAttr.COMPLETED_AT] = completed
    row["claimed_at"] = _claimed_at(old, lease_seconds)
    # The old image is the last result write when it holds every expected result.
    row["analyzed_at"] = (
        old.get(JobAttr.UPDATED_AT) if old and not jobs.missing_results(old) else None
    )
    row["stream"] = {
        "event_id": record.get("eventID"),
        "sequence_number": change.get("SequenceNumber"),
    }
    row["schema_version"] = SCHEMA_VERSION
    try:
        line = json.dumps(row, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise MalformedRecord(
            f"job {job_id}: the image holds values JSON cannot carry: {exc}"
        ) from exc
    dt = completed_at.astimezone(UTC).date().isoformat()
    return ExportRow(job_id=job_id, dt=dt, line=line)


# What of the text branch's result a row keeps: nothing that was read from the image.
TEXT_RESULT_FIELDS = ("line_count", "truncated", "models", "timings_ms", "error")


def redact_text_result(result: Any) -> dict[str, Any] | None:
    """The text branch's result without the text it read: its signals' categories and
    scores (`disclosure.signal_summary`), line count and model versions."""
    if not isinstance(result, dict):
        return None
    out = {k: result[k] for k in TEXT_RESULT_FIELDS if k in result}
    out["signals"] = disclosure.signal_summary(result.get("signals") or ())
    return out


def _claimed_at(old: dict[str, Any], lease_seconds: int | None) -> str | None:
    lease = old.get(JobAttr.DISPATCH_LEASE)
    if lease_seconds is None or isinstance(lease, bool) or not isinstance(lease, (int, float)):
        return None
    return iso(datetime.fromtimestamp(int(lease) - lease_seconds, UTC))


def batch_digest(records: Sequence[dict[str, Any]]) -> str:
    """A name for this exact batch: the same records in the same order give the same digest."""
    h = hashlib.sha256()
    for rec in records:
        change: dict[str, Any] = rec["dynamodb"] if isinstance(rec.get("dynamodb"), dict) else {}
        ident = rec.get("eventID") or change.get("SequenceNumber")
        if not ident:
            ident = json.dumps(rec, sort_keys=True, default=str)
        h.update(str(ident).encode())
        h.update(b"\n")
    return h.hexdigest()[:32]


def object_key(dt: str, digest: str, prefix: str = PREFIX) -> str:
    return f"{prefix}dt={dt}/part-{digest}.jsonl.gz"


def encode(lines: Iterable[str]) -> bytes:
    """gzip JSON Lines with a fixed header (mtime 0), so equal rows give equal bytes."""
    text = "".join(f"{line}\n" for line in lines)
    return gzip.compress(text.encode(), compresslevel=6, mtime=0)


def decode(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in gzip.decompress(body).decode().splitlines() if line]


def group_rows(rows: Iterable[ExportRow]) -> dict[str, list[ExportRow]]:
    """Rows by date, one per job (the last in stream order), in stream order."""
    by_job: dict[str, ExportRow] = {}
    for row in rows:
        by_job.pop(row.job_id, None)
        by_job[row.job_id] = row
    grouped: dict[str, list[ExportRow]] = {}
    for row in by_job.values():
        grouped.setdefault(row.dt, []).append(row)
    return grouped


def write_rows(
    s3: Any, bucket: str, rows: Iterable[ExportRow], digest: str, prefix: str = PREFIX
) -> dict[str, int]:
    """PUT one object per date; return {key: rows}. Any failed PUT raises (the batch is retried)."""
    written: dict[str, int] = {}
    for dt, group in sorted(group_rows(rows).items()):
        key = object_key(dt, digest, prefix)
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=encode(r.line for r in group),
            ContentType=CONTENT_TYPE,
            Metadata={"rows": str(len(group)), "schema-version": str(SCHEMA_VERSION)},
        )
        written[key] = len(group)
    return written
