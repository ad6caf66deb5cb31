"""Async-invoked: Rekognition moderation labels for one job, then report."""

from __future__ import annotations

import functools
from typing import Any

from common import branch_report, env, originals, rekognition, rules, verdicts
from common.clients import client
from common.contract import IMAGE_ETAG, IMAGE_KEY, Branch, Env, FrameField, JobAttr, Metric
from common.observability import logger, metrics, tracer
from common.timeutil import utcnow


def _note_version(version: str | None) -> None:
    """Keep the verdicts' record of Rekognition's model version current, so a verdict
    decided by an older model is not reused."""
    reuse = branch_report.completion().reuse
    if reuse is not None and version:
        _note_once(reuse.table, version)


@functools.cache
def _note_once(table: str, version: str) -> None:
    """One conditional write per version per execution environment."""
    if verdicts.note_rekognition_version(client("dynamodb"), table, version, utcnow()):
        logger.info("rekognition model version recorded", extra={"model_version": version})


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    job_id = event[JobAttr.JOB_ID]
    logger.append_keys(job_id=job_id)
    settings = rules.from_config()
    try:
        result = rekognition.detect(
            client("rekognition"),
            client("s3"),
            env.require(Env.UPLOAD_BUCKET),
            event[IMAGE_KEY],
            settings.min_confidence,
            event.get(JobAttr.CONTENT_TYPE),
            etag=event.get(IMAGE_ETAG),
            animation=rules.animation_from_config(),
        )
    except originals.ImageChanged as exc:
        return branch_report.image_changed(job_id, Branch.REKOGNITION, exc)
    calls = int(result.get(FrameField.CALLS, 1))
    metrics.add_metric(name=Metric.REKOGNITION_CALLS, unit="Count", value=calls)
    logger.info(
        "rekognition complete", extra={"label_count": len(result["labels"]), "calls": calls}
    )
    _note_version(result.get("model_version"))
    return branch_report.report(job_id, Branch.REKOGNITION, result, settings)
