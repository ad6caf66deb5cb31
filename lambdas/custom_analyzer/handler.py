"""Async-invoked: the custom analysis (blocklist, image checks) for one job, then report."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from common import analysis, custom_analysis, env, rules
from common.clients import client
from common.contract import Branch, Env, Metric
from common.observability import logger, metrics, tracer
from common.timeutil import utcnow


@functools.cache
def _plugin() -> Callable[..., Any] | None:
    return custom_analysis.load_plugin(env.optional(Env.CUSTOM_MODEL))


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    job_id, image_key = event["job_id"], event["image_key"]
    logger.append_keys(job_id=job_id)
    data = (
        client("s3").get_object(Bucket=env.require(Env.UPLOAD_BUCKET), Key=image_key)["Body"].read()
    )
    result = custom_analysis.analyze(data, rules.custom_from_env(), _plugin())
    logger.info("custom analysis complete", extra={"flags": result["flags"]})
    report = analysis.complete_branch(
        client("dynamodb"),
        env.require(Env.JOBS_TABLE),
        job_id,
        Branch.CUSTOM,
        result,
        rules.from_env(),
        utcnow,
        queue_warn=env.flag(Env.REVIEW_QUEUE_WARN),
    )
    logger.info("branch reported", extra={"branch": Branch.CUSTOM, "outcome": report.describe()})
    if report.finalized:
        metrics.add_metric(name=Metric.JOBS_FINALIZED, unit="Count", value=1)
    return {"job_id": job_id, "outcome": report.describe()}
