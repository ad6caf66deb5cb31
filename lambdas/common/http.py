"""API Gateway HTTP API (payload v2) requests and responses."""

from __future__ import annotations

import base64
import json
from typing import Any

JSON_HEADERS = {"content-type": "application/json", "cache-control": "no-store"}


def response(status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {**JSON_HEADERS, **(headers or {})},
        "body": json.dumps(body, separators=(",", ":"), sort_keys=True),
    }


def error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    return response(status, {"error": code, "message": message}, headers)


def header(event: dict[str, Any], name: str) -> str | None:
    headers = event.get("headers") or {}
    name = name.lower()
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    return None


def body_bytes(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def caller_id(event: dict[str, Any]) -> str | None:
    """The authenticated user: the JWT's `sub` claim, never anything from the body."""
    claims = event.get("requestContext", {}).get("authorizer", {}).get("jwt", {}).get("claims", {})
    sub = claims.get("sub")
    return sub if isinstance(sub, str) and sub else None


def path_param(event: dict[str, Any], name: str) -> str | None:
    return (event.get("pathParameters") or {}).get(name)
