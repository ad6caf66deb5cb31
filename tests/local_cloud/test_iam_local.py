"""IAM enforced in the local cloud: each function runs with its own role, and a request its
role's policy does not allow is refused there exactly as AWS would refuse it."""

from __future__ import annotations

import json

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from local.registry import Registry
from local.tools import fixtures

pytestmark = pytest.mark.local_cloud


def role_client(cloud, logical: str, service: str):
    """A client signed with the credentials `logical`'s execution environments get."""
    registry = Registry.load(cloud.state_dir / "registry.json")
    fn = registry.function_by_ref(cloud.outputs["functions"][logical])
    creds = cloud.client("sts").assume_role(RoleArn=fn.role_arn, RoleSessionName="iam-test")[
        "Credentials"
    ]
    return boto3.client(
        service,
        endpoint_url=cloud.endpoint,
        region_name=cloud.region,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        config=Config(retries={"max_attempts": 1}),
    )


def denied(call, **kwargs) -> str:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["Error"]["Code"]


def test_a_function_may_do_what_its_role_allows_and_nothing_else(local_cloud):
    out = local_cloud.outputs
    table, bucket = out["jobs_table"], out["upload_bucket"]
    status = role_client(local_cloud, "status", "dynamodb")
    assert "Item" not in status.get_item(TableName=table, Key={"job_id": {"S": "none"}})
    # status reads jobs; it may not write them, nor read the idempotency table
    assert (
        denied(
            status.update_item,
            TableName=table,
            Key={"job_id": {"S": "none"}},
            UpdateExpression="SET x = :x",
            ExpressionAttributeValues={":x": {"S": "y"}},
        )
        == "AccessDeniedException"
    )
    assert (
        denied(status.get_item, TableName=out["idempotency_table"], Key={"id": {"S": "x"}})
        == "AccessDeniedException"
    )
    # the upload function stores originals; it cannot publish notifications or invoke
    upload_s3 = role_client(local_cloud, "upload", "s3")
    upload_s3.put_object(Bucket=bucket, Key="uploads/iam-test/original", Body=b"x")
    # a key with characters the client percent-encodes (the exporter's `dt=` keys)
    upload_s3.put_object(Bucket=bucket, Key="uploads/dt=2026-01-01/a b+c", Body=b"x")
    assert denied(upload_s3.put_object, Bucket=bucket, Key="elsewhere/x", Body=b"x") in (
        "AccessDenied",
        "403",
    )
    upload_sns = role_client(local_cloud, "upload", "sns")
    assert (
        denied(upload_sns.publish, TopicArn=out["notification_topic_arn"], Message="{}")
        == "AccessDenied"
    )
    upload_lambda = role_client(local_cloud, "upload", "lambda")
    assert (
        denied(
            upload_lambda.invoke,
            FunctionName=out["functions"]["notifier"],
            InvocationType="Event",
            Payload=b"{}",
        )
        == "AccessDeniedException"
    )
    # the dispatcher invokes exactly the analyzers
    dispatcher = role_client(local_cloud, "dispatcher", "lambda")
    assert (
        denied(
            dispatcher.invoke,
            FunctionName=out["functions"]["sweeper"],
            InvocationType="Event",
            Payload=b"{}",
        )
        == "AccessDeniedException"
    )


def test_a_keyed_upload_retry_reads_the_stored_original(local_cloud):
    """The retry reads the object's metadata under uploads/ (HeadObject = s3:GetObject):
    without that permission every retry was a 500 on AWS, and the job failed."""
    image = fixtures.png(seed=404)
    headers = {
        "Authorization": f"Bearer {local_cloud.token('iam-user')}",
        "Content-Type": "image/png",
        "Idempotency-Key": "iam-retry-1",
    }
    first = requests.post(f"{local_cloud.api_url}/jobs", data=image, headers=headers, timeout=30)
    assert first.status_code == 202, first.text
    # a retry whose idempotency record is gone takes the object path (conditional PUT,
    # then HeadObject of the stored original)
    for record in _idempotency_ids(local_cloud):
        local_cloud.client("dynamodb").delete_item(
            TableName=local_cloud.outputs["idempotency_table"], Key={"id": {"S": record}}
        )
    retry = requests.post(f"{local_cloud.api_url}/jobs", data=image, headers=headers, timeout=30)
    assert retry.status_code == 202, retry.text
    assert retry.json()["job_id"] == first.json()["job_id"]


def _idempotency_ids(cloud) -> list[str]:
    items = cloud.client("dynamodb").scan(TableName=cloud.outputs["idempotency_table"])["Items"]
    ids = [i["id"]["S"] for i in items if not i["id"]["S"].startswith("lease#")]
    assert ids, json.dumps(items)
    return ids
