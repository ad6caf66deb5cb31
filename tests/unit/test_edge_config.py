"""Edge-auth settings: defaults are valid, and every refusal names the setting and the fix."""

from __future__ import annotations

import json

import pytest

from components.settings import ConfigError, settings_from_mapping
from tests.support.config import BASE_CONFIG

ON = {"edgeAuthEnabled": True}


def refuse(edge: dict, **top) -> str:
    with pytest.raises(ConfigError) as info:
        settings_from_mapping("dev", {**ON, **top, "edgeAuth": edge})
    return str(info.value)


def test_edge_auth_needs_no_issuer_of_its_own():
    s = settings_from_mapping("dev", ON)
    e = s.edge_auth
    assert s.jwt_issuer is None
    assert (e.price_class, e.mfa, e.advanced_security, e.token_use) == (
        "PriceClass_100",
        "OFF",
        False,
        "id",
    )
    assert e.content_ttl_seconds == 31536000 and e.aliases == () and e.certificate_arn is None


def test_settings_are_read_from_the_edge_auth_object():
    s = settings_from_mapping(
        "dev",
        {
            **ON,
            "edgeAuth": {
                "priceClass": "PriceClass_All",
                "mfa": "optional",
                "tokenUse": "ACCESS",
                "aliases": ["cdn.example.com"],
                "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc-1",
                "callbackUrls": ["https://app.example.com/callback"],
            },
        },
    ).edge_auth
    assert (s.price_class, s.mfa, s.token_use) == ("PriceClass_All", "OPTIONAL", "access")
    assert s.aliases == ("cdn.example.com",)


def test_edge_function_limits():
    msg = refuse({}, functions={"edge_auth": {"memory": 256}})
    assert "functions.edge_auth must keep memory 128 MB and timeout <= 5 s" in msg


@pytest.mark.parametrize(
    "prefix", ["Has-Upper", "-leading", "my_aws_login", "amazon-login", "x" * 64]
)
def test_domain_prefix_must_be_a_valid_cognito_prefix(prefix):
    msg = refuse({"domainPrefix": prefix})
    assert f"moderation:edgeAuth.domainPrefix = {prefix!r}" in msg
    assert "pulumi config set --path moderation:edgeAuth.domainPrefix" in msg


def test_callback_urls_must_be_https_except_localhost():
    msg = refuse({"callbackUrls": ["http://app.example.com/"]})
    assert "callbackUrls entry 'http://app.example.com/' must be an https:// URL" in msg
    settings_from_mapping("dev", {**ON, "edgeAuth": {"callbackUrls": ["http://127.0.0.1:8501/"]}})
    assert "needs at least one URL" in refuse({"callbackUrls": []})


def test_mfa_price_class_and_token_use_are_enumerations():
    assert "edgeAuth.mfa = 'SOMETIMES' must be OFF, OPTIONAL or ON" in refuse({"mfa": "sometimes"})
    assert "edgeAuth.priceClass = 'PriceClass_50'" in refuse({"priceClass": "PriceClass_50"})
    assert "edgeAuth.tokenUse = 'refresh' must be id" in refuse({"tokenUse": "refresh"})


@pytest.mark.parametrize("ttl", [0, 59, 31536001])
def test_content_ttl_bounds(ttl):
    assert f"edgeAuth.contentTtlSeconds = {ttl} must be 60-31536000" in refuse(
        {"contentTtlSeconds": ttl}
    )


def test_logging_bucket_is_a_bucket_name():
    msg = refuse({"loggingBucket": "logs.s3.amazonaws.com"})
    assert "must be a bucket name (not its domain name)" in msg and "ACLs" in msg


def test_aliases_and_certificate_go_together_and_the_certificate_is_in_us_east_1():
    msg = refuse({"aliases": ["cdn.example.com"]})
    assert "aliases and moderation:edgeAuth.certificateArn go together" in msg
    assert "TLSv1.2_2021" in msg
    msg = refuse(
        {
            "aliases": ["cdn.example.com"],
            "certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc-1",
        }
    )
    assert "must be an ACM certificate ARN in us-east-1" in msg


def test_jwks_file_must_hold_an_rsa_key(tmp_path):
    missing = tmp_path / "missing.json"
    assert f"edgeAuth.jwksFile = '{missing}' is not a readable JWKS" in refuse(
        {"jwksFile": str(missing)}
    )
    ec_only = tmp_path / "ec.json"
    ec_only.write_text(json.dumps({"keys": [{"kty": "EC", "kid": "x"}]}))
    msg = refuse({"jwksFile": str(ec_only)})
    assert "pulumi config rm --path moderation:edgeAuth.jwksFile" in msg
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"keys": [{"kty": "RSA", "kid": "k", "n": "AQAB", "e": "AQAB"}]}))
    settings_from_mapping("dev", {**ON, "edgeAuth": {"jwksFile": str(good)}})


def test_unknown_edge_auth_setting_is_named():
    msg = refuse({"tokenUsage": "id"})
    assert "moderation:edgeAuth.tokenUsage is not a setting; did you mean tokenUse?" in msg


def test_edge_settings_are_not_checked_while_edge_auth_is_off():
    settings_from_mapping(
        "dev",
        {
            **BASE_CONFIG,
            "edgeAuth": {"callbackUrls": ["http://app.example.com/"]},
        },
    )
