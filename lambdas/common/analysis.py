"""One analyzer branch reports; the branch that completes the job's set finalizes.

The result write returns the whole item, so a branch learns which of the job's
expected branches (recorded by the dispatcher's claim) have reported without a read;
the finalize write is conditional on `analyzing` and on every expected result, so when
several branches see the complete set at once exactly one of them wins.
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
    WAITING = "waiting"  # recorded; another expected branch has not reported yet
    FINALIZED = "finalized"  # recorded, and this branch wrote the decision
    LOST_RACE = "lost_race"  # recorded; another branch wrote the decision first


@dataclass(frozen=True)
class BranchReport:
    outcome: BranchOutcome
    decision: Decision | None = None
    job_status: str | None = None
    waiting_for: tuple[Branch, ...] = ()

    @property
    def finalized(self) -> bool:
        return self.outcome is BranchOutcome.FINALIZED

    def describe(self) -> str:
        """One line for the log."""
        if self.outcome is BranchOutcome.IGNORED:
            return f"ignored: job already {self.job_status}"
        if self.outcome is BranchOutcome.WAITING:
            return f"recorded: waiting for {', '.join(self.waiting_for) or 'the other analyzers'}"
        if self.outcome is BranchOutcome.FINALIZED:
            return f"finalized: {self.decision}"
        return "recorded: another analyzer finalized"


def results_of(job: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
    """Each expected branch's result in a job item."""
    return {b: job.get(b.result_attribute) for b in jobs.expected_branches(job)}


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
    """Record `result`; finalize when every branch the job expects is in (queued for
    review when the decision is `review`, or `warn` with `queue_warn`)."""
    recorded = jobs.record_result(ddb, table, job_id, branch, result, clock())
    if not recorded.written:
        return BranchReport(BranchOutcome.IGNORED, job_status=recorded.job.get("status"))
    if not recorded.complete_set:
        return BranchReport(
            BranchOutcome.WAITING, waiting_for=tuple(jobs.missing_results(recorded.job))
        )
    verdict = decide(results_of(recorded.job), rules)
    won, _ = jobs.finalize(
        ddb,
        table,
        job_id,
        verdict.decision,
        verdict.reasons,
        clock(),
        branches=jobs.expected_branches(recorded.job),
        categories=verdict.categories(),
        awaiting_review=review.queued(verdict.decision, queue_warn),
    )
    if won:
        return BranchReport(BranchOutcome.FINALIZED, decision=verdict.decision)
    return BranchReport(BranchOutcome.LOST_RACE)
