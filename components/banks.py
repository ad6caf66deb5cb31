"""HashBanks: the hash banks table, its seed from `blocklistHashes`, and the banks function.

Banks are data (docs/banks.md): the custom analyzer reads every enabled bank (one
parallel Scan, cached 30 s) and counts hits on the entries it matches; the `/banks` API
function manages them. Each role gets exactly what it uses of the table:

- custom analyzer: `Scan` (load the banks) and `UpdateItem` (hit counts, quarantine);
- banks function: `GetItem`, `Query`, `Scan`, `PutItem`, `BatchWriteItem`, `UpdateItem`,
  `DeleteItem` on the table, and `s3:GetObject` on the validated originals (`{"job_id"}`
  entries hash the job's stored image).

Migration: `moderation:blocklistHashes` seeds the bank `stack-blocklist` (action
`reject`, dHash distance `blocklistMaxDistance`) with one entry per hash on `pulumi up`;
the analyzer no longer carries the list in its package, so an operator can disable or
delete a seeded entry through the API like any other.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import Component
from components.function import FunctionSpec, statement
from components.settings import StackSettings
from lambdas.common.contract import SEED_BANK, BankAction, Env, Function, HashType

BANK_ITEM = "#bank"


def _typed(value: Any) -> dict[str, Any]:
    """A value in DynamoDB's attribute-value JSON (what a TableItem takes)."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, dict):
        return {"M": {k: _typed(v) for k, v in value.items()}}
    return {"S": str(value)}


def seed_items(s: StackSettings) -> list[dict[str, Any]]:
    """The seeded bank's settings and one entry per `blocklistHashes` hash (none: no bank)."""
    if not s.blocklist_hashes:
        return []
    items: list[dict[str, Any]] = [
        {
            "bank": SEED_BANK,
            "entry_id": BANK_ITEM,
            "action": BankAction.REJECT.value,
            "max_distance": {
                HashType.PDQ.value: 31,
                HashType.DHASH.value: s.blocklist_max_distance,
            },
            "enabled": True,
            "updated_by": "pulumi",
        }
    ]
    for value in sorted({h.lower() for h in s.blocklist_hashes}):
        items.append(
            {
                "bank": SEED_BANK,
                "entry_id": f"seed-{value}",
                HashType.DHASH.value: value,
                "added_by": "pulumi",
                "source": "moderation:blocklistHashes",
                "reason": "seeded from the stack's blocklist",
                "hits": 0,
                "enabled": True,
            }
        )
    return items


class HashBanks(Component):
    def __init__(
        self, name: str, s: StackSettings, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, opts)
        self.settings = s
        self.table = aws.dynamodb.Table(
            self.child("table"),
            name=f"{s.prefix}-banks",
            billing_mode="PAY_PER_REQUEST",
            hash_key="bank",
            range_key="entry_id",
            attributes=[
                {"name": "bank", "type": "S"},
                {"name": "entry_id", "type": "S"},
            ],
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True},
            opts=self.opts(),
        )
        for item in seed_items(s):
            aws.dynamodb.TableItem(
                self.child(f"seed-{item['entry_id'].lstrip('#')}"),
                table_name=self.table.name,
                hash_key="bank",
                range_key="entry_id",
                item=json.dumps({k: _typed(v) for k, v in item.items()}, sort_keys=True),
                # Hits and an operator's changes are the table's own: a later `pulumi up`
                # does not put the seed back over them.
                opts=self.opts(ignore_changes=["item"]),
            )
        self.register_outputs({"table": self.table.name})

    def attach_analyzer(self, spec: FunctionSpec) -> FunctionSpec:
        """The custom analyzer reads the banks (and counts hits) instead of a baked list."""
        spec.environment[Env.BANKS_TABLE] = self.table.name
        spec.statements.append(
            statement(
                "ReadBanksCountHits", ["dynamodb:Scan", "dynamodb:UpdateItem"], [self.table.arn]
            )
        )
        if spec.config and "custom" in spec.config:
            # The list is the seeded bank now (docs/banks.md, migration).
            spec.config["custom"] = {**spec.config["custom"], "blocklist": []}
        return spec

    def attach_reuse(self, spec: FunctionSpec) -> FunctionSpec:
        """Exact-byte verdict reuse reads when the banks last changed (a verdict analysed
        before a change is not reused): only where the function has verdict reuse."""
        if Env.VERDICTS_TABLE not in spec.environment:
            return spec
        spec.environment[Env.BANKS_TABLE] = self.table.name
        spec.statements.append(
            statement("ReadBanksChangeStamp", ["dynamodb:BatchGetItem"], [self.table.arn])
        )
        return spec

    def function_spec(
        self,
        moderator_group: str,
        upload_bucket: pulumi.Input[str],
        uploads_objects: Any,
        audit_table: Any,
    ) -> FunctionSpec:
        return FunctionSpec(
            name=Function.BANKS,
            description="The /banks API: hash banks and their entries (moderators, operators)",
            environment={
                Env.BANKS_TABLE: self.table.name,
                Env.UPLOAD_BUCKET: upload_bucket,
                Env.MODERATOR_GROUP: moderator_group,
                Env.OPERATOR_GROUP: self.settings.banks.operator_group,
                Env.AUDIT_TABLE: audit_table.name,
            },
            statements=[
                statement(
                    "ManageBanks",
                    [
                        "dynamodb:BatchWriteItem",
                        "dynamodb:DeleteItem",
                        "dynamodb:GetItem",
                        "dynamodb:PutItem",
                        "dynamodb:Query",
                        "dynamodb:Scan",
                        "dynamodb:UpdateItem",
                    ],
                    [self.table.arn],
                ),
                # `{"job_id"}` entries: the hashes of the job's validated original.
                statement("HashJobImages", ["s3:GetObject"], [uploads_objects]),
                # Each bank change goes to the audit log (one new entry; never read).
                statement("AuditBankChanges", ["dynamodb:PutItem"], [audit_table.arn]),
            ],
        )
