"""Validation of who may call and read what: the API's tokens, human review, the status
cache, the edge check and the analytics export.

Moved from `validate.py` (one function per concern, each naming the setting and the fix);
`validate.VALIDATORS` runs them in order.
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path

from components.settings.fields import NAMESPACE
from components.settings.fields import set_cmd as _set_cmd
from components.settings.model import (
    EdgeAuthSettings,
    StackSettings,
)
from components.settings.problems import Problems


def api(s: StackSettings, p: Problems) -> None:
    """The JWT authorizer and throttling."""
    if not s.edge_auth_enabled:
        p.need(
            bool(s.jwt_issuer) and bool(s.jwt_audience),
            f"{NAMESPACE}:jwtIssuer and {NAMESPACE}:jwtAudience are required for the API's JWT "
            f"authorizer when {NAMESPACE}:edgeAuthEnabled is false. Set them with "
            f"{_set_cmd('jwtIssuer', 'https://cognito-idp.REGION.amazonaws.com/POOL_ID')} and "
            f"{_set_cmd('jwtAudience', 'APP_CLIENT_ID')}, or set "
            f"{_set_cmd('edgeAuthEnabled', 'true')} to create a Cognito user pool.",
        )
    if s.jwt_issuer:
        p.need(
            s.jwt_issuer.startswith("https://") or s.jwt_issuer.startswith("http://127.0.0.1"),
            f"{NAMESPACE}:jwtIssuer = {s.jwt_issuer!r} must be an https:// URL (API Gateway "
            "fetches its JWKS over TLS).",
        )
    if s.jwt_issuer and not s.edge_auth_enabled:
        _issuer_is_real(s.jwt_issuer, s.jwt_audience, p)
    for key, throttle in (
        ("postJobs", s.throttling.post_jobs),
        ("getJob", s.throttling.get_job),
        ("reviews", s.throttling.reviews),
    ):
        p.need(
            throttle.rate > 0 and throttle.burst >= 1,
            f"{NAMESPACE}:throttling.{key} needs rate > 0 and burst >= 1. "
            f"Set {_set_cmd(f'throttling.{key}.rate', 50)}.",
        )


# Values the docs and the example stack show in place of a real pool and client.
PLACEHOLDERS = (
    "EXAMPLE",
    "POOL_ID",
    "<pool-id>",
    "APP_CLIENT_ID",
    "<app-client-id>",
    "example-app",
)


_COGNITO_ISSUER = re.compile(r"https://cognito-idp\.([a-z0-9-]+)\.amazonaws\.com/(.+)")


def _issuer_is_real(issuer: str, audience: tuple[str, ...], p: Problems) -> None:
    """An example's placeholder deploys an API that refuses every request: refuse it here."""
    fix = (
        f"Set your user pool's issuer and app client with "
        f"{_set_cmd('jwtIssuer', 'https://cognito-idp.REGION.amazonaws.com/REGION_PoolId')} "
        f"and {_set_cmd('jwtAudience', 'CLIENT_ID')}, or {_set_cmd('edgeAuthEnabled', 'true')} "
        "to create a user pool with the stack."
    )
    placeholder = [v for v in (issuer, *audience) if any(ph in v for ph in PLACEHOLDERS)]
    p.need(
        not placeholder,
        f"{NAMESPACE}:jwtIssuer/jwtAudience still hold the example's placeholder "
        f"({', '.join(placeholder)}): the API would refuse every request. {fix}",
    )
    match = _COGNITO_ISSUER.fullmatch(issuer)
    if match and not placeholder:
        region, pool = match.groups()
        p.need(
            bool(re.fullmatch(r"[\w-]+_[0-9a-zA-Z]+", pool)) and pool.startswith(f"{region}_"),
            f"{NAMESPACE}:jwtIssuer = {issuer!r}: a Cognito issuer ends in the user pool id, "
            f"which starts with the pool's region ({region}_...). {fix}",
        )


