"""Chaos runs: a load under injected faults, then the pipeline's invariants checked.

Faults: transient handler errors on every stage, crashes before and after a
handler's side effects, timeouts, duplicate SQS and async deliveries, poison
messages, a DynamoDB throttle burst, and execution environments killed in the
middle of an invocation. Clients retry failed uploads with the same
Idempotency-Key, as a well-behaved client does.

Invariants checked after the faults stop and the dead-letter queue is redriven:
every job the API created is in a terminal state, no job was notified twice, and
every poison message is back in the DLQ.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from lambdas.common.contract import JobAttr, Output
from local.client import LocalCloudClient
from local.tools import fixtures
from local.tools.load import NotificationListener, percentiles

DEFAULT_PLAN = {
    "error_rate": 0.03,
    "crash_before_rate": 0.01,
    "crash_after_rate": 0.01,
    "hang_rate": 0.003,
    "duplicate_sqs_rate": 0.05,
    "duplicate_async_rate": 0.05,
}


USER_PREFIX = "chaos-user-"


def _scan_jobs(cloud: LocalCloudClient) -> dict[str, dict]:
    """Every job a chaos client created (other traffic on the same cloud is ignored)."""
    ddb, table = cloud.client("dynamodb"), cloud.outputs[Output.JOBS_TABLE]
    items: dict[str, dict] = {}
    kwargs: dict[str, Any] = {
        "TableName": table,
        "ConsistentRead": True,
        "ProjectionExpression": f"{JobAttr.JOB_ID}, #s, {JobAttr.REASONS}, {JobAttr.USER_ID}",
        "ExpressionAttributeNames": {"#s": JobAttr.STATUS},
        "FilterExpression": f"begins_with({JobAttr.USER_ID}, :p)",
        "ExpressionAttributeValues": {":p": {"S": USER_PREFIX}},
    }
    while True:
        page = ddb.scan(**kwargs)
        for it in page["Items"]:
            items[it[JobAttr.JOB_ID]["S"]] = {
                JobAttr.STATUS: it[JobAttr.STATUS]["S"],
                JobAttr.REASONS: [r["S"] for r in it.get(JobAttr.REASONS, {}).get("L", [])],
            }
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _queue_messages(cloud: LocalCloudClient, url: str) -> tuple[int, int]:
    attrs = cloud.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def redrive_dlq(cloud: LocalCloudClient) -> dict[str, int]:
    """Move every DLQ message back to the processing queue: receive, send, then delete."""
    sqs = cloud.client("sqs")
    dlq, source = cloud.outputs[Output.DLQ_URL], cloud.outputs[Output.PROCESSING_QUEUE_URL]
    moved = failed = 0
    seen: set[str] = set()
    while True:
        out = sqs.receive_message(
            QueueUrl=dlq,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            VisibilityTimeout=60,
            MessageAttributeNames=["All"],
        )
        batch = [m for m in out.get("Messages", []) if m["MessageId"] not in seen]
        if not batch:
            return {"moved": moved, "failed": failed}
        for m in batch:
            seen.add(m["MessageId"])
            try:
                sqs.send_message(QueueUrl=source, MessageBody=m["Body"])
            except Exception:  # noqa: BLE001 - the message stays in the DLQ; counted
                failed += 1
                continue
            sqs.delete_message(QueueUrl=dlq, ReceiptHandle=m["ReceiptHandle"])
            moved += 1


def run_chaos(
    cloud: LocalCloudClient,
    count: int,
    rate: float = 20.0,
    seed: int = 11,
    timeout: float = 900.0,
    poison: int | None = None,
    plan: dict | None = None,
    throttle_burst_seconds: float = 8.0,
    kill_every_seconds: float = 3.0,
    concurrency: int = 8,
) -> dict[str, Any]:
    rng = random.Random(seed)
    poison = max(3, count // 200) if poison is None else poison
    work = fixtures.workload(count, seed)
    users = [f"{USER_PREFIX}{i}" for i in range(5)]
    tokens = {u: cloud.token(u) for u in users}
    listener = NotificationListener(cloud)
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=concurrency))
    plan = {**DEFAULT_PLAN, **(plan or {}), "seed": seed}
    cloud.control("faults", plan)
    stop_killing = threading.Event()
    kills: Counter[str] = Counter()
    functions = list(cloud.outputs[Output.FUNCTIONS])

    def killer() -> None:
        while not stop_killing.wait(kill_every_seconds):
            fn = rng.choice(functions)
            if cloud.control("kill-worker", {"function": fn}).get("killed"):
                kills[fn] += 1

    threading.Thread(target=killer, daemon=True).start()
    accepted: dict[str, float] = {}
    upload_failures: Counter[str] = Counter()
    lock = threading.Lock()
    started = time.monotonic()

    def submit(i: int) -> None:
        delay = started + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        fx, user = work[i], users[i % len(users)]
        headers = {
            "Authorization": f"Bearer {tokens[user]}",
            "Content-Type": fx.content_type,
            "Idempotency-Key": f"chaos-{seed}-{i}",
        }
        t0 = time.monotonic()
        for attempt in range(12):
            try:
                resp = session.post(
                    f"{cloud.api_url}/jobs", data=fx.data, headers=headers, timeout=30
                )
            except requests.RequestException as exc:
                with lock:
                    upload_failures[type(exc).__name__] += 1
                time.sleep(min(5.0, 0.5 * (attempt + 1)))
                continue
            if resp.status_code == 202:
                with lock:
                    accepted[resp.json()[JobAttr.JOB_ID]] = t0
                return
            with lock:
                upload_failures[str(resp.status_code)] += 1
            if resp.status_code < 500 and resp.status_code not in (409, 429):
                return
            time.sleep(min(5.0, 0.5 * (attempt + 1)))

    burst_at = max(1.0, count / rate / 2)

    def throttle_burst() -> None:
        time.sleep(burst_at)
        cloud.control(
            "faults",
            {
                **plan,
                "dynamodb_throttle_rate": 0.5,
                "dynamodb_throttle_seconds": throttle_burst_seconds,
            },
        )

    threading.Thread(target=throttle_burst, daemon=True).start()
    poison_bodies = []
    sqs = cloud.client("sqs")
    for i in range(poison):
        body = (
            "{not json" + str(i) if i % 2 == 0 else json.dumps({JobAttr.JOB_ID: str(uuid.uuid4())})
        )
        poison_bodies.append(body)
        sqs.send_message(QueueUrl=cloud.outputs[Output.PROCESSING_QUEUE_URL], MessageBody=body)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(submit, range(count)))
    submit_seconds = time.monotonic() - started

    # Faults stop; the pipeline drains; what remains in the DLQ is redriven once.
    deadline = time.monotonic() + timeout
    time.sleep(min(10.0, throttle_burst_seconds + 2))
    stop_killing.set()
    injected = cloud.control("faults")["injected"]
    cloud.control("clear-faults")

    redriven: dict[str, int] = {}
    while time.monotonic() < deadline:
        jobs = _scan_jobs(cloud)
        open_jobs = [j for j, v in jobs.items() if v[JobAttr.STATUS] not in ("complete", "failed")]
        processing = _queue_messages(cloud, cloud.outputs[Output.PROCESSING_QUEUE_URL])
        async_pending = cloud.control("status")["async_pending"]
        if not open_jobs and processing == (0, 0) and async_pending == 0:
            break
        if open_jobs and processing == (0, 0) and async_pending == 0 and not redriven:
            # Jobs whose messages died during the faults: redrive them now.
            redriven = redrive_dlq(cloud)
        time.sleep(2.0)

    # Let every notification and the redriven poison messages land.
    notify_deadline = time.monotonic() + 60
    jobs = _scan_jobs(cloud)
    while time.monotonic() < notify_deadline and listener.count(set(jobs)) < len(jobs):
        time.sleep(1.0)
    dlq_deadline = time.monotonic() + 60
    while time.monotonic() < dlq_deadline and len(_dlq_bodies(cloud)) < len(poison_bodies):
        time.sleep(1.0)
    listener.close()

    jobs = _scan_jobs(cloud)
    terminal = {j: v for j, v in jobs.items() if v[JobAttr.STATUS] in ("complete", "failed")}
    notes = {j: len(listener.received.get(j, [])) for j in jobs}
    twice = [j for j, n in notes.items() if n > 1]
    unnotified = [j for j, n in notes.items() if n == 0]
    dlq_bodies = _dlq_bodies(cloud)
    poison_in_dlq = sum(1 for b in poison_bodies if b in dlq_bodies)
    latencies = [
        (listener.received[j][0][0] - accepted[j]) * 1000
        for j in accepted
        if listener.received.get(j)
    ]
    reasons = Counter(
        (v[JobAttr.REASONS][0].split(":")[0] if v[JobAttr.REASONS] else "?")
        for v in terminal.values()
        if v[JobAttr.STATUS] == "failed"
    )
    report = {
        "jobs_requested": count,
        "jobs_accepted": len(accepted),
        "jobs_created": len(jobs),
        "jobs_terminal": len(terminal),
        "complete": sum(1 for v in terminal.values() if v[JobAttr.STATUS] == "complete"),
        "failed": sum(1 for v in terminal.values() if v[JobAttr.STATUS] == "failed"),
        "failure_reasons": dict(reasons),
        "jobs_notified_twice": len(twice),
        "jobs_not_notified": len(unnotified),
        "poison_sent": len(poison_bodies),
        "poison_in_dlq": poison_in_dlq,
        "dlq_redrive": redriven,
        "upload_retries": dict(upload_failures),
        "faults_injected": injected,
        "workers_killed": dict(kills),
        "submit_seconds": round(submit_seconds, 1),
        "latency_ms": percentiles(latencies),
    }
    report["passed"] = (
        set(accepted) <= set(terminal)
        and len(terminal) == len(jobs)
        and not twice
        and not unnotified
        and poison_in_dlq == len(poison_bodies)
    )
    return report


def _dlq_bodies(cloud: LocalCloudClient) -> set[str]:
    """Peek at every DLQ message: receive them all, then make them visible again."""
    sqs, url = cloud.client("sqs"), cloud.outputs[Output.DLQ_URL]
    seen: dict[str, dict] = {}
    while True:
        out = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30, WaitTimeSeconds=0
        )
        msgs = [m for m in out.get("Messages", []) if m["MessageId"] not in seen]
        if not msgs:
            break
        seen.update({m["MessageId"]: m for m in msgs})
    entries = [
        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
        for i, m in enumerate(seen.values())
    ]
    for i in range(0, len(entries), 10):
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries[i : i + 10])
    return {m["Body"] for m in seen.values()}
