"""Jobs-table stream -> one SNS notification per job that became terminal, one more per verdict."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
)

from common import env, function_config, notices, notify, statements
from common.clients import client
from common.contract import Env, JobAttr, Metric, NotificationEvent, terminal_metric
from common.observability import logger, metrics, tracer
from common.originals import ImageChanged

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@functools.cache
def _dsa() -> statements.Config:
    return statements.Config.from_dict(function_config.section("dsa"))


def _record_statement(event: NotificationEvent, job: dict[str, Any]) -> None:
    """A restricting final decision gets its statement of reasons before it is announced
    (a failure retries the record; a replay finds the statement already stored)."""
    table = env.optional(Env.STATEMENTS_TABLE)
    if not table:
        return
    written = statements.record_decision(
        client("dynamodb"), table, event, job, _dsa(), datetime.now(UTC)
    )
    if written is not None:
        logger.info(
            "statement of reasons stored",
            extra={"puid": written["puid"], "category": written["category"]},
        )


def record_handler(record: DynamoDBRecord) -> str:
    note = notify.notification_for(record.raw_event)
    if note is None:
        return "skipped"
    job = note.job
    logger.append_keys(job_id=job[JobAttr.JOB_ID])
    try:
        content_bucket = env.optional(Env.CONTENT_BUCKET)
        try:
            if content_bucket and notify.publish_content(
                client("s3"),
                env.require(Env.UPLOAD_BUCKET),
                content_bucket,
                job,
                env.integer(Env.CONTENT_MAX_AGE_SECONDS, 31536000),
            ):
                logger.info("approved image published to the content bucket")
        except ImageChanged as exc:
            # Not the decided bytes: never published. Retrying cannot bring them back;
            # the job's outcome is still announced.
            logger.error(
                "stored image changed after its decision: not published", extra={"detail": str(exc)}
            )
        _record_statement(note.event, job)
        message_id = notify.publish(client("sns"), env.require(Env.NOTIFICATION_TOPIC_ARN), note)
        answered = notices.answered_in(record.raw_event)
        if answered:
            # Each notifier is told the outcome of their notice (never whose job it is).
            notices.publish_outcomes(
                client("sns"), env.require(Env.NOTIFICATION_TOPIC_ARN), job, answered
            )
            logger.info("notice outcomes published", extra={"notices": len(answered)})
        review = job.get(JobAttr.REVIEW) or {}
        logger.info(
            "notification published",
            extra={
                "event": note.event,
                JobAttr.STATUS: job[JobAttr.STATUS],
                JobAttr.DECISION: job.get(JobAttr.DECISION),
                "message_id": message_id,
                **(
                    {"reviewer": review.get("reviewer"), "via": review.get("via")}
                    if note.event is NotificationEvent.REVIEWED
                    else {}
                ),
            },
        )
        if note.event is NotificationEvent.REVIEWED:
            metrics.add_metric(name=Metric.JOBS_REVIEWED, unit="Count", value=1)
        elif note.event is NotificationEvent.APPEAL_DECIDED:
            metrics.add_metric(name=Metric.APPEALS_DECIDED, unit="Count", value=1)
        else:
            metrics.add_metric(name=terminal_metric(job[JobAttr.STATUS]), unit="Count", value=1)
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