def review(s: StackSettings, p: Problems) -> None:
    """Human review: the moderator group (a Cognito group name), the alarm, image URLs."""
    r = s.review
    group = r.moderator_group
    p.need(
        1 <= len(group) <= 128 and group.isprintable() and not any(c.isspace() for c in group),
        f"{NAMESPACE}:review.moderatorGroup = {group!r} is not a Cognito group name (1-128 "
        "characters, no whitespace: API Gateway passes the groups to Lambda separated by "
        f"spaces). Set it with {_set_cmd('review.moderatorGroup', 'moderators')}.",
    )
    retention_minutes = s.job_retention_days * 1440
    p.need(
        1 <= r.max_age_minutes < retention_minutes,
        f"{NAMESPACE}:review.maxAgeMinutes = {r.max_age_minutes} must be at least 1 and below "
        f"{NAMESPACE}:jobRetentionDays ({retention_minutes} minutes): DynamoDB's TTL deletes a "
        "queued job when its record expires, so the alarm would never see it. "
        f"Set it with {_set_cmd('review.maxAgeMinutes', 60)}.",
    )
    p.need(
        60 <= r.image_url_seconds <= 3600,
        f"{NAMESPACE}:review.imageUrlSeconds = {r.image_url_seconds} is outside 60-3600: the "
        "URLs are signed with the review function's temporary credentials, which do not "
        "outlive its session, so a longer lifetime would be a promise it cannot keep. "
        f"Set it with {_set_cmd('review.imageUrlSeconds', 300)}.",
    )


def caching(s: StackSettings, p: Problems) -> None:
    """The StatusCache component."""
    c = s.caching
    if s.caching_enabled:
        p.need(
            c.engine in ("valkey", "redis"),
            f"{NAMESPACE}:caching.engine = {c.engine!r} must be valkey or redis.",
        )
        p.need(
            c.node_type == "serverless" or c.node_type.startswith("cache."),
            f"{NAMESPACE}:caching.nodeType = {c.node_type!r} must be serverless or a cache "
            f"node type such as cache.t4g.micro. Set {_set_cmd('caching.nodeType', 'serverless')}.",
        )
        p.need(
            0 < c.active_ttl_seconds <= 60 and c.terminal_ttl_seconds >= 1,
            f"{NAMESPACE}:caching.activeTtlSeconds must be in (0, 60] (how stale a non-terminal "
            f"status may be) and caching.terminalTtlSeconds >= 1. "
            f"Set {_set_cmd('caching.activeTtlSeconds', 1)}.",
        )
        p.need(
            (c.vpc_id is None) == (len(c.subnet_ids) == 0),
            f"{NAMESPACE}:caching.vpcId and {NAMESPACE}:caching.subnetIds go together: give "
            "both to use an existing VPC, or neither to create one.",
        )
        p.need(
            c.vpc_id is None or len(c.subnet_ids) >= 2,
            f"{NAMESPACE}:caching.subnetIds needs at least two private subnets in different "
            "availability zones.",
        )
        p.need(
            not c.route_table_ids or c.vpc_id is not None,
            f"{NAMESPACE}:caching.routeTableIds applies to an existing VPC (caching.vpcId); "
            f"remove it with `pulumi config rm --path {NAMESPACE}:caching.routeTableIds`.",
        )
        p.need(
            all(rt.startswith("rtb-") for rt in c.route_table_ids),
            f"{NAMESPACE}:caching.routeTableIds = {list(c.route_table_ids)} must be route table "
            "ids (rtb-...).",
        )
        p.need(
            c.terminal_ttl_seconds >= c.active_ttl_seconds,
            f"{NAMESPACE}:caching.terminalTtlSeconds = {c.terminal_ttl_seconds} is below "
            f"caching.activeTtlSeconds = {c.active_ttl_seconds}: finished jobs never change, so "
            f"they should be cached at least as long. Set {_set_cmd('caching.terminalTtlSeconds', 3600)}.",
        )
        p.need(
            0 <= c.local_lru_size <= 100_000,
            f"{NAMESPACE}:caching.localLruSize = {c.local_lru_size} must be 0-100000 entries "
            f"(0 turns the in-process tier off). Set {_set_cmd('caching.localLruSize', 1024)}.",
        )
        p.need(
            1 <= c.max_storage_gb <= 5000 and 1000 <= c.max_ecpu_per_second <= 15_000_000,
            f"{NAMESPACE}:caching.maxStorageGb must be 1-5000 and caching.maxEcpuPerSecond "
            "1000-15000000 (ElastiCache Serverless limits). "
            f"Set {_set_cmd('caching.maxStorageGb', 1)}.",
        )
        if c.vpc_id is None:
            p.need(
                _private_cidr_with_room(c.vpc_cidr),
                f"{NAMESPACE}:caching.vpcCidr = {c.vpc_cidr!r} must be a private IPv4 network "
                "(10/8, 172.16/12 or 192.168/16) between /16 and /24, so it holds two private "
                f"subnets. Set {_set_cmd('caching.vpcCidr', '10.42.0.0/16')}.",
            )


