"""Status polling with the cache off and on: DynamoDB reads per request, latency, staleness.

    python -m bench.cache            # the full run (~11 minutes on 2 cores), prints JSON
    python -m bench.cache --quick    # a smaller run for a smoke test

Workload: `clients` clients each upload a batch of `jobs / clients` jobs at a random
moment in the first `window` seconds and poll every job of the batch every
`poll_interval` seconds until they have seen it terminal. A job moves
pending -> analyzing -> complete (or failed) over a few seconds, written to DynamoDB
by a driver thread with the same conditional writes the pipeline uses. Status
requests run the real status path (`common.status.job_for_caller` over
`common.status_cache.StatusCache`) on `envs` threads, each one warm execution
environment with its own in-process LRU, all sharing one real `redis-server`.
DynamoDB is in-process moto; GetItem calls are counted by wrapping the client.

What is measured:
- DynamoDB reads per status request, cache off vs on (the ratio is the reduction);
- status latency (p50/p95/p99 of the status call itself) off vs on. moto answers a
  GetItem in about 1.2 ms of CPU and the two cores are shared by every simulated
  client, so absolute numbers are this machine's, not AWS's; the ratio is the point;
- staleness: every answer is checked against the time the driver's write that changed
  the job had returned. A non-terminal answer may be at most `active_ttl` old; an
  answer about a job that was terminal before `active_ttl` ago must be terminal and
  equal to the final record.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from common import jobs, status  # noqa: E402
from common.contract import TERMINAL_STATUSES, JobAttr, Status  # noqa: E402
from common.status_cache import (  # noqa: E402
    CircuitBreaker,
    LocalLru,
    RemoteCache,
    StatusCache,
    redis_connector,
)
from common.timeutil import iso, utcnow  # noqa: E402
from components.caching import STATUS_ACCESS_STRING  # noqa: E402
from local.moto_patches.atomic import make_dynamodb_atomic  # noqa: E402
from local.twins.elasticache import CacheServer  # noqa: E402

TABLE = "bench-jobs"
MAX_DRIVER_LAG = 0.05
ORDER = {Status.PENDING: 0, Status.ANALYZING: 1, Status.COMPLETE: 2, Status.FAILED: 2}


@dataclass
class Workload:
    jobs: int = 10_000
    clients: int = 1_000
    window: float = 300.0
    poll_interval: float = 0.1
    envs: int = 16
    pending_seconds: tuple[float, float] = (0.5, 1.5)
    analyzing_seconds: tuple[float, float] = (1.0, 3.0)
    failed_fraction: float = 0.05
    active_ttl: float = 1.0
    terminal_ttl: float = 3600.0
    local_lru_size: int = 1024
    seed: int = 7


@dataclass
class JobTruth:
    """When each status became visible: the moment the driver's write returned."""

    user: str
    final: str
    changes: list[tuple[float, str]] = field(default_factory=list)
    decision: str | None = None


class CountingDynamoDB:
    """The boto3 client, with GetItem counted (the cost the cache is meant to save)."""

    def __init__(self, client) -> None:
        self._client = client
        self._lock = threading.Lock()
        self.get_items = 0

    def get_item(self, **kwargs):
        with self._lock:
            self.get_items += 1
        return self._client.get_item(**kwargs)


class Counts:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def add_metric(self, name, unit, value):
        with self._lock:
            self.counts[name] += value


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def create_table(ddb) -> None:
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def plan(
    w: Workload, rng: random.Random
) -> tuple[dict[str, list[str]], list[tuple[float, str, str]]]:
    """Each client's batch and the timeline of status changes (relative seconds)."""
    per_client = w.jobs // w.clients
    batches: dict[str, list[str]] = {}
    timeline: list[tuple[float, str, str]] = []
    for c in range(w.clients):
        user = f"client-{c}"
        start = rng.uniform(0, w.window)
        batch = []
        for _ in range(per_client):
            job_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            batch.append(job_id)
            created = start + rng.uniform(0, 0.2)
            analyzing = created + rng.uniform(*w.pending_seconds)
            done = analyzing + rng.uniform(*w.analyzing_seconds)
            final = Status.FAILED if rng.random() < w.failed_fraction else Status.COMPLETE
            timeline += [
                (created, job_id, Status.PENDING),
                (analyzing, job_id, Status.ANALYZING),
                (done, job_id, final),
            ]
        batches[user] = batch
    timeline.sort()
    return batches, timeline


def drive(
    ddb,
    timeline,
    users,
    truth: dict[str, JobTruth],
    t0: float,
    stop: threading.Event,
    created: Callable[[str], None],
    lags: list[float],
    reads_open: threading.Event,
) -> None:
    """Apply each status change at its time with the pipeline's conditional writes.

    In one Python process the pollers would starve the writer of the GIL and moto's
    lock, stretching every job's life; on AWS reads do not delay writes. So while
    the driver is more than `MAX_DRIVER_LAG` behind, new status requests wait
    (`reads_open`); that wait is not counted in their latency.
    """
    for at, job_id, new in timeline:
        delay = t0 + at - time.time()
        if delay > 0:
            reads_open.set()
            if stop.wait(delay):
                return
        elif -delay > MAX_DRIVER_LAG:
            reads_open.clear()
        else:
            reads_open.set()
        lags.append(max(0.0, -delay))
        _write(ddb, job_id, new, users, truth)
        truth[job_id].changes.append((time.time(), new))
        if new == Status.PENDING:
            created(job_id)
    reads_open.set()


