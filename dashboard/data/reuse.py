"""Verdict reuse and custom-first as the stack measured them, from its EMF metrics.

The dispatcher counts a job it started analyzers for as `JobsDispatched` and a job it
completed from a stored verdict as `VerdictsReused` (not both), so over a window the
measured repeat rate is reused / (dispatched + reused). `VerdictsStored` counts the
verdicts analyzed jobs stored and `RekognitionSkipped` the analyzed jobs custom-first
decided without calling Rekognition (a share of the dispatched ones).

Every function that emits them is read: each metric's series are found with ListMetrics
(one per Powertools `service` dimension), so the figures do not depend on which function
emits a metric.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from dashboard.data.metrics import MetricQuery, get_series
from lambdas.common.contract import METRICS_NAMESPACE, Metric

REUSE_METRICS = (
    Metric.JOBS_DISPATCHED,
    Metric.VERDICTS_REUSED,
    Metric.VERDICTS_STORED,
    Metric.REKOGNITION_SKIPPED,
)


@dataclass(frozen=True)
class ReuseFigures:
    dispatched: float = 0.0
    reused: float = 0.0
    stored: float = 0.0
    rekognition_skipped: float = 0.0
    series: pd.DataFrame | None = None

    @property
    def jobs(self) -> float:
        """Jobs the dispatcher handled in the window: analyzed or reused."""
        return self.dispatched + self.reused

    @property
    def reuse_share(self) -> float | None:
        """The measured repeat rate; None when no job was dispatched in the window."""
        return self.reused / self.jobs if self.jobs else None

    @property
    def rekognition_skip_share(self) -> float | None:
        """Of the analyzed jobs, those decided without Rekognition; None without any."""
        if not self.dispatched:
            return None
        return min(1.0, self.rekognition_skipped / self.dispatched)


def service_dimensions(cloudwatch: Any, metric: str) -> list[tuple[tuple[str, str], ...]]:
    """The dimension sets `metric` was written with that hold only a `service` dimension."""
    found: set[tuple[tuple[str, str], ...]] = set()
    kwargs: dict[str, Any] = {"Namespace": METRICS_NAMESPACE, "MetricName": metric}
    while True:
        out = cloudwatch.list_metrics(**kwargs)
        for m in out.get("Metrics", []):
            dims = tuple(sorted((d["Name"], d["Value"]) for d in m.get("Dimensions", [])))
            if [name for name, _ in dims] == ["service"]:
                found.add(dims)
        if not out.get("NextToken"):
            break
        kwargs["NextToken"] = out["NextToken"]
    return sorted(found)


def reuse_figures(cloudwatch: Any, start: datetime, end: datetime, period: int) -> ReuseFigures:
    queries = [
        MetricQuery(str(metric), METRICS_NAMESPACE, str(metric), dims, "Sum")
        for metric in REUSE_METRICS
        for dims in service_dimensions(cloudwatch, metric)
    ]
    series = get_series(cloudwatch, queries, start, end, period) if queries else None
    totals: dict[str, float] = {}
    if series is not None and not series.empty:
        totals = {str(k): float(v) for k, v in series.groupby("key")["value"].sum().items()}
    return ReuseFigures(
        dispatched=totals.get(Metric.JOBS_DISPATCHED, 0.0),
        reused=totals.get(Metric.VERDICTS_REUSED, 0.0),
        stored=totals.get(Metric.VERDICTS_STORED, 0.0),
        rekognition_skipped=totals.get(Metric.REKOGNITION_SKIPPED, 0.0),
        series=series,
    )
