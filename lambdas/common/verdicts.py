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

from botocore.exceptions import ClientError

from common import env
from common.contract import REKOGNITION_VERSION_KEY, Decision, Env
from common.jobs import deserialize, serialize
from common.timeutil import epoch, iso

KEY = "verdict_key"
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
class Verdict:
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


def _verdict_of(item: dict[str, Any]) -> Verdict:
    return Verdict(
        decision=str(item["decision"]),
        reasons=tuple(str(r) for r in item.get("reasons") or ()),
        categories=tuple(item.get("categories") or ()),
        source_job_id=str(item.get("source_job_id", "")),
        decided_by=str(item.get("decided_by", RULES)),
        rekognition_model_version=item.get("rekognition_model_version"),
    )


def usable(
    item: dict[str, Any] | None, rekognition_version: str | None, now: datetime
) -> Verdict | None:
    """The stored verdict if it may decide a new job now, else None.

    Expired items count as absent (DynamoDB's TTL deletes them only eventually). A rules
    verdict that saw Rekognition needs the version Rekognition answers with today.
    """
    if not item or int(item.get("expires_at", 0)) <= epoch(now):
        return None
    verdict = _verdict_of(item)
    if verdict.decided_by == MODERATOR:
        return verdict if verdict.decision in (Decision.APPROVE, Decision.REJECT) else None
    needed = verdict.rekognition_model_version
    if needed is not None and needed != rekognition_version:
        return None
    return verdict


def lookup(ddb: Any, table: str, content_sha256: str, digest: str, now: datetime) -> Verdict | None:
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
    version = meta.get("version")
    return usable(found.get(wanted[0]), str(version) if version else None, now)


def _put(ddb: Any, table: str, item: dict[str, Any], **condition: Any) -> bool:
    try:
        ddb.put_item(TableName=table, Item=serialize(item), **condition)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        return False
    return True


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
    rekognition = job.get("rekognition_result") or {}
    version = None if rekognition.get("skipped") else rekognition.get("model_version") or None
    item = {
        KEY: verdict_key,
        "decision": decision,
        "reasons": list(reasons),
        "categories": list(categories),
        "source_job_id": job["job_id"],
        "decided_by": RULES,
        "rekognition_model_version": version,
        "decided_at": iso(now),
        "expires_at": epoch(now + timedelta(days=ttl_days)),
    }
    values: dict[str, Any] = {":now": {"N": str(epoch(now))}, ":rules": {"S": RULES}}
    condition = "attribute_not_exists(verdict_key) OR expires_at <= :now"
    if version is not None:
        condition += " OR (decided_by = :rules AND rekognition_model_version <> :version)"
        values[":version"] = {"S": version}
    return _put(
        ddb,
        table,
        item,
        ConditionExpression=condition,
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
            "decision": decision,
            "reasons": [f"moderator: {decision}"],
            "categories": [],
            "source_job_id": job_id,
            "decided_by": MODERATOR,
            "decided_at": iso(reviewed_at),
            "expires_at": epoch(reviewed_at + timedelta(days=ttl_days)),
        },
    )


def note_rekognition_version(ddb: Any, table: str, version: str, now: datetime) -> bool:
    """Record the Rekognition model version answers carry now; a no-op when unchanged."""
    return _put(
        ddb,
        table,
        {KEY: REKOGNITION_VERSION_KEY, "version": version, "seen_at": iso(now)},
        ConditionExpression="attribute_not_exists(verdict_key) OR version <> :v",
        ExpressionAttributeValues={":v": {"S": version}},
    )
