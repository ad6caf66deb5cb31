"""One job's timeline: its record, every invocation that touched it, every log line.

Handler lines are Powertools JSON carrying `"job_id"` and `function_request_id`; the
platform's START/END/REPORT lines carry only the RequestId. So the trace searches each
log group for the job id, collects the request ids of the lines it finds, then reads
each invocation's own lines by request id. A dispatcher or notifier invocation that
handled a batch appears once, with a note of how many other jobs it carried.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from dashboard.data.jobs import get_job
from dashboard.data.logs import filter_events, parse_json_line, parse_report, platform_kind
from lambdas.common.contract import JobAttr

LINE_COLUMNS = [
    "time",
    "group",
    "function",
    "request_id",
    "kind",
    "level",
    "message",
    "about_job",
    "raw",
]
INVOCATION_COLUMNS = [
    "function",
    "request_id",
    "start",
    "end",
    "duration_ms",
    "billed_ms",
    "init_ms",
    "cold_start",
    "max_memory_mb",
    "memory_mb",
    "job_lines",
    "other_jobs",
    "error",
    "gap_before_ms",
]


@dataclass
class JobTrace:
    job_id: str
    job: dict[str, Any] | None
    lines: pd.DataFrame
    invocations: pd.DataFrame
    window: tuple[datetime, datetime]
    groups_searched: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.job is not None or not self.lines.empty

    def milestones(self) -> pd.DataFrame:
        """Times from the record itself (created, last update, completed, reviewed); one row
        per distinct time, naming every milestone at it."""
        at: dict[pd.Timestamp, list[str]] = {}
        job = self.job or {}
        times = {name: job.get(name) for name in ("created_at", "updated_at", "completed_at")}
        times["reviewed_at"] = (job.get(JobAttr.REVIEW) or {}).get("reviewed_at")
        for name, value in times.items():
            if value:
                at.setdefault(pd.Timestamp(value), []).append(name)
        rows = [{"milestone": " = ".join(names), "time": t} for t, names in sorted(at.items())]
        return pd.DataFrame(rows, columns=["milestone", "time"])


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return pd.Timestamp(value).to_pydatetime().astimezone(UTC)


def trace_window(
    job: dict[str, Any] | None, now: datetime, default: timedelta
) -> tuple[datetime, datetime]:
    """From a minute before the job was created to a few minutes after it finished (or
    was reviewed)."""
    created = _parse_time((job or {}).get(JobAttr.CREATED_AT))
    finished = _parse_time((job or {}).get(JobAttr.COMPLETED_AT)) or _parse_time(
        (job or {}).get(JobAttr.UPDATED_AT)
    )
    # A moderator's verdict can come hours later: the window reaches it and its notification.
    reviewed = _parse_time(((job or {}).get(JobAttr.REVIEW) or {}).get("reviewed_at"))
    if reviewed is not None and (finished is None or reviewed > finished):
        finished = reviewed
    if created is None:
        return now - default, now
    end = (finished or now) + timedelta(minutes=5)
    return created - timedelta(minutes=1), min(
        max(end, created + timedelta(minutes=5)), now + timedelta(minutes=1)
    )


def _function_of(group: str, log_groups: dict[str, str]) -> str:
    for logical, name in log_groups.items():
        if name == group:
            return logical
    return group.rsplit("/", 1)[-1]


def _line(event: dict[str, Any], group: str, function: str) -> dict[str, Any]:
    message = event.get("message", "")
    doc = parse_json_line(message)
    kind = platform_kind(message)
    request_id = None
    if doc is not None:
        request_id = doc.get("function_request_id")
        text = str(doc.get("message", ""))
        level = str(doc.get("level", ""))
        kind = "log"
    else:
        text, level = message.rstrip(), ""
        if kind in ("START", "END"):
            request_id = message.split("RequestId:", 1)[1].split()[0]
        elif kind == "REPORT":
            request_id = (parse_report(message) or {}).get("request_id")
        else:
            kind = "text"
            level = "ERROR" if "[ERROR]" in message or "Task timed out" in message else ""
    return {
        "time": pd.Timestamp(event["timestamp"], unit="ms", tz="UTC"),
        "group": group,
        "function": function,
        "request_id": request_id,
        "kind": kind,
        "level": level,
        "message": text,
        "raw": message,
    }


def job_trace(
    logs: Any,
    ddb: Any,
    table: str,
    log_groups: dict[str, str],
    job_id: str,
    now: datetime,
    extra_groups: list[str] | None = None,
    default_window: timedelta = timedelta(hours=24),
    parallel: bool = True,
) -> JobTrace:
    job = get_job(ddb, table, job_id)
    start, end = trace_window(job, now, default_window)
    groups = {
        name: _function_of(name, log_groups)
        for name in [*log_groups.values(), *(extra_groups or [])]
    }

    def search(group: str, term: str) -> list[dict[str, Any]]:
        return [
            _line(e, group, groups[group])
            for e in filter_events(logs, group, term, start, end, limit=2000)
        ]

    def run(tasks: list[tuple[str, str]]) -> list[list[dict[str, Any]]]:
        if parallel and len(tasks) > 1:
            with ThreadPoolExecutor(max_workers=min(8, len(tasks))) as pool:
                return list(pool.map(lambda t: search(*t), tasks))
        return [search(*t) for t in tasks]

    job_lines = [line for batch in run([(g, job_id) for g in groups]) for line in batch]
    requests = sorted(
        {(line["group"], line["request_id"]) for line in job_lines if line["request_id"]}
    )
    request_lines = run([(g, rid) for g, rid in requests])
    by_request: dict[str, list[dict[str, Any]]] = {}
    for (_, rid), batch in zip(requests, request_lines, strict=True):
        by_request[rid] = batch

    seen: set[tuple[str, pd.Timestamp, str]] = set()
    lines = []
    for line in job_lines + [line for batch in request_lines for line in batch]:
        key = (line["group"], line["time"], line["raw"])
        if key not in seen:
            seen.add(key)
            lines.append(line)
    for line in lines:
        # Lines of a batch invocation about other jobs are kept (they are part of the
        # invocation) but marked, so the page can tell this job's lines apart.
        line["about_job"] = (
            job_id in line["raw"]
            or line["kind"] in ("START", "END", "REPORT")
            or line["level"] in ("ERROR", "CRITICAL")
        )
    frame = pd.DataFrame(lines, columns=LINE_COLUMNS)
    if not frame.empty:
        frame = frame.sort_values("time", kind="stable", ignore_index=True)
    return JobTrace(
        job_id, job, frame, _invocations(job_id, requests, by_request), (start, end), list(groups)
    )


def _invocations(
    job_id: str, requests: list[tuple[str, str]], by_request: dict[str, list[dict[str, Any]]]
) -> pd.DataFrame:
    rows = []
    for _group, rid in requests:
        lines = by_request.get(rid, [])
        if not lines:
            continue
        times = [line["time"] for line in lines]
        start = next((line["time"] for line in lines if line["kind"] == "START"), min(times))
        end = next(
            (line["time"] for line in lines if line["kind"] in ("END", "REPORT")), max(times)
        )
        report = (
            next((parse_report(line["raw"]) for line in lines if line["kind"] == "REPORT"), None)
            or {}
        )
        other_jobs = set()
        errors = []
        for line in lines:
            doc = parse_json_line(line["raw"]) if line["kind"] == "log" else None
            if doc and doc.get(JobAttr.JOB_ID) and doc.get(JobAttr.JOB_ID) != job_id:
                other_jobs.add(doc[JobAttr.JOB_ID])
            if line["level"] in ("ERROR", "CRITICAL"):
                errors.append(line["message"][:200])
        rows.append(
            {
                "function": lines[0]["function"],
                "request_id": rid,
                "start": start,
                "end": max(end, start),
                "duration_ms": report.get("duration_ms"),
                "billed_ms": report.get("billed_ms"),
                "init_ms": report.get("init_ms"),
                "cold_start": bool(report.get("cold_start")),
                "max_memory_mb": report.get("max_memory_mb"),
                "memory_mb": report.get("memory_mb"),
                "job_lines": sum(1 for line in lines if job_id in line["raw"]),
                "other_jobs": len(other_jobs),
                "error": "; ".join(errors) or None,
            }
        )
    df = pd.DataFrame(rows, columns=INVOCATION_COLUMNS)
    if df.empty:
        return df
    df = df.sort_values("start", ignore_index=True)
    previous_end = df["end"].cummax().shift(1)
    df["gap_before_ms"] = ((df["start"] - previous_end).dt.total_seconds() * 1000).clip(lower=0)
    return df
