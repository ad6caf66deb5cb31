"""Powertools logger, metrics and tracer shared by every handler.

The service name comes from POWERTOOLS_SERVICE_NAME (set per function by the
component) and the metrics namespace from POWERTOOLS_METRICS_NAMESPACE
(`Moderation`), so log lines and EMF metrics are attributable without code changes.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
metrics = Metrics()
tracer = Tracer()
