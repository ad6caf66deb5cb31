"""Async-invoked: Rekognition moderation labels for one job, then report."""

from __future__ import annotations

from typing import Any

from common import analysis, env, rekognition, rules
from common.clients import client
from common.contract import Branch, Env, Metric
from common.observability import logger, metrics, tracer
from common.timeutil import utcnow


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    job_id, image_key = event["job_id"], event["image_key"]
    logger.append_keys(job_id=job_id)
    settings = rules.from_config()
    result = rekognition.detect(
        client("rekognition"),
        client("s3"),
        env.require(Env.UPLOAD_BUCKET),
        image_key,
        settings.min_confidence,
    )
    logger.info("rekognition complete", extra={"label_count": len(result["labels"])})
    report = analysis.complete_branch(
        client("dynamodb"),
        env.require(Env.JOBS_TABLE),
        job_id,
        Branch.REKOGNITION,
        result,
        settings,
        utcnow,
        queue_warn=env.flag(Env.REVIEW_QUEUE_WARN),
    )
    logger.info(
        "branch reported", extra={"branch": Branch.REKOGNITION, "outcome": report.describe()}
    )
    if report.finalized:
        metrics.add_metric(name=Metric.JOBS_FINALIZED, unit="Count", value=1)
    return {"job_id": job_id, "outcome": report.describe()}
