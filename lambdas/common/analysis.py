"""One analyzer branch reports; the branch that completes the job's set finalizes.

The result write returns the whole item, so a branch learns which of the job's
expected branches (recorded by the dispatcher's claim) have reported without a read;
the finalize write is conditional on `analyzing` and on every expected result, so when
several branches see the complete set at once exactly one of them wins.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from common import env, jobs, near_index, qa, review, verdicts
from common.contract import (
    IMAGE_ETAG,
    IMAGE_KEY,
    AnalysisOrder,
    Branch,
    Decision,
    Env,
    FrameField,
    JobAttr,
    Metric,
)
from common.decision import Rules, custom_rejects, decide


class BranchOutcome(StrEnum):
    """What reporting one branch's result did."""

    IGNORED = "ignored"  # the job had already moved on (terminal); nothing written
    WAITING = "waiting"  # recorded; another expected branch has not reported yet
    FINALIZED = "finalized"  # recorded, and this branch wrote the decision
    LOST_RACE = "lost_race"  # recorded; another branch wrote the decision first
    STARTED_REKOGNITION = "started_rekognition"  # custom-first: the custom side is in


@dataclass(frozen=True)
class BranchReport:
    outcome: BranchOutcome
    decision: Decision | None = None
    job_status: str | None = None
    waiting_for: tuple[Branch, ...] = ()
    verdict_stored: bool = False
    skipped_rekognition: bool = False
    near_duplicate_reused: bool = False

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
        if self.outcome is BranchOutcome.STARTED_REKOGNITION:
            return "recorded: custom side complete and not a reject; Rekognition started"
        return "recorded: another analyzer finalized"


# The result custom-first records for Rekognition when the custom side already rejects.
SKIPPED_REKOGNITION: dict[str, Any] = {
    "skipped": True,
    "labels": [],
    "reason": "custom-first: the custom side already rejects",
}
SKIPPED_REASON = "rekognition: not called (custom-first: the custom side already rejects)"
# Where a Rekognition result reused from a near-duplicate says so (operators only).
NEAR_OF = "near_duplicate_of"
NEAR_DISTANCE = "near_duplicate_distance"


@dataclass(frozen=True)
class FollowOn:
    """custom-first: how the branch that completes the custom side starts Rekognition."""

    lam: Any
    rekognition_function: str


@dataclass(frozen=True)
class Completion:
    """What finalizing needs besides the rules: review queueing, verdict reuse, the order."""

    queue_warn: bool = False
    reuse: verdicts.ReuseConfig | None = None
    follow_on: FollowOn | None = None
    # The share of automatic decisions sampled for QA (common/qa.py).
    qa_rate: float = 0.0


def completion_from_env(lam: Callable[[], Any]) -> Completion:
    """The analyzers' Completion from their environment (`lam` makes a Lambda client)."""
    order = env.optional(Env.ANALYSIS_ORDER, AnalysisOrder.PARALLEL)
    rekognition = env.optional(Env.REKOGNITION_FUNCTION)
    follow_on = (
        FollowOn(lam(), rekognition)
        if order == AnalysisOrder.CUSTOM_FIRST and rekognition
        else None
    )
    return Completion(
        queue_warn=env.flag(Env.REVIEW_QUEUE_WARN),
        reuse=verdicts.config_from_env(),
        follow_on=follow_on,
        qa_rate=env.number(Env.REVIEW_QA_SAMPLE_RATE, 0.0),
    )


def invoke_payload(job: dict[str, Any]) -> bytes:
    """What an analyzer is invoked with: the job, its image, the image's type, and what
    the image must still be (its ETag and SHA-256: common/originals.py)."""
    return json.dumps(
        {
            JobAttr.JOB_ID: job[JobAttr.JOB_ID],
            IMAGE_KEY: job[IMAGE_KEY],
            IMAGE_ETAG: job.get(IMAGE_ETAG),
            JobAttr.CONTENT_SHA256: job.get(JobAttr.CONTENT_SHA256),
            JobAttr.CONTENT_TYPE: job.get(JobAttr.CONTENT_TYPE),
        }
    ).encode()


