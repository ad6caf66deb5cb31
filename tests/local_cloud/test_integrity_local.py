"""The decided bytes are the kept bytes, through the real API, S3 endpoint and functions:
a presigned upload writes once and only at its declared size, and a retry of a decided
job with the same Idempotency-Key gets no upload URL."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.local_cloud.test_local_cloud import job, wait_for

pytestmark = pytest.mark.local_cloud


def same_length(a: bytes, b: bytes) -> tuple[bytes, bytes]:
    """JPEGs padded after their end marker to one length (the URL signs the length)."""
    n = max(len(a), len(b))
    return a + b"\0" * (n - len(a)), b + b"\0" * (n - len(b))


def presign(cloud, size: int, key: str, user: str) -> requests.Response:
    return requests.post(
        f"{cloud.api_url}/jobs",
        json={"content_type": "image/jpeg", "size_bytes": size},
        headers={"Authorization": f"Bearer {cloud.token(user)}", "Idempotency-Key": key},
        timeout=30,
    )


def put(upload: dict, data: bytes) -> requests.Response:
    headers = {k: v for k, v in upload["headers"].items() if k != "content-length"}
    return requests.put(upload["url"], data=data, headers=headers, timeout=30)


def test_a_presigned_upload_keeps_the_decided_bytes(local_cloud):
    from local.tools.safe_images import encoded, grace_hopper, text_image

    portrait = grace_hopper()
    own = portrait.crop((0, 0, portrait.width - 7, portrait.height - 5))  # bytes of its own
    safe, other = same_length(
        encoded(own, "JPEG"), encoded(text_image(["visit http://spam.example"]), "JPEG")
    )
    user, key = "integrity-user", f"integrity-{uuid.uuid4()}"
    first = presign(local_cloud, len(safe), key, user)
    assert first.status_code == 202, first.text
    body = first.json()
    upload, job_id = body["upload"], body["job_id"]

    oversized = put(upload, safe + b"\0" * 1024)
    assert oversized.status_code == 403, "S3 refuses a body of another size before it lands"
    assert put(upload, safe).status_code == 200
    decided = wait_for(
        lambda: (item := job(local_cloud, job_id))["status"] in ("complete", "failed") and item,
        120,
    )
    assert (decided["status"], decided.get("decision")) == ("complete", "approve"), decided.get(
        "reasons"
    )

    assert put(upload, other).status_code == 412, "the URL writes once"
    s3, bucket = local_cloud.client("s3"), local_cloud.outputs["upload_bucket"]
    assert decided["image_key"] == f"uploads/{job_id}/original"
    kept = s3.get_object(Bucket=bucket, Key=decided["image_key"])
    assert kept["Body"].read() == safe and kept["ETag"] == decided["image_etag"]

    retry = presign(local_cloud, len(safe), key, user)
    assert retry.status_code == 202, retry.text
    assert retry.json() == {"job_id": job_id, "status": "complete", "status_url": f"/jobs/{job_id}"}
