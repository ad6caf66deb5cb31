"""The local cloud with the status cache on: a real redis-server behind the status function."""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlsplit

import pytest
import requests

from local.tools import fixtures
from tests.support.local_cloud import start_local_cloud, stop_local_cloud


@pytest.fixture(scope="module")
def cached_cloud(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("local-cloud-cache")
    cloud = start_local_cloud(state_dir, settings={"cachingEnabled": True})
    try:
        yield cloud, state_dir
    finally:
        stop_local_cloud(state_dir)


def _port_open(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((parts.hostname, parts.port)) == 0


def test_status_polls_go_through_the_cache_and_stay_per_user(cached_cloud):
    cloud, state_dir = cached_cloud
    state = json.loads((state_dir / "state.json").read_text())
    outputs = json.loads((state_dir / "outputs.json").read_text())
    assert state["cache"] and _port_open(state["cache"])
    assert outputs["cache_endpoint"].startswith("rediss://127.0.0.1:")  # as declared
    not_emulated = {item["type"] for item in state["not_emulated"]}
    assert "aws:ec2/vpc:Vpc" in not_emulated and "aws:ec2/vpcEndpoint:VpcEndpoint" in not_emulated
    assert not any(t.startswith("aws:elasticache/") for t in not_emulated)
    assert any("TLS to the cache not emulated" in item["why"] for item in state["recorded_only"])

    alice = {"Authorization": f"Bearer {cloud.token('alice')}"}
    resp = requests.post(
        f"{cloud.api_url}/jobs",
        data=fixtures.png(seed=41),
        headers={**alice, "content-type": "image/png"},
        timeout=30,
    )
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["job_id"]
    statuses = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = requests.get(f"{cloud.api_url}/jobs/{job_id}", headers=alice, timeout=30)
        assert got.status_code == 200, got.text
        statuses.append(got.json()["status"])
        if statuses[-1] == "complete" and len(statuses) >= 5:
            break
        time.sleep(0.1)
    assert statuses[-1] == "complete"
    mallory = {"Authorization": f"Bearer {cloud.token('mallory')}"}
    assert (
        requests.get(f"{cloud.api_url}/jobs/{job_id}", headers=mallory, timeout=30).status_code
        == 404
    )

    cloud.control("flush")
    cw = cloud.client("cloudwatch")
    metrics = {
        m["MetricName"]: m["Dimensions"]
        for m in cw.list_metrics(Namespace="Moderation")["Metrics"]
        if m["MetricName"].startswith("Cache")
    }
    assert {"CacheMiss", "CacheHitLocal"} <= set(metrics)
    assert "CacheError" not in metrics
    assert metrics["CacheMiss"] == [{"Name": "service", "Value": "status"}]


def test_down_stops_the_cache_server(tmp_path):
    cloud = start_local_cloud(tmp_path / "c", settings={"cachingEnabled": True})
    state = json.loads((tmp_path / "c" / "state.json").read_text())
    assert cloud.api_url and _port_open(state["cache"])
    stop_local_cloud(tmp_path / "c")
    assert not _port_open(state["cache"])
