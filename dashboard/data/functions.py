"""Per-function figures: CloudWatch AWS/Lambda counts, and REPORT lines for the rest.

Invocations, errors and throttles come from CloudWatch (exact at any volume). Duration
percentiles, cold starts with their Init Duration, billed milliseconds and memory used
come from the REPORT line Lambda writes for every invocation — the only source of
per-invocation memory and init time — read from each function's log group (the most
recent `report_limit` lines per function; the page says when that is a sample).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import pandas as pd

from dashboard.data.logs import REPORT_COLUMNS, reports
from dashboard.data.metrics import MetricQuery, get_series
from lambdas.common.contract import FUNCTION_MODELS, METRICS_NAMESPACE, Metric

LAMBDA_METRICS = (
    ("Invocations", "Sum"),
    ("Errors", "Sum"),
    ("Throttles", "Sum"),
    ("Duration", "Average"),
    ("Duration", "Maximum"),
    ("ConcurrentExecutions", "Maximum"),
)
SUMMARY_COLUMNS = [
    "function",
    "name",
    "invocations",
    "errors",
    "throttles",
    "error_rate",
    "concurrency_max",
    "reports",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "avg_billed_ms",
    "cold_starts",
    "init_p50_ms",
    "init_max_ms",
    "memory_mb",
    "max_memory_used_mb",
    "memory_used_pct",
    "timeout_s",
    "hint",
]
MEMORY_STEP = 64


def lambda_queries(functions: dict[str, str]) -> list[MetricQuery]:
    return [
        MetricQuery.of(logical, "AWS/Lambda", metric, stat, FunctionName=name)
        for logical, name in functions.items()
        for metric, stat in LAMBDA_METRICS
    ]


def metric_series(
    cloudwatch: Any, functions: dict[str, str], start: datetime, end: datetime, period: int
) -> pd.DataFrame:
    return get_series(cloudwatch, lambda_queries(functions), start, end, period)


def metric_totals(series: pd.DataFrame, functions: dict[str, str]) -> pd.DataFrame:
    """Per function: invocations, errors, throttles, max concurrency over the window."""
    rows = []
    for logical in functions:
        s = series[series["key"] == logical]

        def total(metric: str, stat: str, how: str = "sum", s: pd.DataFrame = s) -> float:
            v = s[(s["metric"] == metric) & (s["stat"] == stat)]["value"]
            return float(getattr(v, how)()) if not v.empty else 0.0

        rows.append(
            {
                "function": logical,
                "invocations": int(total("Invocations", "Sum")),
                "errors": int(total("Errors", "Sum")),
                "throttles": int(total("Throttles", "Sum")),
                "concurrency_max": int(total("ConcurrentExecutions", "Maximum", "max")),
                "duration_max_ms": total("Duration", "Maximum", "max"),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "function",
            "invocations",
            "errors",
            "throttles",
            "concurrency_max",
            "duration_max_ms",
        ],
    )


MODEL_COLUMNS = ["function", "model", "images", "avg_ms", "max_ms", "loads", "avg_load_ms"]


def model_inference(cloudwatch: Any, start: datetime, end: datetime, period: int) -> pd.DataFrame:
    """Per model: images inferred, average and maximum inference time (ModelInferenceMs,
    the EMF metric the model functions write per image, dimensions service and model),
    and its loads (ModelLoadMs, once per cold start)."""
    queries = [
        MetricQuery.of(
            f"{prefix}{fn}/{model}",
            METRICS_NAMESPACE,
            metric,
            stat,
            service=str(fn),
            model=model,
        )
        for prefix, metric in (("", Metric.MODEL_INFERENCE_MS), ("load:", Metric.MODEL_LOAD_MS))
        for fn, models in FUNCTION_MODELS.items()
        for model in models
        for stat in ("SampleCount", "Sum", "Maximum")
    ]
    series = get_series(cloudwatch, queries, start, end, period)
    rows = []
    for fn, models in FUNCTION_MODELS.items():
        for model in models:
            s = series[series["key"] == f"{fn}/{model}"] if not series.empty else series
            count = float(s[s["stat"] == "SampleCount"]["value"].sum()) if len(s) else 0.0
            total = float(s[s["stat"] == "Sum"]["value"].sum()) if len(s) else 0.0
            peak = float(s[s["stat"] == "Maximum"]["value"].max()) if len(s) else float("nan")
            loads = series[series["key"] == f"load:{fn}/{model}"] if not series.empty else series
            n_loads = (
                float(loads[loads["stat"] == "SampleCount"]["value"].sum()) if len(loads) else 0.0
            )
            load_total = float(loads[loads["stat"] == "Sum"]["value"].sum()) if len(loads) else 0.0
            rows.append(
                {
                    "function": str(fn),
                    "model": model,
                    "images": int(count),
                    "avg_ms": total / count if count else None,
                    "max_ms": peak if count else None,
                    "loads": int(n_loads),
                    "avg_load_ms": load_total / n_loads if n_loads else None,
                }
            )
    return pd.DataFrame(rows, columns=MODEL_COLUMNS)


def report_lines(
    logs: Any, log_groups: dict[str, str], start: datetime, end: datetime, limit: int = 5000
) -> tuple[pd.DataFrame, dict[str, bool]]:
    frames, truncated = [], {}
    for logical, group in log_groups.items():
        df, more = reports(logs, logical, group, start, end, limit)
        frames.append(df)
        truncated[logical] = more
    frames = [f for f in frames if not f.empty]
    all_reports = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=REPORT_COLUMNS)
    )
    return all_reports, truncated


def sizing_hint(
    memory_mb: float | None,
    max_used_mb: float | None,
    p95_ms: float | None,
    timeout_s: float | None,
    invocations: int,
) -> str:
    """A right-sizing suggestion from memory headroom and how close p95 is to the timeout.

    Lambda gives CPU in proportion to memory, so shrinking memory can lengthen a
    CPU-bound function: the hint says what to try and to compare billed duration after.
    """
    if not memory_mb or not max_used_mb or invocations == 0:
        return "no REPORT lines in the window: nothing to size from"
    used = max_used_mb / memory_mb
    notes = []
    if timeout_s and p95_ms and p95_ms > 0.8 * timeout_s * 1000:
        notes.append(
            f"p95 {p95_ms:.0f} ms is over 80% of the {timeout_s:.0f} s timeout: "
            "raise the timeout or memory"
        )
    if used >= 0.85:
        target = _round_up(max_used_mb * 1.3)
        notes.append(
            f"max memory used is {used:.0%} of {memory_mb:.0f} MB: raise to "
            f"~{target} MB to avoid out-of-memory kills"
        )
    elif used < 0.5 and memory_mb > 128:
        target = max(128, _round_up(max_used_mb * 1.5))
        if target < memory_mb:
            notes.append(
                f"max memory used is {used:.0%} of {memory_mb:.0f} MB: try {target} MB "
                "(less CPU too: compare billed duration after)"
            )
    return "; ".join(notes) or f"memory fits ({used:.0%} of {memory_mb:.0f} MB at peak)"


def _round_up(mb: float) -> int:
    return int(-(-mb // MEMORY_STEP) * MEMORY_STEP)


@dataclass
class FunctionStats:
    summary: pd.DataFrame
    series: pd.DataFrame
    reports: pd.DataFrame
    truncated: dict[str, bool] = field(default_factory=dict)


def function_stats(
    cloudwatch: Any,
    logs: Any,
    functions: dict[str, str],
    log_groups: dict[str, str],
    settings: dict[str, dict[str, Any]],
    start: datetime,
    end: datetime,
    period: int,
    report_limit: int = 5000,
) -> FunctionStats:
    series = metric_series(cloudwatch, functions, start, end, period)
    totals = metric_totals(series, functions).set_index("function")
    all_reports, truncated = report_lines(
        logs, {k: v for k, v in log_groups.items() if k in functions}, start, end, report_limit
    )
    rows = []
    for logical, name in functions.items():
        r = all_reports[all_reports["function"] == logical]
        # One row per function: `.loc` of one label is that row, a Series.
        t = cast(pd.Series, totals.loc[logical]) if logical in totals.index else None
        cfg = settings.get(logical, {})
        memory = cfg.get("memory") or (float(r["memory_mb"].max()) if not r.empty else None)
        durations = r["duration_ms"]
        q = durations.quantile([0.5, 0.95, 0.99]) if not r.empty else None
        cold = r[r["cold_start"].astype(bool)] if not r.empty else r
        max_used = float(r["max_memory_mb"].max()) if not r.empty else None
        invocations = int(t["invocations"]) if t is not None else 0
        errors = int(t["errors"]) if t is not None else 0
        rows.append(
            {
                "function": logical,
                "name": name,
                "invocations": invocations,
                "errors": errors,
                "throttles": int(t["throttles"]) if t is not None else 0,
                "error_rate": errors / invocations if invocations else 0.0,
                "concurrency_max": int(t["concurrency_max"]) if t is not None else 0,
                "reports": int(len(r)),
                "p50_ms": float(q[0.5]) if q is not None else None,
                "p95_ms": float(q[0.95]) if q is not None else None,
                "p99_ms": float(q[0.99]) if q is not None else None,
                "max_ms": float(durations.max()) if not r.empty else None,
                "avg_billed_ms": float(r["billed_ms"].mean()) if not r.empty else None,
                "cold_starts": int(len(cold)),
                "init_p50_ms": float(cold["init_ms"].median()) if not cold.empty else None,
                "init_max_ms": float(cold["init_ms"].max()) if not cold.empty else None,
                "memory_mb": memory,
                "max_memory_used_mb": max_used,
                "memory_used_pct": (100 * max_used / memory) if memory and max_used else None,
                "timeout_s": cfg.get("timeout"),
                "hint": sizing_hint(
                    memory,
                    max_used,
                    float(q[0.95]) if q is not None else None,
                    cfg.get("timeout"),
                    len(r),
                ),
            }
        )
    return FunctionStats(
        pd.DataFrame(rows, columns=SUMMARY_COLUMNS), series, all_reports, truncated
    )
