"""CloudFront viewer-request events: where the token is, and the responses that refuse.

The refusals carry nothing that helps an attacker: every invalid token gets the same
bytes whatever the reason (the reason goes to the function's log only), and none may
be cached by the browser.
"""

from __future__ import annotations

from typing import Any

REALM = "content"


def token_from(request: dict[str, Any], cookie_name: str) -> str | None:
    """The bearer token of a viewer request: `Authorization: Bearer`, else the cookie.

    Returns None when the request carries neither, and "" when it carries something
    unusable (another scheme, several Authorization headers), which is refused as invalid.
    """
    headers = request.get("headers") or {}
    authorization = headers.get("authorization") or []
    if authorization:
        if len(authorization) != 1:
            return ""
        scheme, _, credentials = str(authorization[0].get("value", "")).strip().partition(" ")
        if scheme.lower() != "bearer":
            return ""
        return credentials.strip()
    for entry in headers.get("cookie") or []:
        for part in str(entry.get("value", "")).split(";"):
            name, sep, value = part.strip().partition("=")
            if sep and name == cookie_name:
                return value.strip().strip('"')
    return None


def _header(key: str, value: str) -> list[dict[str, str]]:
    return [{"key": key, "value": value}]


def refusal(status: int, token_presented: bool) -> dict[str, Any]:
    """A generated response: 401 asks for a (new) token, 403 refuses a valid one."""
    headers = {
        "content-type": _header("Content-Type", "text/plain; charset=utf-8"),
        "cache-control": _header("Cache-Control", "no-store"),
    }
    if status == 401:
        challenge = f'Bearer realm="{REALM}"'
        if token_presented:
            challenge += ', error="invalid_token"'
        headers["www-authenticate"] = _header("WWW-Authenticate", challenge)
        return {
            "status": "401",  # not a job attribute: CloudFront's response
            "statusDescription": "Unauthorized",
            "headers": headers,
            "body": "Unauthorized",
        }
    return {
        "status": "403",  # not a job attribute: CloudFront's response
        "statusDescription": "Forbidden",
        "headers": headers,
        "body": "Forbidden",
    }
