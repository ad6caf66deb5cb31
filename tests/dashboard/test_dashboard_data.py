"""The dashboard's data layer against in-process moto, seeded with jobs, metrics, logs, messages.

The stack is the program itself (`build_stack`), so table schema, queues, log groups and
alarm names are exactly what `pulumi up` declares.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pandas as pd
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from dashboard.data import (
    alarms,
    analytics,
    functions,
    jobs,
    local_info,
    logs,
    metrics,
    problems,
    queues,
    status_cache,
    target,
    throughput,
    trace,
)

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def aws():
    with mock_aws():
        from tests.support.inprocess import build_stack

        yield build_stack()


def client(name: str):
    return boto3.client(name, region_name="us-east-1")


# --- helpers that write what the pipeline writes --------------------------------------------


def fresh_table(aws) -> str:
    """A new table with the jobs table's key schema and indexes (isolation per test)."""
    ddb = client("dynamodb")
    desc = ddb.describe_table(TableName=aws.exports["jobs_table"])["Table"]
    name = f"jobs-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=desc["KeySchema"],
        AttributeDefinitions=desc["AttributeDefinitions"],
        GlobalSecondaryIndexes=[
            {
                "IndexName": gsi["IndexName"],
                "KeySchema": gsi["KeySchema"],
                "Projection": gsi["Projection"],
            }
            for gsi in desc["GlobalSecondaryIndexes"]
        ],
    )
    return name


def put_job(
    table: str,
    status: str,
    created: datetime,
    latency_s: float | None = None,
    decision: str | None = None,
    job_id: str | None = None,
    **extra,
) -> str:
    job_id = job_id or str(uuid.uuid4())
    item = {
        "job_id": {"S": job_id},
        "status": {"S": status},
        "created_at": {"S": jobs.iso(created)},
        "updated_at": {"S": jobs.iso(created)},
        "user_id": {"S": "u1"},
    }
    if latency_s is not None:
        item["completed_at"] = {"S": jobs.iso(created + timedelta(seconds=latency_s))}
    if decision:
        item["decision"] = {"S": decision}
    for k, v in extra.items():
        item[k] = {"L": [{"S": x} for x in v]} if isinstance(v, list) else {"S": str(v)}
    client("dynamodb").put_item(TableName=table, Item=item)
    return job_id


def log_group(name: str | None = None) -> str:
    group = name or f"/aws/lambda/test-{uuid.uuid4().hex[:8]}"
    client("logs").create_log_group(logGroupName=group)
    client("logs").create_log_stream(logGroupName=group, logStreamName="s")
    return group


def put_lines(group: str, lines: list[tuple[datetime, str]]) -> None:
    events = sorted(
        ({"timestamp": logs.ms(t), "message": m} for t, m in lines), key=lambda e: e["timestamp"]
    )
    for i in range(0, len(events), 5000):
        client("logs").put_log_events(
            logGroupName=group, logStreamName="s", logEvents=events[i : i + 5000]
        )


def report(
    rid: str, duration: float, memory: int = 256, used: int = 100, init: float | None = None
) -> str:
    line = (
        f"REPORT RequestId: {rid}\tDuration: {duration:.2f} ms\tBilled Duration: "
        f"{int(-(-duration // 1))} ms\tMemory Size: {memory} MB\tMax Memory Used: {used} MB"
    )
    if init is not None:
        line += f"\tInit Duration: {init:.2f} ms"
    return line + "\t"


def powertools(message: str, job_id: str, rid: str, fn: str, **extra) -> str:
    return json.dumps(
        {
            "level": extra.pop("level", "INFO"),
            "message": message,
            "service": fn,
            "function_request_id": rid,
            "job_id": job_id,
            **extra,
        }
    )


# --- target ---------------------------------------------------------------------------------


def test_parse_args_prefers_the_command_line_then_the_environment(tmp_path):
    assert target.parse_args(["--local", "/x"], {}) == target.TargetSpec("local", "/x")
    assert target.parse_args(
        ["--outputs", "o.json", "--profile", "p", "--region", "eu-west-1"], {}
    ) == target.TargetSpec("outputs", "o.json", "p", "eu-west-1")
    assert target.parse_args([], {"DASHBOARD_STACK": "dev"}).kind == "stack"
    assert target.parse_args(["-q", "tests/x.py"], {}).location == str(target.DEFAULT_STATE_DIR)


