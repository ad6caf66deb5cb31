"""Make moto's index queries cost what they match, as DynamoDB's do.

moto answers a Query on a secondary index by sorting every item of the table, then
sorting every item with the partition key, and only then applying the sort-key
condition; each page of a paginated query does it all again. A query for the last
hour of `complete` jobs in a table of 100,000 takes seconds per page, which DynamoDB
answers from the index in milliseconds. Here the partition-key equality and the
sort-key condition select the candidates first, in one pass, and moto's own query
runs over those: the same items, order, pages and LastEvaluatedKey, for a fraction
of the work. Queries this does not recognise (multi-attribute keys) are left to moto.
"""

from __future__ import annotations

import heapq
import inspect
import time

from local.moto_patches.atomic import _LOCK
from local.moto_patches.patching import patch_once

_PATCHED_ATTR = "_moderation_index_query"


def _cast(value):
    """DynamoType.cast_value (what moto compares), without its checks for strings."""
    return value.value if value.type == "S" else value.cast_value


def index_keys(table, index_name: str) -> tuple[str, str | None] | None:
    """(partition key, sort key or None) of a one-attribute-key index, else None."""
    index = next((i for i in table.all_indexes() if i.name == index_name), None)
    if index is None:
        return None
    hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
    ranges = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
    if len(hashes) != 1 or len(ranges) > 1:
        return None
    return hashes[0], (ranges[0] if ranges else None)


# Index partitions, built in one pass over a table and reused until the next write.
# Any write through moto's backend bumps _WRITES; BUCKET_SECONDS bounds the reuse even
# so (GSI reads are eventually consistent on DynamoDB too).
BUCKET_SECONDS = 0.5
WRITE_OPERATIONS = (
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "execute_statement",
    "execute_transaction",
    "batch_execute_statement",
    "create_table",
    "delete_table",
    "update_table",
    "restore_table_from_backup",
    "restore_table_to_point_in_time",
    "import_table",
)
_WRITES = [0]
_BUCKETS: dict[tuple[int, str], tuple[int, float, dict]] = {}


def _partitions(table, index_name: str, hash_attr: str, range_attr: str | None) -> dict:
    """{(type, value) of the index partition key: [items in the index]} for one index."""
    from moto.dynamodb.models.dynamo_type import Item

    key = (id(table), index_name)
    cached = _BUCKETS.get(key)
    now = time.monotonic()
    if cached and cached[0] == _WRITES[0] and now - cached[1] < BUCKET_SECONDS:
        return cached[2]
    for stale in [k for k, v in _BUCKETS.items() if v[0] != _WRITES[0]]:
        del _BUCKETS[stale]  # written since: never served again, so not kept alive
    parts: dict = {}
    for entry in table.items.values():
        for item in entry.values() if table.range_key_attr else (entry,):
            if not isinstance(item, Item):
                continue
            attrs = item.attrs
            value = attrs.get(hash_attr)
            if value is None or (range_attr is not None and not attrs.get(range_attr)):
                continue  # not in the index
            parts.setdefault((value.type, _cast(value)), []).append(item)
    _BUCKETS[key] = (_WRITES[0], now, parts)
    return parts


def candidates(
    table,
    index_name: str,
    keys: tuple[str, str | None],
    hash_attr_asked: str | None,
    hash_value,
    range_comparison,
    range_objs,
):
    """The items the index query can return, or None when the fast path does not apply."""
    from moto.dynamodb.comparisons import get_comparison_func

    hash_attr, range_attr = keys
    if hash_attr_asked not in (None, hash_attr):
        return None  # not the index's partition key: moto's own validation answers
    if range_comparison and range_attr is None:
        return None  # moto raises its own error for this
    try:
        partition = _partitions(table, index_name, hash_attr, range_attr).get(
            (hash_value.type, _cast(hash_value)), []
        )
    except TypeError:
        return None  # an unhashable key value (not a valid key type): moto answers
    if not range_comparison:
        return list(partition)
    compare = get_comparison_func(range_comparison)
    bounds = [obj.cast_value for obj in range_objs or []]
    return [item for item in partition if compare(_cast(item.attrs[range_attr]), *bounds)]


def _counting_writes(original):
    def write(self, *args, **kwargs):
        try:
            return original(self, *args, **kwargs)
        finally:
            _WRITES[0] += 1

    return write


def one_page_only(table, range_attr: str | None, subset: list, limit, start_key, forward) -> list:
    """The `limit` + 1 items in index order after `start_key`, when that is all a page reads.

    Index order is the index's sort key, then the table's keys (moto's own order, which
    is total), so the cut keeps exactly the items moto's page would walk through: those
    after the exclusive start key (moto skips every item before or at it), then the
    first `limit`; the one extra item tells moto there is a next page. A page deep in a
    large partition therefore costs what it returns, as on DynamoDB, not a sort of the
    whole partition.
    """
    if range_attr is None or not limit or len(subset) <= limit + 1:
        return subset
    from moto.dynamodb.models.dynamo_type import DynamoType

    names = [range_attr, table.hash_key_attr, table.range_key_attr]
    names = [n for n in names if n]

    def key(item):
        # DynamoType orders by cast_value; comparing those directly is the same order.
        return tuple(_cast(item.attrs[n]) for n in names)

    backwards = forward is False
    if start_key:
        if not all(n in start_key for n in names):
            return subset  # a start key of another shape: moto's own walk decides
        start = tuple(_cast(DynamoType(start_key[n])) for n in names)
        try:
            after = [i for i in subset if (key(i) < start if backwards else key(i) > start)]
        except TypeError:
            return subset  # values that do not compare (mixed types): moto decides
        subset = after
    pick = heapq.nlargest if backwards else heapq.nsmallest
    return pick(limit + 1, subset, key=key)


def _fast(original):
    signature = inspect.signature(original)

    def query(self, *args, **kwargs):
        a = signature.bind(self, *args, **kwargs).arguments
        index_name = a.get("index_name")
        conditions = a.get("hash_key_conditions") or []
        range_conditions = a.get("range_key_conditions") or []
        hash_attr, hash_value = conditions[0] if conditions else (None, a.get("hash_key"))
        keys = (
            index_keys(self, index_name)
            if index_name
            and hash_value is not None
            and len(conditions) <= 1
            and len(range_conditions) <= 1
            else None
        )
        if keys is None:
            return original(self, *args, **kwargs)
        with _LOCK:
            subset = candidates(
                self,
                index_name,
                keys,
                hash_attr,
                hash_value,
                a.get("range_comparison"),
                a.get("range_objs"),
            )
            if subset is None:
                return original(self, *args, **kwargs)
            subset = one_page_only(
                self,
                keys[1],
                subset,
                a.get("limit"),
                a.get("exclusive_start_key"),
                a.get("scan_index_forward"),
            )
            self.all_items = lambda: subset  # moto's query starts from all_items()
            try:
                return original(self, *args, **kwargs)
            finally:
                del self.all_items

    return query


def make_index_queries_fast() -> None:
    """Patch moto's Table.query (and count its backend's writes) once per process."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    for name in WRITE_OPERATIONS:
        patch_once(DynamoDBBackend, name, _PATCHED_ATTR, _counting_writes)
    patch_once(Table, "query", _PATCHED_ATTR, _fast)
