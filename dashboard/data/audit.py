"""The audit log for the dashboard: what its actions write, and the Audit log page's table.

Writes go through `lambdas/common/audit.py` (the one writer, also used by the review
API). A stack deployed before the audit log has no `audit_table` output: its actions
still run, and the page says there is no log to read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import pandas as pd
from botocore.exceptions import ClientError

from lambdas.common import audit as behaviour
from lambdas.common.contract import Output
from lambdas.common.timeutil import utcnow

log = logging.getLogger(__name__)

COLUMNS = ["at", "actor", "action", "via", "ids", "id_count", "details"]


def table_of(outputs: Mapping[str, Any]) -> str | None:
    name = outputs.get(Output.AUDIT_TABLE)
    return str(name) if name else None


def record(
    ddb: Any,
    outputs: Mapping[str, Any],
    actor: str,
    action: behaviour.AuditAction,
    ids: Iterable[str] | None,
    now: datetime,
    details: Mapping[str, Any] | None = None,
) -> bool:
    """Write one dashboard action to the stack's audit log; False when it has none."""
    table = table_of(outputs)
    if table is None:
        return False
    behaviour.record(ddb, table, actor, action, ids, now, behaviour.VIA_DASHBOARD, details)
    return True


def recent(ddb: Any, table: str, now: datetime, days: int, limit: int) -> pd.DataFrame:
    """The last `days` of entries, newest first, as plain strings (shown as text)."""
    rows = []
    for item in behaviour.recent(ddb, table, now, days, limit):
        ids = [str(i) for i in item.get("ids") or []]
        details = item.get("details") or {}
        rows.append(
            {
                "at": item.get("at"),
                "actor": item.get("actor"),
                "action": item.get("action"),
                "via": item.get("via"),
                "ids": "all" if item.get("all") else ", ".join(ids),
                "id_count": int(item.get("id_count") or 0),
                "details": ", ".join(f"{k}={v}" for k, v in sorted(details.items())),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def note(
    target: Any,
    actor: str,
    action: behaviour.AuditAction,
    ids: Iterable[str] | None,
    details: Mapping[str, Any] | None = None,
) -> str:
    """Record a dashboard action done on `target` (a `Target`); what to add to the message
    shown for it: nothing when logged, else why not. The action itself has happened, so a
    failed write is said (and logged), not raised."""
    try:
        logged = record(
            target.client("dynamodb"), target.outputs, actor, action, ids, utcnow(), details
        )
    except ClientError as exc:
        log.error("audit write failed for %s: %r", action, exc)
        return f" The audit log could not be written ({exc.response['Error']['Code']})."
    return "" if logged else " (This stack has no audit log.)"
