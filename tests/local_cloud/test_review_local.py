"""The review API through the local gateway: who gets in, and a moderator's whole loop.

Tokens come from the local identity provider (the CLI's `token --group`), are verified
by the gateway as API Gateway's JWT authorizer verifies them, and reach the function
with their claims in payload 2.0's string form.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time

import jwt
import pytest
import requests

from local.tools import fixtures
from local.tools.load import NotificationListener
from tests.support.edge import SigningKey
from tests.support.paths import ROOT

pytestmark = pytest.mark.local_cloud


def wait_for(predicate, timeout: float, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def record(cloud, job_id: str) -> dict:
    from common import jobs

    return jobs.get_job(cloud.client("dynamodb"), cloud.outputs["jobs_table"], job_id, True)


def cli_token(cloud, user: str, *groups: str) -> str:
    cmd = [sys.executable, "-m", "local", "--state-dir", str(cloud.state_dir), "token"]
    cmd += ["--user", user]
    for group in groups:
        cmd += ["--group", group]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    return out.stdout.strip()


def b64(doc: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")


def forged(cloud) -> dict[str, str]:
    """Tokens claiming the moderator group that the local identity provider never signed."""
    honest = cloud.token("intruder")
    header = jwt.get_unverified_header(honest)
    claims = jwt.decode(honest, options={"verify_signature": False})
    promoted = {**claims, "cognito:groups": ["moderators"]}
    head, _, signature = honest.split(".")
    return {
        "unsigned": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(promoted)}.",
        "another key": SigningKey(header["kid"]).sign(
            {"alg": "RS256", "kid": header["kid"], "typ": "JWT"}, promoted
        ),
        "groups added to a signed token": f"{head}.{b64(promoted)}.{signature}",
    }


def call(
    cloud, method: str, path: str, token: str | None, headers: dict | None = None, **kw
) -> requests.Response:
    sent = {**(headers or {}), **({"Authorization": f"Bearer {token}"} if token else {})}
    return requests.request(method, f"{cloud.api_url}{path}", headers=sent, timeout=30, **kw)


def queue_items(cloud, token: str) -> dict[str, dict]:
    """Every job awaiting review, page by page, in queue order."""
    items, cursor = {}, None
    while True:
        params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
        resp = call(cloud, "GET", "/reviews", token, params=params)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        items.update({i["job_id"]: i for i in page["items"]})
        cursor = page["cursor"]
        if not cursor:
            return items


@pytest.fixture(scope="module")
def queued(local_cloud):
    """A job the pipeline sent to review, uploaded through the API; and a listener."""
    listener = NotificationListener(local_cloud)
    image = fixtures.make("moderate", seed=4711).data
    resp = call(
        local_cloud,
        "POST",
        "/jobs",
        local_cloud.token("uploader"),
        data=image,
        headers={"Content-Type": "image/png"},
    )
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["job_id"]
    wait_for(lambda: record(local_cloud, job_id).get("review_state") == "pending", 90)
    try:
        yield job_id, image, listener
    finally:
        listener.close()


def test_only_a_signed_in_member_of_this_stacks_moderator_group_gets_in(local_cloud, queued):
    job_id, _, _ = queued
    verdict_path = f"/jobs/{job_id}/review"
    body = {"json": {"decision": "reject"}}
    refused = {
        "no token": (None, 401),
        "not a moderator": (local_cloud.token("alice"), 403),
        "another group": (local_cloud.token("alice", groups=["editors"]), 403),
        "another stack's moderators": (local_cloud.token("alice", groups=["moderators-prod"]), 403),
        **{name: (token, 401) for name, token in forged(local_cloud).items()},
    }
    for name, (token, status) in refused.items():
        listed = call(local_cloud, "GET", "/reviews", token)
        posted = call(local_cloud, "POST", verdict_path, token, **body)
        for resp in (listed, posted):
            assert resp.status_code == status, (name, resp.status_code, resp.text)
            assert resp.headers["Content-Type"].startswith("application/json"), name
        if status == 403:
            assert set(posted.json()) == {"error", "message"}
            assert posted.json()["error"] == "forbidden"
    assert record(local_cloud, job_id)["review_state"] == "pending", "nothing was written"


def test_a_moderator_lists_sees_the_image_decides_once_and_is_notified(local_cloud, queued):
    job_id, image, listener = queued
    token = cli_token(local_cloud, "moderator-1", "moderators")
    assert jwt.decode(token, options={"verify_signature": False})["cognito:groups"] == [
        "moderators"
    ]
    item = queue_items(local_cloud, token)[job_id]
    assert item["decision"] == "review" and "Violence" in item["categories"]
    assert requests.get(item["image_url"], timeout=10).content == image

    path = f"/jobs/{job_id}/review"
    first = call(local_cloud, "POST", path, token, json={"decision": "approve", "note": "staged"})
    assert first.status_code == 200, first.text
    assert first.json()["review"]["reviewer"] == "moderator-1"
    again = call(
        local_cloud,
        "POST",
        path,
        cli_token(local_cloud, "moderator-2", "moderators"),
        json={"decision": "reject"},
    )
    assert (again.status_code, again.json()["error"]) == (409, "already_reviewed")
    assert job_id not in queue_items(local_cloud, token)

    events = wait_for(
        lambda: (
            (got := [b["event"] for _, b in listener.received.get(job_id, [])])
            and len(got) >= 2
            and got
        ),
        60,
    )
    assert events == ["awaiting_review", "reviewed"]
    reviewed = listener.received[job_id][1][1]
    assert reviewed["decision"] == "approve" and reviewed["review"]["reviewer"] == "moderator-1"
    final = record(local_cloud, job_id)
    assert (final["decision"], final["automatic_decision"]) == ("approve", "review")


def test_the_review_function_sees_groups_as_api_gateway_sends_them(local_cloud):
    """Invoked through the gateway, the claim arrives as `[a b]`: both groups count."""
    token = local_cloud.token("moderator-3", groups=["admins", "moderators"])
    assert call(local_cloud, "GET", "/reviews", token, params={"limit": "1"}).status_code == 200
