"""How long each dashboard page takes to load its data, at scale, on in-process moto.

    python -m bench.dashboard_load [--jobs 100000] [--log-lines 10000] [--window-hours 1]
    python -m bench.dashboard_load --quick     # 10,000 jobs (for `make bench`)

Seeds the program's own resources (built by the Pulumi program under mocks) with
`--jobs` jobs spread over the last day (through BatchWriteItem), `--log-lines` Lambda
log lines (START/END/REPORT and Powertools lines of real job ids), an hour of AWS/Lambda,
AWS/SQS and Moderation metrics, DLQ messages and an analytics report. Then, for every
page, it runs exactly the data-layer calls the page's loaders make, cold (no cache),
and prints one JSON document: seconds per page, the time spent inside AWS API calls
(moto, here) per operation, and the seeding figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lambdas.common.contract import JobAttr, Output

ROOT = Path(__file__).resolve().parent.parent
for key, value in {
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "POWERTOOLS_TRACE_DISABLED": "true",
}.items():
    os.environ.setdefault(key, value)

from moto import mock_aws  # noqa: E402

BUDGET_SECONDS = 2.0
STATUS_MIX = (("complete", 0.955), ("failed", 0.03), ("analyzing", 0.01), ("pending", 0.005))
DECISIONS = (("approve", 0.7), ("warn", 0.15), ("reject", 0.1), ("review", 0.05))
FUNCTIONS = ("upload", "dispatcher", "rekognition_analyzer", "custom_analyzer", "notifier")


class ApiTimer:
    """Time spent inside each AWS API call, via botocore's before/after-call events."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.intervals: list[tuple[float, float]] = []
        self._started: dict[int, float] = {}

    def attach(self, client) -> None:
        client.meta.events.register("before-call.*.*", self._before)
        client.meta.events.register("after-call.*.*", self._after)

    def _before(self, model, **kwargs) -> None:
        self._started[id(kwargs.get("context"))] = time.perf_counter()

    def _after(self, model, **kwargs) -> None:
        started = self._started.pop(id(kwargs.get("context")), None)
        if started is not None:
            name = f"{model.service_model.service_name}.{model.name}"
            ended = time.perf_counter()
            self.seconds[name] += ended - started
            self.calls[name] += 1
            self.intervals.append((started, ended))

    def take(self) -> tuple[dict[str, dict[str, float]], float]:
        """Per operation (calls, summed seconds) and the wall time with any call in flight
        (calls run concurrently, so summed seconds can exceed the wall time)."""
        out = {
            k: {"calls": self.calls[k], "seconds": round(v, 3)}
            for k, v in sorted(self.seconds.items(), key=lambda kv: -kv[1])
        }
        wall, last_end = 0.0, float("-inf")
        for begin, finish in sorted(self.intervals):
            if finish > last_end:
                wall += finish - max(begin, last_end)
                last_end = finish
        self.seconds.clear()
        self.calls.clear()
        self.intervals.clear()
        return out, wall


def pick(rng: random.Random, weighted) -> str:
    x, acc = rng.random(), 0.0
    for value, weight in weighted:
        acc += weight
        if x <= acc:
            return value
    return weighted[-1][0]


def seed_jobs(ddb, table: str, n: int, now: datetime, rng: random.Random) -> list[dict]:
    from dashboard.data.jobs import iso

    jobs, batch = [], []
    for i in range(n):
        created = now - timedelta(seconds=rng.random() * 86400)
        status = pick(rng, STATUS_MIX)
        job = {
            JobAttr.JOB_ID: str(uuid.UUID(int=rng.getrandbits(128))),
            JobAttr.STATUS: status,
            "created": created,
        }
        item = {
            JobAttr.JOB_ID: {"S": job[JobAttr.JOB_ID]},
            JobAttr.STATUS: {"S": status},
            JobAttr.CREATED_AT: {"S": iso(created)},
            JobAttr.UPDATED_AT: {"S": iso(created)},
            JobAttr.USER_ID: {"S": f"user-{i % 200}"},
            JobAttr.IMAGE_KEY: {"S": f"uploads/{i}/original"},
            JobAttr.CONTENT_TYPE: {"S": "image/png"},
            JobAttr.SIZE_BYTES: {"N": str(200_000)},
            JobAttr.ATTEMPTS: {"N": "1"},
        }
        if status in ("complete", "failed"):
            done = created + timedelta(seconds=2 + rng.expovariate(1 / 3))
            item[JobAttr.COMPLETED_AT] = {"S": iso(done)}
            item[JobAttr.UPDATED_AT] = item[JobAttr.COMPLETED_AT]
            if status == "complete":
                item[JobAttr.DECISION] = {"S": pick(rng, DECISIONS)}
                item[JobAttr.REASONS] = {"L": [{"S": "no flags"}]}
            else:
                item[JobAttr.REASONS] = {
                    "L": [{"S": "deadline exceeded: still analyzing after 900 s"}]
                }
        jobs.append(job)
        batch.append({"PutRequest": {"Item": item}})
        if len(batch) == 25 or i == n - 1:
            request = {table: batch}
            while request:
                request = ddb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
            batch = []
    return jobs


