"""Per-user upload limits under Pulumi's mocks: their own table, the upload function's
environment and its one permission, and settings that fail preview."""

from __future__ import annotations

import pytest

from components.settings import ConfigError, settings_from_mapping
from lambdas.common.contract import USAGE_DAY_INDEX, USAGE_KEY, Env, Output
from tests.support.config import BASE_CONFIG
from tests.support.program import ProgramRun, function_component, policy_of, run_program

USAGE = "moderation-quotas-usage"


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return run_program()


def test_the_usage_table_is_its_own_component_with_ttl_and_the_day_index(run):
    table = run.one("aws:dynamodb/table:Table", USAGE)
    assert table.inputs["hashKey"] == USAGE_KEY
    assert table.inputs["ttl"] == {"attributeName": "expires_at", "enabled": True}
    assert [i["name"] for i in table.inputs["globalSecondaryIndexes"]] == [USAGE_DAY_INDEX]
    component = run.one("moderation:quotas:UploadQuotas")
    assert component.name == "moderation-quotas"
    assert run.exports[Output.USAGE_TABLE] == table.outputs["name"]
    assert run.exports[Output.UPLOADS_PER_DAY] == 1000


def test_only_the_upload_function_may_count_and_only_with_update_item(run):
    arn = run.one("aws:dynamodb/table:Table", USAGE).outputs["arn"]
    for logical in run.exports[Output.FUNCTIONS]:
        actions = {
            action
            for stmt in policy_of(run, logical)["Statement"]
            if arn in stmt["Resource"]
            for action in stmt["Action"]
        }
        assert actions == ({"dynamodb:UpdateItem"} if logical == "upload" else set()), logical
    fn = run.one("aws:lambda/function:Function", f"{function_component('upload')}-function")
    env = fn.inputs["environment"]["variables"]
    assert env[Env.UPLOADS_PER_MINUTE] == "30" and env[Env.UPLOADS_PER_DAY] == "1000"
    assert env[Env.USAGE_TABLE] == run.exports[Output.USAGE_TABLE]


def test_limits_off_declare_nothing():
    off = run_program({"quota": {"enabled": False}})
    assert not [t for t in off.of_type("aws:dynamodb/table:Table") if t.name == USAGE]
    assert Output.USAGE_TABLE not in off.exports


@pytest.mark.parametrize(
    ("config", "names"),
    [
        ({"quota": {"uploadsPerMinute": 0}}, "moderation:quota.uploadsPerMinute"),
        ({"quota": {"uploadsPerMinute": 5000}}, "moderation:quota.uploadsPerMinute"),
        (
            {"quota": {"uploadsPerMinute": 50, "uploadsPerDay": 10}},
            "moderation:quota.uploadsPerDay",
        ),
        ({"quota": {"uploadsPerDay": 20000}}, "moderation:quota.uploadsPerDay"),
    ],
)
def test_bad_limits_fail_preview_naming_the_key_and_the_fix(config, names):
    with pytest.raises(ConfigError) as info:
        settings_from_mapping("test", {**BASE_CONFIG, **config})
    assert names in str(info.value) and "pulumi config set" in str(info.value)
