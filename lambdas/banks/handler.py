"""The `/banks` API: hash banks and their entries (`common/banks_api.py` does the work)."""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.exceptions import ClientError

from common import audit, banks, banks_api, env, http, originals
from common.clients import client
from common.contract import DEFAULT_OPERATOR_GROUP, Env, JobAttr
from common.observability import logger, metrics, tracer
from common.timeutil import utcnow


@functools.cache
def _table() -> Any:
    return boto3.resource("dynamodb").Table(env.require(Env.BANKS_TABLE))


def _job_hashes(job_id: str) -> Mapping[str, str] | None:
    """The hashes of a job's stored original, or None when there is none."""
    try:
        obj = client("s3").get_object(
            Bucket=env.require(Env.UPLOAD_BUCKET), Key=originals.original_key(job_id)
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("NoSuchKey", "404", "AccessDenied"):
            return None
        raise
    try:
        return banks.hashes_of_image(obj["Body"].read())
    except ValueError:
        return None


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ctx = banks_api.Context(
        table=_table(),
        moderator_group=env.require(Env.MODERATOR_GROUP),
        operator_group=env.optional(Env.OPERATOR_GROUP, DEFAULT_OPERATOR_GROUP)
        or DEFAULT_OPERATOR_GROUP,
        now=time.time(),
        job_hashes=_job_hashes,
    )
    response = banks_api.handle(event, ctx)
    _audit(event, response)
    logger.info(
        "banks request",
        extra={"route": event.get("routeKey"), JobAttr.STATUS: response["statusCode"]},
    )
    return response


def _audit(event: dict[str, Any], response: Mapping[str, Any]) -> None:
    """A change that succeeded, in the audit log (reads are not changes). The change is
    made already, so a failed audit write is logged as an error, not returned as one."""
    table = env.optional(Env.AUDIT_TABLE)
    method = str(event.get("routeKey", "")).split(" ", 1)[0]
    if not table or method == "GET" or response["statusCode"] >= 300:
        return
    params = event.get("pathParameters") or {}
    ids = [v for v in (params.get("bank"), params.get("entry_id")) if v]
    try:
        audit.record(
            client("dynamodb"),
            table,
            http.caller_id(event) or "unknown",
            audit.AuditAction.BANK_CHANGE,
            ids,
            utcnow(),
            audit.VIA_API,
            {"route": event.get("routeKey"), JobAttr.STATUS: response["statusCode"]},
        )
    except ClientError as exc:
        logger.error("audit write failed", extra={"error": exc.response["Error"]["Code"]})
