"""Job throughput from the handlers' EMF metrics (namespace `Moderation`), exact at any volume."""

from __future__ import annotations

from datetime import datetime
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
