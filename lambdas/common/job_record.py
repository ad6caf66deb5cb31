"""The job record's encoding, its update builder and its reads: how a job's attributes
become a DynamoDB item and one UpdateItem request, and how a job is read back. Nothing
here writes: `jobs.py`, the one writer, runs what `Update` builds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from common.contract import (
    LEGACY_BRANCHES,
    STATUS_INDEX,
    AppealField,
    Branch,
    ClaimField,
    JobAttr,
    NoticeField,
    QaField,
    Status,
    WorkQueue,
)
from common.timeutil import epoch, iso

_ser = TypeSerializer()
_de = TypeDeserializer()


def to_dynamo(value: Any) -> Any:
    """Python -> DynamoDB-safe python (floats become Decimal, recursively)."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: to_dynamo(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_dynamo(v) for v in value]
    return value


def from_dynamo(value: Any) -> Any:
    """DynamoDB python -> plain JSON-able python (Decimal becomes int or float)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, (list, set, tuple)):
        return [from_dynamo(v) for v in value]
    return value


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(to_dynamo(v)) for k, v in item.items() if v is not None}


def deserialize(item: dict[str, Any] | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return dict(from_dynamo({k: _de.deserialize(v) for k, v in item.items()}))


def key_of(job_id: str) -> dict[str, Any]:
    return {JobAttr.JOB_ID: {"S": job_id}}


# Any attribute of the job record the contract names (the feature enums are its parts).
Field = JobAttr | AppealField | QaField | NoticeField


class Update:
    """One UpdateItem on a job: its SET and REMOVE clauses and its condition.

    The builder owns the placeholders (`#<attribute>` for names, `:v<n>` for values), so
    a caller passes attributes and values, never expression fragments, and no two
    clauses can collide on a placeholder. Clauses come out SET before REMOVE; condition
    terms are ANDed in the order given.
    """

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._values: dict[str, Any] = {}
        self._set: list[str] = []
        self._remove: list[str] = []
        self._conditions: list[str] = []

    def name(self, attr: Field) -> str:
        return self._placeholder(attr.value)

    def path(self, attr: Field, key: str) -> str:
        """`attr.key`: a value inside a map attribute (`appeal.outcome`)."""
        return f"{self.name(attr)}.{self._placeholder(key)}"

    def _placeholder(self, attribute: str) -> str:
        placeholder = f"#{attribute}"
        self._names[placeholder] = attribute
        return placeholder

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self._values)}"
        self._values[placeholder] = _ser.serialize(to_dynamo(value))
        return placeholder

    # -- what the write changes

    def set(self, attr: Field, value: Any) -> Update:
        self._set.append(f"{self.name(attr)} = {self.value(value)}")
        return self

    def set_in(self, attr: Field, key: str, value: Any) -> Update:
        """Set `key` inside the map `attr` (which must exist)."""
        self._set.append(f"{self.path(attr, key)} = {self.value(value)}")
        return self

    def append(self, attr: Field, items: list[Any]) -> Update:
        """Append to the list `attr`, starting it when absent."""
        name = self.name(attr)
        self._set.append(
            f"{name} = list_append(if_not_exists({name}, {self.value([])}), {self.value(items)})"
        )
        return self

    def claim(self, queue: WorkQueue, moderator: str, until: int, now: datetime) -> Update:
        """Lease the job's claim in `queue` to `moderator` until `until` (epoch seconds)."""
        for field, value in (
            (ClaimField.BY, moderator),
            (ClaimField.UNTIL, until),
            (ClaimField.AT, iso(now)),
        ):
            name = self._placeholder(queue.claim_attribute(field))
            self._set.append(f"{name} = {self.value(value)}")
        return self

    def unclaim(self, queue: WorkQueue) -> Update:
        self._remove.extend(self._placeholder(queue.claim_attribute(f)) for f in ClaimField)
        return self

    def set_if_absent(self, attr: Field, value: Any) -> Update:
        name = self.name(attr)
        self._set.append(f"{name} = if_not_exists({name}, {self.value(value)})")
        return self

    def increment(self, attr: JobAttr, by: int = 1) -> Update:
        name = self.name(attr)
        self._set.append(f"{name} = if_not_exists({name}, {self.value(0)}) + {self.value(by)}")
        return self

    def copy(self, attr: JobAttr, source: JobAttr) -> Update:
        """`attr` takes `source`'s value as it was before this write."""
        self._set.append(f"{self.name(attr)} = {self.name(source)}")
        return self

    def copy_once(self, attr: JobAttr, source: JobAttr) -> Update:
        """`attr` takes `source`'s value as it was before this write, unless `attr` is
        already set (a later write keeps the first copy)."""
        name = self.name(attr)
        self._set.append(f"{name} = if_not_exists({name}, {self.name(source)})")
        return self

    def copy_inner(self, attr: Field, source: Field, key: str, default: Any) -> Update:
        """`attr` takes `source.key` as it was before this write, or `default` when absent."""
        self._set.append(
            f"{self.name(attr)} = if_not_exists({self.path(source, key)}, {self.value(default)})"
        )
        return self

    def remove(self, attr: Field) -> Update:
        self._remove.append(self.name(attr))
        return self

    # -- when it may happen: terms to pass to `when`

    def equals(self, attr: Field, value: Any) -> str:
        return f"{self.name(attr)} = {self.value(value)}"

    def differs(self, attr: Field, value: Any) -> str:
        return f"{self.name(attr)} <> {self.value(value)}"

    def at_least(self, attr: Field, value: Any) -> str:
        return f"{self.name(attr)} >= {self.value(value)}"

    def inner_at_least(self, attr: Field, key: str, value: Any) -> str:
        return f"{self.path(attr, key)} >= {self.value(value)}"

    def inner_absent_or_differs(self, attr: Field, key: str, value: Any) -> str:
        """`attr.key` is absent or not `value` (a moderator who is not the reviewer)."""
        inner = self.path(attr, key)
        return f"(attribute_not_exists({inner}) OR {inner} <> {self.value(value)})"

    def claimed_by(self, queue: WorkQueue, moderator: str, now: datetime) -> str:
        """`moderator` holds the job's claim in `queue` and it has not expired."""
        by = self._placeholder(queue.claim_attribute(ClaimField.BY))
        until = self._placeholder(queue.claim_attribute(ClaimField.UNTIL))
        return f"{by} = {self.value(moderator)} AND {until} >= {self.value(epoch(now))}"

    def is_in(self, attr: Field, *values: Any) -> str:
        return f"{self.name(attr)} IN ({', '.join(self.value(v) for v in values)})"

    def below(self, attr: JobAttr, value: Any) -> str:
        return f"{self.name(attr)} < {self.value(value)}"

    def claim_free(self, queue: WorkQueue, moderator: str, now: datetime) -> str:
        """Nobody holds the job's claim in `queue`, it expired, or it is `moderator`'s
        (the claim attributes are named per queue: `WorkQueue.claim_attribute`)."""
        by = self._placeholder(queue.claim_attribute(ClaimField.BY))
        until = self._placeholder(queue.claim_attribute(ClaimField.UNTIL))
        return (
            f"(attribute_not_exists({until}) OR {until} < {self.value(epoch(now))} "
            f"OR {by} = {self.value(moderator)})"
        )

    def exists(self, attr: Field) -> str:
        return f"attribute_exists({self.name(attr)})"

    def absent(self, attr: Field) -> str:
        return f"attribute_not_exists({self.name(attr)})"

    @staticmethod
    def all_of(*terms: str) -> str:
        return "(" + " AND ".join(terms) + ")"

    @staticmethod
    def any_of(*terms: str) -> str:
        return "(" + " OR ".join(terms) + ")"

    def when(self, *terms: str) -> Update:
        self._conditions.extend(terms)
        return self

    def request(self) -> dict[str, Any]:
        """UpdateExpression, ConditionExpression and both placeholder maps."""
        if not self._set and not self._remove:
            raise ValueError("an update needs at least one SET or REMOVE")
        clauses = []
        if self._set:
            clauses.append("SET " + ", ".join(self._set))
        if self._remove:
            clauses.append("REMOVE " + ", ".join(self._remove))
        out: dict[str, Any] = {
            "UpdateExpression": " ".join(clauses),
            "ExpressionAttributeNames": dict(self._names),
        }
        if self._values:
            out["ExpressionAttributeValues"] = dict(self._values)
        if self._conditions:
            out["ConditionExpression"] = " AND ".join(self._conditions)
        return out


