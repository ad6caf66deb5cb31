"""Async-invoked: text in the image (RapidOCR) and what it holds (links, contacts, terms), then report.

OCR and its libraries do not fit in the custom analyzer's package next to the other
models (Lambda's 250 MB), so text is a branch of its own. RapidOCR loads at import,
once per execution environment, and runs one warm-up image so its sessions exist.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from common import branch_report, disclosure, originals, rules, text_analysis
from common.contract import Branch, JobAttr, Metric
from common.models.text_categories import BlockedTerms
from common.observability import logger, metrics, model_timings, tracer

OCR = text_analysis.default_model()
_started = time.perf_counter()
OCR.load()
LOAD_MS = {OCR.name: round((time.perf_counter() - _started) * 1000, 1)}
logger.info("model loaded", extra={"load_ms": LOAD_MS, "models": {OCR.name: OCR.version}})
model_timings(LOAD_MS, Metric.MODEL_LOAD_MS)


@functools.cache
def _blocked() -> BlockedTerms:
    """The configured terms, normalised once per execution environment."""
    return BlockedTerms(rules.text_from_config().blocked_terms)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    job_id = event[JobAttr.JOB_ID]
    logger.append_keys(job_id=job_id)
    try:
        data = branch_report.read_image(event)
    except originals.ImageChanged as exc:
        return branch_report.image_changed(job_id, Branch.TEXT, exc)
    result = text_analysis.analyze(
        data, rules.text_from_config(), OCR, _blocked(), rules.animation_from_config()
    )
    model_timings(result.get("timings_ms", {}))
    logger.info(
        "text analysis complete",
        extra={
            "signals": disclosure.signal_summary(result["signals"]),
            "line_count": result.get("line_count", 0),
        },
    )
    return branch_report.report(job_id, Branch.TEXT, result, rules.from_config())
