"""The job record and its only legal transitions.

Status moves forward only: pending -> analyzing -> complete | failed (and
pending -> failed). Every transition is one conditional UpdateItem on the expected
current status, so concurrent writers cannot both win. Writes return the item
(ALL_NEW on success, ALL_OLD on a failed condition) so no transition needs a
separate read. The claim records the branches the job expects (`branches`); a job
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
from botocore.exceptions import ClientError

from common.contract import (
    IMAGE_ETAG,
    IMAGE_KEY,
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


def _values(**kw: Any) -> dict[str, Any]:
    return {f":{k}": _ser.serialize(to_dynamo(v)) for k, v in kw.items()}


def _conditional_update(
    ddb: Any, table: str, job_id: str, returns: str = "ALL_NEW", **kwargs: Any
) -> tuple[bool, dict[str, Any] | None]:
    """Run an UpdateItem; return (won, item) with the item after (won) or before (lost).

    With `returns="NONE"` a winning write returns no item (callers that only need to
    know they won save the response); a losing one still returns the item as it was.
    """
    try:
        out = ddb.update_item(
            TableName=table,
            Key={JobAttr.JOB_ID: {"S": job_id}},
            ReturnValues=returns,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            **kwargs,
        )
        return True, deserialize(out.get("Attributes")) if returns != "NONE" else {}
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        return False, deserialize(_failed_item(exc))


def _failed_item(exc: ClientError) -> dict[str, Any] | None:
    """The item a failed condition returned (ReturnValuesOnConditionCheckFailure)."""
    item = exc.response.get("Item")
    return item if isinstance(item, dict) else None


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
        IMAGE_KEY: image_key,
        IMAGE_ETAG: image_etag,
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
    try:
        ddb.put_item(
            TableName=table,
            Item=serialize(job),
            ConditionExpression="attribute_not_exists(job_id)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        return deserialize(_failed_item(exc)) or {}
    return None


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
    return _conditional_update(
        ddb,
        table,
        job_id,
        returns="NONE",
        UpdateExpression=("SET #k = :key, #e = :etag, content_sha256 = :sha, updated_at = :now"),
        ConditionExpression="#s = :pending AND #k = :awaited",
        ExpressionAttributeNames={"#s": "status", "#k": IMAGE_KEY, "#e": IMAGE_ETAG},
        ExpressionAttributeValues=_values(
            key=image_key,
            etag=image_etag,
            sha=content_sha256,
            now=iso(now),
            pending=Status.PENDING,
            awaited=awaited_key,
        ),
    )


def fail_awaited_upload(
    ddb: Any, table: str, job_id: str, awaited_key: str, reason: str, now: datetime
) -> tuple[bool, dict[str, Any] | None]:
    """pending -> failed for a job whose awaited upload was refused; a job that already
    has its bytes (a second upload to its URL) is left alone."""
    return _conditional_update(
        ddb,
        table,
        job_id,
        returns="NONE",
        UpdateExpression=("SET #s = :failed, reasons = :r, completed_at = :now, updated_at = :now"),
        ConditionExpression="#s = :pending AND #k = :awaited",
        ExpressionAttributeNames={"#s": "status", "#k": IMAGE_KEY},
        ExpressionAttributeValues=_values(
            failed=Status.FAILED,
            r=[reason],
            now=iso(now),
            pending=Status.PENDING,
            awaited=awaited_key,
        ),
    )


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
    missing_any = " OR ".join(f"attribute_not_exists({b.result_attribute})" for b in Branch)
    won, item = _conditional_update(
        ddb,
        table,
        job_id,
        UpdateExpression=(
            "SET #s = :analyzing, updated_at = :now, dispatch_lease = :lease, "
            "attempts = if_not_exists(attempts, :zero) + :one, "
            "branches = if_not_exists(branches, :branches)"
            + (", content_sha256 = if_not_exists(content_sha256, :sha)" if content_sha256 else "")
            + (", verdict_key = if_not_exists(verdict_key, :vk)" if verdict_key else "")
        ),
        ConditionExpression=(
            f"#s = :pending OR (#s = :analyzing AND dispatch_lease < :epoch AND ({missing_any}))"
        ),
        ExpressionAttributeNames={"#s": JobAttr.STATUS},
        ExpressionAttributeValues=_values(
            analyzing=Status.ANALYZING,
            pending=Status.PENDING,
            now=iso(now),
            lease=epoch(now) + lease_seconds,
            epoch=epoch(now),
            zero=0,
            one=1,
            branches=[str(b) for b in branches],
            **({"sha": content_sha256} if content_sha256 else {}),
            **({"vk": verdict_key} if verdict_key else {}),
        ),
    )
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
    won, item = _conditional_update(
        ddb,
        table,
        job_id,
        UpdateExpression=f"SET {branch}_result = :r, updated_at = :now",
        ConditionExpression="#s = :analyzing",
        ExpressionAttributeNames={"#s": JobAttr.STATUS},
        ExpressionAttributeValues=_values(r=result, now=iso(now), analyzing=Status.ANALYZING),
    )
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
    present = " AND ".join(f"attribute_exists({b.result_attribute})" for b in branches)
    return _complete(
        ddb,
        table,
        job_id,
        decision,
        reasons,
        categories or [],
        now,
        awaiting_review,
        condition=f"#s = :analyzing AND {present}",
        tail=" REMOVE dispatch_lease",
        analyzing=Status.ANALYZING,
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
    extra = {"source": reused_from, **({"vk": verdict_key} if verdict_key else {})}
    won, _ = _complete(
        ddb,
        table,
        job_id,
        decision,
        reasons,
        categories,
        now,
        awaiting_review,
        condition="#s = :pending",
        tail=", reused_from = :source" + (", verdict_key = :vk" if verdict_key else ""),
        pending=Status.PENDING,
        **extra,
    )
    return won


def _complete(
    ddb: Any,
    table: str,
    job_id: str,
    decision: str,
    reasons: list[str],
    categories: list[dict[str, Any]],
    now: datetime,
    awaiting_review: bool,
    condition: str,
    tail: str = "",
    **values: Any,
) -> tuple[bool, dict[str, Any]]:
    """The one write that makes a job `complete` (from its results, or from a stored
    verdict): the decision, and the review queue's key when a person must look. `tail`
    continues the update expression (more SETs, or a REMOVE) with `values` for it."""
    review = {JobAttr.REVIEW_STATE: ReviewState.PENDING} if awaiting_review else {}
    won, item = _conditional_update(
        ddb,
        table,
        job_id,
        returns="NONE",
        UpdateExpression=(
            "SET #s = :complete, decision = :d, reasons = :r, categories = :c, "
            "completed_at = :now, updated_at = :now"
            + (", review_state = :review_state" if review else "")
            + tail
        ),
        ConditionExpression=condition,
        ExpressionAttributeNames={"#s": JobAttr.STATUS},
        ExpressionAttributeValues=_values(
            complete=Status.COMPLETE,
            d=decision,
            r=list(reasons),
            c=list(categories),
            now=iso(now),
            **review,
            **values,
        ),
    )
    if item is None:
        raise UnknownJob(job_id)
    return won, item


def fail_job(
    ddb: Any, table: str, job_id: str, reason: str, now: datetime
) -> tuple[bool, dict[str, Any] | None]:
    """pending|analyzing -> failed with a reason. A terminal job is left alone."""
    return _conditional_update(
        ddb,
        table,
        job_id,
        returns="NONE",
        UpdateExpression=(
            "SET #s = :failed, reasons = :r, completed_at = :now, updated_at = :now "
            "REMOVE dispatch_lease"
        ),
        ConditionExpression="#s IN (:pending, :analyzing)",
        ExpressionAttributeNames={"#s": JobAttr.STATUS},
        ExpressionAttributeValues=_values(
            failed=Status.FAILED,
            r=[reason],
            now=iso(now),
            pending=Status.PENDING,
            analyzing=Status.ANALYZING,
        ),
    )


# --- reads -------------------------------------------------------------------------------


def get_job(ddb: Any, table: str, job_id: str, consistent: bool = False) -> dict[str, Any] | None:
    out = ddb.get_item(
        TableName=table, Key={JobAttr.JOB_ID: {"S": job_id}}, ConsistentRead=consistent
    )
    return deserialize(out.get("Item"))


def jobs_older_than(
    ddb: Any, table: str, status: str, cutoff: datetime, limit: int = 500
) -> Iterator[dict[str, Any]]:
    """Jobs in `status` created before `cutoff`, oldest first, from the status GSI."""
    kwargs: dict[str, Any] = {
        "TableName": table,
        "IndexName": STATUS_INDEX,
        "KeyConditionExpression": "#s = :s AND created_at < :cutoff",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": _values(s=status, cutoff=iso(cutoff)),
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
