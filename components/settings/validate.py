"""Validation of StackSettings: one function per concern, each naming the setting and the fix.

Every check runs before a resource is declared, so a wrong stack fails `pulumi preview`
with the list of problems instead of failing half-way through `pulumi up`. It is one
module of many small checks (one function per concern, listed in VALIDATORS), longer
than most because every message carries its own fix. The limits
checked are AWS's documented ones (Lambda, SQS, CloudWatch Logs, Cognito, CloudFront,
EMR Serverless); `tests/program/test_aws_rules.py` checks the declared resources too.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from pathlib import Path

from components import naming
from components.settings import dsa as dsa_settings
from components.settings import validate_banks, validate_claims, validate_models
from components.settings.fields import NAMESPACE
from components.settings.fields import set_cmd as _set_cmd
from components.settings.model import (
    MAX_INLINE_UPLOAD_BYTES,
    MAX_REKOGNITION_OBJECT_BYTES,
    MIB,
    EdgeAuthSettings,
    StackSettings,
)
from lambdas.common.contract import BRANCH_FUNCTIONS, AnalysisOrder, AnimationPolicy, Function
from lambdas.common.images import DEFAULT_MAX_FRAMES, MAX_FRAMES_RANGE

# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
    2192, 2557, 2922, 3288, 3653,
)  # fmt: skip


class Problems(list[str]):
    """The problems found so far; `need` records `msg` when `cond` is false."""

    def need(self, cond: bool, msg: str) -> None:
        if not cond:
            self.append(msg)


def functions(s: StackSettings, p: Problems) -> None:
    """Lambda limits per function, and Lambda@Edge's for the edge function."""

    for name, fn in s.functions.items():
        key = f"functions.{name}"
        p.need(
            128 <= fn.memory <= 10240,
            f"{NAMESPACE}:{key}.memory = {fn.memory} MB is outside Lambda's 128-10240 MB. "
            f"Set it with {_set_cmd(key + '.memory', 512)}.",
        )
        p.need(
            1 <= fn.timeout <= 900,
            f"{NAMESPACE}:{key}.timeout = {fn.timeout} s is outside Lambda's 1-900 s. "
            f"Set it with {_set_cmd(key + '.timeout', 30)}.",
        )
        p.need(
            fn.reserved_concurrency is None or fn.reserved_concurrency >= 1,
            f"{NAMESPACE}:{key}.reservedConcurrency = {fn.reserved_concurrency} would stop "
            f"the function (0) or is invalid. Use a value >= 1, or remove it with "
            f"`pulumi config rm --path {NAMESPACE}:{key}.reservedConcurrency`.",
        )
    edge = s.functions[Function.EDGE_AUTH]
    p.need(
        edge.memory == 128 and edge.timeout <= 5,
        f"{NAMESPACE}:functions.edge_auth must keep memory 128 MB and timeout <= 5 s: "
        "Lambda@Edge viewer-request triggers allow no more. "
        f"Set them with {_set_cmd('functions.edge_auth.memory', 128)} and "
        f"{_set_cmd('functions.edge_auth.timeout', 5)}.",
    )


def platform(s: StackSettings, p: Problems) -> None:
    """Architecture and log retention."""

    p.need(
        s.architecture in ("arm64", "x86_64"),
        f"{NAMESPACE}:architecture = {s.architecture!r} is not a Lambda architecture. "
        f"Use {_set_cmd('architecture', 'arm64')} (or x86_64).",
    )
    p.need(
        s.log_retention_days in LOG_RETENTION_DAYS,
        f"{NAMESPACE}:logRetentionDays = {s.log_retention_days} is not a CloudWatch Logs "
        f"retention period (allowed: {', '.join(map(str, LOG_RETENTION_DAYS))}). "
        f"Use e.g. {_set_cmd('logRetentionDays', 30)}.",
    )


