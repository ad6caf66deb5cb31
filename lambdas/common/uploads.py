"""Accepting an upload: validate, store the image, create the job, queue it.

Order matters for "a rejected request stores nothing": every check that can refuse
the request runs before the first write. If a write fails half-way, what was
written is undone (object deleted, job failed) and the caller gets a 503 to retry.

The bytes that are validated are the bytes that are kept, analyzed and published: they
are stored once under `uploads/<job id>/original` (`If-None-Match: *`) and the job
records their ETag (common/originals.py). A presigned upload is a write-once PUT of
exactly the declared size (both signed into the URL) to `incoming/<job id>`; its ingest
copies the object it validated (`CopySourceIfMatch`) to the immutable key.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from common import images, jobs, originals
from common.contract import JobAttr, Status
from common.images import Rejection
from common.originals import incoming_key, original_key, precondition_failed


@dataclass(frozen=True)
class UploadDeps:
    s3: Any
    # Signs the presigned PUT: an S3 client that signs with SigV4 (`clients.s3_presigner`).
    presigner: Any
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


def accepted(
    job_id: str, extra: dict[str, Any] | None = None, status: str = Status.PENDING
) -> dict[str, Any]:
    return {
        JobAttr.JOB_ID: job_id,
        JobAttr.STATUS: status,
        "status_url": f"/jobs/{job_id}",
        **(extra or {}),
    }


def content_sha256(data: bytes) -> str:
    """The image's identity for verdict reuse: exactly these bytes."""
    return hashlib.sha256(data).hexdigest()


def enqueue(deps: UploadDeps, job_id: str, sha256: str | None = None) -> None:
    """Queue the job; the content hash rides along so the dispatcher needs no read."""
    message: dict[str, str] = {JobAttr.JOB_ID: job_id}
    if sha256:
        message[JobAttr.CONTENT_SHA256] = sha256
    deps.sqs.send_message(QueueUrl=deps.queue_url, MessageBody=json.dumps(message))


def job_id_for_key(user_id: str, idempotency_key: str | None) -> str:
    """A new random id, or one derived from the caller's Idempotency-Key.

    Deriving it means a client retrying after a crash anywhere in the upload path
    reaches the same job instead of leaving an orphan behind.
    """
    if not idempotency_key:
        return str(uuid.uuid4())
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"moderation:{user_id}:{idempotency_key}"))


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
    key = original_key(job_id)
    wrote_object = True
    try:
        put = deps.s3.put_object(
            Bucket=deps.bucket,
            Key=key,
            Body=data,
            ContentType=info.content_type,
            Metadata={"job-id": job_id, "user-id": user_id, "request-digest": digest},
            IfNoneMatch="*",
        )
    except ClientError as exc:
        if not (idempotency_key and precondition_failed(exc)):
            raise
        wrote_object = False  # a retry: the first attempt stored it
        head = deps.s3.head_object(Bucket=deps.bucket, Key=key)
        # Metadata names are HTTP headers: compare them case-insensitively.
        metadata = {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}
        if metadata.get("request-digest") != digest:
            raise _reused() from exc
        etag = str(head["ETag"])
    else:
        etag = str(put["ETag"])
    job = jobs.new_job(
        job_id=job_id,
        user_id=user_id,
        image_key=key,
        content_type=info.content_type,
        size_bytes=info.size_bytes,
        now=now,
        retention_days=deps.retention_days,
        content_sha256=content_sha256(data),
        image_etag=etag,
    )
    job[JobAttr.REQUEST_DIGEST] = digest
    created = False
    try:
        existing = jobs.create_job(deps.ddb, deps.table, job)
        created = existing is None
        if existing is not None:
            if (
                existing.get(JobAttr.USER_ID) != user_id
                or existing.get(JobAttr.REQUEST_DIGEST) != digest
            ):
                if wrote_object:
                    deps.s3.delete_object(Bucket=deps.bucket, Key=key)
                raise _reused()
            if existing.get(JobAttr.STATUS) != Status.PENDING:
                return accepted(job_id)
        enqueue(deps, job_id, job[JobAttr.CONTENT_SHA256])
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
    content_type = images.normalize_type(req.get(JobAttr.CONTENT_TYPE))
    size = req.get(JobAttr.SIZE_BYTES)
    if isinstance(size, bool) or not isinstance(size, int):
        raise Rejection(400, "invalid_request", "size_bytes must be an integer")
    return content_type, size


def awaiting_bytes(job: dict[str, Any]) -> bool:
    """Whether a job is waiting for its presigned upload (the only time it gets a URL)."""
    return job.get(JobAttr.STATUS) == Status.PENDING and job.get(JobAttr.IMAGE_KEY) == incoming_key(
        str(job.get(JobAttr.JOB_ID))
    )


