"""One analyzer branch reports; the branch that completes the pair finalizes.

The result write returns the whole item, so the second branch learns that both
results are in without a read; the finalize write is conditional on `analyzing`,
so when both branches see both results at once exactly one of them wins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from common import jobs, review
from common.contract import Branch, Decision
from common.decision import Rules, decide


class BranchOutcome(StrEnum):
    """What reporting one branch's result did."""

    IGNORED = "ignored"  # the job had already moved on (terminal); nothing written
    WAITING = "waiting"  # recorded; the other branch has not reported yet
    FINALIZED = "finalized"  # recorded, and this branch wrote the decision
    LOST_RACE = "lost_race"  # recorded; the other branch wrote the decision first


@dataclass(frozen=True)
class BranchReport:
    outcome: BranchOutcome
    decision: Decision | None = None
    job_status: str | None = None

    @property
    def finalized(self) -> bool:
        return self.outcome is BranchOutcome.FINALIZED

    def describe(self) -> str:
        """One line for the log."""
        if self.outcome is BranchOutcome.IGNORED:
            return f"ignored: job already {self.job_status}"
        if self.outcome is BranchOutcome.WAITING:
            return "recorded: waiting for the other analyzer"
        if self.outcome is BranchOutcome.FINALIZED:
            return f"finalized: {self.decision}"
        return "recorded: the other analyzer finalized"


def complete_branch(
    ddb: Any,
    table: str,
    job_id: str,
    branch: Branch,
    result: dict[str, Any],
    rules: Rules,
    clock: Callable[[], datetime],
    queue_warn: bool = False,
) -> BranchReport:
    """Record `result`; finalize when both are in (queued for review when the decision
    is `review`, or `warn` with `queue_warn`)."""
    recorded = jobs.record_result(ddb, table, job_id, branch, result, clock())
    if not recorded.written:
        return BranchReport(BranchOutcome.IGNORED, job_status=recorded.job.get("status"))
    if not recorded.both_results:
        return BranchReport(BranchOutcome.WAITING)
    decision, reasons = decide(
        recorded.job[Branch.REKOGNITION.result_attribute],
        recorded.job[Branch.CUSTOM.result_attribute],
        rules,
    )
    won, _ = jobs.finalize(
        ddb, table, job_id, decision, reasons, clock(), review.queued(decision, queue_warn)
    )
    if won:
        return BranchReport(BranchOutcome.FINALIZED, decision=decision)
    return BranchReport(BranchOutcome.LOST_RACE)
