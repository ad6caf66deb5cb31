"""Helpers the service twins share: the local account, generated ids, attribute strings."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Protocol

from local.registry import Registry

ACCOUNT = "123456789012"


class MockCloud(Protocol):
    """What a twin's handler uses of the mocks that call it (`local.mocks.LocalMocks`):
    boto3 clients on moto, the registry it records into, the region, the gateway's URL
    and the ARN of a resource in the local account."""

    client: Callable[[str], Any]
    registry: Registry
    region: str
    gateway_url: str

    def arn(self, service: str, resource: str) -> str: ...


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
