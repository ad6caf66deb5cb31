"""Hash banks for the dashboard's Banks page and the Review page's "reject and add to a bank".

Every read and write goes through `lambdas/common/banks.py`, the code the `/banks` API
runs, with the operator's own credentials; the operator is recorded as `added_by` or
`updated_by` (the AWS caller identity, or `local:<user>` on the local cloud).
"""

from __future__ import annotations

import time
from typing import Any

import boto3
import pandas as pd

from lambdas.common import banks as behaviour
from lambdas.common.contract import BankAction, Output
from lambdas.common.originals import original_key

BANK_COLUMNS = ["bank", "action", "enabled", "pdq", "dhash", "entries", "quarantined"]
ENTRY_COLUMNS = [
    "entry_id",
    "pdq",
    "dhash",
    "reason",
    "source",
    "added_by",
    "added_at",
    "hits",
    "enabled",
    "quarantined_at",
    "quarantine_reason",
]
ACTIONS = tuple(a.value for a in BankAction)


def table_of(target: Any) -> Any:
    """The banks table as a boto3 Table, through the target's endpoint and credentials."""
    name = target.outputs[Output.BANKS_TABLE]
    if target.endpoint_url:
        resource = boto3.resource(
            "dynamodb",
            endpoint_url=target.endpoint_url,
            region_name=target.region,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
    else:
        session = boto3.Session(profile_name=target.profile, region_name=target.region)
        resource = session.resource("dynamodb")
    return resource.Table(name)


def banks_frame(table: Any) -> pd.DataFrame:
    rows = []
    for bank in behaviour.list_banks(table):
        distances = bank.get("max_distance") or {}
        rows.append(
            {
                "bank": bank["bank"],
                "action": bank.get("action"),
                "enabled": bank.get("enabled", True),
                "pdq": distances.get("pdq"),
                "dhash": distances.get("dhash"),
                "entries": bank.get("entries", 0),
                "quarantined": len(bank.get("quarantined", [])),
            }
        )
    return pd.DataFrame(rows, columns=BANK_COLUMNS)


def entries_frame(table: Any, bank: str, limit: int = 500) -> tuple[pd.DataFrame, bool]:
    """The first `limit` entries of a bank, and whether there are more."""
    items, after = behaviour.list_entries(table, bank, limit)
    rows = [{c: item.get(c) for c in ENTRY_COLUMNS} for item in items]
    return pd.DataFrame(rows, columns=ENTRY_COLUMNS), after is not None


def quarantined(table: Any) -> pd.DataFrame:
    """Every quarantined entry, of every bank."""
    rows = []
    for bank in behaviour.list_banks(table):
        for entry_id in bank.get("quarantined", []):
            rows.append({"bank": bank["bank"], "entry_id": entry_id})
    return pd.DataFrame(rows, columns=["bank", "entry_id"])


def save_bank(
    table: Any, name: str, action: str, pdq: int, dhash: int, enabled: bool, who: str
) -> dict[str, Any]:
    """Create or change a bank (a BankError names what is wrong)."""
    settings = behaviour.parse_settings(
        name, {"action": action, "max_distance": {"pdq": pdq, "dhash": dhash}, "enabled": enabled}
    )
    return behaviour.put_bank(table, settings, who, time.time())


def set_entry(table: Any, bank: str, entry_id: str, enabled: bool, who: str) -> bool:
    return behaviour.set_entry_enabled(table, bank, entry_id, enabled, who)


def delete_entry(table: Any, bank: str, entry_id: str) -> bool:
    return behaviour.delete_entry(table, bank, entry_id)


def import_csv(table: Any, bank: str, text: str, hash_type: str, source: str, who: str) -> int:
    entries = behaviour.import_csv(text, hash_type, who, time.time(), source or "import")
    return behaviour.add_entries(table, bank, entries)


def export_csv(table: Any, bank: str, hash_type: str = "pdq") -> str:
    entries: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        items, after = behaviour.list_entries(table, bank, 500, after)
        entries += items
        if after is None:
            return behaviour.export_csv(entries, hash_type)


def add_job(
    table: Any, s3: Any, bucket: str, bank: str, job_id: str, reason: str, who: str
) -> dict[str, Any]:
    """Add a job's stored original to a bank (its PDQ when usable, and its dHash)."""
    if behaviour.get_bank(table, bank) is None:
        raise behaviour.BankError("not_found", f"no bank {bank!r}")
    data = s3.get_object(Bucket=bucket, Key=original_key(job_id))["Body"].read()
    hashes = behaviour.hashes_of_image(data)
    entry = behaviour.new_entry(hashes, who, reason or None, f"job:{job_id}", time.time())
    return behaviour.add_entry(table, bank, entry)
