"""Edge auth on the embedded local cloud: the real program, local Cognito twin, local CDN."""

from __future__ import annotations

import json
import time

import pytest
import requests

from local.tools import fixtures
from tests.support.local_cloud import start_local_cloud, stop_local_cloud

pytestmark = pytest.mark.local_cloud


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("edge-cloud")
    client = start_local_cloud(state_dir, settings={"edgeAuthEnabled": True})
    try:
        yield client
    finally:
        stop_local_cloud(state_dir)


def wait_terminal(cloud, job_id: str, headers: dict, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = requests.get(f"{cloud.api_url}/jobs/{job_id}", headers=headers, timeout=10).json()
        if view["status"] in ("complete", "failed"):
            return view
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish")


def fetch(cloud, url: str, headers: dict | None = None, timeout: float = 15):
    """GET through the local CDN; an approved image may trail its decision by a moment."""
    deadline = time.monotonic() + timeout
    while True:
        resp = requests.get(
            url, headers=headers or {}, verify=cloud.state["cdn_ca_file"], timeout=10
        )
        if resp.status_code != 403 or time.monotonic() > deadline:
            return resp
        time.sleep(0.3)


def upload(cloud, kind: str, seed: int, headers: dict) -> str:
    f = fixtures.make(kind, seed)
    resp = requests.post(
        f"{cloud.api_url}/jobs",
        data=f.data,
        timeout=30,
        headers={**headers, "content-type": f.content_type},
    )
    assert resp.status_code == 202, resp.text
    return resp.json()["job_id"]


def test_the_stack_is_wired_to_one_user_pool(cloud):
    out = cloud.outputs
    assert out["user_pool_id"].startswith("us-east-1_local")
    assert (
        out["user_pool_issuer"]
        == f"https://cognito-idp.us-east-1.amazonaws.com/{out['user_pool_id']}"
    )
    assert cloud.state["issuer"] == out["user_pool_issuer"]
    assert out["cdn_url"] == cloud.state["cdn_url"]
    not_emulated = {item["type"] for item in cloud.state["not_emulated"]}
    assert "aws:cloudfront/distribution:Distribution" in not_emulated
    assert "aws:cloudfront/originAccessControl:OriginAccessControl" in not_emulated


def test_one_sign_in_uploads_checks_status_and_downloads(cloud):
    token = cloud.token("carol")
    auth = {"Authorization": f"Bearer {token}"}
    approved = upload(cloud, "swimwear", 21, auth)
    rejected = upload(cloud, "explicit", 22, auth)
    view = wait_terminal(cloud, approved, auth)
    assert view["decision"] == "approve"
    rejected_view = wait_terminal(cloud, rejected, auth)
    assert rejected_view["decision"] == "reject" and "content_url" not in rejected_view

    url = view["content_url"]
    assert url == f"{cloud.outputs['cdn_url']}/content/{approved}"
    resp = fetch(cloud, url, auth)
    assert resp.status_code == 200
    assert resp.content == fixtures.make("swimwear", 21).data
    assert resp.headers["Cache-Control"].startswith("private, max-age=")

    anonymous = requests.get(url, verify=cloud.state["cdn_ca_file"], timeout=10)
    assert anonymous.status_code == 401 and anonymous.text == "Unauthorized"
    assert anonymous.headers["WWW-Authenticate"] == 'Bearer realm="content"'

    never = fetch(cloud, f"{cloud.outputs['cdn_url']}/content/{rejected}", auth, timeout=2)
    assert never.status_code == 403
    keys = [
        o["Key"]
        for o in cloud.client("s3")
        .list_objects_v2(Bucket=cloud.outputs["content_bucket"])
        .get("Contents", [])
    ]
    assert f"content/{approved}" in keys and f"content/{rejected}" not in keys


def test_plain_http_is_redirected_to_https(cloud):
    resp = requests.get(
        f"{cloud.state['cdn_http_url']}/content/x", allow_redirects=False, timeout=10
    )
    assert resp.status_code == 301
    assert resp.headers["Location"] == f"{cloud.state['cdn_url']}/content/x"


def test_edge_invocations_are_logged_where_lambda_at_edge_logs(cloud):
    requests.get(
        f"{cloud.state['cdn_url']}/content/x", verify=cloud.state["cdn_ca_file"], timeout=10
    )
    cloud.control("flush")
    name = cloud.outputs["edge_function_arn"].split(":function:")[1].split(":")[0]
    group = f"/aws/lambda/us-east-1.{name}"
    logs = cloud.client("logs")
    lines = [
        e["message"]
        for s in logs.describe_log_streams(logGroupName=group)["logStreams"]
        for e in logs.get_log_events(logGroupName=group, logStreamName=s["logStreamName"])["events"]
    ]
    assert any(line.startswith("REPORT RequestId:") for line in lines)
    refused = [json.loads(line) for line in lines if '"request refused"' in line]
    assert refused and {r["reason"] for r in refused} >= {"missing"}
