"""The audit log's table as the program declares it, and who may write it."""

from __future__ import annotations

import pytest

from lambdas.common.contract import Env, Output
from tests.support.program import ProgramRun, policy_of, run_program


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return run_program()


def test_the_audit_table_is_keyed_by_day_and_entry_kept_and_exported(run):
    table = run.one("aws:dynamodb/table:Table", "moderation-store-audit")
    inputs = table.inputs
    assert (inputs["hashKey"], inputs["rangeKey"]) == ("day", "entry")
    assert not inputs.get("ttl"), "audit entries are kept, not expired"
    assert inputs["pointInTimeRecovery"] == {"enabled": True}
    assert inputs["serverSideEncryption"] == {"enabled": True}
    assert run.exports[Output.AUDIT_TABLE] == table.outputs["name"]


def test_only_the_review_and_banks_functions_write_it_and_only_new_entries(run):
    audit = run.one("aws:dynamodb/table:Table", "moderation-store-audit").outputs["arn"]
    writers = {}
    for fn in run.of_type("aws:lambda/function:Function"):
        logical = fn.name.removeprefix("moderation-").removesuffix("-function")
        for stmt in policy_of(run, logical)["Statement"]:
            if any(audit in str(r) for r in stmt["Resource"]):
                writers.setdefault(logical, set()).update(stmt["Action"])
    assert writers == {"review": {"dynamodb:PutItem"}, "banks": {"dynamodb:PutItem"}}
    env = run.one("aws:lambda/function:Function", "moderation-review-function").inputs[
        "environment"
    ]["variables"]
    assert (
        env[Env.AUDIT_TABLE]
        == run.one("aws:dynamodb/table:Table", "moderation-store-audit").outputs["name"]
    )
