"""SQS queue depth now (GetQueueAttributes) and over time (CloudWatch AWS/SQS)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from dashboard.data.metrics import MetricQuery, get_series

QUEUE_METRICS = (
    "ApproximateNumberOfMessagesVisible",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateAgeOfOldestMessage",
)
METRIC_LABELS = {
    "ApproximateNumberOfMessagesVisible": "visible",
    "ApproximateNumberOfMessagesNotVisible": "in flight",
    "ApproximateNumberOfMessagesDelayed": "delayed",
    "ApproximateAgeOfOldestMessage": "age of oldest (s)",
}
ROLE_LABELS = {
    "processing": "processing",
    "dlq": "dead-letter (DLQ)",
    "failure": "analysis failures",
}
SNAPSHOT_COLUMNS = [
    "role",
    "queue",
    "visible",
    "in_flight",
    "delayed",
    "oldest_age_s",
    "oldest_age_at",
    "visibility_timeout_s",
    "retention_s",
    "max_receive_count",
    "dead_letter_target",
    "url",
]


def queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def attributes(sqs: Any, url: str) -> dict[str, str]:
    out = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    attrs: dict[str, str] = out.get("Attributes", {})
    return attrs


def snapshot(sqs: Any, cloudwatch: Any, queues: dict[str, str], now: datetime) -> pd.DataFrame:
    """One row per queue: depth from SQS now, age of oldest message from CloudWatch.

    SQS's API has no age-of-oldest figure; CloudWatch publishes it once a minute, so the
    latest datapoint of the last 15 minutes is shown with its time.
    """
    ages = get_series(
        cloudwatch,
        [
            MetricQuery.of(
                role,
                "AWS/SQS",
                "ApproximateAgeOfOldestMessage",
                "Maximum",
                QueueName=queue_name(url),
            )
            for role, url in queues.items()
        ],
        now - timedelta(minutes=15),
        now + timedelta(minutes=1),
        60,
    )
    rows = []
    for role, url in queues.items():
        attrs = attributes(sqs, url)
        redrive = json.loads(attrs["RedrivePolicy"]) if attrs.get("RedrivePolicy") else {}
        age = ages[ages["key"] == role].sort_values("timestamp")
        rows.append(
            {
                "role": role,
                "queue": queue_name(url),
                "visible": int(attrs.get("ApproximateNumberOfMessages", 0)),
                "in_flight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
                "delayed": int(attrs.get("ApproximateNumberOfMessagesDelayed", 0)),
                "oldest_age_s": float(age["value"].iloc[-1]) if not age.empty else None,
                "oldest_age_at": age["timestamp"].iloc[-1] if not age.empty else None,
                "visibility_timeout_s": int(attrs.get("VisibilityTimeout", 0)),
                "retention_s": int(attrs.get("MessageRetentionPeriod", 0)),
                "max_receive_count": int(redrive["maxReceiveCount"]) if redrive else None,
                "dead_letter_target": redrive.get("deadLetterTargetArn", "").rsplit(":", 1)[-1]
                or None,
                "url": url,
            }
        )
    return pd.DataFrame(rows, columns=SNAPSHOT_COLUMNS)


def history(
    cloudwatch: Any, queues: dict[str, str], start: datetime, end: datetime, period: int
) -> pd.DataFrame:
    """AWS/SQS depth and age series per queue (Maximum per period), long form."""
    queries = [
        MetricQuery.of(role, "AWS/SQS", metric, "Maximum", QueueName=queue_name(url))
        for role, url in queues.items()
        for metric in QUEUE_METRICS
    ]
    series = get_series(cloudwatch, queries, start, end, period)
    series["label"] = series["metric"].map(METRIC_LABELS)
    return series.rename(columns={"key": "role"})
