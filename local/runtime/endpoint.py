"""The local AWS endpoint: moto's server app behind a thin router.

Everything is moto except what moto cannot do for this pipeline: Lambda's Invoke
API goes to the local execution environments, Rekognition DetectModerationLabels to
the stand-in, and chaos can make DynamoDB throttle. `/_local/*` is the local cloud's
own control API (status, faults, invoking a function by hand).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from local.moto_patches import iam_auth
from local.twins import rekognition
from local.twins.common import ACCOUNT

log = logging.getLogger("local.runtime.endpoint")
_INVOKE = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/(?P<service>[^/]+)/")


def service_of(environ: dict) -> str:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    match = _SCOPE.search(auth)
    if match:
        return match.group("service")
    query = environ.get("QUERY_STRING", "")
    match = re.search(r"X-Amz-Credential=[^&]*?%2F[^&]*?%2F[^&]*?%2F(?P<service>[^%&]+)%2F", query)
    return match.group("service") if match else ""


def function_arn(name: str, environ: dict) -> str:
    """The ARN IAM authorizes an Invoke of `name` (a name or an ARN) against."""
    if name.startswith("arn:"):
        return name
    match = re.search(
        r"Credential=[^/]+/[^/]+/(?P<region>[^/]+)/", environ.get("HTTP_AUTHORIZATION", "")
    )
    region = match.group("region") if match else "us-east-1"
    return f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"


def _json(status: int, body: Any, headers: dict | None = None) -> Response:
    return Response(
        json.dumps(body, default=str),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


class Router:
    def __init__(self, moto_app, hooks: Any, s3_client: Callable[[], Any]) -> None:
        self.moto_app = moto_app
        self.hooks = hooks
        self.s3 = s3_client
        # moto resolves the backend for every request under one global lock; the answer
        # depends only on the signing service and the target prefix, so it is memoized.
        self._apps: dict[tuple[str, str], Any] = {}
        self._stats_lock = threading.Lock()
        self.request_stats: dict[str, list] = {}

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_local/"):
            return self._control(Request(environ))(environ, start_response)
        service = service_of(environ)
        if service == "lambda":
            match = _INVOKE.match(path)
            if match and environ.get("REQUEST_METHOD") == "POST":
                request, name = Request(environ), unquote(match.group("name"))
                denied = self._authorize(request, "InvokeFunction", function_arn(name, environ))
                response = denied or self._invoke(request, name)
                return response(environ, start_response)
        if service == "rekognition":
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            if target.endswith(".DetectModerationLabels"):
                request = Request(environ)
                # DetectModerationLabels has no resource-level permissions: "*" as on AWS.
                denied = self._authorize(request, "DetectModerationLabels", "*")
                return (denied or self._rekognition(request))(environ, start_response)
            return _json(
                400,
                {"__type": "UnsupportedOperation", "message": f"{target} is not emulated locally"},
            )(environ, start_response)
        if service == "dynamodb" and self.hooks.faults.throttle_dynamodb():
            return _json(
                400,
                {
                    "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                    "message": "Throughput exceeds the current capacity (injected by local chaos)",
                },
            )(environ, start_response)
        if not service or path.startswith("/moto-api"):
            return self.moto_app(environ, start_response)
        key = (service, environ.get("HTTP_X_AMZ_TARGET", "").split(".", 1)[0])
        app = self._apps.get(key)
        if app is None:
            app = self._apps[key] = self.moto_app.get_application(environ)
        started = time.perf_counter()
        try:
            return app(environ, start_response)
        finally:
            self._time(service, environ, time.perf_counter() - started)

    def _time(self, service: str, environ: dict, seconds: float) -> None:
        """Server-side time per service and operation (the `/_local/status` figures)."""
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        op = target.rsplit(".", 1)[-1] if target else environ.get("REQUEST_METHOD", "")
        with self._stats_lock:
            entry = self.request_stats.setdefault(f"{service}:{op}", [0, 0.0, 0.0])
            entry[0] += 1
            entry[1] += seconds
            entry[2] = max(entry[2], seconds)

    def _authorize(self, request: Request, action: str, resource: str) -> Response | None:
        """moto's IAM check for the calls this router answers itself; None when allowed."""
        denial = iam_auth.authorize_request(
            account=ACCOUNT,
            method=request.method,
            path=request.full_path.rstrip("?"),
            headers=dict(request.headers),
            body=request.get_data(),
            action=action,
            resource=resource,
        )
        if denial is None:
            return None
        status, content_type, body = denial
        return Response(body, status=status, content_type=content_type)

    def _invoke(self, request: Request, name: str) -> Response:
        kind = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        raw = request.get_data()
        payload = json.loads(raw) if raw else {}
        try:
            if kind == "Event":
                self.hooks.lambdas.invoke_async(name, payload)
                return Response(b"", status=202)
            if kind == "DryRun":
                self.hooks.lambdas.pool(name)
                return Response(b"", status=204)
            inv = self.hooks.lambdas.invoke(name, payload, wait=True)
        except KeyError:
            return _json(
                404,
                {"Type": "User", "message": f"Function not found: {name}"},
                {"x-amzn-ErrorType": "ResourceNotFoundException"},
            )
        if inv.throttled:
            return _json(
                429,
                {
                    "Type": "User",
                    "message": "Rate Exceeded.",
                    "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
                },
                {"x-amzn-ErrorType": "TooManyRequestsException"},
            )
        headers = {"X-Amz-Executed-Version": "$LATEST"}
        if not inv.ok:
            headers["X-Amz-Function-Error"] = "Unhandled"
            return _json(200, inv.error, headers)
        return _json(200, inv.payload, headers)

    def _rekognition(self, request: Request) -> Response:
        try:
            body = rekognition.detect_moderation_labels(
                self.s3(), json.loads(request.get_data() or b"{}")
            )
            return _json(200, body)
        except rekognition.RekognitionError as exc:
            return _json(
                exc.status,
                {"__type": exc.code, "Message": exc.message},
                {"x-amzn-ErrorType": exc.code},
            )

    def _control(self, request: Request) -> Response:
        action = request.path.removeprefix("/_local/").strip("/")
        body = request.get_json(silent=True) or {}
        try:
            result = self.hooks.control(action, body)
        except KeyError as exc:
            return _json(404, {"error": f"unknown: {exc}"})
        except ValueError as exc:
            return _json(400, {"error": str(exc)})
        return _json(200, result)


