"""CloudWatch Logs reads: filtered events, Lambda REPORT lines, Powertools JSON lines.

Filter patterns are kept to one quoted term (`"REPORT RequestId"`, `"<job id>"`): that is
what CloudWatch Logs matches exactly and what moto (the local cloud) implements. Every
event is checked again here for the term, so a backend that ignores a pattern can
never put a foreign line on a page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

REPORT_TERM = "REPORT RequestId"
_REPORT_ID = re.compile(r"REPORT RequestId:\s*(\S+)")
_REPORT_FIELD = re.compile(r"([A-Za-z][A-Za-z ]*?):\s*([\d.]+)\s*(ms|MB)")
REPORT_COLUMNS = [
    "function",
    "request_id",
    "timestamp",
    "duration_ms",
    "billed_ms",
    "memory_mb",
    "max_memory_mb",
    "init_ms",
    "cold_start",
]


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def quoted(term: str) -> str:
    if '"' in term:
        raise ValueError(f"a filter term may not contain a double quote: {term!r}")
    return f'"{term}"'


def filter_events(
    logs: Any,
    group: str,
    term: str | None,
    start: datetime | int,
    end: datetime | int,
    limit: int = 10_000,
    max_pages: int = 200,
) -> Iterator[dict[str, Any]]:
    """Events of `group` in [start, end] containing `term`, oldest first, at most `limit`."""
    kwargs: dict[str, Any] = {
        "logGroupName": group,
        "startTime": start if isinstance(start, int) else ms(start),
        "endTime": end if isinstance(end, int) else ms(end),
        "limit": max(1, min(limit, 10_000)),
    }
    if term:
        kwargs["filterPattern"] = quoted(term)
    seen = 0
    for _ in range(max_pages):
        out = logs.filter_log_events(**kwargs)
        for event in out.get("events", []):
            if term and term not in event.get("message", ""):
                continue
            yield event
            seen += 1
            if seen >= limit:
                return
        token = out.get("nextToken")
        if not token or token == kwargs.get("nextToken"):
            return
        kwargs["nextToken"] = token


def recent_events(
    logs: Any,
    group: str,
    term: str | None,
    start: datetime,
    end: datetime,
    limit: int,
) -> tuple[list[dict[str, Any]], bool]:
    """Up to `limit` of the most recent matching events in the window, oldest first;
    returns (events, truncated).

    FilterLogEvents returns the oldest first, so a window holding more than `limit`
    events is halved and the newer half read first, until `limit` newest are in hand.
    """

    def newest(lo: int, hi: int, need: int) -> tuple[list[dict[str, Any]], bool]:
        batch = list(filter_events(logs, group, term, lo, hi, limit=need + 1))
        if len(batch) <= need:
            return batch, False
        if hi - lo <= 1000:  # one second holds more than we want: keep its newest
            return sorted(batch, key=lambda e: e["timestamp"])[-need:], True
        mid = lo + (hi - lo) // 2
        newer, _ = newest(mid + 1, hi, need)
        if len(newer) >= need:
            return newer[-need:], True
        older, _ = newest(lo, mid, need - len(newer))
        return older + newer, True

    if limit <= 0:
        return [], False
    return newest(ms(start), ms(end), limit)


# --- Lambda platform lines -----------------------------------------------------------------


def parse_report(message: str) -> dict[str, Any] | None:
    """A REPORT line's fields, or None. Tolerates AWS's variants (trailing tab, XRAY, Restore)."""
    match = _REPORT_ID.search(message)
    if not match:
        return None
    fields = {
        name.strip().lower(): float(value)
        for name, value, _ in _REPORT_FIELD.findall(message[match.end() :])
    }
    if "duration" not in fields:
        return None
    init = fields.get("init duration")
    return {
        "request_id": match.group(1),
        "duration_ms": fields["duration"],
        "billed_ms": fields.get("billed duration", fields["duration"]),
        "memory_mb": fields.get("memory size"),
        "max_memory_mb": fields.get("max memory used"),
        "init_ms": init,
        "cold_start": init is not None,
    }


def report_frame(function: str, events: list[dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for event in events:
        parsed = parse_report(event.get("message", ""))
        if parsed:
            rows.append({"function": function, "timestamp": event["timestamp"], **parsed})
    frame = pd.DataFrame(rows, columns=REPORT_COLUMNS)
    if not frame.empty:
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="ms", utc=True)
        frame = frame.drop_duplicates("request_id", keep="last")
    return frame


def reports(
    logs: Any, function: str, group: str, start: datetime, end: datetime, limit: int = 5000
) -> tuple[pd.DataFrame, bool]:
    """The most recent REPORT lines of one function's log group; (frame, truncated)."""
    events, truncated = recent_events(logs, group, REPORT_TERM, start, end, limit)
    return report_frame(function, events), truncated


def platform_kind(message: str) -> str | None:
    for kind in ("START", "END", "REPORT", "INIT_START", "INIT_REPORT"):
        if message.startswith(f"{kind} "):
            return kind
    return None


def parse_json_line(message: str) -> dict[str, Any] | None:
    """A Powertools (or any JSON) log line as a dict; None for plain text."""
    text = message.strip()
    if not text.startswith("{"):
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def window_around(
    first: datetime, last: datetime, before: float = 60, after: float = 300
) -> tuple[datetime, datetime]:
    return first - timedelta(seconds=before), last + timedelta(seconds=after)
