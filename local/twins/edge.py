"""Local twins for the edge-auth component, and the local stack settings it needs.

The Cognito resources get outputs shaped like the provider's (pool id
`us-east-1_local…`, its ARN and endpoint, the app client id, the hosted UI domain)
so the program wires issuer and audience exactly as on AWS. The local identity
provider (local/idp.py) plays the pool: it signs tokens with its own key, whose JWKS
`local_settings` bakes into the edge function through `edgeAuth.jwksFile`, and after
materialization it mints tokens with the pool's issuer (`LocalIdentityProvider.act_as`).

The CloudFront distribution stays "not emulated": caching, price classes, TLS
policies, geo restrictions, compression and OAC signing have no local behaviour. It
is recorded as such, and what it declared (origin bucket, viewer-request function,
viewer protocol policy, methods) is saved for local/cdn.py, the loopback proxy that
plays its request path; its domain name is that proxy's address.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from local.registry import Registry
from local.twins.common import ACCOUNT
from local.twins.idp import CLIENT_ID, LocalIdentityProvider

POOL_WHY = (
    "the local identity provider (local/idp.py) signs this pool's tokens with its own key; "
    "users, passwords, MFA and threat protection are not emulated"
)
CLIENT_WHY = "tokens minted by the local identity provider carry this client id"
GROUP_WHY = (
    "the local identity provider puts groups in the tokens it mints: "
    "`python -m local token --user NAME --group GROUP`"
)
DOMAIN_WHY = "the hosted UI is not served locally: get tokens with `python -m local token`"
DISTRIBUTION_WHY = (
    "played by the local CDN (local/cdn.py): it runs the viewer-request function and serves "
    "the origin bucket; no caching, price class, TLS policy, geo restriction or compression"
)


def _suffix(name: str, n: int = 7) -> str:
    return hashlib.sha1(name.encode()).hexdigest()[:n]


def handlers(
    registry: Registry,
    region: str,
    client_id: str = CLIENT_ID,
    cdn_host: str | None = None,
) -> dict[str, Callable[[str, dict], tuple[str, dict]]]:
    """`{resource type: handler}` for `LocalMocks(extra_handlers=...)`.

    `cdn_host` is the `host:port` of the local CDN, given to the distribution as its
    domain name (so the program's `cdn_url` is the proxy's https URL).
    """

    def recorded(typ: str, name: str, why: str) -> None:
        registry.recorded_only.append({"type": typ, "name": name, "why": why})

    def user_pool(name: str, inputs: dict) -> tuple[str, dict]:
        pool_id = f"{region}_local{_suffix(name, 4)}"
        recorded("aws:cognito/userPool:UserPool", name, POOL_WHY)
        return pool_id, {
            **inputs,
            "name": inputs.get("name") or name,
            "arn": f"arn:aws:cognito-idp:{region}:{ACCOUNT}:userpool/{pool_id}",
            "endpoint": f"cognito-idp.{region}.amazonaws.com/{pool_id}",
            "estimatedNumberOfUsers": 0,
            "creationDate": "1970-01-01T00:00:00Z",
            "lastModifiedDate": "1970-01-01T00:00:00Z",
        }

    def user_pool_client(name: str, inputs: dict) -> tuple[str, dict]:
        recorded("aws:cognito/userPoolClient:UserPoolClient", name, CLIENT_WHY)
        return client_id, {**inputs, "name": inputs.get("name") or name, "clientSecret": ""}

    def user_group(name: str, inputs: dict) -> tuple[str, dict]:
        recorded("aws:cognito/userGroup:UserGroup", name, GROUP_WHY)
        return f"{inputs.get('userPoolId')}/{inputs['name']}", dict(inputs)

    def user_pool_domain(name: str, inputs: dict) -> tuple[str, dict]:
        recorded("aws:cognito/userPoolDomain:UserPoolDomain", name, DOMAIN_WHY)
        return inputs["domain"], {
            **inputs,
            "awsAccountId": ACCOUNT,
            "cloudfrontDistribution": f"{inputs['domain']}.auth.{region}.amazoncognito.com",
            "cloudfrontDistributionArn": "",
            "s3Bucket": "",
            "version": "1",
        }

    def distribution(name: str, inputs: dict) -> tuple[str, dict]:
        dist_id = f"ELOCAL{_suffix(name).upper()}"
        arn = f"arn:aws:cloudfront::{ACCOUNT}:distribution/{dist_id}"
        domain = cdn_host or f"{dist_id.lower()}.cloudfront.invalid"
        registry.not_emulated.append(
            {
                "type": "aws:cloudfront/distribution:Distribution",
                "name": name,
                "why": DISTRIBUTION_WHY,
            }
        )
        registry.extras["cdn"] = cdn_spec(registry, inputs, dist_id, arn, domain)
        return dist_id, {
            **inputs,
            "arn": arn,
            "domainName": domain,
            "hostedZoneId": "Z2FDTNDATAQYW2",
            "status": "Deployed",
            "etag": _suffix(json.dumps(inputs, sort_keys=True, default=str)),
        }

    return {
        "aws:cognito/userPool:UserPool": user_pool,
        "aws:cognito/userPoolClient:UserPoolClient": user_pool_client,
        "aws:cognito/userGroup:UserGroup": user_group,
        "aws:cognito/userPoolDomain:UserPoolDomain": user_pool_domain,
        "aws:cloudfront/distribution:Distribution": distribution,
    }


def cdn_spec(registry: Registry, inputs: dict, dist_id: str, arn: str, domain: str) -> dict:
    """What the local CDN needs from the declared distribution (default behaviour only)."""
    behaviour = inputs.get("defaultCacheBehavior") or {}
    origins = {o.get("originId"): o for o in inputs.get("origins") or []}
    origin = origins.get(behaviour.get("targetOriginId")) or {}
    origin_domain = origin.get("domainName") or ""
    viewer_request = [
        a
        for a in behaviour.get("lambdaFunctionAssociations") or []
        if a.get("eventType") == "viewer-request"
    ]
    function = (
        registry.function_by_ref(viewer_request[0]["lambdaArn"]).name if viewer_request else None
    )
    return {
        "distribution_id": dist_id,
        "distribution_arn": arn,
        "domain": domain,
        "bucket": origin_domain.split(".s3.", 1)[0] if ".s3." in origin_domain else None,
        "origin_path": origin.get("originPath") or "",
        "viewer_protocol_policy": behaviour.get("viewerProtocolPolicy", "allow-all"),
        "allowed_methods": list(behaviour.get("allowedMethods") or ["GET", "HEAD"]),
        "viewer_request_function": function,
        "viewer_request_arn": viewer_request[0]["lambdaArn"] if viewer_request else None,
    }


def _enabled(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "yes")


def local_settings(
    config: Mapping[str, Any], idp: LocalIdentityProvider, state_dir: Path
) -> dict[str, Any]:
    """The local stack's settings with edge auth wired to the local identity provider.

    When `edgeAuthEnabled` is set and no `edgeAuth.jwksFile` is given, the provider's
    JWKS is written to the state directory and baked into the edge function, which
    then accepts exactly the tokens `python -m local token` prints.
    """
    out = dict(config)
    if not _enabled(out.get("edgeAuthEnabled")):
        return out
    edge = out.get("edgeAuth") or {}
    if isinstance(edge, str):
        edge = json.loads(edge)
    if not edge.get("jwksFile"):
        jwks_file = Path(state_dir) / "idp-jwks.json"
        jwks_file.write_text(json.dumps(idp.jwks(), indent=1))
        edge = {**edge, "jwksFile": str(jwks_file)}
    out["edgeAuth"] = edge
    return out