def _channel_class():
    """waitress's channel, minus one bug: after `Expect: 100-continue` on a request with
    an empty body (boto3 sends exactly that for an empty S3 PutObject), waitress sends
    the 100 Continue and then waits forever for a body that has no bytes. Such a
    request has nothing to continue with, so it is treated as complete."""
    from waitress.channel import HTTPChannel
    from waitress.parser import HTTPRequestParser

    class EmptyBodyParser(HTTPRequestParser):
        def parse_header(self, header_plus):
            super().parse_header(header_plus)
            if self.expect_continue and not self.chunked and self.content_length == 0:
                self.expect_continue = False

    class Channel(HTTPChannel):
        parser_class = EmptyBodyParser

    return Channel


class Endpoint:
    """The endpoint's HTTP server on 127.0.0.1, in a thread of the local cloud process.

    Served by waitress rather than werkzeug's development server: werkzeug closes
    every connection after one response, so each AWS call would pay a TCP handshake
    and a new thread on both sides; waitress keeps HTTP/1.1 connections alive and
    serves them from a thread pool.
    """

    def __init__(
        self, hooks: Any, s3_client: Callable[[], Any], port: int = 0, threads: int = 48
    ) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from waitress.server import create_server

        self.app = Router(DomainDispatcherApplication(create_backend_app), hooks, s3_client)
        self.server = create_server(
            self.app,
            host="127.0.0.1",
            port=port,
            threads=threads,
            connection_limit=1000,
            channel_timeout=300,
            ident="moderation-local",
            clear_untrusted_proxy_headers=True,
        )
        self.server.channel_class = _channel_class()
        self.port = self.server.effective_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.run, daemon=True, name="endpoint")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.close()
