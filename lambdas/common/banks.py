"""The hash banks table: the one module that reads and writes it.

One table, keyed (`bank`, `entry_id`): a bank's settings are the item whose `entry_id` is
`#bank` (`action`, `max_distance` per hash type, `enabled`), its entries are the other
items (`pdq` and/or `dhash`, `added_by`, `added_at`, `reason`, `source`, `hits`,
`enabled`, and a quarantine's `quarantined_at`/`quarantine_reason`).

The custom analyzer loads every enabled bank (`BankCache`): one parallel Scan, rebuilt at
most every `CACHE_SECONDS`, so a change applies to jobs created that long after it, with
no deploy. A match counts a hit on its entry (`record_hit`); an entry whose hits this
hour run far above its usual hourly rate is quarantined: disabled until an operator
re-enables it (`set_entry_enabled`), with a metric the stack alarms on.

Every change an operator or moderator makes (a bank's settings, an entry added, deleted,
enabled or disabled) also stamps the `CHANGED` item: exact-byte verdict reuse
(`verdicts.usable`) does not reuse a verdict whose analysis may predate it, so an image
banked after it was approved is matched again on its next upload.

CSV in the layout HMA stores a ThreatExchange PDQ signal set in (python-threatexchange's
`HMASerialization`): `export_csv` writes it, `import_csv` reads it or a bare hash list.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from common import bank_index, pdq
from common.contract import (
    BANK_CACHE_SECONDS,
    BANKS_CHANGED_AT,
    BANKS_CHANGED_KEY,
    BankAction,
    HashType,
    JobAttr,
)
from common.timeutil import iso

BANK_ITEM = "#bank"
CHANGED = BANKS_CHANGED_KEY
CHANGED_AT = BANKS_CHANGED_AT
CACHE_SECONDS = BANK_CACHE_SECONDS
SCAN_SEGMENTS = 4
DEFAULT_MAX_DISTANCE: dict[str, int] = {
    HashType.PDQ.value: pdq.DEFAULT_MAX_DISTANCE,
    # 8, not the blocklist's 10: at 10 a cropped text picture matched another text picture
    # in the benchmark (docs/figures.md); at 8 none did and recall held.
    HashType.DHASH.value: 8,
}
MAX_DISTANCE_RANGE = {HashType.PDQ: (0, 64), HashType.DHASH: (0, 32)}
HASH_DIGITS = {HashType.PDQ: pdq.HEX_DIGITS, HashType.DHASH: 16}
MAX_REASON_CHARS = 500
PAGE_SIZE = 100
# Quarantine: an entry with at least this many hits in the current hour, and more than
# `QUARANTINE_FACTOR` times its usual hourly rate (hits before this hour over the hours it
# has existed, at least one an hour).
QUARANTINE_MIN_HITS = 20
QUARANTINE_FACTOR = 10


class BankError(ValueError):
    """Bad input for a bank operation: an `error` code and a message for the API's 400."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error
        self.message = message


@dataclass(frozen=True)
class BankSettings:
    name: str
    action: str
    max_distance: Mapping[str, int]
    enabled: bool

    def item(self) -> dict[str, Any]:
        return {
            "bank": self.name,
            "entry_id": BANK_ITEM,
            "action": self.action,
            "max_distance": dict(self.max_distance),
            "enabled": self.enabled,
        }