def _write(ddb, job_id: str, new: str, users: dict[str, str], truth: dict[str, JobTruth]) -> None:
    if new == Status.PENDING:
        item = {
            JobAttr.JOB_ID: job_id,
            JobAttr.USER_ID: users[job_id],
            JobAttr.STATUS: Status.PENDING,
            JobAttr.CREATED_AT: iso(utcnow()),
            JobAttr.UPDATED_AT: iso(utcnow()),
            JobAttr.ATTEMPTS: 0,
        }
        ddb.put_item(
            TableName=TABLE,
            Item=jobs.serialize(item),
            ConditionExpression=f"attribute_not_exists({JobAttr.JOB_ID})",
        )
    else:
        expected = Status.PENDING if new == Status.ANALYZING else Status.ANALYZING
        names = {"#s": JobAttr.STATUS}
        values = {":new": {"S": new}, ":expected": {"S": expected}, ":now": {"S": iso(utcnow())}}
        update = f"SET #s = :new, {JobAttr.UPDATED_AT} = :now"
        if new in TERMINAL_STATUSES:
            decision = "approve" if new == Status.COMPLETE else None
            update += f", {JobAttr.COMPLETED_AT} = :now"
            if decision:
                update += f", {JobAttr.DECISION} = :d"
                values[":d"] = {"S": decision}
            truth[job_id].decision = decision
        ddb.update_item(
            TableName=TABLE,
            Key={JobAttr.JOB_ID: {"S": job_id}},
            UpdateExpression=update,
            ConditionExpression="#s = :expected",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )


@dataclass
class Answer:
    job_id: str
    started: float
    status: str | None
    decision: str | None


def run_mode(w: Workload, cache_url: str | None, credentials) -> dict:
    rng = random.Random(w.seed)
    batches, timeline = plan(w, rng)
    users = {j: u for u, batch in batches.items() for j in batch}
    with mock_aws():
        make_dynamodb_atomic()
        raw = boto3.client("dynamodb")
        create_table(raw)
        ddb = CountingDynamoDB(raw)
        truth = {
            j: JobTruth(user=users[j], final=s) for _, j, s in timeline if s in TERMINAL_STATUSES
        }
        metrics = Counts()

        def loader(job_id: str, consistent: bool = cache_url is not None):
            # As the status function: strongly consistent reads behind the cache.
            return jobs.get_job(ddb, TABLE, job_id, consistent=consistent)

        def environment():
            if cache_url is None:
                return loader
            return StatusCache(
                loader,
                local=LocalLru(w.local_lru_size),
                remote=RemoteCache(redis_connector(cache_url, credentials)),
                terminal_ttl=w.terminal_ttl,
                active_ttl=w.active_ttl,
                metrics=metrics,
                breaker=CircuitBreaker(),
            ).get

        envs = [environment() for _ in range(w.envs)]
        # Clients: when each polls next, and which of its jobs it still waits for.
        t0 = time.time() + 1.0
        # A client starts polling when its upload was accepted: once its batch exists.
        heap: list[tuple[float, str]] = []
        uncreated = {u: len(b) for u, b in batches.items()}
        waiting = {u: set(b) for u, b in batches.items()}
        remaining = [len(batches)]  # clients still waiting for a job
        lags: list[float] = []
        reads_open = threading.Event()
        reads_open.set()
        answers: list[Answer] = []
        latencies: list[float] = []
        lock = threading.Condition()
        stop = threading.Event()
        errors: list[str] = []

        def poll_round(load, user: str) -> None:
            for job_id in sorted(waiting[user]):
                reads_open.wait()
                started = time.time()
                t = time.perf_counter()
                view = status.job_for_caller(load, job_id, user)
                elapsed = time.perf_counter() - t
                answer = Answer(
                    job_id,
                    started,
                    view and view.get(JobAttr.STATUS),
                    view and view.get(JobAttr.DECISION),
                )
                with lock:
                    latencies.append(elapsed)
                    answers.append(answer)
                if view is not None and view[JobAttr.STATUS] in TERMINAL_STATUSES:
                    waiting[user].discard(job_id)

        def worker(load) -> None:
            try:
                while True:
                    with lock:
                        while not heap and remaining[0] > 0 and not stop.is_set():
                            lock.wait(0.1)
                        if not heap:
                            return
                        due, user = heapq.heappop(heap)
                    delay = due - time.time()
                    if delay > 0:
                        time.sleep(delay)
                    poll_round(load, user)
                    with lock:
                        if waiting[user]:
                            heapq.heappush(heap, (max(due + w.poll_interval, time.time()), user))
                        else:
                            remaining[0] -= 1
                        lock.notify_all()
            except Exception as exc:  # noqa: BLE001 - reported in the JSON; a bench must finish
                errors.append(repr(exc))

        def created(job_id: str) -> None:
            user = users[job_id]
            with lock:
                uncreated[user] -= 1
                if uncreated[user] == 0:
                    heapq.heappush(heap, (time.time(), user))
                    lock.notify_all()

        driver = threading.Thread(
            target=drive,
            args=(raw, timeline, users, truth, t0, stop, created, lags, reads_open),
        )
        threads = [threading.Thread(target=worker, args=(load,)) for load in envs]
        wall = time.time()
        driver.start()
        for t in threads:
            t.start()
        driver.join()
        # Every job is terminal now; clients finish within a poll interval or two.
        for t in threads:
            t.join(timeout=120)
        stop.set()
        wall = time.time() - wall

    requests = len(answers)
    lifecycles = [t.changes[-1][0] - t.changes[0][0] for t in truth.values() if t.changes]
    return {
        "requests": requests,
        "dynamodb_get_item": ddb.get_items,
        "reads_per_request": round(ddb.get_items / max(requests, 1), 4),
        "requests_per_second": round(requests / wall, 1),
        "polls_per_job": round(requests / w.jobs, 2),
        "latency_ms": {
            "p50": round(percentile(latencies, 50) * 1000, 3),
            "p95": round(percentile(latencies, 95) * 1000, 3),
            "p99": round(percentile(latencies, 99) * 1000, 3),
        },
        "cache_metrics": dict(metrics.counts),
        # How late the driver applied status changes (CPU contention), and so how long
        # jobs really stayed non-terminal: polls per job follow from these.
        "driver_lag_s": {
            "p50": round(percentile(lags, 50), 3),
            "p95": round(percentile(lags, 95), 3),
        },
        "job_lifecycle_s": {
            "p50": round(percentile(lifecycles, 50), 2),
            "p95": round(percentile(lifecycles, 95), 2),
        },
        "staleness": staleness(answers, truth, w.active_ttl),
        "wall_seconds": round(wall, 1),
        "errors": errors[:5],
    }