def queueing(s: StackSettings, p: Problems) -> None:
    """The processing queue and its event source mapping."""
    p.need(
        1 <= s.batch_size <= 10000,
        f"{NAMESPACE}:batchSize = {s.batch_size} is outside 1-10000. "
        f"Set it with {_set_cmd('batchSize', 10)}.",
    )
    p.need(
        0 <= s.batching_window_seconds <= 300,
        f"{NAMESPACE}:batchingWindowSeconds = {s.batching_window_seconds} is outside 0-300. "
        f"Set it with {_set_cmd('batchingWindowSeconds', 1)}.",
    )
    p.need(
        s.batch_size <= 10 or s.batching_window_seconds >= 1,
        f"{NAMESPACE}:batchSize = {s.batch_size} needs a batching window: SQS event source "
        f"mappings above 10 messages require one. Set {_set_cmd('batchingWindowSeconds', 1)} "
        f"or lower the batch with {_set_cmd('batchSize', 10)}.",
    )
    p.need(
        1 <= s.max_receive_count <= 1000,
        f"{NAMESPACE}:maxReceiveCount = {s.max_receive_count} is outside 1-1000. "
        f"Set it with {_set_cmd('maxReceiveCount', 3)}.",
    )
    dispatcher_timeout = s.functions[Function.DISPATCHER].timeout
    p.need(
        s.visibility_timeout_seconds >= 6 * dispatcher_timeout,
        f"{NAMESPACE}:visibilityTimeoutSeconds = {s.visibility_timeout_seconds} is under 6x "
        f"the dispatcher timeout (6 x {dispatcher_timeout} s = {6 * dispatcher_timeout} s); "
        "messages would be redelivered while still being processed. Raise it with "
        f"{_set_cmd('visibilityTimeoutSeconds', 6 * dispatcher_timeout)} or lower "
        f"{NAMESPACE}:functions.dispatcher.timeout.",
    )
    p.need(
        s.visibility_timeout_seconds <= 43200,
        f"{NAMESPACE}:visibilityTimeoutSeconds = {s.visibility_timeout_seconds} exceeds SQS's "
        f"12 hours. Set it with {_set_cmd('visibilityTimeoutSeconds', 180)}.",
    )
    for key, value in (
        ("queueRetentionSeconds", s.queue_retention_seconds),
        ("dlqRetentionSeconds", s.dlq_retention_seconds),
    ):
        p.need(
            60 <= value <= 1209600,
            f"{NAMESPACE}:{key} = {value} is outside SQS's 60-1209600 s. "
            f"Set it with {_set_cmd(key, 1209600 if key.startswith('dlq') else 345600)}.",
        )
    p.need(
        s.dlq_retention_seconds > s.queue_retention_seconds,
        f"{NAMESPACE}:dlqRetentionSeconds = {s.dlq_retention_seconds} must exceed "
        f"{NAMESPACE}:queueRetentionSeconds = {s.queue_retention_seconds}: SQS keeps a message's "
        "original enqueue time, so a shorter DLQ retention deletes dead letters early. "
        f"Set {_set_cmd('dlqRetentionSeconds', 1209600)}.",
    )
    p.need(
        s.max_concurrency is None or 2 <= s.max_concurrency <= 1000,
        f"{NAMESPACE}:maxConcurrency = {s.max_concurrency} is outside the event source "
        f"mapping's 2-1000. Set {_set_cmd('maxConcurrency', 10)} or remove it.",
    )


def analyzers(s: StackSettings, p: Problems) -> None:
    """Asynchronous invocation of the analyzers."""
    p.need(
        0 <= s.async_retries <= 2,
        f"{NAMESPACE}:asyncRetries = {s.async_retries} is outside Lambda's 0-2. "
        f"Set it with {_set_cmd('asyncRetries', 2)}.",
    )
    p.need(
        60 <= s.async_max_event_age_seconds <= 21600,
        f"{NAMESPACE}:asyncMaxEventAgeSeconds = {s.async_max_event_age_seconds} is outside "
        f"Lambda's 60-21600. Set it with {_set_cmd('asyncMaxEventAgeSeconds', 3600)}.",
    )


