"""GET /reviews and POST /jobs/{job_id}/review: the moderator queue and verdicts."""

from __future__ import annotations

import functools
from typing import Any

from common import env, http, review, status, verdicts
from common.clients import client, s3_presigner
from common.contract import REVIEWS_ROUTE, VERDICT_ROUTE, Env, JobAttr, Metric
from common.observability import logger, metrics, tracer
from common.timeutil import utcnow


@functools.cache
def _table() -> str:
    return env.require(Env.JOBS_TABLE)


@functools.cache
def _group() -> str:
    return env.require(Env.MODERATOR_GROUP)


def _url_seconds() -> int:
    return env.integer(Env.REVIEW_IMAGE_URL_SECONDS, 300)


def _image_url(key: str) -> str:
    """A short-lived GET for the original, signed with this function's role."""
    url: str = s3_presigner().generate_presigned_url(
        "get_object",
        Params={"Bucket": env.require(Env.UPLOAD_BUCKET), "Key": key},
        ExpiresIn=_url_seconds(),
    )
    return url


def _list(event: dict[str, Any], reviewer: str) -> dict[str, Any]:
    params = event.get("queryStringParameters") or {}
    page = review.list_queue(
        client("dynamodb"),
        _table(),
        utcnow(),
        review.parse_limit(params.get("limit")),
        params.get("cursor"),
        _image_url,
        reviewer,
    )
    logger.info("review queue listed", extra={"items": len(page.items), "more": bool(page.cursor)})
    return http.response(
        200,
        {"items": page.items, "cursor": page.cursor, "image_url_expires_in": _url_seconds()},
    )


def _verdict(event: dict[str, Any], reviewer: str) -> dict[str, Any]:
    job_id = http.path_param(event, "job_id")
    if job_id is None or not status.valid_job_id(job_id):
        raise review.Refused(404, "not_found", "no such job")
    logger.append_keys(job_id=job_id)
    verdict = review.parse_verdict(http.body_bytes(event))
    review.authorize_verdict(client("dynamodb"), _table(), job_id, (reviewer,))
    reuse = verdicts.config_from_env()
    job = review.record_verdict(
        client("dynamodb"),
        _table(),
        job_id,
        verdict,
        reviewer,
        utcnow(),
        review.VIA_API,
        verdict_store=(reuse.table, reuse.ttl_days) if reuse else None,
    )
    logger.info(
        "verdict recorded",
        extra={
            JobAttr.DECISION: verdict.decision,
            JobAttr.AUTOMATIC_DECISION: job.get(JobAttr.AUTOMATIC_DECISION),
            "reviewer": reviewer,
        },
    )
    metrics.add_metric(name=Metric.REVIEW_VERDICTS, unit="Count", value=1)
    return http.response(
        200,
        {
            JobAttr.JOB_ID: job_id,
            JobAttr.DECISION: job.get(JobAttr.DECISION),
            JobAttr.AUTOMATIC_DECISION: job.get(JobAttr.AUTOMATIC_DECISION),
            JobAttr.REVIEW_STATE: job.get(JobAttr.REVIEW_STATE),
            JobAttr.REVIEW: job.get(JobAttr.REVIEW),
        },
    )


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        reviewer = review.authorize(review.claims_of(event), _group())
        route = event.get("routeKey")
        if route == REVIEWS_ROUTE:
            return _list(event, reviewer)
        if route == VERDICT_ROUTE:
            return _verdict(event, reviewer)
        raise review.Refused(404, "not_found", f"no route {route!r} here")
    except review.Refused as refused:
        name = Metric.REVIEW_CONFLICTS if refused.status == 409 else Metric.REVIEWS_REFUSED
        metrics.add_metric(name=name, unit="Count", value=1)
        logger.info(
            "review request refused",
            extra={"status": refused.status, "error": refused.code},  # not a job attribute: HTTP
        )
        return http.error(refused.status, refused.code, refused.message)
    finally:
        logger.remove_keys(["job_id"])
