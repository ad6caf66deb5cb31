"""Pulumi entry point: read and validate the stack's settings, declare the components, export.

The local cloud (`python -m local up`) runs this same file under Pulumi's mocks, so
the local stack is always exactly what `pulumi up` would create.
"""

import pulumi

from components.analytics import Analytics, AnalyticsArgs
from components.caching import StatusCache, StatusCacheArgs
from components.config import load_settings
from components.edge_auth import EdgeAuth, EdgeAuthArgs
from components.pipeline import ModerationPipeline, ModerationPipelineArgs

settings = load_settings()

# Edge auth first: its user pool is the API's JWT issuer and its bucket receives approved images.
edge = (
    EdgeAuth("edge-auth", EdgeAuthArgs(settings=settings)) if settings.edge_auth_enabled else None
)
edge_inputs = edge.pipeline_inputs() if edge else {}

# Declared before the pipeline: the status function joins the cache's VPC and reads through it.
status_cache = (
    StatusCache("status-cache", StatusCacheArgs(settings=settings))
    if settings.caching_enabled
    else None
)
cache_args = status_cache.pipeline_args(settings) if status_cache else {}

pipeline = ModerationPipeline(
    "moderation", ModerationPipelineArgs(settings=settings, **edge_inputs, **cache_args)
)
functions = dict(pipeline.functions)
alarm_names = list(pipeline.alarms.names)

if settings.analytics_enabled:
    analytics = Analytics(
        "analytics",
        AnalyticsArgs(
            settings=settings,
            stream_arn=pipeline.table.stream_arn,
            alarm_topic_arn=pipeline.alarms.topic.arn,
        ),
    )
    functions["exporter"] = analytics.exporter
    alarm_names += analytics.alarm_names
    pulumi.export("results_bucket", analytics.bucket.bucket)
    pulumi.export("emr_application_id", analytics.application.id)
    pulumi.export("exporter_failure_queue_url", analytics.failure_queue.url)
    pulumi.export("report_job_role_arn", analytics.job_role.arn)

pulumi.export("stack", settings.stack)
pulumi.export("region", pipeline.region)
pulumi.export("api_url", pipeline.api_url)
pulumi.export("jobs_table", pipeline.table.name)
pulumi.export("status_index", "status-created_at-index")
pulumi.export("idempotency_table", pipeline.idempotency_table.name)
pulumi.export("upload_bucket", pipeline.bucket.bucket)
pulumi.export("processing_queue_url", pipeline.queue.url)
pulumi.export("dlq_url", pipeline.dlq.url)
pulumi.export("failure_queue_url", pipeline.failure_queue.url)
pulumi.export("notification_topic_arn", pipeline.topic.arn)
pulumi.export("alarm_topic_arn", pipeline.alarms.topic.arn)
pulumi.export("alarm_names", alarm_names)
pulumi.export("functions", {k: f.function.name for k, f in functions.items()})
pulumi.export("function_memory", {k: settings.function(k).memory for k in functions})
pulumi.export("log_groups", {k: f.log_group.name for k, f in functions.items()})
pulumi.export("api_log_group", pipeline.api_logs.name)
pulumi.export("architecture", settings.architecture)
if status_cache is not None:
    pulumi.export("cache_endpoint", status_cache.endpoint)
    pulumi.export("vpc_id", status_cache.vpc_id)
    pulumi.export("status_security_group_id", status_cache.function_sg.id)
pulumi.export(
    "features",
    {
        "caching": settings.caching_enabled,
        "edge_auth": settings.edge_auth_enabled,
        "analytics": settings.analytics_enabled,
    },
)

if edge:
    pulumi.export("cdn_url", edge.cdn_url)
    pulumi.export("content_bucket", edge.bucket.bucket)
    pulumi.export("user_pool_id", edge.user_pool.id)
    pulumi.export("user_pool_client_id", edge.client.id)
    pulumi.export("user_pool_issuer", edge.issuer)
    pulumi.export("cognito_domain", edge.cognito_domain)
    pulumi.export("edge_function_arn", edge.function.qualified_arn)
    pulumi.export("edge_function_name", edge.function.name)
    pulumi.export("distribution_id", edge.distribution.id)