def presign(
    deps: UploadDeps, user_id: str, data: bytes, now: datetime, idempotency_key: str | None = None
) -> dict[str, Any]:
    """Create a pending job and a presigned PUT for a large image.

    The URL signs `If-None-Match: *` and the declared `Content-Length`: S3 refuses a
    second PUT to it (412) and a body of any other size (403) before anything lands.
    The object lands under `incoming/`; its ObjectCreated event runs `ingest_object`,
    which validates the bytes before the job is queued. A retry with the same
    Idempotency-Key reaches the same job and gets a URL only while that job is still
    waiting for its bytes; otherwise it gets the job's status and no URL.
    """
    content_type, size = parse_presign_request(data)
    images.check_declared(content_type, size, deps.max_upload_bytes)
    job_id = job_id_for_key(user_id, idempotency_key)
    key = incoming_key(job_id)
    job = jobs.new_job(
        job_id=job_id,
        user_id=user_id,
        image_key=key,
        content_type=content_type,
        size_bytes=size,
        now=now,
        retention_days=deps.retention_days,
    )
    job[JobAttr.REQUEST_DIGEST] = request_digest("application/json", data)
    existing = jobs.create_job(deps.ddb, deps.table, job)
    if existing is not None:
        if (
            existing.get(JobAttr.USER_ID) != user_id
            or existing.get(JobAttr.REQUEST_DIGEST) != job[JobAttr.REQUEST_DIGEST]
        ):
            raise _reused()
        if not awaiting_bytes(existing):
            return accepted(job_id, status=str(existing.get(JobAttr.STATUS)))
    url = deps.presigner.generate_presigned_url(
        "put_object",
        Params={
            "Bucket": deps.bucket,
            "Key": key,
            "ContentType": content_type,
            "ContentLength": size,
            "IfNoneMatch": "*",
        },
        ExpiresIn=deps.presign_expiry,
    )
    return accepted(
        job_id,
        {
            "upload": {
                "url": url,
                "method": "PUT",
                # Signed into the URL: a request without them, or with another length,
                # is refused by S3.
                "headers": {
                    "content-type": content_type,
                    "content-length": str(size),
                    "if-none-match": "*",
                },
                "expires_in": deps.presign_expiry,
                "max_bytes": size,
            }
        },
    )


def ingest_object(deps: UploadDeps, key: str, now: datetime) -> str:
    """Validate a presigned upload that has arrived; keep it and queue its job, or fail it.

    The object validated (its ETag) is the one copied to `uploads/<job id>/original`
    (`CopySourceIfMatch`, and `If-None-Match: *` so the kept copy is never replaced), and
    the job is pointed at the copy in one conditional write. Safe to repeat: a redelivered
    event finds the copy made from this very object (its `source-etag`) and completes what
    was left. The incoming object stays until the bucket's lifecycle expires it, so the
    URL's `If-None-Match: *` keeps refusing a second PUT while the URL is valid.
    """
    if not key.startswith("incoming/"):
        return "ignored: not an incoming upload"
    job_id = key.split("/", 1)[1]
    try:
        head = deps.s3.head_object(Bucket=deps.bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return "ignored: the object is gone"
        raise
    etag = str(head["ETag"])
    declared = images.normalize_type(head.get("ContentType"))
    size = int(head.get("ContentLength", 0))
    try:
        images.check_declared(declared, size, deps.max_upload_bytes)
        body = originals.read(deps.s3, deps.bucket, key, etag)
        images.inspect(body, declared, deps.max_upload_bytes, deps.animation)
    except (Rejection, originals.ImageChanged) as exc:
        reason = (
            f"upload rejected: {exc.error}: {exc.message}"
            if isinstance(exc, Rejection)
            else "upload rejected: the object changed while it was validated"
        )
        deps.s3.delete_object(Bucket=deps.bucket, Key=key)
        won, _ = jobs.fail_awaited_upload(deps.ddb, deps.table, job_id, key, reason, now)
        error = exc.error if isinstance(exc, Rejection) else "changed"
        return f"rejected: {error} (job {'failed' if won else 'not waiting for an upload'})"
    sha = content_sha256(body)
    kept = original_key(job_id)
    kept_etag = _keep(deps, key, etag, kept, job_id, declared)
    if kept_etag is None:
        return "ignored: the job already has its bytes (a later upload to its URL)"
    won, item = jobs.attach_image(deps.ddb, deps.table, job_id, key, kept, kept_etag, sha, now)
    if not won:
        if item is None:
            return "ignored: no such job"
        resumed = item.get(JobAttr.IMAGE_KEY) == kept and originals.etag_matches(
            item.get(JobAttr.IMAGE_ETAG), kept_etag
        )
        if not (resumed and item.get(JobAttr.STATUS) == Status.PENDING):
            return f"ignored: the job is {item.get(JobAttr.STATUS)} and not waiting for an upload"
    enqueue(deps, job_id, sha)
    return "queued"


def _keep(
    deps: UploadDeps, source: str, etag: str, kept: str, job_id: str, content_type: str
) -> str | None:
    """Copy the validated object to its immutable key; the copy's ETag, or None when the
    key already holds a copy of another object (a later upload: nothing is replaced)."""
    try:
        out = deps.s3.copy_object(
            Bucket=deps.bucket,
            Key=kept,
            CopySource={"Bucket": deps.bucket, "Key": source},
            CopySourceIfMatch=etag,
            IfNoneMatch="*",
            ContentType=content_type,
            MetadataDirective="REPLACE",
            Metadata={"job-id": job_id, "source-etag": etag.strip('"')},
        )
        return str(out["CopyObjectResult"]["ETag"])
    except ClientError as exc:
        if not precondition_failed(exc):
            raise
    head = deps.s3.head_object(Bucket=deps.bucket, Key=kept)
    metadata = {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}
    if metadata.get("source-etag") == etag.strip('"'):
        return str(head["ETag"])  # a redelivered event: this object's copy is the kept one
    return None