def test_missing_local_cloud_is_explained(tmp_path):
    with pytest.raises(target.TargetUnavailable, match="No local cloud") as err:
        target.resolve(target.TargetSpec("local", str(tmp_path)))
    assert "python -m local up" in err.value.hint


def test_dead_local_cloud_is_explained(tmp_path):
    (tmp_path / "state.json").write_text(
        json.dumps({"ready": True, "pid": 2**22 + 12345, "endpoint": "http://127.0.0.1:1"})
    )
    with pytest.raises(target.TargetUnavailable, match="is not running"):
        target.resolve(target.TargetSpec("local", str(tmp_path)))


def test_outputs_file_target(tmp_path, aws):
    path = tmp_path / "outputs.json"
    with pytest.raises(target.TargetUnavailable, match="does not exist"):
        target.resolve(target.TargetSpec("outputs", str(path)))
    path.write_text("{not json")
    with pytest.raises(target.TargetUnavailable, match="not JSON"):
        target.resolve(target.TargetSpec("outputs", str(path)))
    path.write_text(json.dumps({"something": "else"}))
    with pytest.raises(target.TargetUnavailable, match="not this project's"):
        target.resolve(target.TargetSpec("outputs", str(path)))
    path.write_text(json.dumps(aws.exports))
    tgt = target.resolve(target.TargetSpec("outputs", str(path), region="eu-west-1"))
    assert tgt.region == "eu-west-1" and tgt.outputs["jobs_table"] == aws.exports["jobs_table"]
    assert set(tgt.queues()) == {"processing", "dlq", "failure"}


def test_stack_target_says_clearly_when_the_pulumi_cli_is_missing():
    with pytest.raises(target.TargetUnavailable, match="Pulumi CLI is not installed") as err:
        target.stack_target(target.TargetSpec("stack", "dev"), which=lambda _: None)
    assert "pulumi stack output --json --stack dev > outputs.json" in err.value.hint


def test_stack_target_runs_pulumi_stack_output(aws):
    calls = []

    def run(cmd, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, json.dumps(aws.exports), "")

    tgt = target.stack_target(
        target.TargetSpec("stack", "prod", profile="ops"),
        run=run,
        which=lambda _: "/usr/bin/pulumi",
    )
    assert calls == [["/usr/bin/pulumi", "stack", "output", "--json", "--stack", "prod"]]
    assert tgt.profile == "ops" and tgt.outputs["dlq_url"] == aws.exports["dlq_url"]

    def failing(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, 255, "", "error: no stack named 'prod' found")

    with pytest.raises(target.TargetUnavailable, match="no stack named"):
        target.stack_target(
            target.TargetSpec("stack", "prod"), run=failing, which=lambda _: "/usr/bin/pulumi"
        )


def test_deadline_comes_from_the_sweeper_environment():
    tgt = target.Target(
        spec=target.TargetSpec(),
        region="us-east-1",
        outputs={"functions": {"sweeper": "s"}, "function_memory": {"sweeper": 256}},
        local_registry={
            "functions": {
                "s": {"timeout": 60, "memory": 256, "environment": {"JOB_DEADLINE_SECONDS": "120"}}
            }
        },
    )
    assert tgt.job_deadline_seconds() == (120, "sweeper environment")
    assert tgt.function_settings()["sweeper"]["timeout"] == 60
    bare = target.Target(spec=target.TargetSpec(), region="us-east-1", outputs={})
    assert bare.job_deadline_seconds()[0] == target.DEFAULT_DEADLINE_SECONDS


# --- problems -------------------------------------------------------------------------------


def test_errors_are_explained_not_raised():
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "Query")
    assert problems.explain(denied, "reading jobs").kind == "no_permission"
    missing = ClientError(
        {"Error": {"Code": "ResourceNotFoundException", "Message": "gone"}}, "Query"
    )
    assert problems.explain(missing, "reading jobs").kind == "not_found"
    from botocore.exceptions import EndpointConnectionError, NoCredentialsError

    assert problems.explain(NoCredentialsError()).kind == "no_credentials"
    assert problems.explain(EndpointConnectionError(endpoint_url="http://x")).kind == "unreachable"


