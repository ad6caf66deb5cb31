"""Event source mappings and triggers, as the Lambda service runs them.

- SQS: long polling, batch size and batching window, partial batch responses; a
  message the function fails is left for SQS to redeliver after its visibility
  timeout, and moto's redrive moves it to the DLQ at maxReceiveCount.
- DynamoDB Streams (read from moto's in-process shard): in-order batches, filter criteria, partial batch
  responses (checkpoint before the first failure), bisect on error, retry limit,
  and an on-failure destination record once retries are exhausted.
- S3 notifications: moto delivers ObjectCreated events to an internal queue; they
  are invoked asynchronously, as S3 invokes Lambda.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from local.registry import MappingDef, S3TriggerDef

log = logging.getLogger("local.runtime.event_sources")


def matches(pattern: Any, value: Any) -> bool:
    """The subset of Lambda's filter rule syntax the program uses: nested keys and value lists."""
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            return False
        return all(matches(p, value.get(k)) for k, p in pattern.items())
    if isinstance(pattern, list):
        for option in pattern:
            if isinstance(option, dict):
                if "exists" in option and (value is not None) == bool(option["exists"]):
                    return True
                if (
                    "prefix" in option
                    and isinstance(value, str)
                    and value.startswith(option["prefix"])
                ):
                    return True
            elif value == option:
                return True
        return False
    return pattern == value


def passes_filters(filters: list[str], record: dict) -> bool:
    if not filters:
        return True
    return any(matches(json.loads(f), record) for f in filters)


class DirectQueue:
    """The SQS calls of the event source mapping, made on moto's in-process queue.

    The Lambda service's poller is internal to AWS; here it talks to the queue's state
    directly, so polling costs neither side an HTTP round trip. Semantics are moto's
    own: visibility timeout, receive counts and the redrive to the DLQ.
    """

    # moto's receive is not safe against itself: two concurrent receives can both move
    # the same message to the DLQ. The pollers of one queue take turns.
    _locks: dict[str, threading.Lock] = {}

    def __init__(self, queue_url: str, region: str) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.sqs.models import sqs_backends

        self.name = queue_url.rsplit("/", 1)[1]
        self.backend = sqs_backends[DEFAULT_ACCOUNT_ID][region]
        self.lock = self._locks.setdefault(queue_url, threading.Lock())

    def receive_message(self, QueueUrl, MaxNumberOfMessages, WaitTimeSeconds, **_):  # noqa: N803 - boto3's names
        queue = self.backend.get_queue(self.name)
        deadline = time.monotonic() + WaitTimeSeconds
        while True:
            with self.lock:
                messages = self.backend.receive_message(
                    self.name, MaxNumberOfMessages, 0, queue.visibility_timeout, ["All"]
                )
            if messages or time.monotonic() >= deadline:
                break
            time.sleep(0.05)  # long polling, without holding the lock while waiting
        return {
            "Messages": [
                {
                    "MessageId": m.id,
                    "ReceiptHandle": m.receipt_handle,
                    "Body": m.body,
                    "MD5OfBody": m.body_md5,
                    "Attributes": {
                        "ApproximateReceiveCount": str(m.approximate_receive_count),
                        "SentTimestamp": str(m.sent_timestamp),
                        "SenderId": m.sender_id,
                        "ApproximateFirstReceiveTimestamp": str(
                            m.approximate_first_receive_timestamp
                        ),
                    },
                    "MessageAttributes": dict(m.message_attributes or {}),
                }
                for m in messages
            ]
        }

    def delete_message_batch(self, QueueUrl, Entries):  # noqa: N803 - boto3's names
        with self.lock:
            for entry in Entries:
                self.backend.delete_message(self.name, entry["ReceiptHandle"])


