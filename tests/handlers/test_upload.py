"""POST /jobs: the validation matrix, what a rejected request leaves behind, idempotency."""

from __future__ import annotations

import hashlib
import json

import pytest
import requests

from local.tools import fixtures
from tests.support.inprocess import api_event


def upload(stack, body, content_type, headers=None, user="user-1"):
    hdrs = (
        {"content-type": content_type, **(headers or {})} if content_type else dict(headers or {})
    )
    resp = stack.invoke("upload", api_event("POST", "/jobs", user=user, body=body, headers=hdrs))
    return resp["statusCode"], json.loads(resp["body"])


def stored(stack):
    """Everything an upload can leave behind: objects, job items, queued messages."""
    s3, ddb, sqs = stack.client("s3"), stack.client("dynamodb"), stack.client("sqs")
    objects = s3.list_objects_v2(Bucket=stack.exports["upload_bucket"]).get("KeyCount", 0)
    items = ddb.scan(TableName=stack.exports["jobs_table"])["Count"]
    attrs = sqs.get_queue_attributes(
        QueueUrl=stack.exports["processing_queue_url"],
        AttributeNames=["ApproximateNumberOfMessages"],
    )["Attributes"]
    return objects, items, int(attrs["ApproximateNumberOfMessages"])


@pytest.mark.parametrize(
    "content_type,maker",
    [
        ("image/png", lambda: fixtures.png(seed=3)),
        ("image/jpeg", lambda: fixtures.jpeg(seed=3)),
        ("image/webp", lambda: fixtures.webp(seed=3)),
        ("image/PNG; charset=binary", lambda: fixtures.png(seed=4)),
    ],
)
def test_valid_images_are_accepted_stored_and_queued(stack, content_type, maker):
    data = maker()
    status, body = upload(stack, data, content_type)
    assert status == 202, body
    assert body["status"] == "pending"
    assert body["status_url"] == f"/jobs/{body['job_id']}"
    assert stored(stack) == (1, 1, 1)
    item = stack.client("dynamodb").get_item(
        TableName=stack.exports["jobs_table"], Key={"job_id": {"S": body["job_id"]}}
    )["Item"]
    assert item["user_id"]["S"] == "user-1"
    assert item["status"]["S"] == "pending"
    assert item["created_at"]["S"].endswith("Z")
    assert int(item["expires_at"]["N"]) > 0
    msg = stack.client("sqs").receive_message(QueueUrl=stack.exports["processing_queue_url"])
    sha = hashlib.sha256(data).hexdigest()
    assert item["content_sha256"]["S"] == sha
    assert json.loads(msg["Messages"][0]["Body"]) == {
        "job_id": body["job_id"],
        "content_sha256": sha,
    }


def _truncated():
    data = fixtures.png(seed=5)
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    "case,content_type,body,status,error",
    [
        ("empty", "image/png", b"", 400, "empty_body"),
        ("truncated", "image/png", _truncated(), 400, "invalid_image"),
        ("wrong magic", "image/png", b"BM" + b"\0" * 100, 400, "not_an_image"),
        (
            "declared png, is gif",
            "image/png",
            b"GIF89a" + b"\0" * 100,
            400,
            "content_type_mismatch",
        ),
        ("declared jpeg, is png", "image/jpeg", fixtures.png(seed=6), 400, "content_type_mismatch"),
        ("text body", "image/png", b"hello, world" * 10, 400, "not_an_image"),
        ("gif magic, garbage after", "image/gif", b"GIF89a" + b"\0" * 100, 400, "invalid_image"),
        ("unsupported bmp", "image/bmp", b"BM" + b"\0" * 100, 415, "unsupported_media_type"),
        ("no content type", None, fixtures.png(seed=7), 415, "unsupported_media_type"),
        ("pdf", "application/pdf", b"%PDF-1.4", 415, "unsupported_media_type"),
        (
            "oversize",
            "image/png",
            b"\x89PNG\r\n\x1a\n" + b"\0" * (4 * 1024 * 1024 + 1),
            413,
            "payload_too_large",
        ),
        (
            "png magic, garbage after",
            "image/png",
            b"\x89PNG\r\n\x1a\n" + b"\x01" * 200,
            400,
            "invalid_image",
        ),
    ],
)
def test_rejected_uploads_answer_json_errors_and_store_nothing(
    stack, case, content_type, body, status, error
):
    got_status, got = upload(stack, body, content_type)
    assert (got_status, got["error"]) == (status, error), case
    assert got["message"]
    assert stored(stack) == (0, 0, 0), f"{case} left something behind"


