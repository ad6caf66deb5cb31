"""Jobs-table stream -> one SNS notification per job that became terminal."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
)

from common import env, notify
from common.clients import client
from common.contract import Env, terminal_metric
from common.observability import logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def record_handler(record: DynamoDBRecord) -> str:
    job = notify.terminal_transition(record.raw_event)
    if job is None:
        return "skipped"
    logger.append_keys(job_id=job["job_id"])
    try:
        content_bucket = env.optional(Env.CONTENT_BUCKET)
        if content_bucket and notify.publish_content(
            client("s3"),
            env.require(Env.UPLOAD_BUCKET),
            content_bucket,
            job,
            env.integer(Env.CONTENT_MAX_AGE_SECONDS, 31536000),
        ):
            logger.info("approved image published to the content bucket")
        message_id = notify.publish(client("sns"), env.require(Env.NOTIFICATION_TOPIC_ARN), job)
        logger.info(
            "notification published",
            extra={
                "status": job["status"],
                "decision": job.get("decision"),
                "message_id": message_id,
            },
        )
        metrics.add_metric(name=terminal_metric(job["status"]), unit="Count", value=1)
        return message_id
    finally:
        logger.remove_keys(["job_id"])


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
