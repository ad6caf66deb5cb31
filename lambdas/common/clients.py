"""boto3 clients created once per execution environment.

Clients are created outside the handler so warm invocations reuse their connection
pools. Retries use botocore's standard mode (exponential backoff with jitter, and
throttling errors retried) so a DynamoDB throttle burst slows a job, never fails it.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 8},
    connect_timeout=3,
    read_timeout=10,
)


@functools.cache
def client(service: str) -> Any:
    # Typed as Any: the service is a runtime string; callers name their client's service.
    return boto3.client(service, config=_CONFIG)  # type: ignore[call-overload]


@functools.cache
def s3_presigner() -> Any:
    """An S3 client for presigned URLs: Signature Version 4, which S3 requires of buckets
    created since June 2020 (botocore would otherwise presign with SigV2 in us-east-1)."""
    config = _CONFIG.merge(Config(signature_version="s3v4"))
    return boto3.client("s3", config=config)
