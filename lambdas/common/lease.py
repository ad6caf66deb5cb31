"""A named run lease in DynamoDB: at most one holder at a time, expiring on its own.

The sweeper runs on a schedule with no reserved concurrency (reserving even 1 fails on
accounts whose unreserved concurrency would drop below AWS's minimum of 100). Its work is
safe to repeat, but two overlapping sweeps would double its StuckJobs figure and race for
the same records, so each sweep takes this lease first and a second one skips its run.
The lease expires by itself after `ttl_seconds` (the function's timeout), so a sweeper
that dies holding it blocks at most one schedule period; the table's TTL attribute
removes stale items.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common.conditional import conditional
from common.timeutil import epoch

# The idempotency table's key and TTL attribute (Powertools' schema); lease items are
# named `lease#<name>`, which no idempotency record can be.
KEY = "id"
EXPIRES = "expiration"


@dataclass(frozen=True)
class Lease:
    name: str
    owner: str

    @property
    def key(self) -> dict[str, dict[str, str]]:
        return {KEY: {"S": f"lease#{self.name}"}}


def acquire(ddb: Any, table: str, lease: Lease, now: datetime, ttl_seconds: int) -> bool:
    """Take the lease if no one holds it (or the holder's expired); True if taken."""
    taken, _ = conditional(
        lambda: ddb.put_item(
            TableName=table,
            Item={
                **lease.key,
                "owner": {"S": lease.owner},
                EXPIRES: {"N": str(epoch(now) + ttl_seconds)},
            },
            ConditionExpression="attribute_not_exists(#k) OR #e < :now",
            ExpressionAttributeNames={"#k": KEY, "#e": EXPIRES},
            ExpressionAttributeValues={":now": {"N": str(epoch(now))}},
        )
    )
    return taken


def release(ddb: Any, table: str, lease: Lease) -> None:
    """Give the lease back, if still ours (an expired lease may have a new holder)."""
    conditional(
        lambda: ddb.delete_item(
            TableName=table,
            Key=lease.key,
            ConditionExpression="#o = :me",
            ExpressionAttributeNames={"#o": "owner"},
            ExpressionAttributeValues={":me": {"S": lease.owner}},
        )
    )
