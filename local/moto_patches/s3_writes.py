"""Make moto's S3 refuse the writes S3 refuses that the upload path relies on.

The pipeline keeps the bytes it decided by three S3 rules moto does not enforce:

- **A presigned URL is bound to its signed headers.** S3 verifies the SigV4 query
  signature over the request's method, path, query and every header named in
  `X-Amz-SignedHeaders`, and refuses an expired URL
  (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html). The
  upload URL signs `Content-Length` and `If-None-Match: *`, so a body of another size,
  or a PUT without the condition, is refused (403 SignatureDoesNotMatch) before anything
  is stored. moto checks no query-string signature: a presigned PutObject is verified
  here as S3 does.
- **CopyObject honours `x-amz-copy-source-if-match`**: the copy fails with 412 when the
  source's ETag differs
  (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html).
- **CopyObject honours `If-None-Match: *`**: the copy fails with 412 when the destination
  key exists (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html:
  "check whether an object already exists ... before creating it or copying it").

moto already honours `If-None-Match: *` on PutObject and `If-Match` on GetObject and
HeadObject. The secret a presigned URL is checked with is the signer's: an IAM user's or
an assumed role's key in moto, the local cloud's own key, or this process's credentials
(in-process tests sign with them).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from local.moto_patches.patching import patch_once

_PATCHED_ATTR = "_moderation_s3_writes"
# The local cloud's own key (local/cloud.py, local/client.py) and its secret.
_OWN_KEYS = {"local": "local"}
ALGORITHM = "AWS4-HMAC-SHA256"


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def _quote(value: str) -> str:
    return quote(value, safe="-_.~")


def canonical_request(
    method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str], signed: str
) -> str:
    """SigV4's canonical request of a presigned S3 request (payload: UNSIGNED-PAYLOAD)."""
    pairs = sorted((_quote(k), _quote(v)) for k, v in query if k != "X-Amz-Signature")
    canonical_query = "&".join(f"{k}={v}" for k, v in pairs)
    names = signed.split(";")
    canonical_headers = "".join(
        f"{name}:{' '.join(str(headers.get(name, '')).split())}\n" for name in names
    )
    uri = quote(unquote(path), safe="/~")
    return "\n".join(
        [method.upper(), uri, canonical_query, canonical_headers, signed, "UNSIGNED-PAYLOAD"]
    )


def signature(secret: str, amz_date: str, scope: str, request: str) -> str:
    date, region, service, terminal = scope.split("/")
    to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(request.encode()).hexdigest()])
    key = _hmac(f"AWS4{secret}".encode(), date)
    for part in (region, service, terminal):
        key = _hmac(key, part)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def _secret_for(handler: Any, access_key: str, token: str | None) -> str | None:
    if access_key in _OWN_KEYS:
        return _OWN_KEYS[access_key]
    from moto.iam.access_control import CreateAccessKeyFailure, create_access_key

    headers = {"X-Amz-Security-Token": token} if token else {}
    try:
        key = create_access_key(handler.current_account, "aws", access_key, headers)
        return str(key._secret_access_key)
    except CreateAccessKeyFailure:
        pass
    if access_key == os.environ.get("AWS_ACCESS_KEY_ID"):
        return os.environ.get("AWS_SECRET_ACCESS_KEY")
    return None


def _forbidden(error_type: str, message: str) -> Exception:
    """S3's 403 with its error code (moto's S3 errors answer 400 for these codes)."""
    from moto.core.exceptions import _RESTError

    class Forbidden(_RESTError):
        code = 403
        include_type_sender = False

    return Forbidden(error_type, message)


def verify_presigned(handler: Any, now: datetime | None = None) -> None:
    """Raise moto's S3 403 unless this query-signed request is what its URL signed."""
    url = urlsplit(handler.uri)
    query = parse_qsl(url.query, keep_blank_values=True)
    q = dict(query)
    access_key, _, scope = q.get("X-Amz-Credential", "").partition("/")
    secret = _secret_for(handler, access_key, q.get("X-Amz-Security-Token"))
    if secret is None:
        raise _forbidden(
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
        )
    issued = datetime.strptime(q.get("X-Amz-Date", ""), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    if (now or datetime.now(UTC)) > issued + timedelta(seconds=int(q.get("X-Amz-Expires", 0))):
        raise _forbidden("AccessDenied", "Request has expired")
    headers = {k.lower(): v for k, v in handler.headers.items()}
    headers.setdefault("host", url.netloc)
    request = canonical_request(
        handler.method, url.path, query, headers, q.get("X-Amz-SignedHeaders", "host")
    )
    expected = signature(str(secret), q["X-Amz-Date"], scope, request)
    if not hmac.compare_digest(expected, q.get("X-Amz-Signature", "")):
        raise _forbidden(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )


def _checking_presigned_puts(original: Any) -> Any:
    def put(self: Any, query: dict[str, Any], key_name: str) -> Any:
        if "X-Amz-Signature" in urlsplit(self.uri).query:
            verify_presigned(self)
        return original(self, query, key_name)

    return put


def _conditional_copy(original: Any) -> Any:
    def copy_object(self: Any) -> Any:
        from moto.s3.exceptions import PreconditionFailed

        source = self.headers.get("x-amz-copy-source")
        if isinstance(source, bytes):
            source = source.decode()
        parsed = urlsplit(source or "")
        src_bucket, _, src_key = unquote(parsed.path).lstrip("/").partition("/")
        version = dict(parse_qsl(parsed.query)).get("versionId")
        wanted = self.headers.get("x-amz-copy-source-if-match")
        if wanted is not None:
            found = self.backend.get_object(src_bucket, src_key, version_id=version)
            if found is not None and found.etag.strip('"') != wanted.strip('"'):
                raise PreconditionFailed("x-amz-copy-source-If-Match")
        if self.headers.get("If-None-Match") == "*":
            if self.backend.get_object(self.bucket_name, self.parse_key_name()) is not None:
                raise PreconditionFailed("If-None-Match")
        return original(self)

    return copy_object


def make_s3_writes_strict() -> None:
    from moto.s3.responses import S3Response

    patch_once(S3Response, "_key_response_put", _PATCHED_ATTR, _checking_presigned_puts)
    patch_once(S3Response, "copy_object", _PATCHED_ATTR, _conditional_copy)
