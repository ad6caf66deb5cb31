"""The moderator routes (the queue, verdicts, claims, appeal decisions, QA) and the owner's appeal.

GET /reviews and POST /jobs/{job_id}/review: the queue and verdicts (common/review.py);
POST /reviews/claim and /reviews/{job_id}/release: claims (common/claims.py);
POST /jobs/{job_id}/appeal (the job's owner) and /appeal/decision (common/appeals.py);
POST /jobs/{job_id}/qa (common/qa.py).
"""

from __future__ import annotations

import functools
from typing import Any

from botocore.exceptions import ClientError

from common import appeals, audit, claims, env, http, qa, review, status, verdicts
from common.clients import client, s3_presigner
from common.contract import (
    APPEAL_DECISION_ROUTE,
    APPEAL_ROUTE,
    CLAIM_ROUTE,
    QA_ROUTE,
    RELEASE_ROUTE,
    REVIEWS_ROUTE,
    VERDICT_ROUTE,
    Env,
    JobAttr,
    Metric,
    WorkQueue,
)
from common.observability import logger, metrics, queue_timing, tracer
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
    now = utcnow()
    job = review.record_verdict(
        client("dynamodb"),
        _table(),
        job_id,
        verdict,
        reviewer,
        now,
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
    _decided(job, WorkQueue.REVIEW, reviewer, now)
    qa.sample_verdict(
        client("dynamodb"), _table(), job_id, verdict.decision, reviewer, _qa_rate(), now
    )
    _audit(
        reviewer,
        audit.AuditAction.VERDICT,
        job_id,
        {
            JobAttr.DECISION: str(verdict.decision),
            JobAttr.AUTOMATIC_DECISION: job.get(JobAttr.AUTOMATIC_DECISION),
        },
    )
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


# --- claims, appeals and QA -------------------------------------------------------------


def _claim_minutes() -> int:
    return env.integer(Env.REVIEW_CLAIM_MINUTES, 15)


def _qa_rate() -> float:
    return env.number(Env.REVIEW_QA_SAMPLE_RATE, 0.0)


def _job_id(event: dict[str, Any]) -> str:
    job_id = http.path_param(event, "job_id")
    if job_id is None or not status.valid_job_id(job_id):
        raise review.Refused(404, "not_found", "no such job")
    logger.append_keys(job_id=job_id)
    return job_id


def _decided(job: dict[str, Any], queue: WorkQueue, moderator: str, now: Any) -> None:
    """Time to decide: from the moderator's claim (if they held one) to their decision."""
    seconds = claims.decide_seconds(job, queue, moderator, now)
    if seconds is not None:
        queue_timing(Metric.REVIEW_TIME_TO_DECIDE_SECONDS, str(queue), seconds)


def _claim(event: dict[str, Any], moderator: str) -> dict[str, Any]:
    queue, count = claims.parse_claim(http.body_bytes(event))
    now = utcnow()
    claimed = claims.claim(
        client("dynamodb"), _table(), queue, moderator, now, _claim_minutes(), count
    )
    for one in claimed:
        if one.waited_seconds is not None:
            queue_timing(Metric.REVIEW_TIME_TO_CLAIM_SECONDS, str(queue), one.waited_seconds)
    if claimed:
        metrics.add_metric(name=Metric.REVIEW_CLAIMS, unit="Count", value=len(claimed))
    logger.info("claimed", extra={"queue": queue, "wanted": count, "claimed": len(claimed)})
    return http.response(
        200,
        {
            "queue": queue,
            "claim_minutes": _claim_minutes(),
            "items": [claims.claim_view(queue, c, now, moderator, _image_url) for c in claimed],
            "image_url_expires_in": _url_seconds(),
        },
    )


def _release(event: dict[str, Any], moderator: str) -> dict[str, Any]:
    job_id = _job_id(event)
    doc = claims.json_object(http.body_bytes(event), {"queue"}, '{"queue": "review"}')
    queue = claims.parse_queue(doc)
    claims.release(client("dynamodb"), _table(), job_id, queue, moderator, utcnow())
    logger.info("claim released", extra={"queue": queue})
    return http.response(200, {JobAttr.JOB_ID: job_id, "queue": queue, "released": True})


def _appeal(event: dict[str, Any]) -> dict[str, Any]:
    """The owner's appeal: any signed-in user, of their own job (else 404)."""
    owner = http.caller_id(event)
    if owner is None:
        raise review.Refused(401, "unauthorized", "a signed-in user is required")
    job_id = _job_id(event)
    message = appeals.parse_appeal(http.body_bytes(event))
    window = env.integer(Env.APPEAL_WINDOW_DAYS, appeals.DEFAULT_WINDOW_DAYS)
    filed = appeals.file(client("dynamodb"), _table(), job_id, owner, message, utcnow(), window)
    metrics.add_metric(name=Metric.APPEALS, unit="Count", value=1)
    logger.info("appeal filed")
    return http.response(202, filed)


def _appeal_decision(event: dict[str, Any], moderator: str) -> dict[str, Any]:
    job_id = _job_id(event)
    outcome, note = appeals.parse_decision(http.body_bytes(event))
    reuse = verdicts.config_from_env()
    now = utcnow()
    job = appeals.decide(
        client("dynamodb"),
        _table(),
        job_id,
        moderator,
        outcome,
        note,
        now,
        verdict_store=(reuse.table, reuse.ttl_days) if reuse else None,
    )
    metrics.add_metric(name=Metric.APPEALS_DECIDED, unit="Count", value=1)
    _decided(job, WorkQueue.APPEAL, moderator, now)
    _audit(moderator, audit.AuditAction.APPEAL_DECISION, job_id, {"outcome": outcome})
    logger.info("appeal decided", extra={"outcome": outcome, "moderator": moderator})
    appeal = job.get("appeal") or {}
    return http.response(
        200,
        {
            JobAttr.JOB_ID: job_id,
            JobAttr.DECISION: job.get(JobAttr.DECISION),
            "appeal_state": job.get("appeal_state"),
            "appeal": appeal,
        },
    )


def _qa(event: dict[str, Any], moderator: str) -> dict[str, Any]:
    job_id = _job_id(event)
    decision, note = qa.parse_decision(http.body_bytes(event))
    now = utcnow()
    job = qa.decide(client("dynamodb"), _table(), job_id, moderator, decision, note, now)
    metrics.add_metric(name=Metric.QA_DECIDED, unit="Count", value=1)
    _decided(job, WorkQueue.QA, moderator, now)
    _audit(moderator, audit.AuditAction.QA_DECISION, job_id, {JobAttr.DECISION: decision})
    checked = job.get("qa") or {}
    logger.info("qa decided", extra={"agrees": checked.get("agrees")})
    return http.response(
        200,
        {
            JobAttr.JOB_ID: job_id,
            "qa_state": job.get("qa_state"),
            JobAttr.DECISION: checked.get(JobAttr.DECISION),
            "agrees": checked.get("agrees"),
        },
    )


MODERATOR_ROUTES = {
    REVIEWS_ROUTE: _list,
    VERDICT_ROUTE: _verdict,
    CLAIM_ROUTE: _claim,
    RELEASE_ROUTE: _release,
    APPEAL_DECISION_ROUTE: _appeal_decision,
    QA_ROUTE: _qa,
}


def _audit(moderator: str, action: audit.AuditAction, job_id: str, details: dict[str, Any]) -> None:
    """A decision, in the audit log. It is recorded already (the job holds who and when),
    so a failed audit write is logged as an error, not returned as one."""
    table = env.optional(Env.AUDIT_TABLE)
    if not table:
        return
    try:
        audit.record(
            client("dynamodb"),
            table,
            moderator,
            action,
            [job_id],
            utcnow(),
            audit.VIA_API,
            details,
        )
    except ClientError as exc:
        logger.error("audit write failed", extra={"error": exc.response["Error"]["Code"]})


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        route = event.get("routeKey")
        if route == APPEAL_ROUTE:
            return _appeal(event)
        reviewer = review.authorize(review.claims_of(event), _group())
        act = MODERATOR_ROUTES.get(str(route))
        if act is None:
            raise review.Refused(404, "not_found", f"no route {route!r} here")
        return act(event, reviewer)
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
