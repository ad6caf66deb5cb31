"""The `/banks` API: hash banks and their entries (`common/banks_api.py` does the work)."""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.exceptions import ClientError

from common import banks, banks_api, env, originals
from common.clients import client
from common.contract import DEFAULT_OPERATOR_GROUP, Env
from common.observability import logger, metrics, tracer


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
    logger.info(
        "banks request",
        extra={"route": event.get("routeKey"), "status": response["statusCode"]},
    )
    return response
