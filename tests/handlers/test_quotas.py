"""Per-user upload limits on the program's own usage table (declared by the program,
materialized by the local mocks), enforced by the upload function under its declared
environment: one conditional write per upload, 429 with Retry-After over a limit, and
a retried request with the same Idempotency-Key counted once."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from moto import mock_aws

from common import quotas
from common.contract import USAGE_DAY_INDEX, Output
from local.tools import fixtures
from tests.support.inprocess import api_event, build_stack

LIMITED = {"quota": {"uploadsPerMinute": 2, "uploadsPerDay": 3}}


@pytest.fixture
def limited():
    with mock_aws():
        yield build_stack(LIMITED)


def post(stack, seed: int, user: str = "alice", key: str | None = None, patch=None) -> dict:
    headers = {"content-type": "image/png"}
    if key:
        headers["idempotency-key"] = key
    event = api_event("POST", "/jobs", user=user, body=fixtures.png(seed=seed), headers=headers)
    return stack.invoke("upload", event, patch)


def at(when: datetime):
    """Run the upload function as if it were `when` (its clock is `utcnow`)."""

    def patch(module) -> None:
        module.utcnow = lambda: when

    return patch


def usage(stack) -> list[dict]:
    return stack.client("dynamodb").scan(TableName=stack.exports[Output.USAGE_TABLE])["Items"]


def test_over_the_minute_rate_answers_429_with_retry_after(limited):
    t = datetime(2025, 5, 1, 10, 0, 45, tzinfo=UTC)
    assert [post(limited, s, patch=at(t))["statusCode"] for s in (1, 2)] == [202, 202]
    refused = post(limited, 3, patch=at(t))
    assert refused["statusCode"] == 429
    assert refused["headers"]["retry-after"] == "15"
    body = json.loads(refused["body"])
    assert body["error"] == "over_quota" and "this minute" in body["message"]
    # Nothing was stored for the refused upload, and nothing counted.
    jobs = limited.client("dynamodb").scan(TableName=limited.exports[Output.JOBS_TABLE])["Items"]
    assert len(jobs) == 2
    (item,) = usage(limited)
    assert item["day_count"]["N"] == "2" and item["m1000"]["N"] == "2"
    # Another user has their own limits.
    assert post(limited, 4, user="bob", patch=at(t))["statusCode"] == 202


def test_over_the_day_quota_waits_for_midnight(limited):
    for minute, seed in ((1, 1), (2, 2), (3, 3)):
        when = datetime(2025, 5, 1, 23, minute, 0, tzinfo=UTC)
        assert post(limited, seed, patch=at(when))["statusCode"] == 202
    late = datetime(2025, 5, 1, 23, 59, 30, tzinfo=UTC)
    refused = post(limited, 4, patch=at(late))
    assert refused["statusCode"] == 429 and refused["headers"]["retry-after"] == "30"
    assert "today" in json.loads(refused["body"])["message"]
    tomorrow = datetime(2025, 5, 2, 0, 0, 5, tzinfo=UTC)
    assert post(limited, 5, patch=at(tomorrow))["statusCode"] == 202


def test_a_retry_with_the_same_idempotency_key_counts_once(limited):
    t = datetime(2025, 5, 1, 10, 0, 0, tzinfo=UTC)
    first = post(limited, 1, key="k-1", patch=at(t))
    again = post(limited, 1, key="k-1", patch=at(t))
    assert first["statusCode"] == again["statusCode"] == 202
    assert json.loads(first["body"])["job_id"] == json.loads(again["body"])["job_id"]
    (item,) = usage(limited)
    assert item["day_count"]["N"] == "1"
    assert post(limited, 2, key="k-2", patch=at(t))["statusCode"] == 202


def test_a_retry_after_a_failed_attempt_is_not_counted_again(limited):
    """The first attempt counted, then failed (its idempotency record is deleted): the
    retry runs again and finds its key in the day's set."""
    ddb = limited.client("dynamodb")
    limits = quotas.Limits(limited.exports[Output.USAGE_TABLE], 2, 3)
    t = datetime(2025, 5, 1, 10, 0, 0, tzinfo=UTC)
    assert quotas.admit(ddb, limits, "alice", t, "k-9").counted
    assert not quotas.admit(ddb, limits, "alice", t, "k-9").counted
    assert quotas.admit(ddb, limits, "alice", t, "k-10").day_count == 2
    with pytest.raises(quotas.OverQuota) as over:
        quotas.admit(ddb, limits, "alice", t, "k-11")
    assert over.value.limit == quotas.RATE
    # Still a retry of a counted key: admitted even at the limit.
    assert not quotas.admit(ddb, limits, "alice", t, "k-9").counted


def test_the_day_index_lists_the_heaviest_uploaders_first(limited):
    ddb = limited.client("dynamodb")
    limits = quotas.Limits(limited.exports[Output.USAGE_TABLE], 100, 1000)
    t = datetime(2025, 5, 1, 10, 0, 0, tzinfo=UTC)
    for user, n in (("light", 1), ("heavy", 5), ("middle", 3)):
        for _ in range(n):
            quotas.admit(ddb, limits, user, t)
    top = quotas.heaviest(ddb, limits.usage_table, USAGE_DAY_INDEX, t, limit=2)
    assert [(u.user_id, u.uploads) for u in top] == [("heavy", 5), ("middle", 3)]


def test_without_limits_no_usage_table_is_declared():
    with mock_aws():
        stack = build_stack({"quota": {"enabled": False}})
        assert Output.USAGE_TABLE not in stack.exports
        assert "USAGE_TABLE" not in stack.function("upload").environment
        assert post(stack, 1)["statusCode"] == 202
