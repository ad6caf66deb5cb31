"""SQS -> claim each job, then fan out to the analyzers (partial batch responses)."""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from common import dispatch, env
from common.clients import client
from common.contract import Env, Metric
from common.observability import logger, metrics, tracer
from common.timeutil import utcnow

processor = BatchProcessor(event_type=EventType.SQS)


@functools.cache
def _plan() -> dispatch.Plan:
    """This stack's analyzers (the branches whose variables are set), order and reuse."""
    return dispatch.Plan.from_env()


def record_handler(record: SQSRecord) -> str:
    message = dispatch.parse_message(record.body)
    logger.append_keys(job_id=message.job_id)
    try:
        try:
            outcome = dispatch.dispatch(
                client("dynamodb"),
                client("lambda"),
                env.require(Env.JOBS_TABLE),
                message,
                _plan(),
                utcnow(),
            )
        except dispatch.ClaimHeld:
            logger.info("dispatch deferred: another delivery holds the claim; SQS retries it")
            metrics.add_metric(name=Metric.DUPLICATE_DELIVERIES, unit="Count", value=1)
            raise
        logger.info(
            "dispatch",
            extra={
                "outcome": outcome.describe(),
                "receive_count": record.attributes.approximate_receive_count,
            },
        )
        if outcome.reused:
            metric = Metric.VERDICTS_REUSED
        elif outcome.duplicate:
            metric = Metric.DUPLICATE_DELIVERIES
        else:
            metric = Metric.JOBS_DISPATCHED
        metrics.add_metric(name=metric, unit="Count", value=1)
        if outcome.skipped_rekognition:
            metrics.add_metric(name=Metric.REKOGNITION_SKIPPED, unit="Count", value=1)
        return outcome.describe()
    finally:
        logger.remove_keys(["job_id"])


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
