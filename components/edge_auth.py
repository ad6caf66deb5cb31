"""EdgeAuth: approved images delivered worldwide by CloudFront, to signed-in users only.

A Cognito user pool signs users in. Approved images are copied (by the notifier) to a
private content bucket that only this CloudFront distribution can read, through Origin
Access Control. Before CloudFront looks at its cache or the origin, a Lambda@Edge
viewer-request function verifies the user's JWT offline, against the pool's JWKS
baked into its package. The same pool is the issuer of the API's JWT authorizer, so
one sign-in works for upload, status and downloads.

Lambda@Edge constraints this component is shaped by: the function lives in us-east-1
(an explicit provider, whatever the stack's region), is x86_64, has no environment
variables and no layers, at most 128 MB and 5 s for viewer triggers, a zip under 1 MB,
and CloudFront runs a published version (the qualified ARN), never $LATEST. Its logs
are written in the region of the edge location that ran it, to
`/aws/lambda/us-east-1.<function name>`.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components import packaging
from components.base import Component
from components.buckets import PrivateBucket, PrivateBucketArgs
from components.function import policy_json, statement
from components.pipeline_functions import EdgeInputs
from components.settings import StackSettings
from lambdas.common.contract import Function

EDGE_REGION = "us-east-1"
ORIGIN_ID = "content-bucket"
CONTENT_PREFIX = "content/"

EDGE_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                # Lambda@Edge: CloudFront's replicas assume the role as edgelambda.
                "Principal": {"Service": ["edgelambda.amazonaws.com", "lambda.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)

# The public members of an RSA JWK; anything else (private parts included) is never baked.
_PUBLIC_JWK_MEMBERS = ("kty", "kid", "alg", "use", "n", "e")


@dataclass
class EdgeAuthArgs:
    settings: StackSettings


def issuer_url(region: str, pool_id: str) -> str:
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


def public_jwks(doc: Any, source: str) -> dict[str, Any]:
    """The RS256 signature keys of a JWKS, public members only; refuses a JWKS without one."""
    keys = []
    for jwk in (doc.get("keys") if isinstance(doc, dict) else None) or []:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or not jwk.get("kid"):
            continue
        if jwk.get("alg", "RS256") != "RS256" or jwk.get("use", "sig") != "sig":
            continue
        keys.append({k: jwk[k] for k in _PUBLIC_JWK_MEMBERS if k in jwk})
    if not keys:
        raise ValueError(f"the JWKS from {source} holds no RS256 signature key")
    return {"keys": keys}


def fetch_jwks(issuer: str, attempts: int = 5, timeout: float = 10.0) -> dict[str, Any]:
    """The user pool's JWKS, fetched over TLS at deploy time (retried: a new pool's
    endpoint can take a moment to answer)."""
    url = f"{issuer}/.well-known/jwks.json"
    if not url.startswith("https://"):
        raise ValueError(f"refusing to fetch signing keys over plain HTTP: {url}")
    error: Exception | None = None
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:  # https only: checked above
                return public_jwks(json.loads(resp.read()), url)
        except (OSError, ValueError) as exc:
            error = exc
            if attempt + 1 < attempts:
                time.sleep(min(8.0, 2.0**attempt))
    raise RuntimeError(
        f"could not fetch the user pool's JWKS from {url} ({error}). Save it to a file and set "
        "`pulumi config set --path moderation:edgeAuth.jwksFile PATH` to bake that copy instead."
    )


def default_domain_prefix(prefix: str, account: str) -> str:
    """`moderation-<stack>-<account>`, made a valid Cognito domain prefix."""
    name = re.sub(r"[^a-z0-9-]+", "-", f"{prefix}-{account}".lower())
    for reserved in ("aws", "amazon", "cognito"):
        name = name.replace(reserved, "")
    return re.sub(r"-{2,}", "-", name).strip("-")[:63].rstrip("-")


class EdgeAuth(Component):
    def __init__(
        self, name: str, args: EdgeAuthArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, opts)
        s = args.settings
        e = s.edge_auth
        prefix = s.prefix
        child = pulumi.ResourceOptions(parent=self)
        region = aws.get_region_output().region
        account = aws.get_caller_identity_output().account_id

        if s.jwt_issuer or s.jwt_audience:
            pulumi.log.warn(
                "moderation:jwtIssuer and moderation:jwtAudience are ignored while "
                "moderation:edgeAuthEnabled is true: the API trusts this stack's own user pool."
            )

        # Lambda@Edge functions must live in us-east-1 whatever the stack's region. They are
        # declared with a per-resource `region` on the stack's own provider, so everything
        # the stack configures for it (profile, assumed roles, credentials, allowed
        # accounts, default tags) applies to them too; a second provider would not inherit
        # any of it.

        # --- identity: user pool, app client, hosted UI ------------------------------------
        self.user_pool = aws.cognito.UserPool(
            self.child("users"),
            name=f"{prefix}-users",
            username_attributes=["email"],
            auto_verified_attributes=["email"],
            password_policy={
                "minimum_length": 12,
                "require_lowercase": True,
                "require_uppercase": True,
                "require_numbers": True,
                "require_symbols": True,
                "temporary_password_validity_days": 3,
            },
            mfa_configuration=e.mfa,
            # ON and OPTIONAL need at least one second factor: TOTP apps (no SMS costs).
            software_token_mfa_configuration={"enabled": True} if e.mfa != "OFF" else None,
            # Advanced security (threat protection) is priced per MAU and needs the Plus
            # plan; without it the Lite plan has everything this stack uses.
            user_pool_tier="PLUS" if e.advanced_security else "LITE",
            user_pool_add_ons={"advanced_security_mode": "ENFORCED"}
            if e.advanced_security
            else None,
            account_recovery_setting={
                "recovery_mechanisms": [{"name": "verified_email", "priority": 1}]
            },
            # Users are invited, not self-registered: the platform decides who may upload.
            admin_create_user_config={"allow_admin_create_user_only": True},
            # Cognito's own sender caps at about 50 e-mails a day per account: production
            # pools send through a verified SES identity (edgeAuth.sesSourceArn).
            email_configuration={
                "email_sending_account": "DEVELOPER",
                "source_arn": e.ses_source_arn,
                "from_email_address": e.from_email,
            }
            if e.ses_source_arn
            else None,
            deletion_protection="INACTIVE" if s.force_destroy else "ACTIVE",
            opts=child,
        )
        self.client = aws.cognito.UserPoolClient(
            self.child("app-client"),
            name=f"{prefix}-app",
            user_pool_id=self.user_pool.id,
            generate_secret=False,  # a public client (browser, CLI): authorization code + PKCE
            allowed_oauth_flows=["code"],
            allowed_oauth_flows_user_pool_client=True,
            allowed_oauth_scopes=["openid", "email", "profile"],
            supported_identity_providers=["COGNITO"],
            callback_urls=list(e.callback_urls),
            logout_urls=list(e.callback_urls),
            explicit_auth_flows=["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"],
            prevent_user_existence_errors="ENABLED",
            enable_token_revocation=True,
            # The edge verifies offline and cannot see a revocation: keep tokens short-lived.
            access_token_validity=60,
            id_token_validity=60,
            refresh_token_validity=30,
            token_validity_units={
                "access_token": "minutes",
                "id_token": "minutes",
                "refresh_token": "days",
            },
            opts=child,
        )
        domain_prefix = (
            pulumi.Output.from_input(e.domain_prefix)
            if e.domain_prefix
            else account.apply(lambda acct: default_domain_prefix(prefix, acct))
        )
        # The moderators: the review API admits members of this group (`cognito:groups`).
        # Membership is given by an administrator (`aws cognito-idp admin-add-user-to-group`).
        self.moderators = aws.cognito.UserGroup(
            self.child("moderators"),
            name=s.review.moderator_group,
            user_pool_id=self.user_pool.id,
            description="May list the review queue and record verdicts (GET /reviews, "
            "POST /jobs/{job_id}/review)",
            opts=child,
        )
        # The operators: manage hash banks (PUT /banks/{bank}, deletes, import, export).
        self.operators = aws.cognito.UserGroup(
            self.child("operators"),
            name=s.banks.operator_group,
            user_pool_id=self.user_pool.id,
            description="May create and change hash banks, delete entries, import and export",
            opts=child,
        )
        self.domain = aws.cognito.UserPoolDomain(
            self.child("hosted-ui"),
            domain=domain_prefix,
            user_pool_id=self.user_pool.id,
            opts=child,
        )
        self.cognito_domain = pulumi.Output.all(self.domain.domain, region).apply(
            lambda a: f"{a[0]}.auth.{a[1]}.amazoncognito.com"
        )
        self.issuer = pulumi.Output.all(region, self.user_pool.id).apply(
            lambda a: issuer_url(a[0], a[1])
        )

        # --- content bucket (its policy follows the distribution, below) -------------------
        self.content = PrivateBucket(
            f"{prefix}-content",
            PrivateBucketArgs(force_destroy=s.force_destroy, attach_policy=False),
            opts=self.opts(),
        )
        self.bucket = self.content.bucket
        bucket_parts = self.content.guards

        # --- the viewer-request function, in us-east-1 -------------------------------------
        jwks_file = (
            public_jwks(json.loads(Path(e.jwks_file).expanduser().read_text()), e.jwks_file)
            if e.jwks_file
            else None
        )

        def edge_config(issuer: str, client_id: str, jwks: dict[str, Any]) -> dict[str, Any]:
            return {
                "issuer": issuer,
                "client_id": client_id,
                "token_use": e.token_use,
                "jwks": jwks,
                "leeway_seconds": 30,
                "max_token_bytes": 8192,
                "max_header_bytes": 1024,
                "cookie_name": f"{e.token_use}_token",
            }

        def package(a: list[Any]) -> pulumi.Archive:
            issuer, client_id = a
            jwks = jwks_file if jwks_file is not None else fetch_jwks(issuer)
            built = packaging.build_edge_function("edge_auth", edge_config(issuer, client_id, jwks))
            return pulumi.FileArchive(str(built.directory))

        if pulumi.runtime.is_dry_run():
            # During the preview of a new stack the pool has no id yet, so the apply below
            # does not run (no issuer to bake, no JWKS URL to fetch) and the code stays
            # unknown. Build the package once here without keys (it would refuse every
            # request) so a broken or oversized package still fails `pulumi preview`;
            # `pulumi up` builds the real one as soon as the pool exists.
            packaging.build_edge_function(
                "edge_auth",
                edge_config("https://preview.invalid", "preview", jwks_file or {"keys": []}),
            )
        code = pulumi.Output.all(self.issuer, self.client.id).apply(package)

        fn_cfg = s.function(Function.EDGE_AUTH)
        self.role = aws.iam.Role(
            self.child("role"),
            name=f"{prefix}-edge-auth",
            assume_role_policy=EDGE_TRUST,
            description=f"Execution role of the {prefix} Lambda@Edge viewer-request function only",
            opts=child,
        )
        # Named after the stack, not the component: Pulumi derives the function's physical
        # name from this one (a generated name, so a retained function never collides).
        self.function = aws.lambda_.Function(
            f"{prefix}-edge-auth",
            description="Viewer-request JWT check for the content CDN (Lambda@Edge)",
            role=self.role.arn,
            runtime=packaging.RUNTIME,
            handler="edge_auth.handler.handler",
            code=code,
            architectures=["x86_64"],  # the only architecture Lambda@Edge runs
            memory_size=fn_cfg.memory,
            timeout=fn_cfg.timeout,
            publish=True,  # CloudFront runs a numbered version, never $LATEST
            # CloudFront deletes a function's replicas hours after the distribution lets go
            # of it, and until then AWS refuses to delete the function. `pulumi destroy` (or
            # a replacement) therefore leaves the function behind instead of failing; the
            # README's "Edge auth" section has the command that deletes it later.
            region=EDGE_REGION,
            opts=pulumi.ResourceOptions(
                parent=self,
                retain_on_delete=True,
                depends_on=[self.role],
            ),
        )
        edge_log_group = self.function.name.apply(lambda n: f"/aws/lambda/{EDGE_REGION}.{n}")
        # Edge locations write to the log group in their own region; this one (us-east-1)
        # is declared for its retention, the others are created by Lambda on first write.
        self.log_group = aws.cloudwatch.LogGroup(
            self.child("logs"),
            name=edge_log_group,
            retention_in_days=s.log_retention_days,
            region=EDGE_REGION,
            opts=child,
        )
        log_arns = pulumi.Output.all(account, edge_log_group).apply(
            # "*" is the region: CloudFront runs the function in whichever region is nearest
            # the viewer, and each writes its own log group of this one name.
            lambda a: [
                f"arn:aws:logs:*:{a[0]}:log-group:{a[1]}",
                f"arn:aws:logs:*:{a[0]}:log-group:{a[1]}:*",
            ]
        )
        self.policy = aws.iam.RolePolicy(
            self.child("policy"),
            role=self.role.id,
            policy=policy_json(
                [
                    statement(
                        "WriteOwnEdgeLogs",
                        ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                        log_arns,
                    )
                ]
            ),
            opts=child,
        )

        # --- CloudFront ---------------------------------------------------------------------
        self.oac = aws.cloudfront.OriginAccessControl(
            self.child("content-oac"),
            name=f"{prefix}-content",
            description="CloudFront signs its requests to the private content bucket",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=child,
        )
        ttl = e.content_ttl_seconds
        self.cache_policy = aws.cloudfront.CachePolicy(
            self.child("content-cache"),
            name=f"{prefix}-content",
            comment="Approved images are immutable: cache them long",
            # min = default = max: objects are `private` for browsers (see notify.py) and
            # a minimum TTL above 0 is what lets CloudFront cache them all the same.
            min_ttl=ttl,
            default_ttl=ttl,
            max_ttl=ttl,
            parameters_in_cache_key_and_forwarded_to_origin={
                # Nothing of the viewer's request is in the key or reaches S3: the token
                # was checked before the cache, and objects are the same for every user.
                "cookies_config": {"cookie_behavior": "none"},
                "headers_config": {"header_behavior": "none"},
                "query_strings_config": {"query_string_behavior": "none"},
                "enable_accept_encoding_gzip": True,
                "enable_accept_encoding_brotli": True,
            },
            opts=child,
        )
        self.headers_policy = aws.cloudfront.ResponseHeadersPolicy(
            self.child("content-headers"),
            name=f"{prefix}-content",
            comment="Security headers for served images",
            security_headers_config={
                "content_type_options": {"override": True},
                "strict_transport_security": {
                    "access_control_max_age_sec": 63072000,
                    "include_subdomains": True,
                    "override": True,
                },
                "frame_options": {"frame_option": "DENY", "override": True},
                "referrer_policy": {"referrer_policy": "no-referrer", "override": True},
            },
            opts=child,
        )
        viewer_certificate: aws.cloudfront.DistributionViewerCertificateArgsDict
        if e.certificate_arn:
            viewer_certificate = {
                "acm_certificate_arn": e.certificate_arn,
                "ssl_support_method": "sni-only",
                "minimum_protocol_version": "TLSv1.2_2021",
            }
        else:
            # With the default *.cloudfront.net certificate CloudFront fixes the security
            # policy at TLSv1 whatever is asked; TLSv1.2_2021 needs edgeAuth.aliases and
            # edgeAuth.certificateArn (a custom domain with an ACM certificate).
            viewer_certificate = {
                "cloudfront_default_certificate": True,
                "minimum_protocol_version": "TLSv1",
            }
        self.distribution = aws.cloudfront.Distribution(
            self.child("content-cdn"),
            enabled=True,
            comment=f"{prefix}: approved images, signed-in users only",
            price_class=e.price_class,
            is_ipv6_enabled=True,
            http_version="http2and3",
            aliases=list(e.aliases) or None,
            origins=[
                {
                    "domain_name": self.bucket.bucket_regional_domain_name,
                    "origin_id": ORIGIN_ID,
                    "origin_access_control_id": self.oac.id,
                }
            ],
            default_cache_behavior={
                "target_origin_id": ORIGIN_ID,
                "viewer_protocol_policy": "redirect-to-https",
                "allowed_methods": ["GET", "HEAD", "OPTIONS"],
                "cached_methods": ["GET", "HEAD"],
                "compress": True,
                "cache_policy_id": self.cache_policy.id,
                "response_headers_policy_id": self.headers_policy.id,
                "lambda_function_associations": [
                    {
                        "event_type": "viewer-request",
                        "lambda_arn": self.function.qualified_arn,
                        "include_body": False,
                    }
                ],
            },
            # The status API shows an approved job's URL as soon as the decision is written;
            # the notifier copies the image from the table's stream a moment later. Until
            # then S3 answers 403: do not let CloudFront cache that answer.
            custom_error_responses=[
                {"error_code": 403, "error_caching_min_ttl": 0},
                {"error_code": 404, "error_caching_min_ttl": 0},
            ],
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            viewer_certificate=viewer_certificate,
            logging_config=(
                {
                    "bucket": f"{e.logging_bucket}.s3.amazonaws.com",
                    "include_cookies": False,  # cookies may carry the token
                    "prefix": f"{prefix}/",
                }
                if e.logging_bucket
                else None
            ),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.policy, self.log_group, *bucket_parts]
            ),
        )

        # Only this distribution, and only approved images under content/.
        read_statement = pulumi.Output.all(self.bucket.arn, self.distribution.arn).apply(
            lambda a: [
                {
                    "Sid": "CloudFrontReadsApprovedContent",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"},
                    "Action": "s3:GetObject",
                    "Resource": f"{a[0]}/{CONTENT_PREFIX}*",
                    "Condition": {"StringEquals": {"AWS:SourceArn": a[1]}},
                }
            ]
        )
        self.bucket_policy = self.content.attach_policy(read_statement)

        host = e.aliases[0] if e.aliases else None
        self.cdn_url = (
            pulumi.Output.from_input(f"https://{host}")
            if host
            else self.distribution.domain_name.apply(lambda d: f"https://{d}")
        )
        self.register_outputs(
            {
                "cdn_url": self.cdn_url,
                "content_bucket": self.bucket.bucket,
                "user_pool_id": self.user_pool.id,
                "user_pool_client_id": self.client.id,
                "user_pool_issuer": self.issuer,
                "cognito_domain": self.cognito_domain,
                "edge_function_arn": self.function.qualified_arn,
                "distribution_id": self.distribution.id,
            }
        )

    def pipeline_inputs(self) -> EdgeInputs:
        """What ModerationPipeline takes from this component: one sign-in for all."""
        return EdgeInputs(
            jwt_issuer=self.issuer,
            jwt_audience=self.client.id.apply(lambda client_id: [client_id]),
            content_bucket_name=self.bucket.bucket,
            content_bucket_arn=self.bucket.arn,
            cdn_base_url=self.cdn_url,
        )
