"""The bytes that were decided are the bytes that are kept and published.

Each test replays what an uploader tried: a second PUT to the upload URL after the
decision, bytes swapped between the upload check and the analyzers, a PUT bigger than
declared, and a retry with the same Idempotency-Key once the job was decided.
"""

from __future__ import annotations

import hashlib
import json

import pytest
import requests

from common import analysis, branch_report, dispatch, notify, originals, verdicts
from common.contract import Branch, Output
from common.decision import Rules
from common.timeutil import utcnow
from local.tools import fixtures
from tests.support.helpers import RecordingLambda, job
from tests.support.inprocess import api_event

RULES = Rules(min_confidence=50, reject_threshold=90, unsafe_categories=("Explicit",))
ANALYZERS = {"rekognition": "rek-fn", "custom": "custom-fn", "text": "text-fn"}
CLEAN = {
    Branch.REKOGNITION: {"labels": [], "model_version": "7.0"},
    Branch.CUSTOM: {"signals": [{"category": "nsfw", "score": 0.01, "evidence": []}]},
    Branch.TEXT: {"signals": [], "text": ""},
}


def presign(stack, size: int, content_type="image/png", key: str | None = None, user="user-1"):
    headers = {"content-type": "application/json", **({"Idempotency-Key": key} if key else {})}
    body = json.dumps({"content_type": content_type, "size_bytes": size}).encode()
    resp = stack.invoke("upload", api_event("POST", "/jobs", user=user, body=body, headers=headers))
    assert resp["statusCode"] == 202, resp
    return json.loads(resp["body"])


def put(upload: dict, data: bytes, drop: tuple[str, ...] = ()) -> requests.Response:
    """PUT as a client does: the headers the API listed (requests sets Content-Length)."""
    headers = {
        k: v for k, v in upload["headers"].items() if k != "content-length" and k not in drop
    }
    return requests.put(upload["url"], data=data, headers=headers, timeout=30)


def ingest(stack, job_id: str) -> None:
    event = {"Records": [{"s3": {"object": {"key": f"incoming/{job_id}"}}}]}
    assert stack.invoke("upload", event) == {"processed": 1}


def uploaded(stack, data: bytes, content_type="image/png") -> str:
    """A presigned upload of `data`, arrived and ingested: the job is queued."""
    body = presign(stack, len(data), content_type)
    assert put(body["upload"], data).status_code == 200
    ingest(stack, body["job_id"])
    return body["job_id"]


def reuse(stack) -> verdicts.ReuseConfig:
    return verdicts.ReuseConfig(stack.exports[Output.VERDICTS_TABLE], "rules-1", 30)


def dispatched(stack, job_id: str) -> dict:
    """Claim the job as the dispatcher does; the payload each analyzer is invoked with."""
    lam = RecordingLambda()
    item = job(stack, job_id)
    dispatch.dispatch(
        stack.client("dynamodb"),
        lam,
        stack.exports[Output.JOBS_TABLE],
        dispatch.Message(job_id, item["content_sha256"]),
        dispatch.Plan(ANALYZERS, 30, reuse=reuse(stack), rules=RULES),
        utcnow(),
    )
    assert len(lam.calls) == 3
    return lam.calls[0][1]


def read_as_analyzer(stack, payload: dict) -> bytes:
    """What an analyzer handler reads, with its declared environment."""
    with stack.environment("custom_analyzer"):
        return branch_report.read_image(payload)


def decide(stack, job_id: str) -> None:
    """Every branch reads the image as the handlers do, then reports a clean result."""
    payload = dispatched(stack, job_id)
    for branch, result in CLEAN.items():
        read_as_analyzer(stack, payload)
        analysis.complete_branch(
            stack.client("dynamodb"),
            stack.exports[Output.JOBS_TABLE],
            job_id,
            branch,
            result,
            RULES,
            utcnow,
            completion=analysis.Completion(reuse=reuse(stack)),
        )


def bytes_at(stack, key: str, bucket: str | None = None) -> bytes:
    bucket = bucket or stack.exports["upload_bucket"]
    return stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def content_bucket(stack) -> str:
    stack.client("s3").create_bucket(Bucket="content-test")
    return "content-test"


def test_the_validated_bytes_are_kept_under_an_immutable_key_and_the_job_records_them(stack):
    safe = fixtures.png(seed=21)
    job_id = uploaded(stack, safe)
    item = job(stack, job_id)
    assert item["image_key"] == f"uploads/{job_id}/original"
    assert bytes_at(stack, item["image_key"]) == safe
    head = stack.client("s3").head_object(
        Bucket=stack.exports["upload_bucket"], Key=item["image_key"]
    )
    assert item["image_etag"] == head["ETag"]
    assert item["content_sha256"] == hashlib.sha256(safe).hexdigest()
    payload = dispatched(stack, job_id)
    assert (payload["image_key"], payload["image_etag"]) == (item["image_key"], head["ETag"])
    assert payload["content_sha256"] == item["content_sha256"]


def same_length(a: bytes, b: bytes) -> tuple[bytes, bytes]:
    """Two PNGs padded after IEND to one length: the URL signs the length, so a swap
    that S3 could accept has the declared length."""
    n = max(len(a), len(b))
    return a + b"\0" * (n - len(a)), b + b"\0" * (n - len(b))


