"""The program under recording mocks (local/declared.py), with the tests' base config."""

from __future__ import annotations

import json
from typing import Any

from local.declared import ACCOUNT, REGION, ProgramRun, RecordingMocks, Resource, record
from tests.support.config import BASE_CONFIG

__all__ = ["ACCOUNT", "REGION", "ProgramRun", "RecordingMocks", "Resource", "run_program"]


def run_program(
    config: dict[str, Any] | None = None, stack: str = "test", calls: dict[str, Any] | None = None
) -> ProgramRun:
    """Execute the program with the base test config plus `config` and collect results.

    `calls`: answers of provider functions by token (e.g. route table lookups).
    """
    return record({**BASE_CONFIG, **(config or {})}, stack, calls)


def function_component(logical: str) -> str:
    """The name of the LambdaFunction component of a function (children: `<it>-policy`, ...)."""
    return {"exporter": "analytics-exporter", "edge_auth": "edge-auth"}.get(
        logical, f"moderation-{logical}"
    )


def logical_of(resource_name: str, suffix: str) -> str:
    """The reverse of function_component: `moderation-upload-policy` -> `upload`."""
    base = resource_name.removesuffix(suffix)
    if base == "edge-auth":
        return "edge_auth"
    for owner in ("moderation-", "analytics-"):
        if base.startswith(owner):
            return base[len(owner) :]
    return base


def policy_of(run: ProgramRun, logical: str) -> dict:
    """The inline policy document of one function's role."""
    res = run.one("aws:iam/rolePolicy:RolePolicy", f"{function_component(logical)}-policy")
    return json.loads(res.inputs["policy"])
