"""Helpers the service twins share: the local account, generated ids, attribute strings."""

from __future__ import annotations

import hashlib
from typing import Any

ACCOUNT = "123456789012"


def suffix(name: str) -> str:
    """A short, stable id derived from a logical name (what Pulumi's random suffix stands for)."""
    return hashlib.sha1(name.encode()).hexdigest()[:7]


def attr(value: Any) -> str:
    """An SQS/SNS attribute string; mocks deliver numbers as floats."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def tags(inputs: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in (inputs.get("tags") or {}).items()]
