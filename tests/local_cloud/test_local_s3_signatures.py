"""The local S3 refuses Signature Version 2, as S3 does for buckets created since June 2020.

In-process moto with the local cloud's patches, then the local cloud itself: a presigned
upload the API hands out is accepted, the same upload presigned with SigV2 is refused.
"""

import json
import xml.etree.ElementTree as ET

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from local.moto_patches import s3_sigv4_only
from local.tools import fixtures

REGION = "us-east-1"
BUCKET = "uploads"
SIGV2 = Config(signature_version="s3")
SIGV4 = Config(signature_version="s3v4")


@pytest.fixture
def s3():
    s3_sigv4_only.make_s3_sigv4_only()
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        yield client


def signer(config: Config):
    return boto3.client("s3", region_name=REGION, config=config)


def s3_error(resp: requests.Response) -> tuple[int, str, str]:
    root = ET.fromstring(resp.content)
    return resp.status_code, root.findtext("Code") or "", root.findtext("Message") or ""


REFUSED = (400, "InvalidRequest", s3_sigv4_only.MESSAGE)


def test_the_message_is_s3s():
    assert s3_sigv4_only.MESSAGE == (
        "The authorization mechanism you have provided is not supported. "
        "Please use AWS4-HMAC-SHA256."
    )


def test_a_sigv2_presigned_put_is_refused_and_stores_nothing(s3):
    url = signer(SIGV2).generate_presigned_url(
        "put_object", Params={"Bucket": BUCKET, "Key": "incoming/a"}, ExpiresIn=60
    )
    assert "AWSAccessKeyId=" in url and "Signature=" in url
    resp = requests.put(url, data=fixtures.png(seed=1), timeout=10)
    assert s3_error(resp) == REFUSED
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def test_a_sigv2_presigned_get_is_refused(s3):
    s3.put_object(Bucket=BUCKET, Key="k", Body=b"x")
    url = signer(SIGV2).generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "k"}, ExpiresIn=60
    )
    assert s3_error(requests.get(url, timeout=10)) == REFUSED


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.put_object(Bucket=BUCKET, Key="k", Body=b"x"),
        lambda c: c.list_objects_v2(Bucket=BUCKET),
        lambda c: c.get_object(Bucket=BUCKET, Key="k"),
    ],
    ids=["put_object", "list_objects_v2", "get_object"],
)
def test_a_sigv2_authorization_header_is_refused(s3, call):
    with pytest.raises(ClientError) as raised:
        call(signer(SIGV2))
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert (error["Error"]["Code"], error["Error"]["Message"]) == REFUSED[1:]


def test_sigv4_requests_and_presigned_urls_pass(s3):
    url = signer(SIGV4).generate_presigned_url(
        "put_object", Params={"Bucket": BUCKET, "Key": "incoming/b"}, ExpiresIn=60
    )
    assert requests.put(url, data=b"bytes", timeout=10).status_code == 200
    assert s3.get_object(Bucket=BUCKET, Key="incoming/b")["Body"].read() == b"bytes"
    url = signer(SIGV4).generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "incoming/b"}, ExpiresIn=60
    )
    assert requests.get(url, timeout=10).content == b"bytes"


def test_the_detection(s3):
    assert s3_sigv4_only.is_sigv2({"Authorization": "AWS AKIDEXAMPLE:c2lnbmF0dXJl"}, "/b/k")
    assert s3_sigv4_only.is_sigv2({}, "http://h/b/k?AWSAccessKeyId=a&Signature=s&Expires=1")
    v4 = "AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/s3/aws4_request, Signature=x"
    assert not s3_sigv4_only.is_sigv2({"Authorization": v4}, "/b/k")
    assert not s3_sigv4_only.is_sigv2(
        {}, "http://h/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=s"
    )
    assert not s3_sigv4_only.is_sigv2({}, "http://h/b/k?Signature=not-a-sigv2-request")


@pytest.mark.local_cloud
def test_the_local_cloud_takes_the_apis_presigned_upload_and_refuses_sigv2(local_cloud):
    token = local_cloud.token("sigv2-user")
    image = fixtures.png(seed=9)
    resp = requests.post(
        f"{local_cloud.api_url}/jobs",
        data=json.dumps({"content_type": "image/png", "size_bytes": len(image)}),
        headers={"Authorization": f"Bearer {token}", "content-type": "application/json"},
        timeout=30,
    )
    assert resp.status_code == 202, resp.text
    upload = resp.json()["upload"]
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in upload["url"]

    s3 = boto3.client(
        "s3",
        endpoint_url=local_cloud.endpoint,
        region_name=local_cloud.region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=SIGV2,
    )
    key = "incoming/" + resp.json()["job_id"]
    bucket = local_cloud.outputs["upload_bucket"]
    v2 = s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": key, "ContentType": "image/png"}
    )
    refused = requests.put(v2, data=image, headers=upload["headers"], timeout=30)
    assert s3_error(refused) == REFUSED

    accepted = requests.put(upload["url"], data=image, headers=upload["headers"], timeout=30)
    assert accepted.status_code == 200, accepted.text
