"""Pulumi entry point: read and validate the stack's settings, declare the components, export.

The local cloud (`python -m local up`) runs this same file under Pulumi's mocks, so
the local stack is always exactly what `pulumi up` would create.
"""

import pulumi

from components.analytics import Analytics, AnalyticsArgs
from components.caching import StatusCache, StatusCacheArgs
from components.edge_auth import EdgeAuth, EdgeAuthArgs
from components.pipeline import ModerationPipeline, ModerationPipelineArgs
from components.settings import load_settings
from lambdas.common.contract import (
    REVIEW_INDEX,
    STATEMENTS_DAY_INDEX,
    STATUS_INDEX,
    Feature,
    Function,
    Output,
)

settings = load_settings()

# Edge auth first: its user pool is the API's JWT issuer and its bucket receives approved images.
edge = (
    EdgeAuth("edge-auth", EdgeAuthArgs(settings=settings)) if settings.edge_auth_enabled else None
)

# Declared before the pipeline: the status function joins the cache's VPC and reads through it.
status_cache = (
    StatusCache("status-cache", StatusCacheArgs(settings=settings))
    if settings.caching_enabled
    else None
)

pipeline = ModerationPipeline(
    "moderation",
    ModerationPipelineArgs(
        settings=settings,
        edge=edge.pipeline_inputs() if edge else None,
        cache=status_cache.pipeline_inputs(settings) if status_cache else None,
    ),
)
functions = dict(pipeline.functions)
alarm_names = list(pipeline.alarms.names)

if settings.analytics_enabled:
    analytics = Analytics(
        "analytics",
        AnalyticsArgs(
            settings=settings,
            stream_arn=pipeline.table.stream_arn,
            alarm_topic_arn=pipeline.alarm_topic.arn,
        ),
    )
    functions[Function.EXPORTER] = analytics.exporter
    alarm_names += analytics.alarm_names
    pulumi.export(Output.RESULTS_BUCKET, analytics.bucket.bucket)
    pulumi.export(Output.EMR_APPLICATION_ID, analytics.application.id)
    pulumi.export(Output.EXPORTER_FAILURE_QUEUE_URL, analytics.failure_queue.url)
    pulumi.export(Output.REPORT_JOB_ROLE_ARN, analytics.job_role.arn)

pulumi.export(Output.STACK, settings.stack)
pulumi.export(Output.REGION, pipeline.region)
pulumi.export(Output.API_URL, pipeline.api_url)
pulumi.export(Output.JOBS_TABLE, pipeline.table.name)
pulumi.export(Output.STATUS_INDEX, STATUS_INDEX)
pulumi.export(Output.REVIEW_INDEX, REVIEW_INDEX)
pulumi.export(Output.MODERATOR_GROUP, settings.review.moderator_group)
pulumi.export(Output.REVIEW_MAX_AGE_MINUTES, settings.review.max_age_minutes)
pulumi.export(Output.REVIEW_CLAIM_MINUTES, settings.review.claim_minutes)
pulumi.export(Output.REVIEW_QA_SAMPLE_RATE, settings.review.qa_sample_rate)
pulumi.export(Output.IDEMPOTENCY_TABLE, pipeline.idempotency_table.name)
pulumi.export(Output.BANKS_TABLE, pipeline.banks.table.name)
pulumi.export(Output.OPERATOR_GROUP, settings.banks.operator_group)
if pipeline.verdicts_table is not None:
    pulumi.export(Output.VERDICTS_TABLE, pipeline.verdicts_table.name)
    pulumi.export(Output.VERDICT_TTL_DAYS, settings.verdict_reuse.ttl_days)
pulumi.export(Output.AUDIT_TABLE, pipeline.store.audit_table.name)
if pipeline.quotas is not None:
    pulumi.export(Output.USAGE_TABLE, pipeline.quotas.table.name)
    pulumi.export(Output.UPLOADS_PER_DAY, settings.quota.uploads_per_day)
if pipeline.statements is not None:
    pulumi.export(Output.STATEMENTS_TABLE, pipeline.statements.table.name)
    pulumi.export(Output.STATEMENTS_DAY_INDEX, STATEMENTS_DAY_INDEX)
pulumi.export(Output.UPLOAD_BUCKET, pipeline.bucket.bucket)
pulumi.export(Output.PROCESSING_QUEUE_URL, pipeline.queue.url)
pulumi.export(Output.DLQ_URL, pipeline.dlq.url)
pulumi.export(Output.FAILURE_QUEUE_URL, pipeline.failure_queue.url)
pulumi.export(Output.NOTIFICATION_TOPIC_ARN, pipeline.topic.arn)
pulumi.export(Output.ALARM_TOPIC_ARN, pipeline.alarm_topic.arn)
pulumi.export(Output.ALARM_NAMES, alarm_names)
pulumi.export(Output.FUNCTIONS, {k: f.function.name for k, f in functions.items()})
pulumi.export(Output.FUNCTION_MEMORY, {k: settings.function(k).memory for k in functions})
pulumi.export(Output.LOG_GROUPS, {k: f.log_group.name for k, f in functions.items()})
pulumi.export(Output.API_LOG_GROUP, pipeline.api_logs.name)
pulumi.export(Output.ARCHITECTURE, settings.architecture)
if status_cache is not None:
    pulumi.export(Output.CACHE_ENDPOINT, status_cache.endpoint)
    pulumi.export(Output.VPC_ID, status_cache.vpc_id)
    pulumi.export(Output.STATUS_SECURITY_GROUP_ID, status_cache.function_sg.id)
pulumi.export(
    Output.FEATURES,
    {
        Feature.CACHING: settings.caching_enabled,
        Feature.EDGE_AUTH: settings.edge_auth_enabled,
        Feature.ANALYTICS: settings.analytics_enabled,
    },
)

if edge:
    pulumi.export(Output.CDN_URL, edge.cdn_url)
    pulumi.export(Output.CONTENT_BUCKET, edge.bucket.bucket)
    pulumi.export(Output.USER_POOL_ID, edge.user_pool.id)
    pulumi.export(Output.USER_POOL_CLIENT_ID, edge.client.id)
    pulumi.export(Output.USER_POOL_ISSUER, edge.issuer)
    pulumi.export(Output.COGNITO_DOMAIN, edge.cognito_domain)
    pulumi.export(Output.EDGE_FUNCTION_ARN, edge.function.qualified_arn)
    pulumi.export(Output.EDGE_FUNCTION_NAME, edge.function.name)
    pulumi.export(Output.DISTRIBUTION_ID, edge.distribution.id)
