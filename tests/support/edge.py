"""Keys, tokens (honest and forged) and an isolated runner for the edge-auth tests.

The runner executes the BUILT Lambda@Edge package in a fresh interpreter started
with `-I -S -B`: no site-packages (so only what the package vendors is importable,
and python-jose can only find its pure-Python backend), no user site, no bytecode
written into the package directory (Lambda's code directory is read-only too).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from components import packaging
from components.edge_auth import public_jwks

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EdgeTest"
CLIENT_ID = "edge-test-client"

RUNNER = r"""
import io, json, sys, time
package = sys.argv[1]
sys.path.insert(0, package)
started = time.perf_counter()
import edge_auth.handler as handler
import_ms = (time.perf_counter() - started) * 1000
import jose.backends

class Context:
    aws_request_id = "test-request"
    function_name = "edge"

cases = json.loads(sys.stdin.read())
results = []
for case in cases:
    captured = io.StringIO()
    real, sys.stdout = sys.stdout, captured
    try:
        started = time.perf_counter()
        out = handler.handler(case, Context())
        ms = (time.perf_counter() - started) * 1000
    finally:
        sys.stdout = real
    results.append({"result": out, "logs": captured.getvalue(), "ms": ms})
print(json.dumps({
    "results": results,
    "import_ms": import_ms,
    "cryptography_loaded": any(m == "cryptography" or m.startswith("cryptography.") for m in sys.modules),
    "rsa_key_class": jose.backends.RSAKey.__module__ + "." + jose.backends.RSAKey.__name__,
    "sys_path": sys.path,
}))
"""


def b64url(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(doc: Any) -> str:
    return b64url(json.dumps(doc, separators=(",", ":")))


class SigningKey:
    """An RSA key with a kid, able to sign honestly or in the ways attackers try."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict:
        numbers = self.key.public_key().public_numbers()

        def enc(n: int) -> str:
            return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))

        return {
            "kty": "RSA",
            "kid": self.kid,
            "alg": "RS256",
            "use": "sig",
            "n": enc(numbers.n),
            "e": enc(numbers.e),
        }

    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(
        self, header: dict, claims: Any, digest: Any = None, raw_payload: str | None = None
    ) -> str:
        """A JWS with `header` and `claims`, PKCS#1 v1.5 over `digest` (SHA-256 by default)."""
        signing_input = f"{b64url_json(header)}.{raw_payload or b64url_json(claims)}"
        signature = self.key.sign(
            signing_input.encode(), padding.PKCS1v15(), digest or hashes.SHA256()
        )
        return f"{signing_input}.{b64url(signature)}"

    def sign_rs512(self, header: dict, claims: dict) -> str:
        return self.sign(header, claims, hashes.SHA512())


def claims(kind: str = "id", **overrides) -> dict:
    """Cognito-shaped claims of a `kind` ("id" or "access") token; `overrides` replace or,
    when None, remove members. ID tokens name the client in `aud`, access tokens in
    `client_id`."""
    now = int(time.time())
    doc = {
        "sub": str(uuid.uuid4()),
        "iss": ISSUER,
        "token_use": kind,
        "auth_time": now,
        "iat": now,
        "exp": now + 3600,
        "jti": str(uuid.uuid4()),
        "cognito:username": "alice",
    }
    if kind == "id":
        doc["aud"] = CLIENT_ID
        doc["email"] = "alice@example.com"
    else:
        doc["client_id"] = CLIENT_ID
        doc["scope"] = "openid email"
    doc.update(overrides)
    return {k: v for k, v in doc.items() if v is not None}


def hs256_with_public_key(key: SigningKey, header: dict, payload: dict) -> str:
    """The classic confusion: an HMAC whose secret is the verifier's public key."""
    signing_input = f"{b64url_json(header)}.{b64url_json(payload)}"
    mac = hmac.new(key.public_pem(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def edge_config(jwks: dict, token_use: str = "id") -> dict:
    return {
        "issuer": ISSUER,
        "client_id": CLIENT_ID,
        "token_use": token_use,
        "jwks": public_jwks(jwks, "test"),
        "leeway_seconds": 30,
        "max_token_bytes": 8192,
        "max_header_bytes": 1024,
        "cookie_name": f"{token_use}_token",
    }


def build(jwks: dict, token_use: str = "id") -> packaging.EdgePackage:
    return packaging.build_edge_function("edge_auth", edge_config(jwks, token_use))


def viewer_event(headers: dict[str, list[str]] | None = None, uri: str = "/content/abc") -> dict:
    grouped = {
        name.lower(): [{"key": name, "value": v} for v in values]
        for name, values in (headers or {}).items()
    }
    grouped.setdefault("host", [{"key": "Host", "value": "d111111abcdef8.cloudfront.net"}])
    return {
        "Records": [
            {
                "cf": {
                    "config": {
                        "distributionDomainName": "d111111abcdef8.cloudfront.net",
                        "distributionId": "EDFDVBD6EXAMPLE",
                        "eventType": "viewer-request",
                        "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
                    },
                    "request": {
                        "clientIp": "203.0.113.178",
                        "headers": grouped,
                        "method": "GET",
                        "querystring": "size=large",
                        "uri": uri,
                    },
                }
            }
        ]
    }


def bearer(token: str) -> dict:
    return viewer_event({"Authorization": [f"Bearer {token}"]})


def run_isolated(package_dir: Path, events: list[dict], timeout: float = 120) -> dict:
    """Run the built handler on `events` in `python -I -S -B` with only the package on sys.path."""
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", RUNNER, str(package_dir)],
        input=json.dumps(events),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=package_dir.parent,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"isolated handler run failed:\n{proc.stderr}")
    return json.loads(proc.stdout)