# --- jobs -----------------------------------------------------------------------------------


def test_jobs_overview_counts_stuck_and_latency(aws):
    table = fresh_table(aws)
    for i in range(20):
        put_job(
            table,
            "complete",
            NOW - timedelta(minutes=30, seconds=i),
            latency_s=i + 1,
            decision=("approve", "reject")[i % 2],
        )
    put_job(
        table, "failed", NOW - timedelta(minutes=10), latency_s=900, reasons=["deadline exceeded"]
    )
    put_job(table, "complete", NOW - timedelta(hours=3), latency_s=5, decision="warn")  # outside
    old_pending = put_job(table, "pending", NOW - timedelta(hours=2))  # stuck, outside the window
    put_job(table, "analyzing", NOW - timedelta(seconds=30))
    ov = jobs.jobs_overview(client("dynamodb"), table, NOW, timedelta(hours=1), 900)
    counts = ov.counts().set_index("status")["jobs"].to_dict()
    assert counts == {"pending": 1, "analyzing": 1, "complete": 20, "failed": 1}
    assert ov.stuck["job_id"].tolist() == [old_pending]
    assert ov.decisions().set_index("decision")["jobs"].to_dict() == {
        "approve": 10,
        "warn": 0,
        "reject": 10,
        "review": 0,
    }
    lat = ov.latency()
    assert lat["n"] == 20 and lat["p50"] == pytest.approx(10.5) and lat["max"] == 20
    assert not any(ov.truncated.values())
    freq = jobs.bucket_for(timedelta(hours=1))
    assert freq == "1min"
    by_status = jobs.over_time(ov.in_window, "status", freq)
    assert by_status["jobs"].sum() == 22  # complete + failed + analyzing created in the window


def test_jobs_overview_marks_a_truncated_read(aws):
    table = fresh_table(aws)
    for i in range(30):
        put_job(table, "complete", NOW - timedelta(minutes=i + 1), latency_s=1, decision="approve")
    ov = jobs.jobs_overview(
        client("dynamodb"), table, NOW, timedelta(hours=1), 900, limit_per_status=10
    )
    assert ov.truncated["complete"] is True
    row = ov.counts().set_index("status").loc["complete"]
    assert row["jobs"] == 10 and bool(row["at_least"])
    # newest first: the ten most recent were read
    assert ov.jobs["created_at"].min() >= pd.Timestamp(NOW - timedelta(minutes=11))


def test_stuck_jobs_are_never_cut_off_by_the_read_limit(aws):
    table = fresh_table(aws)
    oldest = put_job(table, "analyzing", NOW - timedelta(hours=5))
    for i in range(15):
        put_job(table, "analyzing", NOW - timedelta(seconds=i))
    ov = jobs.jobs_overview(
        client("dynamodb"), table, NOW, timedelta(hours=1), 900, limit_per_status=5
    )
    assert oldest in ov.stuck["job_id"].tolist()


def test_get_jobs_batches_over_a_hundred_ids(aws):
    table = fresh_table(aws)
    ids = [put_job(table, "complete", NOW, latency_s=1, decision="approve") for _ in range(130)]
    found = jobs.get_jobs(client("dynamodb"), table, ids + ["missing"])
    assert set(found) == set(ids)


def test_recent_jobs_newest_first_per_status(aws):
    table = fresh_table(aws)
    for i in range(5):
        put_job(
            table,
            "complete",
            NOW - timedelta(minutes=i),
            latency_s=1,
            decision="approve",
            job_id=f"c{i}",
        )
        put_job(
            table, "failed", NOW - timedelta(minutes=i, seconds=30), latency_s=1, job_id=f"f{i}"
        )
    df = jobs.recent(client("dynamodb"), table, ("failed", "complete", "pending"), limit=2)
    assert df["job_id"].tolist() == ["c0", "f0", "c1", "f1"]


# --- metrics, queues, alarms ------------------------------------------------------------------


