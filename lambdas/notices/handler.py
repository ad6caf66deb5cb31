"""POST /jobs/{job_id}/notices: a signed-in user other than the owner notifies a job (DSA Art. 16)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from common import env, http, notices, status
from common.clients import client
from common.contract import Env
from common.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    user_id = http.caller_id(event)
    if user_id is None:
        return http.error(401, "unauthorized", "a signed-in user is required")
    job_id = http.path_param(event, "job_id")
    if job_id is None or not status.valid_job_id(job_id):
        return http.error(404, "not_found", "no such job")
    logger.append_keys(job_id=job_id)
    now = datetime.now(UTC)
    ddb = client("dynamodb")
    try:
        category, explanation = notices.parse(http.body_bytes(event))
        notices.admit(
            ddb,
            env.require(Env.NOTICE_USAGE_TABLE),
            user_id,
            now,
            env.integer(Env.NOTICES_PER_DAY, 20),
        )
        filed = notices.file(
            ddb, env.require(Env.JOBS_TABLE), job_id, user_id, category, explanation, now
        )
    except notices.Refused as refused:
        headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after else None
        return http.error(refused.status, refused.code, refused.message, headers=headers)
    # Not the notifier, not the explanation: the job id (in the keys) and what happened.
    logger.info("notice recorded", extra={"category": category, "queued": filed.queued})
    return http.response(202, notices.response(filed, job_id))
