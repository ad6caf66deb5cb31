"""GET /jobs/{job_id}."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from common import env, function_config, http, jobs, statements, status, status_cache
from common.clients import client
from common.contract import STATEMENT_ROUTE, Env
from common.observability import logger, metrics, tracer


@functools.cache
def _table() -> str:
    return env.require(Env.JOBS_TABLE)


def load(job_id: str):
    return jobs.get_job(client("dynamodb"), _table(), job_id)


def load_consistent(job_id: str):
    # Behind the cache a miss reads strongly consistently (1 read unit instead of 0.5), so
    # the entry it stores is current when the read starts and the activeTtl bound is exact.
    return jobs.get_job(client("dynamodb"), _table(), job_id, consistent=True)


@functools.cache
def _reader() -> Callable[[str], dict[str, Any] | None]:
    """How this execution environment reads a job: through the status cache when one is set."""
    cache = status_cache.from_environment(
        load_consistent, metrics, lambda: client("secretsmanager"), logger=logger
    )
    return cache.get if cache is not None else load


def statement_response(event: dict[str, Any], user_id: str, job_id: str | None) -> dict[str, Any]:
    """GET /jobs/{job_id}/statement: the owner's statements of reasons, or 404."""
    table = env.optional(Env.STATEMENTS_TABLE)
    # Read from the table, not the cache: only the owner check needs the job.
    view = status.job_for_caller(load, job_id, user_id) if table else None
    if view is None or job_id is None:
        return http.error(404, "not_found", "no such job")
    items = statements.for_job(client("dynamodb"), str(table), job_id)
    if not items:
        return http.error(
            404, "no_statement", "no decision restricted this job: there is no statement"
        )
    config = statements.Config.from_dict(function_config.section("dsa"))
    return http.response(200, statements.owner_view(view, items, config))


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    user_id = http.caller_id(event)
    if user_id is None:
        return http.error(401, "unauthorized", "a signed-in user is required")
    job_id = http.path_param(event, "job_id")
    logger.append_keys(job_id=job_id)
    if event.get("routeKey") == STATEMENT_ROUTE:
        return statement_response(event, user_id, job_id)
    # The cache returns the job record; job_for_caller still checks it belongs to the caller.
    view = status.job_for_caller(_reader(), job_id, user_id)
    if view is None:
        return http.error(404, "not_found", "no such job")
    return http.response(200, status.with_content_url(view, env.optional(Env.CDN_BASE_URL)))