def staleness(answers: list[Answer], truth: dict[str, JobTruth], ttl: float) -> dict:
    """Check every answer against the timeline of writes."""
    worst = 0.0
    over_ttl = wrong_terminal = missing = 0
    for a in answers:
        t = truth[a.job_id]
        if a.status is None:
            # Polled before the job's first write returned: only then may it be missing.
            if not t.changes or a.started > t.changes[0][0]:
                missing += 1
            continue
        newer = [at for at, s in t.changes if ORDER[s] > ORDER[a.status]]
        if newer and a.started > newer[0]:
            age = a.started - newer[0]
            worst = max(worst, age)
            if age > ttl:
                over_ttl += 1
        if a.status in TERMINAL_STATUSES and (a.status != t.final or a.decision != t.decision):
            wrong_terminal += 1
    return {
        "max_non_terminal_staleness_s": round(worst, 3),
        "answers_staler_than_active_ttl": over_ttl,
        "wrong_terminal_answers": wrong_terminal,
        "missing_answers_for_existing_jobs": missing,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 jobs, 100 clients, 30 s window")
    parser.add_argument("--jobs", type=int)
    parser.add_argument("--clients", type=int)
    parser.add_argument("--window", type=float)
    parser.add_argument("--poll-interval", type=float)
    parser.add_argument("--envs", type=int)
    parser.add_argument("--active-ttl", type=float)
    args = parser.parse_args(argv)
    # Switch threads more often than every 5 ms so the driver's writes keep their schedule.
    sys.setswitchinterval(0.001)
    w = Workload()
    if args.quick:
        w.jobs, w.clients, w.window = 1_000, 100, 30.0
    for name in ("jobs", "clients", "window", "poll_interval", "envs", "active_ttl"):
        if getattr(args, name) is not None:
            setattr(w, name, getattr(args, name))

    with tempfile.TemporaryDirectory() as tmp, CacheServer(Path(tmp) / "redis") as server:
        user, password = "status-function", os.urandom(24).hex()
        server.admin().execute_command(
            "ACL", "SETUSER", user, "reset", *STATUS_ACCESS_STRING.split(), f">{password}"
        )
        off = run_mode(w, None, None)
        on = run_mode(w, server.url, lambda: (user, password))

    reduction = off["reads_per_request"] / max(on["reads_per_request"], 1e-9)
    s = on["staleness"]
    result = {
        "benchmark": "status cache",
        "workload": {
            **{k: v for k, v in vars(w).items()},
            "dynamodb": "moto in-process (GetItem counted by a wrapper)",
            "cache": "local redis-server, status user with the declared ACL",
        },
        "cache_off": off,
        "cache_on": on,
        "ratios": {
            "dynamodb_reads_per_request_off_over_on": round(reduction, 2),
            "p95_latency_off_over_on": round(
                off["latency_ms"]["p95"] / max(on["latency_ms"]["p95"], 1e-9), 2
            ),
        },
        "targets": {
            "reads_reduced_at_least_10x": reduction >= 10,
            "no_stale_terminal_answer": s["wrong_terminal_answers"] == 0,
            "no_answer_staler_than_active_ttl": s["answers_staler_than_active_ttl"] == 0,
        },
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
