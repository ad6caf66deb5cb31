"""Forged tokens against the BUILT Lambda@Edge package, in an isolated interpreter.

Every case runs in one `python -I -S -B` process with only the package directory on
sys.path, so what is tested is exactly what CloudFront would run: the vendored
python-jose with its pure-Python `rsa` backend and nothing from this venv.
"""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives import hashes

from tests.support import edge as es

KEY = es.SigningKey("key-1")
SECOND = es.SigningKey("key-2")
ATTACKER = es.SigningKey("attacker")
HEADER = {"kid": KEY.kid, "alg": "RS256"}


def signed(claims: dict | None = None, header: dict | None = None, key: es.SigningKey = KEY) -> str:
    return key.sign(header or HEADER, claims or es.claims())


def tampered() -> str:
    token = signed()
    head, _, sig = token.split(".")
    forged = es.claims(sub="someone-else")
    return f"{head}.{es.b64url_json(forged)}.{sig}"


PASS = "pass"


def build_cases() -> dict[str, tuple[dict, str | int]]:
    """case name -> (event, expected status). Built when the suite runs: tokens are
    minted relative to the current time."""
    now = int(time.time())
    return {
        "valid bearer id token": (es.bearer(signed()), PASS),
        "valid token in the cookie": (
            es.viewer_event({"Cookie": ["theme=dark; id_token=" + signed() + "; other=1"]}),
            PASS,
        ),
        "valid token of the second pool key": (
            es.bearer(SECOND.sign({"kid": SECOND.kid, "alg": "RS256"}, es.claims())),
            PASS,
        ),
        "expired within the clock skew": (es.bearer(signed(es.claims(exp=now - 10))), PASS),
        "lowercase bearer scheme": (
            es.viewer_event({"Authorization": ["bearer " + signed()]}),
            PASS,
        ),
        # --- unauthenticated: 401 ---
        "no token": (es.viewer_event(), 401),
        "alg none": (
            es.bearer(
                f"{es.b64url_json({'kid': KEY.kid, 'alg': 'none'})}.{es.b64url_json(es.claims())}."
            ),
            401,
        ),
        "alg none with a signature": (
            es.bearer(
                f"{es.b64url_json({'kid': KEY.kid, 'alg': 'none'})}.{es.b64url_json(es.claims())}.AAAA"
            ),
            401,
        ),
        "HS256 signed with the public key": (
            es.bearer(es.hs256_with_public_key(KEY, {"kid": KEY.kid, "alg": "HS256"}, es.claims())),
            401,
        ),
        "unknown kid": (
            es.bearer(ATTACKER.sign({"kid": "attacker", "alg": "RS256"}, es.claims())),
            401,
        ),
        "known kid, another key's signature": (es.bearer(signed(key=ATTACKER)), 401),
        "kid is not a string": (es.bearer(signed(header={"kid": [KEY.kid], "alg": "RS256"})), 401),
        "no kid": (es.bearer(signed(header={"alg": "RS256"})), 401),
        "RS512 instead of RS256": (
            es.bearer(KEY.sign_rs512({"kid": KEY.kid, "alg": "RS512"}, es.claims())),
            401,
        ),
        "RS256 header over a SHA-1 signature": (
            es.bearer(KEY.sign(HEADER, es.claims(), hashes.SHA1())),
            401,  # noqa: S303 - the forgery under test
        ),
        "critical header extension": (
            es.bearer(signed(header={**HEADER, "crit": ["exp"]})),
            401,
        ),
        "expired": (es.bearer(signed(es.claims(exp=now - 120))), 401),
        "not yet valid (nbf)": (es.bearer(signed(es.claims(nbf=now + 600))), 401),
        "issued in the future (iat)": (es.bearer(signed(es.claims(iat=now + 600))), 401),
        "exp is a string": (es.bearer(signed(es.claims(exp=str(now + 3600)))), 401),
        "exp is a boolean": (es.bearer(signed(es.claims(exp=True))), 401),
        "no exp": (es.bearer(signed({k: v for k, v in es.claims().items() if k != "exp"})), 401),
        "no sub": (es.bearer(signed({k: v for k, v in es.claims().items() if k != "sub"})), 401),
        "wrong issuer": (es.bearer(signed(es.claims(iss=es.ISSUER + "x"))), 401),
        "issuer of another pool": (
            es.bearer(
                signed(es.claims(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"))
            ),
            401,
        ),
        "tampered payload": (es.bearer(tampered()), 401),
        "truncated signature": (es.bearer(signed()[:-12]), 401),
        "truncated to two segments": (es.bearer(signed().rsplit(".", 1)[0]), 401),
        "four segments": (es.bearer(signed() + ".AAAA"), 401),
        "payload is a JSON array": (
            es.bearer(KEY.sign(HEADER, None, raw_payload=es.b64url_json(["sub", "iss"]))),
            401,
        ),
        "duplicate claims": (
            es.bearer(
                KEY.sign(
                    HEADER,
                    None,
                    raw_payload=es.b64url(
                        '{"iss":"https://evil.example","sub":"x","token_use":"id",'
                        f'"aud":"{es.CLIENT_ID}","exp":{now + 3600},"iss":"{es.ISSUER}"}}'
                    ),
                )
            ),
            401,
        ),
        "exp is Infinity": (
            es.bearer(
                KEY.sign(
                    HEADER,
                    None,
                    raw_payload=es.b64url(
                        f'{{"iss":"{es.ISSUER}","sub":"x","token_use":"id","aud":"{es.CLIENT_ID}","exp":Infinity}}'
                    ),
                )
            ),
            401,
        ),
        "garbage": (es.bearer("not-a-token"), 401),
        "garbage with dots": (es.bearer("a.b.c"), 401),
        "non-base64url characters": (es.bearer("eyJ!.eyJ$.abc%"), 401),
        "unicode garbage": (es.bearer("\u00e9\u00e9.\u00e9\u00e9.\u00e9\u00e9"), 401),
        "header is not JSON": (
            es.bearer(f"{es.b64url('nope')}.{es.b64url_json(es.claims())}.AAAA"),
            401,
        ),
        "oversized JWT header": (
            es.bearer(signed(header={**HEADER, "pad": "A" * 4000})),
            401,
        ),
        "oversized Authorization header": (es.bearer("A" * 100_000), 401),
        "oversized cookie": (es.viewer_event({"Cookie": ["id_token=" + "B" * 100_000]}), 401),
        "empty bearer": (es.viewer_event({"Authorization": ["Bearer "]}), 401),
        "basic scheme": (es.viewer_event({"Authorization": ["Basic YWxpY2U6c2VjcmV0"]}), 401),
        "two Authorization headers": (
            es.viewer_event({"Authorization": ["Bearer " + signed(), "Bearer " + signed()]}),
            401,
        ),
        # --- a genuine token of this pool, not for this use: 403 ---
        "wrong audience": (es.bearer(signed(es.claims(aud="another-client"))), 403),
        "audience list without this client": (es.bearer(signed(es.claims(aud=["a", "b"]))), 403),
        "access token where an id token is expected": (es.bearer(signed(es.claims("access"))), 403),
        "access token that also names the client in aud": (
            es.bearer(signed(es.claims("access", aud=es.CLIENT_ID))),
            403,
        ),
        "token_use refresh": (es.bearer(signed(es.claims(token_use="refresh"))), 403),
        "no token_use": (es.bearer(signed(es.claims(token_use=None))), 403),
        "id token naming the client only in client_id": (
            es.bearer(signed(es.claims(aud=None, client_id=es.CLIENT_ID))),
            403,
        ),
    }


CASE_NAMES = list(build_cases())


@pytest.fixture(scope="module")
def run() -> dict:
    package = es.build({"keys": [KEY.jwk(), SECOND.jwk()]})
    cases = build_cases()
    report = es.run_isolated(package.directory, [cases[n][0] for n in CASE_NAMES])
    report["by_case"] = dict(zip(CASE_NAMES, report["results"], strict=True))
    report["cases"] = cases
    return report


@pytest.mark.parametrize("case", CASE_NAMES)
def test_case(run, case):
    event, expected = run["cases"][case]
    out = run["by_case"][case]
    result = out["result"]
    if expected == PASS:
        # The request reaches the origin exactly as it arrived.
        assert result == event["Records"][0]["cf"]["request"], case
        assert out["logs"] == ""
        return
    assert result["status"] == str(expected), (case, result)
    if expected == 401:
        assert result["statusDescription"] == "Unauthorized" and result["body"] == "Unauthorized"
        assert result["headers"]["www-authenticate"][0]["value"].startswith(
            'Bearer realm="content"'
        )
    else:
        assert result["statusDescription"] == "Forbidden" and result["body"] == "Forbidden"
        assert "www-authenticate" not in result["headers"]
    assert result["headers"]["cache-control"] == [{"key": "Cache-Control", "value": "no-store"}]
    assert "uri" not in result and "headers" in result


def test_every_invalid_token_gets_the_same_bytes(run):
    """No oracle: expired, forged, malformed and unknown-key tokens look alike to the client."""
    invalid = {
        name: run["by_case"][name]["result"]
        for name, (_, expected) in run["cases"].items()
        if expected == 401 and name != "no token"
    }
    distinct = {repr(sorted(r.items())) for r in invalid.values()}
    assert len(distinct) == 1, invalid
    (response,) = {repr(r) for r in invalid.values()}
    assert 'error="invalid_token"' in response
    missing = run["by_case"]["no token"]["result"]
    assert missing["headers"]["www-authenticate"] == [
        {"key": "WWW-Authenticate", "value": 'Bearer realm="content"'}
    ]
    forbidden = {
        repr(run["by_case"][n]["result"]) for n, (_, e) in run["cases"].items() if e == 403
    }
    assert len(forbidden) == 1


def test_refusals_are_logged_with_a_reason_but_never_the_token(run):
    for name, (event, expected) in run["cases"].items():
        if expected == PASS:
            continue
        logs = run["by_case"][name]["logs"]
        assert '"message":"request refused"' in logs and '"reason":' in logs, name
        assert '"EdgeRequestsRefused":1' in logs, name
        request_headers = event["Records"][0]["cf"]["request"]["headers"]
        for header in ("authorization", "cookie"):
            for value in request_headers.get(header, []):
                secret = value["value"].split(" ")[-1].split("=")[-1]
                if len(secret) > 8:
                    assert secret[:40] not in logs, (name, header)
    assert '"reason":"expired"' in run["by_case"]["expired"]["logs"]
    assert '"reason":"algorithm"' in run["by_case"]["alg none with a signature"]["logs"]
    assert '"reason":"algorithm"' in run["by_case"]["HS256 signed with the public key"]["logs"]
    assert '"reason":"unknown_key"' in run["by_case"]["unknown kid"]["logs"]
    assert '"reason":"signature"' in run["by_case"]["RS256 header over a SHA-1 signature"]["logs"]
    assert '"reason":"audience"' in run["by_case"]["wrong audience"]["logs"]
    for name in (
        "token_use refresh",
        "no token_use",
        "access token that also names the client in aud",
    ):
        assert '"reason":"token_use"' in run["by_case"][name]["logs"], name


def test_the_pure_python_backend_is_what_ran(run):
    assert run["cryptography_loaded"] is False
    assert run["rsa_key_class"] == "jose.backends.rsa_backend.RSAKey"
    assert not any("site-packages" in p for p in run["sys_path"]), run["sys_path"]


def test_access_tokens_when_the_stack_expects_them():
    package = es.build({"keys": [KEY.jwk()]}, token_use="access")
    events = [
        es.bearer(signed(es.claims("access"))),
        es.bearer(signed(es.claims("id"))),
        es.bearer(signed(es.claims("access", client_id="another-client"))),
        es.viewer_event({"Cookie": ["access_token=" + signed(es.claims("access"))]}),
    ]
    results = [r["result"] for r in es.run_isolated(package.directory, events)["results"]]
    assert results[0] == events[0]["Records"][0]["cf"]["request"]
    assert results[1]["status"] == "403" and results[2]["status"] == "403"
    assert results[3] == events[3]["Records"][0]["cf"]["request"]


def test_a_package_without_keys_refuses_everything():
    """The preview build (no pool yet, so no JWKS) fails closed."""
    from components import packaging

    config = {**es.edge_config({"keys": [KEY.jwk()]}), "jwks": {"keys": []}}
    package = packaging.build_edge_function("edge_auth", config)
    out = es.run_isolated(package.directory, [es.bearer(signed())])["results"][0]["result"]
    assert out["status"] == "401"