def edge_auth(s: StackSettings, p: Problems) -> None:
    """The EdgeAuth component (Cognito, CloudFront, Lambda@Edge)."""
    e_ = s.edge_auth
    if s.edge_auth_enabled:
        p.need(
            e_.price_class in ("PriceClass_100", "PriceClass_200", "PriceClass_All"),
            f"{NAMESPACE}:edgeAuth.priceClass = {e_.price_class!r} must be PriceClass_100, "
            f"PriceClass_200 or PriceClass_All. Set {_set_cmd('edgeAuth.priceClass', 'PriceClass_100')}.",
        )
        p.need(
            e_.mfa in ("OFF", "OPTIONAL", "ON"),
            f"{NAMESPACE}:edgeAuth.mfa = {e_.mfa!r} must be OFF, OPTIONAL or ON.",
        )
        _edge_auth_values(e_, p)


def analytics(s: StackSettings, p: Problems) -> None:
    """The Analytics component (export, EMR Serverless, schedule)."""
    a = s.analytics
    if s.analytics_enabled:
        p.need(
            a.release_label.startswith("emr-"),
            f"{NAMESPACE}:analytics.releaseLabel = {a.release_label!r} is not an EMR release "
            f"label. Set {_set_cmd('analytics.releaseLabel', 'emr-7.5.0')}.",
        )
        p.need(
            4 <= a.max_vcpu <= 4000 and 8 <= a.max_memory_gb <= 16000,
            f"{NAMESPACE}:analytics.maxVcpu = {a.max_vcpu} / maxMemoryGb = {a.max_memory_gb} "
            "cannot hold the report's Spark driver and one executor (2 vCPU / 4 GB each): "
            f"use at least 4 vCPU and 8 GB, e.g. {_set_cmd('analytics.maxVcpu', 16)} and "
            f"{_set_cmd('analytics.maxMemoryGb', 64)}.",
        )
        p.need(
            a.report_schedule.startswith(("cron(", "rate(", "at("))
            and a.report_schedule.endswith(")"),
            f"{NAMESPACE}:analytics.reportSchedule = {a.report_schedule!r} is not an EventBridge "
            "Scheduler expression (cron(...), rate(...) or at(...), in UTC). "
            f"Set {_set_cmd('analytics.reportSchedule', repr('cron(15 2 * * ? *)'))}.",
        )
        p.need(
            1 <= a.report_days <= a.results_expiry_days,
            f"{NAMESPACE}:analytics.reportDays = {a.report_days} must be 1 or more and at most "
            f"analytics.resultsExpiryDays = {a.results_expiry_days}: older exports have expired. "
            f"Set {_set_cmd('analytics.reportDays', 1)} or raise analytics.resultsExpiryDays.",
        )
        p.need(
            1 <= a.idle_timeout_minutes <= 10080,
            f"{NAMESPACE}:analytics.idleTimeoutMinutes must be 1-10080.",
        )
        p.need(
            1 <= a.export_batch_size <= 10000 and 0 <= a.export_batching_window_seconds <= 300,
            f"{NAMESPACE}:analytics.exportBatchSize must be 1-10000 and "
            "exportBatchingWindowSeconds 0-300.",
        )


_DOMAIN_PREFIX = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


_ACM_ARN = re.compile(r"arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate/[A-Za-z0-9-]+")


