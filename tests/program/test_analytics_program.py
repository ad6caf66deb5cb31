"""The Analytics component under Pulumi mocks: what `analyticsEnabled` declares, and nothing when off."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pulumi
import pytest

from components import analytics
from components.settings import ConfigError
from local.runtime.event_sources import passes_filters
from tests.support.paths import ROOT
from tests.support.program import ProgramRun, run_program

ANALYTICS_TYPES = (
    "aws:emrserverless/application:Application",
    "aws:scheduler/schedule:Schedule",
    "aws:scheduler/scheduleGroup:ScheduleGroup",
    "aws:s3/bucketObjectv2:BucketObjectv2",
)


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return run_program({"analyticsEnabled": True})


def results_bucket(run: ProgramRun):
    return run.by_output("bucket", run.exports["results_bucket"])


def statements(doc: str) -> dict[str, dict]:
    return {s["Sid"]: s for s in json.loads(doc)["Statement"]}


def test_flag_off_declares_none_of_it():
    off = run_program()
    for typ in ANALYTICS_TYPES:
        assert off.of_type(typ) == [], typ
    assert [b.name for b in off.of_type("aws:s3/bucket:Bucket")] == ["moderation-test-uploads"]
    assert "exporter" not in off.exports["functions"]
    assert "results_bucket" not in off.exports and "emr_application_id" not in off.exports
    assert not [r for r in off.resources if "exporter" in r.name or "report" in r.name]


def test_exports_name_the_bucket_application_and_exporter(run):
    ex = run.exports
    assert ex["results_bucket"] == results_bucket(run).outputs["bucket"]
    app = run.one("aws:emrserverless/application:Application")
    assert ex["emr_application_id"] == app.id
    assert ex["functions"]["exporter"] == "moderation-test-exporter"
    assert ex["log_groups"]["exporter"] == "/aws/lambda/moderation-test-exporter"
    assert ex["function_memory"]["exporter"] == 256
    assert ex["exporter_failure_queue_url"].endswith("/moderation-test-exporter-failures")
    for name in (
        "exporter-errors",
        "exporter-iterator-age",
        "exporter-failures-has-records",
        "report-runs-failed",
        "report-schedule-dropped",
    ):
        assert f"moderation-test-{name}" in ex["alarm_names"]


def test_results_bucket_is_private_and_expires_exports_and_reports():
    run = run_program({"analyticsEnabled": True, "analytics": {"resultsExpiryDays": 400}})
    bucket = results_bucket(run).outputs["bucket"]
    lifecycle = [
        r
        for r in run.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
        if r.inputs["bucket"] == bucket
    ]
    (rules,) = [r.inputs["rules"] for r in lifecycle]
    expiring = {
        r["filter"]["prefix"]: r["expiration"]["days"] for r in rules if r.get("expiration")
    }
    assert expiring == {"jobs/": 400, "reports/": 400}  # the script never expires
    pab = [
        r
        for r in run.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
        if r.inputs["bucket"] == bucket
    ]
    assert len(pab) == 1 and pab[0].inputs["restrictPublicBuckets"] is True


def test_the_spark_script_is_uploaded_from_analytics(run):
    obj = run.one("aws:s3/bucketObjectv2:BucketObjectv2")
    assert obj.inputs["key"] == "scripts/report.py"
    assert obj.inputs["bucket"] == run.exports["results_bucket"]
    source = obj.inputs["source"]
    assert isinstance(source, pulumi.FileAsset)
    assert Path(source.path).resolve() == ROOT / "analytics" / "report.py"


def test_emr_application_release_capacity_and_auto_start_stop():
    run = run_program(
        {
            "analyticsEnabled": True,
            "analytics": {
                "releaseLabel": "emr-7.2.0",
                "maxVcpu": 32,
                "maxMemoryGb": 128,
                "idleTimeoutMinutes": 5,
            },
        }
    )
    app = run.one("aws:emrserverless/application:Application").inputs
    assert app["releaseLabel"] == "emr-7.2.0"
    assert app["type"] == "spark"
    assert app["architecture"] == "ARM64"
    assert app["maximumCapacity"] == {"cpu": "32 vCPU", "memory": "128 GB"}
    assert app["autoStartConfiguration"] == {"enabled": True}
    assert app["autoStopConfiguration"] == {"enabled": True, "idleTimeoutMinutes": 5}
    assert not app.get("initialCapacities"), "pre-initialized capacity bills while idle"


def test_defaults_come_from_the_settings(run):
    app = run.one("aws:emrserverless/application:Application").inputs
    assert app["releaseLabel"] == "emr-7.5.0"
    assert app["maximumCapacity"] == {"cpu": "16 vCPU", "memory": "64 GB"}
    assert app["autoStopConfiguration"]["idleTimeoutMinutes"] == 15


def test_job_role_is_trusted_by_this_applications_runs_only(run):
    role = run.one("aws:iam/role:Role", "analytics-report-job-role")
    (stmt,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    app_arn = run.one("aws:emrserverless/application:Application").outputs["arn"]
    assert stmt["Principal"] == {"Service": "emr-serverless.amazonaws.com"}
    assert stmt["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert stmt["Condition"]["ArnLike"] == {"aws:SourceArn": [app_arn, f"{app_arn}/*"]}


def test_job_role_reads_exports_and_script_writes_reports_and_nothing_else(run):
    bucket = results_bucket(run).outputs["arn"]
    policy = run.one("aws:iam/rolePolicy:RolePolicy", "analytics-report-job-policy").inputs[
        "policy"
    ]
    by_sid = statements(policy)
    assert by_sid["ReadExports"]["Action"] == ["s3:GetObject"]
    assert by_sid["ReadExports"]["Resource"] == [f"{bucket}/jobs/*"]
    assert by_sid["ReadScript"]["Resource"] == [f"{bucket}/scripts/report.py"]
    assert by_sid["WriteReports"]["Resource"] == [f"{bucket}/reports/*"]
    assert set(by_sid["WriteReports"]["Action"]) == {
        "s3:PutObject",
        "s3:GetObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
    }
    listing = by_sid["ListOwnPrefixes"]
    assert listing["Action"] == ["s3:ListBucket"] and listing["Resource"] == [bucket]
    assert listing["Condition"] == {
        "StringLikeIfExists": {"s3:prefix": ["jobs", "jobs/*", "reports", "reports/*"]}
    }
    assert set(by_sid) == {"ReadExports", "ReadScript", "WriteReports", "ListOwnPrefixes"}
    for stmt in by_sid.values():
        assert stmt["Effect"] == "Allow"
        assert not any("*" in a for a in stmt["Action"]), stmt
        assert "*" not in stmt["Resource"] and bucket + "/*" not in stmt["Resource"], stmt


def test_schedule_starts_the_report_on_this_application(run):
    sched = run.one("aws:scheduler/schedule:Schedule").inputs
    assert sched["scheduleExpression"] == "cron(15 2 * * ? *)"
    assert sched["scheduleExpressionTimezone"] == "UTC"
    assert sched["flexibleTimeWindow"] == {"mode": "OFF"}
    target = sched["target"]
    assert target["arn"] == "arn:aws:scheduler:::aws-sdk:emrserverless:startJobRun"
    scheduler_role = run.one("aws:iam/role:Role", "analytics-report-schedule-role")
    assert target["roleArn"] == scheduler_role.outputs["arn"]
    request = json.loads(target["input"])
    job_role = run.one("aws:iam/role:Role", "analytics-report-job-role").outputs["arn"]
    bucket = run.exports["results_bucket"]
    assert request["ApplicationId"] == run.exports["emr_application_id"]
    assert request["ExecutionRoleArn"] == job_role
    # StartJobRun's clientToken: 1-64 of [A-Za-z0-9._-], after the scheduler's substitution
    # (the documented example execution id); the scheduled time would not be one.
    token = request["ClientToken"].replace("<aws.scheduler.execution-id>", "d32c5kddcf5bb8c3")
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", token), token
    assert "<aws.scheduler.scheduled-time>" not in request["ClientToken"]
    submit = request["JobDriver"]["SparkSubmit"]
    assert submit["EntryPoint"] == f"s3://{bucket}/scripts/report.py"
    args = submit["EntryPointArguments"]
    assert args[args.index("--input") + 1] == f"s3://{bucket}/jobs"
    assert args[args.index("--output") + 1] == f"s3://{bucket}/reports"
    assert args[args.index("--run-date") + 1] == "<aws.scheduler.scheduled-time>"
    assert args[args.index("--days") + 1] == "1"
    assert "spark.dynamicAllocation.maxExecutors=7" in submit["SparkSubmitParameters"]
    # the script parses exactly these arguments
    from analytics import report

    parsed = report.parse_args(
        [a.replace("<aws.scheduler.scheduled-time>", "2026-05-03T02:15:00Z") for a in args]
    )
    assert (parsed.days, report.to_date(parsed.run_date).isoformat()) == (1, "2026-05-03")


def test_schedule_follows_report_settings():
    run = run_program(
        {
            "analyticsEnabled": True,
            "analytics": {"reportSchedule": "cron(0 6 * * ? *)", "reportDays": 7},
        }
    )
    target = run.one("aws:scheduler/schedule:Schedule").inputs
    assert target["scheduleExpression"] == "cron(0 6 * * ? *)"
    args = json.loads(target["target"]["input"])["JobDriver"]["SparkSubmit"]["EntryPointArguments"]
    assert args[args.index("--days") + 1] == "7"


def test_scheduler_role_may_only_start_runs_and_pass_the_job_role(run):
    role = run.one("aws:iam/role:Role", "analytics-report-schedule-role")
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    group = run.one("aws:scheduler/scheduleGroup:ScheduleGroup").outputs["arn"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {
        "aws:SourceAccount": "123456789012",
        "aws:SourceArn": group,
    }
    by_sid = statements(
        run.one("aws:iam/rolePolicy:RolePolicy", "analytics-report-schedule-policy").inputs[
            "policy"
        ]
    )
    app_arn = run.one("aws:emrserverless/application:Application").outputs["arn"]
    job_role = run.one("aws:iam/role:Role", "analytics-report-job-role").outputs["arn"]
    assert by_sid == {
        "StartReportRuns": {
            "Sid": "StartReportRuns",
            "Effect": "Allow",
            "Action": ["emr-serverless:StartJobRun"],
            "Resource": [app_arn],
        },
        "PassJobRole": {
            "Sid": "PassJobRole",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": [job_role],
            "Condition": {"StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}},
        },
    }


def test_exporter_mapping_on_the_jobs_stream():
    run = run_program(
        {
            "analyticsEnabled": True,
            "analytics": {"exportBatchSize": 500, "exportBatchingWindowSeconds": 60},
        }
    )
    mapping = run.one(
        "aws:lambda/eventSourceMapping:EventSourceMapping", "analytics-exporter-stream"
    ).inputs
    table = run.one("aws:dynamodb/table:Table", "moderation-store-jobs").outputs
    fn = run.one("aws:lambda/function:Function", "analytics-exporter-function")
    queue = run.one("aws:sqs/queue:Queue", "analytics-exporter-failures")
    assert mapping["eventSourceArn"] == table["streamArn"]
    assert mapping["functionName"] == fn.outputs["arn"]
    assert mapping["startingPosition"] == "TRIM_HORIZON"
    assert (mapping["batchSize"], mapping["maximumBatchingWindowInSeconds"]) == (500, 60)
    assert mapping["bisectBatchOnFunctionError"] is True
    assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["maximumRetryAttempts"] == analytics.EXPORT_RETRY_ATTEMPTS
    assert mapping["destinationConfig"]["onFailure"]["destinationArn"] == queue.outputs["arn"]
    assert queue.inputs["sqsManagedSseEnabled"] is True
    filters = [f["pattern"] for f in mapping["filterCriteria"]["filters"]]

    def record(status, name="MODIFY"):
        return {"eventName": name, "dynamodb": {"NewImage": {"status": {"S": status}}}}

    assert passes_filters(filters, record("complete")) and passes_filters(filters, record("failed"))
    assert not passes_filters(filters, record("analyzing"))
    assert not passes_filters(filters, record("pending", "INSERT"))
    assert not passes_filters(filters, {"eventName": "REMOVE", "dynamodb": {"OldImage": {}}})
    env = fn.inputs["environment"]["variables"]
    assert env["RESULTS_BUCKET"] == run.exports["results_bucket"]
    assert env["DISPATCH_LEASE_SECONDS"] == "30"
    assert fn.inputs["architectures"] == ["arm64"] and fn.inputs["tracingConfig"] == {
        "mode": "Active"
    }


def test_exporter_requirements_list_only_its_imports():
    lines = (ROOT / "lambdas" / "exporter" / "requirements.txt").read_text().splitlines()
    deps = {ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")}
    notifier = (ROOT / "lambdas" / "notifier" / "requirements.txt").read_text().splitlines()
    notifier_deps = {ln.strip() for ln in notifier if ln.strip() and not ln.startswith("#")}
    # The notifier also identifies a statement's language (py3langid, on numpy).
    assert deps == notifier_deps - {"py3langid", "numpy"}
    assert "pyarrow" not in deps and "pyspark" not in deps


@pytest.mark.parametrize(
    "bad, setting",
    [
        ({"reportSchedule": "every day"}, "analytics.reportSchedule"),
        ({"maxVcpu": 2}, "analytics.maxVcpu"),
        ({"reportDays": 30, "resultsExpiryDays": 7}, "analytics.reportDays"),
        ({"releaseLabel": "7.5.0"}, "analytics.releaseLabel"),
    ],
)
def test_wrong_analytics_settings_fail_naming_the_setting(bad, setting):
    with pytest.raises(ConfigError, match=setting.replace(".", r"\.")):
        run_program({"analyticsEnabled": True, "analytics": bad})


def test_executors_fit_beside_the_driver():
    assert analytics.max_executors(16, 64) == 7
    assert analytics.max_executors(16, 16) == 3  # memory-bound: 4 GB per worker
    assert analytics.max_executors(4, 8) == 1
