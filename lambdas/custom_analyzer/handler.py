"""Async-invoked: the custom analysis (open_nsfw, BlazeFace, blocklist, image checks), then report.

The models load at import, once per execution environment: Lambda's Init Duration
(the REPORT line) is the model load, and warm invocations reuse the sessions.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from common import banks, branch_report, custom_analysis, disclosure, env, originals, rules
from common.contract import BankMatchField, Branch, Env, JobAttr, Metric
from common.observability import logger, metrics, model_timings, tracer

MODELS = custom_analysis.default_models()
LOAD_MS = MODELS.load()
logger.info("models loaded", extra={"load_ms": LOAD_MS, "models": MODELS.versions()})
model_timings(LOAD_MS, Metric.MODEL_LOAD_MS)


@functools.cache
def _plugin() -> Callable[..., Any] | None:
    return custom_analysis.load_plugin(env.optional(Env.CUSTOM_MODEL))


@functools.cache
def _banks() -> banks.BankCache | None:
    """The enabled hash banks, reloaded every 30 s (none when the stack has no banks table)."""
    name = env.optional(Env.BANKS_TABLE)
    if not name:
        return None
    import boto3

    return banks.BankCache(boto3.resource("dynamodb").Table(name))


def _count_hits(cache: banks.BankCache, matches: list[dict[str, Any]]) -> None:
    """A hit on each matched entry; a quarantine is a metric the stack alarms on."""
    for m in matches:
        bank, entry_id = m[BankMatchField.BANK], m[BankMatchField.ENTRY_ID]
        if banks.record_hit(cache.table, bank, entry_id, time.time()):
            logger.warning("bank entry quarantined", extra={"bank": bank, "entry_id": entry_id})
            metrics.add_metric(name=Metric.BANK_ENTRY_QUARANTINED, unit="Count", value=1)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    job_id = event[JobAttr.JOB_ID]
    logger.append_keys(job_id=job_id)
    try:
        data = branch_report.read_image(event)
    except originals.ImageChanged as exc:
        return branch_report.image_changed(job_id, Branch.CUSTOM, exc)
    cache = _banks()
    result = custom_analysis.analyze(
        data,
        rules.custom_from_config(),
        MODELS,
        _plugin(),
        rules.animation_from_config(),
        cache.get() if cache else None,
    )
    if cache is not None:
        _count_hits(cache, result.get(BankMatchField.MATCHES, []))
    model_timings(result["timings_ms"])
    logger.info(
        "custom analysis complete",
        extra={
            "signals": disclosure.signal_summary(result["signals"]),
            "timings_ms": result["timings_ms"],
        },
    )
    return branch_report.report(job_id, Branch.CUSTOM, result, rules.from_config())
