"""The local mocks list what they cannot emulate instead of faking it."""

from __future__ import annotations

import boto3
import pulumi
from moto import mock_aws

from local.mocks import LocalMocks
from local.registry import Registry


def test_unknown_types_are_recorded_as_not_emulated():
    with mock_aws():
        registry = Registry()
        mocks = LocalMocks(lambda s: boto3.client(s, region_name="us-east-1"), registry)
        rid, outputs = mocks.new_resource(
            pulumi.runtime.MockResourceArgs(
                "aws:elasticache/serverlessCache:ServerlessCache",
                "cache",
                {"name": "c"},
                None,
                None,
                True,
            )
        )
        assert registry.not_emulated == [
            {"type": "aws:elasticache/serverlessCache:ServerlessCache", "name": "cache"}
        ]
        assert outputs["arn"].endswith(":c")


def test_tls_only_statement_is_listed_when_it_cannot_apply():
    import json

    with mock_aws():
        registry = Registry()
        s3 = boto3.client("s3", region_name="us-east-1")
        mocks = LocalMocks(lambda s: boto3.client(s, region_name="us-east-1"), registry)
        s3.create_bucket(Bucket="bkt-1")
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": ["arn:aws:s3:::bkt-1/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
        mocks.new_resource(
            pulumi.runtime.MockResourceArgs(
                "aws:s3/bucketPolicy:BucketPolicy",
                "p",
                {"bucket": "bkt-1", "policy": json.dumps(policy)},
                None,
                None,
                True,
            )
        )
        assert registry.recorded_only[0]["why"].startswith("TLS-only condition not applied")
        s3.put_object(Bucket="bkt-1", Key="k", Body=b"x")
