"""Accepting an upload: validate, store the image, create the job, queue it.

Order matters for "a rejected request stores nothing": every check that can refuse
the request runs before the first write. If a write fails half-way, what was
written is undone (object deleted, job failed) and the caller gets a 503 to retry.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from common import images, jobs
from common.contract import Status
from common.images import Rejection


@dataclass(frozen=True)
class UploadDeps:
    s3: Any
    ddb: Any
    sqs: Any
    bucket: str
    table: str
    queue_url: str
    max_inline_bytes: int
    max_upload_bytes: int
    presign_expiry: int
    retention_days: int
    # What an animated upload gets (refused under `reject`) and how many frames the
    # analyzers sample (the sampled frames' pixel limit).
    animation: images.AnimationRules = images.AnimationRules()


class Unavailable(RuntimeError):
    """A dependency failed after validation; nothing was left behind. Retry."""


def request_digest(content_type: str, body: bytes) -> str:
    return hashlib.sha256(content_type.encode() + b"\0" + body).hexdigest()


def accepted(job_id: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "status": Status.PENDING,
        "status_url": f"/jobs/{job_id}",
        **(extra or {}),
    }


def content_sha256(data: bytes) -> str:
    """The image's identity for verdict reuse: exactly these bytes."""
    return hashlib.sha256(data).hexdigest()


def enqueue(deps: UploadDeps, job_id: str, sha256: str | None = None) -> None:
    """Queue the job; the content hash rides along so the dispatcher needs no read."""
    message: dict[str, str] = {"job_id": job_id}
    if sha256:
        message["content_sha256"] = sha256
    deps.sqs.send_message(QueueUrl=deps.queue_url, MessageBody=json.dumps(message))


def job_id_for_key(user_id: str, idempotency_key: str | None) -> str:
    """A new random id, or one derived from the caller's Idempotency-Key.

    Deriving it means a client retrying after a crash anywhere in the upload path
    reaches the same job instead of leaving an orphan behind.
    """
    if not idempotency_key:
        return str(uuid.uuid4())
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"moderation:{user_id}:{idempotency_key}"))


