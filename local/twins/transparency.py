"""A stand-in for the DSA Transparency Database API (not the Commission's service).

It answers the three endpoints the submitter uses, as the real API documents them
(lambdas/common/dsa_rules.py names the source and commit):

- `POST /api/v1/statements` `{"statements": [...]}`: 1-100 statements, each validated
  with the same rules (`dsa_rules.validate`); 422 with `errors.statement_<i>` and none
  created when any is invalid; 422 with `errors.existing_puids` and none created when a
  puid was used before (or twice in the call); else 201 and all created;
- `POST /api/v1/statement`: one statement, the same checks;
- `GET /api/v1/statement/existing-puid/{puid}`: 302 when stored, 404 when not.

A bearer token is required (401 without the expected one). `fail_after_store(n)` makes
the next `n` create calls store their statements and then answer 500, as a database
that committed before its response was lost: the path a submitter must not duplicate.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lambdas.common import dsa_rules

PREFIX = "/api/v1"
EXISTING = f"{PREFIX}/statement/existing-puid/"


@dataclass
class TransparencyTwin:
    token: str
    statements: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str, int]] = field(default_factory=list)
    _fail_after_store: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_after_store(self, n: int = 1) -> None:
        with self._lock:
            self._fail_after_store = n

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        status, answer = self._handle(method, path, headers, body)
        with self._lock:
            self.calls.append((method, path, status))
        return status, answer

    def _handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        if auth != f"Bearer {self.token}":
            return 401, {"message": "Unauthenticated."}
        if method == "GET" and path.startswith(EXISTING):
            puid = path[len(EXISTING) :]
            found = puid in self.statements
            return (302 if found else 404), {
                "message": f"statement of reason {'found' if found else 'not found'}",
                "puid": puid,
            }
        if method != "POST" or path not in (f"{PREFIX}/statements", f"{PREFIX}/statement"):
            return 404, {"message": "Not Found"}
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return 400, {"message": "invalid JSON"}
        single = path == f"{PREFIX}/statement"
        batch = {"statements": [payload]} if single else payload
        errors = dsa_rules.validate_batch(batch)
        if errors:
            if single and "statement_0" in errors:
                return 422, {"message": errors["statement_0"][0], "errors": errors["statement_0"]}
            return 422, {"errors": errors}
        items = batch["statements"]
        puids = [s["puid"] for s in items]
        with self._lock:
            duplicates = sorted({p for p in puids if p in self.statements or puids.count(p) > 1})
            if duplicates:
                message = "The platform identifier(s) are not all unique within this call."
                return 422, {
                    "message": message,
                    "errors": {"puid": [message], "existing_puids": duplicates},
                }
            for statement in items:
                self.statements[statement["puid"]] = dict(statement)
            if self._fail_after_store > 0:
                self._fail_after_store -= 1
                return 500, {"message": "Server Error"}
        created = [{**s, "uuid": f"twin-{s['puid']}"} for s in items]
        return 201, (created[0] if single else {"statements": created})


class _Handler(BaseHTTPRequestHandler):
    twin: TransparencyTwin

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, answer = self.twin.handle(self.command, self.path, dict(self.headers), body)
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = _answer  # noqa: N815 - http.server's names
    do_POST = _answer  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


@dataclass
class RunningTwin:
    twin: TransparencyTwin
    server: ThreadingHTTPServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}{PREFIX}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def serve(token: str, port: int = 0) -> RunningTwin:
    """Serve a twin on loopback (port 0: any free port) in a daemon thread."""
    twin = TransparencyTwin(token)
    handler = type("TwinHandler", (_Handler,), {"twin": twin})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, name="transparency-twin", daemon=True)
    thread.start()
    return RunningTwin(twin, server, thread)
