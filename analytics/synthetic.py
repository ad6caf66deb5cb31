"""Synthetic terminal jobs as DynamoDB stream records, for the report's tests and benchmark.

The records have the shape the jobs table's stream delivers for the finalize (or
fail) write: `NEW_AND_OLD_IMAGES`, the old image `analyzing` with both results and
the dispatch lease, so they go through the real exporter code path.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from lambdas.common.contract import JobAttr

_ser = TypeSerializer()

LABELS = (
    ("Explicit Nudity", "Explicit"),
    ("Suggestive", "Suggestive"),
    ("Violence", "Violence"),
    ("Visually Disturbing", "Visually Disturbing"),
    ("Drugs & Tobacco", "Drugs & Tobacco"),
    ("Hate Symbols", "Hate Symbols"),
    ("Rude Gestures", "Rude Gestures"),
)
FAILURES = (
    "deadline exceeded: still pending after 900 s",
    "deadline exceeded: still analyzing after 900 s",
    "rekognition_analyzer failed after 3 attempt(s): ThrottlingException: Rate exceeded",
    "custom_analyzer failed after 3 attempt(s): Sandbox.Timedout: Task timed out after 60.00 seconds",
)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _dynamo(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_dynamo(v) for v in value]
    return value


def image(item: dict[str, Any]) -> dict[str, Any]:
    """A Python item as a stream image (DynamoDB JSON)."""
    return {k: _ser.serialize(_dynamo(v)) for k, v in item.items() if v is not None}


def stream_record(
    new: dict[str, Any] | None,
    old: dict[str, Any] | None,
    seq: int,
    event_name: str = "MODIFY",
    stream_arn: str = "arn:aws:dynamodb:us-east-1:123456789012:table/jobs/stream/2026-01-01T00:00:00.000",
) -> dict[str, Any]:
    keys_from = new or old or {}
    change: dict[str, Any] = {
        "Keys": {JobAttr.JOB_ID: {"S": keys_from.get(JobAttr.JOB_ID, "")}},
        "SequenceNumber": str(seq).rjust(21, "0"),
        "SizeBytes": 512,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
        "ApproximateCreationDateTime": 1_760_000_000,
    }
    if new is not None:
        change["NewImage"] = image(new)
    if old is not None:
        change["OldImage"] = image(old)
    return {
        "eventID": f"evt-{seq}",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": change,
        "eventSourceARN": stream_arn,
    }


def finished_job(
    job_id: str,
    user_id: str,
    created: datetime,
    *,
    queued_s: int,
    analysis_s: float,
    decision_s: float,
    decision: str | None = "approve",
    labels: list[tuple[str, float]] = (),
    flags: list[str] = (),
    failure: str | None = None,
    lease_seconds: int = 30,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(new image, old image) of the write that made a job terminal.

    `created` is on a whole second so the claim time (lease - timeout, whole seconds)
    is exact: created + queued_s.
    """
    claimed = created + timedelta(seconds=queued_s)
    analyzed = claimed + timedelta(seconds=analysis_s)
    completed = analyzed + timedelta(seconds=decision_s)
    parents = dict(LABELS)
    rek = {
        "labels": [
            {
                "name": n,
                "confidence": float(c),
                "parent": "",
                "top_level": parents.get(n, n),
                "level": 1,
            }
            for n, c in labels
        ],
        "model_version": "7.0",
        "min_confidence": 50.0,
        "source": "s3",
    }
    custom = {
        "flags": list(flags),
        "details": {f: f for f in flags},
        "scores": {"contrast": 0.4},
        JobAttr.CATEGORIES: [],
        "dhash": "0f0f0f0f0f0f0f0f",
        "width": 640,
        "height": 480,
    }
    base = {
        JobAttr.JOB_ID: job_id,
        JobAttr.USER_ID: user_id,
        JobAttr.CREATED_AT: iso(created),
        JobAttr.IMAGE_KEY: f"uploads/{job_id}",
        JobAttr.CONTENT_TYPE: "image/png",
        JobAttr.SIZE_BYTES: 123456,
        JobAttr.ATTEMPTS: 1,
        JobAttr.EXPIRES_AT: int(created.timestamp()) + 90 * 86400,
    }
    old = {
        **base,
        JobAttr.STATUS: "analyzing",
        JobAttr.UPDATED_AT: iso(analyzed),
        JobAttr.REKOGNITION_RESULT: rek,
        JobAttr.CUSTOM_RESULT: custom,
        JobAttr.DISPATCH_LEASE: int(claimed.timestamp()) + lease_seconds,
    }
    if failure is not None:
        new = {
            **base,
            JobAttr.STATUS: "failed",
            JobAttr.REASONS: [failure],
            JobAttr.COMPLETED_AT: iso(completed),
            JobAttr.UPDATED_AT: iso(completed),
        }
        return new, {
            k: v
            for k, v in old.items()
            if k not in (JobAttr.REKOGNITION_RESULT, JobAttr.CUSTOM_RESULT)
        }
    new = {
        **{k: v for k, v in old.items() if k != JobAttr.DISPATCH_LEASE},
        JobAttr.STATUS: "complete",
        JobAttr.DECISION: decision,
        JobAttr.REASONS: [f"rekognition: {n} ({c:.1f}%)" for n, c in labels],
        JobAttr.COMPLETED_AT: iso(completed),
        JobAttr.UPDATED_AT: iso(completed),
    }
    return new, old


def random_records(
    count: int,
    days: list[str],
    seed: int = 7,
    users: int = 500,
    failure_rate: float = 0.02,
    lease_seconds: int = 30,
    first_seq: int = 1,
) -> Iterator[dict[str, Any]]:
    """`count` terminal-job stream records spread over `days`, with plausible mixes."""
    rng = random.Random(seed)
    starts = [datetime.fromisoformat(d).replace(tzinfo=UTC) for d in days]
    per_day = -(-count // len(starts))
    for i in range(count):
        # the stream is in time order: consecutive records complete on the same day
        day = starts[min(i // per_day, len(starts) - 1)]
        created = day + timedelta(seconds=int(86000 * (i % per_day) / per_day))
        labels: list[tuple[str, float]] = []
        roll = rng.random()
        if roll < 0.25:
            labels = [(rng.choice(LABELS)[0], round(rng.uniform(50, 99.9), 3))]
            if rng.random() < 0.3:
                labels.append((rng.choice(LABELS)[0], round(rng.uniform(50, 99.9), 3)))
        top = max((c for _, c in labels), default=0)
        decision = (
            "reject"
            if top >= 90
            else "review"
            if top >= 50
            else ("warn" if rng.random() < 0.05 else "approve")
        )
        failure = rng.choice(FAILURES) if rng.random() < failure_rate else None
        new, old = finished_job(
            f"job-{seed}-{i:08d}",
            f"user-{rng.randrange(users):05d}",
            created,
            queued_s=rng.choice((0, 1, 1, 2, 3)),
            analysis_s=round(rng.lognormvariate(0.3, 0.5), 3),
            decision_s=round(rng.uniform(0.005, 0.05), 3),
            decision=decision,
            labels=labels,
            failure=failure,
            lease_seconds=lease_seconds,
        )
        yield stream_record(new, old, first_seq + i)