def now_iso(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")


def check_bank_name(name: str) -> str:
    if not name or len(name) > 64 or not all(c.isalnum() or c in "-_." for c in name):
        raise BankError("invalid_bank", "a bank name is 1-64 letters, digits, '-', '_' or '.'")
    return name


def parse_settings(name: str, body: Mapping[str, Any]) -> BankSettings:
    """`{"action", "max_distance", "enabled"}`: max_distance is a number (PDQ bits) or
    `{"pdq": n, "dhash": n}`."""
    check_bank_name(name)
    action = body.get("action")
    if action not in tuple(BankAction):
        raise BankError("invalid_action", f"action must be one of {', '.join(BankAction)}")
    distances: dict[str, int] = dict(DEFAULT_MAX_DISTANCE)
    given = body.get("max_distance")
    if isinstance(given, int) and not isinstance(given, bool):
        given = {HashType.PDQ: given}
    if given is not None and not isinstance(given, Mapping):
        raise BankError("invalid_max_distance", "max_distance is a number or {pdq, dhash}")
    for key, value in (given or {}).items():
        if key not in tuple(HashType):
            raise BankError("invalid_max_distance", f"unknown hash type {key!r}")
        low, high = MAX_DISTANCE_RANGE[HashType(key)]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise BankError("invalid_max_distance", f"max_distance.{key} is {low}-{high} bits")
        distances[HashType(key)] = value
    enabled = body.get("enabled", True)
    if not isinstance(enabled, bool):
        raise BankError("invalid_enabled", "enabled is true or false")
    return BankSettings(name, str(action), distances, enabled)


def check_hash(hash_type: str, value: Any) -> str:
    digits = HASH_DIGITS.get(HashType(hash_type))
    text = str(value).strip().lower() if isinstance(value, str) else ""
    if digits is None or len(text) != digits or any(c not in "0123456789abcdef" for c in text):
        raise BankError("invalid_hash", f"{hash_type} is {digits} hex digits")
    return text


# ---- banks ---------------------------------------------------------------------------


def put_bank(table: Any, settings: BankSettings, by: str, now: float) -> dict[str, Any]:
    item = {**settings.item(), "updated_by": by, JobAttr.UPDATED_AT: now_iso(now)}
    table.put_item(Item=item)
    stamp_change(table, now)
    return item


def stamp_change(table: Any, now: float | None = None) -> None:
    """Record that the banks changed at `now` (verdicts analysed before it are not reused)."""
    at = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    table.put_item(Item={**CHANGED, CHANGED_AT: iso(at)})  # milliseconds: compared to jobs


def is_bank_item(item: Mapping[str, Any]) -> bool:
    """Whether a scanned item belongs to a bank (not the change stamp)."""
    return item.get("bank") != CHANGED["bank"]


def get_bank(table: Any, name: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = table.get_item(
        Key={"bank": name, "entry_id": BANK_ITEM}, ConsistentRead=True
    ).get("Item")
    return item


def list_banks(table: Any) -> list[dict[str, Any]]:
    """Every bank's settings, with its entry count and quarantined entries."""
    banks: dict[str, dict[str, Any]] = {}
    entries: dict[str, int] = {}
    quarantined: dict[str, list[str]] = {}
    for item in filter(is_bank_item, scan_all(table)):
        name = str(item["bank"])
        if item["entry_id"] == BANK_ITEM:
            banks[name] = plain(item)
        else:
            entries[name] = entries.get(name, 0) + 1
            if item.get("quarantined_at") and not item.get("enabled", True):
                quarantined.setdefault(name, []).append(str(item["entry_id"]))
    return [
        {**bank, "entries": entries.get(name, 0), "quarantined": sorted(quarantined.get(name, []))}
        for name, bank in sorted(banks.items())
    ]


def plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item with its Decimals as ints (every number here is whole)."""
    out: dict[str, Any] = {}
    for key, value in item.items():
        if isinstance(value, Mapping):
            out[key] = plain(value)
        elif hasattr(value, "as_integer_ratio") and not isinstance(value, bool | int | float):
            out[key] = int(value)
        else:
            out[key] = value
    return out


# ---- entries -------------------------------------------------------------------------


def new_entry(
    hashes: Mapping[str, str], by: str, reason: str | None, source: str, now: float
) -> dict[str, Any]:
    if not hashes:
        raise BankError("missing_hash", "an entry needs a pdq or dhash")
    if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_REASON_CHARS):
        raise BankError("invalid_reason", f"reason is text of at most {MAX_REASON_CHARS} chars")
    entry = {HashType(k).value: check_hash(k, v) for k, v in hashes.items()}
    return {
        **entry,
        "entry_id": uuid.uuid4().hex[:16],
        "added_by": by,
        "added_at": now_iso(now),
        "source": source,
        "reason": reason or "",
        "hits": 0,
        "enabled": True,
    }


def add_entry(table: Any, bank: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    item = {**entry, "bank": bank}
    table.put_item(Item=item, ConditionExpression=Attr("entry_id").not_exists())
    stamp_change(table)
    return item


def add_entries(table: Any, bank: str, entries: list[dict[str, Any]]) -> int:
    with table.batch_writer() as batch:
        for entry in entries:
            batch.put_item(Item={**entry, "bank": bank})
    stamp_change(table)
    return len(entries)


def list_entries(
    table: Any, bank: str, limit: int = PAGE_SIZE, after: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a bank's entries (entry id order) and the id to pass as `after` next."""
    kwargs: dict[str, Any] = {
        "KeyConditionExpression": Key("bank").eq(bank) & Key("entry_id").gt(after or BANK_ITEM),
        "Limit": limit,
    }
    page = table.query(**kwargs)
    items = [plain(i) for i in page.get("Items", [])]
    last = page.get("LastEvaluatedKey")
    return items, (str(last["entry_id"]) if last else None)


def delete_entry(table: Any, bank: str, entry_id: str) -> bool:
    if entry_id == BANK_ITEM:
        return False
    try:
        table.delete_item(
            Key={"bank": bank, "entry_id": entry_id},
            ConditionExpression=Attr("entry_id").exists(),
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    stamp_change(table)  # an allow entry gone may restrict
    return True


def set_entry_enabled(table: Any, bank: str, entry_id: str, enabled: bool, by: str) -> bool:
    """An operator enables (clearing a quarantine) or disables one entry."""
    try:
        table.update_item(
            Key={"bank": bank, "entry_id": entry_id},
            UpdateExpression="SET enabled = :e, updated_by = :b REMOVE quarantined_at",
            ConditionExpression=Attr("entry_id").exists(),
            ExpressionAttributeValues={":e": enabled, ":b": by},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    stamp_change(table)
    return True


def hashes_of_image(data: bytes) -> dict[str, str]:
    """The PDQ (when of usable quality) and dHash of an image's bytes (its first frame)."""
    from common.images import dhash, open_image

    img = open_image(data)
    img.seek(0)
    img = img.convert("RGB")
    out: dict[str, str] = {HashType.DHASH.value: dhash(img)}
    hashed = pdq.hash_image(img)
    if hashed.quality >= pdq.MIN_QUALITY:
        out[HashType.PDQ.value] = hashed.hash
    return out


# ---- hits and quarantine -------------------------------------------------------------


def hour_of(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y%m%d%H")


def record_hit(table: Any, bank: str, entry_id: str, now: float) -> bool:
    """Count a match on an entry; quarantine it if this hour's hits are far above its
    usual rate. True when this hit quarantined it."""
    key = {"bank": bank, "entry_id": entry_id}
    hour = hour_of(now)
    try:
        item = table.update_item(
            Key=key,
            UpdateExpression="ADD hits :one, hour_hits :one",
            ConditionExpression=Attr("hour").eq(hour),
            ExpressionAttributeValues={":one": 1},
            ReturnValues="ALL_NEW",
        )["Attributes"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        try:
            item = table.update_item(
                Key=key,
                UpdateExpression="SET #h = :h, hour_hits = :one ADD hits :one",
                ConditionExpression=Attr("entry_id").exists(),
                ExpressionAttributeNames={"#h": "hour"},
                ExpressionAttributeValues={":h": hour, ":one": 1},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as again:
            if again.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False  # the entry was deleted since the bank was loaded
            raise
    if not should_quarantine(plain(item), now):
        return False
    table.update_item(
        Key=key,
        UpdateExpression="SET enabled = :f, quarantined_at = :t, quarantine_reason = :r",
        ExpressionAttributeValues={
            ":f": False,
            ":t": now_iso(now),
            ":r": f"{int(item['hour_hits'])} hits this hour, far above its usual rate",
        },
    )
    return True


def should_quarantine(entry: Mapping[str, Any], now: float) -> bool:
    this_hour = int(entry.get("hour_hits", 0))
    if this_hour < QUARANTINE_MIN_HITS or not entry.get("enabled", True):
        return False
    before = int(entry.get("hits", 0)) - this_hour
    added = datetime.fromisoformat(str(entry.get("added_at") or now_iso(now))).timestamp()
    hours = max(1.0, (now - added) / 3600 - 1)
    usual = max(1.0, before / hours)
    return this_hour > QUARANTINE_FACTOR * usual


# ---- the analyzer's view -------------------------------------------------------------


# What the analyzer's load reads of each item: about half of an imported entry's bytes,
# so half the Scan pages to fetch and parse (docs/figures.md, bank load).
LOAD_ATTRIBUTES = (
    "bank",
    "entry_id",
    HashType.PDQ.value,
    HashType.DHASH.value,
    "enabled",
    "action",
    "max_distance",
)


def scan_all(
    table: Any, segments: int = SCAN_SEGMENTS, attributes: Sequence[str] = (), raw: bool = False
) -> Iterator[dict[str, Any]]:
    """Every item (only `attributes` of each, when given), in `segments` parallel Scans;
    with `raw`, in DynamoDB's own JSON (`{"S": ...}`), as `_raw_page` keeps it."""
    projection: dict[str, Any] = {}
    if attributes:
        names = {f"#a{i}": name for i, name in enumerate(attributes)}
        projection = {
            "ProjectionExpression": ", ".join(names),
            "ExpressionAttributeNames": names,
        }

    def segment(n: int) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"Segment": n, "TotalSegments": segments, **projection}
        while True:
            page = _raw_page(table, kwargs) if raw else table.scan(**kwargs)
            items.extend(page.get(RAW_ITEMS if raw else "Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    with ThreadPoolExecutor(segments) as pool:
        for items in pool.map(segment, range(segments)):
            yield from items


# ---- the load's Scan pages as DynamoDB sends them ---------------------------------------

RAW_ITEMS = "RawItems"
_raw_wanted = threading.local()


def _keep_items_raw(
    response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    """botocore's `before-parse` hook for the load's Scans. botocore's JSON parser walks the
    service model for every attribute of every item: of the 2.8 s a 100,000-entry load
    took on our machine, 2.2 s (docs/figures.md). Here the page is read with `json.loads`,
    its items are handed over as DynamoDB sent them, and the parser gets the page without
    them (its Count and LastEvaluatedKey, parsed as usual). Only for a Scan this thread
    asked for raw (`_raw_page`), and only for a successful answer."""
    if not getattr(_raw_wanted, "on", False) or response_dict.get("status_code") != 200:
        return
    body = json.loads(response_dict["body"])
    items = body.pop("Items", None)
    if items is None:
        return
    customized_response_dict[RAW_ITEMS] = items
    response_dict["body"] = json.dumps(body).encode()


def _raw_page(table: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """One Scan page whose items are DynamoDB JSON under `RAW_ITEMS`."""
    client = table.meta.client
    client.meta.events.register(
        "before-parse.dynamodb.Scan", _keep_items_raw, unique_id="banks-raw-scan-items"
    )
    _raw_wanted.on = True
    try:
        page: dict[str, Any] = table.scan(**kwargs)
    finally:
        _raw_wanted.on = False
    if RAW_ITEMS not in page:  # a client without the hook's event: the same items, encoded
        encode = TypeSerializer().serialize
        page[RAW_ITEMS] = [{k: encode(v) for k, v in i.items()} for i in page.get("Items", [])]
    return page


def _text(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return str(value["S"]) if isinstance(value, Mapping) and "S" in value else None


def load_banks(table: Any) -> list[bank_index.Bank]:
    """Every enabled bank with its enabled entries, as arrays."""
    return banks_from_raw(scan_all(table, attributes=LOAD_ATTRIBUTES, raw=True))


def banks_from_raw(items: Iterable[Mapping[str, Any]]) -> list[bank_index.Bank]:
    """The enabled banks from the table's items in DynamoDB JSON: an entry's id and hashes
    go straight into its bank's columns, without a deserializer or a dict per entry."""
    settings: dict[str, Mapping[str, Any]] = {}
    columns: dict[str, tuple[list[str], list[str], list[str], list[str]]] = {}
    decode = TypeDeserializer().deserialize
    for item in items:
        bank, entry_id = _text(item, "bank"), _text(item, "entry_id")
        if bank is None or entry_id is None or bank == CHANGED["bank"]:
            continue
        if entry_id == BANK_ITEM:
            settings[bank] = {k: decode(v) for k, v in item.items()}
            continue
        if not (item.get("enabled") or {}).get("BOOL", True):
            continue
        pdq_ids, pdq_hex, dhash_ids, dhash_hex = columns.setdefault(bank, ([], [], [], []))
        value = _text(item, HashType.PDQ.value)
        if value:
            pdq_ids.append(entry_id)
            pdq_hex.append(value)
        value = _text(item, HashType.DHASH.value)
        if value:
            dhash_ids.append(entry_id)
            dhash_hex.append(value)
    return [
        bank_index.bank_of_columns(
            name,
            str(s["action"]),
            {k: int(v) for k, v in (s.get("max_distance") or DEFAULT_MAX_DISTANCE).items()},
            *columns.get(name, ([], [], [], [])),
        )
        for name, s in sorted(settings.items())
        if s.get("enabled", True)
    ]


class BankCache:
    """The enabled banks, reloaded when older than `CACHE_SECONDS` (one per environment)."""

    def __init__(
        self, table: Any, clock: Callable[[], float] = time.time, seconds: float = CACHE_SECONDS
    ) -> None:
        self.table = table
        self.clock = clock
        self.seconds = seconds
        self.loaded_at: float | None = None
        self.banks: list[bank_index.Bank] = []
        self.load_ms = 0.0

    def get(self) -> list[bank_index.Bank]:
        now = self.clock()
        if self.loaded_at is None or now - self.loaded_at >= self.seconds:
            started = time.perf_counter()
            self.banks = load_banks(self.table)
            self.load_ms = round((time.perf_counter() - started) * 1000, 1)
            self.loaded_at = now
        return self.banks


# ---- CSV -----------------------------------------------------------------------------


def export_csv(entries: Sequence[Mapping[str, Any]], hash_type: str = HashType.PDQ) -> str:
    """The entries' hashes of one type in HMA's signal layout (python-threatexchange's
    `HMASerialization`, the `simple.HASH_PDQ.te` file): headerless rows of
    `hash, indicator_id, first_descriptor_id, added_on, labels` (labels space-separated).
    The indicator id is the entry id; there is no ThreatExchange descriptor (0); the
    labels are the entry's source. The reason (free text) is not exported."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for entry in entries:
        if entry.get(hash_type):
            writer.writerow(
                [
                    entry[hash_type],
                    entry.get("entry_id", ""),
                    0,
                    entry.get("added_at", ""),
                    _label(str(entry.get("source") or "")),
                ]
            )
    return out.getvalue()


def _label(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_:." else "_" for c in text)


def import_csv(
    text: str, hash_type: str, by: str, now: float, source: str = "import"
) -> list[dict[str, Any]]:
    """Entries from HMA's signal layout (`hash, indicator_id, first_descriptor_id,
    added_on, labels`, headerless) or a bare list of hashes, one a line. The indicator id
    and labels are kept in the entry's `source` (`<source>:<indicator id>`) and `reason`."""
    rows = [r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r)]
    if not rows:
        raise BankError("empty_csv", "the CSV has no rows")
    out = []
    for number, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row]
        indicator = cells[1] if len(cells) > 1 and cells[1] else ""
        labels = cells[4] if len(cells) > 4 else ""
        try:
            entry = new_entry(
                {hash_type: cells[0]},
                by,
                f"labels: {labels}" if labels else None,
                f"{source}:{indicator}" if indicator else source,
                now,
            )
        except BankError as exc:
            raise BankError("invalid_csv", f"row {number}: {exc.message}") from exc
        out.append(entry)
    return out