def put_metric(
    namespace: str,
    name: str,
    values: list[float],
    dims: dict[str, str],
    unit: str = "Count",
    start: datetime | None = None,
) -> None:
    start = start or NOW - timedelta(minutes=len(values))
    data = [
        {
            "MetricName": name,
            "Value": v,
            "Unit": unit,
            "Timestamp": start + timedelta(minutes=i),
            "Dimensions": [{"Name": k, "Value": val} for k, val in dims.items()],
        }
        for i, v in enumerate(values)
    ]
    client("cloudwatch").put_metric_data(Namespace=namespace, MetricData=data)


def test_choose_period_keeps_series_short():
    assert metrics.choose_period(timedelta(minutes=15)) == 60
    assert metrics.choose_period(timedelta(days=7)) % 60 == 0
    assert timedelta(days=7).total_seconds() / metrics.choose_period(timedelta(days=7)) <= 120


def test_job_metrics_and_cache_figures(aws):
    put_metric("Moderation", "JobsAccepted", [5, 7, 3], {"service": "upload"})
    put_metric("Moderation", "JobsComplete", [4, 6, 3], {"service": "notifier"})
    put_metric("Moderation", "CacheHitLocal", [10, 5], {"service": "status"})
    put_metric("Moderation", "CacheHitRemote", [3, 2], {"service": "status"})
    put_metric("Moderation", "CacheMiss", [5, 5], {"service": "status"})
    series = throughput.job_metrics(
        client("cloudwatch"), NOW - timedelta(hours=1), NOW + timedelta(minutes=1), 60
    )
    totals = throughput.totals(series)
    assert totals["JobsAccepted"] == 15 and totals["JobsComplete"] == 13
    figures = status_cache.cache_figures(
        client("cloudwatch"), NOW - timedelta(hours=1), NOW + timedelta(minutes=1), 60
    )
    assert (figures.hits, figures.miss, figures.reads_saved) == (20, 10, 20)
    assert figures.hit_ratio == pytest.approx(20 / 30)
    ratio = status_cache.hit_ratio_over_time(figures.series)
    assert ratio["hit_ratio"].between(0, 1).all() and len(ratio) == 2


def test_queue_snapshot_and_history(aws):
    sqs = client("sqs")
    url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60)
    name = queues.queue_name(url)
    put_metric(
        "AWS/SQS", "ApproximateAgeOfOldestMessage", [10, 42], {"QueueName": name}, unit="Seconds"
    )
    put_metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", [1, 3], {"QueueName": name})
    snap = queues.snapshot(sqs, client("cloudwatch"), {"processing": url}, NOW)
    row = snap.iloc[0]
    assert (row["visible"], row["in_flight"], row["oldest_age_s"]) == (2, 1, 42)
    hist = queues.history(
        client("cloudwatch"),
        {"processing": url},
        NOW - timedelta(hours=1),
        NOW + timedelta(minutes=1),
        60,
    )
    assert set(hist["label"]) == {"visible", "age of oldest (s)"}


def test_alarms_and_stage_health(aws):
    cw = client("cloudwatch")
    names = aws.exports["alarm_names"]
    cw.set_alarm_state(AlarmName=names[0], StateValue="ALARM", StateReason="test breach")
    table = alarms.alarms(cw, list(names))
    assert len(table) == len(names)
    assert table.iloc[0]["alarm"] == names[0] and table.iloc[0]["state"] == "ALARM"
    totals = pd.DataFrame(
        [
            {"function": "upload", "invocations": 100, "errors": 0, "throttles": 0},
            {"function": "dispatcher", "invocations": 10, "errors": 5, "throttles": 0},
            {"function": "status", "invocations": 0, "errors": 0, "throttles": 0},
        ]
    )
    qs = pd.DataFrame(
        [
            {"role": "dlq", "visible": 2, "in_flight": 0, "oldest_age_s": 30.0},
            {"role": "processing", "visible": 0, "in_flight": 0, "oldest_age_s": 900.0},
        ]
    )
    health = alarms.stage_health(totals, qs, stuck=1).set_index("stage")["status"].to_dict()
    assert health["upload"] == "ok" and health["dispatcher"] == "failing"
    assert health["status"] == "idle" and health["queue: dead-letter (DLQ)"] == "attention"
    assert health["queue: processing"] == "degraded"
    assert health["jobs past the deadline"] == "attention"


