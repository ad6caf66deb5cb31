"""Analytics: the jobs table's stream -> S3 (exporter), and a daily Spark report on EMR Serverless.

- Results bucket (private, SSE, TLS-only): `jobs/dt=YYYY-MM-DD/` holds terminal jobs
  as gzip JSON Lines written by the exporter; `reports/dt=YYYY-MM-DD/` holds the
  report's Parquet tables and `summary.json`; `scripts/report.py` is the Spark job.
  `jobs/` and `reports/` expire after `analytics.resultsExpiryDays`.
- Exporter: a function on the jobs table's stream, filtered to terminal writes, with
  partial batch responses, bisect on error, a retry limit and an SQS on-failure
  destination, so a record is exported or visibly parked, never silently dropped.
- EMR Serverless Spark application (ARM64: Graviton workers cost 20% less per
  vCPU-hour and GB-hour, and the job is pure PySpark with no x86-only native code),
  started on demand and stopped after `idleTimeoutMinutes`, capped at
  `maxVcpu`/`maxMemoryGb`. No pre-initialized capacity: it would bill while idle.
- A job runtime role scoped to the bucket's prefixes, and an EventBridge Scheduler
  schedule whose role may only start runs on this application and pass that role.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.alarms import AlarmSet
from components.base import Component
from components.buckets import PrivateBucket, PrivateBucketArgs
from components.function import FunctionSpec, LambdaFunction, statement, terminal_stream_mapping
from components.pipeline_functions import stream_reader_statement
from components.settings import StackSettings
from lambdas.common.contract import Env, Function

ROOT = Path(__file__).resolve().parent.parent
REPORT_SCRIPT = ROOT / "analytics" / "report.py"
SCRIPT_KEY = "scripts/report.py"
EXPORT_PREFIX = "jobs/"
REPORT_PREFIX = "reports/"
START_JOB_RUN_TARGET = "arn:aws:scheduler:::aws-sdk:emrserverless:startJobRun"
# EventBridge Scheduler context attributes, replaced in the target input at each run.
SCHEDULER_SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
SCHEDULER_EXECUTION_ID = "<aws.scheduler.execution-id>"
# A runaway run is cancelled rather than billed for hours.
REPORT_TIMEOUT_MINUTES = 120
# Spark workers: 2 vCPU with 3 GB heap; with the 10% (min 384 MB) overhead EMR
# Serverless rounds that to its smallest 2 vCPU worker, 4 GB.
WORKER_VCPU = 2
WORKER_MEMORY_GB = 4
WORKER_HEAP = "3g"
# Enough to isolate a poison record by bisection (100 -> 1 takes 7) and then some.
EXPORT_RETRY_ATTEMPTS = 10


@dataclass
class AnalyticsArgs:
    settings: StackSettings
    # The jobs table's stream (pipeline.table.stream_arn).
    stream_arn: pulumi.Input[str]
    # Where the analytics alarms go (pipeline.alarms.topic.arn); no alarms when None.
    alarm_topic_arn: pulumi.Input[str] | None = None


def max_executors(max_vcpu: int, max_memory_gb: int) -> int:
    """Executors that fit beside the driver within the application's maximum capacity."""
    return max(
        1,
        min(
            (max_vcpu - WORKER_VCPU) // WORKER_VCPU,
            (max_memory_gb - WORKER_MEMORY_GB) // WORKER_MEMORY_GB,
        ),
    )


def spark_submit_parameters(max_vcpu: int, max_memory_gb: int) -> str:
    confs = {
        "spark.driver.cores": str(WORKER_VCPU),
        "spark.driver.memory": WORKER_HEAP,
        "spark.executor.cores": str(WORKER_VCPU),
        "spark.executor.memory": WORKER_HEAP,
        "spark.dynamicAllocation.maxExecutors": str(max_executors(max_vcpu, max_memory_gb)),
    }
    return " ".join(f"--conf {k}={v}" for k, v in confs.items())


