"""Powertools logger, metrics and tracer shared by every handler.

The service name comes from POWERTOOLS_SERVICE_NAME (set per function by the
component) and the metrics namespace from POWERTOOLS_METRICS_NAMESPACE
(`Moderation`), so log lines and EMF metrics are attributable without code changes.

A handler whose response carries user data (the owner's job, the review queue with the
text read from images, upload URLs) is decorated with
`tracer.capture_lambda_handler(capture_response=False)`: X-Ray keeps the timing, not
the body. Signals are logged through `disclosure.signal_summary`, never with their
evidence.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from aws_lambda_powertools import Logger, Metrics, Tracer, single_metric
from aws_lambda_powertools.metrics import MetricUnit

from common.contract import Metric

logger = Logger()
metrics = Metrics()
tracer = Tracer()


def model_timings(timings: Mapping[str, float], metric: Metric = Metric.MODEL_INFERENCE_MS) -> None:
    """One EMF metric per model (dimensions service and model): inference or load time.

    Each is its own EMF document because Powertools' shared metric set has one set of
    dimensions per invocation, and the dashboard reads these per model.
    """
    service = os.environ.get("POWERTOOLS_SERVICE_NAME", "service_undefined")
    for model, ms in timings.items():
        with single_metric(
            name=metric,
            unit=MetricUnit.Milliseconds,
            value=float(ms),
            default_dimensions={"service": service, "model": model},
        ):
            pass


def queue_timing(metric: Metric, queue: str, seconds: float) -> None:
    """One EMF metric (dimensions service and queue) of a claim's timing: time to claim,
    time to decide (common/claims.py); the alarms are per queue."""
    service = os.environ.get("POWERTOOLS_SERVICE_NAME", "service_undefined")
    with single_metric(
        name=metric,
        unit=MetricUnit.Seconds,
        value=float(seconds),
        default_dimensions={"service": service, "queue": queue},
    ):
        pass