# --- logs, REPORT lines, functions ------------------------------------------------------------


def test_parse_report_handles_aws_variants():
    aws_line = (
        "REPORT RequestId: 3604209a-e9a3-11e6-939a-754dd98c7be3\tDuration: 12.34 ms\t"
        "Billed Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 18 MB\t"
        "Init Duration: 230.11 ms\t\nXRAY TraceId: 1-5e4a\tSegmentId: 2c\tSampled: true\t"
    )
    parsed = logs.parse_report(aws_line)
    assert parsed == {
        "request_id": "3604209a-e9a3-11e6-939a-754dd98c7be3",
        "duration_ms": 12.34,
        "billed_ms": 13.0,
        "memory_mb": 128.0,
        "max_memory_mb": 18.0,
        "init_ms": 230.11,
        "cold_start": True,
    }
    warm = logs.parse_report(report("r2", 5.5))
    assert warm["cold_start"] is False and warm["init_ms"] is None
    assert logs.parse_report("START RequestId: x Version: $LATEST") is None


def test_filter_events_checks_the_term_itself(aws):
    group = log_group()
    put_lines(
        group,
        [(NOW - timedelta(seconds=5), "alpha job-1"), (NOW - timedelta(seconds=4), "beta job-2")],
    )
    found = list(
        logs.filter_events(client("logs"), group, "job-1", NOW - timedelta(minutes=1), NOW)
    )
    assert [e["message"] for e in found] == ["alpha job-1"]
    with pytest.raises(ValueError):
        list(logs.filter_events(client("logs"), group, 'a"b', NOW, NOW))


def test_recent_events_returns_the_newest(aws):
    group = log_group()
    put_lines(
        group,
        [
            (NOW - timedelta(seconds=600 - i), f"REPORT RequestId: r{i}\tDuration: 1 ms")
            for i in range(500)
        ],
    )
    events, truncated = logs.recent_events(
        client("logs"), group, logs.REPORT_TERM, NOW - timedelta(hours=1), NOW, 50
    )
    assert truncated and len(events) == 50
    assert [e["message"].split()[2] for e in events] == [f"r{i}" for i in range(450, 500)]
    everything, more = logs.recent_events(
        client("logs"), group, logs.REPORT_TERM, NOW - timedelta(hours=1), NOW, 1000
    )
    assert not more and len(everything) == 500


def test_function_stats_from_reports_and_metrics(aws):
    group = log_group()
    lines = []
    for i in range(100):
        lines.append(
            (
                NOW - timedelta(seconds=300 - i),
                report(
                    f"r{i}",
                    duration=float(i + 1),
                    memory=1024,
                    used=100 + i,
                    init=500.0 + i if i < 3 else None,
                ),
            )
        )
    put_lines(group, lines)
    fn_name = f"fn-{uuid.uuid4().hex[:6]}"
    put_metric("AWS/Lambda", "Invocations", [60, 40], {"FunctionName": fn_name})
    put_metric("AWS/Lambda", "Errors", [1, 1], {"FunctionName": fn_name})
    put_metric("AWS/Lambda", "Throttles", [0, 3], {"FunctionName": fn_name})
    stats = functions.function_stats(
        client("cloudwatch"),
        client("logs"),
        {"custom_analyzer": fn_name},
        {"custom_analyzer": group},
        {"custom_analyzer": {"memory": 1024, "timeout": 10}},
        NOW - timedelta(hours=1),
        NOW + timedelta(minutes=1),
        60,
    )
    row = stats.summary.iloc[0]
    assert (row["invocations"], row["errors"], row["throttles"], row["reports"]) == (100, 2, 3, 100)
    assert row["p50_ms"] == pytest.approx(50.5) and row["p99_ms"] == pytest.approx(99.01)
    assert row["max_ms"] == 100 and row["cold_starts"] == 3 and row["init_max_ms"] == 502
    assert row["max_memory_used_mb"] == 199 and row["memory_used_pct"] == pytest.approx(19.43, 0.01)
    assert "try 320 MB" in row["hint"]


