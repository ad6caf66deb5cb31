"""The Overview's upload quotas: who is near their daily quota, from the usage table's
day index, counted by the upload function's own code."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from common import quotas as behaviour
from common.contract import Output
from common.timeutil import utcnow
from dashboard.data import quotas
from local.tools import fixtures
from tests.support.inprocess import api_event


def test_the_heaviest_uploaders_are_listed_and_those_near_their_quota_flagged(stack):
    ddb = stack.client("dynamodb")
    target = quotas.usage_target(stack.exports)
    assert target is not None
    table, per_day = target
    assert per_day == 1000
    limits = behaviour.Limits(table, 1000, 10)  # a small quota, so 8 uploads are 80%
    now = utcnow()
    for user, n in (("heavy", 9), ("near", 8), ("light", 2)):
        for _ in range(n):
            behaviour.admit(ddb, limits, user, now)
    frame = quotas.near_quota(ddb, table, 10, now, limit=10)
    assert list(frame["user_id"]) == ["heavy", "near", "light"]
    assert list(frame["uploads"]) == [9, 8, 2]
    assert list(frame["near"]) == [True, True, False]
    assert list(frame["used"]) == [0.9, 0.8, 0.2]
    assert quotas.near_quota(ddb, table, 10, now, limit=1)["user_id"].tolist() == ["heavy"]


def test_uploads_through_the_api_show_up_and_other_days_do_not(stack):
    resp = stack.invoke(
        "upload",
        api_event(
            "POST",
            "/jobs",
            user="api-user",
            body=fixtures.png(seed=5),
            headers={"content-type": "image/png"},
        ),
    )
    assert resp["statusCode"] == 202, json.loads(resp["body"])
    table = stack.exports[Output.USAGE_TABLE]
    ddb = stack.client("dynamodb")
    today = quotas.near_quota(ddb, table, 1000, utcnow())
    assert today.to_dict("records") == [
        {"user_id": "api-user", "uploads": 1, "quota": 1000, "used": 0.001, "near": False}
    ]
    assert quotas.near_quota(ddb, table, 1000, datetime(2001, 1, 1, tzinfo=UTC)).empty


def test_without_limits_there_is_nothing_to_show():
    assert quotas.usage_target({}) is None
