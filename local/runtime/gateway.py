"""The local HTTP API: API Gateway's routes, JWT authorizer, throttling and access logs.

It serves exactly the routes the program declared, builds payload-format-2.0 events
as API Gateway does (binary bodies base64-encoded, JWT claims as strings, an array claim
such as `cognito:groups` as `"[a b]"`), invokes
the integration synchronously, and maps the response back.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt

from local.registry import RouteDef
from local.twins.idp import LocalIdentityProvider

log = logging.getLogger("local.runtime.gateway")
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")
INTEGRATION_TIMEOUT = 30.0


class TokenBucket:
    def __init__(self, rate: float | None, burst: int | None) -> None:
        self.rate = rate or 0.0
        self.capacity = float(burst or 0)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        if self.rate <= 0:
            return True
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


class _Route:
    def __init__(self, route: RouteDef) -> None:
        self.route = route
        method, template = route.route_key.split(" ", 1)
        self.method = method
        pattern = re.sub(r"\{(\w+)\+?\}", r"(?P<\1>[^/]+)", template)
        self.regex = re.compile(f"^{pattern}$")
        self.bucket = TokenBucket(route.throttle_rate, route.throttle_burst)


class Gateway:
    def __init__(
        self,
        routes: list[RouteDef],
        lambdas: Any,
        idp: LocalIdentityProvider,
        telemetry: Any,
        access_log_group: str | None,
        access_log_format: str | None,
        port: int,
        api_id: str = "local",
    ) -> None:
        self.routes = [_Route(r) for r in routes]
        self.lambdas = lambdas
        self.idp = idp
        self.telemetry = telemetry
        self.access_log_group = access_log_group
        self.access_log_format = access_log_format
        self.access_stream = f"{datetime.now(UTC):%Y/%m/%d}/local-gateway"
        self.api_id = api_id
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # access logs go to CloudWatch instead
                return

            def _handle(self) -> None:
                gateway.handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, daemon=True, name="gateway"
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()

    # --- request handling ----------------------------------------------------------------

    def _send(self, h: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict) -> None:
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)

    def _json(self, h, status: int, body: Any, headers: dict | None = None) -> None:
        self._send(
            h,
            status,
            json.dumps(body).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        split = urlsplit(h.path)
        path = split.path
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        context: dict[str, Any] = {
            "requestId": request_id,
            "routeKey": "-",
            "status": 0,
            "sub": "-",
        }

        if path.startswith("/idp/"):
            doc = (
                self.idp.jwks() if path.endswith("/jwks.json") else self.idp.openid_configuration()
            )
            return self._json(h, 200, doc)

        match = None
        for route in self.routes:
            if route.method != h.command:
                continue
            m = route.regex.match(path)
            if m:
                match = (route, m.groupdict())
                break
        if match is None:
            context["status"] = 404
            self._json(h, 404, {"message": "Not Found"})
            return self._access_log(context, started)
        route, params = match
        context["routeKey"] = route.route.route_key

        claims: dict[str, Any] = {}
        if route.route.authorization_type == "JWT":
            auth = h.headers.get("Authorization", "")
            token = auth[7:].strip() if auth.lower().startswith("bearer ") else auth.strip()
            try:
                if not token:
                    raise jwt.InvalidTokenError("missing token")
                claims = self.idp.verify(token, route.route.audiences)
            except jwt.InvalidTokenError as exc:
                context.update(status=401, authorizerError=str(exc))
                self._json(
                    h,
                    401,
                    {"message": "Unauthorized"},
                    {"www-authenticate": 'Bearer error="invalid_token"'},
                )
                return self._access_log(context, started)
            context["sub"] = claims.get("sub", "-")

        if not route.bucket.take():
            context["status"] = 429
            self._json(h, 429, {"message": "Too Many Requests"})
            return self._access_log(context, started)

        headers: dict[str, str] = {}
        for key, value in h.headers.items():
            k = key.lower()
            headers[k] = f"{headers[k]},{value}" if k in headers else value
        content_type = headers.get("content-type", "")
        is_text = any(content_type.startswith(t) for t in TEXT_TYPES)
        now = datetime.now(UTC)
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route.route.route_key,
            "rawPath": path,
            "rawQueryString": split.query,
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": self.api_id,
                "domainName": headers.get("host", "127.0.0.1"),
                "domainPrefix": self.api_id,
                "http": {
                    "method": h.command,
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": h.client_address[0],
                    "userAgent": headers.get("user-agent", ""),
                },
                "requestId": request_id,
                "routeKey": route.route.route_key,
                "stage": "$default",
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(now.timestamp() * 1000),
            },
            "isBase64Encoded": bool(body) and not is_text,
        }
        if claims:
            event["requestContext"]["authorizer"] = {
                "jwt": {"claims": {k: _claim(v) for k, v in claims.items()}, "scopes": None}
            }
        if split.query:
            event["queryStringParameters"] = dict(parse_qsl(split.query))
        if params:
            event["pathParameters"] = params
        if body:
            event["body"] = (
                base64.b64encode(body).decode()
                if event["isBase64Encoded"]
                else body.decode("utf-8", "replace")
            )

        inv = self.lambdas.invoke(route.route.function, event, wait=True)
        if inv.throttled:
            context.update(status=503, integrationError="Lambda throttled")
            self._json(h, 503, {"message": "Service Unavailable"})
        elif not inv.ok:
            context.update(status=500, integrationError=(inv.error or {}).get("errorMessage", ""))
            self._json(h, 500, {"message": "Internal Server Error"})
        else:
            status, out_headers, out_body = _response(inv.payload)
            context["status"] = status
            self._send(h, status, out_body, out_headers)
        self._access_log(context, started)

    def _access_log(self, context: dict, started: float) -> None:
        if not self.access_log_group:
            return
        latency = int((time.perf_counter() - started) * 1000)
        values = {
            "$context.requestId": context["requestId"],
            "$context.identity.sourceIp": "127.0.0.1",
            "$context.authorizer.claims.sub": context.get("sub", "-"),
            "$context.routeKey": context.get("routeKey", "-"),
            "$context.status": str(context.get("status", 0)),
            "$context.responseLatency": str(latency),
            "$context.integrationErrorMessage": context.get("integrationError", "-"),
            "$context.authorizer.error": context.get("authorizerError", "-"),
        }
        line = self.access_log_format or json.dumps({"requestId": "$context.requestId"})
        for key in sorted(values, key=len, reverse=True):
            line = line.replace(key, values[key])
        self.telemetry.log(self.access_log_group, self.access_stream, line)


def _claim(value: Any) -> str:
    """A claim as API Gateway's JWT authorizer hands it to Lambda (payload 2.0): a string.

    An array becomes its members in brackets, separated by spaces (`cognito:groups`
    `["moderators", "admins"]` arrives as `"[moderators admins]"`), booleans `true`/
    `false`, numbers their digits. Objects have no documented form; they are JSON here.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(_claim(v) for v in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _response(payload: Any) -> tuple[int, dict, bytes]:
    """Payload format 2.0 response mapping."""
    if isinstance(payload, dict) and "statusCode" in payload:
        headers = {k: str(v) for k, v in (payload.get("headers") or {}).items()}
        body = payload.get("body") or ""
        raw = base64.b64decode(body) if payload.get("isBase64Encoded") else str(body).encode()
        return int(payload["statusCode"]), headers, raw
    return 200, {"content-type": "application/json"}, json.dumps(payload).encode()
