"""POST /jobs, and ObjectCreated events for presigned uploads under `incoming/`."""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from common import env, http, images, quotas, uploads
from common.clients import client, s3_presigner
from common.contract import AnimationPolicy, Env, JobAttr, Metric
from common.observability import logger, metrics, tracer
from common.timeutil import utcnow


@functools.cache
def deps() -> uploads.UploadDeps:
    return uploads.UploadDeps(
        s3=client("s3"),
        presigner=s3_presigner(),
        ddb=client("dynamodb"),
        sqs=client("sqs"),
        bucket=env.require(Env.UPLOAD_BUCKET),
        table=env.require(Env.JOBS_TABLE),
        queue_url=env.require(Env.PROCESSING_QUEUE_URL),
        max_inline_bytes=env.integer(Env.MAX_INLINE_UPLOAD_BYTES, 4 * 1024 * 1024),
        max_upload_bytes=env.integer(Env.MAX_UPLOAD_BYTES, 15 * 1024 * 1024),
        presign_expiry=env.integer(Env.PRESIGN_EXPIRY_SECONDS, 900),
        retention_days=env.integer(Env.JOB_RETENTION_DAYS, 90),
        animation=images.AnimationRules(
            max_frames=env.integer(Env.ANIMATION_MAX_FRAMES, images.DEFAULT_MAX_FRAMES),
            policy=env.optional(Env.ANIMATION_POLICY) or AnimationPolicy.ANALYZE,
        ),
    )


@functools.cache
def _limits() -> quotas.Limits | None:
    return quotas.limits_from_env()


def _accept(request: dict, body: bytes) -> dict:
    d = deps()
    key = request["idempotency_key"]
    limits = _limits()
    if limits is not None:
        # First, before anything is stored: one conditional count (a keyed retry counts once).
        quotas.admit(d.ddb, limits, request[JobAttr.USER_ID], utcnow(), key)
    if request[JobAttr.CONTENT_TYPE] == "application/json":
        result = uploads.presign(d, request[JobAttr.USER_ID], body, utcnow(), key)
    else:
        result = uploads.accept_inline(
            d, request[JobAttr.USER_ID], request[JobAttr.CONTENT_TYPE], body, utcnow(), key
        )
    logger.append_keys(job_id=result[JobAttr.JOB_ID])
    metrics.add_metric(name=Metric.JOBS_ACCEPTED, unit="Count", value=1)
    return result


@functools.cache
def _idempotent_accept():
    store = DynamoDBPersistenceLayer(
        table_name=env.require(Env.IDEMPOTENCY_TABLE), boto3_client=client("dynamodb")
    )
    config = IdempotencyConfig(
        event_key_jmespath="[user_id, idempotency_key]",
        payload_validation_jmespath="digest",
        expires_after_seconds=env.integer(Env.IDEMPOTENCY_TTL_SECONDS, 3600),
    )
    accept = idempotent_function(
        data_keyword_argument="request", persistence_store=store, config=config
    )(_accept)
    return accept, config


def api(event: dict, context) -> dict:
    user_id = http.caller_id(event)
    if user_id is None:
        return http.error(401, "unauthorized", "a signed-in user is required")
    content_type = images.normalize_type(http.header(event, "content-type"))
    body = http.body_bytes(event)
    request = {
        JobAttr.USER_ID: user_id,
        JobAttr.CONTENT_TYPE: content_type,
        "digest": uploads.request_digest(content_type, body),
        "idempotency_key": http.header(event, "idempotency-key"),
    }
    try:
        # A presign request is idempotent by itself (the job id derives from the key and
        # the answer is made from the job's state each time): a stored response would
        # hand a retry the upload URL of a job that no longer waits for its bytes.
        if request["idempotency_key"] and content_type != "application/json":
            accept, config = _idempotent_accept()
            # Lets an in-progress record expire with this invocation if it dies.
            config.register_lambda_context(context)
            result = accept(request=request, body=body)
        else:
            result = _accept(request, body)
    except images.Rejection as rej:
        metrics.add_metric(name=Metric.UPLOADS_REJECTED, unit="Count", value=1)
        logger.info("upload rejected", extra={"error": rej.error, "detail": rej.message})
        return http.error(rej.status, rej.error, rej.message)
    except quotas.OverQuota as over:
        metrics.add_metric(name=Metric.UPLOADS_OVER_QUOTA, unit="Count", value=1)
        logger.info("upload over quota", extra={"limit": over.limit})
        return http.error(
            429, quotas.OVER_QUOTA, over.message, {"retry-after": str(over.retry_after)}
        )
    except IdempotencyValidationError:
        return http.error(
            422,
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different request body",
        )
    except IdempotencyAlreadyInProgressError:
        return http.error(
            409,
            "request_in_progress",
            "a request with this Idempotency-Key is still being processed; retry shortly",
            {"retry-after": "1"},
        )
    except uploads.Unavailable:
        logger.exception("upload could not be completed")
        return http.error(
            503, "unavailable", "the upload could not be stored; retry", {"retry-after": "1"}
        )
    logger.info(
        "upload accepted", extra={JobAttr.CONTENT_TYPE: content_type, JobAttr.SIZE_BYTES: len(body)}
    )
    return http.response(202, result, {"location": result["status_url"]})


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if "Records" in event:
        d = deps()
        outcomes = []
        for record in event["Records"]:
            key = unquote_plus(record["s3"]["object"]["key"])
            outcome = uploads.ingest_object(d, key, utcnow())
            logger.info("presigned upload processed", extra={"key": key, "outcome": outcome})
            outcomes.append(outcome)
        return {"processed": len(outcomes)}
    return api(event, context)