def cost(s: StackSettings, p: Problems) -> None:
    """Verdict reuse and the analysis order (docs/cost.md#calling-rekognition-less)."""
    orders = [str(o) for o in AnalysisOrder]
    p.need(
        s.analysis_order in orders,
        f"{NAMESPACE}:analysisOrder = {s.analysis_order!r} is not one of {', '.join(orders)}. "
        f"Set it with {_set_cmd('analysisOrder', AnalysisOrder.PARALLEL)}.",
    )
    ttl = s.verdict_reuse.ttl_days
    p.need(
        1 <= ttl <= 365,
        f"{NAMESPACE}:verdictReuse.ttlDays = {ttl} is outside 1-365: a verdict must expire "
        "(a model's blind spot found later should not live on in reused verdicts). "
        f"Set it with {_set_cmd('verdictReuse.ttlDays', 30)}.",
    )


def animation(s: StackSettings, p: Problems) -> None:
    """Animated uploads: how many frames each branch analyses, and the policy."""
    low, high = MAX_FRAMES_RANGE
    frames = s.animation.max_frames
    p.need(
        low <= frames <= high,
        f"{NAMESPACE}:animation.maxFrames = {frames} is outside {low}-{high}: the first and "
        f"the last frame need two, and each frame is a billed Rekognition call and one more "
        f"run of every model in one invocation. Set it with "
        f"{_set_cmd('animation.maxFrames', DEFAULT_MAX_FRAMES)}.",
    )
    policies = [str(x) for x in AnimationPolicy]
    p.need(
        s.animation.policy in policies,
        f"{NAMESPACE}:animation.policy = {s.animation.policy!r} is not one of "
        f"{', '.join(policies)}. Set it with "
        f"{_set_cmd('animation.policy', AnimationPolicy.ANALYZE)}.",
    )


def rules(s: StackSettings, p: Problems) -> None:
    """Decision thresholds, categories and the custom analyzer's checks."""
    p.need(
        0 <= s.rekognition_min_confidence <= 100 and 0 <= s.reject_threshold <= 100,
        f"{NAMESPACE}:rekognitionMinConfidence and {NAMESPACE}:rejectThreshold are "
        "percentages (0-100).",
    )
    p.need(
        s.rekognition_min_confidence <= s.reject_threshold,
        f"{NAMESPACE}:rekognitionMinConfidence = {s.rekognition_min_confidence} is above "
        f"{NAMESPACE}:rejectThreshold = {s.reject_threshold}: no label could ever be reviewed. "
        f"Lower it with {_set_cmd('rekognitionMinConfidence', 50)}.",
    )
    for h in s.blocklist_hashes:
        try:
            ok = len(h) == 16 and int(h, 16) >= 0
        except ValueError:
            ok = False
        p.need(
            ok,
            f"{NAMESPACE}:blocklistHashes entry {h!r} is not a 64-bit dHash in 16 hex digits. "
            "Compute one with `python -m local hash IMAGE`.",
        )
    p.need(
        0 <= s.blocklist_max_distance <= 32,
        f"{NAMESPACE}:blocklistMaxDistance = {s.blocklist_max_distance} is outside 0-32 bits. "
        f"Set it with {_set_cmd('blocklistMaxDistance', 10)}.",
    )
    p.need(
        s.min_image_side >= 1 and s.max_aspect_ratio >= 1,
        f"{NAMESPACE}:minImageSide must be >= 1 and {NAMESPACE}:maxAspectRatio >= 1.",
    )


