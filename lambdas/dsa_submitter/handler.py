"""Statements-table stream -> the DSA Transparency Database, once per puid (common/dsa_submit.py)."""

from __future__ import annotations

import functools
import json
import time
from typing import Any

from common import dsa_submit, env, jobs
from common.clients import client
from common.contract import Env, Metric, StatementField
from common.observability import logger, metrics, tracer


@functools.cache
def _api() -> dsa_submit.HttpApi:
    secret = client("secretsmanager").get_secret_value(SecretId=env.require(Env.DSA_TOKEN_SECRET))
    return dsa_submit.HttpApi(env.require(Env.DSA_API_URL), str(secret["SecretString"]).strip())


def statements_in(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The statements new in this batch of stream records (inserts only)."""
    out = []
    for record in event.get("Records") or []:
        if record.get("eventName") != "INSERT":
            continue
        item = jobs.deserialize((record.get("dynamodb") or {}).get("NewImage")) or {}
        statement = item.get(StatementField.STATEMENT)
        if isinstance(statement, dict):
            out.append(statement)
    return out


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    statements = statements_in(event)
    if not statements:
        return {"batchItemFailures": []}
    report = dsa_submit.submit(_api(), statements, time.sleep)
    sqs = client("sqs")
    for letter in dsa_submit.dead_letters(report, statements):
        sqs.send_message(
            QueueUrl=env.require(Env.DSA_DLQ_URL), MessageBody=json.dumps(letter, default=str)
        )
    metrics.add_metric(name=Metric.STATEMENTS_SUBMITTED, unit="Count", value=len(report.submitted))
    metrics.add_metric(
        name=Metric.STATEMENTS_ALREADY_STORED, unit="Count", value=len(report.already)
    )
    metrics.add_metric(name=Metric.STATEMENTS_FAILED, unit="Count", value=len(report.failed))
    logger.info(
        "statements submitted",
        extra={
            "submitted": len(report.submitted),
            "already": len(report.already),
            "failed": sorted(report.failed),
            "requests": report.requests,
        },
    )
    return {"batchItemFailures": []}
