"""Stored verdicts: an image decided once is not analyzed again while nothing it depends on changed.

A verdict is keyed `<content sha256>#<digest>`. The digest (computed by the program from
the decision rules, the categories, the custom and text rules and the versions of the
models the custom and text branches run) changes whenever any of them does, so a rule
or model change never reuses a stale verdict. Rekognition's model version is only known
from its answers: each verdict records the version it was decided with, the Rekognition
analyzer keeps the version it last saw in one meta item, and a lookup reads both in one
BatchGetItem; a verdict reached without Rekognition (custom-first's decisive reject) or
by a moderator does not depend on it.

Hash banks change at run time: a lookup also reads the banks table's change stamp (in
the same BatchGetItem), and a verdict whose analysis may have run on the banks as they
were before the latest change is not reused (`usable`), so an image approved yesterday and
banked today is matched on its next upload.

A verdict holds what a decision needs (decision, reasons, categories) and the job it came
from, for operators; never who uploaded it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from common import env, near_index
from common.conditional import conditional
from common.contract import (
    BANK_CACHE_SECONDS,
    BANKS_CHANGED_AT,
    BANKS_CHANGED_KEY,
    REKOGNITION_VERSION_KEY,
    Decision,
    Env,
    JobAttr,
    VerdictAttr,
)
from common.jobs import deserialize, serialize
from common.timeutil import epoch, iso, parse_iso

KEY = VerdictAttr.KEY
RULES = "rules"  # decided_by: the decision rules over the analyzers' results
MODERATOR = "moderator"  # decided_by: a person, through the review queue


def key(content_sha256: str, digest: str) -> str:
    return f"{content_sha256}#{digest}"


@dataclass(frozen=True)
class ReuseConfig:
    """Where verdicts live, the digest of what they depend on, and how long they last."""

    table: str
    digest: str
    ttl_days: int
    # The hash banks' table, whose change stamp a lookup reads (None: the stack has none).
    banks_table: str | None = None
    # Near-duplicate reuse of Rekognition's labels: within this many PDQ bits (None: off).
    near_distance: int | None = None

    def key_for(self, content_sha256: str | None) -> str | None:
        return key(content_sha256, self.digest) if content_sha256 else None


def config_from_env() -> ReuseConfig | None:
    """The function's reuse settings; None when the stack has verdict reuse off."""
    table = env.optional(Env.VERDICTS_TABLE)
    if not table:
        return None
    return ReuseConfig(
        table=table,
        digest=env.require(Env.VERDICT_DIGEST),
        ttl_days=env.integer(Env.VERDICT_TTL_DAYS, 30),
        banks_table=env.optional(Env.BANKS_TABLE),
        near_distance=(
            env.integer(Env.NEAR_DUPLICATE_DISTANCE, 0)
            if env.optional(Env.NEAR_DUPLICATE_DISTANCE)
            else None
        ),
    )


@dataclass(frozen=True)
class StoredVerdict:
    """A verdict item of the verdicts table, as `lookup` finds it for a new job."""

    decision: str
    reasons: tuple[str, ...]
    categories: tuple[dict[str, Any], ...]
    source_job_id: str
    decided_by: str
    rekognition_model_version: str | None
    # What the banks must not have changed since: the source job's creation for the
    # rules' verdict, the verdict itself for a moderator's (None: unknown).
    basis: datetime | None = None

    def reason_line(self) -> str:
        """The line a reused job's reasons start with."""
        who = "a moderator's verdict" if self.decided_by == MODERATOR else "the verdict"
        return f"reused: {who} on identical image bytes under the same rules and models"


def _verdict_of(item: dict[str, Any]) -> StoredVerdict:
    decided_by = str(item.get(VerdictAttr.DECIDED_BY, RULES))
    basis = item.get(
        VerdictAttr.DECIDED_AT if decided_by == MODERATOR else VerdictAttr.ANALYSED_FROM
    )
    return StoredVerdict(
        decision=str(item[VerdictAttr.DECISION]),
        reasons=tuple(str(r) for r in item.get(VerdictAttr.REASONS) or ()),
        categories=tuple(item.get(VerdictAttr.CATEGORIES) or ()),
        source_job_id=str(item.get(VerdictAttr.SOURCE_JOB_ID, "")),
        decided_by=decided_by,
        rekognition_model_version=item.get(VerdictAttr.REKOGNITION_MODEL_VERSION),
        basis=parse_iso(str(basis)) if basis else None,
    )


