"""CloudWatch metric reads: many series at once, as one long DataFrame."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import pandas as pd

SERIES_COLUMNS = ["key", "metric", "stat", "timestamp", "value"]
# What one GetMetricStatistics call reads: namespace, metric name, dimensions.
SeriesKey = tuple[str, str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class MetricQuery:
    """One series: namespace/metric/dimensions/statistic, tagged with a `key` (what it is about)."""

    key: str
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    stat: str = "Sum"

    @classmethod
    def of(
        cls, key: str, namespace: str, metric: str, stat: str = "Sum", **dims: str
    ) -> MetricQuery:
        return cls(key, namespace, metric, tuple(sorted(dims.items())), stat)


def choose_period(window: timedelta, max_points: int = 120) -> int:
    """A period (seconds, a multiple of 60) that keeps each series under `max_points` points."""
    seconds = max(60, int(window.total_seconds()))
    period = max(60, -(-seconds // max_points))
    return int(-(-period // 60) * 60)


def get_series(
    cloudwatch: Any,
    queries: Sequence[MetricQuery],
    start: datetime,
    end: datetime,
    period: int,
    workers: int = 8,
) -> pd.DataFrame:
    """All queries' datapoints as one long frame.

    One GetMetricStatistics call per metric and dimension set (all its statistics at
    once), run concurrently. It costs one request per series on AWS, and on moto (the
    local cloud) it is linear in the stored datapoints, where GetMetricData is not.
    """
    grouped: dict[SeriesKey, list[MetricQuery]] = {}
    for q in queries:
        grouped.setdefault((q.namespace, q.metric, q.dimensions), []).append(q)

    def read(item: tuple[SeriesKey, list[MetricQuery]]) -> list[dict[str, Any]]:
        (namespace, metric, dims), qs = item
        stats = sorted({q.stat for q in qs})
        out = cloudwatch.get_metric_statistics(
            Namespace=namespace,
            MetricName=metric,
            Dimensions=[{"Name": k, "Value": v} for k, v in dims],
            StartTime=start,
            EndTime=end,
            Period=period,
            Statistics=stats,
        )
        rows = []
        for point in out.get("Datapoints", []):
            for q in qs:
                if q.stat in point:
                    rows.append(
                        {
                            "key": q.key,
                            "metric": metric,
                            "stat": q.stat,
                            "timestamp": point["Timestamp"],
                            "value": float(point[q.stat]),
                        }
                    )
        return rows

    items = list(grouped.items())
    if workers > 1 and len(items) > 1:
        with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
            batches = list(pool.map(read, items))
    else:
        batches = [read(item) for item in items]
    frame = pd.DataFrame([row for batch in batches for row in batch], columns=SERIES_COLUMNS)
    if not frame.empty:
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
        frame = frame.sort_values(["key", "metric", "timestamp"], ignore_index=True)
    return frame


def totals(series: pd.DataFrame, how: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per key, one column per metric: the window's total (Sum) or extreme (Maximum)."""
    if series.empty:
        return pd.DataFrame()
    how = how or {}
    parts: list[pd.Series] = []
    for keys, group in series.groupby(["metric", "stat"], sort=False):
        metric, stat = cast(tuple[str, str], keys)
        agg = how.get(metric) or {
            "Sum": "sum",
            "Maximum": "max",
            "Minimum": "min",
            "SampleCount": "sum",
        }.get(stat, "mean")
        parts.append(group.groupby("key")["value"].agg(agg).rename(f"{metric}:{stat}"))
    return pd.concat(parts, axis=1)


def latest(series: pd.DataFrame) -> pd.DataFrame:
    """The most recent datapoint per (key, metric)."""
    if series.empty:
        return series
    return series.sort_values("timestamp").groupby(["key", "metric"], as_index=False).last()


def metric_names(queries: Iterable[MetricQuery]) -> list[str]:
    return sorted({q.metric for q in queries})
