"""Stored verdicts: an image decided once is not analyzed again while nothing it depends on changed.

A verdict is keyed `<content sha256>#<digest>`. The digest (computed by the program from
the decision rules, the categories, the custom and text rules and the versions of the
models the custom and text branches run) changes whenever any of them does, so a rule
or model change never reuses a stale verdict. Rekognition's model version is only known
from its answers: each verdict records the version it was decided with, the Rekognition
analyzer keeps the version it last saw in one meta item, and a lookup reads both in one
BatchGetItem; a verdict reached without Rekognition (custom-first's decisive reject) or
by a moderator does not depend on it.

A verdict holds what a decision needs (decision, reasons, categories) and the job it came
from, for operators; never who uploaded it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from common import env
from common.conditional import conditional
from common.contract import REKOGNITION_VERSION_KEY, Decision, Env, JobAttr, VerdictAttr
from common.jobs import deserialize, serialize
from common.timeutil import epoch, iso

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

    def reason_line(self) -> str:
        """The line a reused job's reasons start with."""
        who = "a moderator's verdict" if self.decided_by == MODERATOR else "the verdict"
        return f"reused: {who} on identical image bytes under the same rules and models"


def _verdict_of(item: dict[str, Any]) -> StoredVerdict:
    return StoredVerdict(
        decision=str(item[VerdictAttr.DECISION]),
        reasons=tuple(str(r) for r in item.get(VerdictAttr.REASONS) or ()),
        categories=tuple(item.get(VerdictAttr.CATEGORIES) or ()),
        source_job_id=str(item.get(VerdictAttr.SOURCE_JOB_ID, "")),
        decided_by=str(item.get(VerdictAttr.DECIDED_BY, RULES)),
        rekognition_model_version=item.get(VerdictAttr.REKOGNITION_MODEL_VERSION),
    )


def usable(
    item: dict[str, Any] | None, rekognition_version: str | None, now: datetime
) -> StoredVerdict | None:
    """The stored verdict if it may decide a new job now, else None.

    Expired items count as absent (DynamoDB's TTL deletes them only eventually). A rules
    verdict that saw Rekognition needs the version Rekognition answers with today.
    """
    if not item or int(item.get(VerdictAttr.EXPIRES_AT, 0)) <= epoch(now):
        return None
    verdict = _verdict_of(item)
    if verdict.decided_by == MODERATOR:
        return verdict if verdict.decision in (Decision.APPROVE, Decision.REJECT) else None
    needed = verdict.rekognition_model_version
    if needed is not None and needed != rekognition_version:
        return None
    return verdict


def lookup(
    ddb: Any, table: str, content_sha256: str, digest: str, now: datetime
) -> StoredVerdict | None:
    """One BatchGetItem: the verdict for these bytes and rules, and Rekognition's version."""
    wanted = [key(content_sha256, digest), REKOGNITION_VERSION_KEY]
    request = {table: {"Keys": [{KEY: {"S": k}} for k in wanted], "ConsistentRead": False}}
    found: dict[str, dict[str, Any]] = {}
    for _ in range(3):
        out = ddb.batch_get_item(RequestItems=request)
        for raw in out.get("Responses", {}).get(table, []):
            item = deserialize(raw) or {}
            found[str(item.get(KEY))] = item
        request = out.get("UnprocessedKeys") or {}
        if not request:
            break
    meta = found.get(REKOGNITION_VERSION_KEY) or {}
    version = meta.get(VerdictAttr.VERSION)
    return usable(found.get(wanted[0]), str(version) if version else None, now)


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
    replaced by the rules'; an expired or out-of-date item is replaced. Returns whether
    this call wrote.
    """
    rekognition = job.get(JobAttr.REKOGNITION_RESULT) or {}
    version = None if rekognition.get("skipped") else rekognition.get("model_version") or None
    item: dict[str, Any] = {
        KEY: verdict_key,
        VerdictAttr.DECISION: decision,
        VerdictAttr.REASONS: list(reasons),
        VerdictAttr.CATEGORIES: list(categories),
        VerdictAttr.SOURCE_JOB_ID: job[JobAttr.JOB_ID],
        VerdictAttr.DECIDED_BY: RULES,
        VerdictAttr.REKOGNITION_MODEL_VERSION: version,
        VerdictAttr.DECIDED_AT: iso(now),
        VerdictAttr.EXPIRES_AT: epoch(now + timedelta(days=ttl_days)),
    }
    values: dict[str, Any] = {":now": {"N": str(epoch(now))}, ":rules": {"S": RULES}}
    names = {"#k": KEY, "#e": VerdictAttr.EXPIRES_AT}
    condition = "attribute_not_exists(#k) OR #e <= :now"
    if version is not None:
        condition += " OR (#by = :rules AND #mv <> :version)"
        names |= {"#by": VerdictAttr.DECIDED_BY, "#mv": VerdictAttr.REKOGNITION_MODEL_VERSION}
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
