"""ModerationPipeline: upload API, storage, queueing, the two analyzers, decision, notification.

Seed 004's pipeline, hardened: the dispatcher claims a job before fanning out, the
finalize write is conditional on `analyzing` so exactly one branch decides, the
notification is published from the table's stream so it is neither lost nor
doubled, and every failure ends in a queue an operator can see.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.function import FunctionSpec, LambdaFunction, statement, terminal_stream_mapping
from components.settings import StackSettings

STATUS_INDEX = "status-created_at-index"
ANALYZERS = ("rekognition_analyzer", "custom_analyzer")


@dataclass
class ModerationPipelineArgs:
    settings: StackSettings
    # Supplied by EdgeAuth when enabled; otherwise settings.jwt_issuer/jwt_audience.
    jwt_issuer: pulumi.Input[str] | None = None
    jwt_audience: pulumi.Input[list] | None = None
    # Supplied by EdgeAuth: approved images are copied there and served by the CDN.
    content_bucket_name: pulumi.Input[str] | None = None
    content_bucket_arn: pulumi.Input[str] | None = None
    cdn_base_url: pulumi.Input[str] | None = None
    # Supplied by StatusCache: the status function joins the VPC and reads through the cache.
    status_vpc_config: dict | None = None
    status_environment: dict = field(default_factory=dict)
    status_extra_requirements: tuple = ()
    status_statements: list = field(default_factory=list)


def tls_only_statement(arn: str) -> dict:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def bucket_policy_document(
    bucket_arn: pulumi.Input[str], extra_statements: pulumi.Input[list] | None = None
) -> pulumi.Output[str]:
    """The TLS-only deny plus `extra_statements` (which may hold Outputs)."""
    return pulumi.Output.all(bucket_arn, extra_statements or []).apply(
        lambda args: json.dumps(
            {"Version": "2012-10-17", "Statement": [tls_only_statement(args[0]), *args[1]]}
        )
    )


def _tls_only_policy(bucket_arn: pulumi.Output[str]) -> pulumi.Output[str]:
    return bucket_policy_document(bucket_arn)


def private_bucket(
    name: str,
    settings: StackSettings,
    parent: pulumi.Resource,
    expire_prefixes: dict[str, int] | None = None,
    extra_policy: Any = None,
    attach_policy: bool = True,
) -> tuple[aws.s3.Bucket, list[pulumi.Resource]]:
    """An S3 bucket no one can make public: BPA, owner-enforced, SSE, TLS-only, lifecycle.

    `attach_policy=False` leaves the bucket policy to the caller, for a policy that names
    a resource declared after the bucket (a CloudFront distribution reading it): build it
    with `bucket_policy_document` so it keeps the TLS-only deny.
    """
    child = pulumi.ResourceOptions(parent=parent)
    bucket = aws.s3.Bucket(name, force_destroy=settings.force_destroy, opts=child)
    bpa = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access-block",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    ownership = aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket.id,
        rule={"object_ownership": "BucketOwnerEnforced"},
        opts=child,
    )
    sse = aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-sse",
        bucket=bucket.id,
        rules=[
            {
                "apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"},
                "bucket_key_enabled": True,
            }
        ],
        opts=child,
    )
    parts: list[pulumi.Resource] = [bpa, ownership, sse]
    if attach_policy:
        policy_doc = extra_policy if extra_policy is not None else _tls_only_policy(bucket.arn)
        parts.append(
            aws.s3.BucketPolicy(
                f"{name}-policy",
                bucket=bucket.id,
                policy=policy_doc,
                opts=pulumi.ResourceOptions(parent=parent, depends_on=[bpa]),
            )
        )
    rules: list[dict] = [
        {
            "id": "abort-incomplete-multipart",
            "status": "Enabled",
            "filter": {},
            "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
        }
    ]
    for prefix, days in (expire_prefixes or {}).items():
        rules.append(
            {
                "id": f"expire-{prefix.strip('/')}",
                "status": "Enabled",
                "filter": {"prefix": prefix},
                "expiration": {"days": days},
            }
        )
    lifecycle = aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle", bucket=bucket.id, rules=rules, opts=child
    )
    return bucket, [*parts, lifecycle]


class ModerationPipeline(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: ModerationPipelineArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("moderation:index:ModerationPipeline", name, None, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        prefix = s.prefix
        region = aws.get_region_output().region
        account = aws.get_caller_identity_output().account_id

        # --- storage -------------------------------------------------------------------
        self.bucket, bucket_parts = private_bucket(
            f"{prefix}-uploads",
            s,
            self,
            expire_prefixes={"uploads/": s.upload_expiry_days, "incoming/": s.upload_expiry_days},
        )

        self.table = aws.dynamodb.Table(
            "jobs",
            name=f"{prefix}-jobs",
            billing_mode="PAY_PER_REQUEST",
            hash_key="job_id",
            attributes=[
                {"name": "job_id", "type": "S"},
                {"name": "status", "type": "S"},
                {"name": "created_at", "type": "S"},
            ],
            global_secondary_indexes=[
                {
                    "name": STATUS_INDEX,
                    "hash_key": "status",
                    "range_key": "created_at",
                    # Only attributes that change with the status: projecting updated_at
                    # would rewrite the index entry on each analyzer's result write.
                    "projection_type": "INCLUDE",
                    "non_key_attributes": ["user_id", "decision", "completed_at"],
                }
            ],
            ttl={"attribute_name": "expires_at", "enabled": True},
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True},
            stream_enabled=True,
            stream_view_type="NEW_AND_OLD_IMAGES",
            deletion_protection_enabled=not s.force_destroy,
            opts=child,
        )
        self.idempotency_table = aws.dynamodb.Table(
            "idempotency",
            name=f"{prefix}-idempotency",
            billing_mode="PAY_PER_REQUEST",
            hash_key="id",
            attributes=[{"name": "id", "type": "S"}],
            ttl={"attribute_name": "expiration", "enabled": True},
            server_side_encryption={"enabled": True},
            deletion_protection_enabled=not s.force_destroy,
            opts=child,
        )

        # --- queues and topics -----------------------------------------------------------
        self.dlq = aws.sqs.Queue(
            "processing-dlq",
            name=f"{prefix}-processing-dlq",
            message_retention_seconds=s.dlq_retention_seconds,
            sqs_managed_sse_enabled=True,
            receive_wait_time_seconds=20,
            opts=child,
        )
        self.queue = aws.sqs.Queue(
            "processing",
            name=f"{prefix}-processing",
            visibility_timeout_seconds=s.visibility_timeout_seconds,
            message_retention_seconds=s.queue_retention_seconds,
            receive_wait_time_seconds=20,
            sqs_managed_sse_enabled=True,
            redrive_policy=self.dlq.arn.apply(
                lambda arn: json.dumps(
                    {"deadLetterTargetArn": arn, "maxReceiveCount": s.max_receive_count}
                )
            ),
            opts=child,
        )
        self.dlq_redrive_allow = aws.sqs.RedriveAllowPolicy(
            "processing-dlq-allow",
            queue_url=self.dlq.url,
            redrive_allow_policy=self.queue.arn.apply(
                lambda arn: json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [arn]})
            ),
            opts=child,
        )
        self.failure_queue = aws.sqs.Queue(
            "analysis-failures",
            name=f"{prefix}-analysis-failures",
            message_retention_seconds=1209600,
            sqs_managed_sse_enabled=True,
            receive_wait_time_seconds=20,
            opts=child,
        )
        # The notifier publishes at least once (a crash after a publish replays its batch).
        # A FIFO topic drops a second publish with the same deduplication id (job id and
        # status) within five minutes, so subscribers get one message per job. Dedup scope
        # is the message group (the job), which lifts the per-topic throughput limit.
        fifo = s.notification_fifo
        self.topic = aws.sns.Topic(
            "notifications",
            name=f"{prefix}-notifications.fifo" if fifo else f"{prefix}-notifications",
            kms_master_key_id="alias/aws/sns",
            fifo_topic=True if fifo else None,
            content_based_deduplication=False if fifo else None,
            fifo_throughput_scope="MessageGroup" if fifo else None,
            opts=child,
        )

        # --- functions -------------------------------------------------------------------
        table_arn = self.table.arn
        bucket_arn = self.bucket.arn
        uploads_objects = bucket_arn.apply(lambda a: f"{a}/uploads/*")
        incoming_objects = bucket_arn.apply(lambda a: f"{a}/incoming/*")
        rules_env = {
            "JOBS_TABLE": self.table.name,
            "UPLOAD_BUCKET": self.bucket.bucket,
            "MIN_CONFIDENCE": str(s.rekognition_min_confidence),
            "REJECT_THRESHOLD": str(s.reject_threshold),
            "UNSAFE_CATEGORIES": ",".join(s.unsafe_categories),
        }
        branch_statements = [
            statement("ReadImages", ["s3:GetObject"], [uploads_objects, incoming_objects]),
            statement("WriteResult", ["dynamodb:UpdateItem"], [table_arn]),
            statement("OnFailureDestination", ["sqs:SendMessage"], [self.failure_queue.arn]),
        ]

        self.functions: dict[str, LambdaFunction] = {}

        def add(spec: FunctionSpec) -> LambdaFunction:
            fn = LambdaFunction(spec, s, opts=child)
            self.functions[spec.name] = fn
            return fn

        add(
            FunctionSpec(
                name="rekognition_analyzer",
                description="Rekognition moderation labels for one job",
                environment=rules_env,
                statements=[
                    # DetectModerationLabels has no resource-level permissions: AWS requires "*".
                    statement(
                        "DetectModerationLabels", ["rekognition:DetectModerationLabels"], ["*"]
                    ),
                    *branch_statements,
                ],
            )
        )
        add(
            FunctionSpec(
                name="custom_analyzer",
                description="Blocklist and image checks for one job",
                environment={
                    **rules_env,
                    "BLOCKLIST_HASHES": ",".join(s.blocklist_hashes),
                    "BLOCKLIST_MAX_DISTANCE": str(s.blocklist_max_distance),
                    "MIN_IMAGE_SIDE": str(s.min_image_side),
                    "MAX_ASPECT_RATIO": str(s.max_aspect_ratio),
                },
                statements=list(branch_statements),
            )
        )
        rek, custom = self.functions["rekognition_analyzer"], self.functions["custom_analyzer"]

        add(
            FunctionSpec(
                name="upload",
                description="POST /jobs and presigned-upload validation",
                environment={
                    "JOBS_TABLE": self.table.name,
                    "IDEMPOTENCY_TABLE": self.idempotency_table.name,
                    "UPLOAD_BUCKET": self.bucket.bucket,
                    "PROCESSING_QUEUE_URL": self.queue.url,
                    "MAX_INLINE_UPLOAD_BYTES": str(s.max_inline_upload_bytes),
                    "MAX_UPLOAD_BYTES": str(s.max_upload_bytes),
                    "PRESIGN_EXPIRY_SECONDS": str(s.presign_expiry_seconds),
                    "JOB_RETENTION_DAYS": str(s.job_retention_days),
                    "IDEMPOTENCY_TTL_SECONDS": str(s.idempotency_ttl_seconds),
                },
                statements=[
                    statement(
                        "StoreImages",
                        ["s3:DeleteObject", "s3:PutObject"],
                        [uploads_objects, incoming_objects],
                    ),
                    statement("ReadIncoming", ["s3:GetObject"], [incoming_objects]),
                    statement(
                        "CreateAndFailJobs",
                        ["dynamodb:PutItem", "dynamodb:UpdateItem"],
                        [table_arn],
                    ),
                    statement(
                        "Idempotency",
                        [
                            "dynamodb:DeleteItem",
                            "dynamodb:GetItem",
                            "dynamodb:PutItem",
                            "dynamodb:UpdateItem",
                        ],
                        [self.idempotency_table.arn],
                    ),
                    statement("Enqueue", ["sqs:SendMessage"], [self.queue.arn]),
                ],
            )
        )
        add(
            FunctionSpec(
                name="status",
                description="GET /jobs/{job_id}",
                environment={
                    "JOBS_TABLE": self.table.name,
                    **({"CDN_BASE_URL": args.cdn_base_url} if args.cdn_base_url else {}),
                    **args.status_environment,
                },
                statements=[
                    statement("ReadJobs", ["dynamodb:GetItem"], [table_arn]),
                    *args.status_statements,
                ],
                vpc_config=args.status_vpc_config,
                extra_requirements=tuple(args.status_extra_requirements),
            )
        )
        add(
            FunctionSpec(
                name="dispatcher",
                description="Claims queued jobs and fans out to both analyzers",
                environment={
                    "JOBS_TABLE": self.table.name,
                    "REKOGNITION_FUNCTION": rek.function.name,
                    "CUSTOM_FUNCTION": custom.function.name,
                    "DISPATCH_LEASE_SECONDS": str(s.function("dispatcher").timeout),
                },
                statements=[
                    statement("ClaimJobs", ["dynamodb:UpdateItem"], [table_arn]),
                    statement(
                        "InvokeAnalyzers",
                        ["lambda:InvokeFunction"],
                        [rek.function.arn, custom.function.arn],
                    ),
                    statement(
                        "ConsumeQueue",
                        [
                            "sqs:ChangeMessageVisibility",
                            "sqs:DeleteMessage",
                            "sqs:GetQueueAttributes",
                            "sqs:ReceiveMessage",
                        ],
                        [self.queue.arn],
                    ),
                ],
            )
        )
        stream_arn = self.table.stream_arn
        notifier_statements = [
            statement(
                "ReadStream",
                [
                    "dynamodb:DescribeStream",
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                    "dynamodb:ListStreams",
                ],
                [stream_arn],
            ),
            statement("Notify", ["sns:Publish"], [self.topic.arn]),
            statement("OnFailureDestination", ["sqs:SendMessage"], [self.failure_queue.arn]),
        ]
        notifier_env = {
            "NOTIFICATION_TOPIC_ARN": self.topic.arn,
            "UPLOAD_BUCKET": self.bucket.bucket,
        }
        if args.content_bucket_name is not None:
            notifier_env["CONTENT_BUCKET"] = args.content_bucket_name
            notifier_env["CONTENT_MAX_AGE_SECONDS"] = str(s.edge_auth.content_ttl_seconds)
            notifier_statements += [
                statement("ReadApproved", ["s3:GetObject"], [uploads_objects, incoming_objects]),
                statement(
                    "PublishContent",
                    ["s3:PutObject"],
                    [
                        pulumi.Output.from_input(args.content_bucket_arn).apply(
                            lambda a: f"{a}/content/*"
                        )
                    ],
                ),
            ]
        add(
            FunctionSpec(
                name="notifier",
                description="Publishes one notification per job that became terminal",
                environment=notifier_env,
                statements=notifier_statements,
            )
        )
        add(
            FunctionSpec(
                name="sweeper",
                description="Fails jobs whose analyzers gave up or that passed their deadline",
                environment={
                    "JOBS_TABLE": self.table.name,
                    "FAILURE_QUEUE_URL": self.failure_queue.url,
                    "JOB_DEADLINE_SECONDS": str(s.job_deadline_seconds),
                },
                statements=[
                    statement(
                        "FindOverdue",
                        ["dynamodb:Query"],
                        [table_arn.apply(lambda a: f"{a}/index/{STATUS_INDEX}")],
                    ),
                    statement("FailJobs", ["dynamodb:UpdateItem"], [table_arn]),
                    statement(
                        "DrainFailures",
                        ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
                        [self.failure_queue.arn],
                    ),
                ],
            )
        )

        # --- triggers ----------------------------------------------------------------------
        dispatcher = self.functions["dispatcher"]
        self.dispatch_mapping = aws.lambda_.EventSourceMapping(
            "dispatcher-queue",
            event_source_arn=self.queue.arn,
            function_name=dispatcher.function.arn,
            batch_size=s.batch_size,
            maximum_batching_window_in_seconds=s.batching_window_seconds or None,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config={"maximum_concurrency": s.max_concurrency}
            if s.max_concurrency
            else None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[dispatcher]),
        )
        notifier = self.functions["notifier"]
        self.notify_mapping = terminal_stream_mapping(
            "notifier-stream",
            stream_arn,
            notifier,
            batch_size=100,
            batching_window=1,
            retries=10,
            failure_queue_arn=self.failure_queue.arn,
            parent=self,
        )
        for analyzer in ANALYZERS:
            fn = self.functions[analyzer]
            aws.lambda_.FunctionEventInvokeConfig(
                f"{analyzer}-async",
                function_name=fn.function.name,
                maximum_retry_attempts=s.async_retries,
                maximum_event_age_in_seconds=s.async_max_event_age_seconds,
                destination_config={"on_failure": {"destination": self.failure_queue.arn}},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[fn]),
            )

        upload = self.functions["upload"]
        upload_permission = aws.lambda_.Permission(
            "upload-from-s3",
            action="lambda:InvokeFunction",
            function=upload.function.name,
            principal="s3.amazonaws.com",
            source_arn=bucket_arn,
            source_account=account,
            opts=child,
        )
        self.bucket_notification = aws.s3.BucketNotification(
            "incoming-uploads",
            bucket=self.bucket.id,
            lambda_functions=[
                {
                    "lambda_function_arn": upload.function.arn,
                    "events": ["s3:ObjectCreated:*"],
                    "filter_prefix": "incoming/",
                }
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[upload_permission, *bucket_parts]),
        )

        sweeper = self.functions["sweeper"]
        self.sweep_rule = aws.cloudwatch.EventRule(
            "sweep-schedule",
            name=f"{prefix}-sweep",
            description="Runs the sweeper",
            schedule_expression=(
                f"rate({s.sweep_rate_minutes} minute{'s' if s.sweep_rate_minutes > 1 else ''})"
            ),
            opts=child,
        )
        sweep_permission = aws.lambda_.Permission(
            "sweeper-from-schedule",
            action="lambda:InvokeFunction",
            function=sweeper.function.name,
            principal="events.amazonaws.com",
            source_arn=self.sweep_rule.arn,
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            "sweep-target",
            rule=self.sweep_rule.name,
            arn=sweeper.function.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[sweep_permission]),
        )

        # --- HTTP API ----------------------------------------------------------------------
        issuer = args.jwt_issuer if args.jwt_issuer is not None else s.jwt_issuer
        audience = args.jwt_audience if args.jwt_audience is not None else list(s.jwt_audience)
        self.api = aws.apigatewayv2.Api(
            "api",
            name=f"{prefix}-api",
            protocol_type="HTTP",
            description="Image moderation jobs",
            cors_configuration={
                "allow_origins": list(s.cors_origins),
                "allow_methods": ["GET", "POST"],
                "allow_headers": ["authorization", "content-type", "idempotency-key"],
                "max_age": 600,
            }
            if s.cors_origins
            else None,
            opts=child,
        )
        self.authorizer = aws.apigatewayv2.Authorizer(
            "jwt",
            api_id=self.api.id,
            name="jwt",
            authorizer_type="JWT",
            identity_sources=["$request.header.Authorization"],
            jwt_configuration={"issuer": issuer, "audiences": audience},
            opts=child,
        )
        self.api_logs = aws.cloudwatch.LogGroup(
            "api-access-logs",
            name=f"/aws/apigateway/{prefix}-api",
            retention_in_days=s.log_retention_days,
            opts=child,
        )
        routes = {"POST /jobs": "upload", "GET /jobs/{job_id}": "status"}
        route_resources = []
        for route_key, fn_name in routes.items():
            fn = self.functions[fn_name]
            integration = aws.apigatewayv2.Integration(
                f"{fn_name}-integration",
                api_id=self.api.id,
                integration_type="AWS_PROXY",
                integration_uri=fn.function.invoke_arn,
                payload_format_version="2.0",
                timeout_milliseconds=min(30000, s.function(fn_name).timeout * 1000 + 1000),
                opts=child,
            )
            route_resources.append(
                aws.apigatewayv2.Route(
                    f"{fn_name}-route",
                    api_id=self.api.id,
                    route_key=route_key,
                    target=integration.id.apply(lambda i: f"integrations/{i}"),
                    authorization_type="JWT",
                    authorizer_id=self.authorizer.id,
                    opts=child,
                )
            )
            aws.lambda_.Permission(
                f"{fn_name}-from-api",
                action="lambda:InvokeFunction",
                function=fn.function.name,
                principal="apigateway.amazonaws.com",
                source_arn=self.api.execution_arn.apply(
                    lambda arn, rk=route_key: (
                        f"{arn}/*/{rk.split()[0]}{rk.split()[1].split('{')[0]}*"
                    )
                ),
                opts=child,
            )
        self.stage = aws.apigatewayv2.Stage(
            "default-stage",
            api_id=self.api.id,
            name="$default",
            auto_deploy=True,
            default_route_settings={
                "throttling_rate_limit": s.throttling.get_job.rate,
                "throttling_burst_limit": s.throttling.get_job.burst,
                "detailed_metrics_enabled": True,
            },
            route_settings=[
                {
                    "route_key": "POST /jobs",
                    "throttling_rate_limit": s.throttling.post_jobs.rate,
                    "throttling_burst_limit": s.throttling.post_jobs.burst,
                },
                {
                    "route_key": "GET /jobs/{job_id}",
                    "throttling_rate_limit": s.throttling.get_job.rate,
                    "throttling_burst_limit": s.throttling.get_job.burst,
                },
            ],
            access_log_settings={
                "destination_arn": self.api_logs.arn,
                "format": json.dumps(
                    {
                        "requestId": "$context.requestId",
                        "ip": "$context.identity.sourceIp",
                        "sub": "$context.authorizer.claims.sub",
                        "routeKey": "$context.routeKey",
                        "status": "$context.status",
                        "latencyMs": "$context.responseLatency",
                        "integrationError": "$context.integrationErrorMessage",
                        "authorizerError": "$context.authorizer.error",
                    }
                ),
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=route_resources),
        )

        # --- alarms ------------------------------------------------------------------------
        self.alarms = Alarms(self, s)

        self.api_url = self.api.api_endpoint
        self.region = region
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


class Alarms:
    """CloudWatch alarms an operator must hear about, all sent to one encrypted topic."""

    def __init__(self, pipeline: ModerationPipeline, s: StackSettings) -> None:
        child = pulumi.ResourceOptions(parent=pipeline)
        prefix = s.prefix
        account = aws.get_caller_identity_output().account_id
        # CloudWatch can publish to an encrypted topic only through a customer managed key
        # whose policy lets it use the key.
        key_policy = account.apply(
            lambda acct: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AccountAdmin",
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{acct}:root"},
                            "Action": "kms:*",
                            "Resource": "*",
                        },
                        {
                            "Sid": "CloudWatchAlarms",
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudwatch.amazonaws.com"},
                            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                            "Resource": "*",
                        },
                    ],
                }
            )
        )
        self.key = aws.kms.Key(
            "alarm-topic-key",
            description=f"{prefix} alarm topic encryption",
            enable_key_rotation=True,
            deletion_window_in_days=7,
            policy=key_policy,
            opts=child,
        )
        self.topic = aws.sns.Topic(
            "alarms", name=f"{prefix}-alarms", kms_master_key_id=self.key.arn, opts=child
        )
        aws.sns.TopicPolicy(
            "alarms-policy",
            arn=self.topic.arn,
            policy=pulumi.Output.all(self.topic.arn, account).apply(
                lambda a: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "CloudWatchPublishes",
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Action": "sns:Publish",
                                "Resource": a[0],
                                "Condition": {"StringEquals": {"aws:SourceAccount": a[1]}},
                            }
                        ],
                    }
                )
            ),
            opts=child,
        )
        if s.alarm_email:
            aws.sns.TopicSubscription(
                "alarm-email",
                topic=self.topic.arn,
                protocol="email",
                endpoint=s.alarm_email,
                opts=child,
            )
        if s.alarm_https_endpoint:
            aws.sns.TopicSubscription(
                "alarm-https",
                topic=self.topic.arn,
                protocol="https",
                endpoint=s.alarm_https_endpoint,
                opts=child,
            )

        actions = [self.topic.arn]
        self.names: list[pulumi.Output[str]] = []

        def alarm(logical: str, **kwargs) -> aws.cloudwatch.MetricAlarm:
            res = aws.cloudwatch.MetricAlarm(
                logical,
                name=f"{prefix}-{logical}",
                alarm_actions=actions,
                ok_actions=actions,
                treat_missing_data=kwargs.pop("treat_missing_data", "notBreaching"),
                opts=child,
                **kwargs,
            )
            self.names.append(res.name)
            return res

        alarm(
            "dlq-has-messages",
            alarm_description="Messages reached the processing DLQ: inspect and redrive them.",
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": pipeline.dlq.name},
            statistic="Maximum",
            period=60,
            evaluation_periods=1,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
        )
        alarm(
            "failure-queue-has-records",
            alarm_description="Analyzer failure records the sweeper could not process.",
            namespace="AWS/SQS",
            metric_name="ApproximateAgeOfOldestMessage",
            dimensions={"QueueName": pipeline.failure_queue.name},
            statistic="Maximum",
            period=300,
            evaluation_periods=1,
            threshold=max(300, 3 * 60 * s.sweep_rate_minutes),
            comparison_operator="GreaterThanThreshold",
        )
        alarm(
            "queue-oldest-message-age",
            alarm_description="The processing queue is not keeping up.",
            namespace="AWS/SQS",
            metric_name="ApproximateAgeOfOldestMessage",
            dimensions={"QueueName": pipeline.queue.name},
            statistic="Maximum",
            period=60,
            evaluation_periods=3,
            threshold=s.oldest_message_alarm_seconds,
            comparison_operator="GreaterThanThreshold",
        )
        alarm(
            "stuck-jobs",
            alarm_description="The sweeper found jobs past their deadline.",
            namespace="Moderation",
            metric_name="StuckJobs",
            dimensions={"service": "sweeper"},
            statistic="Maximum",
            period=300,
            evaluation_periods=1,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
        )
        for logical, fn in pipeline.functions.items():
            short = logical.replace("_", "-")
            for metric, suffix, what in (
                ("Errors", "errors", "raised errors"),
                ("Throttles", "throttles", "was throttled"),
            ):
                alarm(
                    f"{short}-{suffix}",
                    alarm_description=f"{logical} {what}.",
                    namespace="AWS/Lambda",
                    metric_name=metric,
                    dimensions={"FunctionName": fn.function.name},
                    statistic="Sum",
                    period=300,
                    evaluation_periods=1,
                    threshold=0,
                    comparison_operator="GreaterThanThreshold",
                )
