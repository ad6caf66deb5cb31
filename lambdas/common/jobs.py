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

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from common.conditional import conditional
from common.contract import (
    LEGACY_BRANCHES,
    AppealField,
    AppealState,
    Branch,
    Decision,
    JobAttr,
    NoticeField,
    QaField,
    QaState,
    ReviewField,
    ReviewState,
    Status,
    WorkQueue,
)
from common.job_record import Field as Field
from common.job_record import Update as Update
from common.job_record import deserialize as deserialize
from common.job_record import expected_branches as expected_branches
from common.job_record import from_dynamo as from_dynamo
from common.job_record import get_job as get_job
from common.job_record import jobs_older_than as jobs_older_than
from common.job_record import key_of
from common.job_record import missing_results as missing_results
from common.job_record import new_job as new_job
from common.job_record import serialize as serialize
from common.job_record import to_dynamo as to_dynamo
from common.timeutil import epoch, iso

_ser = TypeSerializer()
_de = TypeDeserializer()


class UnknownJob(LookupError):
    """A message names a job that does not exist: a poison message."""


class NotReady(RuntimeError):
    """The job is not in a state this step can act on yet; retrying later may succeed."""


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
            Key=key_of(job_id),
            ReturnValues=returns,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            **update.request(),
        )
    )
    if won and returns == "NONE":
        return True, {}
    return won, deserialize(raw)


# --- create ----------------------------------------------------------------------------


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
    ddb: Any,
    table: str,
    job_id: str,
    decision: str,
    review: dict[str, Any],
    now: datetime,
    *,
    moderator: str,
) -> tuple[bool, dict[str, Any] | None]:
    """review_state pending -> reviewed with a moderator's `review` (`ReviewField`s).

    Conditional on the job being complete and in the queue, and on no other moderator
    holding its review claim (common/claims.py): a second verdict changes nothing. Keeps
    the rules' decision as `automatic_decision`; `decision` becomes the moderator's.
    Marks the notices it answers: `notices_answered_through` takes the id of the latest
    notice in the item as this write finds it (common/notices.py `answered`), so which
    notices a verdict answers is decided by write order, never by clocks.
    Returns (won, the job after) or (lost, the job as it was, None when it does not
    exist), so the caller can say why without a read.
    """
    update = (
        Update()
        .set(JobAttr.REVIEW_STATE, ReviewState.REVIEWED)
        # The rules' decision, kept from the first verdict on: a notice can queue a
        # reviewed job again, and a second verdict must not record the first as the rules'.
        .copy_once(JobAttr.AUTOMATIC_DECISION, JobAttr.DECISION)
        .set(JobAttr.DECISION, decision)
        .set(JobAttr.REVIEW, review)
        .copy_inner(NoticeField.ANSWERED_THROUGH, NoticeField.LATEST, "notice_id", "")
        .set(JobAttr.UPDATED_AT, iso(now))
    )
    update.when(
        update.equals(JobAttr.REVIEW_STATE, ReviewState.PENDING),
        update.equals(JobAttr.STATUS, Status.COMPLETE),
        update.claim_free(WorkQueue.REVIEW, moderator, now),
    )
    return _write(ddb, table, job_id, update)


# --- claims, appeals and QA (common/claims.py, common/appeals.py, common/qa.py) -----------


def claim_job(
    ddb: Any,
    table: str,
    job_id: str,
    queue: WorkQueue,
    state_attribute: Field,
    moderator: str,
    now: datetime,
    minutes: int,
) -> tuple[bool, dict[str, Any] | None]:
    """Lease a queued job to `moderator` for `minutes`: one conditional UpdateItem.

    Conditional on the job still being in the queue (`state_attribute = pending`) and on
    its claim in that queue being free, expired or the moderator's own (a renewal), so
    two moderators claiming at once never both win. Returns (won, item): the item after
    (won) or as it was (lost).
    """
    update = Update().claim(queue, moderator, epoch(now) + 60 * minutes, now)
    update.when(
        # Every queue's waiting state is `pending` (ReviewState, AppealState, QaState).
        update.equals(state_attribute, ReviewState.PENDING),
        update.claim_free(queue, moderator, now),
    )
    return _write(ddb, table, job_id, update)


def release_job(
    ddb: Any, table: str, job_id: str, queue: WorkQueue, moderator: str, now: datetime
) -> tuple[bool, dict[str, Any] | None]:
    """Give a claim back: only the claimant's own, unexpired claim is removed."""
    update = Update().unclaim(queue)
    update.when(update.claimed_by(queue, moderator, now))
    return _write(ddb, table, job_id, update, returns="NONE")


def file_appeal(
    ddb: Any,
    table: str,
    job_id: str,
    owner: str,
    message: str,
    decision_before: str,
    now: datetime,
    window_start: datetime,
) -> tuple[bool, dict[str, Any] | None]:
    """The owner's appeal: the job enters the appeal queue. One conditional UpdateItem.

    Conditional on the caller owning the job, the job being complete with an appealable
    decision (`reject` or `warn` from the rules, or any verdict of a moderator) made at or
    after `window_start`, and no appeal yet: a job is appealed at most once.
    """
    appeal = {"message": message, "appealed_at": iso(now), "decision_before": decision_before}
    update = (
        Update()
        .set(AppealField.STATE, AppealState.PENDING)
        .set(AppealField.AT, iso(now))
        .set(AppealField.APPEAL, appeal)
        .set(JobAttr.UPDATED_AT, iso(now))
    )
    since = iso(window_start)
    update.when(
        update.equals(JobAttr.USER_ID, owner),
        update.equals(JobAttr.STATUS, Status.COMPLETE),
        update.absent(AppealField.STATE),
        update.equals(JobAttr.DECISION, decision_before),
        update.any_of(
            update.all_of(
                update.equals(JobAttr.REVIEW_STATE, ReviewState.REVIEWED),
                update.inner_at_least(JobAttr.REVIEW, ReviewField.REVIEWED_AT, since),
            ),
            update.all_of(
                update.absent(JobAttr.REVIEW_STATE),
                update.is_in(JobAttr.DECISION, Decision.REJECT, Decision.WARN),
                update.at_least(JobAttr.COMPLETED_AT, since),
            ),
        ),
    )
    return _write(ddb, table, job_id, update, returns="NONE")


