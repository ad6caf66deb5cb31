"""Verdict reuse and custom-first under Pulumi's mocks: the table, the digest, the roles."""

from __future__ import annotations

import pytest

from components import pipeline_functions
from components.settings import ConfigError, settings_from_mapping
from tests.support.config import BASE_CONFIG
from tests.support.program import ProgramRun, function_component, policy_of, run_program

BRANCHES = ("rekognition_analyzer", "custom_analyzer", "text_analyzer")


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return run_program()


def env_of(run: ProgramRun, logical: str) -> dict[str, str]:
    fn = run.one("aws:lambda/function:Function", f"{function_component(logical)}-function")
    return fn.inputs["environment"]["variables"]


def actions_on(run: ProgramRun, logical: str, arn: str) -> set[str]:
    return {
        action
        for stmt in policy_of(run, logical)["Statement"]
        if arn in stmt["Resource"]
        for action in stmt["Action"]
    }


def test_the_verdicts_table_is_encrypted_expires_and_holds_no_user_key(run):
    table = run.one("aws:dynamodb/table:Table", "moderation-store-verdicts").inputs
    assert table["hashKey"] == "verdict_key" and "rangeKey" not in table
    assert table["attributes"] == [{"name": "verdict_key", "type": "S"}]
    assert table["ttl"] == {"attributeName": "expires_at", "enabled": True}
    assert table["serverSideEncryption"] == {"enabled": True}
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert run.exports["verdicts_table"] == table["name"]
    assert run.exports["verdict_ttl_days"] == 30


def test_each_role_gets_exactly_its_verdict_actions(run):
    arn = run.one("aws:dynamodb/table:Table", "moderation-store-verdicts").outputs["arn"]
    assert actions_on(run, "dispatcher", arn) == {"dynamodb:BatchGetItem"}
    for logical in (*BRANCHES, "review"):
        assert actions_on(run, logical, arn) == {"dynamodb:PutItem"}, logical
    for logical in ("upload", "status", "notifier", "sweeper"):
        assert actions_on(run, logical, arn) == set(), logical


def test_every_function_that_reads_or_writes_verdicts_agrees_on_the_digest(run):
    digests = {env_of(run, f)["VERDICT_DIGEST"] for f in ("dispatcher", *BRANCHES, "review")}
    assert len(digests) == 1 and len(digests.pop()) == 64


@pytest.mark.parametrize(
    "change",
    [
        {"rejectThreshold": 85},
        {"customCategories": {"faces": {"threshold": 0.5, "effect": "review"}}},
        {"blocklistHashes": ["0123456789abcdef"]},
        {"blockedTerms": ["casino"]},
        {"textAnalysisEnabled": False},
    ],
    ids=["threshold", "category", "blocklist", "terms", "branches"],
)
def test_a_rule_change_changes_the_digest(run, change):
    changed = run_program(change)
    assert (
        env_of(changed, "dispatcher")["VERDICT_DIGEST"]
        != env_of(run, "dispatcher")["VERDICT_DIGEST"]
    )


def test_a_model_version_change_changes_the_digest(monkeypatch):
    settings = settings_from_mapping("test", BASE_CONFIG)
    before = pipeline_functions.verdict_digest(settings, {"decision": {}})
    monkeypatch.setattr(pipeline_functions, "_installed_version", lambda dist: "99.0")
    assert pipeline_functions.verdict_digest(settings, {"decision": {}}) != before


def test_reuse_off_creates_no_table_and_no_permissions():
    off = run_program({"verdictReuse": {"enabled": False}})
    assert not [r for r in off.resources if r.name == "moderation-store-verdicts"]
    assert "verdicts_table" not in off.exports
    for logical in ("dispatcher", *BRANCHES, "review"):
        assert "VERDICTS_TABLE" not in env_of(off, logical)
        actions = {a for s in policy_of(off, logical)["Statement"] for a in s["Action"]}
        assert "dynamodb:BatchGetItem" not in actions


