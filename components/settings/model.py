"""The stack's settings as typed, frozen dataclasses; each field is one `moderation:` key.

Defaults are what a platform engineer would deploy; `docs/settings.md` is generated
from the `doc` of each field (`python -m components.settings.docs`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from components.settings.dsa import DsaSettings
from components.settings.fields import (
    NAMESPACE,
    internal,
    lower,
    section,
    setting,
    upper,
)
from lambdas.common.contract import ALL_FUNCTIONS, AnimationPolicy, Function
from lambdas.common.decision import DEFAULT_CATEGORIES
from lambdas.common.images import DEFAULT_MAX_FRAMES, MAX_FRAMES_RANGE

MIB = 1024 * 1024
# API Gateway hands the body to Lambda base64-encoded (4 bytes for 3) inside the event,
# and a synchronous invoke's payload is at most 6 MB (6,291,456 bytes). The rest of the
# event (request context, JWT claims, headers: an HTTP API admits 10 KB of headers) is
# allowed 32 KiB.
LAMBDA_SYNC_PAYLOAD_BYTES = 6 * MIB
EVENT_ENVELOPE_BYTES = 32 * 1024
MAX_INLINE_UPLOAD_BYTES = (LAMBDA_SYNC_PAYLOAD_BYTES - EVENT_ENVELOPE_BYTES) // 4 * 3
# Rekognition reads at most 15 MB from an S3 object.
MAX_REKOGNITION_OBJECT_BYTES = 15 * MIB

# Rekognition's top-level moderation categories that reject at high confidence.
DEFAULT_UNSAFE_CATEGORIES = (
    "Explicit",
    "Explicit Nudity",
    "Non-Explicit Nudity of Intimate parts and Kissing",
    "Violence",
    "Visually Disturbing",
    "Hate Symbols",
    "Drugs & Tobacco",
)


@dataclass(frozen=True)
class FunctionSettings:
    memory: int = setting(256, "memory in MB (128-10240); CPU scales with it")
    timeout: int = setting(30, "timeout in seconds (1-900)")
    reserved_concurrency: int | None = setting(
        None, "reserved concurrency (null: unreserved)", key="reservedConcurrency"
    )


# Sized for what each function does: the model functions from their measured peak memory
# and CPU (CPU scales with memory; docs/models.md and docs/figures.md), the rest are
# I/O-bound.
DEFAULT_FUNCTIONS: dict[str, FunctionSettings] = {
    Function.UPLOAD: FunctionSettings(512, 10, None),
    Function.STATUS: FunctionSettings(256, 5, None),
    Function.DISPATCHER: FunctionSettings(256, 30, None),
    Function.REKOGNITION_ANALYZER: FunctionSettings(1024, 30, None),
    Function.CUSTOM_ANALYZER: FunctionSettings(1024, 60, None),
    Function.TEXT_ANALYZER: FunctionSettings(1769, 60, None),
    Function.NOTIFIER: FunctionSettings(256, 30, None),
    # No reserved concurrency: reserving any fails on accounts whose unreserved
    # concurrency would drop below AWS's minimum; a run lease keeps sweeps single.
    Function.SWEEPER: FunctionSettings(256, 60, None),
    Function.EXPORTER: FunctionSettings(256, 60, None),
    Function.REVIEW: FunctionSettings(256, 10, None),
    # Hashes a job's image for `{"job_id"}` entries (PDQ with numpy) and writes imports.
    Function.BANKS: FunctionSettings(512, 15, None),
    # Lambda@Edge viewer-request triggers are capped at 128 MB and 5 s.
    Function.EDGE_AUTH: FunctionSettings(128, 5, None),
    Function.NOTICES: FunctionSettings(256, 10, None),
    # Up to 100 statements a call, five attempts with backoff (1+2+4+8 s) and lookups.
    Function.DSA_SUBMITTER: FunctionSettings(256, 120, None),
}
assert set(DEFAULT_FUNCTIONS) == set(ALL_FUNCTIONS)


@dataclass(frozen=True)
class RouteThrottle:
    rate: float = setting(50.0, "steady requests per second")
    burst: int = setting(100, "burst requests")


@dataclass(frozen=True)
class ThrottlingSettings:
    post_jobs: RouteThrottle = section(lambda: RouteThrottle(50.0, 100), "`POST /jobs`")
    get_job: RouteThrottle = section(lambda: RouteThrottle(200.0, 400), "`GET /jobs/{job_id}`")
    reviews: RouteThrottle = section(
        lambda: RouteThrottle(20.0, 40), "`GET /reviews` and `POST /jobs/{job_id}/review`"
    )


@dataclass(frozen=True)
class ReviewSettings:
    moderator_group: str = setting(
        "moderators",
        "the Cognito group (JWT `cognito:groups`) whose members may review; created in the "
        "stack's user pool with edge auth",
    )
    queue_warn: bool = setting(
        False, "`warn` decisions wait for a moderator too, not only `review`"
    )
    max_age_minutes: int = setting(
        60, "alarm when the oldest pending review has waited longer than this"
    )
    image_url_seconds: int = setting(
        300, "lifetime of the presigned image URLs in `GET /reviews` (60-3600 s)"
    )
    claim_minutes: int = setting(
        15,
        "how long `POST /reviews/claim` leases an item to a moderator (1-240); past it the "
        "item is back in its queue",
    )
    qa_sample_rate: float = setting(
        0.0,
        "share (0-1) of automatic decisions and of verdicts sent to the QA queue, to be "
        "decided again, blind, by another moderator",
    )


@dataclass(frozen=True)
class AppealSettings:
    window_days: int = setting(
        14,
        "days after its decision an uploader may appeal a `reject`, a `warn` or a "
        "moderator's verdict (1 to the job retention)",
    )


@dataclass(frozen=True)
class BanksSettings:
    operator_group: str = setting(
        "operators",
        "the Cognito group (JWT `cognito:groups`) whose members manage hash banks (`PUT "
        "/banks/{bank}`, deletes, import, export); created in the user pool with edge auth",
    )


@dataclass(frozen=True)
class VerdictReuseSettings:
    enabled: bool = setting(
        True,
        "a job whose bytes match an earlier job's, under the same rules and model versions, "
        "completes with that verdict without calling an analyzer",
    )
    ttl_days: int = setting(
        30, "a stored verdict is reused for this long (1-365 days; DynamoDB TTL deletes it)"
    )
    near_duplicate: bool = setting(
        False,
        "a new image within `nearDuplicateDistance` PDQ bits of an analysed one reuses its "
        "Rekognition labels (the custom models, OCR and the banks still run on the new "
        "bytes); needs `analysisOrder: custom-first` (docs/cost.md#near-duplicate-reuse)",
    )
    near_duplicate_distance: int = setting(
        8,
        "how near (PDQ bits, 0-15) a re-encoded repeat must be to reuse the labels",
    )


@dataclass(frozen=True)
class QuotaSettings:
    enabled: bool = setting(
        True,
        "per-user upload limits: one conditional write per upload to a small usage table; "
        "over a limit `POST /jobs` answers 429 with `Retry-After`",
    )
    uploads_per_minute: int = setting(
        30, "uploads one user may start in a clock minute (UTC; 1-1000)"
    )
    uploads_per_day: int = setting(
        1000,
        "uploads one user may start in a UTC day (uploadsPerMinute-10000): each may cost "
        "Rekognition calls (docs/cost.md#per-user-limits)",
    )


@dataclass(frozen=True)
class AnimationSettings:
    max_frames: int = setting(
        DEFAULT_MAX_FRAMES,
        f"frames of an animated GIF, WebP or PNG analysed in every branch "
        f"({MAX_FRAMES_RANGE[0]}-{MAX_FRAMES_RANGE[1]}): the first, the last, scene changes "
        "and evenly spaced ones; each is one billed Rekognition call",
    )
    policy: str = setting(
        AnimationPolicy.ANALYZE,
        "`analyze` (sampled frames, the most severe decides), `reject` (animated uploads "
        "are refused with 415) or `first-frame-only` (frame 0 only: anything shown on a "
        "later frame passes unseen)",
        parse=lower,
    )


@dataclass(frozen=True)
class CachingSettings:
    node_type: str = setting(
        "serverless",
        "`serverless` (ElastiCache Serverless) or a node type such as `cache.t4g.micro` "
        "(two nodes in two AZs, AUTH token)",
    )
    engine: str = setting("valkey", "`valkey` or `redis`")
    max_storage_gb: int = setting(1, "serverless data storage limit (1-5000 GB)")
    max_ecpu_per_second: int = setting(5000, "serverless compute limit (1000-15000000)")
    terminal_ttl_seconds: int = setting(
        3600, "complete/failed jobs never change: cache them this long"
    )
    active_ttl_seconds: float = setting(
        1.0, "pending/analyzing: the oldest status a client can see (0-60 s]"
    )
    local_lru_size: int = setting(1024, "entries in each warm Lambda's in-process cache (0: off)")
    vpc_id: str | None = setting(
        None, "use an existing VPC (with `subnetIds`) instead of a new one"
    )
    subnet_ids: tuple[str, ...] = setting((), "at least two private subnets in different AZs")
    route_table_ids: tuple[str, ...] = setting(
        (),
        "route tables of those subnets for the DynamoDB gateway endpoint (default: looked "
        "up, the VPC's main table for subnets without one)",
    )
    vpc_cidr: str = setting("10.42.0.0/16", "private /16-/24 network of the VPC created")
    # An existing VPC usually has its own DynamoDB gateway and Secrets Manager interface
    # endpoints already; a second one conflicts (route, private DNS), so this turns ours off.
    create_vpc_endpoints: bool = setting(
        True, "false when the VPC already has DynamoDB and Secrets Manager endpoints"
    )


@dataclass(frozen=True)
class EdgeAuthSettings:
    price_class: str = setting(
        "PriceClass_100", "CloudFront price class: PriceClass_100, _200 or _All"
    )
    mfa: str = setting("OFF", "`OFF`, `OPTIONAL` or `ON` (TOTP apps)", parse=upper)
    advanced_security: bool = setting(False, "Cognito threat protection (Plus plan, per MAU)")
    domain_prefix: str | None = setting(
        None,
        "hosted UI domain prefix",
        default_doc="moderation-<stack>-<account>",
    )
    callback_urls: tuple[str, ...] = setting(
        ("http://localhost:8501/",), "where the hosted UI may return (https, except localhost)"
    )
    logging_bucket: str | None = setting(
        None, "bucket name for CloudFront standard logs (needs ACLs)"
    )
    jwks_file: str | None = setting(
        None, "JWKS to bake into the edge function (default: the pool's, fetched at deploy)"
    )
    content_ttl_seconds: int = setting(
        31536000, "CDN cache TTL of approved images, which never change (60-31536000)"
    )
    token_use: str = setting(
        "id", "the token the CDN accepts: `id` (aud = app client) or `access`", parse=lower
    )
    aliases: tuple[str, ...] = setting((), "custom CDN domain names (need `certificateArn`)")
    certificate_arn: str | None = setting(
        None, "ACM certificate in us-east-1 covering the aliases (enables TLSv1.2_2021)"
    )
    ses_source_arn: str | None = setting(
        None,
        "verified SES identity the user pool sends invitations and codes from (Cognito's "
        "own sender allows about 50 e-mails a day: set this for production)",
        key="sesSourceArn",
    )
    from_email: str | None = setting(None, "From address of those e-mails (with sesSourceArn)")


@dataclass(frozen=True)
class AnalyticsSettings:
    release_label: str = setting("emr-7.5.0", "EMR Serverless release (the app runs on ARM64)")
    max_vcpu: int = setting(16, "application vCPU cap (>= 4: driver and one executor)")
    max_memory_gb: int = setting(64, "application memory cap (>= 8 GB)")
    idle_timeout_minutes: int = setting(15, "auto-stop after this idle time")
    report_schedule: str = setting(
        "cron(15 2 * * ? *)", "EventBridge Scheduler expression of the daily report, UTC"
    )
    report_days: int = setting(1, "days per report, ending the day before the run")
    results_expiry_days: int = setting(365, "lifecycle expiry of `jobs/` exports and `reports/`")
    export_batch_size: int = setting(100, "stream records per exporter invocation")
    export_batching_window_seconds: int = setting(
        30, "wait up to this long to fill an export batch (fewer, larger objects)"
    )


def _category_settings() -> dict[str, dict[str, Any]]:
    return {
        name: {"threshold": rule.threshold, "effect": rule.effect}
        for name, rule in DEFAULT_CATEGORIES.items()
    }


def as_categories(raw: Any) -> dict[str, dict[str, Any]]:
    """`moderation:customCategories` over the defaults: a category given replaces only the
    fields it names (`--path moderation:customCategories.faces.effect review`). Values are
    kept as given; `validate.py` checks them and names the fix."""
    if isinstance(raw, str):
        raw = json.loads(raw)
    if not isinstance(raw, dict):
        raise ValueError("expected an object: {category: {threshold, effect}}")
    merged = _category_settings()
    for name, value in raw.items():
        if not isinstance(value, dict):
            raise ValueError(f"{name} must be an object with threshold and effect")
        merged[str(name)] = {**merged.get(str(name), {}), **value}
    return merged


def _functions_field() -> Any:
    return field(
        default_factory=lambda: dict(DEFAULT_FUNCTIONS),
        metadata={"kind": "functions", "doc": "per function: memory, timeout, reservedConcurrency"},
    )


@dataclass(frozen=True)
class StackSettings:
    """Everything the components need, validated. Built by `settings_from_mapping`."""

    stack: str = internal()
    functions: dict[str, FunctionSettings] = _functions_field()
    # Functions
    architecture: str = setting("arm64", "Lambda architecture: `arm64` (Graviton) or `x86_64`")
    tracing: bool = setting(True, "X-Ray active tracing on every function")
    log_retention_days: int = setting(
        30, "CloudWatch Logs retention of every function and the API access log (days)"
    )
    # Packaging: "build" installs each function's layer (its third-party imports and the
    # AWS SDK) for Lambda's platform at deploy time; "host" builds the same layer for this
    # machine (the local cloud runs each function from it); "skip" builds none (the
    # program's tests).
    dependency_layer: str = setting(
        "build",
        "`build` each function's dependency layer for Lambda at deploy time; `host` for "
        "this machine (the local cloud); `skip` for none",
    )
    force_destroy: bool = setting(
        False, "let `pulumi destroy` delete buckets and tables that hold data"
    )
    # Queueing
    batch_size: int = setting(
        10, "messages per dispatcher invocation (1-10000; > 10 needs a window)"
    )
    batching_window_seconds: int = setting(
        0, "seconds the mapping may wait to fill a batch (0-300)"
    )
    max_receive_count: int = setting(3, "receives before a message moves to the DLQ")
    # Derived from the dispatcher's timeout when not set (parse.py).
    visibility_timeout_seconds: int = setting(
        180,
        "processing queue visibility timeout; refused under 6 x the dispatcher timeout",
        default_doc="6 x dispatcher timeout",
    )
    queue_retention_seconds: int = setting(4 * 86400, "how long unprocessed messages are kept")
    dlq_retention_seconds: int = setting(
        14 * 86400, "how long dead letters are kept (must exceed the queue's)"
    )
    max_concurrency: int | None = setting(
        None, "cap on concurrent dispatcher invocations from the queue (2-1000)"
    )
    # Async analyzers
    async_retries: int = setting(2, "Lambda async retries per analyzer invocation (0-2)")
    async_max_event_age_seconds: int = setting(
        3600, "oldest an analyzer event may get before the failure queue (60-21600 s)"
    )
    # Moderation rules
    rekognition_min_confidence: float = setting(
        50.0, "Rekognition labels below this confidence never count"
    )
    reject_threshold: float = setting(
        90.0, "an unsafe label at or above this rejects; between the two: review"
    )
    unsafe_categories: tuple[str, ...] = setting(
        DEFAULT_UNSAFE_CATEGORIES, "Rekognition categories (label, parent or top level) that count"
    )
    blocklist_hashes: tuple[str, ...] = setting(
        (), "dHashes of known-bad images (`python -m local hash IMAGE`)"
    )
    blocklist_max_distance: int = setting(10, "bits a dHash may differ and still match (0-32)")
    min_image_side: int = setting(
        100, "images with a shorter side are `unusable` (>= 80: smaller ones are refused)"
    )
    max_aspect_ratio: float = setting(4.0, "images longer than this ratio are `unusable`")
    custom_categories: dict[str, dict[str, Any]] = setting(
        doc="category -> {threshold, effect}; effect `reject`, `review`, `warn` or `info` "
        "(docs/models.md); entries given replace the defaults' fields",
        default_factory=_category_settings,
        parse=as_categories,
        default_doc=", ".join(
            f"`{n}` {r.threshold:g} {r.effect}" for n, r in DEFAULT_CATEGORIES.items()
        ),
    )
    blocked_terms: tuple[str, ...] = setting(
        (), "terms that make `blocked_terms` fire when read in an image (case/spacing-insensitive)"
    )
    text_analysis_enabled: bool = setting(
        True, "the text branch (RapidOCR: `spam_link`, `contact_info`, `blocked_terms`)"
    )
    animation: AnimationSettings = section(
        AnimationSettings, "animated uploads (docs/models.md#animations)"
    )
    custom_provisioned_concurrency: int = setting(
        0, "provisioned concurrency on the custom analyzer's `live` alias (0: off)"
    )
    # Upload
    max_inline_upload_bytes: int = setting(
        4 * MIB, "largest image accepted as the request body (base64 within Lambda's 6 MB)"
    )
    max_upload_bytes: int = setting(
        15 * MIB, "largest image accepted through a presigned PUT (<= 15 MiB)"
    )
    presign_expiry_seconds: int = setting(
        600,
        "lifetime of a presigned PUT URL (>= 60 s; with twice the slowest analyzer timeout it "
        "must fit in jobDeadlineSeconds)",
    )
    idempotency_ttl_seconds: int = setting(3600, "how long an Idempotency-Key is remembered")
    # Lifecycle
    job_deadline_seconds: int = setting(
        900, "a job still pending or analyzing after this is failed by the sweeper"
    )
    sweep_rate_minutes: int = setting(1, "how often the sweeper runs")
    job_retention_days: int = setting(90, "job records expire (DynamoDB TTL) after this")
    upload_expiry_days: int = setting(30, "originals are deleted by a lifecycle rule after this")
    # API
    jwt_issuer: str | None = setting(
        None, "the API's JWT issuer; required unless `edgeAuthEnabled`"
    )
    jwt_audience: tuple[str, ...] = setting((), "accepted audiences (app client ids)")
    throttling: ThrottlingSettings = section(ThrottlingSettings, "per-route rate and burst")
    cors_origins: tuple[str, ...] = setting((), "browser origins allowed by CORS")
    # Notifications and alarms
    # A FIFO notification topic deduplicates (per job) what a retried notifier publishes
    # again; FIFO topics deliver to SQS, not to email, SMS or HTTP(S) endpoints.
    notification_fifo: bool = setting(
        True,
        "FIFO notification topic (one message per job, SQS subscribers); false: standard "
        "topic, any protocol, at-least-once",
    )
    alarm_email: str | None = setting(None, "e-mail subscription of the alarm topic")
    alarm_https_endpoint: str | None = setting(None, "HTTPS subscription of the alarm topic")
    oldest_message_alarm_seconds: int = setting(
        300, "alarm when the oldest processing message is older than this"
    )
    # Optional components
    caching_enabled: bool = setting(False, "the status cache (ElastiCache in a VPC)")
    edge_auth_enabled: bool = setting(False, "CloudFront + Lambda@Edge + Cognito downloads")
    analytics_enabled: bool = setting(False, "stream export and EMR Serverless reports")
    review: ReviewSettings = section(ReviewSettings, "human review")
    appeals: AppealSettings = section(AppealSettings, "appeals of decisions by their uploaders")
    banks: BanksSettings = section(BanksSettings, "hash banks (docs/banks.md)")
    verdict_reuse: VerdictReuseSettings = section(VerdictReuseSettings, "verdict reuse")
    quota: QuotaSettings = section(QuotaSettings, "per-user upload limits")
    analysis_order: str = setting(
        "parallel",
        "`parallel` (every branch at once) or `custom-first` (Rekognition only when the "
        "custom and text results are not already a reject; slower, cheaper)",
    )
    caching: CachingSettings = section(CachingSettings, "the status cache")
    edge_auth: EdgeAuthSettings = section(EdgeAuthSettings, "edge auth")
    analytics: AnalyticsSettings = section(AnalyticsSettings, "analytics")
    dsa: DsaSettings = section(
        DsaSettings, "statements of reasons and notices (docs/statements.md)"
    )

    @property
    def prefix(self) -> str:
        return f"{NAMESPACE}-{self.stack}"

    def function(self, name: str) -> FunctionSettings:
        return self.functions[name]
