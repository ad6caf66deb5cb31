"""One analyzer branch reports; the branch that completes the pair finalizes.

The result write returns the whole item, so the second branch learns that both
results are in without a read; the finalize write is conditional on `analyzing`,
so when both branches see both results at once exactly one of them wins.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from common import jobs
from common.decision import Rules, decide


def complete_branch(
    ddb,
    table: str,
    job_id: str,
    branch: str,
    result: dict,
    rules: Rules,
    clock: Callable[[], datetime],
) -> str:
    """Record `result`; finalize when both are in. Returns what happened, for logs."""
    recorded = jobs.record_result(ddb, table, job_id, branch, result, clock())
    if not recorded.written:
        return f"ignored: job already {recorded.job.get('status')}"
    if not recorded.both_results:
        return "recorded: waiting for the other analyzer"
    decision, reasons = decide(
        recorded.job["rekognition_result"], recorded.job["custom_result"], rules
    )
    won, _ = jobs.finalize(ddb, table, job_id, decision, reasons, clock())
    return f"finalized: {decision}" if won else "recorded: the other analyzer finalized"