def usable(
    item: dict[str, Any] | None,
    rekognition_version: str | None,
    now: datetime,
    banks_changed_at: datetime | None = None,
) -> StoredVerdict | None:
    """The stored verdict if it may decide a new job now, else None.

    Expired items count as absent (DynamoDB's TTL deletes them only eventually). A rules
    verdict that saw Rekognition needs the version Rekognition answers with today. After
    a bank change, a rules verdict needs a source job created at least the analyzer's
    bank cache time after it, and a moderator's verdict a decision after it.
    """
    if not item or int(item.get(VerdictAttr.EXPIRES_AT, 0)) <= epoch(now):
        return None
    verdict = _verdict_of(item)
    if banks_changed_at is not None:
        lag = timedelta(seconds=0 if verdict.decided_by == MODERATOR else BANK_CACHE_SECONDS)
        if verdict.basis is None or verdict.basis < banks_changed_at + lag:
            return None
    if verdict.decided_by == MODERATOR:
        return verdict if verdict.decision in (Decision.APPROVE, Decision.REJECT) else None
    needed = verdict.rekognition_model_version
    if needed is not None and needed != rekognition_version:
        return None
    return verdict


def lookup(
    ddb: Any,
    table: str,
    content_sha256: str,
    digest: str,
    now: datetime,
    banks_table: str | None = None,
) -> StoredVerdict | None:
    """One BatchGetItem: the verdict for these bytes and rules, Rekognition's version, and
    when the hash banks last changed."""
    wanted = [key(content_sha256, digest), REKOGNITION_VERSION_KEY]
    request: dict[str, Any] = {
        table: {"Keys": [{KEY: {"S": k}} for k in wanted], "ConsistentRead": False}
    }
    if banks_table:
        stamp = {k: {"S": v} for k, v in BANKS_CHANGED_KEY.items()}
        # Strongly consistent: a change just made must not be missed.
        request[banks_table] = {"Keys": [stamp], "ConsistentRead": True}
    found: dict[str, dict[str, Any]] = {}
    changed: datetime | None = None
    for _ in range(3):
        out = ddb.batch_get_item(RequestItems=request)
        responses = out.get("Responses", {})
        for raw in responses.get(table, []):
            item = deserialize(raw) or {}
            found[str(item.get(KEY))] = item
        for raw in responses.get(banks_table or "", []):
            changed = parse_iso(str((deserialize(raw) or {})[BANKS_CHANGED_AT]))
        request = out.get("UnprocessedKeys") or {}
        if not request:
            break
    if request:
        return None  # not all read (throttled): analyse rather than reuse on half a view
    meta = found.get(REKOGNITION_VERSION_KEY) or {}
    version = meta.get(VerdictAttr.VERSION)
    return usable(found.get(wanted[0]), str(version) if version else None, now, changed)


def _put(ddb: Any, table: str, item: dict[str, Any], **condition: Any) -> bool:
    written, _ = conditional(
        lambda: ddb.put_item(TableName=table, Item=serialize(item), **condition)
    )
    return written


