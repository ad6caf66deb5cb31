"""Load runs against the local cloud's HTTP API, measured from the outside.

Uploads go through the gateway with real tokens; completion is observed the way a
client would: an SQS queue subscribed to the notification topic. The summary counts
what was accepted, what finished, what was notified more than once, and the
end-to-end latency from request to notification.
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import requests

from lambdas.common.contract import JobAttr, Output
from local.client import LocalCloudClient
from local.tools import fixtures


@dataclass
class LoadSummary:
    requested: int = 0
    accepted: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    poison_sent: int = 0
    completed: int = 0
    failed: int = 0
    unfinished: int = 0
    duplicate_notifications: int = 0
    decisions: dict[str, int] = field(default_factory=dict)
    unexpected_decisions: int = 0
    latency_ms: dict[str, float] = field(default_factory=dict)
    submit_seconds: float = 0.0
    wall_seconds: float = 0.0
    throughput_jobs_per_s: float = 0.0
    failure_reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def pct(p: float) -> float:
        k = (len(ordered) - 1) * p
        lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
        return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo), 1)

    return {
        "p50": pct(0.50),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "max": round(ordered[-1], 1),
        "mean": round(statistics.fmean(ordered), 1),
    }


def subscribe_notification_queue(sqs, sns, topic_arn: str, name: str) -> tuple[str, str]:
    """A queue subscribed (raw delivery) to the notification topic: (queue URL, subscription).

    A FIFO topic gets a FIFO queue, the subscriber SNS documents for FIFO topics.
    """
    attributes = {}
    if topic_arn.endswith(".fifo"):
        name, attributes = f"{name}.fifo", {"FifoQueue": "true"}
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    subscription = sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"RawMessageDelivery": "true"},
    )["SubscriptionArn"]
    return url, subscription


class NotificationListener:
    """An SQS queue subscribed (raw delivery) to the notification topic, drained in a thread."""

    def __init__(self, cloud: LocalCloudClient) -> None:
        self.sqs = cloud.client("sqs")
        sns = cloud.client("sns")
        self.url, self.subscription = subscribe_notification_queue(
            self.sqs,
            sns,
            cloud.outputs[Output.NOTIFICATION_TOPIC_ARN],
            f"load-listener-{uuid.uuid4().hex[:8]}",
        )
        self.sns = sns
        self.received: dict[str, list[tuple[float, dict]]] = {}
        # moto may hand one message to both receiving threads at once (its receive is
        # not atomic); a message received twice is one delivery, a second message is
        # a second notification.
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(2)]
        for t in self._threads:
            t.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            out = self.sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            )
            msgs = out.get("Messages", [])
            now = time.monotonic()
            for m in msgs:
                body = json.loads(m["Body"])
                with self._lock:
                    if m["MessageId"] in self._seen:
                        continue
                    self._seen.add(m["MessageId"])
                    self.received.setdefault(body[JobAttr.JOB_ID], []).append((now, body))
            if msgs:
                self.sqs.delete_message_batch(
                    QueueUrl=self.url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(msgs)
                    ],
                )

    def count(self, job_ids: set[str]) -> int:
        with self._lock:
            return sum(1 for j in job_ids if j in self.received)

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=3)
        self.sns.unsubscribe(SubscriptionArn=self.subscription)
        self.sqs.delete_queue(QueueUrl=self.url)


def _progress(label: str, done: int, total: int) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()
    if done >= total:
        sys.stderr.write("\n")


def run_load(
    cloud: LocalCloudClient,
    count: int,
    rate: float = 20.0,
    concurrency: int = 8,
    poison: int = 0,
    users: int = 5,
    seed: int = 7,
    timeout: float = 300.0,
    progress: bool = True,
    idempotency_keys: bool = False,
    poll_interval: float | None = None,
    items: Sequence[tuple[bytes, str]] | None = None,
) -> tuple[LoadSummary, dict[str, Any]]:
    """Send `count` uploads at `rate` per second; wait for every accepted job's notification.

    With `poll_interval`, each unfinished job is also polled through `GET /jobs/{id}`
    the way a client without a notification subscription would (what the status
    cache is for). `items` replaces the fixtures mix with prepared (bytes, content type)
    uploads, sent in order (the first `count`); their decisions are not checked. The
    details map each accepted job to its position in the sequence (`positions`).
    """
    if items is not None:
        if len(items) < count:
            raise ValueError(f"{count} uploads asked for, {len(items)} items prepared")
        work = [
            fixtures.Fixture("prepared", content_type, data, "")
            for data, content_type in items[:count]
        ]
    else:
        work = fixtures.workload(count, seed)
    tokens = [cloud.token(f"load-user-{i}") for i in range(users)]
    listener = NotificationListener(cloud)
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=concurrency, pool_maxsize=concurrency)
    session.mount("http://", adapter)
    summary = LoadSummary(requested=count)
    submitted: dict[str, tuple[float, str, int]] = {}
    positions: dict[str, int] = {}
    refused: Counter[str] = Counter()
    lock = threading.Lock()
    started = time.monotonic()
    interval = 1.0 / rate if rate > 0 else 0.0

    def submit(i: int) -> None:
        target = started + i * interval
        delay = target - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        fx = work[i]
        headers = {"Authorization": f"Bearer {tokens[i % users]}", "Content-Type": fx.content_type}
        if idempotency_keys:
            headers["Idempotency-Key"] = f"load-{seed}-{i}"
        t0 = time.monotonic()
        try:
            resp = session.post(f"{cloud.api_url}/jobs", data=fx.data, headers=headers, timeout=30)
        except requests.RequestException as exc:
            with lock:
                refused[f"transport: {type(exc).__name__}"] += 1
            return
        with lock:
            if resp.status_code == 202:
                job_id = resp.json()[JobAttr.JOB_ID]
                submitted[job_id] = (t0, fx.expected_decision, i % users)
                positions[job_id] = i
            else:
                try:
                    error = resp.json().get("error") or resp.json().get("message")
                except ValueError:
                    error = resp.text[:40]
                refused[f"{resp.status_code} {error}"] += 1

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [pool.submit(submit, i) for i in range(count)]
        for n, f in enumerate(futures, 1):
            f.result()
            if progress and (n % 10 == 0 or n == count):
                _progress("upload ", n, count)
    summary.submit_seconds = round(time.monotonic() - started, 2)

    if poison:
        sqs = cloud.client("sqs")
        for i in range(poison):
            body = "{not json" if i % 2 == 0 else json.dumps({JobAttr.JOB_ID: str(uuid.uuid4())})
            sqs.send_message(QueueUrl=cloud.outputs[Output.PROCESSING_QUEUE_URL], MessageBody=body)
        summary.poison_sent = poison

    ids = set(submitted)
    stop_polling = threading.Event()
    polls: Counter[int] = Counter()
    if poll_interval:
        owners = {job_id: tokens[user] for job_id, (_, _, user) in submitted.items()}
        threading.Thread(
            target=_poll_status,
            args=(cloud.api_url, submitted, owners, listener, poll_interval, stop_polling, polls),
            daemon=True,
        ).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = listener.count(ids)
        if progress:
            _progress("finish ", done, len(ids))
        if done >= len(ids):
            break
        time.sleep(0.5)
    stop_polling.set()
    listener.close()

    latencies, last = [], started
    decisions: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for job_id, (t0, expected, _) in submitted.items():
        notes = listener.received.get(job_id, [])
        if not notes:
            summary.unfinished += 1
            continue
        # A job is notified once when terminal and, if a moderator reviewed it meanwhile,
        # once more with the verdict: only a repeat of the same event is a duplicate.
        summary.duplicate_notifications += len(notes) - len({b.get("event") for _, b in notes})
        t_done, body = notes[0]
        last = max(last, t_done)
        latencies.append((t_done - t0) * 1000)
        if body[JobAttr.STATUS] == "complete":
            summary.completed += 1
            decisions[body[JobAttr.DECISION]] += 1
            summary.unexpected_decisions += int(
                bool(expected) and body[JobAttr.DECISION] != expected
            )
        else:
            summary.failed += 1
            for r in body.get(JobAttr.REASONS) or []:
                reasons[r.split(":")[0]] += 1
    summary.accepted = len(submitted)
    summary.refused = dict(refused)
    summary.decisions = dict(decisions)
    summary.failure_reasons = dict(reasons)
    summary.latency_ms = percentiles(latencies)
    summary.wall_seconds = round(last - started, 2)
    finished = summary.completed + summary.failed
    summary.throughput_jobs_per_s = round(finished / max(last - started, 1e-9), 2)
    return summary, {
        "job_ids": sorted(ids),
        "notifications": listener.received,
        "status_polls": dict(polls),
        "positions": positions,
        "latencies_ms": latencies,
    }


def _poll_status(api_url, submitted, owners, listener, interval, stop, polls) -> None:
    """Poll every job whose notification has not arrived yet, as a polling client would."""
    session = requests.Session()
    while not stop.wait(interval):
        for job_id in list(submitted):
            if job_id in listener.received or stop.is_set():
                continue
            resp = session.get(
                f"{api_url}/jobs/{job_id}",
                headers={"Authorization": f"Bearer {owners[job_id]}"},
                timeout=10,
            )
            polls[resp.status_code] += 1