def _precondition_failed(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    return error.get("Code") in ("PreconditionFailed", "412") or (
        exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 412
    )


def _reused(
    message: str = "this Idempotency-Key was used with a different request body",
) -> Rejection:
    return Rejection(422, "idempotency_key_reused", message)


def accept_inline(
    deps: UploadDeps,
    user_id: str,
    content_type: str,
    data: bytes,
    now: datetime,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Validate and accept an image sent as the request body. Raises Rejection.

    With an Idempotency-Key every step is safe to repeat: the object is written only
    if absent (S3 conditional write), the job only if absent (DynamoDB conditional
    put returning the existing item), and re-queueing a pending job is harmless
    because the dispatcher's claim makes a duplicate message a no-op.
    """
    info = images.inspect(data, content_type, deps.max_inline_bytes, deps.animation)
    digest = request_digest(info.content_type, data)
    job_id = job_id_for_key(user_id, idempotency_key)
    key = f"uploads/{job_id}/original"
    wrote_object = True
    try:
        deps.s3.put_object(
            Bucket=deps.bucket,
            Key=key,
            Body=data,
            ContentType=info.content_type,
            Metadata={"job-id": job_id, "user-id": user_id, "request-digest": digest},
            IfNoneMatch="*",
        )
    except ClientError as exc:
        if not (idempotency_key and _precondition_failed(exc)):
            raise
        wrote_object = False  # a retry: the first attempt stored it
        head = deps.s3.head_object(Bucket=deps.bucket, Key=key)
        # Metadata names are HTTP headers: compare them case-insensitively.
        metadata = {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}
        if metadata.get("request-digest") != digest:
            raise _reused() from exc
    job = jobs.new_job(
        job_id=job_id,
        user_id=user_id,
        image_key=key,
        content_type=info.content_type,
        size_bytes=info.size_bytes,
        now=now,
        retention_days=deps.retention_days,
        content_sha256=content_sha256(data),
    )
    job["request_digest"] = digest
    created = False
    try:
        existing = jobs.create_job(deps.ddb, deps.table, job)
        created = existing is None
        if existing is not None:
            if existing.get("user_id") != user_id or existing.get("request_digest") != digest:
                if wrote_object:
                    deps.s3.delete_object(Bucket=deps.bucket, Key=key)
                raise _reused()
            if existing.get("status") != Status.PENDING:
                return accepted(job_id)
        enqueue(deps, job_id, job["content_sha256"])
    except Rejection:
        raise
    except Exception as exc:
        if not idempotency_key:
            # Nobody can retry into this job: undo it rather than leave an orphan.
            _undo(deps, key, job_id if created else None, now, f"could not be queued: {exc}")
        raise Unavailable(str(exc)) from exc
    return accepted(job_id)


def _undo(deps: UploadDeps, key: str, job_id: str | None, now: datetime, reason: str) -> None:
    deps.s3.delete_object(Bucket=deps.bucket, Key=key)
    if job_id:
        jobs.fail_job(deps.ddb, deps.table, job_id, f"upload {reason}", now)


def parse_presign_request(data: bytes) -> tuple[str, int]:
    try:
        req = json.loads(data or b"null")
    except ValueError as exc:
        raise Rejection(400, "invalid_json", f"the body is not valid JSON: {exc}") from exc
    if not isinstance(req, dict):
        raise Rejection(400, "invalid_request", 'send {"content_type": ..., "size_bytes": ...}')
    content_type = images.normalize_type(req.get("content_type"))
    size = req.get("size_bytes")
    if isinstance(size, bool) or not isinstance(size, int):
        raise Rejection(400, "invalid_request", "size_bytes must be an integer")
    return content_type, size


def presign(
    deps: UploadDeps, user_id: str, data: bytes, now: datetime, idempotency_key: str | None = None
) -> dict[str, Any]:
    """Create a pending job and a presigned PUT for a large image.

    The object lands under `incoming/`; its ObjectCreated event runs `ingest_object`,
    which validates the bytes before the job is queued.
    """
    content_type, size = parse_presign_request(data)
    images.check_declared(content_type, size, deps.max_upload_bytes)
    job_id = job_id_for_key(user_id, idempotency_key)
    key = f"incoming/{job_id}"
    job = jobs.new_job(
        job_id=job_id,
        user_id=user_id,
        image_key=key,
        content_type=content_type,
        size_bytes=size,
        now=now,
        retention_days=deps.retention_days,
    )
    job["request_digest"] = request_digest("application/json", data)
    existing = jobs.create_job(deps.ddb, deps.table, job)
    if existing is not None and (
        existing.get("user_id") != user_id
        or existing.get("request_digest") != job["request_digest"]
    ):
        raise _reused()
    url = deps.s3.generate_presigned_url(
        "put_object",
        Params={"Bucket": deps.bucket, "Key": key, "ContentType": content_type},
        ExpiresIn=deps.presign_expiry,
    )
    return accepted(
        job_id,
        {
            "upload": {
                "url": url,
                "method": "PUT",
                "headers": {"content-type": content_type},
                "expires_in": deps.presign_expiry,
                "max_bytes": size,
            }
        },
    )


def ingest_object(deps: UploadDeps, key: str, now: datetime) -> str:
    """Validate a presigned upload that has arrived; queue its job or fail it."""
    if not key.startswith("incoming/"):
        return "ignored: not an incoming upload"
    job_id = key.split("/", 1)[1]
    head = deps.s3.head_object(Bucket=deps.bucket, Key=key)
    declared = images.normalize_type(head.get("ContentType"))
    size = int(head.get("ContentLength", 0))
    try:
        images.check_declared(declared, size, deps.max_upload_bytes)
        body = deps.s3.get_object(Bucket=deps.bucket, Key=key)["Body"].read()
        images.inspect(body, declared, deps.max_upload_bytes, deps.animation)
    except Rejection as rej:
        deps.s3.delete_object(Bucket=deps.bucket, Key=key)
        won, item = jobs.fail_job(
            deps.ddb, deps.table, job_id, f"upload rejected: {rej.error}: {rej.message}", now
        )
        return f"rejected: {rej.error} (job {'failed' if won else 'unknown or already done'})"
    enqueue(deps, job_id, content_sha256(body))
    return "queued"
