"""`analysisOrder: custom-first` on the local cloud, with IAM enforced (each function runs
with its own role, and a call its policy does not allow is refused as AWS refuses it).

The re-claim path: the branch that completed the custom side died before acting, the
dispatch lease ran out, and SQS offers the message again. The dispatcher re-claims the
job, finds the custom side already rejects, records Rekognition as skipped, finalizes,
and stores the verdict for reuse: a PutItem on the verdicts table its role must allow.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from datetime import timedelta

import pytest

from common import jobs
from common.contract import Branch
from common.timeutil import epoch, utcnow
from tests.support.local_cloud import start_local_cloud, stop_local_cloud

pytestmark = pytest.mark.local_cloud

BLOCKLISTED = {"signals": [{"category": "blocklisted", "score": 1.0, "evidence": ["distance 0"]}]}


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("custom-first-cloud")
    client = start_local_cloud(state_dir, settings={"analysisOrder": "custom-first"})
    try:
        yield client
    finally:
        stop_local_cloud(state_dir)


def sqs_event(cloud, body: dict) -> dict:
    """The event Lambda's SQS event source hands the dispatcher for one message."""
    now_ms = str(int(time.time() * 1000))
    text = json.dumps(body)
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "redelivered",
                "body": text,
                "attributes": {
                    "ApproximateReceiveCount": "2",
                    "SentTimestamp": now_ms,
                    "SenderId": "AROAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": now_ms,
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(text.encode()).hexdigest(),  # noqa: S324 - SQS's checksum
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{cloud.region}:123456789012:processing",
                "awsRegion": cloud.region,
            }
        ]
    }


def test_a_reclaimed_job_the_custom_side_rejects_is_finalized_and_its_verdict_stored(cloud):
    ddb, out = cloud.client("dynamodb"), cloud.outputs
    table, job_id = out["jobs_table"], str(uuid.uuid4())
    sha = hashlib.sha256(job_id.encode()).hexdigest()
    now = utcnow()
    # Claimed a minute ago (lease long over), the custom side reported a blocklist match,
    # and the branch that completed it died before it could act on it.
    item = jobs.new_job(
        job_id=job_id,
        user_id="iam-custom-first",
        image_key=f"uploads/{job_id}/original",
        content_type="image/png",
        size_bytes=10,
        now=now - timedelta(minutes=1),
        retention_days=1,
    )
    item.update(
        status="analyzing",
        attempts=1,
        dispatch_lease=epoch(now) - 30,
        branches=[str(Branch.REKOGNITION), str(Branch.CUSTOM)],
        custom_result=BLOCKLISTED,
    )
    assert jobs.create_job(ddb, table, item) is None

    result = cloud.control(
        "invoke",
        {
            "function": "dispatcher",
            "event": sqs_event(cloud, {"job_id": job_id, "content_sha256": sha}),
        },
        timeout=120,
    )

    assert result["ok"], result["error"]
    assert result["payload"] == {"batchItemFailures": []}, "the dispatcher reported a failure"
    job = jobs.get_job(ddb, table, job_id, consistent=True)
    assert job["status"] == "complete" and job["decision"] == "reject"
    assert job["rekognition_result"]["skipped"] is True
    stored = ddb.get_item(
        TableName=out["verdicts_table"],
        Key={"verdict_key": {"S": job["verdict_key"]}},
        ConsistentRead=True,
    ).get("Item")
    assert stored is not None, "the verdict was not stored (the dispatcher's PutItem)"
    assert stored["source_job_id"]["S"] == job_id and stored["decision"]["S"] == "reject"
