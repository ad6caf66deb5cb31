"""The latest Spark report from the results bucket (`reports/dt=YYYY-MM-DD/summary.json`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lambdas.common.contract import Output

REPORT_PREFIX = "reports/"
SUMMARY_NAME = "summary.json"
TABLES = {
    "daily": ["date", "status", "decision", "jobs"],
    "top_labels": ["label", "count", "mean_confidence", "p50_confidence", "p90_confidence"],
    "users": ["user_id", "jobs", "rejected", "reviewed", "reject_rate", "review_rate"],
    "failure_reasons": ["reason", "count"],
}


class AnalyticsUnavailable(RuntimeError):
    """Why there is no report to show: analytics disabled, or no report written yet."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # disabled | no_report | invalid


@dataclass
class Report:
    key: str
    day: str
    days_available: list[str]
    raw: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    latency: pd.DataFrame = field(default_factory=pd.DataFrame)
    problems: list[str] = field(default_factory=list)

    @property
    def generated_at(self) -> str | None:
        return self.raw.get("generated_at")


def report_days(s3: Any, bucket: str) -> list[str]:
    """The `dt=` partitions under reports/, oldest first."""
    days: list[str] = []
    kwargs = {"Bucket": bucket, "Prefix": REPORT_PREFIX, "Delimiter": "/"}
    while True:
        out = s3.list_objects_v2(**kwargs)
        for prefix in out.get("CommonPrefixes", []):
            part = prefix["Prefix"][len(REPORT_PREFIX) :].strip("/")
            if part.startswith("dt="):
                days.append(part[3:])
        if not out.get("IsTruncated"):
            break
        kwargs["ContinuationToken"] = out["NextContinuationToken"]
    return sorted(days)


def latest_report(s3: Any, outputs: dict[str, Any], day: str | None = None) -> Report:
    features = outputs.get(Output.FEATURES) or {}
    bucket = outputs.get(Output.RESULTS_BUCKET)
    if not bucket:
        state = "enabled but" if features.get("analytics") else "disabled:"
        raise AnalyticsUnavailable(
            "disabled",
            f"Analytics is {state} the stack has no `results_bucket` output. Enable it with "
            "`pulumi config set moderation:analyticsEnabled true` and `pulumi up`.",
        )
    days = report_days(s3, bucket)
    if not days:
        raise AnalyticsUnavailable(
            "no_report",
            f"No report yet in s3://{bucket}/{REPORT_PREFIX}: the Spark job writes one per day "
            "(reports/dt=YYYY-MM-DD/summary.json) on its schedule.",
        )
    chosen = day if day in days else days[-1]
    key = f"{REPORT_PREFIX}dt={chosen}/{SUMMARY_NAME}"
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey as exc:
        raise AnalyticsUnavailable(
            "no_report",
            f"s3://{bucket}/{REPORT_PREFIX}dt={chosen}/ has no {SUMMARY_NAME} "
            "(the report for that day is still being written, or failed).",
        ) from exc
    try:
        raw = json.loads(body)
    except ValueError as exc:
        raise AnalyticsUnavailable("invalid", f"s3://{bucket}/{key} is not JSON: {exc}") from exc
    return parse_report(raw, key, chosen, days)


def parse_report(raw: dict[str, Any], key: str, day: str, days: list[str]) -> Report:
    report = Report(key=key, day=day, days_available=days, raw=raw)
    for name, columns in TABLES.items():
        rows = raw.get(name)
        if rows is None:
            report.problems.append(f"`{name}` is missing")
            rows = []
        elif not isinstance(rows, list):
            report.problems.append(f"`{name}` is not a list")
            rows = []
        df = pd.DataFrame(rows)
        missing = [c for c in columns if c not in df.columns]
        if rows and missing:
            report.problems.append(f"`{name}` rows lack {', '.join(missing)}")
        report.tables[name] = df.reindex(columns=list(dict.fromkeys([*columns, *df.columns])))
    lat = raw.get("latency_seconds") or {}
    rows = []
    if lat.get("end_to_end"):
        rows.append({"stage": "end to end", **lat["end_to_end"]})
    for stage, values in (lat.get("stages") or {}).items():
        rows.append({"stage": stage, **(values or {})})
    if not lat:
        report.problems.append("`latency_seconds` is missing")
    report.latency = pd.DataFrame(rows, columns=["stage", "p50", "p95", "p99"])
    return report
