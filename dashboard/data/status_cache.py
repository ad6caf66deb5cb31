"""Status cache figures from the status function's EMF metrics (when caching is enabled).

The status function counts where each GET /jobs/{id} was answered from: the
execution environment's own LRU (`CacheHitLocal`), ElastiCache (`CacheHitRemote`),
or DynamoDB after a miss (`CacheMiss`); `CacheError` counts cache calls that failed
and fell back to DynamoDB. Every hit is a DynamoDB read not made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from dashboard.data.metrics import MetricQuery, get_series
from lambdas.common.contract import METRICS_NAMESPACE, Function, Metric

CACHE_METRICS = (
    Metric.CACHE_HIT_LOCAL,
    Metric.CACHE_HIT_REMOTE,
    Metric.CACHE_MISS,
    Metric.CACHE_ERROR,
)


@dataclass
class CacheFigures:
    series: pd.DataFrame
    hit_local: int
    hit_remote: int
    miss: int
    error: int

    @property
    def hits(self) -> int:
        return self.hit_local + self.hit_remote

    @property
    def lookups(self) -> int:
        return self.hits + self.miss

    @property
    def hit_ratio(self) -> float | None:
        return self.hits / self.lookups if self.lookups else None

    @property
    def reads_saved(self) -> int:
        return self.hits


def cache_figures(cloudwatch: Any, start: datetime, end: datetime, period: int) -> CacheFigures:
    series = get_series(
        cloudwatch,
        [
            MetricQuery.of(m, METRICS_NAMESPACE, m, "Sum", service=Function.STATUS)
            for m in CACHE_METRICS
        ],
        start,
        end,
        period,
    )

    def total(name: str) -> int:
        return int(series[series["key"] == name]["value"].sum()) if not series.empty else 0

    return CacheFigures(
        series,
        total(Metric.CACHE_HIT_LOCAL),
        total(Metric.CACHE_HIT_REMOTE),
        total(Metric.CACHE_MISS),
        total(Metric.CACHE_ERROR),
    )


def hit_ratio_over_time(series: pd.DataFrame) -> pd.DataFrame:
    if series.empty:
        return pd.DataFrame(columns=["timestamp", "hit_ratio"])
    wide = series.pivot_table(index="timestamp", columns="key", values="value", aggfunc="sum")
    wide = wide.reindex(columns=list(CACHE_METRICS), fill_value=0).fillna(0)
    hits = wide[Metric.CACHE_HIT_LOCAL] + wide[Metric.CACHE_HIT_REMOTE]
    lookups = hits + wide[Metric.CACHE_MISS]
    out = (hits / lookups.where(lookups > 0)).rename("hit_ratio").reset_index()
    return out.dropna()