def test_anonymous_request_is_refused(stack):
    status, body = upload(stack, fixtures.png(), "image/png", user=None)
    assert status == 401 and body["error"] == "unauthorized"
    assert stored(stack) == (0, 0, 0)


def test_user_comes_from_the_token_not_the_body(stack):
    status, body = upload(stack, fixtures.png(seed=9), "image/png", user="alice")
    assert status == 202
    item = stack.client("dynamodb").get_item(
        TableName=stack.exports["jobs_table"], Key={"job_id": {"S": body["job_id"]}}
    )["Item"]
    assert item["user_id"]["S"] == "alice"


def test_idempotency_key_returns_the_same_job(stack):
    data = fixtures.png(seed=11)
    first = upload(stack, data, "image/png", {"Idempotency-Key": "abc-1"})
    again = upload(stack, data, "image/png", {"Idempotency-Key": "abc-1"})
    assert first[0] == again[0] == 202
    assert first[1]["job_id"] == again[1]["job_id"]
    assert stored(stack) == (1, 1, 1)


def test_idempotency_key_is_scoped_to_the_user(stack):
    data = fixtures.png(seed=12)
    a = upload(stack, data, "image/png", {"Idempotency-Key": "same"}, user="alice")
    b = upload(stack, data, "image/png", {"Idempotency-Key": "same"}, user="bob")
    assert a[1]["job_id"] != b[1]["job_id"]


def test_idempotency_key_reused_with_other_bytes_is_refused(stack):
    upload(stack, fixtures.png(seed=13), "image/png", {"Idempotency-Key": "k"})
    status, body = upload(stack, fixtures.png(seed=14), "image/png", {"Idempotency-Key": "k"})
    assert status == 422 and body["error"] == "idempotency_key_reused"
    assert stored(stack) == (1, 1, 1)


def test_presigned_upload_creates_a_pending_job_and_queues_after_validation(stack):
    data = fixtures.jpeg(seed=2)
    req = json.dumps({"content_type": "image/jpeg", "size_bytes": len(data)}).encode()
    status, body = upload(stack, req, "application/json")
    assert status == 202, body
    assert body["upload"]["method"] == "PUT"
    assert body["upload"]["headers"] == {
        "content-type": "image/jpeg",
        "content-length": str(len(data)),
        "if-none-match": "*",
    }
    job_id = body["job_id"]
    assert stored(stack)[1:] == (1, 0)  # job exists, nothing queued before the bytes arrive

    headers = {k: v for k, v in body["upload"]["headers"].items() if k != "content-length"}
    assert requests.put(body["upload"]["url"], data=data, headers=headers).status_code == 200
    event = {"Records": [{"s3": {"object": {"key": f"incoming/{job_id}"}}}]}
    assert stack.invoke("upload", event) == {"processed": 1}
    # The validated copy under uploads/, and the incoming object until it expires.
    assert stored(stack) == (2, 1, 1)


def test_presigned_upload_with_bad_bytes_fails_the_job_and_deletes_the_object(stack):
    req = json.dumps({"content_type": "image/png", "size_bytes": 1000}).encode()
    _, body = upload(stack, req, "application/json")
    s3, bucket = stack.client("s3"), stack.exports["upload_bucket"]
    s3.put_object(
        Bucket=bucket,
        Key=f"incoming/{body['job_id']}",
        Body=b"not an image at all",
        ContentType="image/png",
    )
    stack.invoke("upload", {"Records": [{"s3": {"object": {"key": f"incoming/{body['job_id']}"}}}]})
    item = stack.client("dynamodb").get_item(
        TableName=stack.exports["jobs_table"], Key={"job_id": {"S": body["job_id"]}}
    )["Item"]
    assert item["status"]["S"] == "failed"
    assert "not_an_image" in item["reasons"]["L"][0]["S"]
    assert stored(stack) == (0, 1, 0)


