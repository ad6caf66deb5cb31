"""S3 refuses Signature Version 2, as AWS does for every bucket created since June 2020.

moto's S3 accepts any signature version. AWS turned SigV2 off for buckets created after
24 June 2020 (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingAWSSDK.html
#UsingAWSSDK-sig2-deprecation), and every bucket this program creates is new, so a SigV2
request that moto would serve fails on AWS: the local S3 refuses it the way S3 does, with
`InvalidRequest`, HTTP 400, "The authorization mechanism you have provided is not
supported. Please use AWS4-HMAC-SHA256." (the `InvalidRequest` row "Please use
AWS4-HMAC-SHA256." of https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
#ErrorCodeList). Both of SigV2's forms are refused: query-string authentication
(`?AWSAccessKeyId=...&Signature=...&Expires=...`, what botocore presigns by default in
us-east-1) and the `Authorization: AWS <key>:<signature>` header. Unsigned requests and
SigV4 (header `AWS4-HMAC-SHA256 ...` or `X-Amz-Algorithm` query) pass unchanged.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from local.moto_patches.patching import patch_once

CODE = "InvalidRequest"
MESSAGE = (
    "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."
)
_MARKER = "_sigv2_refused"


def is_sigv2(headers: Any, url: str) -> bool:
    """Whether the request is signed with Signature Version 2 (header or query string)."""
    auth = str(headers.get("Authorization", "") or "") if headers else ""
    if auth.startswith("AWS ") and ":" in auth:
        return True
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    return "AWSAccessKeyId" in query and "Signature" in query


def make_s3_sigv4_only() -> None:
    """Refuse SigV2-signed requests in moto's S3 (bucket and object requests alike)."""
    from moto.s3.exceptions import S3ClientError
    from moto.s3.responses import S3Response

    class SignatureVersion2Refused(S3ClientError):
        code = CODE

        def __init__(self) -> None:
            super().__init__(CODE, MESSAGE)

    def refusing(original: Any) -> Any:
        def wrapper(self: Any, request: Any, full_url: str, *args: Any, **kwargs: Any) -> Any:
            if is_sigv2(request.headers, full_url):
                raise SignatureVersion2Refused()
            return original(self, request, full_url, *args, **kwargs)

        return wrapper

    # Both run inside moto's handler, which answers an S3ClientError as S3's XML error.
    patch_once(S3Response, "_bucket_response", _MARKER, refusing)
    patch_once(S3Response, "_key_response", _MARKER, refusing)
