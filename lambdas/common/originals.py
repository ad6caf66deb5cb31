"""A job's kept image: where it lives, and reads bound to the bytes that were validated.

An accepted image is stored once under `uploads/<job id>/original` (a conditional write,
`If-None-Match: *`, by the inline upload or by the copy that ingests a presigned upload)
and the job records the ETag it was stored with (`image_etag`). Every later read names
that ETag (`IfMatch`, `CopySourceIfMatch`), so bytes that changed under the key make the
read fail (`ImageChanged`) instead of being analyzed or published. The analyzers also
hash what they read against the job's `content_sha256`: the verdict is stored under that
hash, so it is the hash of exactly the bytes that were decided.
"""

from __future__ import annotations

import hashlib
from typing import Any

from botocore.exceptions import ClientError

from common.contract import INCOMING_PREFIX, UPLOADS_PREFIX


class ImageChanged(RuntimeError):
    """The stored image is not the one the job recorded; nothing may be decided on it."""


def original_key(job_id: str) -> str:
    """The immutable key of a job's validated image."""
    return f"{UPLOADS_PREFIX}{job_id}/original"


def incoming_key(job_id: str) -> str:
    """Where a presigned upload lands before it is validated."""
    return f"{INCOMING_PREFIX}{job_id}"


def precondition_failed(exc: ClientError) -> bool:
    """S3's 412: an `If-Match`/`If-None-Match`/`x-amz-copy-source-if-match` did not hold."""
    error = exc.response.get("Error", {})
    return error.get("Code") in ("PreconditionFailed", "412") or (
        exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 412
    )


def etag_matches(a: str | None, b: str | None) -> bool:
    """ETags compare without their quotes (S3 returns them quoted, accepts either)."""
    return bool(a) and bool(b) and str(a).strip('"') == str(b).strip('"')


def read(
    s3: Any, bucket: str, key: str, etag: str | None, content_sha256: str | None = None
) -> bytes:
    """The image's bytes, only if they are still the ones recorded. Raises ImageChanged.

    A job accepted before ETags were recorded has none: it is read as it is.
    """
    conditions = {"IfMatch": etag} if etag else {}
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key, **conditions)["Body"].read()
    except ClientError as exc:
        if precondition_failed(exc):
            raise ImageChanged(f"{key} no longer has the ETag the job recorded") from exc
        raise
    if content_sha256 and hashlib.sha256(body).hexdigest() != content_sha256:
        raise ImageChanged(f"{key} does not hash to the content_sha256 the job recorded")
    return body


def check(s3: Any, bucket: str, key: str, etag: str | None) -> None:
    """Raise ImageChanged unless the object still has `etag` (a HeadObject with IfMatch).

    For readers that hand S3 the key rather than the bytes (Rekognition's S3Object):
    the key is written once, so the object it names after this check is the one checked.
    """
    if not etag:
        return
    try:
        s3.head_object(Bucket=bucket, Key=key, IfMatch=etag)
    except ClientError as exc:
        if precondition_failed(exc):
            raise ImageChanged(f"{key} no longer has the ETag the job recorded") from exc
        raise