class SqsEventSource:
    def __init__(
        self, mapping: MappingDef, queue_url: str, lambdas, sqs, faults, region: str
    ) -> None:
        self.mapping = mapping
        self.queue_url = queue_url
        self.lambdas = lambdas
        self.sqs = sqs
        self.faults = faults
        self.region = region
        pool = lambdas.pools[mapping.function]
        limit = mapping.max_concurrency or pool.capacity
        self.concurrency = max(1, min(limit, pool.capacity))
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, daemon=True, name=f"sqs-{mapping.function}-{i}")
            for i in range(self.concurrency)
        ]
        self.invocations = 0

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()

    def _receive(self) -> list[dict]:
        batch: list[dict] = []
        deadline = time.monotonic() + self.mapping.batching_window
        while len(batch) < self.mapping.batch_size and not self._stop.is_set():
            wait = 1 if not batch else max(0, min(1, int(deadline - time.monotonic())))
            out = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, self.mapping.batch_size - len(batch)),
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            messages = out.get("Messages", [])
            batch.extend(messages)
            if not messages and batch:
                break
            if not messages and not batch:
                return []
            if self.mapping.batching_window <= 0 or time.monotonic() >= deadline:
                break
        return batch

    def _record(self, msg: dict) -> dict:
        attrs = msg.get("Attributes", {})
        return {
            "messageId": msg["MessageId"],
            "receiptHandle": msg["ReceiptHandle"],
            "body": msg["Body"],
            "attributes": {
                "ApproximateReceiveCount": attrs.get("ApproximateReceiveCount", "1"),
                "SentTimestamp": attrs.get("SentTimestamp", "0"),
                "SenderId": attrs.get("SenderId", "local"),
                "ApproximateFirstReceiveTimestamp": attrs.get(
                    "ApproximateFirstReceiveTimestamp", "0"
                ),
            },
            "messageAttributes": {
                k: {
                    "stringValue": v.get("StringValue"),
                    "binaryValue": v.get("BinaryValue"),
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": v.get("DataType"),
                }
                for k, v in (msg.get("MessageAttributes") or {}).items()
            },
            "md5OfBody": msg.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.mapping.source_arn,
            "awsRegion": self.region,
        }

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                batch = self._receive()
                if not batch:
                    continue
                event = {"Records": [self._record(m) for m in batch]}
                if self.faults and self.faults.duplicate_sqs():
                    # At-least-once delivery: the same messages reach a second invocation.
                    threading.Thread(
                        target=self.lambdas.invoke, args=(self.mapping.function, event), daemon=True
                    ).start()
                self._deliver(batch, event)
            except Exception:  # noqa: BLE001 - a poller survives errors, as the Lambda service does; logged
                log.exception("SQS poller for %s failed; retrying", self.mapping.function)
                time.sleep(1)

    def _deliver(self, batch: list[dict], event: dict) -> None:
        inv = self.lambdas.invoke(self.mapping.function, event, wait=True)
        self.invocations += 1
        if not inv.ok:
            return  # every message becomes visible again after the visibility timeout
        failed: set[str] = set()
        if self.mapping.report_batch_item_failures and isinstance(inv.payload, dict):
            ids = {m["MessageId"] for m in batch}
            items = inv.payload.get("batchItemFailures") or []
            failed = {i.get("itemIdentifier") for i in items if isinstance(i, dict)}
            if not failed <= ids or any(not i for i in failed):
                return  # an invalid response fails the whole batch, as on AWS
        done = [m for m in batch if m["MessageId"] not in failed]
        for i in range(0, len(done), 10):
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                    for n, m in enumerate(done[i : i + 10])
                ],
            )


class ShardReader:
    """Reads a table's stream shard from moto's in-process state, as the Lambda service's
    poller reads it on AWS, without a GetRecords round trip per poll.

    Records that every reader of the shard has consumed are trimmed beyond the newest
    `retain` (AWS keeps 24 hours), so a long run does not grow without bound.
    """

    readers: dict[int, list[ShardReader]] = {}
    _lock = threading.Lock()

    def __init__(
        self, stream_arn: str, starting_position: str, region: str, retain: int = 20000
    ) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        table_name = stream_arn.split(":", 5)[5].split("/")[1]
        table = dynamodb_backends[DEFAULT_ACCOUNT_ID][region].get_table(table_name)
        self.shard = table.stream_shard
        self.retain = retain
        start = self.shard.starting_sequence_number
        self.position = (
            start if starting_position == "TRIM_HORIZON" else start + len(self.shard.items)
        )
        with self._lock:
            self.readers.setdefault(id(self.shard), []).append(self)

    def read(self, limit: int) -> list[dict]:
        records = self.shard.get(self.position, limit)
        self.position += len(records)
        out = []
        for rec in records:
            change = dict(rec["dynamodb"])
            created = change.get("ApproximateCreationDateTime")
            if isinstance(created, datetime):
                change["ApproximateCreationDateTime"] = created.timestamp()
            out.append({**rec, "dynamodb": change})
        self._trim()
        return out

    def _trim(self) -> None:
        with self._lock:
            slowest = min(r.position for r in self.readers[id(self.shard)])
            excess = min(
                slowest - self.shard.starting_sequence_number, len(self.shard.items) - self.retain
            )
            if excess > 0:
                # Dropping k records and raising the start by k keeps sequence numbers stable.
                del self.shard.items[:excess]
                self.shard.starting_sequence_number += excess