def start_job_run_input(
    application_id: str,
    role_arn: str,
    bucket: str,
    report_days: int,
    max_vcpu: int,
    max_memory_gb: int,
) -> str:
    """The StartJobRun request the schedule sends (the SDK's parameter names).

    EventBridge Scheduler substitutes its context attributes at each run:
    `<aws.scheduler.scheduled-time>` names the report's run date (the report covers the
    `report_days` days before it), and `<aws.scheduler.execution-id>` is the idempotency
    token. StartJobRun's `clientToken` must match `^[A-Za-z0-9._-]+$` (at most 64
    characters): the scheduled time renders with colons and would be refused, the
    execution id is a short hex id. A second run for the same scheduled time writes the
    same `reports/dt=<run date>/` objects again, so it duplicates work, never a report.
    """
    return json.dumps(
        {
            "ApplicationId": application_id,
            "ClientToken": SCHEDULER_EXECUTION_ID,
            "ExecutionRoleArn": role_arn,
            "Name": "daily-moderation-report",
            "ExecutionTimeoutMinutes": REPORT_TIMEOUT_MINUTES,
            "JobDriver": {
                "SparkSubmit": {
                    "EntryPoint": f"s3://{bucket}/{SCRIPT_KEY}",
                    "EntryPointArguments": [
                        "--input",
                        f"s3://{bucket}/{EXPORT_PREFIX.rstrip('/')}",
                        "--output",
                        f"s3://{bucket}/{REPORT_PREFIX.rstrip('/')}",
                        "--run-date",
                        SCHEDULER_SCHEDULED_TIME,
                        "--days",
                        str(report_days),
                    ],
                    "SparkSubmitParameters": spark_submit_parameters(max_vcpu, max_memory_gb),
                }
            },
        },
        sort_keys=True,
    )


def _doc(statements: list[dict[str, Any]]) -> pulumi.Output[str]:
    return pulumi.Output.from_input(statements).apply(
        lambda resolved: json.dumps(
            {"Version": "2012-10-17", "Statement": resolved}, sort_keys=True
        )
    )


