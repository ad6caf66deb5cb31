"""Job throughput from the handlers' EMF metrics (namespace `Moderation`), exact at any volume."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from dashboard.data.metrics import MetricQuery, get_series

# (metric, Powertools service dimension): accepted by upload, terminal ones by the notifier.
JOB_METRICS = (
    ("JobsAccepted", "upload"),
    ("JobsComplete", "notifier"),
    ("JobsFailed", "notifier"),
    ("UploadsRejected", "upload"),
    ("StuckJobs", "sweeper"),
    ("JobsFailedBySweeper", "sweeper"),
)


def job_metrics(cloudwatch, start: datetime, end: datetime, period: int) -> pd.DataFrame:
    queries = [
        MetricQuery.of(
            metric,
            "Moderation",
            metric,
            "Maximum" if metric == "StuckJobs" else "Sum",
            service=service,
        )
        for metric, service in JOB_METRICS
    ]
    return get_series(cloudwatch, queries, start, end, period)


def totals(series: pd.DataFrame) -> dict[str, float]:
    out = {}
    for metric, _ in JOB_METRICS:
        values = series[series["key"] == metric]["value"]
        out[metric] = (
            float(values.max() if metric == "StuckJobs" else values.sum())
            if not values.empty
            else 0.0
        )
    return out