def test_a_second_put_after_the_decision_is_refused_and_the_decided_bytes_are_published(stack):
    safe, other = same_length(fixtures.png(seed=22), fixtures.png(seed=23))
    body = presign(stack, len(safe))
    job_id = body["job_id"]
    assert put(body["upload"], safe).status_code == 200
    ingest(stack, job_id)
    decide(stack, job_id)
    decided = job(stack, job_id)
    assert (decided["status"], decided["decision"]) == ("complete", "approve")

    swap = put(body["upload"], other)  # the same URL, the same length
    assert swap.status_code == 412, swap.text
    ingest(stack, job_id)  # a redelivered event changes nothing
    assert bytes_at(stack, f"incoming/{job_id}") == safe
    assert bytes_at(stack, decided["image_key"]) == safe
    assert job(stack, job_id)["image_etag"] == decided["image_etag"]

    bucket = content_bucket(stack)
    assert notify.publish_content(
        stack.client("s3"), stack.exports["upload_bucket"], bucket, job(stack, job_id)
    )
    assert bytes_at(stack, f"content/{job_id}", bucket) == safe


def test_a_changed_original_is_never_published(stack):
    job_id = uploaded(stack, fixtures.png(seed=24))
    decide(stack, job_id)
    # Whatever bypassed the write-once rules, the publish copy names the decided ETag.
    stack.client("s3").put_object(
        Bucket=stack.exports["upload_bucket"],
        Key=f"uploads/{job_id}/original",
        Body=fixtures.png(seed=25),
    )
    bucket = content_bucket(stack)
    with pytest.raises(originals.ImageChanged):
        notify.publish_content(
            stack.client("s3"), stack.exports["upload_bucket"], bucket, job(stack, job_id)
        )
    assert stack.client("s3").list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


@pytest.mark.parametrize(
    "content_type,maker", [("image/png", fixtures.png), ("image/webp", fixtures.webp)]
)
def test_bytes_swapped_before_analysis_fail_the_job_and_store_no_verdict(
    stack, content_type, maker
):
    safe, other = maker(seed=26), maker(seed=27)
    job_id = uploaded(stack, safe, content_type)
    payload = dispatched(stack, job_id)
    stack.client("s3").put_object(
        Bucket=stack.exports["upload_bucket"], Key=payload["image_key"], Body=other
    )
    with pytest.raises(originals.ImageChanged):
        read_as_analyzer(stack, payload)
    # The Rekognition branch: S3Object path (PNG) and converted bytes (WebP) alike.
    out = stack.invoke("rekognition_analyzer", payload)
    assert out["outcome"] == "failed: the stored image changed"
    failed = job(stack, job_id)
    assert failed["status"] == "failed"
    assert "changed after it was validated" in failed["reasons"][0]
    assert "decision" not in failed
    sha = hashlib.sha256(safe).hexdigest()
    found = verdicts.lookup(
        stack.client("dynamodb"), stack.exports[Output.VERDICTS_TABLE], sha, "rules-1", utcnow()
    )
    assert found is None, "nothing decided, so no verdict for the validated bytes' hash"


def test_bytes_that_do_not_hash_to_the_recorded_sha_are_refused(stack):
    job_id = uploaded(stack, fixtures.png(seed=28))
    payload = {**dispatched(stack, job_id), "content_sha256": "0" * 64}
    with pytest.raises(originals.ImageChanged, match="content_sha256"):
        read_as_analyzer(stack, payload)


def test_a_put_of_another_size_or_without_the_condition_is_refused_before_it_lands(stack):
    data = fixtures.png(seed=29)
    body = presign(stack, len(data))
    bigger = data + b"\0" * (1024 * 1024)
    assert put(body["upload"], bigger).status_code == 403
    assert put(body["upload"], data[:-1]).status_code == 403
    assert put(body["upload"], data, drop=("if-none-match",)).status_code == 403
    listed = stack.client("s3").list_objects_v2(Bucket=stack.exports["upload_bucket"])
    assert listed.get("KeyCount", 0) == 0, "nothing landed"
    assert job(stack, body["job_id"])["status"] == "pending"
    assert put(body["upload"], data).status_code == 200


def test_a_retry_with_the_idempotency_key_gets_an_upload_url_only_while_the_job_waits(stack):
    data = fixtures.png(seed=30)
    first = presign(stack, len(data), key="photo-1")
    again = presign(stack, len(data), key="photo-1")
    assert again["job_id"] == first["job_id"] and "upload" in again  # still waiting

    assert put(first["upload"], data).status_code == 200
    ingest(stack, first["job_id"])
    queued = presign(stack, len(data), key="photo-1")
    assert queued == {
        "job_id": first["job_id"],
        "status": "pending",
        "status_url": f"/jobs/{first['job_id']}",
    }, "the bytes are in: no upload URL"

    decide(stack, first["job_id"])
    retry = presign(stack, len(data), key="photo-1")
    assert retry == {**queued, "status": "complete"}
    assert "upload" not in retry


def test_a_refused_upload_fails_only_a_job_still_waiting_for_its_bytes(stack):
    job_id = uploaded(stack, fixtures.png(seed=31))
    bucket = stack.exports["upload_bucket"]
    # The incoming object is gone (say, expired) and a bad object arrives at the key.
    stack.client("s3").delete_object(Bucket=bucket, Key=f"incoming/{job_id}")
    stack.client("s3").put_object(
        Bucket=bucket, Key=f"incoming/{job_id}", Body=b"junk", ContentType="image/png"
    )
    ingest(stack, job_id)
    item = job(stack, job_id)
    assert item["status"] == "pending" and item["image_key"] == f"uploads/{job_id}/original"