@pytest.mark.parametrize(
    "req,status,error",
    [
        ({"content_type": "image/bmp", "size_bytes": 10}, 415, "unsupported_media_type"),
        ({"content_type": "image/png", "size_bytes": 16 * 1024 * 1024}, 413, "payload_too_large"),
        ({"content_type": "image/png", "size_bytes": "10"}, 400, "invalid_request"),
        ({"content_type": "image/png", "size_bytes": 0}, 400, "empty_body"),
        ([1, 2], 400, "invalid_request"),
    ],
)
def test_bad_presign_requests_store_nothing(stack, req, status, error):
    got_status, body = upload(stack, json.dumps(req).encode(), "application/json")
    assert (got_status, body["error"]) == (status, error)
    assert stored(stack) == (0, 0, 0)


def test_invalid_json_presign_request(stack):
    status, body = upload(stack, b"{nope", "application/json")
    assert (status, body["error"]) == (400, "invalid_json")


def override(service, **methods):
    """A patch for a handler module: `service`'s client with some methods replaced.

    Each replacement gets the real client as its first argument.
    """

    def patch(module):
        import common.clients

        real = common.clients.client

        class Overridden:
            def __getattr__(self, name):
                if name in methods:
                    return lambda **kw: methods[name](real(service), **kw)
                return getattr(real(service), name)

        module.client = lambda svc: Overridden() if svc == service else real(svc)

    return patch


def _refuse(real, **kw):
    raise RuntimeError("SQS unavailable")


# An upload handler whose SQS refuses every message.
broken_queue = override("sqs", send_message=_refuse)


def test_retry_after_a_failure_mid_upload_reaches_the_same_job(stack):
    """A crash between creating the job and queueing it must not leave an orphan."""
    data = fixtures.png(seed=21)

    headers = {"content-type": "image/png", "Idempotency-Key": "crash-1"}
    first = stack.invoke(
        "upload", api_event("POST", "/jobs", body=data, headers=headers), patch=broken_queue
    )
    assert first["statusCode"] == 503
    objects, items, queued = stored(stack)
    assert (objects, items, queued) == (1, 1, 0), "kept for the retry, not undone"

    status, body = upload(stack, data, "image/png", {"Idempotency-Key": "crash-1"})
    assert status == 202
    assert stored(stack) == (1, 1, 1)
    again = upload(stack, data, "image/png", {"Idempotency-Key": "crash-1"})
    assert again[1]["job_id"] == body["job_id"]


def test_key_reused_with_other_bytes_never_overwrites_the_stored_image(stack):
    upload(stack, fixtures.png(seed=22), "image/png", {"Idempotency-Key": "k2"})
    # The idempotency record expired: only the job itself remembers the request.
    ddb = stack.client("dynamodb")
    table = stack.exports["idempotency_table"]
    for item in ddb.scan(TableName=table)["Items"]:
        ddb.delete_item(TableName=table, Key={"id": item["id"]})
    s3, bucket = stack.client("s3"), stack.exports["upload_bucket"]
    (obj,) = s3.list_objects_v2(Bucket=bucket)["Contents"]
    before = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
    status, body = upload(stack, fixtures.png(seed=23), "image/png", {"Idempotency-Key": "k2"})
    assert (status, body["error"]) == (422, "idempotency_key_reused")
    assert s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read() == before
    assert stored(stack) == (1, 1, 1)


