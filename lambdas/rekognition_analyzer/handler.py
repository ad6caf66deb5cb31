"""Async-invoked: Rekognition moderation labels for one job, then report."""

from __future__ import annotations

import functools
from typing import Any

from common import analysis, env, rekognition, rules, verdicts
from common.clients import client
from common.contract import Branch, Env
from common.observability import logger, metrics, tracer
from common.timeutil import utcnow


@functools.cache
def _completion() -> analysis.Completion:
    return analysis.completion_from_env(lambda: client("lambda"))


_versions_noted: set[str] = set()


def _note_version(version: str | None) -> None:
    """Keep the verdicts' record of Rekognition's model version current (once per version
    per environment), so a verdict decided by an older model is not reused."""
    reuse = _completion().reuse
    if reuse is None or not version or version in _versions_noted:
        return
    if verdicts.note_rekognition_version(client("dynamodb"), reuse.table, version, utcnow()):
        logger.info("rekognition model version recorded", extra={"model_version": version})
    _versions_noted.add(version)


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
        event.get("content_type"),
    )
    logger.info("rekognition complete", extra={"label_count": len(result["labels"])})
    _note_version(result.get("model_version"))
    report = analysis.complete_branch(
        client("dynamodb"),
        env.require(Env.JOBS_TABLE),
        job_id,
        Branch.REKOGNITION,
        result,
        settings,
        utcnow,
        completion=_completion(),
    )
    logger.info(
        "branch reported", extra={"branch": Branch.REKOGNITION, "outcome": report.describe()}
    )
    analysis.report_metrics(report, metrics)
    return {"job_id": job_id, "outcome": report.describe()}