def custom_side(job: dict[str, Any]) -> tuple[Branch, ...]:
    """The branches on the stack's own models: every expected branch but Rekognition."""
    return tuple(b for b in jobs.expected_branches(job) if b != Branch.REKOGNITION)


def custom_side_rejects(job: dict[str, Any], rules: Rules) -> bool:
    """Whether the custom side's results alone make the job a reject (custom-first)."""
    return any(custom_rejects(job.get(b.result_attribute), rules) for b in custom_side(job))


@dataclass(frozen=True)
class Start:
    """What a job needs started next: these branches, or Rekognition skipped."""

    branches: tuple[Branch, ...]
    skip_rekognition: bool = False


def next_start(job: dict[str, Any], order: str, rules: Rules | None) -> Start:
    """The branches to invoke for a claimed job, in `order`.

    parallel: every missing result. custom-first: the missing custom-side branches; once
    they are all in, Rekognition, unless the custom side already rejects (then it is
    skipped: nothing Rekognition could report lowers a reject). Without `rules` (the
    caller cannot judge), Rekognition is started.
    """
    missing = jobs.missing_results(job)
    if order != AnalysisOrder.CUSTOM_FIRST or Branch.REKOGNITION not in missing:
        return Start(tuple(missing))
    first = tuple(b for b in missing if b != Branch.REKOGNITION)
    if first:
        return Start(first)
    if rules is not None and custom_side_rejects(job, rules):
        return Start((), skip_rekognition=True)
    return Start((Branch.REKOGNITION,))


def expected_results(job: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
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
    completion: Completion | None = None,
) -> BranchReport:
    """Record `result`; finalize when every branch the job expects is in (queued for
    review when the decision is `review`, or `warn` with `queue_warn`).

    custom-first: the write that completes the custom side starts Rekognition, or, when
    the custom side already rejects, records Rekognition as skipped and finalizes.
    """
    done = completion or Completion(queue_warn=queue_warn)
    recorded = jobs.record_result(ddb, table, job_id, branch, result, clock())
    if not recorded.written:
        return BranchReport(BranchOutcome.IGNORED, job_status=recorded.job.get(JobAttr.STATUS))
    job = recorded.job
    skip = near_used = False
    if not recorded.complete_set and done.follow_on is not None and branch != Branch.REKOGNITION:
        start = next_start(job, AnalysisOrder.CUSTOM_FIRST, rules)
        if start.skip_rekognition:
            skipped = jobs.record_result(
                ddb, table, job_id, Branch.REKOGNITION, SKIPPED_REKOGNITION, clock()
            )
            if not skipped.written:
                return BranchReport(
                    BranchOutcome.IGNORED, job_status=skipped.job.get(JobAttr.STATUS)
                )
            recorded, job = skipped, skipped.job
            skip = True
        elif start.branches == (Branch.REKOGNITION,) and (
            near := near_duplicate(ddb, job, done, clock())
        ):
            reused = jobs.record_result(ddb, table, job_id, Branch.REKOGNITION, near, clock())
            if not reused.written:
                return BranchReport(
                    BranchOutcome.IGNORED, job_status=reused.job.get(JobAttr.STATUS)
                )
            recorded, job = reused, reused.job
            near_used = True
        elif start.branches == (Branch.REKOGNITION,):
            payload = invoke_payload(job)
            done.follow_on.lam.invoke(
                FunctionName=done.follow_on.rekognition_function,
                InvocationType="Event",
                Payload=payload,
            )
            return BranchReport(BranchOutcome.STARTED_REKOGNITION)
    if not recorded.complete_set:
        return BranchReport(BranchOutcome.WAITING, waiting_for=tuple(jobs.missing_results(job)))
    report = _finalize(ddb, table, job_id, job, rules, clock, done)
    return dataclasses.replace(report, skipped_rekognition=skip, near_duplicate_reused=near_used)