def decide_appeal(
    ddb: Any,
    table: str,
    job_id: str,
    moderator: str,
    decided: dict[str, Any],
    decision_before: str,
    decision_after: str,
    now: datetime,
) -> tuple[bool, dict[str, Any] | None]:
    """Decide a pending appeal (`decided`: outcome, note, decided_by, decided_at); the job's
    decision becomes `decision_after` (unchanged for an upheld appeal). One conditional
    UpdateItem, so racing moderators decide it once: only while the appeal is pending and
    the decision is still the one appealed, never by the uploader or the job's reviewer,
    and not while another moderator holds the appeal's claim."""
    update = Update().set(AppealField.STATE, AppealState.DECIDED)
    for key, value in (
        ("outcome", decided["outcome"]),
        ("note", decided.get("note", "")),
        ("decided_by", moderator),
        ("decided_at", iso(now)),
        ("decision_after", decision_after),
    ):
        update.set_in(AppealField.APPEAL, key, value)
    update.set(JobAttr.DECISION, decision_after).set(JobAttr.UPDATED_AT, iso(now))
    update.when(
        update.equals(AppealField.STATE, AppealState.PENDING),
        update.equals(JobAttr.DECISION, decision_before),
        update.differs(JobAttr.USER_ID, moderator),
        update.inner_absent_or_differs(JobAttr.REVIEW, ReviewField.REVIEWER, moderator),
        update.claim_free(WorkQueue.APPEAL, moderator, now),
    )
    return _write(ddb, table, job_id, update)


def queue_for_qa(
    ddb: Any, table: str, job_id: str, sample: dict[str, Any], now: datetime
) -> tuple[bool, dict[str, Any] | None]:
    """Put a complete job in the QA queue (`sample`: source, original, original_reviewer).
    At most once per job: conditional on it never having been sampled."""
    update = (
        Update()
        .set(QaField.STATE, QaState.PENDING)
        .set(QaField.QUEUED_AT, iso(now))
        .set(QaField.QA, sample)
    )
    update.when(update.exists(JobAttr.JOB_ID), update.absent(QaField.STATE))
    return _write(ddb, table, job_id, update, returns="NONE")


def decide_qa(
    ddb: Any, table: str, job_id: str, moderator: str, decided: dict[str, Any], now: datetime
) -> tuple[bool, dict[str, Any] | None]:
    """Record a QA decision (`decided`: decision, note, agrees). Once per job, only by a
    moderator who is neither the uploader nor the original reviewer, and not while
    another moderator holds the QA claim."""
    update = Update().set(QaField.STATE, QaState.DECIDED)
    for key, value in (
        ("decision", decided["decision"]),  # not a job attribute: the QA decision
        ("note", decided.get("note", "")),
        ("reviewer", moderator),
        ("decided_at", iso(now)),
        ("agrees", bool(decided["agrees"])),
    ):
        update.set_in(QaField.QA, key, value)
    update.when(
        update.equals(QaField.STATE, QaState.PENDING),
        update.differs(JobAttr.USER_ID, moderator),
        update.inner_absent_or_differs(QaField.QA, "original_reviewer", moderator),
        update.claim_free(WorkQueue.QA, moderator, now),
    )
    return _write(ddb, table, job_id, update)


# --- notices (DSA Article 16; common/notices.py) --------------------------------------------


def add_notice(
    ddb: Any, table: str, job_id: str, notice: dict[str, Any], now: datetime
) -> tuple[bool, dict[str, Any] | None]:
    """Record a notice on a decided job and put it in the review queue: one conditional
    UpdateItem. Returns (won, the job after it) or (lost, the job as it was, or None).

    Conditional on the job being complete, not the notifier's own, and not already
    restricted by a `reject` (that notice is recorded by `add_restricted_notice`). The
    queue key (`review_state = pending`) is set whatever the job's review state: a notice
    after a verdict puts it back in front of a moderator, so no notice goes unseen.
    """
    update = (
        Update()
        .append(NoticeField.NOTICES, [notice])
        .set(NoticeField.LATEST, notice)
        .set(NoticeField.NOTICED, True)
        .set(JobAttr.REVIEW_STATE, ReviewState.PENDING)
        .set(JobAttr.UPDATED_AT, iso(now))
    )
    update.when(
        update.exists(JobAttr.JOB_ID),
        update.equals(JobAttr.STATUS, Status.COMPLETE),
        update.differs(JobAttr.USER_ID, notice["notifier"]),
        update.differs(JobAttr.DECISION, Decision.REJECT),
    )
    return _write(ddb, table, job_id, update)


def add_restricted_notice(
    ddb: Any, table: str, job_id: str, notice: dict[str, Any], now: datetime
) -> tuple[bool, dict[str, Any] | None]:
    """Record a notice on a job a `reject` already restricted (nothing left to review)."""
    update = Update().append(NoticeField.NOTICES, [notice]).set(JobAttr.UPDATED_AT, iso(now))
    update.when(
        update.equals(JobAttr.STATUS, Status.COMPLETE),
        update.differs(JobAttr.USER_ID, notice["notifier"]),
        update.equals(JobAttr.DECISION, Decision.REJECT),
    )
    return _write(ddb, table, job_id, update)
