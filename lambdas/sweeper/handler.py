"""Scheduled: fail jobs whose analyzers gave up or that passed their deadline; measure the
review queue (backlog, age of the oldest pending review) for its metrics and alarm.

One sweep at a time: each takes a run lease first (common/lease.py) and a sweep that
finds it held skips its run.
"""

from __future__ import annotations

from typing import Any

from common import env, lease, review, sweep
from common.clients import client
from common.contract import Env, Metric
from common.observability import logger, metrics, tracer
from common.timeutil import utcnow


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ddb, table = client("dynamodb"), env.require(Env.JOBS_TABLE)
    run_lease = lease.Lease("sweeper", context.aws_request_id)
    lease_table = env.require(Env.LEASE_TABLE)
    if not lease.acquire(
        ddb, lease_table, run_lease, utcnow(), env.integer(Env.SWEEP_LEASE_SECONDS, 60)
    ):
        logger.info("sweep skipped: another sweep holds the run lease")
        metrics.add_metric(name=Metric.SWEEPS_SKIPPED, unit="Count", value=1)
        return {"skipped": True}
    try:
        return _sweep(ddb, table)
    finally:
        lease.release(ddb, lease_table, run_lease)


def _sweep(ddb: Any, table: str) -> dict[str, Any]:
    report = sweep.SweepReport()
    sweep.drain_failure_queue(
        client("sqs"), ddb, table, env.require(Env.FAILURE_QUEUE_URL), utcnow(), report
    )
    sweep.fail_overdue(ddb, table, env.integer(Env.JOB_DEADLINE_SECONDS, 900), utcnow(), report)
    metrics.add_metric(name=Metric.STUCK_JOBS, unit="Count", value=report.stuck)
    metrics.add_metric(
        name=Metric.JOBS_FAILED_BY_SWEEPER,
        unit="Count",
        value=report.failed_overdue + report.failed_from_records,
    )
    metrics.add_metric(
        name=Metric.UNREADABLE_FAILURE_RECORDS, unit="Count", value=report.unreadable_records
    )
    queue = review.queue_stats(ddb, table, utcnow())
    metrics.add_metric(name=Metric.REVIEW_BACKLOG, unit="Count", value=queue.backlog)
    metrics.add_metric(
        name=Metric.OLDEST_REVIEW_AGE_SECONDS, unit="Seconds", value=queue.oldest_age_seconds or 0
    )
    summary = {
        "failure_records": report.failure_records,
        "failed_from_records": report.failed_from_records,
        "unreadable_records": report.unreadable_records,
        "overdue": report.overdue,
        "failed_overdue": report.failed_overdue,
        "review_backlog": queue.backlog,
        "review_backlog_at_least": queue.at_least,
        "oldest_review_age_seconds": queue.oldest_age_seconds,
        "oldest_review_job_id": queue.oldest_job_id,
        "review_query_read_units": queue.consumed_read_units,
    }
    logger.info("sweep complete", extra=summary)
    return summary
