"""Validation of StackSettings: one function per concern, each naming the setting and the fix.

Every check runs before a resource is declared, so a wrong stack fails `pulumi preview`
with the list of problems instead of failing half-way through `pulumi up`. The checks are
grouped by concern in `validate_platform.py`, `validate_pipeline.py`,
`validate_access.py` and `validate_models.py` (one function per concern, each message
carrying its own fix); VALIDATORS lists them in the order they run, and `Problems`
(`problems.py`) is what they record. The limits
checked are AWS's documented ones (Lambda, SQS, CloudWatch Logs, Cognito, CloudFront,
EMR Serverless); `tests/program/test_aws_rules.py` checks the declared resources too.
"""

from __future__ import annotations

from collections.abc import Callable

from components.settings import dsa as dsa_settings
from components.settings import validate_banks, validate_claims, validate_models
from components.settings.model import StackSettings
from components.settings.problems import Problems
from components.settings.validate_access import (
    analytics,
    api,
    caching,
    edge_auth,
    review,
)
from components.settings.validate_pipeline import (
    analyzers,
    animation,
    cost,
    lifecycle,
    presign_window,
    quota,
    rules,
    uploads,
)
from components.settings.validate_platform import (
    alarms,
    functions,
    names,
    packaging,
    platform,
    queueing,
)

__all__ = ["VALIDATORS", "Problems", "validate"]


VALIDATORS: tuple[Callable[[StackSettings, Problems], None], ...] = (
    names,
    functions,
    platform,
    queueing,
    analyzers,
    cost,
    rules,
    animation,
    validate_models.categories,
    validate_models.blocked_terms,
    validate_models.image_limits,
    validate_models.provisioned,
    uploads,
    lifecycle,
    presign_window,
    api,
    review,
    validate_claims.claims_qa_appeals,
    quota,
    alarms,
    packaging,
    caching,
    edge_auth,
    analytics,
    lambda s, p: p.extend(dsa_settings.check(s.dsa)),
    validate_banks.banks,
)


def validate(s: StackSettings) -> list[str]:
    """Every problem with `s`, each naming the setting and the fix."""
    p = Problems()
    for check in VALIDATORS:
        check(s, p)
    return list(p)
