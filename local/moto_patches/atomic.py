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

import threading

from local.moto_patches.patching import patch_once

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


def _locked(original):
    def locked(self, *args, **kwargs):
        with _LOCK:
            return original(self, *args, **kwargs)

    return locked


def make_dynamodb_atomic() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler

    for name in ITEM_OPERATIONS:
        patch_once(DynamoDBBackend, name, _PATCHED_ATTR, _locked)
        patch_once(DynamoHandler, name, _PATCHED_ATTR, _locked)
    patch_once(DynamoHandler, "batch_write_item", _PATCHED_ATTR, _locked)