@pytest.mark.parametrize(
    "memory,used,p95,timeout,expect",
    [
        (1024, 150, 100, 10, "try 256 MB"),
        (256, 240, 100, 10, "raise to ~320 MB"),
        (256, 150, 9000, 10, "over 80% of the 10 s timeout"),
        (256, 150, 100, 10, "memory fits"),
        (128, 20, 100, 10, "memory fits"),
        (None, None, None, None, "nothing to size from"),
    ],
)
def test_sizing_hint(memory, used, p95, timeout, expect):
    assert expect in functions.sizing_hint(memory, used, p95, timeout, 0 if memory is None else 5)


# --- job trace ------------------------------------------------------------------------------


def test_job_trace_joins_job_lines_with_their_invocations(aws):
    table = fresh_table(aws)
    job_id = str(uuid.uuid4())
    t0 = NOW - timedelta(minutes=5)
    put_job(
        table, "complete", t0, latency_s=3, decision="approve", job_id=job_id, reasons=["no flags"]
    )
    groups = {"upload": log_group(), "dispatcher": log_group(), "custom_analyzer": log_group()}
    api = log_group("/aws/apigateway/test-" + uuid.uuid4().hex[:6])
    at = lambda s: t0 + timedelta(seconds=s)  # noqa: E731 - a tiny local clock
    put_lines(
        groups["upload"],
        [
            (at(0.0), "START RequestId: u1 Version: $LATEST"),
            (at(0.2), powertools("upload accepted", job_id, "u1", "upload")),
            (at(0.3), "END RequestId: u1"),
            (at(0.3), report("u1", 300, 512, 140, init=400)),
            (at(5.0), "START RequestId: u2 Version: $LATEST"),  # another job's invocation
            (at(5.1), powertools("upload accepted", "other", "u2", "upload")),
        ],
    )
    put_lines(
        groups["dispatcher"],
        [
            (at(1.0), "START RequestId: d1 Version: $LATEST"),
            (at(1.1), powertools("dispatch", job_id, "d1", "dispatcher")),
            (at(1.2), powertools("dispatch", "other-job", "d1", "dispatcher")),
            (at(1.3), "END RequestId: d1"),
            (at(1.3), report("d1", 300)),
        ],
    )
    put_lines(
        groups["custom_analyzer"],
        [
            (at(2.0), "START RequestId: c1 Version: $LATEST"),
            (
                at(2.5),
                powertools("analysis failed", job_id, "c1", "custom_analyzer", level="ERROR"),
            ),
            (at(3.0), f"{jobs.iso(at(3.0))} c1 Task timed out after 1.00 seconds"),
            (at(3.0), "END RequestId: c1"),
            (at(3.0), report("c1", 1000, 1024, 200)),
        ],
    )
    tr = trace.job_trace(
        client("logs"), client("dynamodb"), table, groups, job_id, NOW, extra_groups=[api]
    )
    assert tr.found and tr.job["decision"] == "approve"
    inv = tr.invocations.set_index("request_id")
    assert list(tr.invocations["function"]) == ["upload", "dispatcher", "custom_analyzer"]
    assert bool(inv.loc["u1", "cold_start"]) and inv.loc["u1", "init_ms"] == 400
    assert inv.loc["d1", "other_jobs"] == 1
    assert inv.loc["d1", "gap_before_ms"] == pytest.approx(700, abs=2)
    assert inv.loc["c1", "gap_before_ms"] == pytest.approx(700, abs=2)
    assert "analysis failed" in inv.loc["c1", "error"]
    assert "u2" not in tr.lines["request_id"].tolist()  # another job's invocation stays out
    assert (tr.lines["level"] == "ERROR").sum() == 2  # the handler error and the timeout
    assert api in tr.groups_searched
    assert tr.milestones()["milestone"].tolist() == ["created_at = updated_at", "completed_at"]
    assert not tr.lines[tr.lines["raw"].str.contains("other-job")]["about_job"].any()


def test_trace_of_an_unknown_job(aws):
    table = fresh_table(aws)
    tr = trace.job_trace(client("logs"), client("dynamodb"), table, {}, "nope", NOW)
    assert not tr.found and tr.invocations.empty


# --- analytics, local cloud -------------------------------------------------------------------


