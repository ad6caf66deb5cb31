"""Make moto's DynamoDB behave like DynamoDB under concurrent requests.

moto evaluates a ConditionExpression and applies the write as two steps without a
lock, so two concurrent conditional writes can both pass. DynamoDB applies each
single-item write atomically. Serializing every DynamoDB (and Streams) request
through one lock restores that guarantee, so tests and the local cloud check the
pipeline's logic rather than moto's races.
"""

from __future__ import annotations

import functools
import threading

_LOCK = threading.RLock()
_PATCHED_ATTR = "_moderation_atomic"


def _serialize(cls) -> None:
    original = cls.call_action
    if getattr(original, _PATCHED_ATTR, False):
        return

    @functools.wraps(original)
    def call_action(self, *args, **kwargs):
        with _LOCK:
            return original(self, *args, **kwargs)

    setattr(call_action, _PATCHED_ATTR, True)
    cls.call_action = call_action


def make_dynamodb_atomic() -> None:
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    _serialize(DynamoHandler)
    _serialize(DynamoDBStreamsHandler)
