"""JobStore: where uploads and jobs live: the originals bucket, the jobs table, idempotency.

The jobs table's stream (new and old images) is the pipeline's outbox: the notifier and
the exporter read it. Its index on (status, created_at) serves the sweeper and the
dashboard; it projects only attributes that change with the status, so an analyzer's
result write does not rewrite the index entry.

The review index on (review_state, completed_at) is sparse: only jobs that went to
review carry `review_state`, so it holds the review queue (`pending`, oldest first) and
the reviewed jobs, nothing else. It projects every attribute, so a page of the queue is
one Query with no read per job, whatever attributes the analyses add. It is written
only twice per reviewed job (the entry appears with the finalize write; the verdict
moves it from `pending` to `reviewed`, a delete and a put), each write sized by the item
(1 write unit per KB), and stores a copy of each reviewed job until its TTL.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import Component
from components.buckets import PrivateBucket, PrivateBucketArgs
from lambdas.common.contract import (
    APPEAL_INDEX,
    INCOMING_PREFIX,
    QA_INDEX,
    REVIEW_INDEX,
    STATUS_INDEX,
    UPLOADS_PREFIX,
    AppealField,
    JobAttr,
    QaField,
    VerdictAttr,
)

UPLOAD_PREFIXES = (UPLOADS_PREFIX, INCOMING_PREFIX)
DAY_SECONDS = 86400


def incoming_expiry_days(presign_expiry_seconds: int) -> int:
    """How long a presigned upload's object is kept after its copy was taken: at least as
    long as its URL is valid, so the URL's `If-None-Match: *` keeps refusing a second PUT
    (S3 expires objects by whole days, at least one)."""
    return max(1, -(-presign_expiry_seconds // DAY_SECONDS))


@dataclass
class JobStoreArgs:
    prefix: str
    force_destroy: bool
    upload_expiry_days: int
    verdict_reuse: bool = False
    # Days incoming/ objects are kept (incoming_expiry_days); uploads/ keeps the
    # validated originals for upload_expiry_days.
    incoming_days: int = 1


class JobStore(Component):
    def __init__(
        self, name: str, args: JobStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, opts)
        self.uploads = PrivateBucket(
            f"{args.prefix}-uploads",
            PrivateBucketArgs(
                force_destroy=args.force_destroy,
                expire_prefixes={
                    UPLOADS_PREFIX: args.upload_expiry_days,
                    INCOMING_PREFIX: args.incoming_days,
                },
            ),
            opts=self.opts(),
        )
        self.table = aws.dynamodb.Table(
            self.child("jobs"),
            name=f"{args.prefix}-jobs",
            billing_mode="PAY_PER_REQUEST",
            hash_key=JobAttr.JOB_ID,
            attributes=[
                {"name": JobAttr.JOB_ID, "type": "S"},
                {"name": JobAttr.STATUS, "type": "S"},
                {"name": JobAttr.CREATED_AT, "type": "S"},
                {"name": JobAttr.REVIEW_STATE, "type": "S"},
                {"name": JobAttr.COMPLETED_AT, "type": "S"},
                # The appeal and QA queues (lambdas/common/appeals.py, qa.py): sparse too.
                {"name": AppealField.STATE, "type": "S"},
                {"name": AppealField.AT, "type": "S"},
                {"name": QaField.STATE, "type": "S"},
                {"name": QaField.QUEUED_AT, "type": "S"},
            ],
            global_secondary_indexes=[
                {
                    "name": STATUS_INDEX,
                    "hash_key": JobAttr.STATUS,
                    "range_key": JobAttr.CREATED_AT,
                    # Only attributes that change with the status: projecting updated_at
                    # would rewrite the index entry on each analyzer's result write.
                    "projection_type": "INCLUDE",
                    "non_key_attributes": [JobAttr.USER_ID, JobAttr.DECISION, JobAttr.COMPLETED_AT],
                },
                {
                    "name": REVIEW_INDEX,
                    "hash_key": JobAttr.REVIEW_STATE,
                    "range_key": JobAttr.COMPLETED_AT,
                    "projection_type": "ALL",
                },
                {
                    "name": APPEAL_INDEX,
                    "hash_key": AppealField.STATE,
                    "range_key": AppealField.AT,
                    "projection_type": "ALL",
                },
                {
                    "name": QA_INDEX,
                    "hash_key": QaField.STATE,
                    "range_key": QaField.QUEUED_AT,
                    "projection_type": "ALL",
                },
            ],
            ttl={"attribute_name": JobAttr.EXPIRES_AT, "enabled": True},
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True},
            stream_enabled=True,
            stream_view_type="NEW_AND_OLD_IMAGES",
            deletion_protection_enabled=not args.force_destroy,
            opts=self.opts(),
        )
        self.idempotency_table = aws.dynamodb.Table(
            self.child("idempotency"),
            name=f"{args.prefix}-idempotency",
            billing_mode="PAY_PER_REQUEST",
            hash_key="id",
            attributes=[{"name": "id", "type": "S"}],
            ttl={"attribute_name": "expiration", "enabled": True},
            server_side_encryption={"enabled": True},
            deletion_protection_enabled=not args.force_destroy,
            opts=self.opts(),
        )
        # Verdicts by content hash (lambdas/common/verdicts.py): no user data, only what a
        # decision needs; expired by TTL. Rebuilt by the pipeline itself, so no PITR.
        self.verdicts_table = (
            aws.dynamodb.Table(
                self.child("verdicts"),
                name=f"{args.prefix}-verdicts",
                billing_mode="PAY_PER_REQUEST",
                hash_key=VerdictAttr.KEY,
                attributes=[{"name": VerdictAttr.KEY, "type": "S"}],
                ttl={"attribute_name": VerdictAttr.EXPIRES_AT, "enabled": True},
                server_side_encryption={"enabled": True},
                deletion_protection_enabled=not args.force_destroy,
                opts=self.opts(),
            )
            if args.verdict_reuse
            else None
        )
        # The audit log (lambdas/common/audit.py): one entry per console or moderator
        # action, by UTC day and time; written once, never updated, kept (no TTL).
        self.audit_table = aws.dynamodb.Table(
            self.child("audit"),
            name=f"{args.prefix}-audit",
            billing_mode="PAY_PER_REQUEST",
            hash_key="day",
            range_key="entry",
            attributes=[{"name": "day", "type": "S"}, {"name": "entry", "type": "S"}],
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True},
            deletion_protection_enabled=not args.force_destroy,
            opts=self.opts(),
        )
        self.status_index_arn = self.table.arn.apply(lambda a: f"{a}/index/{STATUS_INDEX}")
        self.review_index_arn = self.table.arn.apply(lambda a: f"{a}/index/{REVIEW_INDEX}")
        self.appeal_index_arn = self.table.arn.apply(lambda a: f"{a}/index/{APPEAL_INDEX}")
        self.qa_index_arn = self.table.arn.apply(lambda a: f"{a}/index/{QA_INDEX}")
        self.register_outputs(
            {
                "upload_bucket": self.uploads.name,
                "jobs_table": self.table.name,
                "idempotency_table": self.idempotency_table.name,
                **({"verdicts_table": self.verdicts_table.name} if self.verdicts_table else {}),
                "audit_table": self.audit_table.name,
            }
        )

    def objects(self, prefix: str) -> pulumi.Output[str]:
        """The ARN pattern of the upload bucket's objects under `prefix`."""
        return self.uploads.arn.apply(lambda a: f"{a}/{prefix}*")
