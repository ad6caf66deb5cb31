"""PrivateBucket: an S3 bucket no one can make public, the only kind this program declares.

Public access blocked, owner-enforced object ownership (no ACLs), SSE-S3 with bucket
keys, a bucket policy that denies every request not made over TLS, an abort rule for
incomplete multipart uploads and optional expiry per prefix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import Component


def tls_only_statement(arn: str) -> dict[str, Any]:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def bucket_policy_document(
    bucket_arn: pulumi.Input[str], extra_statements: pulumi.Input[list[Any]] | None = None
) -> pulumi.Output[str]:
    """The TLS-only deny plus `extra_statements` (which may hold Outputs)."""
    return pulumi.Output.all(bucket_arn, extra_statements or []).apply(
        lambda args: json.dumps(
            {"Version": "2012-10-17", "Statement": [tls_only_statement(args[0]), *args[1]]}
        )
    )


@dataclass
class PrivateBucketArgs:
    force_destroy: bool = False
    # Objects under each prefix expire after so many days.
    expire_prefixes: dict[str, int] = field(default_factory=dict)
    # False: the owner attaches the policy later (`attach_policy`), for statements that
    # name a resource declared after the bucket (a CloudFront distribution reading it).
    attach_policy: bool = True


class PrivateBucket(Component):
    """The bucket (`.bucket`) and its guards (`.guards`: what must exist before it is used)."""

    def __init__(
        self, name: str, args: PrivateBucketArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, opts)
        # The bucket takes the component's own name: with Pulumi's suffix that is its
        # physical name, so it stays recognisable in the console.
        self.bucket = aws.s3.Bucket(name, force_destroy=args.force_destroy, opts=self.opts())
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            self.child("public-access-block"),
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=self.opts(),
        )
        ownership = aws.s3.BucketOwnershipControls(
            self.child("ownership"),
            bucket=self.bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=self.opts(),
        )
        sse = aws.s3.BucketServerSideEncryptionConfiguration(
            self.child("sse"),
            bucket=self.bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"},
                    "bucket_key_enabled": True,
                }
            ],
            opts=self.opts(),
        )
        self.guards: list[pulumi.Resource] = [self.public_access_block, ownership, sse]
        if args.attach_policy:
            self.guards.append(self.attach_policy())
        rules: list[aws.s3.BucketLifecycleConfigurationRuleArgsDict] = [
            {
                "id": "abort-incomplete-multipart",
                "status": "Enabled",
                "filter": {},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
            }
        ]
        for prefix, days in args.expire_prefixes.items():
            rules.append(
                {
                    "id": f"expire-{prefix.strip('/')}",
                    "status": "Enabled",
                    "filter": {"prefix": prefix},
                    "expiration": {"days": days},
                }
            )
        self.guards.append(
            aws.s3.BucketLifecycleConfiguration(
                self.child("lifecycle"), bucket=self.bucket.id, rules=rules, opts=self.opts()
            )
        )
        self.arn = self.bucket.arn
        self.name = self.bucket.bucket
        self.register_outputs({"bucket": self.bucket.bucket, "arn": self.bucket.arn})

    def attach_policy(
        self, extra_statements: pulumi.Input[list[Any]] | None = None
    ) -> aws.s3.BucketPolicy:
        """The bucket policy: the TLS-only deny plus `extra_statements`."""
        return aws.s3.BucketPolicy(
            self.child("policy"),
            bucket=self.bucket.id,
            policy=bucket_policy_document(self.bucket.arn, extra_statements),
            opts=self.opts(depends_on=[self.public_access_block]),
        )