def uploads(s: StackSettings, p: Problems) -> None:
    """Upload size limits against the Lambda payload and Rekognition."""
    p.need(
        1024 <= s.max_inline_upload_bytes <= MAX_INLINE_UPLOAD_BYTES,
        f"{NAMESPACE}:maxInlineUploadBytes = {s.max_inline_upload_bytes} must be 1024-"
        f"{MAX_INLINE_UPLOAD_BYTES}: the API hands the body to Lambda base64-encoded within "
        f"its 6 MB payload. Larger files use the presigned path; set "
        f"{_set_cmd('maxInlineUploadBytes', 4 * MIB)}.",
    )
    p.need(
        s.max_inline_upload_bytes <= s.max_upload_bytes <= MAX_REKOGNITION_OBJECT_BYTES,
        f"{NAMESPACE}:maxUploadBytes = {s.max_upload_bytes} must be between "
        f"maxInlineUploadBytes and {MAX_REKOGNITION_OBJECT_BYTES} (Rekognition reads at most "
        f"15 MB from S3). Set {_set_cmd('maxUploadBytes', MAX_REKOGNITION_OBJECT_BYTES)}.",
    )
    p.need(
        60 <= s.presign_expiry_seconds <= 604800,
        f"{NAMESPACE}:presignExpirySeconds = {s.presign_expiry_seconds} is outside 60-604800. "
        f"Set it with {_set_cmd('presignExpirySeconds', 900)}.",
    )


def lifecycle(s: StackSettings, p: Problems) -> None:
    """The sweeper's deadline and schedule, retention."""
    slowest_branch = max(s.functions[fn].timeout for fn in BRANCH_FUNCTIONS.values())
    p.need(
        s.job_deadline_seconds >= 2 * slowest_branch,
        f"{NAMESPACE}:jobDeadlineSeconds = {s.job_deadline_seconds} is under twice the slowest "
        f"analyzer timeout ({slowest_branch} s): the sweeper would fail jobs whose analysis is "
        f"still running. Set {_set_cmd('jobDeadlineSeconds', max(900, 2 * slowest_branch))}.",
    )
    p.need(
        1 <= s.sweep_rate_minutes <= 1440,
        f"{NAMESPACE}:sweepRateMinutes = {s.sweep_rate_minutes} is outside 1-1440. "
        f"Set it with {_set_cmd('sweepRateMinutes', 1)}.",
    )
    p.need(
        s.job_retention_days >= 1 and s.upload_expiry_days >= 1,
        f"{NAMESPACE}:jobRetentionDays and {NAMESPACE}:uploadExpiryDays must be >= 1 day.",
    )


def presign_window(s: StackSettings, p: Problems) -> None:
    """A presigned upload's URL expires in time for its job to be analysed by the deadline.

    The deadline counts from the presign request (the job's `created_at`), and the URL
    accepts a PUT until it expires, so a client using it at its last moment leaves
    `jobDeadlineSeconds - presignExpirySeconds` for the analysis. That must be at least
    the room `lifecycle` requires of the deadline for any job, twice the slowest analyzer
    timeout: `presignExpirySeconds + 2 x slowest analyzer timeout <= jobDeadlineSeconds`.
    """
    room = 2 * max(s.functions[fn].timeout for fn in BRANCH_FUNCTIONS.values())
    if s.presign_expiry_seconds + room <= s.job_deadline_seconds:
        return
    shorter = s.job_deadline_seconds - room
    fix = _set_cmd("jobDeadlineSeconds", s.presign_expiry_seconds + room)
    if shorter >= 60:
        fix = f"{_set_cmd('presignExpirySeconds', shorter)} or {fix}"
    p.append(
        f"{NAMESPACE}:presignExpirySeconds = {s.presign_expiry_seconds} leaves too little of "
        f"{NAMESPACE}:jobDeadlineSeconds = {s.job_deadline_seconds} to analyse an upload whose "
        f"URL is used at its last moment: the deadline counts from the presign request and "
        f"analysis needs twice the slowest analyzer timeout ({room} s), so presignExpirySeconds "
        f"+ {room} must be <= jobDeadlineSeconds (the sweeper would fail the job as its bytes "
        f"arrive). Run {fix}."
    )


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


# The usage item remembers a short digest of each keyed upload of the day (17 bytes), so
# a day's quota is bounded well inside DynamoDB's 400 KB item.
MAX_UPLOADS_PER_DAY = 10_000
MAX_UPLOADS_PER_MINUTE = 1_000


