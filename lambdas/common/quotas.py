"""Per-user upload limits: a rate per clock minute and a quota per UTC day.

Every upload costs analysis (Rekognition bills each image), so one account must not be
able to start them without bound. Each upload request makes exactly one conditional
UpdateItem on the usage table, before anything else is stored:

- the item is the user's day (`usage_key` = `<user>#<YYYY-MM-DD>`), holding `day_count`,
  one counter per minute that had uploads (`m<HHMM>`), and, for requests with an
  `Idempotency-Key`, a 16-hex-digit digest of each key (`request_keys`);
- the write ADDs one to the day and the minute, conditional on both being under their
  limit and on the key not being in the set; `expires_at` (TTL) deletes the item a day
  after its day ends;
- when the condition fails, the item as it was (returned with the failure, no read)
  says why: the key was counted already (a retry: admitted, not counted again), the day
  is full (429, `Retry-After` until midnight UTC), or the minute is (429, until the
  next minute).

A retried request with the same key counts once even when the first attempt failed
after counting (the key's digest is in the day's set); Powertools idempotency answers
a retry of a completed request before this runs at all. Requests refused for their
content count too: they cost an invocation, and the limit is on what a user may ask.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from common import env
from common.contract import USAGE_KEY, Env
from common.timeutil import epoch

RATE = "rate"
DAILY = "daily"
OVER_QUOTA = "over_quota"


@dataclass(frozen=True)
class Limits:
    usage_table: str
    per_minute: int
    per_day: int


def limits_from_env() -> Limits | None:
    """The upload function's limits; None when the stack has them off."""
    table = env.optional(Env.USAGE_TABLE)
    if not table:
        return None
    return Limits(
        usage_table=table,
        per_minute=env.integer(Env.UPLOADS_PER_MINUTE, 30),
        per_day=env.integer(Env.UPLOADS_PER_DAY, 1000),
    )


class OverQuota(Exception):
    """The user is over a limit; nothing was counted. Maps to 429 with Retry-After."""

    def __init__(self, limit: str, retry_after: int, message: str) -> None:
        super().__init__(message)
        self.limit = limit
        self.retry_after = retry_after
        self.message = message


@dataclass(frozen=True)
class Admission:
    counted: bool  # False: a retry of a request already counted today
    day_count: int | None  # the day's count after this write (None when not counted)


def day_of(now: datetime) -> str:
    return now.strftime("%Y-%m-%d")


def usage_key(user_id: str, now: datetime) -> str:
    return f"{user_id}#{day_of(now)}"


def minute_attribute(now: datetime) -> str:
    return f"m{now.strftime('%H%M')}"


def key_digest(idempotency_key: str) -> str:
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]


def seconds_to_next_minute(now: datetime) -> int:
    return max(1, 60 - now.second)


def seconds_to_next_day(now: datetime) -> int:
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((midnight - now).total_seconds() + 0.999))


def _number(value: dict[str, Any] | None) -> int:
    return int((value or {}).get("N", "0"))


def admit(
    ddb: Any, limits: Limits, user_id: str, now: datetime, idempotency_key: str | None = None
) -> Admission:
    """Count one upload for `user_id` now, or raise OverQuota (nothing counted)."""
    minute = minute_attribute(now)
    names = {"#m": minute}
    values: dict[str, Any] = {
        ":one": {"N": "1"},
        ":day_limit": {"N": str(limits.per_day)},
        ":minute_limit": {"N": str(limits.per_minute)},
        ":user": {"S": user_id},
        ":day": {"S": day_of(now)},
        # The day ends, then a day more: the dashboard can still show yesterday.
        ":expires": {"N": str(epoch(now + timedelta(days=2)))},
    }
    add = "day_count :one, #m :one"
    condition = (
        "(attribute_not_exists(day_count) OR day_count < :day_limit) "
        "AND (attribute_not_exists(#m) OR #m < :minute_limit)"
    )
    digest = key_digest(idempotency_key) if idempotency_key else None
    if digest is not None:
        add += ", request_keys :key"
        values[":key"] = {"SS": [digest]}
        values[":digest"] = {"S": digest}
        condition += " AND NOT contains(request_keys, :digest)"
    try:
        out = ddb.update_item(
            TableName=limits.usage_table,
            Key={USAGE_KEY: {"S": usage_key(user_id, now)}},
            UpdateExpression=f"SET user_id = :user, #d = :day, expires_at = :expires ADD {add}",
            ConditionExpression=condition,
            ExpressionAttributeNames={**names, "#d": "day"},
            ExpressionAttributeValues=values,
            ReturnValues="UPDATED_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        raw = exc.response.get("Item")
        old: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if digest is not None and digest in (old.get("request_keys") or {}).get("SS", []):
            return Admission(counted=False, day_count=None)
        if _number(old.get("day_count")) >= limits.per_day:
            raise OverQuota(
                DAILY,
                seconds_to_next_day(now),
                f"you have started {limits.per_day} uploads today (UTC), the most one user "
                "may; try again after midnight UTC",
            ) from None
        raise OverQuota(
            RATE,
            seconds_to_next_minute(now),
            f"you have started {limits.per_minute} uploads this minute, the most one user "
            "may; try again in a minute",
        ) from None
    return Admission(counted=True, day_count=_number(out.get("Attributes", {}).get("day_count")))


@dataclass(frozen=True)
class Usage:
    user_id: str
    day: str
    uploads: int


def heaviest(ddb: Any, table: str, index: str, now: datetime, limit: int = 20) -> list[Usage]:
    """Today's heaviest uploaders, most uploads first: one Query of the day index."""
    out = ddb.query(
        TableName=table,
        IndexName=index,
        KeyConditionExpression="#d = :day",
        ExpressionAttributeNames={"#d": "day"},
        ExpressionAttributeValues={":day": {"S": day_of(now)}},
        ScanIndexForward=False,
        Limit=limit,
    )
    return [
        Usage(
            user_id=item.get("user_id", {}).get("S", ""),
            day=item.get("day", {}).get("S", ""),
            uploads=_number(item.get("day_count")),
        )
        for item in out.get("Items", [])
    ]
