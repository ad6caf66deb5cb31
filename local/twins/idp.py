"""The local identity provider: an RSA key, its JWKS, and Cognito-shaped tokens.

It plays Cognito's part for the local stack: the API's JWT authorizer (and the edge
function, when edge auth is on) verify tokens against this JWKS exactly as they
would against a user pool's.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_ID = "local-app-client"


def _b64(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class LocalIdentityProvider:
    def __init__(self, key_file: Path, issuer: str, client_id: str = CLIENT_ID) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        if key_file.exists():
            self.key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        else:
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            key_file.write_bytes(
                self.key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            key_file.chmod(0o600)
        numbers = self.key.public_key().public_numbers()
        self.kid = hashlib.sha256(f"{numbers.n}:{numbers.e}".encode()).hexdigest()[:20]
        self._jwk = {
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "alg": "RS256",
            "n": _b64(numbers.n),
            "e": _b64(numbers.e),
        }

    def act_as(self, issuer: str) -> None:
        """Mint and verify tokens as the user pool the program declared, with this key.

        With edge auth on, the program's own Cognito pool is the issuer the API's
        authorizer and the edge function trust (`https://cognito-idp.<region>.amazonaws.com/
        <pool id>`). Locally no one serves that URL: this provider plays the pool, and
        the edge function verifies with this key because its JWKS is baked in through
        `edgeAuth.jwksFile` (see local/edge_twins.py).
        """
        self.issuer = issuer.rstrip("/")

    def jwks(self) -> dict:
        return {"keys": [dict(self._jwk)]}

    def openid_configuration(self) -> dict:
        return {
            "issuer": self.issuer,
            "jwks_uri": f"{self.issuer}/.well-known/jwks.json",
            "id_token_signing_alg_values_supported": ["RS256"],
            "subject_types_supported": ["public"],
            "response_types_supported": ["code", "token"],
        }

    def token(
        self,
        sub: str,
        token_use: str = "id",
        ttl: int = 3600,
        groups: list[str] | tuple[str, ...] = (),
        **extra,
    ) -> str:
        """A Cognito-shaped token: ID tokens carry `aud`, access tokens `client_id`; both
        carry `cognito:groups` (a JSON array, as Cognito writes it) when the user has groups."""
        now = int(time.time())
        claims = {
            "sub": sub,
            "iss": self.issuer,
            "token_use": token_use,
            "auth_time": now,
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": str(uuid.uuid4()),
            "cognito:username": sub,
        }
        if token_use == "id":
            claims["aud"] = self.client_id
        else:
            claims["client_id"] = self.client_id
            claims["scope"] = "openid"
        if groups:
            claims["cognito:groups"] = list(groups)
        claims.update(extra)
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def verify(self, token: str, audiences: list[str]) -> dict:
        """Verify as API Gateway's JWT authorizer does; raise jwt.InvalidTokenError otherwise."""
        header = jwt.get_unverified_header(token)
        if header.get("kid") != self.kid or header.get("alg") != "RS256":
            raise jwt.InvalidTokenError("unknown key or algorithm")
        claims = jwt.decode(
            token,
            self.key.public_key(),
            algorithms=["RS256"],
            issuer=self.issuer,
            options={"verify_aud": False, "require": ["exp", "iss", "sub"]},
            leeway=5,
        )
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud] if aud else []
        if not (set(auds) & set(audiences) or claims.get("client_id") in audiences):
            raise jwt.InvalidAudienceError("audience not allowed")
        return claims