def store(
    ddb: Any,
    table: str,
    verdict_key: str,
    job: dict[str, Any],
    decision: str,
    reasons: list[str],
    categories: list[dict[str, Any]],
    ttl_days: int,
    now: datetime,
) -> bool:
    """Store the rules' verdict for `job` (its finalizer calls this once it has won).

    Conditional: an identical upload that raced this one and stored first keeps its
    item (same bytes, same rules: the same decision), and a moderator's verdict is never
    replaced by the rules'; an expired or out-of-date item, or one from a job created more
    than the bank cache time earlier (perhaps analysed on older banks), is replaced.
    Returns whether this call wrote.
    """
    rekognition = job.get(JobAttr.REKOGNITION_RESULT) or {}
    version = None if rekognition.get("skipped") else rekognition.get("model_version") or None
    item: dict[str, Any] = {
        KEY: verdict_key,
        VerdictAttr.DECISION: decision,
        VerdictAttr.REASONS: list(reasons),
        VerdictAttr.CATEGORIES: list(categories),
        VerdictAttr.SOURCE_JOB_ID: job[JobAttr.JOB_ID],
        VerdictAttr.ANALYSED_FROM: job.get(JobAttr.CREATED_AT),
        VerdictAttr.DECIDED_BY: RULES,
        VerdictAttr.REKOGNITION_MODEL_VERSION: version,
        VerdictAttr.DECIDED_AT: iso(now),
        VerdictAttr.EXPIRES_AT: epoch(now + timedelta(days=ttl_days)),
    }
    values: dict[str, Any] = {":now": {"N": str(epoch(now))}, ":rules": {"S": RULES}}
    names = {"#k": KEY, "#e": VerdictAttr.EXPIRES_AT, "#by": VerdictAttr.DECIDED_BY}
    condition = "attribute_not_exists(#k) OR #e <= :now"
    if item[VerdictAttr.ANALYSED_FROM]:
        # A rules verdict from a job created a bank-cache time earlier (perhaps before a
        # bank change that keeps it from reuse) gives way; a racing twin does not.
        condition += " OR (#by = :rules AND (attribute_not_exists(#af) OR #af < :af))"
        names["#af"] = VerdictAttr.ANALYSED_FROM
        basis = parse_iso(str(item[VerdictAttr.ANALYSED_FROM]))
        values[":af"] = {"S": iso(basis - timedelta(seconds=BANK_CACHE_SECONDS))}
    if version is not None:
        condition += " OR (#by = :rules AND #mv <> :version)"
        names["#mv"] = VerdictAttr.REKOGNITION_MODEL_VERSION
        values[":version"] = {"S": version}
    return _put(
        ddb,
        table,
        item,
        ConditionExpression=condition,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


def store_moderator(
    ddb: Any,
    table: str,
    verdict_key: str,
    job_id: str,
    decision: str,
    reviewed_at: datetime,
    ttl_days: int,
) -> None:
    """A moderator's verdict for these bytes: it takes precedence over the rules' verdict."""
    _put(
        ddb,
        table,
        {
            KEY: verdict_key,
            VerdictAttr.DECISION: decision,
            VerdictAttr.REASONS: [f"moderator: {decision}"],
            VerdictAttr.CATEGORIES: [],
            VerdictAttr.SOURCE_JOB_ID: job_id,
            VerdictAttr.DECIDED_BY: MODERATOR,
            VerdictAttr.DECIDED_AT: iso(reviewed_at),
            VerdictAttr.EXPIRES_AT: epoch(reviewed_at + timedelta(days=ttl_days)),
        },
    )


def note_rekognition_version(ddb: Any, table: str, version: str, now: datetime) -> bool:
    """Record the Rekognition model version answers carry now; a no-op when unchanged."""
    return _put(
        ddb,
        table,
        {KEY: REKOGNITION_VERSION_KEY, VerdictAttr.VERSION: version, VerdictAttr.SEEN_AT: iso(now)},
        ConditionExpression="attribute_not_exists(#k) OR #v <> :v",
        ExpressionAttributeNames={"#k": KEY, "#v": VerdictAttr.VERSION},
        ExpressionAttributeValues={":v": {"S": version}},
    )


# ---- near-duplicate reuse (common/near_index.py) -------------------------------------


@dataclass(frozen=True)
class NearMatch:
    """An analysed image near a new one, whose Rekognition result may stand for it."""

    source_job_id: str
    distance: int
    rekognition_result: dict[str, Any]


def _batch_get(ddb: Any, table: str, keys: list[str]) -> dict[str, dict[str, Any]] | None:
    """{key: item} of those that exist; None when DynamoDB left some unread (throttled)."""
    request: dict[str, Any] = {table: {"Keys": [{KEY: {"S": k}} for k in keys]}}
    found: dict[str, dict[str, Any]] = {}
    for _ in range(3):
        out = ddb.batch_get_item(RequestItems=request)
        for raw in out.get("Responses", {}).get(table, []):
            item = deserialize(raw) or {}
            found[str(item.get(KEY))] = item
        request = out.get("UnprocessedKeys") or {}
        if not request:
            return found
    return None


def find_near(
    ddb: Any, table: str, digest: str, pdq_hex: str, max_distance: int, now: datetime
) -> NearMatch | None:
    """The nearest analysed image within `max_distance` whose Rekognition result may be
    reused: same rules digest (the keys hold it), the Rekognition version answers carry
    today, and no moderator's verdict on its bytes (a person saw something the labels
    did not say). Two BatchGetItems: the 16 slice keys with Rekognition's version, then
    the nearest candidates' results and verdicts."""
    slices = _batch_get(
        ddb, table, [*near_index.slice_keys(pdq_hex, digest), REKOGNITION_VERSION_KEY]
    )
    if slices is None:
        return None
    version = (slices.pop(REKOGNITION_VERSION_KEY, None) or {}).get(VerdictAttr.VERSION)
    found = near_index.candidates(slices.values(), pdq_hex, max_distance, epoch(now), KEY)
    if not found or not version:
        return None
    nearest = found[:3]
    keys = [k for _, sha in nearest for k in (near_index.result_key(sha, digest), key(sha, digest))]
    items = _batch_get(ddb, table, keys)
    if items is None:
        return None
    for d, sha in nearest:
        result = items.get(near_index.result_key(sha, digest))
        verdict = items.get(key(sha, digest)) or {}
        if (
            result is None
            or int(result.get(VerdictAttr.EXPIRES_AT, 0)) <= epoch(now)
            or result.get(VerdictAttr.REKOGNITION_MODEL_VERSION) != version
            or verdict.get(VerdictAttr.DECIDED_BY) == MODERATOR
        ):
            continue
        return NearMatch(
            str(result.get(VerdictAttr.SOURCE_JOB_ID, "")), d, dict(result[NEAR_RESULT])
        )
    return None


NEAR_RESULT = "rekognition_result"  # the result item's copy of the branch's result


def store_near(
    ddb: Any,
    table: str,
    digest: str,
    job: dict[str, Any],
    pdq_hex: str,
    ttl_days: int,
    now: datetime,
) -> int:
    """File an analysed image for near-duplicate reuse: its Rekognition result once, and
    its PDQ under its 16 slice keys (one UpdateItem each, in parallel). Returns how many
    slice items were too full to take it."""
    from concurrent.futures import ThreadPoolExecutor

    rekognition = job[JobAttr.REKOGNITION_RESULT]
    sha = str(job[JobAttr.CONTENT_SHA256])
    expires = epoch(now + timedelta(days=ttl_days))
    item = {
        KEY: near_index.result_key(sha, digest),
        NEAR_RESULT: rekognition,
        VerdictAttr.SOURCE_JOB_ID: job[JobAttr.JOB_ID],
        VerdictAttr.REKOGNITION_MODEL_VERSION: rekognition.get("model_version"),
        VerdictAttr.DECIDED_AT: iso(now),
        VerdictAttr.EXPIRES_AT: expires,
    }
    ddb.put_item(TableName=table, Item=serialize(item))
    value = {"S": near_index.entry_value(pdq_hex, expires)}

    def file_under(slice_key: str) -> str | None:
        """The key, when its item is full (a slice value some 2,800 images share fills
        DynamoDB's 400 KB item): the image is then found through its other slices."""
        try:
            ddb.update_item(
                TableName=table,
                Key={KEY: {"S": slice_key}},
                UpdateExpression="SET #sha = :v",
                ExpressionAttributeNames={"#sha": sha},
                ExpressionAttributeValues={":v": value},
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") != "ValidationException" or "size" not in str(
                error.get("Message", "")
            ):
                raise
            return slice_key
        return None

    with ThreadPoolExecutor(8) as pool:
        full = [k for k in pool.map(file_under, near_index.slice_keys(pdq_hex, digest)) if k]
    if full:
        logging.getLogger(__name__).warning(
            "near-duplicate index: slice items full, image filed under the others",
            extra={"slices_full": len(full)},
        )
    return len(full)
