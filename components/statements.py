"""Statements: the table of statements of reasons (DSA Article 17; docs/statements.md).

One item per restricting decision, keyed by its `puid` (the job id, or `<job id>-notice`
/ `<job id>-appeal` for a later decision on the same job), holding the statement exactly
as the Transparency Database takes it. The notifier is its one writer (one conditional
PutItem per decision: a replayed stream record writes nothing); the status function
reads a job's statements through the job-id index for the owner; operators export a
period through the day index (`python -m scripts.export_statements`). The table's
stream (new images) is what the submitter reads when `moderation:dsa.submit` is on.

Kept as long as the law asks the platform to be able to show it (no TTL); PITR on,
deletion protection unless `forceDestroy`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import Component
from components.function import statement
from lambdas.common.contract import STATEMENTS_DAY_INDEX, STATEMENTS_JOB_INDEX, Env


@dataclass
class StatementsArgs:
    prefix: str
    force_destroy: bool
    # The `dsa` section baked into the packages that build or show statements.
    config: dict[str, Any]
    # Notices (Article 16): their per-user daily counts get a small table of their own.
    notices: bool = False
    notices_per_day: int = 20
    # Submission to the Transparency Database (`moderation:dsa.submit`).
    submit: bool = False
    api_url: str = ""
    token_secret: str | None = None


class Statements(Component):
    def __init__(
        self, name: str, args: StatementsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, opts)
        self.args = args
        self.table = aws.dynamodb.Table(
            self.child("table"),
            name=f"{args.prefix}-statements",
            billing_mode="PAY_PER_REQUEST",
            hash_key="puid",
            attributes=[
                {"name": "puid", "type": "S"},
                {"name": "job_id", "type": "S"},
                {"name": "day", "type": "S"},
                {"name": "created_at", "type": "S"},
            ],
            global_secondary_indexes=[
                {
                    "name": STATEMENTS_JOB_INDEX,
                    "hash_key": "job_id",
                    "range_key": "created_at",
                    "projection_type": "ALL",
                },
                {
                    "name": STATEMENTS_DAY_INDEX,
                    "hash_key": "day",
                    "range_key": "created_at",
                    "projection_type": "ALL",
                },
            ],
            stream_enabled=True,
            stream_view_type="NEW_IMAGE",
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True},
            deletion_protection_enabled=not args.force_destroy,
            opts=self.opts(),
        )
        self.job_index_arn = self.table.arn.apply(lambda a: f"{a}/index/{STATEMENTS_JOB_INDEX}")
        self.day_index_arn = self.table.arn.apply(lambda a: f"{a}/index/{STATEMENTS_DAY_INDEX}")
        # One item per user and UTC day (`<user>#<day>`, `notice_count`); TTL deletes it a
        # day after. Only the notices function touches it, with one conditional UpdateItem.
        self.notice_usage = (
            aws.dynamodb.Table(
                self.child("notice-usage"),
                name=f"{args.prefix}-notice-usage",
                billing_mode="PAY_PER_REQUEST",
                hash_key="usage_key",
                attributes=[{"name": "usage_key", "type": "S"}],
                ttl={"attribute_name": "expires_at", "enabled": True},
                server_side_encryption={"enabled": True},
                deletion_protection_enabled=not args.force_destroy,
                opts=self.opts(),
            )
            if args.notices
            else None
        )
        # What could not be submitted, with why (14 days: an operator fixes and redrives).
        self.dlq = (
            aws.sqs.Queue(
                self.child("submission-dlq"),
                name=f"{args.prefix}-dsa-submission-dlq",
                message_retention_seconds=14 * 86400,
                sqs_managed_sse_enabled=True,
                receive_wait_time_seconds=20,
                opts=self.opts(),
            )
            if args.submit
            else None
        )
        self.register_outputs({"statements_table": self.table.name})

    def writer_environment(self) -> dict[str, pulumi.Input[str]]:
        return {Env.STATEMENTS_TABLE: self.table.name}

    def writer_statements(self) -> list[dict[str, Any]]:
        """The notifier's one permission here: the conditional write of a new statement."""
        return [statement("WriteStatements", ["dynamodb:PutItem"], [self.table.arn])]

    def reader_environment(self) -> dict[str, pulumi.Input[str]]:
        return {Env.STATEMENTS_TABLE: self.table.name}

    def reader_statements(self) -> list[dict[str, Any]]:
        """The status function's: a job's statements, through the job-id index only."""
        return [statement("ReadJobStatements", ["dynamodb:Query"], [self.job_index_arn])]

    def notice_environment(self) -> dict[str, pulumi.Input[str]]:
        assert self.notice_usage is not None
        return {
            Env.NOTICE_USAGE_TABLE: self.notice_usage.name,
            Env.NOTICES_PER_DAY: str(self.args.notices_per_day),
        }

    def notice_statements(self) -> list[dict[str, Any]]:
        assert self.notice_usage is not None
        return [statement("CountNotices", ["dynamodb:UpdateItem"], [self.notice_usage.arn])]

    def token_secret_arn(self) -> pulumi.Output[str]:
        """The operator's secret, by name: Secrets Manager appends `-` and six random
        characters to its ARN (`-*`: IAM's `?` wildcard is not evaluated by every policy
        simulator, the local cloud's included)."""
        region = aws.get_region_output().region
        account = aws.get_caller_identity_output().account_id
        name = self.args.token_secret
        return pulumi.Output.concat(
            "arn:aws:secretsmanager:", region, ":", account, ":secret:", str(name), "-*"
        )

    def submitter_environment(self) -> dict[str, pulumi.Input[str]]:
        assert self.dlq is not None
        return {
            Env.DSA_API_URL: self.args.api_url,
            Env.DSA_TOKEN_SECRET: str(self.args.token_secret),
            Env.DSA_DLQ_URL: self.dlq.url,
        }

    def submitter_statements(self) -> list[dict[str, Any]]:
        """Read new statements from the stream, the token, and dead-letter what fails."""
        assert self.dlq is not None
        return [
            statement(
                "ReadStatementStream",
                [
                    "dynamodb:DescribeStream",
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                    "dynamodb:ListStreams",
                ],
                [self.table.stream_arn],
            ),
            statement("ReadToken", ["secretsmanager:GetSecretValue"], [self.token_secret_arn()]),
            statement("DeadLetters", ["sqs:SendMessage"], [self.dlq.arn]),
        ]
