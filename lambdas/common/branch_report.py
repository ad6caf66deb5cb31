"""What every analyzer handler does around its analysis: read the image, report the
result (common/analysis.py), log the outcome and count it."""

from __future__ import annotations

import functools
from typing import Any

from common import analysis, env
from common.clients import client
from common.contract import Branch, Env
from common.decision import Rules
from common.observability import logger, metrics
from common.timeutil import utcnow


@functools.cache
def completion() -> analysis.Completion:
    """This function's review queueing, verdict reuse and analysis order (its env)."""
    return analysis.completion_from_env(lambda: client("lambda"))


def read_image(image_key: str) -> bytes:
    bucket = env.require(Env.UPLOAD_BUCKET)
    body: bytes = client("s3").get_object(Bucket=bucket, Key=image_key)["Body"].read()
    return body


def report(job_id: str, branch: Branch, result: dict[str, Any], rules: Rules) -> dict[str, Any]:
    """Record `result` (finalizing, starting Rekognition, storing the verdict as due)."""
    outcome = analysis.complete_branch(
        client("dynamodb"),
        env.require(Env.JOBS_TABLE),
        job_id,
        branch,
        result,
        rules,
        utcnow,
        completion=completion(),
    )
    logger.info("branch reported", extra={"branch": branch, "outcome": outcome.describe()})
    analysis.report_metrics(outcome, metrics)
    return {"job_id": job_id, "outcome": outcome.describe()}
