"""What every analyzer handler does around its analysis: read the image, report the
result (common/analysis.py), log the outcome and count it.

The image is read only as the job recorded it (common/originals.py): if it changed, the
job fails with that reason and nothing is decided or stored as a verdict for it."""

from __future__ import annotations

import functools
from typing import Any

from common import analysis, env, jobs, originals
from common.clients import client
from common.contract import IMAGE_ETAG, IMAGE_KEY, Branch, Env, JobAttr
from common.decision import Rules
from common.observability import logger, metrics
from common.timeutil import utcnow


@functools.cache
def completion() -> analysis.Completion:
    """This function's review queueing, verdict reuse and analysis order (its env)."""
    return analysis.completion_from_env(lambda: client("lambda"))


def read_image(event: dict[str, Any]) -> bytes:
    """The job's image as it was validated (its ETag and hash). Raises ImageChanged."""
    return originals.read(
        client("s3"),
        env.require(Env.UPLOAD_BUCKET),
        event[IMAGE_KEY],
        event.get(IMAGE_ETAG),
        event.get(JobAttr.CONTENT_SHA256),
    )


def image_changed(job_id: str, branch: Branch, exc: originals.ImageChanged) -> dict[str, Any]:
    """Fail the job: its stored image is not the one that was validated. Nothing is
    decided on it, so no verdict is stored for its hash."""
    won, item = jobs.fail_job(
        client("dynamodb"),
        env.require(Env.JOBS_TABLE),
        job_id,
        f"{branch}: the stored image changed after it was validated; it was not analyzed",
        utcnow(),
    )
    logger.error(
        "stored image changed after validation: job failed",
        extra={"branch": branch, "detail": str(exc), "job_failed": won},
    )
    return {JobAttr.JOB_ID: job_id, "outcome": "failed: the stored image changed"}


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
    return {JobAttr.JOB_ID: job_id, "outcome": outcome.describe()}
