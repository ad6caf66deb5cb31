"""GET /jobs/{job_id}: the caller's own job only."""

from __future__ import annotations

import json
import uuid

from local.tools import fixtures
from tests.support.helpers import accept
from tests.support.inprocess import api_event


def get(stack, job_id, user="user-1"):
    resp = stack.invoke(
        "status", api_event("GET", f"/jobs/{job_id}", user=user, path_params={"job_id": job_id})
    )
    return resp["statusCode"], json.loads(resp["body"])


def test_owner_sees_the_job(stack):
    job_id = accept(stack, fixtures.png(seed=1), user="alice")
    status, body = get(stack, job_id, user="alice")
    assert status == 200
    assert body["job_id"] == job_id and body["status"] == "pending" and body["user_id"] == "alice"
    assert "dispatch_lease" not in body and "expires_at" not in body


def test_another_users_job_is_indistinguishable_from_a_missing_one(stack):
    job_id = accept(stack, fixtures.png(seed=2), user="alice")
    other = get(stack, job_id, user="mallory")
    missing = get(stack, str(uuid.uuid4()), user="mallory")
    assert other == missing == (404, {"error": "not_found", "message": "no such job"})


def test_malformed_ids_are_404_without_a_lookup(stack):
    for bad in ("nope", "../etc/passwd", "0" * 36, "%00"):
        assert get(stack, bad)[0] == 404


def test_anonymous_is_401(stack):
    job_id = accept(stack, fixtures.png(seed=3))
    assert get(stack, job_id, user=None)[0] == 401
