"""The review API at queue scale: listing latency and DynamoDB calls per review.

    python -m bench.review [--pending 10000] [--requests 300] [--page-size 25]
    python -m bench.review --quick      # 2,000 pending reviews (for `make bench`)

Seeds the program's own jobs table (built by the Pulumi program under mocks, on
in-process moto with the local cloud's index-query patches) with `--pending` jobs
awaiting review, each with Rekognition and custom results as the analyzers write them,
finished over the last day. Then, through the review function's handler (in process,
with its declared environment, a moderator's claims as API Gateway passes them):

- `GET /reviews` `--requests` times, each a page of `--page-size` from a random
  point of the queue (a cursor from a walk of the whole queue), timed around the
  handler of one warm execution environment (imported once, clients reused);
- the whole queue walked page by page: every job once, oldest first;
- a verdict on a sample of jobs, then a second verdict on each (the 409 path);

counting the DynamoDB calls each request makes. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

for key, value in {
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "POWERTOOLS_TRACE_DISABLED": "true",
}.items():
    os.environ.setdefault(key, value)

from moto import mock_aws  # noqa: E402

from lambdas.common.contract import JobAttr  # noqa: E402

GOAL_P95_MS = 300.0
VERDICT_SAMPLE = 100
MODERATOR = {"cognito:groups": "[moderators]"}  # as API Gateway hands the claim to Lambda


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pct(p: float) -> float:
        k = (len(ordered) - 1) * p
        lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
        return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo), 2)

    return {
        "p50": pct(0.5),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "max": round(ordered[-1], 2),
        "mean": round(statistics.fmean(ordered), 2),
    }


def record(rng: random.Random, i: int, now: datetime) -> dict[str, Any]:
    """A job as the pipeline leaves it in the queue: both results, decision `review`."""
    from common import jobs
    from common.timeutil import iso

    completed = now - timedelta(seconds=rng.random() * 86400)
    created = completed - timedelta(seconds=3)
    confidence = round(55 + rng.random() * 30, 3)
    job_id = str(uuid.UUID(int=rng.getrandbits(128)))
    return jobs.serialize(
        {
            JobAttr.JOB_ID: job_id,
            JobAttr.USER_ID: f"user-{i % 500}",
            JobAttr.STATUS: "complete",
            JobAttr.CREATED_AT: iso(created),
            JobAttr.UPDATED_AT: iso(completed),
            JobAttr.COMPLETED_AT: iso(completed),
            JobAttr.IMAGE_KEY: f"uploads/{job_id}/original",
            JobAttr.CONTENT_TYPE: "image/png",
            JobAttr.SIZE_BYTES: 180_000 + i,
            JobAttr.ATTEMPTS: 1,
            JobAttr.EXPIRES_AT: int(now.timestamp()) + 90 * 86400,
            JobAttr.DECISION: "review",
            JobAttr.REVIEW_STATE: "pending",
            JobAttr.REASONS: [
                f"rekognition: Violence ({confidence:.1f}%)",
                "signals disagree: only rekognition sees this, below the reject threshold",
            ],
            JobAttr.REKOGNITION_RESULT: {
                "labels": [
                    {
                        "name": "Violence",
                        "confidence": confidence,
                        "parent": "",
                        "top_level": "Violence",
                        "level": 1,
                    },
                    {
                        "name": "Graphic Violence",
                        "confidence": confidence - 1,
                        "parent": "Violence",
                        "top_level": "Violence",
                        "level": 2,
                    },
                ],
                "model_version": "7.0",
                "min_confidence": 50.0,
                "source": "s3",
            },
            JobAttr.CUSTOM_RESULT: {
                "flags": [],
                "details": {},
                "scores": {"contrast": round(rng.random(), 4)},
                JobAttr.CATEGORIES: [],
                "dhash": f"{rng.getrandbits(64):016x}",
                "width": 256,
                "height": 192,
            },
        }
    )


def seed(ddb: Any, table: str, n: int, now: datetime, rng: random.Random) -> None:
    batch: list[dict[str, Any]] = []
    for i in range(n):
        batch.append({"PutRequest": {"Item": record(rng, i, now)}})
        if len(batch) == 25 or i == n - 1:
            request: dict[str, Any] = {table: batch}
            while request:
                request = ddb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
            batch = []


class Calls:
    """DynamoDB operations a client makes, through botocore's before-call event."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-call.dynamodb.*", self._count)
        return client

    def _count(self, model: Any, **_: Any) -> None:
        self.counts[model.name] += 1

    def take(self) -> dict[str, int]:
        out = dict(self.counts)
        self.counts.clear()
        return out


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """The handlers log and flush EMF to stdout; keep this program's stdout for its JSON."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)


def run(pending: int, requests: int, page_size: int, seed_value: int = 7) -> dict[str, Any]:
    from common import clients
    from local.runtime.context import LambdaContext
    from tests.support.inprocess import api_event, build_stack

    rng = random.Random(seed_value)
    now = datetime.now(UTC)
    with mock_aws():
        stack = build_stack()
        table = stack.exports["jobs_table"]
        started = time.perf_counter()
        seed(stack.client("dynamodb"), table, pending, now, rng)
        seed_seconds = time.perf_counter() - started
        calls = Calls()
        environment = stack.environment("review")
        fn = environment.__enter__()
        # A warm execution environment: the handler imported once, its clients reused.
        module = importlib.import_module(fn.handler.rsplit(".", 1)[0])
        counted = calls.attach(clients.client("dynamodb"))
        module.client = lambda service: (
            counted if service == "dynamodb" else clients.client(service)
        )
        context = LambdaContext(
            function_name=fn.name,
            memory_limit_in_mb=fn.memory,
            invoked_function_arn=fn.arn,
            timeout_seconds=fn.timeout,
        )

        def invoke(event: dict[str, Any]) -> tuple[dict[str, Any], float]:
            t0 = time.perf_counter()
            resp = module.handler(event, context)
            return resp, (time.perf_counter() - t0) * 1000

        def list_event(limit: int, cursor: str | None) -> dict[str, Any]:
            query = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
            return api_event(
                "GET",
                "/reviews",
                user="bench-moderator",
                claims=MODERATOR,
                route_key="GET /reviews",
                query=query,
            )

        with quiet_stdout():
            # The whole queue, page by page: each job once, oldest first.
            walk_started = time.perf_counter()
            cursors: list[str | None] = [None]
            seen: list[tuple[str, str]] = []
            walk_calls: Counter[str] = Counter()
            while True:
                resp, _ = invoke(list_event(100, cursors[-1]))
                walk_calls.update(calls.take())
                page = json.loads(resp["body"])
                seen += [(i[JobAttr.COMPLETED_AT], i[JobAttr.JOB_ID]) for i in page["items"]]
                if not page["cursor"]:
                    break
                cursors.append(page["cursor"])
            walk_seconds = time.perf_counter() - walk_started
            # Pages of the moderator's size from random points of the queue.
            latencies, per_page = [], Counter[str]()
            for _ in range(requests):
                resp, ms = invoke(list_event(page_size, rng.choice(cursors)))
                assert resp["statusCode"] == 200, resp
                latencies.append(ms)
                per_page.update(calls.take())
            # Verdicts: one each, then a second (refused) one each.
            sample = rng.sample([job_id for _, job_id in seen], min(VERDICT_SAMPLE, len(seen)))
            verdict_ms, refused_ms = [], []
            per_verdict, per_refused = Counter[str](), Counter[str]()
            for job_id in sample:
                for decision, sink, counter, expected in (
                    ("approve", verdict_ms, per_verdict, 200),
                    ("reject", refused_ms, per_refused, 409),
                ):
                    event = api_event(
                        "POST",
                        f"/jobs/{job_id}/review",
                        user="bench-moderator",
                        claims=MODERATOR,
                        route_key="POST /jobs/{job_id}/review",
                        body=json.dumps({JobAttr.DECISION: decision, "note": "bench"}),
                        path_params={JobAttr.JOB_ID: job_id},
                    )
                    resp, ms = invoke(event)
                    assert resp["statusCode"] == expected, resp
                    sink.append(ms)
                    counter.update(calls.take())
        environment.__exit__(None, None, None)

    ordered = seen == sorted(seen)
    list_ms = percentiles(latencies)
    return {
        "pending_reviews": pending,
        "page_size": page_size,
        "requests": requests,
        "seed_seconds": round(seed_seconds, 2),
        "list_ms": list_ms,
        "goal_p95_ms": GOAL_P95_MS,
        "p95_under_goal": list_ms["p95"] < GOAL_P95_MS,
        "walk": {
            "pages_of_100": len(cursors),
            "jobs": len(seen),
            "distinct_jobs": len({j for _, j in seen}),
            "oldest_first": ordered,
            "seconds": round(walk_seconds, 2),
            "dynamodb_calls": dict(walk_calls),
        },
        "dynamodb_calls_per_request": {
            "list_page": {k: round(v / requests, 3) for k, v in per_page.items()},
            "verdict": {k: round(v / len(sample), 3) for k, v in per_verdict.items()},
            "second_verdict_409": {k: round(v / len(sample), 3) for k, v in per_refused.items()},
        },
        "verdict_ms": percentiles(verdict_ms),
        "second_verdict_ms": percentiles(refused_ms),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pending", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--page-size", type=int, default=25)
    parser.add_argument("--quick", action="store_true", help="2,000 pending, 100 requests")
    args = parser.parse_args(argv)
    if args.quick:
        args.pending, args.requests = 2_000, 100
    result = run(args.pending, args.requests, args.page_size)
    print(json.dumps(result, indent=2))
    ok = (
        result["p95_under_goal"]
        and result["walk"]["oldest_first"]
        and result["walk"]["distinct_jobs"] == args.pending
        and result["dynamodb_calls_per_request"]["list_page"] == {"Query": 1.0}
        and result["dynamodb_calls_per_request"]["verdict"] == {"UpdateItem": 1.0}
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
