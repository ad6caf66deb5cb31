"""UploadQuotas: the usage table behind the per-user upload limits (lambdas/common/quotas.py).

One item per user and UTC day: the day's count, a counter per minute that had uploads
and the digests of the day's Idempotency-Keys. Each upload makes one conditional
UpdateItem (1 write unit: the item stays well under 1 KB for a normal user); the TTL
deletes an item a day after its day ends, so the table holds about two days of active
users. The index on (day, day_count) lists the day's heaviest uploaders, most first,
for the dashboard; it projects the user only. No PITR: the counts are worth a day.

Only the upload function may touch it, and only with UpdateItem (`statements`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import Component
from components.function import statement
from lambdas.common.contract import USAGE_DAY_INDEX, USAGE_KEY, Env


@dataclass
class UploadQuotasArgs:
    prefix: str
    force_destroy: bool
    uploads_per_minute: int
    uploads_per_day: int


class UploadQuotas(Component):
    def __init__(
        self, name: str, args: UploadQuotasArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, opts)
        self.args = args
        self.table = aws.dynamodb.Table(
            self.child("usage"),
            name=f"{args.prefix}-upload-usage",
            billing_mode="PAY_PER_REQUEST",
            hash_key=USAGE_KEY,
            attributes=[
                {"name": USAGE_KEY, "type": "S"},
                {"name": "day", "type": "S"},
                {"name": "day_count", "type": "N"},
            ],
            global_secondary_indexes=[
                {
                    "name": USAGE_DAY_INDEX,
                    "hash_key": "day",
                    "range_key": "day_count",
                    "projection_type": "INCLUDE",
                    "non_key_attributes": ["user_id"],
                }
            ],
            ttl={"attribute_name": "expires_at", "enabled": True},
            server_side_encryption={"enabled": True},
            deletion_protection_enabled=not args.force_destroy,
            opts=self.opts(),
        )
        self.register_outputs({"usage_table": self.table.name})

    def environment(self) -> dict[str, pulumi.Input[str]]:
        """What the upload function reads its limits from."""
        return {
            Env.USAGE_TABLE: self.table.name,
            Env.UPLOADS_PER_MINUTE: str(self.args.uploads_per_minute),
            Env.UPLOADS_PER_DAY: str(self.args.uploads_per_day),
        }

    def statements(self) -> list[dict[str, Any]]:
        """The upload function's one permission here: the conditional count."""
        return [statement("CountUploads", ["dynamodb:UpdateItem"], [self.table.arn])]
