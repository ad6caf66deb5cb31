"""Stack settings: defaults are valid; every refusal names the setting and the fix."""

from __future__ import annotations

import pytest

from components.settings import ConfigError, settings_from_mapping
from tests.support.config import BASE_CONFIG
from tests.support.program import run_program

OK = BASE_CONFIG


def refuse(raw: dict) -> str:
    with pytest.raises(ConfigError) as info:
        settings_from_mapping("dev", {**OK, **raw})
    return str(info.value)


def test_defaults_are_valid_and_documented_values():
    s = settings_from_mapping("dev", OK)
    assert s.prefix == "moderation-dev"
    assert s.visibility_timeout_seconds == 6 * s.function("dispatcher").timeout
    assert s.max_receive_count == 3
    assert s.dlq_retention_seconds > s.queue_retention_seconds
    assert s.architecture == "arm64"
    assert s.jwt_audience == ("test-client",)


def test_visibility_timeout_under_six_times_the_dispatcher_timeout_is_refused():
    msg = refuse({"visibilityTimeoutSeconds": 60})
    assert "moderation:visibilityTimeoutSeconds = 60" in msg
    assert "6 x 30 s = 180 s" in msg
    assert "pulumi config set moderation:visibilityTimeoutSeconds 180" in msg


def test_visibility_follows_the_dispatcher_timeout_when_not_set():
    s = settings_from_mapping("dev", {**OK, "functions": {"dispatcher": {"timeout": 40}}})
    assert s.visibility_timeout_seconds == 240


@pytest.mark.parametrize("memory", [64, 127, 10241, 20000])
def test_memory_outside_lambda_limits_is_refused(memory):
    msg = refuse({"functions": {"upload": {"memory": memory}}})
    assert f"moderation:functions.upload.memory = {memory} MB" in msg
    assert "128-10240" in msg
    assert "pulumi config set --path moderation:functions.upload.memory" in msg


def test_batch_size_over_ten_needs_a_batching_window():
    msg = refuse({"batchSize": 50})
    assert "moderation:batchSize = 50 needs a batching window" in msg
    assert "moderation:batchingWindowSeconds" in msg
    s = settings_from_mapping("dev", {**OK, "batchSize": 50, "batchingWindowSeconds": 2})
    assert s.batch_size == 50


def test_dlq_retention_must_exceed_the_queue_retention():
    msg = refuse({"dlqRetentionSeconds": 3600, "queueRetentionSeconds": 7200})
    assert "moderation:dlqRetentionSeconds = 3600 must exceed" in msg


def test_unknown_setting_is_refused_with_a_suggestion():
    msg = refuse({"batchsize": 5})
    assert "moderation:batchsize is not a setting" in msg
    assert "did you mean moderation:batchSize" in msg


def test_missing_authorizer_settings_are_refused_unless_edge_auth_supplies_them():
    with pytest.raises(ConfigError) as info:
        settings_from_mapping("dev", {})
    assert "moderation:jwtIssuer and moderation:jwtAudience are required" in str(info.value)


def test_all_problems_are_reported_at_once():
    msg = refuse({"batchSize": 0, "maxReceiveCount": 0, "logRetentionDays": 2})
    assert "3 problem(s)" in msg
    assert "moderation:logRetentionDays = 2" in msg


@pytest.mark.parametrize(
    "raw,needle",
    [
        ({"architecture": "sparc"}, "moderation:architecture = 'sparc'"),
        ({"functions": {"edge_auth": {"memory": 256}}}, "Lambda@Edge viewer-request"),
        ({"functions": {"nope": {"memory": 256}}}, "moderation:functions.nope is not a function"),
        ({"functions": {"upload": {"reservedConcurrency": 0}}}, "reservedConcurrency = 0"),
        ({"maxInlineUploadBytes": 6 * 1024 * 1024}, "moderation:maxInlineUploadBytes"),
        ({"maxUploadBytes": 50 * 1024 * 1024}, "Rekognition reads at most"),
        (
            {"rekognitionMinConfidence": 95, "rejectThreshold": 90},
            "no label could ever be reviewed",
        ),
        ({"blocklistHashes": ["xyz"]}, "not a 64-bit dHash"),
        ({"jobDeadlineSeconds": 30}, "moderation:jobDeadlineSeconds = 30"),
        ({"asyncRetries": 5}, "moderation:asyncRetries = 5"),
        ({"jwtIssuer": "http://insecure.example.com"}, "must be an https:// URL"),
        ({"tracing": "maybe"}, "moderation:tracing = 'maybe' is not valid"),
        ({"cachingEnabled": True, "caching": {"activeTtlSeconds": 0}}, "caching.activeTtlSeconds"),
        ({"caching": {"ttl": 5}}, "moderation:caching.ttl is not a setting"),
    ],
)
def test_refusals_name_the_setting(raw, needle):
    assert needle in refuse(raw)


def test_bad_config_fails_the_program_like_pulumi_preview_would():
    with pytest.raises(Exception) as info:
        run_program({"visibilityTimeoutSeconds": 10})
    assert "moderation:visibilityTimeoutSeconds = 10" in str(info.value)


def test_structured_values_arrive_as_json_text():
    s = settings_from_mapping(
        "dev",
        {**OK, "functions": '{"upload": {"memory": 1024}}', "jwtAudience": '["a", "b"]'},
    )
    assert s.function("upload").memory == 1024
    assert s.jwt_audience == ("a", "b")


def test_base_test_config_is_itself_valid():
    settings_from_mapping("test", BASE_CONFIG)


def test_stack_names_must_fit_every_derived_name():
    assert "at most 32" in refuse_stack("a" * 33, {})
    assert "ElastiCache id" in refuse_stack("a" * 22, {"cachingEnabled": True})
    settings_from_mapping("a" * 21, {**OK, "cachingEnabled": True})
    assert "lowercase letters, digits and single hyphens" in refuse_stack("Dev_1", {})


def refuse_stack(stack: str, raw: dict) -> str:
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(stack, {**OK, **raw})
    return str(info.value)


def test_settings_under_a_renamed_projects_namespace_are_refused_not_ignored():
    from components.settings.parse import misplaced_keys

    problems = misplaced_keys("acme", {"batchSize": 5, "unrelated": 1})
    assert len(problems) == 1 and "acme:batchSize" in problems[0]
    assert "pulumi config set moderation:batchSize" in problems[0]
    assert misplaced_keys("moderation", {"batchSize": 5}) == []


@pytest.mark.parametrize("frames", [0, 1, 31, 1000])
def test_animation_max_frames_outside_its_range_is_refused(frames):
    message = refuse({"animation": {"maxFrames": frames}})
    assert f"moderation:animation.maxFrames = {frames} is outside 2-30" in message
    assert "pulumi config set --path moderation:animation.maxFrames 8" in message


def test_an_unknown_animation_policy_is_refused_naming_the_choices():
    message = refuse({"animation": {"policy": "ignore"}})
    assert "moderation:animation.policy = 'ignore'" in message
    assert "analyze, reject, first-frame-only" in message


def test_animation_settings_are_read():
    s = settings_from_mapping(
        "dev", {**BASE_CONFIG, "animation": {"maxFrames": 12, "policy": "Reject"}}
    )
    assert (s.animation.max_frames, s.animation.policy) == (12, "reject")
