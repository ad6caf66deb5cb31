"""End to end on the local cloud: jobs flow, the exporter writes them, the report counts them.

Uploads go through the API; a stranded job is failed by the sweeper; the exporter
(an ordinary function on the stream mapping) writes both kinds to the local results
bucket; `local/report.py` runs the Spark script over them and uploads the summary.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from common import export, jobs
from local.tools.load import run_load
from local.tools.report import run_report
from tests.support.local_cloud import LOCAL_TEST_SETTINGS, start_local_cloud, stop_local_cloud

pytestmark = [
    pytest.mark.local_cloud,
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("analytics-cloud")
    client = start_local_cloud(
        state_dir,
        settings={"analyticsEnabled": True, "analytics": {"exportBatchingWindowSeconds": 1}},
    )
    try:
        yield client
    finally:
        stop_local_cloud(state_dir)


def exported(cloud) -> list[dict]:
    s3, bucket = cloud.client("s3"), cloud.outputs["results_bucket"]
    rows = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="jobs/"):
        for obj in page.get("Contents", []):
            rows += export.decode(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
    return rows


def strand_a_job(cloud) -> str:
    """A pending job past the deadline, as if its queue message was lost: the sweeper fails it."""
    job_id = "stranded-analytics-job"
    old = datetime.now(UTC) - timedelta(minutes=5)
    jobs.create_job(
        cloud.client("dynamodb"),
        cloud.outputs["jobs_table"],
        jobs.new_job(
            job_id=job_id,
            user_id="stranded-user",
            image_key=f"uploads/{job_id}",
            content_type="image/png",
            size_bytes=1,
            now=old,
            retention_days=1,
        ),
    )
    return job_id


def test_jobs_flow_to_the_exports_and_the_report_counts_them(cloud):
    stranded = strand_a_job(cloud)
    summary, details = run_load(
        cloud, 24, rate=12, concurrency=4, users=3, timeout=240, progress=False
    )
    assert summary.unfinished == 0 and summary.accepted == 24
    notes = details["notifications"]
    expected = {job_id: notes[job_id][0][1] for job_id in details["job_ids"]}

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        rows = exported(cloud)
        ids = {r["job_id"] for r in rows}
        if set(expected) <= ids and stranded in ids:
            break
        time.sleep(2)
    assert set(expected) <= ids, "every finished job reaches the results bucket"
    assert stranded in ids
    lag = cloud.control("status")["stream_lag"]
    assert any(fn.endswith("-exporter") for fn in lag), "the exporter's stream mapping runs locally"

    result = run_report(cloud, days=2)
    report = result["summary"]
    assert report["rows"] == len(expected) + 1
    assert result["objects_read"] >= 1

    want = Counter((b["status"], b.get("decision")) for b in expected.values())
    want[("failed", None)] += 1
    got = Counter()
    for entry in report["daily"]:
        got[(entry["status"], entry["decision"])] += entry["jobs"]
    # this cloud ran nothing else, so the counts are exact
    assert got == want
    users = {u["user_id"]: u for u in report["users"]}
    per_user = Counter(b["user_id"] for b in expected.values())
    for user, n in per_user.items():
        assert users[user]["jobs"] == n
    deadline = LOCAL_TEST_SETTINGS["jobDeadlineSeconds"]
    assert {"reason": f"deadline exceeded: still pending after {deadline} s", "count": 1} in report[
        "failure_reasons"
    ]

    # the summary is in the local bucket where the dashboard reads it
    s3, bucket = cloud.client("s3"), cloud.outputs["results_bucket"]
    body = s3.get_object(Bucket=bucket, Key=result["summary_key"])["Body"].read()
    assert json.loads(body) == report
    today = datetime.now(UTC).date().isoformat()
    assert result["summary_key"] == f"reports/dt={today}/summary.json"
