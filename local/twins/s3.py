"""S3 buckets and their configuration, created in moto with the declared settings."""

from __future__ import annotations

import json
from typing import Any

import pulumi

from local.registry import (
    S3TriggerDef,
)
from local.twins.common import MockCloud, suffix


def bucket(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    bucket = (inputs.get("bucket") or f"{name}-{suffix(name)}").lower()
    s3 = m.client("s3")
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if m.region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": m.region}
    s3.create_bucket(**kwargs)
    out = {
        **inputs,
        "bucket": bucket,
        "arn": f"arn:aws:s3:::{bucket}",
        "bucketDomainName": f"{bucket}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{bucket}.s3.{m.region}.amazonaws.com",
        "region": m.region,
    }
    return bucket, out


def bucket_pab(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    m.client("s3").put_public_access_block(
        Bucket=inputs["bucket"],
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": bool(inputs.get("blockPublicAcls")),
            "IgnorePublicAcls": bool(inputs.get("ignorePublicAcls")),
            "BlockPublicPolicy": bool(inputs.get("blockPublicPolicy")),
            "RestrictPublicBuckets": bool(inputs.get("restrictPublicBuckets")),
        },
    )
    return inputs["bucket"], inputs


def bucket_ownership(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    rule = inputs.get("rule") or {}
    m.client("s3").put_bucket_ownership_controls(
        Bucket=inputs["bucket"],
        OwnershipControls={"Rules": [{"ObjectOwnership": rule.get("objectOwnership")}]},
    )
    return inputs["bucket"], inputs


def bucket_sse(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    rules = []
    for rule in inputs.get("rules", []):
        default = rule.get("applyServerSideEncryptionByDefault") or {}
        entry: dict[str, Any] = {
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": default.get("sseAlgorithm")}
        }
        if default.get("kmsMasterKeyId"):
            entry["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] = default[
                "kmsMasterKeyId"
            ]
        if "bucketKeyEnabled" in rule:
            entry["BucketKeyEnabled"] = bool(rule["bucketKeyEnabled"])
        rules.append(entry)
    m.client("s3").put_bucket_encryption(
        Bucket=inputs["bucket"], ServerSideEncryptionConfiguration={"Rules": rules}
    )
    return inputs["bucket"], inputs


def bucket_policy(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    """Apply the policy, minus statements conditioned on aws:SecureTransport.

    The local endpoint is loopback HTTP, so a TLS-only deny would refuse every
    request; it is left out and listed, not silently dropped.
    """
    policy = json.loads(inputs["policy"])
    kept = []
    for stmt in policy.get("Statement", []):
        condition = stmt.get("Condition") or {}
        keys = {k for test in condition.values() for k in test}
        if keys == {"aws:SecureTransport"}:
            m.registry.recorded_only.append(
                {
                    "type": "aws:s3/bucketPolicy:BucketPolicy",
                    "name": f"{name}: {stmt.get('Sid', 'statement')}",
                    "why": "TLS-only condition not applied: the local endpoint is loopback HTTP",
                }
            )
            continue
        kept.append(stmt)
    if kept:
        m.client("s3").put_bucket_policy(
            Bucket=inputs["bucket"], Policy=json.dumps({**policy, "Statement": kept})
        )
    return inputs["bucket"], inputs


def bucket_lifecycle(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    rules = []
    for rule in inputs.get("rules", []):
        entry: dict[str, Any] = {"ID": rule["id"], "Status": rule["status"]}
        flt = rule.get("filter") or {}
        entry["Filter"] = {"Prefix": flt.get("prefix", "")}
        if rule.get("expiration"):
            entry["Expiration"] = {"Days": int(rule["expiration"]["days"])}
        if rule.get("abortIncompleteMultipartUpload"):
            entry["AbortIncompleteMultipartUpload"] = {
                "DaysAfterInitiation": int(
                    rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"]
                )
            }
        rules.append(entry)
    m.client("s3").put_bucket_lifecycle_configuration(
        Bucket=inputs["bucket"], LifecycleConfiguration={"Rules": rules}
    )
    return inputs["bucket"], inputs


def bucket_notification(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    """S3 -> Lambda: moto delivers the events to an internal queue the runtime drains."""
    bucket = inputs["bucket"]
    configs = []
    for fn in inputs.get("lambdaFunctions", []):
        queue_name = f"local-s3-events-{suffix(bucket + fn['lambdaFunctionArn'])}"
        sqs = m.client("sqs")
        url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
        queue_arn = m.arn("sqs", queue_name)
        rules = []
        if fn.get("filterPrefix"):
            rules.append({"Name": "prefix", "Value": fn["filterPrefix"]})
        if fn.get("filterSuffix"):
            rules.append({"Name": "suffix", "Value": fn["filterSuffix"]})
        entry: dict[str, Any] = {"QueueArn": queue_arn, "Events": fn["events"]}
        if rules:
            entry["Filter"] = {"Key": {"FilterRules": rules}}
        configs.append(entry)
        m.registry.s3_triggers.append(
            S3TriggerDef(
                bucket=bucket,
                function=m.registry.function_by_ref(fn["lambdaFunctionArn"]).name,
                events=list(fn["events"]),
                prefix=fn.get("filterPrefix", ""),
                suffix=fn.get("filterSuffix", ""),
                queue_url=url,
            )
        )
    m.client("s3").put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"QueueConfigurations": configs}
    )
    return bucket, inputs


def bucket_object(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    source = inputs.get("source")
    body = b""
    if isinstance(source, pulumi.FileAsset):
        with open(source.path, "rb") as fh:
            body = fh.read()
    elif isinstance(source, pulumi.StringAsset):
        body = source.text.encode()
    elif inputs.get("content") is not None:
        body = str(inputs["content"]).encode()
    kwargs: dict[str, Any] = {"Bucket": inputs["bucket"], "Key": inputs["key"], "Body": body}
    if inputs.get("contentType"):
        kwargs["ContentType"] = inputs["contentType"]
    out = m.client("s3").put_object(**kwargs)
    return inputs["key"], {**inputs, "etag": out.get("ETag", "").strip('"')}


HANDLERS = {
    "aws:s3/bucket:Bucket": bucket,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": bucket_pab,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": bucket_ownership,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": bucket_sse,
    "aws:s3/bucketPolicy:BucketPolicy": bucket_policy,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": bucket_lifecycle,
    "aws:s3/bucketNotification:BucketNotification": bucket_notification,
    "aws:s3/bucketObjectv2:BucketObjectv2": bucket_object,
}
