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
from common.contract import Branch, Env, Metric
from common.observability import logger, metrics, tracer
from common.timeutil import utcnow

processor = BatchProcessor(event_type=EventType.SQS)


@functools.cache
def _analyzers() -> dict[Branch, str]:
    """Each branch's function, for the branches this stack has (their variables are set)."""
    return dispatch.analyzers_from_env()


def record_handler(record: SQSRecord) -> str:
    job_id = dispatch.parse_message(record.body)
    logger.append_keys(job_id=job_id)
    try:
        try:
            outcome = dispatch.dispatch(
                client("dynamodb"),
                client("lambda"),
                env.require(Env.JOBS_TABLE),
                job_id,
                _analyzers(),
                utcnow(),
                env.integer(Env.DISPATCH_LEASE_SECONDS, 30),
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
        metrics.add_metric(
            name=Metric.DUPLICATE_DELIVERIES if outcome.duplicate else Metric.JOBS_DISPATCHED,
            unit="Count",
            value=1,
        )
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
