"""Fan one queued job out to its analyzers, claiming it first."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common import env, jobs
from common.contract import Branch, Env, Status

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


def parse_message(body: str) -> str:
    try:
        message = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise PoisonMessage(f"body is not JSON: {exc}") from exc
    job_id = message.get("job_id") if isinstance(message, dict) else None
    if not isinstance(job_id, str) or not job_id:
        raise PoisonMessage("body has no job_id")
    return job_id


@dataclass(frozen=True)
class Dispatched:
    """What one delivery did: invoked these branches (none: a duplicate of a finished dispatch)."""

    started: tuple[Branch, ...]
    attempt: int
    job_status: str

    @property
    def duplicate(self) -> bool:
        return not self.started

    def describe(self) -> str:
        """One line for the log."""
        if self.duplicate:
            return f"skipped: job is {self.job_status} and already dispatched"
        return f"dispatched: {', '.join(self.started)} (attempt {self.attempt})"


def dispatch(
    ddb: Any,
    lam: Any,
    table: str,
    job_id: str,
    analyzers: dict[Branch, str],
    now: datetime,
    lease_seconds: int,
) -> Dispatched:
    """Claim the job (recording the branches of `analyzers` as the ones it expects), then
    invoke the analyzers whose results are missing.

    A redelivered message for a job already dispatched or finished invokes nothing;
    one that arrives while another delivery's claim is still held raises ClaimHeld. A
    re-claimed job keeps the branches its first claim recorded; a branch this stack no
    longer has cannot be invoked, and the job is left to the sweeper's deadline.
    """
    try:
        claim = jobs.claim_for_analysis(
            ddb, table, job_id, now, lease_seconds, branches=tuple(analyzers)
        )
    except jobs.UnknownJob as exc:
        raise PoisonMessage(f"job {job_id} does not exist") from exc
    if not claim.claimed:
        job = claim.job
        if (
            job.get("status") == Status.ANALYZING
            and claim.missing_branches()
            and int(job.get("dispatch_lease", 0)) >= int(now.timestamp())
        ):
            raise ClaimHeld(f"job {job_id} is being dispatched by another delivery")
        return Dispatched((), int(job.get("attempts", 0)), str(job.get("status")))
    payload = json.dumps({"job_id": job_id, "image_key": claim.job["image_key"]}).encode()
    started = []
    for branch in claim.missing_branches():
        function = analyzers.get(branch)
        if function is None:
            continue
        lam.invoke(FunctionName=function, InvocationType="Event", Payload=payload)
        started.append(branch)
    return Dispatched(tuple(started), int(claim.job.get("attempts", 0)), Status.ANALYZING)