def test_custom_first_lets_the_custom_side_start_rekognition_and_nothing_else():
    run = run_program({"analysisOrder": "custom-first"})
    rekognition = run.one(
        "aws:lambda/function:Function", f"{function_component('rekognition_analyzer')}-function"
    ).outputs["arn"]
    for logical in ("custom_analyzer", "text_analyzer"):
        env = env_of(run, logical)
        assert env["ANALYSIS_ORDER"] == "custom-first"
        assert env["REKOGNITION_FUNCTION"]
        invokes = [
            s
            for s in policy_of(run, logical)["Statement"]
            if "lambda:InvokeFunction" in s["Action"]
        ]
        assert [s["Resource"] for s in invokes] == [[rekognition]], logical
    assert env_of(run, "dispatcher")["ANALYSIS_ORDER"] == "custom-first"
    rek_actions = {
        a for s in policy_of(run, "rekognition_analyzer")["Statement"] for a in s["Action"]
    }
    assert "lambda:InvokeFunction" not in rek_actions


def test_custom_first_lets_the_dispatcher_store_verdicts_and_parallel_does_not(run):
    """A re-claimed custom-first job whose custom side rejects is finalized by the
    dispatcher, which stores the verdict: PutItem on exactly the verdicts table."""
    first = run_program({"analysisOrder": "custom-first"})
    verdicts = first.one("aws:dynamodb/table:Table", "moderation-store-verdicts").outputs["arn"]
    puts = [
        s for s in policy_of(first, "dispatcher")["Statement"] if "dynamodb:PutItem" in s["Action"]
    ]
    assert [(s["Action"], s["Resource"]) for s in puts] == [(["dynamodb:PutItem"], [verdicts])]
    parallel = {a for s in policy_of(run, "dispatcher")["Statement"] for a in s["Action"]}
    assert "dynamodb:PutItem" not in parallel


def test_parallel_gives_the_branches_no_invoke_permission(run):
    for logical in BRANCHES:
        actions = {a for s in policy_of(run, logical)["Statement"] for a in s["Action"]}
        assert "lambda:InvokeFunction" not in actions
        assert "REKOGNITION_FUNCTION" not in env_of(run, logical)


@pytest.mark.parametrize(
    ("config", "names"),
    [
        ({"analysisOrder": "rekognition-first"}, "moderation:analysisOrder"),
        ({"verdictReuse": {"ttlDays": 0}}, "moderation:verdictReuse.ttlDays"),
        ({"verdictReuse": {"ttlDays": 400}}, "moderation:verdictReuse.ttlDays"),
        ({"verdictReuse": {"nearDuplicate": True}}, "moderation:analysisOrder"),
        (
            {
                "verdictReuse": {"enabled": False, "nearDuplicate": True},
                "analysisOrder": "custom-first",
            },
            "moderation:verdictReuse.enabled",
        ),
        (
            {"verdictReuse": {"nearDuplicateDistance": 16}},
            "moderation:verdictReuse.nearDuplicateDistance",
        ),
    ],
)
def test_bad_cost_settings_fail_preview_naming_the_key_and_the_fix(config, names):
    with pytest.raises(ConfigError) as info:
        settings_from_mapping("test", {**BASE_CONFIG, **config})
    assert names in str(info.value) and "pulumi config set" in str(info.value)


def test_near_duplicate_reuse_gives_the_analyzers_the_index_and_nothing_else():
    run = run_program({"verdictReuse": {"nearDuplicate": True}, "analysisOrder": "custom-first"})
    arn = run.one("aws:dynamodb/table:Table", "moderation-store-verdicts").outputs["arn"]
    for logical in BRANCHES:
        assert env_of(run, logical)["NEAR_DUPLICATE_DISTANCE"] == "8", logical
        assert actions_on(run, logical, arn) == {
            "dynamodb:PutItem",
            "dynamodb:BatchGetItem",
            "dynamodb:UpdateItem",
        }, logical
    for logical in ("dispatcher", "review", "upload", "notifier"):
        assert "NEAR_DUPLICATE_DISTANCE" not in env_of(run, logical), logical
    # Off by default: no variable, no index actions.
    default = run_program()
    for logical in BRANCHES:
        assert "NEAR_DUPLICATE_DISTANCE" not in env_of(default, logical)