def _near_pdq(job: dict[str, Any]) -> str | None:
    """The job's PDQ, when near-duplicate reuse may use it: a still image (an animation's
    later frames are not in its first frame's hash) of usable quality."""
    custom = job.get(Branch.CUSTOM.result_attribute) or {}
    value = custom.get("pdq")
    if (
        not isinstance(value, str)
        or len(value) != near_index.PDQ_DIGITS
        or int(custom.get("pdq_quality") or 0) < near_index.MIN_QUALITY
        or custom.get(FrameField.FRAMES)
    ):
        return None
    return value


def near_duplicate(
    ddb: Any, job: dict[str, Any], done: Completion, now: datetime
) -> dict[str, Any] | None:
    """custom-first with near-duplicate reuse: the Rekognition result of an analysed image
    within the configured PDQ distance, marked with where it came from; None to call
    Rekognition."""
    reuse = done.reuse
    pdq_hex = _near_pdq(job)
    if reuse is None or reuse.near_distance is None or pdq_hex is None:
        return None
    match = verdicts.find_near(ddb, reuse.table, reuse.digest, pdq_hex, reuse.near_distance, now)
    if match is None:
        return None
    return {
        **match.rekognition_result,
        NEAR_OF: match.source_job_id,
        NEAR_DISTANCE: match.distance,
    }


def report_metrics(report: BranchReport, metrics: Any) -> None:
    """The EMF counts of one branch report (Powertools `metrics`)."""
    if report.finalized:
        metrics.add_metric(name=Metric.JOBS_FINALIZED, unit="Count", value=1)
    if report.verdict_stored:
        metrics.add_metric(name=Metric.VERDICTS_STORED, unit="Count", value=1)
    if report.skipped_rekognition:
        metrics.add_metric(name=Metric.REKOGNITION_SKIPPED, unit="Count", value=1)
    if report.near_duplicate_reused:
        metrics.add_metric(name=Metric.REKOGNITION_NEAR_REUSED, unit="Count", value=1)


def _finalize(
    ddb: Any,
    table: str,
    job_id: str,
    job: dict[str, Any],
    rules: Rules,
    clock: Callable[[], datetime],
    done: Completion,
) -> BranchReport:
    verdict = decide(expected_results(job), rules)
    reasons = list(verdict.reasons)
    rekognition = job.get(Branch.REKOGNITION.result_attribute) or {}
    if rekognition.get("skipped"):
        reasons.append(SKIPPED_REASON)
    if rekognition.get(NEAR_OF):
        reasons.append(
            f"rekognition: labels of a near-duplicate (PDQ distance {rekognition[NEAR_DISTANCE]}, "
            f"job {rekognition[NEAR_OF]}); the custom models, OCR and banks ran on these bytes"
        )
    now = clock()
    categories = verdict.categories()
    won, _ = jobs.finalize(
        ddb,
        table,
        job_id,
        verdict.decision,
        reasons,
        now,
        branches=jobs.expected_branches(job),
        categories=categories,
        awaiting_review=review.queued(verdict.decision, done.queue_warn),
    )
    if not won:
        return BranchReport(BranchOutcome.LOST_RACE)
    if not review.queued(verdict.decision, done.queue_warn):
        qa.sample_automatic(ddb, table, job_id, verdict.decision, done.qa_rate, now)
    stored = False
    rekognition = job.get(Branch.REKOGNITION.result_attribute) or {}
    pdq_hex = _near_pdq(job)
    if (
        done.reuse is not None
        and done.reuse.near_distance is not None
        and pdq_hex
        and job.get(JobAttr.CONTENT_SHA256)
        and rekognition.get("model_version")
        and not rekognition.get("skipped")
        and not rekognition.get(NEAR_OF)  # filed from its own labels only: no drift
    ):
        verdicts.store_near(
            ddb, done.reuse.table, done.reuse.digest, job, pdq_hex, done.reuse.ttl_days, now
        )
    if done.reuse is not None and job.get(verdicts.KEY):
        stored = verdicts.store(
            ddb,
            done.reuse.table,
            str(job[verdicts.KEY]),
            job,
            verdict.decision,
            reasons,
            categories,
            done.reuse.ttl_days,
            now,
        )
    return BranchReport(BranchOutcome.FINALIZED, decision=verdict.decision, verdict_stored=stored)
