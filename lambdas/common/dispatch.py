"""Fan one queued job out to its analyzers, claiming it first."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common import analysis, env, jobs, qa, review, rules, verdicts
from common.contract import AnalysisOrder, Branch, Env, JobAttr, Status
from common.decision import Rules

# The variable naming each branch's function; a branch whose variable is unset is off.
BRANCH_ENV: dict[Branch, Env] = {
    Branch.REKOGNITION: Env.REKOGNITION_FUNCTION,
    Branch.CUSTOM: Env.CUSTOM_FUNCTION,
    Branch.TEXT: Env.TEXT_FUNCTION,
}


def analyzers_from_env() -> dict[Branch, str]:
    """{branch: function name} for every branch the program configured."""
    found = {b: name for b, var in BRANCH_ENV.items() if (name := env.optional(var))}
    if not found:
        raise env.MissingSetting("no analyzer function is configured for the dispatcher")
    return found


class PoisonMessage(ValueError):
    """The message can never succeed; it is reported failed until SQS moves it to the DLQ."""


class ClaimHeld(RuntimeError):
    """Another delivery of this message holds the job's dispatch lease right now.

    Acknowledging would be wrong if that delivery's dispatcher then dies before
    invoking every analyzer: the message is reported failed instead, so SQS offers
    it again after the visibility timeout (past the lease), when it is either a
    no-op (the job moved on) or a retry of what the dead dispatcher left undone.
    """


@dataclass(frozen=True)
class Message:
    """A processing-queue message: the job, and the image's SHA-256 when the upload knew it."""

    job_id: str
    content_sha256: str | None = None


def parse_message(body: str) -> Message:
    try:
        message = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise PoisonMessage(f"body is not JSON: {exc}") from exc
    job_id = message.get(JobAttr.JOB_ID) if isinstance(message, dict) else None
    if not isinstance(job_id, str) or not job_id:
        raise PoisonMessage("body has no job_id")
    sha = message.get(JobAttr.CONTENT_SHA256)
    valid = isinstance(sha, str) and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)
    return Message(job_id, sha if valid else None)


@dataclass(frozen=True)
class Plan:
    """How this stack dispatches: the analyzers, the order, reuse, what review needs."""

    analyzers: dict[Branch, str]
    lease_seconds: int
    order: str = AnalysisOrder.PARALLEL
    reuse: verdicts.ReuseConfig | None = None
    rules: Rules | None = None
    queue_warn: bool = False
    # The share of automatic decisions sampled for QA (common/qa.py).
    qa_rate: float = 0.0

    @classmethod
    def from_env(cls) -> Plan:
        """This stack's plan from the function's environment: the analyzers (the branches
        whose variables are set), the order, reuse and review queueing, as `to_env` and
        the reuse variables (`verdicts.config_from_env`) wrote them."""
        order = env.optional(Env.ANALYSIS_ORDER, AnalysisOrder.PARALLEL) or AnalysisOrder.PARALLEL
        return cls(
            analyzers=analyzers_from_env(),
            lease_seconds=env.integer(Env.DISPATCH_LEASE_SECONDS, 30),
            order=order,
            reuse=verdicts.config_from_env(),
            rules=rules.from_config() if order == AnalysisOrder.CUSTOM_FIRST else None,
            queue_warn=env.flag(Env.REVIEW_QUEUE_WARN),
            qa_rate=env.number(Env.REVIEW_QA_SAMPLE_RATE, 0.0),
        )

    @staticmethod
    def to_env(
        order: str, queue_warn: bool, qa_rate: float, lease_seconds: int | None = None
    ) -> dict[str, str]:
        """The variables `from_env` reads for the order, review queueing and QA sampling
        (the analyzers read the same three), and the claim's lease for the dispatcher."""
        out = {
            str(Env.ANALYSIS_ORDER): str(order),
            str(Env.REVIEW_QUEUE_WARN): "true" if queue_warn else "false",
            str(Env.REVIEW_QA_SAMPLE_RATE): str(qa_rate),
        }
        if lease_seconds is not None:
            out[str(Env.DISPATCH_LEASE_SECONDS)] = str(lease_seconds)
        return out


