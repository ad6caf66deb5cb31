"""The `/banks` API: who may do what, and each route's behaviour (the handler only wires it).

Moderators (`moderation:review.moderatorGroup`) may list banks and their entries and add
entries; operators (`moderation:banks.operatorGroup`, default `operators`) may also
create and change banks, delete entries, re-enable a quarantined entry, import and export.
Both groups come from the token's `cognito:groups`. Errors are `{"error", "message"}`
with a 4xx status (openapi.yaml).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from common import banks, http
from common.contract import GROUPS_CLAIM, HashType, JobAttr
from common.review import Refused, claims_of, parse_groups

MAX_PAGE = 500
MAX_IMPORT_BYTES = 5_000_000


@dataclass(frozen=True)
class Caller:
    sub: str
    moderator: bool
    operator: bool


@dataclass(frozen=True)
class Context:
    table: Any  # the banks table (boto3 Table resource)
    moderator_group: str
    operator_group: str
    now: float
    # `{"job_id"}` entries: the PDQ and dHash of a job's stored image, or None (no such job).
    job_hashes: Callable[[str], Mapping[str, str] | None]


def caller(event: Mapping[str, Any], ctx: Context) -> Caller:
    claims = claims_of(event)
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise Refused(401, "unauthorized", "a signed-in user is required")
    groups = parse_groups(claims.get(GROUPS_CLAIM))
    operator = ctx.operator_group in groups
    moderator = operator or ctx.moderator_group in groups
    if not moderator:
        raise Refused(403, "forbidden", "hash banks are for moderators and operators")
    return Caller(sub, moderator, operator)


def require_operator(who: Caller) -> None:
    if not who.operator:
        raise Refused(403, "forbidden", "this is for the stack's operators")


def json_body(event: Mapping[str, Any]) -> dict[str, Any]:
    try:
        body = json.loads(http.body_bytes(dict(event)) or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(400, "invalid_json", "the body is not JSON") from exc
    if not isinstance(body, dict):
        raise Refused(400, "invalid_json", "the body is a JSON object")
    return body


def existing_bank(ctx: Context, name: str) -> dict[str, Any]:
    bank = banks.get_bank(ctx.table, name)
    if bank is None:
        raise Refused(404, "not_found", "no such bank")
    return bank


def handle(event: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    """One request, by its route key; a Refused or a BankError becomes its 4xx."""
    try:
        return route(event, ctx)
    except Refused as exc:
        return http.error(exc.status, exc.code, exc.message)
    except banks.BankError as exc:
        return http.error(400, exc.error, exc.message)


def route(event: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    who = caller(event, ctx)
    key = str(event.get("routeKey", ""))
    params = event.get("pathParameters") or {}
    query = event.get("queryStringParameters") or {}
    name = str(params.get("bank", ""))
    if key != "GET /banks":
        banks.check_bank_name(name)  # before any read: DynamoDB refuses keys over 1 KB
    if key == "GET /banks":
        return http.response(200, {"banks": banks.list_banks(ctx.table)})
    if key == "PUT /banks/{bank}":
        return put_bank(event, ctx, who, name)
    if key == "POST /banks/{bank}/entries":
        return add_entry(event, ctx, who, name)
    if key == "GET /banks/{bank}/entries":
        existing_bank(ctx, name)
        limit = _limit(query.get("limit"))
        start = query.get("after")
        if start is not None and not _entry_id_like(start):
            raise Refused(400, "invalid_after", "after is the `after` of the previous page")
        items, after = banks.list_entries(ctx.table, name, limit, start)
        return http.response(200, {"entries": items, "after": after})
    if key == "DELETE /banks/{bank}/entries/{entry_id}":
        require_operator(who)
        entry_id = str(params.get("entry_id", ""))
        if not _entry_id_like(entry_id) or not banks.delete_entry(ctx.table, name, entry_id):
            raise Refused(404, "not_found", "no such entry")
        return http.response(200, {"deleted": params.get("entry_id")})
    if key == "POST /banks/{bank}/import":
        return import_entries(event, ctx, who, name, query)
    if key == "GET /banks/{bank}/export":
        require_operator(who)
        existing_bank(ctx, name)
        hash_type = _hash_type(query.get("signal_type"))
        entries = list(_all_entries(ctx, name))
        return {
            "statusCode": 200,
            "headers": {"content-type": "text/csv", "cache-control": "no-store"},
            "body": banks.export_csv(entries, hash_type),
        }
    raise Refused(404, "not_found", "no such route")


def put_bank(event: Mapping[str, Any], ctx: Context, who: Caller, name: str) -> dict[str, Any]:
    """Create or change a bank; `{"entry_id", "enabled"}` instead re-enables (or disables)
    one entry, as an operator does to lift a quarantine."""
    require_operator(who)
    body = json_body(event)
    if "entry_id" in body:
        existing_bank(ctx, name)
        enabled = body.get("enabled")
        if not isinstance(enabled, bool):
            raise Refused(400, "invalid_enabled", "enabled is true or false")
        if not _entry_id_like(body["entry_id"]) or not banks.set_entry_enabled(
            ctx.table, name, str(body["entry_id"]), enabled, who.sub
        ):
            raise Refused(404, "not_found", "no such entry")
        return http.response(200, {"entry_id": body["entry_id"], "enabled": enabled})
    settings = banks.parse_settings(name, body)
    return http.response(200, banks.plain(banks.put_bank(ctx.table, settings, who.sub, ctx.now)))


def add_entry(event: Mapping[str, Any], ctx: Context, who: Caller, name: str) -> dict[str, Any]:
    existing_bank(ctx, name)
    body = json_body(event)
    reason = body.get("reason")
    if JobAttr.JOB_ID in body:
        hashes = ctx.job_hashes(str(body[JobAttr.JOB_ID]))
        if hashes is None:
            raise Refused(404, "not_found", "no such job, or its image is gone")
        source = f"job:{body[JobAttr.JOB_ID]}"
    else:
        hashes = {t.value: body[t.value] for t in HashType if t.value in body}
        source = "api"
    entry = banks.new_entry(hashes, who.sub, reason, source, ctx.now)
    return http.response(201, banks.plain(banks.add_entry(ctx.table, name, entry)))


def import_entries(
    event: Mapping[str, Any], ctx: Context, who: Caller, name: str, query: Mapping[str, Any]
) -> dict[str, Any]:
    require_operator(who)
    existing_bank(ctx, name)
    raw = http.body_bytes(dict(event))
    if len(raw) > MAX_IMPORT_BYTES:
        raise Refused(413, "payload_too_large", f"an import is at most {MAX_IMPORT_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused(400, "invalid_csv", "the CSV is not UTF-8") from exc
    source = str(query.get("source") or "import")[:100]
    entries = banks.import_csv(text, _hash_type(query.get("signal_type")), who.sub, ctx.now, source)
    return http.response(200, {"imported": banks.add_entries(ctx.table, name, entries)})


def _all_entries(ctx: Context, name: str) -> Any:
    after: str | None = None
    while True:
        items, after = banks.list_entries(ctx.table, name, MAX_PAGE, after)
        yield from items
        if after is None:
            return


def _entry_id_like(value: Any) -> bool:
    """An entry id this API could have made (16 hex digits, or a seed's `seed-<hash>`)."""
    return isinstance(value, str) and 1 <= len(value) <= 80 and value.isprintable()


def _limit(value: Any) -> int:
    if value is None:
        return banks.PAGE_SIZE
    try:
        limit = int(value)
    except (TypeError, ValueError) as exc:
        raise Refused(400, "invalid_limit", f"limit is 1-{MAX_PAGE}") from exc
    if not 1 <= limit <= MAX_PAGE:
        raise Refused(400, "invalid_limit", f"limit is 1-{MAX_PAGE}")
    return limit


def _hash_type(value: Any) -> str:
    if value is None:
        return HashType.PDQ
    if value not in tuple(HashType):
        raise Refused(400, "invalid_signal_type", "signal_type is pdq or dhash")
    return str(value)
