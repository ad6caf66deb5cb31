"""Browse, redrive and delete dead-letter messages without losing or doubling any.

SQS has no "peek": reading a message hides it from other consumers for a visibility
timeout. Browsing therefore receives with a short timeout, de-duplicates by MessageId
(a message received twice is one message), and hands every message straight back
with ChangeMessageVisibility 0. Messages that were already in flight when the page
looked (someone else holds them) are counted, not shown.

Redrive is receive -> send to the source queue -> delete from the DLQ, per message and
in that order: a message is deleted only after its copy was accepted by the source.
If sending fails the message stays in the DLQ (and is released at once); if the
process dies between send and delete, the message exists in both queues until the
DLQ copy becomes visible again, and never in neither. A copy redriven twice that
way is harmless: the dispatcher's conditional claim turns a second delivery of a job
into a no-op.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import pandas as pd

from dashboard.data.jobs import get_jobs
from dashboard.data.queues import attributes
from lambdas.common.contract import JobAttr

log = logging.getLogger(__name__)
MESSAGE_COLUMNS = [
    "message_id",
    "job_id",
    "body",
    "sent_at",
    "first_receive_at",
    "receive_count",
    "source_queue",
    "attributes",
    "message_attributes",
]


def job_id_from_body(body: str) -> str | None:
    """The job a message is about: `{"job_id"}` (processing queue) or a Lambda destination
    record's `requestPayload.job_id` (analysis failures)."""
    try:
        doc = json.loads(body)
    except (TypeError, ValueError):
        return None
    if not isinstance(doc, dict):
        return None
    if isinstance(doc.get(JobAttr.JOB_ID), str):
        return cast(str, doc[JobAttr.JOB_ID])
    payload = doc.get("requestPayload")
    if isinstance(payload, dict) and isinstance(payload.get(JobAttr.JOB_ID), str):
        return cast(str, payload[JobAttr.JOB_ID])
    return None


def _stamp(value: str | None) -> pd.Timestamp | None:
    if not value:
        return None
    return pd.Timestamp(datetime.fromtimestamp(int(value) / 1000, tz=UTC))


def _receive(
    sqs: Any, url: str, count: int, visibility_timeout: int, wait_seconds: int
) -> list[dict[str, Any]]:
    out = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=max(1, min(10, count)),
        VisibilityTimeout=visibility_timeout,
        WaitTimeSeconds=wait_seconds,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    messages: list[dict[str, Any]] = out.get("Messages", [])
    return messages


def release(sqs: Any, url: str, handles: dict[str, str]) -> tuple[int, int]:
    """Make held messages visible again now; (released, failed). A failed release is
    harmless: the message reappears when its visibility timeout ends."""
    released = failed = 0
    items = list(handles.items())
    for i in range(0, len(items), 10):
        chunk = items[i : i + 10]
        try:
            out = sqs.change_message_visibility_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                    for n, (_, handle) in enumerate(chunk)
                ],
            )
        except Exception as exc:  # noqa: BLE001 - counted and logged; the timeout releases them anyway
            log.warning("ChangeMessageVisibilityBatch on %s failed: %s", url, exc)
            failed += len(chunk)
            continue
        released += len(out.get("Successful", []))
        failed += len(out.get("Failed", []))
    return released, failed


# --- browsing ------------------------------------------------------------------------------


@dataclass
class Peek:
    messages: pd.DataFrame
    visible_before: int
    in_flight_before: int
    released: int
    release_failed: int
    duplicate_receipts: int
    truncated: bool
    visibility_timeout: int

    @property
    def unseen(self) -> int:
        """Messages the queue holds that this look could not show."""
        return max(0, self.visible_before + self.in_flight_before - len(self.messages))


def peek(
    sqs: Any,
    url: str,
    max_messages: int = 50,
    visibility_timeout: int = 20,
    wait_seconds: int = 1,
    hand_back: bool = True,
) -> Peek:
    """Up to `max_messages` distinct messages, handed back (visibility 0) after reading."""
    before = attributes(sqs, url)
    seen: dict[str, dict[str, Any]] = {}
    duplicates = 0
    empty_polls = 0
    while len(seen) < max_messages and empty_polls < 1:
        batch = _receive(sqs, url, max_messages - len(seen), visibility_timeout, wait_seconds)
        if not batch:
            empty_polls += 1
            continue
        new = 0
        for message in batch:
            if message["MessageId"] in seen:
                duplicates += 1
            else:
                new += 1
            seen[message["MessageId"]] = message  # the newest receipt handle wins
        if new == 0:
            break
    released = failed = 0
    if hand_back and seen:
        released, failed = release(sqs, url, {m: msg["ReceiptHandle"] for m, msg in seen.items()})
    visible = int(before.get("ApproximateNumberOfMessages", 0))
    return Peek(
        messages=messages_frame(seen.values()),
        visible_before=visible,
        in_flight_before=int(before.get("ApproximateNumberOfMessagesNotVisible", 0)),
        released=released,
        release_failed=failed,
        duplicate_receipts=duplicates,
        truncated=len(seen) >= max_messages and visible > len(seen),
        visibility_timeout=visibility_timeout,
    )