# --- the record's shape -------------------------------------------------------------


def new_job(
    *,
    job_id: str,
    user_id: str,
    image_key: str,
    content_type: str,
    size_bytes: int,
    now: datetime,
    retention_days: int,
    content_sha256: str | None = None,
    image_etag: str | None = None,
) -> dict[str, Any]:
    """A pending job. `image_etag` is the stored image's ETag when its bytes are already
    in (inline uploads); a presigned upload's job gets it from `attach_image`."""
    stamp = iso(now)
    return {
        JobAttr.JOB_ID: job_id,
        JobAttr.CONTENT_SHA256: content_sha256,
        JobAttr.USER_ID: user_id,
        JobAttr.STATUS: Status.PENDING,
        JobAttr.CREATED_AT: stamp,
        JobAttr.UPDATED_AT: stamp,
        JobAttr.IMAGE_KEY: image_key,
        JobAttr.IMAGE_ETAG: image_etag,
        JobAttr.CONTENT_TYPE: content_type,
        JobAttr.SIZE_BYTES: size_bytes,
        JobAttr.ATTEMPTS: 0,
        JobAttr.EXPIRES_AT: epoch(now + timedelta(days=retention_days)),
    }


def expected_branches(job: dict[str, Any]) -> tuple[Branch, ...]:
    """The branches a job waits for: those its claim recorded (older jobs: the first two)."""
    recorded = job.get(JobAttr.BRANCHES)
    if not recorded:
        return LEGACY_BRANCHES
    return tuple(Branch(b) for b in recorded)


def missing_results(job: dict[str, Any]) -> list[Branch]:
    return [b for b in expected_branches(job) if b.result_attribute not in job]


# --- reads -------------------------------------------------------------------------------


def get_job(ddb: Any, table: str, job_id: str, consistent: bool = False) -> dict[str, Any] | None:
    out = ddb.get_item(TableName=table, Key=key_of(job_id), ConsistentRead=consistent)
    return deserialize(out.get("Item"))


def jobs_older_than(
    ddb: Any, table: str, status: str, cutoff: datetime, limit: int = 500
) -> Iterator[dict[str, Any]]:
    """Jobs in `status` created before `cutoff`, oldest first, from the status GSI."""
    kwargs: dict[str, Any] = {
        "TableName": table,
        "IndexName": STATUS_INDEX,
        "KeyConditionExpression": "#s = :s AND #c < :cutoff",
        "ExpressionAttributeNames": {"#s": JobAttr.STATUS.value, "#c": JobAttr.CREATED_AT.value},
        "ExpressionAttributeValues": {":s": {"S": str(status)}, ":cutoff": {"S": iso(cutoff)}},
        "Limit": min(limit, 100),
    }
    seen = 0
    while True:
        page = ddb.query(**kwargs)
        for raw in page.get("Items", []):
            yield deserialize(raw) or {}
            seen += 1
            if seen >= limit:
                return
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
