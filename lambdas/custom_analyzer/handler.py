"""Async-invoked: the custom analysis (blocklist, image checks) for one job, then report."""

from __future__ import annotations

import functools

from common import analysis, custom_analysis, env, rules
from common.clients import client
from common.observability import logger, metrics, tracer
from common.timeutil import utcnow


@functools.cache
def _plugin():
    return custom_analysis.load_plugin(env.optional("CUSTOM_MODEL"))


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict, context) -> dict:
    job_id, image_key = event["job_id"], event["image_key"]
    logger.append_keys(job_id=job_id)
    data = (
        client("s3").get_object(Bucket=env.require("UPLOAD_BUCKET"), Key=image_key)["Body"].read()
    )
    result = custom_analysis.analyze(data, rules.custom_from_env(), _plugin())
    logger.info("custom analysis complete", extra={"flags": result["flags"]})
    outcome = analysis.complete_branch(
        client("dynamodb"),
        env.require("JOBS_TABLE"),
        job_id,
        "custom",
        result,
        rules.from_env(),
        utcnow,
    )
    logger.info("branch reported", extra={"branch": "custom", "outcome": outcome})
    if outcome.startswith("finalized"):
        metrics.add_metric(name="JobsFinalized", unit="Count", value=1)
    return {"job_id": job_id, "outcome": outcome}
