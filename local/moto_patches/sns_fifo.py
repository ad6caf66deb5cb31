"""Make moto's FIFO topics deduplicate the way SNS does.

moto hands a FIFO topic's MessageDeduplicationId on to the subscribed queues and lets
an SQS FIFO queue drop the repeat, but the topic itself delivers every publish. SNS
drops a publish whose deduplication id (or body hash, with content-based
deduplication) it accepted in the last five minutes, for every subscriber, and
answers it as a success. Here the topic does the same, so what a subscriber of the
local cloud receives is what it would receive on AWS.
"""

from __future__ import annotations

import hashlib
import threading
import time

from local.moto_patches.patching import patch_once

DEDUPLICATION_SECONDS = 300
_PATCHED_ATTR = "_moderation_fifo_dedup"
_LOCK = threading.Lock()


def _truthy(value) -> bool:
    return str(value).lower() == "true"


def dedup_key(topic, message: str, group_id: str | None, deduplication_id: str | None):
    """The key SNS deduplicates on, or None for a topic that does not deduplicate."""
    if not _truthy(getattr(topic, "fifo_topic", False)):
        return None
    dedup = deduplication_id
    if dedup is None and _truthy(getattr(topic, "content_based_deduplication", False)):
        dedup = hashlib.sha256(message.encode()).hexdigest()
    if dedup is None:
        return None
    per_group = str(getattr(topic, "fifo_throughput_scope", "Topic")) == "MessageGroup"
    return ((group_id or "") if per_group else "", dedup)


def clock() -> float:
    """When a publish was accepted (module level so tests can move time on)."""
    return time.monotonic()


def _deduplicating(original):
    def publish(self, message, *args, group_id=None, deduplication_id=None, **kwargs):
        key = dedup_key(self, message, group_id, deduplication_id)
        if key is None:
            return original(
                self, message, *args, group_id=group_id, deduplication_id=deduplication_id, **kwargs
            )
        with _LOCK:
            # Kept on the topic object: a new moto backend (a new test) starts clean.
            seen = self.__dict__.setdefault("_moderation_dedup_seen", {})
            now = clock()
            for stale in [k for k, (t, _) in seen.items() if now - t >= DEDUPLICATION_SECONDS]:
                del seen[stale]
            if key in seen:
                return seen[key][1]  # accepted, not delivered again
            message_id = original(
                self, message, *args, group_id=group_id, deduplication_id=deduplication_id, **kwargs
            )
            seen[key] = (now, message_id)
            return message_id

    return publish


def make_sns_fifo_dedup() -> None:
    """Patch moto's Topic.publish once per process."""
    from moto.sns.models import Topic

    patch_once(Topic, "publish", _PATCHED_ATTR, _deduplicating)
