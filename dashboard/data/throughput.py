"""Job throughput from the handlers' EMF metrics (namespace `Moderation`), exact at any volume."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from dashboard.data.metrics import MetricQuery, get_series
from lambdas.common.contract import METRICS_NAMESPACE, Function, Metric

# (metric, Powertools service dimension): accepted by upload, terminal ones by the notifier.
JOB_METRICS = (
    (Metric.JOBS_ACCEPTED, Function.UPLOAD),
    (Metric.JOBS_COMPLETE, Function.NOTIFIER),
    (Metric.JOBS_FAILED, Function.NOTIFIER),
    (Metric.UPLOADS_REJECTED, Function.UPLOAD),
    (Metric.STUCK_JOBS, Function.SWEEPER),
    (Metric.JOBS_FAILED_BY_SWEEPER, Function.SWEEPER),
)


def job_metrics(cloudwatch: Any, start: datetime, end: datetime, period: int) -> pd.DataFrame:
    queries = [
        MetricQuery.of(
            metric,
            METRICS_NAMESPACE,
            metric,
            "Maximum" if metric == Metric.STUCK_JOBS else "Sum",
            service=service,
        )
        for metric, service in JOB_METRICS
    ]
    return get_series(cloudwatch, queries, start, end, period)


def totals(series: pd.DataFrame) -> dict[str, float]:
    out: dict[str, float] = {}
    for metric, _ in JOB_METRICS:
        values = series[series["key"] == metric]["value"]
        out[metric] = (
            float(values.max() if metric == Metric.STUCK_JOBS else values.sum())
            if not values.empty
            else 0.0
        )
    return out


@dataclass(frozen=True)
class FinishRate:
    """Jobs finished per minute: lately, and at the busiest period of the window."""

    recent_per_min: float
    recent_minutes: float
    peak_per_min: float
    peak_at: datetime | None
    period_seconds: int


FINISHED = (Metric.JOBS_COMPLETE, Metric.JOBS_FAILED)


def finish_rate(
    series: pd.DataFrame,
    now: datetime,
    period_seconds: int,
    recent: timedelta = timedelta(minutes=5),
) -> FinishRate:
    """The recent rate and the peak, from the notifier's JobsComplete + JobsFailed.

    An average over the whole window hides a burst (300 jobs at 20 jobs/s read as
    "5/min" over an hour); the recent rate covers the last `recent` (at least one period),
    and the peak is the busiest single period, per minute.
    """
    period_minutes = period_seconds / 60
    span = max(recent, timedelta(seconds=period_seconds))
    done = series[series["key"].isin(FINISHED)] if not series.empty else series
    if done.empty:
        return FinishRate(0.0, span.total_seconds() / 60, 0.0, None, period_seconds)
    per_period = done.groupby("timestamp")["value"].sum().sort_index()
    cutoff = pd.Timestamp(now - span)
    recent_jobs = float(per_period[per_period.index > cutoff].sum())
    peak_at = per_period.index[int(per_period.to_numpy().argmax())]
    return FinishRate(
        recent_per_min=recent_jobs / (span.total_seconds() / 60),
        recent_minutes=span.total_seconds() / 60,
        peak_per_min=float(per_period.max()) / period_minutes,
        peak_at=pd.Timestamp(peak_at).to_pydatetime(),
        period_seconds=period_seconds,
    )
