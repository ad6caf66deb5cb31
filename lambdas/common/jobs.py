"""The job record and its only legal transitions: the one module that writes the jobs table.

Status moves forward only: pending -> analyzing -> complete | failed (and
pending -> failed); a complete job in the review queue moves review_state
pending -> reviewed. Every transition is one conditional UpdateItem on the expected
current state, built with `Update` (which names every placeholder, so a caller never
spells one) and run through `conditional.conditional`, so concurrent writers cannot
both win. Writes return the item (ALL_NEW on success, ALL_OLD on a failed condition)
so no transition needs a separate read. The claim records the branches the job expects (`branches`); a job
costs 3 + N DynamoDB calls end to end with N branches: create, claim, N result
writes, finalize.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from common.conditional import conditional
from common.contract import (
    LEGACY_BRANCHES,
    STATUS_INDEX,
    Branch,
    JobAttr,
    ReviewState,
    Status,
)
from common.timeutil import epoch, iso

_ser = TypeSerializer()
_de = TypeDeserializer()


class UnknownJob(LookupError):
    """A message names a job that does not exist: a poison message."""


class NotReady(RuntimeError):
    """The job is not in a state this step can act on yet; retrying later may succeed."""


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


def _key(job_id: str) -> dict[str, Any]:
    return {JobAttr.JOB_ID: {"S": job_id}}


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

    def name(self, attr: JobAttr) -> str:
        placeholder = f"#{attr.value}"
        self._names[placeholder] = attr.value
        return placeholder

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self._values)}"
        self._values[placeholder] = _ser.serialize(to_dynamo(value))
        return placeholder

    # -- what the write changes

    def set(self, attr: JobAttr, value: Any) -> Update:
        self._set.append(f"{self.name(attr)} = {self.value(value)}")
        return self

    def set_if_absent(self, attr: JobAttr, value: Any) -> Update:
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

    def remove(self, attr: JobAttr) -> Update:
        self._remove.append(self.name(attr))
        return self

    # -- when it may happen: terms to pass to `when`

    def equals(self, attr: JobAttr, value: Any) -> str:
        return f"{self.name(attr)} = {self.value(value)}"

    def is_in(self, attr: JobAttr, *values: Any) -> str:
        return f"{self.name(attr)} IN ({', '.join(self.value(v) for v in values)})"

    def below(self, attr: JobAttr, value: Any) -> str:
        return f"{self.name(attr)} < {self.value(value)}"

    def exists(self, attr: JobAttr) -> str:
        return f"attribute_exists({self.name(attr)})"

    def absent(self, attr: JobAttr) -> str:
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


def _write(
    ddb: Any, table: str, job_id: str, update: Update, returns: str = "ALL_NEW"
) -> tuple[bool, dict[str, Any] | None]:
    """Run a conditional UpdateItem; (won, item) with the item after (won) or before (lost).

    With `returns="NONE"` a winning write returns no item (callers that only need to
    know they won save the response); a losing one still returns the item as it was
    (None: no such job).
    """
    won, raw = conditional(
        lambda: ddb.update_item(
            TableName=table,
            Key=_key(job_id),
            ReturnValues=returns,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            **update.request(),
        )
    )
    if won and returns == "NONE":
        return True, {}
    return won, deserialize(raw)


# --- create ----------------------------------------------------------------------------


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


def create_job(ddb: Any, table: str, job: dict[str, Any]) -> dict[str, Any] | None:
    """Insert a new job. Returns None, or the existing job when the id is taken.

    A job id is never reused: ids are random, or derived from a client's
    Idempotency-Key, in which case the existing job is what a retry must get back.
    """
    won, existing = conditional(
        lambda: ddb.put_item(
            TableName=table,
            Item=serialize(job),
            ConditionExpression="attribute_not_exists(#id)",
            ExpressionAttributeNames={"#id": JobAttr.JOB_ID.value},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    )
    return None if won else deserialize(existing) or {}


# --- presigned uploads: the bytes arrive ------------------------------------------------


def attach_image(
    ddb: Any,
    table: str,
    job_id: str,
    awaited_key: str,
    image_key: str,
    image_etag: str,
    content_sha256: str,
    now: datetime,
) -> tuple[bool, dict[str, Any] | None]:
    """Point a job waiting for its presigned upload at the validated, immutable copy.

    Conditional on the job still waiting (`pending` and its image key still the awaited
    one), so it happens once per job: a later upload to the same URL, or to a job the
    sweeper has failed meanwhile, finds the condition false. Returns (won, item): the
    item as it was when the condition failed (None: no such job).
    """
    stamp = iso(now)
    update = (
        Update()
        .set(JobAttr.IMAGE_KEY, image_key)
        .set(JobAttr.IMAGE_ETAG, image_etag)
        .set(JobAttr.CONTENT_SHA256, content_sha256)
        .set(JobAttr.UPDATED_AT, stamp)
    )
    update.when(
        update.equals(JobAttr.STATUS, Status.PENDING),
        update.equals(JobAttr.IMAGE_KEY, awaited_key),
    )
    return _write(ddb, table, job_id, update, returns="NONE")


def fail_awaited_upload(
    ddb: Any, table: str, job_id: str, awaited_key: str, reason: str, now: datetime
) -> tuple[bool, dict[str, Any] | None]:
    """pending -> failed for a job whose awaited upload was refused; a job that already
    has its bytes (a second upload to its URL) is left alone."""
    stamp = iso(now)
    update = (
        Update()
        .set(JobAttr.STATUS, Status.FAILED)
        .set(JobAttr.REASONS, [reason])
        .set(JobAttr.COMPLETED_AT, stamp)
        .set(JobAttr.UPDATED_AT, stamp)
    )
    update.when(
        update.equals(JobAttr.STATUS, Status.PENDING),
        update.equals(JobAttr.IMAGE_KEY, awaited_key),
    )
    return _write(ddb, table, job_id, update, returns="NONE")


# --- dispatch claim ----------------------------------------------------------------------


def expected_branches(job: dict[str, Any]) -> tuple[Branch, ...]:
    """The branches a job waits for: those its claim recorded (older jobs: the first two)."""
    recorded = job.get(JobAttr.BRANCHES)
    if not recorded:
        return LEGACY_BRANCHES
    return tuple(Branch(b) for b in recorded)


def missing_results(job: dict[str, Any]) -> list[Branch]:
    return [b for b in expected_branches(job) if b.result_attribute not in job]


@dataclass(frozen=True)
class Claim:
    claimed: bool
    job: dict[str, Any]

    def missing_branches(self) -> list[Branch]:
        return missing_results(self.job)


def claim_for_analysis(
    ddb: Any,
    table: str,
    job_id: str,
    now: datetime,
    lease_seconds: int,
    branches: tuple[Branch, ...] = LEGACY_BRANCHES,
    content_sha256: str | None = None,
    verdict_key: str | None = None,
) -> Claim:
    """pending -> analyzing, before any analyzer is started; records `branches`.

    The claim carries a lease as long as the dispatcher's timeout. A redelivered
    message inside the lease finds the job claimed and does nothing. A message
    redelivered after the lease (SQS waits a visibility timeout >= 6x the function
    timeout, so the first dispatcher is gone) may re-claim an `analyzing` job whose
    analyzers never all reported, so a dispatcher crash between claim and invoke
    cannot strand the job. A re-claim keeps the branches the first claim recorded.
    The content hash (presigned uploads: known from the message) and the verdict key
    the finalizer stores the verdict under are recorded in the same write.
    """
    if not branches:
        raise ValueError("a job needs at least one analysis branch")
    update = (
        Update()
        .set(JobAttr.STATUS, Status.ANALYZING)
        .set(JobAttr.UPDATED_AT, iso(now))
        .set(JobAttr.DISPATCH_LEASE, epoch(now) + lease_seconds)
        .increment(JobAttr.ATTEMPTS)
        .set_if_absent(JobAttr.BRANCHES, [str(b) for b in branches])
    )
    if content_sha256:
        update.set_if_absent(JobAttr.CONTENT_SHA256, content_sha256)
    if verdict_key:
        update.set_if_absent(JobAttr.VERDICT_KEY, verdict_key)
    # A lapsed claim is taken over only while some branch has not reported.
    lapsed = update.all_of(
        update.equals(JobAttr.STATUS, Status.ANALYZING),
        update.below(JobAttr.DISPATCH_LEASE, epoch(now)),
        update.any_of(*(update.absent(b.result_attribute) for b in Branch)),
    )
    update.when(update.any_of(update.equals(JobAttr.STATUS, Status.PENDING), lapsed))
    won, item = _write(ddb, table, job_id, update)
    if item is None:
        raise UnknownJob(job_id)
    return Claim(claimed=won, job=item)


# --- analyzer results and finalization ---------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    written: bool
    job: dict[str, Any]

    @property
    def complete_set(self) -> bool:
        """Every branch the job expects has reported."""
        return not missing_results(self.job)


def record_result(
    ddb: Any, table: str, job_id: str, branch: str, result: dict[str, Any], now: datetime
) -> Recorded:
    """Store one analyzer's result while the job is `analyzing`; return the whole item.

    The returned item shows whether the other branches have reported, which replaces
    the seed design's separate GetItem.
    """
    if branch not in tuple(Branch):
        raise ValueError(f"unknown branch {branch!r}")
    update = Update().set(Branch(branch).result_attribute, result).set(JobAttr.UPDATED_AT, iso(now))
    update.when(update.equals(JobAttr.STATUS, Status.ANALYZING))
    won, item = _write(ddb, table, job_id, update)
    if item is None:
        raise UnknownJob(job_id)
    if not won and item.get(JobAttr.STATUS) == Status.PENDING:
        raise NotReady(f"job {job_id} is still pending; its dispatch has not been claimed")
    return Recorded(written=won, job=item)


def finalize(
    ddb: Any,
    table: str,
    job_id: str,
    decision: str,
    reasons: list[str],
    now: datetime,
    branches: tuple[Branch, ...] = LEGACY_BRANCHES,
    categories: list[dict[str, Any]] | None = None,
    awaiting_review: bool = False,
) -> tuple[bool, dict[str, Any]]:
    """analyzing -> complete. Exactly one caller wins: the condition is on `analyzing`
    and on every expected branch's result being present.

    The winner gets no item back (it already has every result); a loser gets the item
    as the winner left it. `awaiting_review` puts the job in the review queue in this
    same write (`review_state = pending`, which the review index keys on).
    """
    update = Update().remove(JobAttr.DISPATCH_LEASE)
    update.when(
        update.equals(JobAttr.STATUS, Status.ANALYZING),
        *(update.exists(b.result_attribute) for b in branches),
    )
    return _complete(
        ddb, table, job_id, update, decision, reasons, categories or [], now, awaiting_review
    )


def complete_from_verdict(
    ddb: Any,
    table: str,
    job_id: str,
    decision: str,
    reasons: list[str],
    categories: list[dict[str, Any]],
    reused_from: str,
    now: datetime,
    awaiting_review: bool = False,
    verdict_key: str | None = None,
) -> bool:
    """pending -> complete with a stored verdict, no analyzer run. One conditional write.

    Conditional on `pending`: a redelivered message, or a job some other delivery
    already claimed, is left alone (False).
    """
    update = Update().set(JobAttr.REUSED_FROM, reused_from)
    if verdict_key:
        update.set(JobAttr.VERDICT_KEY, verdict_key)
    update.when(update.equals(JobAttr.STATUS, Status.PENDING))
    won, _ = _complete(
        ddb, table, job_id, update, decision, reasons, categories, now, awaiting_review
    )
    return won


def _complete(
    ddb: Any,
    table: str,
    job_id: str,
    update: Update,
    decision: str,
    reasons: list[str],
    categories: list[dict[str, Any]],
    now: datetime,
    awaiting_review: bool,
) -> tuple[bool, dict[str, Any]]:
    """The one write that makes a job `complete` (from its results, or from a stored
    verdict): `update` (the caller's condition and own changes) plus the decision, and
    the review queue's key when a person must look."""
    stamp = iso(now)
    update.set(JobAttr.STATUS, Status.COMPLETE).set(JobAttr.DECISION, decision)
    update.set(JobAttr.REASONS, list(reasons)).set(JobAttr.CATEGORIES, list(categories))
    update.set(JobAttr.COMPLETED_AT, stamp).set(JobAttr.UPDATED_AT, stamp)
    if awaiting_review:
        update.set(JobAttr.REVIEW_STATE, ReviewState.PENDING)
    won, item = _write(ddb, table, job_id, update, returns="NONE")
    if item is None:
        raise UnknownJob(job_id)
    return won, item


def fail_job(
    ddb: Any, table: str, job_id: str, reason: str, now: datetime
) -> tuple[bool, dict[str, Any] | None]:
    """pending|analyzing -> failed with a reason. A terminal job is left alone."""
    stamp = iso(now)
    update = (
        Update()
        .set(JobAttr.STATUS, Status.FAILED)
        .set(JobAttr.REASONS, [reason])
        .set(JobAttr.COMPLETED_AT, stamp)
        .set(JobAttr.UPDATED_AT, stamp)
        .remove(JobAttr.DISPATCH_LEASE)
    )
    update.when(update.is_in(JobAttr.STATUS, Status.PENDING, Status.ANALYZING))
    return _write(ddb, table, job_id, update, returns="NONE")


# --- human review ------------------------------------------------------------------------


def record_review(
    ddb: Any, table: str, job_id: str, decision: str, review: dict[str, Any], now: datetime
) -> tuple[bool, dict[str, Any] | None]:
    """review_state pending -> reviewed with a moderator's `review` (`ReviewField`s).

    Conditional on the job being complete and in the queue: a second verdict changes
    nothing. Keeps the rules' decision as `automatic_decision`; `decision` becomes the
    moderator's. Returns (won, the job after) or (lost, the job as it was, None when it
    does not exist), so the caller can say why without a read.
    """
    update = (
        Update()
        .set(JobAttr.REVIEW_STATE, ReviewState.REVIEWED)
        .copy(JobAttr.AUTOMATIC_DECISION, JobAttr.DECISION)
        .set(JobAttr.DECISION, decision)
        .set(JobAttr.REVIEW, review)
        .set(JobAttr.UPDATED_AT, iso(now))
    )
    update.when(
        update.equals(JobAttr.REVIEW_STATE, ReviewState.PENDING),
        update.equals(JobAttr.STATUS, Status.COMPLETE),
    )
    return _write(ddb, table, job_id, update)


# --- reads -------------------------------------------------------------------------------


def get_job(ddb: Any, table: str, job_id: str, consistent: bool = False) -> dict[str, Any] | None:
    out = ddb.get_item(TableName=table, Key=_key(job_id), ConsistentRead=consistent)
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