def quota(s: StackSettings, p: Problems) -> None:
    """Per-user upload limits."""
    q = s.quota
    if not q.enabled:
        return
    p.need(
        1 <= q.uploads_per_minute <= MAX_UPLOADS_PER_MINUTE,
        f"{NAMESPACE}:quota.uploadsPerMinute = {q.uploads_per_minute} is outside "
        f"1-{MAX_UPLOADS_PER_MINUTE}. Set it with {_set_cmd('quota.uploadsPerMinute', 30)}, "
        f"or turn the limits off with {_set_cmd('quota.enabled', 'false')}.",
    )
    p.need(
        q.uploads_per_minute <= q.uploads_per_day <= MAX_UPLOADS_PER_DAY,
        f"{NAMESPACE}:quota.uploadsPerDay = {q.uploads_per_day} must be at least "
        f"quota.uploadsPerMinute ({q.uploads_per_minute}) and at most {MAX_UPLOADS_PER_DAY} "
        "(the usage item remembers each keyed upload of the day). "
        f"Set it with {_set_cmd('quota.uploadsPerDay', 1000)}.",
    )


def alarms(s: StackSettings, p: Problems) -> None:
    """Alarm subscriptions."""
    p.need(
        s.alarm_https_endpoint is None or s.alarm_https_endpoint.startswith("https://"),
        f"{NAMESPACE}:alarmHttpsEndpoint must start with https://.",
    )
    p.need(
        s.alarm_email is None or "@" in s.alarm_email,
        f"{NAMESPACE}:alarmEmail = {s.alarm_email!r} is not an email address.",
    )


def packaging(s: StackSettings, p: Problems) -> None:
    """How function dependencies are built."""
    p.need(
        s.dependency_layer in ("build", "host", "skip"),
        f"{NAMESPACE}:dependencyLayer = {s.dependency_layer!r} must be build, host or skip. "
        f"Use {_set_cmd('dependencyLayer', 'build')} for AWS.",
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


def names(s: StackSettings, p: Problems) -> None:
    """The stack name, and the names derived from it, within AWS's naming rules."""
    p.need(
        bool(re.fullmatch(naming.STACK_PATTERN, s.stack)),
        f"the stack name {s.stack!r} cannot be part of this stack's resource names: S3 buckets "
        "and ElastiCache ids take lowercase letters, digits and single hyphens only. Create "
        "a stack with such a name (`pulumi stack init dev-eu`) and move the config there "
        "(`pulumi config cp --dest dev-eu`).",
    )
    functions = [f for f in s.functions if f != Function.EDGE_AUTH or s.edge_auth_enabled]
    functions = [f for f in functions if f != Function.EXPORTER or s.analytics_enabled]
    derived = naming.derived_names(
        s.prefix,
        functions,
        caching=s.caching_enabled,
        caching_nodes=s.caching.node_type != "serverless",
        edge_auth=s.edge_auth_enabled,
        analytics=s.analytics_enabled,
    )
    allowed, limiting = naming.longest_stack_name(derived, s.stack)
    rule = naming.RULES[limiting.rule]
    p.need(
        len(s.stack) <= allowed,
        f"the stack name {s.stack!r} is {len(s.stack)} characters; with this stack's "
        f"components it may have at most {allowed}: the {rule.what} {limiting.name!r} must fit "
        f"AWS's {rule.max_length} characters ({rule.doc}). Use a shorter stack name "
        "(`pulumi stack init NAME`, then `pulumi config cp --dest NAME`).",
    )


VALIDATORS: tuple[Callable[[StackSettings, Problems], None], ...] = (
    names,
    functions,
    platform,
    queueing,
    analyzers,
    cost,
    rules,
    animation,
    validate_models.categories,
    validate_models.blocked_terms,
    validate_models.image_limits,
    validate_models.provisioned,
    uploads,
    lifecycle,
    presign_window,
    api,
    review,
    validate_claims.claims_qa_appeals,
    quota,
    alarms,
    packaging,
    caching,
    edge_auth,
    analytics,
    lambda s, p: p.extend(dsa_settings.check(s.dsa)),
    validate_banks.banks,
)


def validate(s: StackSettings) -> list[str]:
    """Every problem with `s`, each naming the setting and the fix."""
    p = Problems()
    for check in VALIDATORS:
        check(s, p)
    return list(p)
