"""Validation of the claim, QA and appeal settings (`lambdas/common/claims.py`, `qa.py`,
`appeals.py`): each message names the setting and the fix."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.settings.fields import NAMESPACE
from components.settings.fields import set_cmd as _set_cmd

if TYPE_CHECKING:
    from components.settings.model import StackSettings
    from components.settings.problems import Problems

MAX_CLAIM_MINUTES = 240


def claims_qa_appeals(s: StackSettings, p: Problems) -> None:
    """A claim long enough to decide in and short enough that a vanished moderator's items
    come back; a QA share that is a share; an appeal window the job record outlives."""
    r = s.review
    p.need(
        1 <= r.claim_minutes <= MAX_CLAIM_MINUTES,
        f"{NAMESPACE}:review.claimMinutes = {r.claim_minutes} is outside 1-{MAX_CLAIM_MINUTES}: "
        "a claim keeps every other moderator off its items until it expires, so a moderator "
        "who closes the console holds them that long. "
        f"Set it with {_set_cmd('review.claimMinutes', 15)}.",
    )
    rate = r.qa_sample_rate
    p.need(
        isinstance(rate, (int, float)) and not isinstance(rate, bool) and 0 <= rate <= 1,
        f"{NAMESPACE}:review.qaSampleRate = {rate!r} is not a share between 0 and 1 (0.05 "
        "sends one decision in twenty to QA). "
        f"Set it with {_set_cmd('review.qaSampleRate', 0.05)}.",
    )
    days = s.appeals.window_days
    p.need(
        1 <= days <= s.job_retention_days,
        f"{NAMESPACE}:appeals.windowDays = {days} must be 1 to "
        f"{NAMESPACE}:jobRetentionDays ({s.job_retention_days}): DynamoDB's TTL deletes a "
        "job when its record expires, so a later appeal would find nothing to appeal. "
        f"Set it with {_set_cmd('appeals.windowDays', min(14, s.job_retention_days))}.",
    )