def seed_logs(
    logs, groups: dict[str, str], jobs: list[dict], lines: int, now: datetime, rng: random.Random
) -> str:
    """`lines` log lines (5 per invocation) for recent jobs; returns a job id to trace."""
    recent = sorted(
        (j for j in jobs if j[JobAttr.STATUS] == "complete"), key=lambda j: j["created"]
    )[-max(1, lines // (5 * len(FUNCTIONS))) :]
    per_group: dict[str, list[dict]] = defaultdict(list)
    count = 0
    for job in recent:
        t = job["created"]
        for fn in FUNCTIONS:
            if count >= lines:
                break
            rid = str(uuid.UUID(int=rng.getrandbits(128)))
            duration = rng.uniform(20, 400)
            cold = rng.random() < 0.02
            start = int(t.timestamp() * 1000)
            end = start + int(duration)
            report = (
                f"REPORT RequestId: {rid}\tDuration: {duration:.2f} ms\tBilled Duration: "
                f"{int(duration) + 1} ms\tMemory Size: 256 MB\tMax Memory Used: "
                f"{rng.randint(90, 180)} MB\t"
                + (f"Init Duration: {rng.uniform(300, 900):.2f} ms\t" if cold else "")
            )
            doc = {
                "level": "INFO",
                "message": f"{fn} step",
                "service": fn,
                "function_request_id": rid,
                JobAttr.JOB_ID: job[JobAttr.JOB_ID],
            }
            per_group[groups[fn]] += [
                {"timestamp": start, "message": f"START RequestId: {rid} Version: $LATEST"},
                {"timestamp": start + 1, "message": json.dumps(doc)},
                {"timestamp": end - 1, "message": json.dumps({**doc, "message": "done"})},
                {"timestamp": end, "message": f"END RequestId: {rid}"},
                {"timestamp": end, "message": report},
            ]
            count += 5
            t += timedelta(milliseconds=duration + rng.uniform(50, 800))
    for group, events in per_group.items():
        logs.create_log_stream(logGroupName=group, logStreamName="bench")
        events.sort(key=lambda e: e["timestamp"])
        for i in range(0, len(events), 5000):
            logs.put_log_events(
                logGroupName=group, logStreamName="bench", logEvents=events[i : i + 5000]
            )
    return recent[-1][JobAttr.JOB_ID]


def seed_metrics(cw, outputs: dict, now: datetime, rng: random.Random) -> int:
    from dashboard.data.queues import queue_name

    data: dict[str, list[dict]] = defaultdict(list)
    for minute in range(60):
        ts = now - timedelta(minutes=60 - minute)

        def put(ns, name, value, unit="Count", ts=ts, **dims):
            data[ns].append(
                {
                    "MetricName": name,
                    "Value": value,
                    "Unit": unit,
                    "Timestamp": ts,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                }
            )

        for fn in outputs[Output.FUNCTIONS].values():
            put("AWS/Lambda", "Invocations", rng.randint(50, 90), FunctionName=fn)
            put("AWS/Lambda", "Errors", rng.randint(0, 1), FunctionName=fn)
            put("AWS/Lambda", "Throttles", 0, FunctionName=fn)
            put("AWS/Lambda", "Duration", rng.uniform(50, 400), "Milliseconds", FunctionName=fn)
            put("AWS/Lambda", "ConcurrentExecutions", rng.randint(1, 5), FunctionName=fn)
        for url in (
            outputs[Output.PROCESSING_QUEUE_URL],
            outputs[Output.DLQ_URL],
            outputs[Output.FAILURE_QUEUE_URL],
        ):
            for metric in (
                "ApproximateNumberOfMessagesVisible",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ):
                put("AWS/SQS", metric, rng.randint(0, 20), QueueName=queue_name(url))
            put(
                "AWS/SQS",
                "ApproximateAgeOfOldestMessage",
                rng.uniform(0, 30),
                "Seconds",
                QueueName=queue_name(url),
            )
        put("Moderation", "JobsAccepted", rng.randint(60, 80), service="upload")
        put("Moderation", "JobsComplete", rng.randint(55, 75), service="notifier")
        put("Moderation", "JobsFailed", rng.randint(0, 3), service="notifier")
    total = 0
    for ns, items in data.items():
        for i in range(0, len(items), 1000):
            cw.put_metric_data(Namespace=ns, MetricData=items[i : i + 1000])
        total += len(items)
    return total


def run(jobs_count: int, log_lines: int, window: timedelta, parallel: bool = True) -> dict:
    from dashboard.data import (
        alarms,
        analytics,
        cost,
        dlq,
        functions,
        jobs,
        metrics,
        queues,
        throughput,
        trace,
    )
    from dashboard.data.target import Target, TargetSpec
    from tests.support.inprocess import build_stack

    rng = random.Random(4)
    with mock_aws():
        t0 = time.perf_counter()
        stack = build_stack()
        outputs = dict(stack.exports)
        build_s = time.perf_counter() - t0
        tgt = Target(spec=TargetSpec("outputs", "bench"), outputs=outputs, region="us-east-1")
        now = datetime.now(UTC)

        t0 = time.perf_counter()
        seeded = seed_jobs(tgt.client("dynamodb"), outputs[Output.JOBS_TABLE], jobs_count, now, rng)
        jobs_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        trace_job = seed_logs(
            tgt.client("logs"), outputs[Output.LOG_GROUPS], seeded, log_lines, now, rng
        )
        datapoints = seed_metrics(tgt.client("cloudwatch"), outputs, now, rng)
        sqs = tgt.client("sqs")
        for job in seeded[:50]:
            sqs.send_message(
                QueueUrl=outputs[Output.DLQ_URL],
                MessageBody=json.dumps({JobAttr.JOB_ID: job[JobAttr.JOB_ID]}),
            )
        s3 = tgt.client("s3")
        outputs[Output.RESULTS_BUCKET] = "bench-results"
        s3.create_bucket(Bucket="bench-results")
        s3.put_object(
            Bucket="bench-results",
            Key=f"reports/dt={now.date()}/summary.json",
            Body=json.dumps(
                {
                    "generated_at": now.isoformat(),
                    "rows": jobs_count,
                    "daily": [],
                    "top_labels": [],
                    "users": [],
                    "latency_seconds": {},
                    "failure_reasons": [],
                }
            ),
        )
        other_s = time.perf_counter() - t0

        timer = ApiTimer()
        for service in ("dynamodb", "cloudwatch", "logs", "sqs", "s3"):
            timer.attach(tgt.client(service))
        timer.take()
        start, end = now - window, datetime.now(UTC) + timedelta(minutes=1)
        period = metrics.choose_period(window)
        fns, groups = outputs[Output.FUNCTIONS], outputs[Output.LOG_GROUPS]
        settings = tgt.function_settings()
        deadline = 900

        def cost_page():
            stats = functions.function_stats(
                tgt.client("cloudwatch"),
                tgt.client("logs"),
                fns,
                groups,
                settings,
                start,
                end,
                period,
            )
            accepted = throughput.totals(
                throughput.job_metrics(tgt.client("cloudwatch"), start, end, period)
            )["JobsAccepted"]
            return cost.estimate(cost.measured(cost.Workload(), stats.summary, accepted))

        pages = {
            "overview": lambda: (
                jobs.jobs_overview(
                    tgt.client("dynamodb"),
                    outputs[Output.JOBS_TABLE],
                    now,
                    window,
                    deadline,
                    parallel=parallel,
                ),
                throughput.job_metrics(tgt.client("cloudwatch"), start, end, period),
                functions.metric_series(tgt.client("cloudwatch"), fns, start, end, period),
                queues.snapshot(sqs, tgt.client("cloudwatch"), tgt.queues(), now),
                alarms.alarms(tgt.client("cloudwatch"), list(outputs[Output.ALARM_NAMES])),
            ),
            "queues": lambda: (
                queues.snapshot(sqs, tgt.client("cloudwatch"), tgt.queues(), now),
                queues.history(tgt.client("cloudwatch"), tgt.queues(), start, end, period),
            ),
            "dead_letters": lambda: (
                queues.attributes(sqs, outputs[Output.DLQ_URL]),
                dlq.with_jobs(
                    dlq.peek(sqs, outputs[Output.DLQ_URL], 50, 20, wait_seconds=0).messages,
                    tgt.client("dynamodb"),
                    outputs[Output.JOBS_TABLE],
                ),
            ),
            "lambdas": lambda: functions.function_stats(
                tgt.client("cloudwatch"),
                tgt.client("logs"),
                fns,
                groups,
                settings,
                start,
                end,
                period,
            ),
            # a job id typed in: the trace alone
            "job_trace": lambda: (
                None,
                trace.job_trace(
                    tgt.client("logs"),
                    tgt.client("dynamodb"),
                    outputs[Output.JOBS_TABLE],
                    groups,
                    trace_job,
                    datetime.now(UTC),
                ),
            ),
            # no id yet: the page offers the newest jobs of each status to pick from
            "job_trace_picker": lambda: jobs.recent(
                tgt.client("dynamodb"),
                outputs[Output.JOBS_TABLE],
                ("failed", "complete", "analyzing", "pending"),
                20,
            ),
            "cost": cost_page,
            "analytics": lambda: analytics.latest_report(s3, outputs),
        }
        # The floor of any Query on the largest status partition (moto alone sorts the
        # whole table for every Query; local/index_queries.py reads only what matches).
        jobs.query_status(
            tgt.client("dynamodb"), outputs[Output.JOBS_TABLE], "failed", limit=1
        )  # warm
        t0 = time.perf_counter()
        jobs.query_status(tgt.client("dynamodb"), outputs[Output.JOBS_TABLE], "complete", limit=1)
        floor = time.perf_counter() - t0
        timer.take()
        results = {}
        for name, load in pages.items():
            t0 = time.perf_counter()
            value = load()
            seconds = time.perf_counter() - t0
            api, api_wall = timer.take()
            results[name] = {
                "seconds": round(seconds, 3),
                "api_wall_seconds": round(api_wall, 3),
                "dashboard_seconds": round(seconds - api_wall, 3),
                "under_budget": seconds < BUDGET_SECONDS,
                "api": dict(list(api.items())[:4]),
            }
            if name == "overview":
                overview = value[0]
                results[name]["jobs_read"] = int(len(overview.jobs))
                results[name]["truncated"] = [s for s, more in overview.truncated.items() if more]
            if name == "job_trace":
                results[name]["invocations"] = int(len(value[1].invocations))
                results[name]["lines"] = int(len(value[1].lines))
        return {
            "benchmark": "dashboard_load",
            "backend": "moto (in-process)",
            "jobs": jobs_count,
            "log_lines": log_lines,
            "metric_datapoints": datapoints,
            "window_hours": window.total_seconds() / 3600,
            "budget_seconds": BUDGET_SECONDS,
            "parallel_queries": parallel,
            "moto_gsi_query_floor_seconds": round(floor, 3),
            "seed_seconds": {
                "build_stack": round(build_s, 1),
                "jobs": round(jobs_s, 1),
                "logs_metrics_messages": round(other_s, 1),
            },
            "pages": results,
            "all_under_budget": all(r["under_budget"] for r in results.values()),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--log-lines", type=int, default=10_000)
    parser.add_argument("--window-hours", type=float, default=1.0)
    parser.add_argument("--quick", action="store_true", help="10,000 jobs instead of 100,000")
    parser.add_argument(
        "--sequential",
        action="store_true",
        help="one status Query at a time (the local cloud serializes DynamoDB)",
    )
    args = parser.parse_args(argv)
    if args.quick and args.jobs == 100_000:
        args.jobs = 10_000
    result = run(
        args.jobs, args.log_lines, timedelta(hours=args.window_hours), parallel=not args.sequential
    )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
