"""Async-invoked: the custom analysis (open_nsfw, BlazeFace, blocklist, image checks), then report.

The models load at import, once per execution environment: Lambda's Init Duration
(the REPORT line) is the model load, and warm invocations reuse the sessions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from common import branch_report, custom_analysis, disclosure, env, originals, rules
from common.contract import Branch, Env, JobAttr, Metric
from common.observability import logger, metrics, model_timings, tracer

MODELS = custom_analysis.default_models()
LOAD_MS = MODELS.load()
logger.info("models loaded", extra={"load_ms": LOAD_MS, "models": MODELS.versions()})
model_timings(LOAD_MS, Metric.MODEL_LOAD_MS)


@functools.cache
def _plugin() -> Callable[..., Any] | None:
    return custom_analysis.load_plugin(env.optional(Env.CUSTOM_MODEL))


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
    result = custom_analysis.analyze(
        data, rules.custom_from_config(), MODELS, _plugin(), rules.animation_from_config()
    )
    model_timings(result["timings_ms"])
    logger.info(
        "custom analysis complete",
        extra={
            "signals": disclosure.signal_summary(result["signals"]),
            "timings_ms": result["timings_ms"],
        },
    )
    return branch_report.report(job_id, Branch.CUSTOM, result, rules.from_config())