@dataclass(frozen=True)
class Dispatched:
    """What one delivery did: invoked these branches (none: a duplicate of a finished dispatch)."""

    started: tuple[Branch, ...]
    attempt: int
    job_status: str
    reused_from: str | None = None
    skipped_rekognition: bool = False

    @property
    def reused(self) -> bool:
        return self.reused_from is not None

    @property
    def duplicate(self) -> bool:
        return not self.started and not self.reused and not self.skipped_rekognition

    def describe(self) -> str:
        """One line for the log."""
        if self.reused:
            return "completed from a stored verdict: no analyzer invoked"
        if self.skipped_rekognition:
            return "re-dispatched: the custom side already rejects; Rekognition skipped"
        if self.duplicate:
            return f"skipped: job is {self.job_status} and already dispatched"
        return f"dispatched: {', '.join(self.started)} (attempt {self.attempt})"


def dispatch(
    ddb: Any,
    lam: Any,
    table: str,
    message: Message,
    plan: Plan,
    now: datetime,
) -> Dispatched:
    """Complete the job from a stored verdict, or claim it (recording the branches of
    the plan's analyzers as the ones it expects) and invoke what it needs next.

    A redelivered message for a job already dispatched or finished invokes nothing;
    one that arrives while another delivery's claim is still held raises ClaimHeld. A
    re-claimed job keeps the branches its first claim recorded; a branch this stack no
    longer has cannot be invoked, and the job is left to the sweeper's deadline.
    """
    job_id = message.job_id
    verdict_key = plan.reuse.key_for(message.content_sha256) if plan.reuse else None
    if verdict_key is not None:
        reused = _reuse(ddb, table, message, plan, verdict_key, now)
        if reused is not None:
            return reused
    try:
        claim = jobs.claim_for_analysis(
            ddb,
            table,
            job_id,
            now,
            plan.lease_seconds,
            branches=tuple(plan.analyzers),
            content_sha256=message.content_sha256,
            verdict_key=verdict_key,
        )
    except jobs.UnknownJob as exc:
        raise PoisonMessage(f"job {job_id} does not exist") from exc
    if not claim.claimed:
        job = claim.job
        if (
            job.get(JobAttr.STATUS) == Status.ANALYZING
            and claim.missing_branches()
            and int(job.get(JobAttr.DISPATCH_LEASE, 0)) >= int(now.timestamp())
        ):
            raise ClaimHeld(f"job {job_id} is being dispatched by another delivery")
        return Dispatched((), int(job.get(JobAttr.ATTEMPTS, 0)), str(job.get(JobAttr.STATUS)))
    attempt = int(claim.job.get(JobAttr.ATTEMPTS, 0))
    start = analysis.next_start(claim.job, plan.order, plan.rules)
    if start.skip_rekognition:
        # A re-claim after the branch that completed the custom side died before acting.
        analysis.complete_branch(
            ddb,
            table,
            job_id,
            Branch.REKOGNITION,
            analysis.SKIPPED_REKOGNITION,
            plan.rules or Rules(),
            lambda: now,
            completion=analysis.Completion(
                queue_warn=plan.queue_warn, reuse=plan.reuse, qa_rate=plan.qa_rate
            ),
        )
        return Dispatched((), attempt, Status.ANALYZING, skipped_rekognition=True)
    payload = analysis.invoke_payload(claim.job)
    started = []
    for branch in start.branches:
        function = plan.analyzers.get(branch)
        if function is None:
            continue
        lam.invoke(FunctionName=function, InvocationType="Event", Payload=payload)
        started.append(branch)
    return Dispatched(tuple(started), attempt, Status.ANALYZING)


def _reuse(
    ddb: Any, table: str, message: Message, plan: Plan, verdict_key: str, now: datetime
) -> Dispatched | None:
    """Complete a pending job with its bytes' stored verdict; None when there is none."""
    assert plan.reuse is not None and message.content_sha256
    found = verdicts.lookup(
        ddb,
        plan.reuse.table,
        message.content_sha256,
        plan.reuse.digest,
        now,
        plan.reuse.banks_table,
    )
    if found is None:
        return None
    try:
        won = jobs.complete_from_verdict(
            ddb,
            table,
            message.job_id,
            found.decision,
            [found.reason_line(), *found.reasons],
            list(found.categories),
            found.source_job_id,
            now,
            awaiting_review=review.queued(found.decision, plan.queue_warn),
            verdict_key=verdict_key,
        )
    except jobs.UnknownJob as exc:
        raise PoisonMessage(f"job {message.job_id} does not exist") from exc
    if not won:
        return None  # not pending: a redelivery; the claim path below tells which case
    if not review.queued(found.decision, plan.queue_warn):
        qa.sample_automatic(ddb, table, message.job_id, found.decision, plan.qa_rate, now)
    return Dispatched((), 0, Status.COMPLETE, reused_from=found.source_job_id)