def test_unkeyed_upload_that_cannot_be_queued_is_undone(stack):
    resp = stack.invoke(
        "upload",
        api_event(
            "POST", "/jobs", body=fixtures.png(seed=24), headers={"content-type": "image/png"}
        ),
        patch=broken_queue,
    )
    assert resp["statusCode"] == 503 and json.loads(resp["body"])["error"] == "unavailable"
    objects, items, queued = stored(stack)
    assert (objects, queued) == (0, 0)
    item = stack.client("dynamodb").scan(TableName=stack.exports["jobs_table"])["Items"][0]
    assert item["status"]["S"] == "failed"


def test_retry_after_a_failure_between_storing_the_image_and_creating_the_job(stack):
    """The image is stored, the job is not: a keyed retry must still reach one job."""
    data = fixtures.png(seed=25)

    def put_item(real, **kw):
        if kw["TableName"] == stack.exports["jobs_table"]:
            raise RuntimeError("DynamoDB unavailable")
        return real.put_item(**kw)

    def head_object(real, **kw):
        """S3 over HTTP may hand metadata names back in any case (moto: Title-Case)."""
        head = real.head_object(**kw)
        head["Metadata"] = {k.title(): v for k, v in head.get("Metadata", {}).items()}
        return head

    failing_table = override("dynamodb", put_item=put_item)
    title_cased_metadata = override("s3", head_object=head_object)

    headers = {"content-type": "image/png", "Idempotency-Key": "crash-2"}
    first = stack.invoke(
        "upload", api_event("POST", "/jobs", body=data, headers=headers), patch=failing_table
    )
    assert first["statusCode"] == 503
    assert stored(stack) == (1, 0, 0)
    retry = stack.invoke(
        "upload", api_event("POST", "/jobs", body=data, headers=headers), patch=title_cased_metadata
    )
    status, body = retry["statusCode"], json.loads(retry["body"])
    assert status == 202, body
    assert stored(stack) == (1, 1, 1)


# Rekognition's side limits (80 px to 10,000 px) are refused at upload, so no branch ever
# sees an image one of them cannot analyze.
SIDE_LIMITS = [
    ("too small", (79, 200), "image_too_small", "at least 80 px"),
    ("too small, the other side", (300, 60), "image_too_small", "at least 80 px"),
    ("too large", (10_001, 90), "image_too_large", "exceed 10000 px"),
]


def test_images_rekognition_cannot_read_are_refused_inline(stack):
    for fmt in ("png", "jpeg", "webp"):
        for case, size, error, limit in SIDE_LIMITS:
            body = fixtures.encode(fixtures.texture(*size, seed=1), fmt.upper())
            status, got = upload(stack, body, f"image/{fmt}")
            assert (status, got["error"]) == (400, error), (fmt, case)
            assert limit in got["message"] and f"{size[0]}x{size[1]}" in got["message"]
            assert stored(stack) == (0, 0, 0), (fmt, case)
    for size in ((80, 80), (10_000, 80)):  # the limits themselves are accepted
        status, got = upload(stack, fixtures.encode(fixtures.texture(*size, 2), "PNG"), "image/png")
        assert status == 202, got


def test_presigned_images_rekognition_cannot_read_fail_the_job(stack):
    for n, (case, size, error, limit) in enumerate(SIDE_LIMITS, start=1):
        data = fixtures.encode(fixtures.texture(*size, seed=1), "PNG")
        req = json.dumps({"content_type": "image/png", "size_bytes": len(data)}).encode()
        _, body = upload(stack, req, "application/json")
        key = f"incoming/{body['job_id']}"
        stack.client("s3").put_object(
            Bucket=stack.exports["upload_bucket"], Key=key, Body=data, ContentType="image/png"
        )
        stack.invoke("upload", {"Records": [{"s3": {"object": {"key": key}}}]})
        item = stack.client("dynamodb").get_item(
            TableName=stack.exports["jobs_table"], Key={"job_id": {"S": body["job_id"]}}
        )["Item"]
        assert item["status"]["S"] == "failed", case
        reason = item["reasons"]["L"][0]["S"]
        assert error in reason and limit in reason, case
        assert stored(stack) == (0, n, 0), "the object is deleted and nothing is queued"
