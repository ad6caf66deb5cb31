"""Scheduled: fail jobs whose analyzers gave up or that passed their deadline."""

from __future__ import annotations

from common import env, sweep
from common.clients import client
from common.observability import logger, metrics, tracer
from common.timeutil import utcnow


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict, context) -> dict:
    ddb, table = client("dynamodb"), env.require("JOBS_TABLE")
    report = sweep.SweepReport()
    sweep.drain_failure_queue(
        client("sqs"), ddb, table, env.require("FAILURE_QUEUE_URL"), utcnow(), report
    )
    sweep.fail_overdue(ddb, table, env.integer("JOB_DEADLINE_SECONDS", 900), utcnow(), report)
    metrics.add_metric(name="StuckJobs", unit="Count", value=report.stuck)
    metrics.add_metric(
        name="JobsFailedBySweeper",
        unit="Count",
        value=report.failed_overdue + report.failed_from_records,
    )
    metrics.add_metric(
        name="UnreadableFailureRecords", unit="Count", value=report.unreadable_records
    )
    summary = {
        "failure_records": report.failure_records,
        "failed_from_records": report.failed_from_records,
        "unreadable_records": report.unreadable_records,
        "overdue": report.overdue,
        "failed_overdue": report.failed_overdue,
    }
    logger.info("sweep complete", extra=summary)
    return summary
