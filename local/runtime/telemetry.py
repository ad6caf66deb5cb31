"""CloudWatch Logs and metrics written the way AWS writes them.

Lambda REPORT lines, handler log lines, AWS/Lambda and AWS/SQS metrics, and the
metrics Powertools emits as EMF (the `_aws` log lines CloudWatch turns into metrics)
all land in the local CloudWatch, so the dashboard reads the local cloud and AWS
through one code path. Writes are buffered and flushed by one thread to keep the
hot path cheap.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("local.runtime.telemetry")


def now_ms() -> int:
    return int(time.time() * 1000)


class Telemetry:
    """Buffers log lines and metric data; one thread writes them to CloudWatch.

    With `region` set, the writes go straight to moto's in-process Logs and CloudWatch
    backends (the local cloud hosts them in the same process), which spares the
    endpoint a JSON round trip per batch. Without it they go through `client`.
    """

    def __init__(self, client, flush_interval: float = 0.5, region: str | None = None) -> None:
        self.client = client
        self.flush_interval = flush_interval
        self.region = region
        self._lock = threading.Lock()
        self._logs: dict[tuple[str, str], list[dict]] = defaultdict(list)
        self._metrics: dict[str, list[dict]] = defaultdict(list)
        self._streams: set[tuple[str, str]] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="telemetry", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.flush()

    # --- producers -------------------------------------------------------------------

    def log(self, group: str, stream: str, message: str, timestamp_ms: int | None = None) -> None:
        with self._lock:
            self._logs[(group, stream)].append(
                {"timestamp": timestamp_ms or now_ms(), "message": message}
            )

    def metric(
        self,
        namespace: str,
        name: str,
        value: float,
        unit: str = "Count",
        dimensions: dict[str, str] | None = None,
        timestamp: datetime | None = None,
    ) -> None:
        datum = {
            "MetricName": name,
            "Value": float(value),
            "Unit": unit,
            "Timestamp": timestamp or datetime.now(UTC),
            "Dimensions": [{"Name": k, "Value": v} for k, v in (dimensions or {}).items()],
        }
        with self._lock:
            self._metrics[namespace].append(datum)

    def emf(self, line: str) -> bool:
        """Turn an Embedded Metric Format log line into metrics, as CloudWatch does."""
        if '"_aws"' not in line:
            return False
        try:
            doc = json.loads(line)
        except ValueError:
            return False
        meta = doc.get("_aws") if isinstance(doc, dict) else None
        if not isinstance(meta, dict):
            return False
        stamp = datetime.fromtimestamp(meta.get("Timestamp", now_ms()) / 1000, tz=UTC)
        for directive in meta.get("CloudWatchMetrics", []):
            namespace = directive.get("Namespace", "aws-embedded-metrics")
            dimension_sets = directive.get("Dimensions") or [[]]
            for metric in directive.get("Metrics", []):
                values = doc.get(metric["Name"])
                values = values if isinstance(values, list) else [values]
                for dims in dimension_sets:
                    dimensions = {d: str(doc[d]) for d in dims if d in doc}
                    for value in values:
                        if isinstance(value, (int, float)):
                            self.metric(
                                namespace,
                                metric["Name"],
                                value,
                                metric.get("Unit", "None"),
                                dimensions,
                                stamp,
                            )
        return True

    # --- flushing --------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.wait(self.flush_interval):
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - telemetry must never stop the cloud; logged
                log.exception("telemetry flush failed")

    def _create_stream(self, group: str, stream: str) -> None:
        logs = self.client("logs")
        # Already existing is the goal (an earlier flush or another writer created it).
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            try:
                logs.create_log_stream(logGroupName=group, logStreamName=stream)
            except logs.exceptions.ResourceNotFoundException:
                logs.create_log_group(logGroupName=group)
                logs.create_log_stream(logGroupName=group, logStreamName=stream)

    def flush(self) -> None:
        with self._lock:
            logs, self._logs = self._logs, defaultdict(list)
            metrics, self._metrics = self._metrics, defaultdict(list)
        if self.region:
            self._flush_direct(logs, metrics)
            return
        for (group, stream), events in logs.items():
            if (group, stream) not in self._streams:
                self._create_stream(group, stream)
                self._streams.add((group, stream))
            events.sort(key=lambda e: e["timestamp"])
            for i in range(0, len(events), 5000):
                self.client("logs").put_log_events(
                    logGroupName=group, logStreamName=stream, logEvents=events[i : i + 5000]
                )
        for namespace, data in metrics.items():
            for i in range(0, len(data), 500):
                self.client("cloudwatch").put_metric_data(
                    Namespace=namespace, MetricData=data[i : i + 500]
                )

    def _flush_direct(self, logs: dict, metrics: dict) -> None:
        from moto.cloudwatch.models import cloudwatch_backends
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.logs.models import logs_backends

        logs_backend = logs_backends[DEFAULT_ACCOUNT_ID][self.region]
        for (group, stream), events in logs.items():
            if group not in logs_backend.groups:
                logs_backend.create_log_group(group, {})
            log_group = logs_backend.groups[group]
            if stream not in log_group.streams:
                log_group.create_log_stream(stream)
            events.sort(key=lambda e: e["timestamp"])
            log_group.put_log_events(stream, events)
        cloudwatch = cloudwatch_backends[DEFAULT_ACCOUNT_ID][self.region]
        for namespace, data in metrics.items():
            for datum in data:
                # moto keeps timestamps as naive UTC (its API layer converts them).
                stamp = datum["Timestamp"]
                if stamp.tzinfo is not None:
                    datum["Timestamp"] = stamp.astimezone(UTC).replace(tzinfo=None)
            cloudwatch.put_metric_data(namespace, data)


def report_line(
    request_id: str,
    duration_ms: float,
    memory_mb: int,
    max_memory_mb: int,
    init_ms: float | None,
) -> str:
    """Lambda's REPORT line, byte for byte in the format the dashboard (and AWS tools) parse."""
    billed = max(1, int(-(-duration_ms // 1)))
    line = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {billed} ms\tMemory Size: {memory_mb} MB\t"
        f"Max Memory Used: {max_memory_mb} MB"
    )
    if init_ms is not None:
        line += f"\tInit Duration: {init_ms:.2f} ms"
    return line + "\t"


def alarm_state(client, alarm: dict[str, Any], now: datetime) -> tuple[str, str] | None:
    """Evaluate one metric alarm over its evaluation periods; return (state, reason) or None."""
    from datetime import timedelta

    period = int(alarm["Period"])
    periods = int(alarm["EvaluationPeriods"])
    stat = alarm.get("Statistic", "Maximum")
    out = client.get_metric_statistics(
        Namespace=alarm["Namespace"],
        MetricName=alarm["MetricName"],
        Dimensions=alarm.get("Dimensions", []),
        StartTime=now - timedelta(seconds=period * periods),
        EndTime=now,
        Period=period,
        Statistics=[stat],
    )
    points = [p[stat] for p in out.get("Datapoints", [])]
    threshold = float(alarm["Threshold"])
    op = alarm["ComparisonOperator"]
    compare = {
        "GreaterThanThreshold": lambda v: v > threshold,
        "GreaterThanOrEqualToThreshold": lambda v: v >= threshold,
        "LessThanThreshold": lambda v: v < threshold,
        "LessThanOrEqualToThreshold": lambda v: v <= threshold,
    }.get(op)
    if compare is None:
        return None
    if not points:
        missing = alarm.get("TreatMissingData", "missing")
        if missing == "breaching":
            return "ALARM", "no data (treated as breaching)"
        if missing == "notBreaching":
            return "OK", "no data (treated as not breaching)"
        return "INSUFFICIENT_DATA", "no data"
    breaching = [v for v in points if compare(v)]
    if len(breaching) >= min(periods, len(points)) and breaching:
        return "ALARM", f"{len(breaching)} of {len(points)} datapoints {op} {threshold}"
    return "OK", f"{len(points) - len(breaching)} of {len(points)} datapoints within threshold"
