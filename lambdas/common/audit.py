"""The audit log: who did what to which ids, and when — every console and moderator action.

One writer (`record`) for every action: a verdict (console or API), a dead-letter redrive
or delete, and the actions added later (appeal decisions, bank changes). Entries go to
the audit table (`Output.AUDIT_TABLE`, `Env.AUDIT_TABLE`), partitioned by UTC day and
sorted by time, so "the last N days, newest first" is one Query per day and no Scan:

    day (hash)   "2026-12-07"
    entry (range) "2026-12-07T19:50:01.123Z#<random>"  (unique even within a millisecond)
    actor, action, ids (list), via ("dashboard" | "api"), details (map), at

An entry is written once (conditional on its key being new) and never updated. Details
hold the action's parameters and outcome counts, never what was read from an image: a
verdict's note stays with the job, not here.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from common.jobs import deserialize, serialize
from common.timeutil import iso

MAX_IDS = 100  # ids kept per entry; `id_count` says how many there were
MAX_DAYS = 90  # the longest look back one read makes


class AuditAction(StrEnum):
    VERDICT = "verdict"
    REDRIVE = "redrive"
    DELETE = "delete"
    APPEAL_DECISION = "appeal_decision"
    QA_DECISION = "qa_decision"
    BANK_CHANGE = "bank_change"


VIA_DASHBOARD = "dashboard"
VIA_API = "api"


def day_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


def entry(
    actor: str,
    action: AuditAction | str,
    ids: Iterable[str] | None,
    now: datetime,
    via: str,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The item for one action; `ids` None means every item the action reached (a
    redrive of a whole queue), recorded as `all`."""
    if not actor:
        raise ValueError("an audit entry names who acted")
    every = ids is None
    named = [] if ids is None else [str(i) for i in ids]
    at = iso(now)
    item: dict[str, Any] = {
        "day": day_of(now),
        "entry": f"{at}#{secrets.token_hex(6)}",
        "at": at,
        "actor": actor,
        "action": str(action),
        "via": via,
        "ids": named[:MAX_IDS],
        "id_count": len(named),
        "all": every,
    }
    if details:
        item["details"] = {str(k): v for k, v in details.items() if v is not None}
    return item


def record(
    ddb: Any,
    table: str,
    actor: str,
    action: AuditAction | str,
    ids: Iterable[str] | None,
    now: datetime,
    via: str,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write one entry (never overwriting another); returns it."""
    item = entry(actor, action, ids, now, via, details)
    ddb.put_item(
        TableName=table,
        Item=serialize(item),
        ConditionExpression="attribute_not_exists(#e)",
        ExpressionAttributeNames={"#e": "entry"},
    )
    return item


def recent(
    ddb: Any, table: str, now: datetime, days: int = 7, limit: int = 500
) -> list[dict[str, Any]]:
    """Entries of the last `days` UTC days (today included), newest first, at most `limit`."""
    days = max(1, min(days, MAX_DAYS))
    found: list[dict[str, Any]] = []
    for back in range(days):
        day = day_of(now - timedelta(days=back))
        cursor: dict[str, Any] | None = None
        while len(found) < limit:
            kwargs: dict[str, Any] = {
                "TableName": table,
                "KeyConditionExpression": "#d = :d",
                "ExpressionAttributeNames": {"#d": "day"},
                "ExpressionAttributeValues": {":d": {"S": day}},
                "ScanIndexForward": False,
                "Limit": min(100, limit - len(found)),
            }
            if cursor:
                kwargs["ExclusiveStartKey"] = cursor
            page = ddb.query(**kwargs)
            found += [d for i in page.get("Items", []) if (d := deserialize(i)) is not None]
            cursor = page.get("LastEvaluatedKey")
            if not cursor:
                break
        if len(found) >= limit:
            break
    return found
