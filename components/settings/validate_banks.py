"""Checks of `moderation:banks.*` (hash banks, docs/banks.md)."""

from __future__ import annotations

from typing import Any

from components.settings.fields import NAMESPACE
from components.settings.fields import set_cmd as _set_cmd


def banks(s: Any, p: Any) -> None:
    """The operators group: a Cognito group name, other than the moderator group."""
    group = s.banks.operator_group
    p.need(
        1 <= len(group) <= 128 and group.isprintable() and not any(c.isspace() for c in group),
        f"{NAMESPACE}:banks.operatorGroup = {group!r} is not a Cognito group name (1-128 "
        "characters, no whitespace: API Gateway passes the groups to Lambda separated by "
        f"spaces). Set it with {_set_cmd('banks.operatorGroup', 'operators')}.",
    )
    p.need(
        group != s.review.moderator_group,
        f"{NAMESPACE}:banks.operatorGroup is the moderator group ({group!r}): every "
        "moderator could then change and delete banks. Name another group with "
        f"{_set_cmd('banks.operatorGroup', 'operators')}.",
    )
