"""Submitting statements of reasons to the DSA Transparency Database, once per puid.

The API (`dsa_rules.py` names the source): `POST {base}/statements` with
`{"statements": [...]}` (1-100) answers 201 when it created them all, or 422 when it
created none: `errors.statement_<i>` for an invalid statement, `errors.existing_puids`
for puids the platform already used. `GET {base}/statement/existing-puid/{puid}` answers
302 when a statement with that puid exists, 404 when not.

Exactly once per puid:
- a certain refusal (4xx) created nothing: what is wrong is set aside (invalid ones and
  duplicates: a duplicate is already stored, so it counts as submitted), the rest is sent
  again;
- an uncertain failure (5xx, a timeout, a dropped connection) may have stored the batch:
  before sending again, each puid is looked up and those the database has are not sent;
- transient failures are retried with exponential backoff; what still fails goes to the
  caller's dead-letter queue (the submitter's), with an alarm on it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from common.dsa_rules import MAX_BATCH


class Uncertain(Exception):
    """The request may or may not have reached the database (5xx, timeout, connection)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


class Api(Protocol):
    def post_statements(self, statements: list[dict[str, Any]]) -> Answer: ...

    def puid_exists(self, puid: str) -> bool: ...


class HttpApi:
    """The Transparency Database API (or its local twin) over HTTPS with the platform token."""

    def __init__(self, base_url: str, token: str, timeout: float = 20.0) -> None:
        self.base = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _request(self, method: str, path: str, body: Any = None) -> Answer:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.base}{path}",
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
        )
        opener = urllib.request.build_opener(_NoRedirect())
        try:
            with opener.open(request, timeout=self.timeout) as response:
                return Answer(response.status, _json(response.read()))
        except urllib.error.HTTPError as exc:
            answer = Answer(exc.code, _json(exc.read()))
            if exc.code >= 500:
                raise Uncertain(f"{method} {path}: HTTP {exc.code}") from exc
            return answer
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise Uncertain(f"{method} {path}: {exc}") from exc

    def post_statements(self, statements: list[dict[str, Any]]) -> Answer:
        return self._request("POST", "/statements", {"statements": statements})

    def puid_exists(self, puid: str) -> bool:
        answer = self._request("GET", f"/statement/existing-puid/{puid}")
        if answer.status == 302:
            return True
        if answer.status == 404:
            return False
        raise Uncertain(f"existing-puid {puid}: HTTP {answer.status}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """existing-puid answers 302 when found: the answer itself, not a page to follow."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass
class Report:
    submitted: list[str] = field(default_factory=list)
    # Already in the database (a retry after an uncertain failure found it, or a duplicate).
    already: list[str] = field(default_factory=list)
    # puid -> why it could not be submitted (for the dead-letter queue).
    failed: dict[str, str] = field(default_factory=dict)
    requests: int = 0


def batches(items: list[dict[str, Any]], size: int = MAX_BATCH) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _refused(answer: Answer, batch: list[dict[str, Any]], report: Report) -> list[dict[str, Any]]:
    """A 422 created none of the batch: set aside what it names, return what to resend."""
    errors = answer.body.get("errors") or {}
    existing = set(errors.get("existing_puids") or [])
    invalid: dict[str, str] = {}
    for index, statement in enumerate(batch):
        found = errors.get(f"statement_{index}")
        if found:
            invalid[statement["puid"]] = json.dumps(found)[:1000]
    if not existing and not invalid:
        # Refused as a whole for a reason that names no statement: nothing to resend.
        for statement in batch:
            report.failed[statement["puid"]] = f"HTTP {answer.status}: {answer.body}"[:1000]
        return []
    report.already += [s["puid"] for s in batch if s["puid"] in existing]
    report.failed.update(invalid)
    return [s for s in batch if s["puid"] not in existing and s["puid"] not in invalid]


def submit(
    api: Api,
    statements: list[dict[str, Any]],
    sleep: Callable[[float], None],
    *,
    attempts: int = 5,
    base_delay: float = 1.0,
) -> Report:
    """Submit `statements` in batches of at most 100, each puid at most once."""
    report = Report()
    for batch in batches(statements):
        _submit_batch(api, list(batch), sleep, attempts, base_delay, report)
    return report


def _submit_batch(
    api: Api,
    batch: list[dict[str, Any]],
    sleep: Callable[[float], None],
    attempts: int,
    base_delay: float,
    report: Report,
) -> None:
    uncertain = False
    for attempt in range(attempts):
        if attempt:
            sleep(base_delay * 2 ** (attempt - 1))
        if uncertain:
            # The last request may have stored them: ask before sending any again.
            try:
                stored = [s for s in batch if api.puid_exists(s["puid"])]
            except Uncertain:
                continue
            report.already += [s["puid"] for s in stored]
            batch = [s for s in batch if s not in stored]
            uncertain = False
        if not batch:
            return
        report.requests += 1
        try:
            answer = api.post_statements(batch)
        except Uncertain:
            uncertain = True
            continue
        if answer.status in (200, 201):
            report.submitted += [s["puid"] for s in batch]
            return
        if answer.status == 422:
            batch = _refused(answer, batch, report)
            continue
        if answer.status == 429:
            continue  # refused before it was read: nothing stored; back off and resend
        for statement in batch:  # 401, 403, other 4xx: resending cannot help
            report.failed[statement["puid"]] = f"HTTP {answer.status}: {answer.body}"[:1000]
        return
    for statement in batch:
        report.failed[statement["puid"]] = f"still failing after {attempts} attempts" + (
            " (outcome uncertain)" if uncertain else ""
        )


def dead_letters(report: Report, statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The dead-letter messages for what failed: the statement (no personal data in it)
    and why, so an operator can fix and redrive it."""
    by_puid = {s["puid"]: s for s in statements}
    return [
        {"puid": puid, "reason": reason, "statement": by_puid.get(puid)}
        for puid, reason in report.failed.items()
    ]