def _edge_auth_values(e_: EdgeAuthSettings, p: Problems) -> None:
    """Values of the EdgeAuth settings (checked when edge auth is on)."""
    key = f"{NAMESPACE}:edgeAuth"
    if e_.domain_prefix is not None:
        reserved = [w for w in ("aws", "amazon", "cognito") if w in e_.domain_prefix]
        p.need(
            bool(_DOMAIN_PREFIX.fullmatch(e_.domain_prefix)) and not reserved,
            f"{key}.domainPrefix = {e_.domain_prefix!r} is not a Cognito domain prefix: use "
            "1-63 lowercase letters, digits and hyphens, not starting or ending with a hyphen "
            "and not containing aws, amazon or cognito. Set "
            f"{_set_cmd('edgeAuth.domainPrefix', 'moderation-dev-login')} or remove it to "
            "derive one from the stack and account.",
        )
    for url in e_.callback_urls:
        local = url.startswith(("http://localhost", "http://127.0.0.1"))
        p.need(
            url.startswith("https://") or local,
            f"{key}.callbackUrls entry {url!r} must be an https:// URL (Cognito allows plain "
            "http only for localhost). Set "
            f"{_set_cmd('edgeAuth.callbackUrls[0]', 'https://app.example.com/')}.",
        )
    p.need(
        bool(e_.callback_urls),
        f"{key}.callbackUrls needs at least one URL the hosted UI may return to. Set "
        f"{_set_cmd('edgeAuth.callbackUrls[0]', 'http://localhost:8501/')}.",
    )
    p.need(
        60 <= e_.content_ttl_seconds <= 31536000,
        f"{key}.contentTtlSeconds = {e_.content_ttl_seconds} must be 60-31536000 (approved "
        "images never change, so long is right; takedowns use an invalidation). Set "
        f"{_set_cmd('edgeAuth.contentTtlSeconds', 31536000)}.",
    )
    p.need(
        e_.token_use in ("id", "access"),
        f"{key}.tokenUse = {e_.token_use!r} must be id (Cognito ID tokens, `aud` = app client) "
        f"or access (access tokens, `client_id` = app client). Set "
        f"{_set_cmd('edgeAuth.tokenUse', 'id')}.",
    )
    if e_.logging_bucket is not None:
        p.need(
            bool(_BUCKET_NAME.fullmatch(e_.logging_bucket)) and ".s3." not in e_.logging_bucket,
            f"{key}.loggingBucket = {e_.logging_bucket!r} must be a bucket name (not its domain "
            "name). CloudFront standard logs need a bucket with ACLs enabled (object ownership "
            "BucketOwnerPreferred). Set "
            f"{_set_cmd('edgeAuth.loggingBucket', 'my-cdn-logs')} or remove it.",
        )
    if e_.jwks_file is not None:
        p.need(
            _jwks_file_ok(e_.jwks_file),
            f"{key}.jwksFile = {e_.jwks_file!r} is not a readable JWKS (a JSON object whose "
            "`keys` list holds at least one RSA key). Fix the file, or remove the setting with "
            f"`pulumi config rm --path {key}.jwksFile` to fetch the user pool's JWKS at deploy time.",
        )
    p.need(
        bool(e_.aliases) == (e_.certificate_arn is not None),
        f"{key}.aliases and {key}.certificateArn go together: a custom domain needs an ACM "
        "certificate that covers it, and the certificate is what allows TLSv1.2_2021 as the "
        "minimum protocol (the default *.cloudfront.net certificate is fixed at TLSv1). Set "
        f"both, e.g. {_set_cmd('edgeAuth.aliases[0]', 'cdn.example.com')} and "
        f"{_set_cmd('edgeAuth.certificateArn', 'arn:aws:acm:us-east-1:ACCOUNT:certificate/ID')}.",
    )
    if e_.ses_source_arn is not None:
        p.need(
            bool(
                re.fullmatch(r"arn:aws[a-z-]*:ses:[a-z0-9-]+:\d{12}:identity/.+", e_.ses_source_arn)
            ),
            f"{key}.sesSourceArn = {e_.ses_source_arn!r} must be the ARN of a verified SES "
            "identity (arn:aws:ses:REGION:ACCOUNT:identity/example.com). Set "
            f"{_set_cmd('edgeAuth.sesSourceArn', 'arn:aws:ses:us-east-1:ACCOUNT:identity/example.com')}.",
        )
    p.need(
        e_.from_email is None or (e_.ses_source_arn is not None and "@" in e_.from_email),
        f"{key}.fromEmail needs {key}.sesSourceArn and an e-mail address.",
    )
    if e_.certificate_arn is not None:
        match = _ACM_ARN.fullmatch(e_.certificate_arn)
        p.need(
            match is not None and match.group(1) == "us-east-1",
            f"{key}.certificateArn = {e_.certificate_arn!r} must be an ACM certificate ARN in "
            "us-east-1: CloudFront only uses certificates from that region.",
        )


def _jwks_file_ok(path: str) -> bool:
    try:
        doc = json.loads(Path(path).expanduser().read_text())
    except (OSError, ValueError):
        return False
    keys = doc.get("keys") if isinstance(doc, dict) else None
    return isinstance(keys, list) and any(
        isinstance(k, dict) and k.get("kty") == "RSA" for k in keys
    )


def _private_cidr_with_room(cidr: str) -> bool:
    try:
        net = ipaddress.ip_network(cidr, strict=True)
    except ValueError:
        return False
    return net.version == 4 and net.is_private and 16 <= net.prefixlen <= 24
