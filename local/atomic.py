"""Make moto's DynamoDB behave like DynamoDB under concurrent requests.

moto evaluates a ConditionExpression and applies the write as two steps without a
lock, mutates items in place, and its request handlers read the item before and
after the write (for ReturnValues) outside any lock, so two concurrent conditional
writes can both pass and a response can describe another request's write. DynamoDB
applies each single-item operation atomically. Every item operation, from its
handler's first read to its last, runs under one lock, so tests and the local cloud
check the pipeline's logic rather than moto's races. Response serialization (the
costly part) stays outside the lock: it works on copies.
"""

from __future__ import annotations

import functools
import threading

_LOCK = threading.RLock()
_PATCHED_ATTR = "_moderation_atomic"
ITEM_OPERATIONS = (
    "put_item",
    "update_item",
    "delete_item",
    "get_item",
    "query",
    "scan",
    "transact_write_items",
    "transact_get_items",
    "batch_get_item",
    "execute_statement",
    "execute_transaction",
    "batch_execute_statement",
)


def _serialize(cls, name: str) -> None:
    original = getattr(cls, name, None)
    if original is None or getattr(original, _PATCHED_ATTR, False):
        return

    @functools.wraps(original)
    def locked(self, *args, **kwargs):
        with _LOCK:
            return original(self, *args, **kwargs)

    setattr(locked, _PATCHED_ATTR, True)
    setattr(cls, name, locked)


def make_dynamodb_atomic() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler

    for name in ITEM_OPERATIONS:
        _serialize(DynamoDBBackend, name)
        _serialize(DynamoHandler, name)
    _serialize(DynamoHandler, "batch_write_item")