class Analytics(Component):
    def __init__(
        self, name: str, args: AnalyticsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, opts)
        s = args.settings
        a = s.analytics
        prefix = s.prefix
        child = pulumi.ResourceOptions(parent=self)
        account = aws.get_caller_identity_output().account_id
        region = aws.get_region_output().region

        # --- results bucket and the Spark script ------------------------------------------
        self.results = PrivateBucket(
            f"{prefix}-results",
            PrivateBucketArgs(
                force_destroy=s.force_destroy,
                expire_prefixes={
                    EXPORT_PREFIX: a.results_expiry_days,
                    REPORT_PREFIX: a.results_expiry_days,
                },
            ),
            opts=self.opts(),
        )
        self.bucket = self.results.bucket
        bucket_parts = self.results.guards
        bucket_arn = self.bucket.arn

        def objects(path: str) -> pulumi.Output[str]:
            return bucket_arn.apply(lambda arn: f"{arn}/{path}")

        self.script = aws.s3.BucketObjectv2(
            self.child("report-script"),
            bucket=self.bucket.id,
            key=SCRIPT_KEY,
            source=pulumi.FileAsset(str(REPORT_SCRIPT)),
            content_type="text/x-python",
            opts=pulumi.ResourceOptions(parent=self, depends_on=bucket_parts),
        )

        # --- exporter: stream -> S3 ---------------------------------------------------------
        self.failure_queue = aws.sqs.Queue(
            self.child("exporter-failures"),
            name=f"{prefix}-exporter-failures",
            message_retention_seconds=1209600,
            sqs_managed_sse_enabled=True,
            receive_wait_time_seconds=20,
            opts=child,
        )
        self.exporter = LambdaFunction(
            self.child(Function.EXPORTER),
            FunctionSpec(
                name=Function.EXPORTER,
                description="Writes terminal jobs from the jobs stream to the results bucket",
                environment={
                    Env.RESULTS_BUCKET: self.bucket.bucket,
                    Env.EXPORT_PREFIX: EXPORT_PREFIX,
                    # The dispatcher's lease is its timeout: the exporter derives claim times from it.
                    Env.DISPATCH_LEASE_SECONDS: str(s.function(Function.DISPATCHER).timeout),
                },
                statements=[
                    stream_reader_statement(args.stream_arn),
                    statement("WriteExports", ["s3:PutObject"], [objects(f"{EXPORT_PREFIX}*")]),
                    statement(
                        "OnFailureDestination", ["sqs:SendMessage"], [self.failure_queue.arn]
                    ),
                ],
            ),
            s,
            opts=child,
        )
        self.mapping = terminal_stream_mapping(
            self.child("exporter-stream"),
            args.stream_arn,
            self.exporter,
            batch_size=a.export_batch_size,
            batching_window=a.export_batching_window_seconds,
            # The stream keeps records 24 h; past that they are gone, so give up (and
            # park the batch's coordinates in the failure queue) before then.
            retries=EXPORT_RETRY_ATTEMPTS,
            failure_queue_arn=self.failure_queue.arn,
            parent=self,
        )

        # --- EMR Serverless ---------------------------------------------------------------------
        self.application = aws.emrserverless.Application(
            self.child("reports"),
            name=f"{prefix}-reports",
            release_label=a.release_label,
            type="spark",
            architecture="ARM64",
            maximum_capacity={"cpu": f"{a.max_vcpu} vCPU", "memory": f"{a.max_memory_gb} GB"},
            auto_start_configuration={"enabled": True},
            auto_stop_configuration={
                "enabled": True,
                "idle_timeout_minutes": a.idle_timeout_minutes,
            },
            opts=child,
        )
        job_trust = pulumi.Output.all(account, self.application.arn).apply(
            lambda v: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "emr-serverless.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                            # Only runs of this application may assume it (confused deputy):
                            # the application's ARN or its job runs' ARNs under it.
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": v[0]},
                                "ArnLike": {"aws:SourceArn": [v[1], f"{v[1]}/*"]},
                            },
                        }
                    ],
                }
            )
        )
        self.job_role = aws.iam.Role(
            self.child("report-job-role"),
            name=f"{prefix}-report-job",
            assume_role_policy=job_trust,
            description=f"Runtime role of {prefix} report runs on EMR Serverless",
            opts=child,
        )
        self.job_policy = aws.iam.RolePolicy(
            self.child("report-job-policy"),
            role=self.job_role.id,
            policy=_doc(
                [
                    statement("ReadExports", ["s3:GetObject"], [objects(f"{EXPORT_PREFIX}*")]),
                    statement("ReadScript", ["s3:GetObject"], [objects(SCRIPT_KEY)]),
                    # Spark's committer writes, renames (copy + delete) and may abort uploads
                    # under the output path; all of it stays inside reports/.
                    statement(
                        "WriteReports",
                        [
                            "s3:AbortMultipartUpload",
                            "s3:DeleteObject",
                            "s3:GetObject",
                            "s3:PutObject",
                        ],
                        [objects(f"{REPORT_PREFIX}*")],
                    ),
                    # Listing is limited to the two prefixes. "IfExists": a GET/HEAD of a
                    # missing key carries no s3:prefix, and S3 answers it 404 only to a
                    # caller allowed to list (403 otherwise, which Hadoop's S3 file
                    # systems treat as a fatal AccessDenied when probing output paths).
                    {
                        "Sid": "ListOwnPrefixes",
                        "Effect": "Allow",
                        "Action": ["s3:ListBucket"],
                        "Resource": [bucket_arn],
                        "Condition": {
                            "StringLikeIfExists": {
                                "s3:prefix": [
                                    EXPORT_PREFIX.rstrip("/"),
                                    f"{EXPORT_PREFIX}*",
                                    REPORT_PREFIX.rstrip("/"),
                                    f"{REPORT_PREFIX}*",
                                ]
                            }
                        },
                    },
                ]
            ),
            opts=child,
        )

        # --- the daily schedule ---------------------------------------------------------------
        self.schedule_group = aws.scheduler.ScheduleGroup(
            self.child("schedules"), name=f"{prefix}-analytics", opts=child
        )
        scheduler_trust = pulumi.Output.all(account, self.schedule_group.arn).apply(
            lambda v: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "scheduler.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                            "Condition": {
                                "StringEquals": {
                                    "aws:SourceAccount": v[0],
                                    "aws:SourceArn": v[1],
                                }
                            },
                        }
                    ],
                }
            )
        )
        self.scheduler_role = aws.iam.Role(
            self.child("report-schedule-role"),
            name=f"{prefix}-report-schedule",
            assume_role_policy=scheduler_trust,
            description=f"Lets the {prefix} report schedule start report runs",
            opts=child,
        )
        self.scheduler_policy = aws.iam.RolePolicy(
            self.child("report-schedule-policy"),
            role=self.scheduler_role.id,
            policy=_doc(
                [
                    statement(
                        "StartReportRuns", ["emr-serverless:StartJobRun"], [self.application.arn]
                    ),
                    {
                        "Sid": "PassJobRole",
                        "Effect": "Allow",
                        "Action": ["iam:PassRole"],
                        "Resource": [self.job_role.arn],
                        "Condition": {
                            "StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}
                        },
                    },
                ]
            ),
            opts=child,
        )
        self.schedule = aws.scheduler.Schedule(
            self.child("daily-report"),
            name=f"{prefix}-daily-report",
            group_name=self.schedule_group.name,
            description="Starts the daily moderation report on EMR Serverless",
            schedule_expression=a.report_schedule,
            schedule_expression_timezone="UTC",
            flexible_time_window={"mode": "OFF"},
            target={
                "arn": START_JOB_RUN_TARGET,
                "role_arn": self.scheduler_role.arn,
                "input": pulumi.Output.all(
                    self.application.id, self.job_role.arn, self.bucket.bucket
                ).apply(
                    lambda v: start_job_run_input(
                        v[0], v[1], v[2], a.report_days, a.max_vcpu, a.max_memory_gb
                    )
                ),
                "retry_policy": {"maximum_retry_attempts": 3, "maximum_event_age_in_seconds": 3600},
            },
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.scheduler_policy, self.job_policy, self.script]
            ),
        )

        # --- alarms -------------------------------------------------------------------------------
        self.alarm_names: list[pulumi.Output[str]] = []
        if args.alarm_topic_arn is not None:
            self._alarms(prefix, args.alarm_topic_arn)

        self.register_outputs(
            {
                "results_bucket": self.bucket.bucket,
                "emr_application_id": self.application.id,
                "exporter": self.exporter.function.name,
                "exporter_failure_queue_url": self.failure_queue.url,
                "report_schedule": self.schedule.name,
                "region": region,
            }
        )

    def _alarms(self, prefix: str, topic_arn: pulumi.Input[str]) -> None:
        alarms = AlarmSet(self, prefix, topic_arn)
        fn_name = self.exporter.function.name
        alarms.above(
            "exporter-errors",
            "The exporter failed batches; Lambda retries and bisects them.",
            "AWS/Lambda",
            "Errors",
            {"FunctionName": fn_name},
        )
        alarms.above(
            "exporter-throttles",
            "The exporter was throttled.",
            "AWS/Lambda",
            "Throttles",
            {"FunctionName": fn_name},
        )
        alarms.above(
            "exporter-iterator-age",
            "The exporter is over an hour behind the jobs stream (records expire at 24 h).",
            "AWS/Lambda",
            "IteratorAge",
            {"FunctionName": fn_name},
            statistic="Maximum",
            evaluation_periods=2,
            threshold=3_600_000,
        )
        alarms.above(
            "exporter-failures-has-records",
            "Stream batches the exporter gave up on: their jobs are missing from the "
            "results bucket until re-exported.",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": self.failure_queue.name},
            statistic="Maximum",
        )
        alarms.above(
            "report-runs-failed",
            "A report run on EMR Serverless failed.",
            "AWS/EMRServerless",
            "FailedJobs",
            {"ApplicationId": self.application.id},
        )
        alarms.above(
            "report-schedule-dropped",
            "The report schedule could not start a run after its retries.",
            "AWS/Scheduler",
            "InvocationDroppedCount",
            {"ScheduleGroup": self.schedule_group.name},
        )
        self.alarm_names = alarms.names
