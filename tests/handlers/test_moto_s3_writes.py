"""local/moto_patches/s3_writes.py: moto refuses the S3 writes S3 refuses.

Each case is S3's documented behaviour (the module cites the pages): a presigned PUT is
checked against its SigV4 signature, which covers the headers it names; CopyObject
honours `x-amz-copy-source-if-match` and `If-None-Match: *`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from local.moto_patches import s3_writes

BUCKET = "patch-test-bucket"


@pytest.fixture
def s3():
    s3_writes.make_s3_writes_strict()
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def presigned(size: int, expires: int = 60) -> str:
    signer = boto3.client("s3", region_name="us-east-1", config=Config(signature_version="s3v4"))
    url: str = signer.generate_presigned_url(
        "put_object",
        Params={
            "Bucket": BUCKET,
            "Key": "k",
            "ContentType": "image/png",
            "ContentLength": size,
            "IfNoneMatch": "*",
        },
        ExpiresIn=expires,
    )
    return url


HEADERS = {"content-type": "image/png", "if-none-match": "*"}


def keys(s3) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_a_presigned_put_with_its_signed_headers_lands_once(s3):
    url = presigned(5)
    assert "content-length" in urlsplit(url).query and "if-none-match" in urlsplit(url).query
    assert requests.put(url, data=b"hello", headers=HEADERS).status_code == 200
    assert requests.put(url, data=b"world", headers=HEADERS).status_code == 412
    assert s3.get_object(Bucket=BUCKET, Key="k")["Body"].read() == b"hello"


@pytest.mark.parametrize(
    "body,headers",
    [
        (b"hello, world", HEADERS),  # another length than the signed one
        (b"hello", {"content-type": "image/png"}),  # without the signed condition
        (b"hello", {**HEADERS, "content-type": "image/jpeg"}),  # another signed value
    ],
)
def test_a_presigned_put_that_differs_from_what_was_signed_is_refused(s3, body, headers):
    response = requests.put(presigned(5), data=body, headers=headers)
    assert response.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in response.text
    assert keys(s3) == []


def test_a_tampered_or_expired_presigned_put_is_refused(s3):
    url = presigned(5)
    assert (
        requests.put(
            url.replace("X-Amz-Expires=60", "X-Amz-Expires=600"), data=b"hello", headers=HEADERS
        ).status_code
        == 403
    )
    assert (
        requests.put(url.replace("/k?", "/other?"), data=b"hello", headers=HEADERS).status_code
        == 403
    )
    later = datetime.now(UTC) + timedelta(seconds=120)
    with pytest.raises(Exception, match="Request has expired"):
        s3_writes.verify_presigned(_Handler(url, "PUT", {**HEADERS, "content-length": "5"}), later)
    assert keys(s3) == []


class _Handler:
    """The parts of moto's S3 request handler the verification reads."""

    current_account = "123456789012"

    def __init__(self, uri: str, method: str, headers: dict[str, str]) -> None:
        self.uri, self.method, self.headers = uri, method, headers


def test_copy_honours_the_source_etag_and_if_none_match(s3):
    etag = s3.put_object(Bucket=BUCKET, Key="src", Body=b"decided")["ETag"]
    source = {"Bucket": BUCKET, "Key": "src"}
    with pytest.raises(ClientError) as refused:
        s3.copy_object(Bucket=BUCKET, Key="dst", CopySource=source, CopySourceIfMatch='"0"')
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
    assert "dst" not in keys(s3)
    s3.copy_object(
        Bucket=BUCKET, Key="dst", CopySource=source, CopySourceIfMatch=etag, IfNoneMatch="*"
    )
    s3.put_object(Bucket=BUCKET, Key="src", Body=b"swapped")
    with pytest.raises(ClientError) as exists:
        s3.copy_object(Bucket=BUCKET, Key="dst", CopySource=source, IfNoneMatch="*")
    assert exists.value.response["Error"]["Code"] == "PreconditionFailed"
    assert s3.get_object(Bucket=BUCKET, Key="dst")["Body"].read() == b"decided"