class StreamEventSource:
    def __init__(self, mapping: MappingDef, lambdas, send_to_queue, region: str) -> None:
        self.mapping = mapping
        self.lambdas = lambdas
        self.send_to_queue = send_to_queue
        self.region = region
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, daemon=True, name=f"stream-{mapping.function}"
        )
        self.buffer: list[dict] = []
        self.reader: ShardReader | None = None
        self.invocations = 0
        self.lag = 0

    def start(self) -> None:
        self.reader = ShardReader(
            self.mapping.source_arn, self.mapping.starting_position or "LATEST", self.region
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _fetch(self) -> None:
        assert self.reader is not None
        for rec in self.reader.read(1000):
            rec["eventSourceARN"] = self.mapping.source_arn
            rec.setdefault("awsRegion", self.region)
            self.buffer.append(rec)

    def _loop(self) -> None:
        attempts = 0
        size = self.mapping.batch_size
        window_started: float | None = None
        while not self._stop.is_set():
            try:
                if len(self.buffer) < self.mapping.batch_size:
                    self._fetch()
                self.buffer = (
                    [r for r in self.buffer if passes_filters(self.mapping.filters, r)]
                    if self.mapping.filters
                    else self.buffer
                )
                self.lag = len(self.buffer)
                if not self.buffer:
                    window_started = None
                    self._stop.wait(0.25)
                    continue
                if len(self.buffer) < self.mapping.batch_size and self.mapping.batching_window:
                    window_started = window_started or time.monotonic()
                    if time.monotonic() - window_started < self.mapping.batching_window:
                        self._stop.wait(0.1)
                        continue
                window_started = None
                batch = self.buffer[:size]
                inv = self.lambdas.invoke(self.mapping.function, {"Records": batch}, wait=True)
                self.invocations += 1
                if inv.ok:
                    failed_at = self._first_failure(batch, inv.payload)
                    if failed_at is None:
                        self.buffer = self.buffer[len(batch) :]
                        attempts, size = 0, self.mapping.batch_size
                        continue
                    self.buffer = self.buffer[failed_at:]  # checkpoint before the failure
                attempts += 1
                limit = self.mapping.max_retries
                if limit is not None and limit >= 0 and attempts > limit:
                    self._give_up(self.buffer[:size])
                    attempts, size = 0, self.mapping.batch_size
                    continue
                if self.mapping.bisect_on_error and not inv.ok and size > 1:
                    size = max(1, size // 2)
                self._stop.wait(min(5.0, 0.2 * 2 ** min(attempts, 5)))
            except Exception:  # noqa: BLE001 - a poller survives errors, as the Lambda service does; logged
                log.exception("stream poller for %s failed; retrying", self.mapping.function)
                time.sleep(1)

    def _first_failure(self, batch: list[dict], payload: Any) -> int | None:
        if not self.mapping.report_batch_item_failures or not isinstance(payload, dict):
            return None
        ids = [i.get("itemIdentifier") for i in payload.get("batchItemFailures") or []]
        if not ids:
            return None
        seqs = [r["dynamodb"]["SequenceNumber"] for r in batch]
        positions = [seqs.index(i) for i in ids if i in seqs]
        return min(positions) if positions else 0

    def _give_up(self, batch: list[dict]) -> None:
        fn = self.lambdas.registry.functions[self.mapping.function]
        first, last = batch[0], batch[-1]
        record = {
            "requestContext": {
                "requestId": f"local-{time.time_ns()}",
                "functionArn": fn.arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": (self.mapping.max_retries or 0) + 1,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "DDBStreamBatchInfo": {
                "shardId": self.reader.shard.id if self.reader else "",
                "startSequenceNumber": first["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": last["dynamodb"]["SequenceNumber"],
                "batchSize": len(batch),
                "streamArn": self.mapping.source_arn,
            },
        }
        self.buffer = self.buffer[len(batch) :]
        if self.mapping.on_failure_arn:
            self.send_to_queue(self.mapping.on_failure_arn, json.dumps(record))
        else:
            log.error("stream batch for %s discarded after retries: no destination", fn.name)


class S3Trigger:
    def __init__(self, trigger: S3TriggerDef, lambdas, sqs) -> None:
        self.trigger = trigger
        self.lambdas = lambdas
        self.sqs = sqs
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name=f"s3-{trigger.bucket}")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                out = self.sqs.receive_message(
                    QueueUrl=self.trigger.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
                )
                for msg in out.get("Messages", []):
                    body = json.loads(msg["Body"])
                    if body.get("Records"):
                        self.lambdas.invoke_async(
                            self.trigger.function, {"Records": body["Records"]}
                        )
                    self.sqs.delete_message(
                        QueueUrl=self.trigger.queue_url, ReceiptHandle=msg["ReceiptHandle"]
                    )
            except Exception:  # noqa: BLE001 - keeps delivering after a transient failure; logged
                log.exception("S3 trigger for %s failed; retrying", self.trigger.bucket)
                time.sleep(1)