def messages_frame(messages: Iterable[dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for m in messages:
        attrs = m.get("Attributes") or {}
        rows.append(
            {
                "message_id": m["MessageId"],
                JobAttr.JOB_ID: job_id_from_body(m.get("Body", "")),
                "body": m.get("Body", ""),
                "sent_at": _stamp(attrs.get("SentTimestamp")),
                "first_receive_at": _stamp(attrs.get("ApproximateFirstReceiveTimestamp")),
                "receive_count": int(attrs.get("ApproximateReceiveCount", 0)),
                "source_queue": (attrs.get("DeadLetterQueueSourceArn") or "").rsplit(":", 1)[-1]
                or None,
                "attributes": json.dumps(attrs, sort_keys=True),
                "message_attributes": json.dumps(m.get("MessageAttributes") or {}, sort_keys=True),
            }
        )
    df = pd.DataFrame(rows, columns=MESSAGE_COLUMNS)
    # Keep "no job id" as None (not NaN) so pages and lookups can test it plainly.
    df[JobAttr.JOB_ID] = df[JobAttr.JOB_ID].astype(object).where(df[JobAttr.JOB_ID].notna(), None)
    return df.sort_values("sent_at", ignore_index=True) if not df.empty else df


def with_jobs(messages: pd.DataFrame, ddb: Any, table: str) -> pd.DataFrame:
    """Each message's job (status, decision, reasons) looked up by the job id in its body."""
    out = messages.copy()
    out[JobAttr.JOB_ID] = (
        out[JobAttr.JOB_ID].astype(object).where(out[JobAttr.JOB_ID].notna(), None)
    )
    jobs = get_jobs(ddb, table, out[JobAttr.JOB_ID].dropna().tolist()) if not out.empty else {}
    out["job_status"] = out[JobAttr.JOB_ID].map(
        lambda j: (jobs.get(j) or {}).get(JobAttr.STATUS) if j else None
    )
    out["job_decision"] = out[JobAttr.JOB_ID].map(
        lambda j: (jobs.get(j) or {}).get(JobAttr.DECISION) if j else None
    )
    out["job_created_at"] = out[JobAttr.JOB_ID].map(
        lambda j: (jobs.get(j) or {}).get(JobAttr.CREATED_AT) if j else None
    )
    out["job_reasons"] = out[JobAttr.JOB_ID].map(
        lambda j: "; ".join((jobs.get(j) or {}).get(JobAttr.REASONS) or []) if j else None
    )
    out["job_found"] = out[JobAttr.JOB_ID].map(lambda j: bool(j) and j in jobs)
    return out


# --- acting --------------------------------------------------------------------------------


@dataclass
class ActionReport:
    action: str
    selected: int | None  # None: every message
    moved: int = 0  # redrive: accepted by the source and deleted from the DLQ
    deleted: int = 0  # delete: removed
    in_both: int = 0  # redrive: sent, but the DLQ delete failed (the DLQ copy returns later)
    failed: int = 0  # redrive: the source refused it; it stays in the DLQ
    not_found: list[str] = field(default_factory=list)  # selected but not received
    errors: list[str] = field(default_factory=list)
    released: int = 0

    def summary(self) -> str:
        if self.action == "redrive":
            text = f"moved {self.moved}, failed {self.failed} (left in the DLQ)"
            if self.in_both:
                text += f", {self.in_both} sent but not yet deleted from the DLQ"
        else:
            text = f"deleted {self.deleted}"
        if self.not_found:
            text += f"; {len(self.not_found)} selected message(s) not received (in flight "
            text += "elsewhere, or already gone)"
        return text


def _message_attributes(message: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        kept = {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}
        if kept.get("DataType"):
            out[name] = kept
    return out


def redrive(
    sqs: Any,
    dlq_url: str,
    source_url: str,
    message_ids: Iterable[str] | None = None,
    visibility_timeout: int = 60,
    wait_seconds: int = 1,
    max_messages: int = 10_000,
) -> ActionReport:
    """Move the selected messages (or all) from the DLQ back to the source queue.

    Per batch: send to the source, then delete from the DLQ only the messages the
    source accepted. Messages not selected, and those the source refused, are held
    while the run lasts (so they are not received over and over) and handed back at
    the end.
    """
    selected = set(message_ids) if message_ids is not None else None
    report = ActionReport("redrive", len(selected) if selected is not None else None)
    held: dict[str, str] = {}
    sent: set[str] = set()  # accepted by the source, not yet deleted here
    finished: set[str] = set()  # moved, or refused by the source in this run
    handled = 0
    try:
        while handled < max_messages:
            if selected is not None and selected <= finished:
                break
            batch = _receive(sqs, dlq_url, 10, visibility_timeout, wait_seconds)
            if not batch:
                break
            to_send, to_delete, progress = [], [], False
            for message in batch:
                mid = message["MessageId"]
                if (selected is not None and mid not in selected) or mid in finished:
                    progress = progress or mid not in held
                    held[mid] = message["ReceiptHandle"]
                    continue
                progress = True
                if mid in sent:  # re-received before its delete went through: delete only
                    to_delete.append(message)
                else:
                    to_send.append(message)
            if not progress:
                break
            if to_send:
                accepted, refused = _send(sqs, source_url, to_send, report)
                for message in refused:
                    finished.add(message["MessageId"])
                    held[message["MessageId"]] = message["ReceiptHandle"]
                    report.failed += 1
                for message in accepted:
                    sent.add(message["MessageId"])
                to_delete.extend(accepted)
            if to_delete:
                for message in _delete(sqs, dlq_url, to_delete, report):
                    mid = message["MessageId"]
                    sent.discard(mid)
                    finished.add(mid)
                    held.pop(mid, None)
                    report.moved += 1
            handled += len(to_send)
    finally:
        report.in_both = len(sent)
        report.released, _ = release(sqs, dlq_url, held)
    if selected is not None:
        report.not_found = sorted(selected - finished - sent)
    return report


def _send(
    sqs: Any, url: str, messages: list[dict[str, Any]], report: ActionReport
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    entries = [{"Id": str(i), "MessageBody": m["Body"]} for i, m in enumerate(messages)]
    for entry, message in zip(entries, messages, strict=True):
        attrs = _message_attributes(message)
        if attrs:
            entry["MessageAttributes"] = attrs
    try:
        out = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    except Exception as exc:  # noqa: BLE001 - every message of the batch stays in the DLQ; reported
        log.warning("SendMessageBatch to %s failed: %s", url, exc)
        report.errors.append(f"SendMessageBatch failed: {exc}")
        return [], list(messages)
    ok = {e["Id"] for e in out.get("Successful", [])}
    for failure in out.get("Failed", []):
        report.errors.append(f"send refused: {failure.get('Code')}: {failure.get('Message')}")
    accepted = [m for i, m in enumerate(messages) if str(i) in ok]
    refused = [m for i, m in enumerate(messages) if str(i) not in ok]
    return accepted, refused


def _delete(
    sqs: Any, url: str, messages: list[dict[str, Any]], report: ActionReport
) -> list[dict[str, Any]]:
    """Delete messages; return those deleted. Failures are reported, not raised."""
    deleted: list[dict[str, Any]] = []
    for i in range(0, len(messages), 10):
        chunk = messages[i : i + 10]
        try:
            out = sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(chunk)
                ],
            )
        except Exception as exc:  # noqa: BLE001 - the messages stay where they are; reported
            log.warning("DeleteMessageBatch on %s failed: %s", url, exc)
            report.errors.append(f"DeleteMessageBatch failed: {exc}")
            continue
        ok = {e["Id"] for e in out.get("Successful", [])}
        for failure in out.get("Failed", []):
            report.errors.append(f"delete refused: {failure.get('Code')}: {failure.get('Message')}")
        deleted.extend(m for n, m in enumerate(chunk) if str(n) in ok)
    return deleted


def delete(
    sqs: Any,
    url: str,
    message_ids: Iterable[str],
    visibility_timeout: int = 60,
    wait_seconds: int = 1,
    max_messages: int = 10_000,
) -> ActionReport:
    """Delete exactly the selected messages; everything else received is handed back."""
    selected = set(message_ids)
    report = ActionReport("delete", len(selected))
    held: dict[str, str] = {}
    gone: set[str] = set()
    received = 0
    try:
        while selected - gone and received < max_messages:
            batch = _receive(sqs, url, 10, visibility_timeout, wait_seconds)
            if not batch:
                break
            received += len(batch)
            targets = [
                m for m in batch if m["MessageId"] in selected and m["MessageId"] not in gone
            ]
            others = [m for m in batch if m["MessageId"] not in selected]
            if not targets and all(m["MessageId"] in held for m in others):
                break
            for m in others:
                held[m["MessageId"]] = m["ReceiptHandle"]
            for m in _delete(sqs, url, targets, report):
                gone.add(m["MessageId"])
                report.deleted += 1
    finally:
        report.released, _ = release(sqs, url, held)
    report.not_found = sorted(selected - gone)
    return report
