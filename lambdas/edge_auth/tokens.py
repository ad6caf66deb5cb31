"""Verification of Cognito user-pool JWTs against keys baked into the package.

Lambda@Edge cannot read environment variables and should not make a network call on
the request path, so the pool's JWKS, issuer, app client id and the expected
`token_use` arrive in `config.json` at deploy time and every check here is offline.

The order is deliberate: size and shape first (cheap, before any decoding), then the
header (`alg` pinned to RS256, `kid` known), then the signature with the pure-Python
`rsa` backend of python-jose, and only then the claims of a token whose bytes are
known to come from the pool. Anything that is not a valid token of this pool is
`401`; a valid token of this pool that was issued for another client or use is `403`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import rsa
from jose import jws
from jose.backends.rsa_backend import RSAKey
from jose.exceptions import JOSEError

ALGORITHM = "RS256"
TOKEN_USES = ("id", "access")
ALLOW, UNAUTHENTICATED, FORBIDDEN = 200, 401, 403

# A base64url segment without padding: anything else is refused before it is decoded.
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Outcome:
    status: int
    reason: str
    claims: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def allowed(self) -> bool:
        return self.status == ALLOW


class StrictRS256Key(RSAKey):
    """python-jose's pure-Python RSA public key, pinned to SHA-256.

    `rsa.verify` accepts whichever digest a PKCS#1 v1.5 signature names (MD5, SHA-1,
    ...), and python-jose's backend does not compare it with the algorithm, so a
    signature over a weaker hash would pass as RS256. This key accepts SHA-256 only.
    """

    def __init__(self, jwk: Mapping[str, Any]) -> None:
        super().__init__(dict(jwk), ALGORITHM)
        if not isinstance(self._prepared_key, rsa.PublicKey):
            raise ValueError("only public keys belong in the edge function's JWKS")

    def verify(self, msg: bytes, sig: bytes) -> bool:
        try:
            return rsa.verify(msg, sig, self._prepared_key) == "SHA-256"
        except (rsa.VerificationError, OverflowError, ValueError):
            return False


def signing_keys(jwks: Mapping[str, Any]) -> dict[str, StrictRS256Key]:
    """The RS256 signature keys of a JWKS, by `kid`. Other keys are left out."""
    keys: dict[str, StrictRS256Key] = {}
    for jwk in jwks.get("keys", []):
        if not isinstance(jwk, Mapping):
            continue
        kid = jwk.get("kid")
        if (
            jwk.get("kty") == "RSA"
            and jwk.get("alg", ALGORITHM) == ALGORITHM
            and jwk.get("use", "sig") == "sig"
            and isinstance(kid, str)
            and kid
        ):
            keys[kid] = StrictRS256Key(jwk)
    return keys


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate member {key!r}")
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _parse_object(raw: bytes) -> dict[str, Any] | None:
    try:
        doc = json.loads(raw, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except (ValueError, TypeError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


def _time(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class Verifier:
    """Checks one token; cheap to call, built once per execution environment."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        token_use: str,
        jwks: Mapping[str, Any],
        leeway_seconds: int = 30,
        max_token_bytes: int = 8192,
        max_header_bytes: int = 1024,
        cookie_name: str | None = None,
    ) -> None:
        if token_use not in TOKEN_USES:
            raise ValueError(f"token_use must be one of {TOKEN_USES}, got {token_use!r}")
        self.issuer = issuer
        self.client_id = client_id
        self.token_use = token_use
        self.keys = signing_keys(jwks)
        self.leeway = leeway_seconds
        self.max_token_bytes = max_token_bytes
        self.max_header_bytes = max_header_bytes
        self.cookie_name = cookie_name or f"{token_use}_token"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Verifier:
        return cls(
            issuer=config["issuer"],
            client_id=config["client_id"],
            token_use=config["token_use"],
            jwks=config.get("jwks") or {"keys": []},
            leeway_seconds=int(config.get("leeway_seconds", 30)),
            max_token_bytes=int(config.get("max_token_bytes", 8192)),
            max_header_bytes=int(config.get("max_header_bytes", 1024)),
            cookie_name=config.get("cookie_name"),
        )

    def verify(self, token: str, now: float) -> Outcome:
        refused = self._refuse_shape(token)
        if refused is not None:
            return refused
        try:
            header = jws.get_unverified_header(token)
        except (JOSEError, ValueError, TypeError):
            return Outcome(UNAUTHENTICATED, "malformed")
        if header.get("alg") != ALGORITHM:
            return Outcome(UNAUTHENTICATED, "algorithm")
        if "crit" in header:
            # RFC 7515 4.1.11: extensions this verifier does not implement must be refused.
            return Outcome(UNAUTHENTICATED, "critical_header")
        kid = header.get("kid")
        key = self.keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            return Outcome(UNAUTHENTICATED, "unknown_key")
        try:
            payload = jws.verify(token, key, algorithms=[ALGORITHM])
        except (JOSEError, ValueError, TypeError):
            return Outcome(UNAUTHENTICATED, "signature")
        claims = _parse_object(payload)
        if claims is None:
            return Outcome(UNAUTHENTICATED, "claims")
        return self._check_claims(claims, now)

    def _refuse_shape(self, token: str) -> Outcome | None:
        if not isinstance(token, str) or not token:
            return Outcome(UNAUTHENTICATED, "malformed")
        if len(token) > self.max_token_bytes:
            return Outcome(UNAUTHENTICATED, "oversized")
        parts = token.split(".")
        if len(parts) != 3 or not all(_SEGMENT.fullmatch(p) for p in parts):
            return Outcome(UNAUTHENTICATED, "malformed")
        if len(parts[0]) > self.max_header_bytes:
            return Outcome(UNAUTHENTICATED, "oversized_header")
        return None

    def _check_claims(self, claims: dict[str, Any], now: float) -> Outcome:
        exp = _time(claims.get("exp"))
        if exp is None:
            return Outcome(UNAUTHENTICATED, "claims")
        if now >= exp + self.leeway:
            return Outcome(UNAUTHENTICATED, "expired")
        for name in ("nbf", "iat"):
            if name in claims:
                value = _time(claims[name])
                if value is None:
                    return Outcome(UNAUTHENTICATED, "claims")
                if value > now + self.leeway:
                    return Outcome(UNAUTHENTICATED, "not_yet_valid")
        if claims.get("iss") != self.issuer:
            return Outcome(UNAUTHENTICATED, "issuer")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            return Outcome(UNAUTHENTICATED, "claims")
        # From here the token is genuinely this pool's: refusals are 403, not 401.
        if claims.get("token_use") != self.token_use:
            return Outcome(FORBIDDEN, "token_use")
        if not self._for_this_client(claims):
            return Outcome(FORBIDDEN, "audience")
        return Outcome(ALLOW, "ok", claims)

    def _for_this_client(self, claims: dict[str, Any]) -> bool:
        # Cognito ID tokens name the app client in `aud`, access tokens in `client_id`.
        if self.token_use == "id":
            aud = claims.get("aud")
            audiences = aud if isinstance(aud, list) else [aud]
            return self.client_id in audiences
        return claims.get("client_id") == self.client_id
