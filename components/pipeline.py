"""ModerationPipeline: upload API, storage, queueing, the two analyzers, decision, notification,
and the moderators' review API.

The reference design's pipeline (docs/reference-design.md), hardened: the dispatcher
claims a job before fanning out, the finalize write is conditional on `analyzing` so
exactly one branch decides, the notification is published from the table's stream so
it is neither lost nor doubled, and every failure ends in a queue an operator can see.

It composes the building blocks: `JobStore` (bucket, tables), `ProcessingQueues`,
`NotificationTopic`, one `LambdaFunction` per function (`pipeline_functions.py` says
what each may touch), `HttpApi`, and the `AlarmTopic` with the pipeline's alarms.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import pipeline_functions as specs
from components.alarms import AlarmSet, AlarmTopic
from components.banks import HashBanks
from components.base import Component
from components.buckets import PrivateBucket, PrivateBucketArgs
from components.function import FunctionSpec, LambdaFunction, terminal_stream_mapping
from components.http_api import HttpApi, HttpApiArgs, Route
from components.messaging import NotificationTopic, ProcessingQueues, ProcessingQueuesArgs
from components.pipeline_functions import CacheInputs, EdgeInputs
from components.quotas import UploadQuotas, UploadQuotasArgs
from components.settings import StackSettings
from components.statements import Statements, StatementsArgs
from components.storage import JobStore, JobStoreArgs, incoming_expiry_days
from lambdas.common.contract import (
    APPEAL_DECISION_ROUTE,
    APPEAL_ROUTE,
    BANKS_ROUTES,
    CLAIM_ROUTE,
    METRICS_NAMESPACE,
    NOTICE_ROUTE,
    QA_ROUTE,
    RELEASE_ROUTE,
    REVIEWS_ROUTE,
    STATEMENT_ROUTE,
    VERDICT_ROUTE,
    Function,
    Metric,
    WorkQueue,
)

REVIEW_WORK_ROUTES = (CLAIM_ROUTE, RELEASE_ROUTE, APPEAL_ROUTE, APPEAL_DECISION_ROUTE, QA_ROUTE)

ANALYZERS = (Function.REKOGNITION_ANALYZER, Function.CUSTOM_ANALYZER, Function.TEXT_ANALYZER)

__all__ = ["CacheInputs", "EdgeInputs", "ModerationPipeline", "ModerationPipelineArgs"]


@dataclass
class ModerationPipelineArgs:
    settings: StackSettings
    # From EdgeAuth when enabled: its user pool is the JWT issuer (otherwise
    # settings.jwt_issuer/jwt_audience), and approved images are copied to its bucket.
    edge: EdgeInputs | None = None
    # From StatusCache when enabled: the status function reads through the cache.
    cache: CacheInputs | None = None


class ModerationPipeline(Component):
    def __init__(
        self, name: str, args: ModerationPipelineArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, opts)
        s = args.settings
        prefix = s.prefix
        self.region = aws.get_region_output().region
        account = aws.get_caller_identity_output().account_id

        self.store = JobStore(
            self.child("store"),
            JobStoreArgs(
                prefix,
                s.force_destroy,
                s.upload_expiry_days,
                s.verdict_reuse.enabled,
                incoming_days=incoming_expiry_days(s.presign_expiry_seconds),
            ),
            opts=self.opts(),
        )
        self.queues = ProcessingQueues(
            self.child("queues"),
            ProcessingQueuesArgs(
                prefix,
                s.visibility_timeout_seconds,
                s.queue_retention_seconds,
                s.dlq_retention_seconds,
                s.max_receive_count,
            ),
            opts=self.opts(),
        )
        self.notifications = NotificationTopic(
            self.child("notifications"), prefix, s.notification_fifo, opts=self.opts()
        )
        # Per-user upload limits: their own table, touched by the upload function only.
        self.quotas = (
            UploadQuotas(
                self.child("quotas"),
                UploadQuotasArgs(
                    prefix, s.force_destroy, s.quota.uploads_per_minute, s.quota.uploads_per_day
                ),
                opts=self.opts(),
            )
            if s.quota.enabled
            else None
        )
        # Statements of reasons (DSA): their own table; the notifier is its one writer.
        self.statements = (
            Statements(
                self.child("statements"),
                StatementsArgs(
                    prefix,
                    s.force_destroy,
                    s.dsa.function_config(s.appeals.window_days),
                    notices=s.dsa.notices,
                    notices_per_day=s.dsa.notices_per_day,
                    submit=s.dsa.submit,
                    api_url=s.dsa.api_url,
                    token_secret=s.dsa.token_secret,
                ),
                opts=self.opts(),
            )
            if s.dsa.statements
            else None
        )
        # Shorthands the program's exports and the other components read.
        self.bucket = self.store.uploads.bucket
        self.table = self.store.table
        self.idempotency_table = self.store.idempotency_table
        self.verdicts_table = self.store.verdicts_table
        self.queue, self.dlq = self.queues.queue, self.queues.dlq
        self.failure_queue = self.queues.failure_queue
        self.topic = self.notifications.topic

        # --- functions -------------------------------------------------------------------
        r = specs.Resources(
            s,
            self.store,
            self.queues,
            self.notifications,
            args.edge,
            args.cache,
            self.quotas,
            statements=self.statements,
        )
        self.functions: dict[str, LambdaFunction] = {}
        # Dependency layers whose zips exceed Lambda's direct upload go through this bucket.
        self.artifacts = (
            PrivateBucket(
                self.child("artifacts"), PrivateBucketArgs(force_destroy=True), self.opts()
            )
            if s.dependency_layer == "build"
            else None
        )

        def add(spec: FunctionSpec) -> LambdaFunction:
            fn = LambdaFunction(
                self.child(spec.name),
                spec,
                s,
                opts=self.opts(),
                artifacts=self.artifacts.bucket if self.artifacts else None,
            )
            self.functions[spec.name] = fn
            return fn

        rekognition = add(specs.rekognition_analyzer(r))
        # Hash banks (components/banks.py): the analyzer reads them, the API manages them.
        self.banks = HashBanks(self.child("banks"), s, opts=self.opts())
        add(self.banks.attach_analyzer(specs.custom_analyzer(r, rekognition)))
        banks_api = add(
            self.banks.function_spec(
                s.review.moderator_group,
                self.store.uploads.name,
                r.uploads_objects,
                self.store.audit_table,
            )
        )
        if s.text_analysis_enabled:
            add(specs.text_analyzer(r, rekognition))
        self.analyzers = {a: self.functions[a] for a in ANALYZERS if a in self.functions}
        upload = add(specs.upload(r))
        status = add(specs.status(r))
        dispatcher = add(self.banks.attach_reuse(specs.dispatcher(r, self.analyzers)))
        notifier = add(specs.notifier(r))
        sweeper = add(specs.sweeper(r))
        reviewer = add(specs.review(r))
        # Notices (DSA Article 16): with statements, since a notice's outcome is one.
        noticer = add(specs.notices(r)) if self.statements is not None and s.dsa.notices else None

        # --- triggers ----------------------------------------------------------------------
        aws.lambda_.EventSourceMapping(
            self.child("dispatcher-queue"),
            event_source_arn=self.queue.arn,
            function_name=dispatcher.function.arn,
            batch_size=s.batch_size,
            maximum_batching_window_in_seconds=s.batching_window_seconds or None,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config={"maximum_concurrency": s.max_concurrency}
            if s.max_concurrency
            else None,
            opts=self.opts(depends_on=[dispatcher]),
        )
        terminal_stream_mapping(
            self.child("notifier-stream"),
            self.table.stream_arn,
            notifier,
            batch_size=100,
            batching_window=1,
            retries=10,
            failure_queue_arn=self.failure_queue.arn,
            parent=self,
        )
        if self.statements is not None and self.statements.dlq is not None:
            # New statements (inserts) in batches of up to 100, the API's multiple call.
            submitter = add(specs.dsa_submitter(r))
            aws.lambda_.EventSourceMapping(
                self.child("dsa-submitter-stream"),
                event_source_arn=self.statements.table.stream_arn,
                function_name=submitter.function.arn,
                starting_position="TRIM_HORIZON",
                batch_size=100,
                maximum_batching_window_in_seconds=10,
                bisect_batch_on_function_error=True,
                maximum_retry_attempts=10,
                maximum_record_age_in_seconds=86400,
                filter_criteria={"filters": [{"pattern": json.dumps({"eventName": ["INSERT"]})}]},
                destination_config={"on_failure": {"destination_arn": self.statements.dlq.arn}},
                opts=self.opts(depends_on=[submitter]),
            )
        for analyzer, fn in self.analyzers.items():
            # Async settings belong to the qualifier invoked: the alias when provisioned.
            aws.lambda_.FunctionEventInvokeConfig(
                self.child(f"{analyzer}-async"),
                function_name=fn.function.name,
                qualifier=fn.alias.name if fn.alias is not None else None,
                maximum_retry_attempts=s.async_retries,
                maximum_event_age_in_seconds=s.async_max_event_age_seconds,
                destination_config={"on_failure": {"destination": self.failure_queue.arn}},
                opts=self.opts(depends_on=[fn]),
            )
        upload_permission = aws.lambda_.Permission(
            self.child("upload-from-s3"),
            action="lambda:InvokeFunction",
            function=upload.function.name,
            principal="s3.amazonaws.com",
            source_arn=self.store.uploads.arn,
            source_account=account,
            opts=self.opts(),
        )
        aws.s3.BucketNotification(
            self.child("incoming-uploads"),
            bucket=self.bucket.id,
            lambda_functions=[
                {
                    "lambda_function_arn": upload.function.arn,
                    "events": ["s3:ObjectCreated:*"],
                    "filter_prefix": "incoming/",
                }
            ],
            opts=self.opts(depends_on=[upload_permission, *self.store.uploads.guards]),
        )
        minutes = s.sweep_rate_minutes
        sweep_rule = aws.cloudwatch.EventRule(
            self.child("sweep-schedule"),
            name=f"{prefix}-sweep",
            description="Runs the sweeper",
            schedule_expression=f"rate({minutes} minute{'s' if minutes > 1 else ''})",
            opts=self.opts(),
        )
        sweep_permission = aws.lambda_.Permission(
            self.child("sweeper-from-schedule"),
            action="lambda:InvokeFunction",
            function=sweeper.function.name,
            principal="events.amazonaws.com",
            source_arn=sweep_rule.arn,
            opts=self.opts(),
        )
        aws.cloudwatch.EventTarget(
            self.child("sweep-target"),
            rule=sweep_rule.name,
            arn=sweeper.function.arn,
            opts=self.opts(depends_on=[sweep_permission]),
        )

        # --- HTTP API ----------------------------------------------------------------------
        edge = args.edge
        throttling = s.throttling
        self.api = HttpApi(
            self.child("api"),
            HttpApiArgs(
                prefix=prefix,
                issuer=edge.jwt_issuer if edge else (s.jwt_issuer or ""),
                audience=edge.jwt_audience if edge else list(s.jwt_audience),
                routes=[
                    Route(
                        "POST /jobs",
                        upload,
                        s.function(Function.UPLOAD).timeout,
                        throttling.post_jobs,
                    ),
                    Route(
                        "GET /jobs/{job_id}",
                        status,
                        s.function(Function.STATUS).timeout,
                        throttling.get_job,
                    ),
                    # The owner's statements of reasons (the function checks the owner).
                    *(
                        [
                            Route(
                                STATEMENT_ROUTE,
                                status,
                                s.function(Function.STATUS).timeout,
                                throttling.get_job,
                            )
                        ]
                        if self.statements is not None
                        else []
                    ),
                    *(
                        [
                            Route(
                                NOTICE_ROUTE,
                                noticer,
                                s.function(Function.NOTICES).timeout,
                                throttling.reviews,
                            )
                        ]
                        if noticer is not None
                        else []
                    ),
                    # Moderators only: the function checks the token's cognito:groups.
                    *(
                        Route(
                            key, reviewer, s.function(Function.REVIEW).timeout, throttling.reviews
                        )
                        for key in (REVIEWS_ROUTE, VERDICT_ROUTE)
                    ),
                    # Claims, appeals and QA: the same function; the owner's appeal too.
                    *(
                        Route(
                            key, reviewer, s.function(Function.REVIEW).timeout, throttling.reviews
                        )
                        for key in REVIEW_WORK_ROUTES
                    ),
                    *(
                        Route(
                            key, banks_api, s.function(Function.BANKS).timeout, throttling.reviews
                        )
                        for key in BANKS_ROUTES
                    ),
                ],
                default_throttle=throttling.get_job,
                log_retention_days=s.log_retention_days,
                cors_origins=s.cors_origins,
                description="Image moderation jobs",
            ),
            opts=self.opts(),
        )
        self.api_url = self.api.url
        self.api_logs = self.api.access_logs

        # --- alarms ------------------------------------------------------------------------
        self.alarm_topic = AlarmTopic(
            self.child("alarms"),
            prefix,
            email=s.alarm_email,
            https_endpoint=s.alarm_https_endpoint,
            opts=self.opts(),
        )
        self.alarms = AlarmSet(self, prefix, self.alarm_topic.arn)
        self._declare_alarms(s)

        self.register_outputs(
            {
                "api_url": self.api_url,
                "jobs_table": self.table.name,
                "upload_bucket": self.bucket.bucket,
                "processing_queue_url": self.queue.url,
                "dlq_url": self.dlq.url,
                "failure_queue_url": self.failure_queue.url,
                "notification_topic_arn": self.topic.arn,
            }
        )

    def _declare_alarms(self, s: StackSettings) -> None:
        alarms = self.alarms
        if self.statements is not None and self.statements.dlq is not None:
            alarms.above(
                "dsa-submission-dlq",
                "Statements of reasons could not be submitted to the Transparency Database: "
                "read the reason on each message, fix, and redrive.",
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                {"QueueName": self.statements.dlq.name},
                statistic="Maximum",
                period=60,
            )
        alarms.above(
            "dlq-has-messages",
            "Messages reached the processing DLQ: inspect and redrive them.",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": self.dlq.name},
            statistic="Maximum",
            period=60,
        )
        alarms.above(
            "failure-queue-has-records",
            "Analyzer failure records the sweeper could not process.",
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            {"QueueName": self.failure_queue.name},
            statistic="Maximum",
            threshold=max(300, 3 * 60 * s.sweep_rate_minutes),
        )
        alarms.above(
            "queue-oldest-message-age",
            "The processing queue is not keeping up.",
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            {"QueueName": self.queue.name},
            statistic="Maximum",
            period=60,
            evaluation_periods=3,
            threshold=s.oldest_message_alarm_seconds,
        )
        alarms.above(
            "stuck-jobs",
            "The sweeper found jobs past their deadline.",
            METRICS_NAMESPACE,
            Metric.STUCK_JOBS,
            {"service": Function.SWEEPER},
            statistic="Maximum",
        )
        alarms.above(
            "review-oldest-age",
            f"A job has waited more than {s.review.max_age_minutes} minutes for a moderator.",
            METRICS_NAMESPACE,
            Metric.OLDEST_REVIEW_AGE_SECONDS,
            {"service": Function.SWEEPER},
            statistic="Maximum",
            period=60 * s.sweep_rate_minutes,
            threshold=60 * s.review.max_age_minutes,
        )
        # Claims (lambdas/common/claims.py): items wait too long to be claimed, or a
        # claimant takes longer than the claim lasts (the item went back to the queue).
        for queue in WorkQueue:
            alarms.above(
                f"{queue}-time-to-claim",
                f"An item of the {queue} queue waited more than {s.review.max_age_minutes} "
                "minutes before a moderator claimed it.",
                METRICS_NAMESPACE,
                Metric.REVIEW_TIME_TO_CLAIM_SECONDS,
                {"service": Function.REVIEW, "queue": str(queue)},
                statistic="Maximum",
                period=300,
                threshold=60 * s.review.max_age_minutes,
            )
            alarms.above(
                f"{queue}-time-to-decide",
                f"A moderator took longer than the {s.review.claim_minutes}-minute claim to "
                f"decide an item of the {queue} queue.",
                METRICS_NAMESPACE,
                Metric.REVIEW_TIME_TO_DECIDE_SECONDS,
                {"service": Function.REVIEW, "queue": str(queue)},
                statistic="Maximum",
                period=300,
                threshold=60 * s.review.claim_minutes,
            )
        alarms.above(
            "bank-entry-quarantined",
            "A hash bank entry matched far above its usual rate and was disabled: check it "
            "on the Banks page and re-enable it (PUT /banks/{bank}) if the matches are right.",
            METRICS_NAMESPACE,
            Metric.BANK_ENTRY_QUARANTINED,
            {"service": Function.CUSTOM_ANALYZER},
        )
        alarms.function_errors_and_throttles(self.functions.values())
