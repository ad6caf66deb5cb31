"""Async-invoked: Rekognition moderation labels for one job, then report."""

from __future__ import annotations

from common import analysis, env, rekognition, rules
from common.clients import client
from common.observability import logger, metrics, tracer
from common.timeutil import utcnow


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict, context) -> dict:
    job_id, image_key = event["job_id"], event["image_key"]
    logger.append_keys(job_id=job_id)
    settings = rules.from_env()
    result = rekognition.detect(
        client("rekognition"),
        client("s3"),
        env.require("UPLOAD_BUCKET"),
        image_key,
        settings.min_confidence,
    )
    logger.info("rekognition complete", extra={"label_count": len(result["labels"])})
    outcome = analysis.complete_branch(
        client("dynamodb"),
        env.require("JOBS_TABLE"),
        job_id,
        "rekognition",
        result,
        settings,
        utcnow,
    )
    logger.info("branch reported", extra={"branch": "rekognition", "outcome": outcome})
    if outcome.startswith("finalized"):
        metrics.add_metric(name="JobsFinalized", unit="Count", value=1)
    return {"job_id": job_id, "outcome": outcome}