REPORT = {
    "generated_at": "2025-01-02T02:20:00Z",
    "start_date": "2025-01-01",
    "end_date": "2025-01-01",
    "rows": 3,
    "daily": [
        {"date": "2025-01-01", "status": "complete", "decision": "approve", "jobs": 2},
        {"date": "2025-01-01", "status": "failed", "decision": None, "jobs": 1},
    ],
    "top_labels": [
        {
            "label": "Violence",
            "count": 1,
            "mean_confidence": 91.0,
            "p50_confidence": 91.0,
            "p90_confidence": 91.0,
        }
    ],
    "users": [
        {
            "user_id": "u1",
            "jobs": 3,
            "rejected": 0,
            "reviewed": 0,
            "reject_rate": 0.0,
            "review_rate": 0.0,
        }
    ],
    "latency_seconds": {
        "end_to_end": {"p50": 2.0, "p95": 4.0, "p99": 5.0},
        "stages": {"analysis": {"p50": 1.0, "p95": 2.0, "p99": 3.0}},
    },
    "failure_reasons": [{"reason": "deadline exceeded", "count": 1}],
}


def test_analytics_states(aws):
    s3 = client("s3")
    with pytest.raises(analytics.AnalyticsUnavailable) as err:
        analytics.latest_report(s3, {"features": {"analytics": False}})
    assert err.value.kind == "disabled"
    bucket = f"results-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    outputs = {"results_bucket": bucket, "features": {"analytics": True}}
    with pytest.raises(analytics.AnalyticsUnavailable) as err:
        analytics.latest_report(s3, outputs)
    assert err.value.kind == "no_report"
    s3.put_object(Bucket=bucket, Key="reports/dt=2025-01-01/summary.json", Body=json.dumps(REPORT))
    s3.put_object(
        Bucket=bucket,
        Key="reports/dt=2024-12-31/summary.json",
        Body=json.dumps({**REPORT, "rows": 9, "users": "broken"}),
    )
    latest = analytics.latest_report(s3, outputs)
    assert latest.day == "2025-01-01" and latest.days_available == ["2024-12-31", "2025-01-01"]
    assert latest.problems == []
    assert latest.tables["daily"]["jobs"].sum() == 3
    assert latest.latency.set_index("stage").loc["end to end", "p95"] == 4.0
    older = analytics.latest_report(s3, outputs, day="2024-12-31")
    assert older.raw["rows"] == 9 and "`users` is not a list" in older.problems


def test_local_cloud_description():
    state = {
        "not_emulated": [{"type": "aws:cloudfront/distribution:Distribution", "name": "cdn"}],
        "recorded_only": [
            {"type": "aws:lambda/permission:Permission", "name": "p", "why": "not enforced"}
        ],
        "not_emulated_behaviour": ["X-Ray tracing"],
        "stand_ins": {"rekognition": "labels"},
        "endpoint": "http://127.0.0.1:1",
        "api_url": "http://127.0.0.1:2",
    }
    registry = {
        "resources": [
            {"type": "aws:sqs/queue:Queue", "name": "q1"},
            {"type": "aws:sqs/queue:Queue", "name": "q2"},
            {"type": "aws:cloudfront/distribution:Distribution", "name": "cdn"},
        ]
    }
    info = local_info.describe(state, registry)
    assert info.emulated.to_dict("records") == [
        {"type": "aws:sqs/queue:Queue", "count": 2, "names": "q1, q2"}
    ]
    assert info.not_emulated["name"].tolist() == ["cdn"]
    assert info.behaviour == ["X-Ray tracing"] and "rekognition" in info.stand_ins
    status = {
        "faults": {
            "plan": {"error_rate": 0.2, "hang_rate": 0.0, "seed": 1},
            "injected": {"error:dispatcher": 3},
        }
    }
    assert local_info.active_faults(status) == {"error_rate": 0.2}
    envs = local_info.environments(
        {
            "functions": {
                "upload": {
                    "name": "fn",
                    "busy": 1,
                    "idle": 2,
                    "capacity": 3,
                    "reserved_concurrency": None,
                    "cold_starts": 4,
                    "memory_mb": 512,
                    "peak_memory_mb": 140,
                }
            }
        }
    )
    assert list(envs.columns)[:2] == ["function", "name"] and "peak_memory_mb" in envs.columns
