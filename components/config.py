"""Typed stack settings read from `pulumi.Config("moderation")`.

Every setting has a default, every value is validated before a resource is declared,
and every refusal names the setting and the command that fixes it, so a wrong stack
fails `pulumi preview` instead of failing half-way through `pulumi up`.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

NAMESPACE = "moderation"

# Logical function names. Components and the local cloud key everything on these.
PIPELINE_FUNCTIONS = (
    "upload",
    "status",
    "dispatcher",
    "rekognition_analyzer",
    "custom_analyzer",
    "notifier",
    "sweeper",
)
OPTIONAL_FUNCTIONS = ("exporter", "edge_auth")
ALL_FUNCTIONS = PIPELINE_FUNCTIONS + OPTIONAL_FUNCTIONS

# Sized for what each function does: the custom analyzer decodes whole images and
# gets more memory (and so more CPU); the rest are I/O-bound.
DEFAULT_FUNCTIONS: dict[str, dict[str, Any]] = {
    "upload": {"memory": 512, "timeout": 10, "reservedConcurrency": None},
    "status": {"memory": 256, "timeout": 5, "reservedConcurrency": None},
    "dispatcher": {"memory": 256, "timeout": 30, "reservedConcurrency": None},
    "rekognition_analyzer": {"memory": 256, "timeout": 30, "reservedConcurrency": None},
    "custom_analyzer": {"memory": 1024, "timeout": 60, "reservedConcurrency": None},
    "notifier": {"memory": 256, "timeout": 30, "reservedConcurrency": None},
    "sweeper": {"memory": 256, "timeout": 60, "reservedConcurrency": 1},
    "exporter": {"memory": 256, "timeout": 60, "reservedConcurrency": None},
    # Lambda@Edge viewer-request triggers are capped at 128 MB and 5 s.
    "edge_auth": {"memory": 128, "timeout": 5, "reservedConcurrency": None},
}

# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

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

MIB = 1024 * 1024
# API Gateway hands the body to Lambda base64-encoded inside a 6 MB invoke payload.
MAX_INLINE_UPLOAD_BYTES = 4 * MIB + MIB // 2
# Rekognition reads at most 15 MB from an S3 object.
MAX_REKOGNITION_OBJECT_BYTES = 15 * MIB


class ConfigError(ValueError):
    """A stack setting is wrong. The message lists every problem and its fix."""


@dataclass(frozen=True)
class FunctionSettings:
    memory: int
    timeout: int
    reserved_concurrency: int | None


@dataclass(frozen=True)
class RouteThrottle:
    rate: float
    burst: int


@dataclass(frozen=True)
class CachingSettings:
    node_type: str = "serverless"  # "serverless" or an instance type such as cache.t4g.micro
    engine: str = "valkey"
    max_storage_gb: int = 1
    max_ecpu_per_second: int = 5000
    terminal_ttl_seconds: int = 3600
    active_ttl_seconds: float = 1.0
    local_lru_size: int = 1024
    vpc_id: str | None = None
    subnet_ids: tuple[str, ...] = ()
    vpc_cidr: str = "10.42.0.0/16"
    # An existing VPC usually has its own DynamoDB gateway and Secrets Manager interface
    # endpoints already; a second one conflicts (route, private DNS), so this turns ours off.
    create_vpc_endpoints: bool = True


@dataclass(frozen=True)
class EdgeAuthSettings:
    price_class: str = "PriceClass_100"
    mfa: str = "OFF"  # OFF | OPTIONAL | ON
    advanced_security: bool = False
    domain_prefix: str | None = None
    callback_urls: tuple[str, ...] = ("http://localhost:8501/",)
    logging_bucket: str | None = None
    jwks_file: str | None = None
    content_ttl_seconds: int = 31536000
    token_use: str = "id"  # the Cognito token the edge accepts: id | access
    aliases: tuple[str, ...] = ()  # custom domain names for the CDN (need certificate_arn)
    certificate_arn: str | None = None  # ACM certificate in us-east-1 covering the aliases


@dataclass(frozen=True)
class AnalyticsSettings:
    release_label: str = "emr-7.5.0"
    max_vcpu: int = 16
    max_memory_gb: int = 64
    idle_timeout_minutes: int = 15
    report_schedule: str = "cron(15 2 * * ? *)"
    report_days: int = 1
    results_expiry_days: int = 365
    export_batch_size: int = 100
    export_batching_window_seconds: int = 30


@dataclass(frozen=True)
class StackSettings:
    """Everything the components need, validated. Built by `load_settings`."""

    stack: str
    functions: dict[str, FunctionSettings]
    architecture: str = "arm64"
    tracing: bool = True
    log_retention_days: int = 30
    force_destroy: bool = False
    # Queueing
    batch_size: int = 10
    batching_window_seconds: int = 0
    max_receive_count: int = 3
    visibility_timeout_seconds: int = 180
    queue_retention_seconds: int = 4 * 86400
    dlq_retention_seconds: int = 14 * 86400
    max_concurrency: int | None = None
    # Async analyzers
    async_retries: int = 2
    async_max_event_age_seconds: int = 3600
    # Moderation rules
    rekognition_min_confidence: float = 50.0
    reject_threshold: float = 90.0
    unsafe_categories: tuple[str, ...] = DEFAULT_UNSAFE_CATEGORIES
    blocklist_hashes: tuple[str, ...] = ()
    blocklist_max_distance: int = 10
    min_image_side: int = 64
    max_aspect_ratio: float = 4.0
    # Upload
    max_inline_upload_bytes: int = 4 * MIB
    max_upload_bytes: int = 15 * MIB
    presign_expiry_seconds: int = 900
    idempotency_ttl_seconds: int = 3600
    # Lifecycle
    job_deadline_seconds: int = 900
    sweep_rate_minutes: int = 1
    job_retention_days: int = 90
    upload_expiry_days: int = 30
    # API
    jwt_issuer: str | None = None
    jwt_audience: tuple[str, ...] = ()
    throttle_post: RouteThrottle = field(default_factory=lambda: RouteThrottle(50.0, 100))
    throttle_get: RouteThrottle = field(default_factory=lambda: RouteThrottle(200.0, 400))
    cors_origins: tuple[str, ...] = ()
    # Alarms
    alarm_email: str | None = None
    # A FIFO notification topic deduplicates (per job) what a retried notifier publishes
    # again; FIFO topics deliver to SQS, not to email, SMS or HTTP(S) endpoints.
    notification_fifo: bool = True
    alarm_https_endpoint: str | None = None
    oldest_message_alarm_seconds: int = 300
    # Optional components
    caching_enabled: bool = False
    edge_auth_enabled: bool = False
    analytics_enabled: bool = False
    caching: CachingSettings = field(default_factory=CachingSettings)
    edge_auth: EdgeAuthSettings = field(default_factory=EdgeAuthSettings)
    analytics: AnalyticsSettings = field(default_factory=AnalyticsSettings)
    # Packaging: "build" vendors each function's third-party imports for Lambda's
    # platform at deploy time; "skip" leaves them out (the local cloud supplies them).
    dependency_layer: str = "build"

    @property
    def prefix(self) -> str:
        return f"{NAMESPACE}-{self.stack}"

    def function(self, name: str) -> FunctionSettings:
        return self.functions[name]


# --- reading -------------------------------------------------------------------------

# camelCase config key -> (StackSettings field, parser). Nested objects are handled below.
_SCALARS: dict[str, tuple[str, Callable[[Any], Any]]] = {}


def _key(config_key: str, attr: str, parse: Callable[[Any], Any]) -> None:
    _SCALARS[config_key] = (attr, parse)


def _as_int(v: Any) -> int:
    if isinstance(v, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(v, float) and not v.is_integer():
        raise ValueError(f"expected an integer, got {v}")
    return int(v)


def _as_float(v: Any) -> float:
    if isinstance(v, bool):
        raise ValueError("expected a number, got a boolean")
    return float(v)


def _as_bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    text = str(v).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(f"expected true or false, got {v!r}")


def _as_str(v: Any) -> str:
    return str(v)


def _as_opt_str(v: Any) -> str | None:
    if v is None:
        return None
    text = str(v).strip()
    return None if text.lower() in ("", "null", "none") else text


def _as_opt_int(v: Any) -> int | None:
    if v is None or (isinstance(v, str) and v.strip().lower() in ("", "null", "none")):
        return None
    return _as_int(v)


def _as_str_tuple(v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        text = v.strip()
        if text.startswith("["):
            v = json.loads(text)
        else:
            return tuple(p.strip() for p in text.split(",") if p.strip())
    if not isinstance(v, (list, tuple)):
        raise ValueError(f"expected a list of strings, got {v!r}")
    return tuple(str(p) for p in v)


for _k, _a, _p in (
    ("architecture", "architecture", _as_str),
    ("tracing", "tracing", _as_bool),
    ("logRetentionDays", "log_retention_days", _as_int),
    ("forceDestroy", "force_destroy", _as_bool),
    ("batchSize", "batch_size", _as_int),
    ("batchingWindowSeconds", "batching_window_seconds", _as_int),
    ("maxReceiveCount", "max_receive_count", _as_int),
    ("visibilityTimeoutSeconds", "visibility_timeout_seconds", _as_int),
    ("queueRetentionSeconds", "queue_retention_seconds", _as_int),
    ("dlqRetentionSeconds", "dlq_retention_seconds", _as_int),
    ("maxConcurrency", "max_concurrency", _as_opt_int),
    ("asyncRetries", "async_retries", _as_int),
    ("asyncMaxEventAgeSeconds", "async_max_event_age_seconds", _as_int),
    ("rekognitionMinConfidence", "rekognition_min_confidence", _as_float),
    ("rejectThreshold", "reject_threshold", _as_float),
    ("unsafeCategories", "unsafe_categories", _as_str_tuple),
    ("blocklistHashes", "blocklist_hashes", _as_str_tuple),
    ("blocklistMaxDistance", "blocklist_max_distance", _as_int),
    ("minImageSide", "min_image_side", _as_int),
    ("maxAspectRatio", "max_aspect_ratio", _as_float),
    ("maxInlineUploadBytes", "max_inline_upload_bytes", _as_int),
    ("maxUploadBytes", "max_upload_bytes", _as_int),
    ("presignExpirySeconds", "presign_expiry_seconds", _as_int),
    ("idempotencyTtlSeconds", "idempotency_ttl_seconds", _as_int),
    ("jobDeadlineSeconds", "job_deadline_seconds", _as_int),
    ("sweepRateMinutes", "sweep_rate_minutes", _as_int),
    ("jobRetentionDays", "job_retention_days", _as_int),
    ("uploadExpiryDays", "upload_expiry_days", _as_int),
    ("jwtIssuer", "jwt_issuer", _as_opt_str),
    ("jwtAudience", "jwt_audience", _as_str_tuple),
    ("corsOrigins", "cors_origins", _as_str_tuple),
    ("alarmEmail", "alarm_email", _as_opt_str),
    ("notificationFifo", "notification_fifo", _as_bool),
    ("alarmHttpsEndpoint", "alarm_https_endpoint", _as_opt_str),
    ("oldestMessageAlarmSeconds", "oldest_message_alarm_seconds", _as_int),
    ("cachingEnabled", "caching_enabled", _as_bool),
    ("edgeAuthEnabled", "edge_auth_enabled", _as_bool),
    ("analyticsEnabled", "analytics_enabled", _as_bool),
    ("dependencyLayer", "dependency_layer", _as_str),
):
    _key(_k, _a, _p)

_OBJECT_KEYS = ("functions", "throttling", "caching", "edgeAuth", "analytics")
KNOWN_KEYS = tuple(sorted(set(_SCALARS) | set(_OBJECT_KEYS)))

_SUB_FIELDS = {
    "caching": (
        "caching",
        CachingSettings,
        {
            "nodeType": ("node_type", _as_str),
            "engine": ("engine", _as_str),
            "maxStorageGb": ("max_storage_gb", _as_int),
            "maxEcpuPerSecond": ("max_ecpu_per_second", _as_int),
            "terminalTtlSeconds": ("terminal_ttl_seconds", _as_int),
            "activeTtlSeconds": ("active_ttl_seconds", _as_float),
            "localLruSize": ("local_lru_size", _as_int),
            "vpcId": ("vpc_id", _as_opt_str),
            "subnetIds": ("subnet_ids", _as_str_tuple),
            "vpcCidr": ("vpc_cidr", _as_str),
            "createVpcEndpoints": ("create_vpc_endpoints", _as_bool),
        },
    ),
    "edgeAuth": (
        "edge_auth",
        EdgeAuthSettings,
        {
            "priceClass": ("price_class", _as_str),
            "mfa": ("mfa", lambda v: str(v).upper()),
            "advancedSecurity": ("advanced_security", _as_bool),
            "domainPrefix": ("domain_prefix", _as_opt_str),
            "callbackUrls": ("callback_urls", _as_str_tuple),
            "loggingBucket": ("logging_bucket", _as_opt_str),
            "jwksFile": ("jwks_file", _as_opt_str),
            "contentTtlSeconds": ("content_ttl_seconds", _as_int),
            "tokenUse": ("token_use", lambda v: str(v).strip().lower()),
            "aliases": ("aliases", _as_str_tuple),
            "certificateArn": ("certificate_arn", _as_opt_str),
        },
    ),
    "analytics": (
        "analytics",
        AnalyticsSettings,
        {
            "releaseLabel": ("release_label", _as_str),
            "maxVcpu": ("max_vcpu", _as_int),
            "maxMemoryGb": ("max_memory_gb", _as_int),
            "idleTimeoutMinutes": ("idle_timeout_minutes", _as_int),
            "reportSchedule": ("report_schedule", _as_str),
            "reportDays": ("report_days", _as_int),
            "resultsExpiryDays": ("results_expiry_days", _as_int),
            "exportBatchSize": ("export_batch_size", _as_int),
            "exportBatchingWindowSeconds": ("export_batching_window_seconds", _as_int),
        },
    ),
}


def _set_cmd(key: str, value: Any) -> str:
    if "." in key:
        return f"`pulumi config set --path {NAMESPACE}:{key} {value}`"
    return f"`pulumi config set {NAMESPACE}:{key} {value}`"


def _suggest(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f"; did you mean {NAMESPACE}:{close[0]}?" if close else ""


def _decode(raw: Any) -> Any:
    """Config values arrive as strings; objects and lists arrive as JSON text."""
    if isinstance(raw, str):
        text = raw.strip()
        if text[:1] in ("{", "["):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return raw
    return raw


def settings_from_mapping(stack: str, raw: Mapping[str, Any]) -> StackSettings:
    """Build and validate settings from `{camelCaseKey: value}` (namespace stripped).

    Raises ConfigError listing every problem at once, so one `pulumi preview` shows all fixes.
    """
    errors: list[str] = []
    values: dict[str, Any] = {}

    for key, value in raw.items():
        value = _decode(value)
        if value is None or value == "null":
            if key not in _SCALARS and key not in _OBJECT_KEYS:
                errors.append(f"{NAMESPACE}:{key} is not a setting of this program.")
            continue
        if key in _SCALARS:
            attr, parse = _SCALARS[key]
            try:
                values[attr] = parse(value)
            except (TypeError, ValueError) as exc:
                errors.append(f"{NAMESPACE}:{key} = {value!r} is not valid ({exc}).")
        elif key not in _OBJECT_KEYS:
            errors.append(
                f"{NAMESPACE}:{key} is not a setting of this program{_suggest(key, KNOWN_KEYS)} "
                f"Remove it with `pulumi config rm {NAMESPACE}:{key}`."
            )

    functions = _read_functions(_decode(raw.get("functions", {})), errors)
    post, get = _read_throttling(_decode(raw.get("throttling", {})), errors)
    values["throttle_post"], values["throttle_get"] = post, get
    for obj_key, (attr, cls, spec) in _SUB_FIELDS.items():
        values[attr] = _read_object(obj_key, _decode(raw.get(obj_key, {})), cls, spec, errors)

    if "visibility_timeout_seconds" not in values:
        values["visibility_timeout_seconds"] = 6 * functions["dispatcher"].timeout

    if errors:
        raise ConfigError(_format(errors))
    settings = StackSettings(stack=stack, functions=functions, **values)
    errors = validate(settings)
    if errors:
        raise ConfigError(_format(errors))
    return settings


def _format(errors: list[str]) -> str:
    lines = "\n".join(f"  - {e}" for e in errors)
    return f"invalid stack configuration ({len(errors)} problem(s)):\n{lines}"


def _read_functions(obj: Any, errors: list[str]) -> dict[str, FunctionSettings]:
    if not isinstance(obj, Mapping):
        errors.append(f"{NAMESPACE}:functions must be an object keyed by function name.")
        obj = {}
    out: dict[str, FunctionSettings] = {}
    for name in obj:
        if name not in DEFAULT_FUNCTIONS:
            errors.append(
                f"{NAMESPACE}:functions.{name} is not a function of this program "
                f"(known: {', '.join(ALL_FUNCTIONS)})."
            )
    for name, defaults in DEFAULT_FUNCTIONS.items():
        merged = dict(defaults)
        override = obj.get(name, {}) or {}
        if not isinstance(override, Mapping):
            errors.append(f"{NAMESPACE}:functions.{name} must be an object with memory/timeout.")
            override = {}
        for k, v in override.items():
            if k not in defaults:
                errors.append(
                    f"{NAMESPACE}:functions.{name}.{k} is not a function setting "
                    f"(known: memory, timeout, reservedConcurrency)."
                )
                continue
            try:
                merged[k] = _as_opt_int(v) if k == "reservedConcurrency" else _as_int(v)
            except (TypeError, ValueError) as exc:
                errors.append(f"{NAMESPACE}:functions.{name}.{k} = {v!r} is not valid ({exc}).")
        out[name] = FunctionSettings(
            memory=merged["memory"],
            timeout=merged["timeout"],
            reserved_concurrency=merged["reservedConcurrency"],
        )
    return out


def _read_throttling(obj: Any, errors: list[str]) -> tuple[RouteThrottle, RouteThrottle]:
    result = {"postJobs": RouteThrottle(50.0, 100), "getJob": RouteThrottle(200.0, 400)}
    if not isinstance(obj, Mapping):
        errors.append(f"{NAMESPACE}:throttling must be an object with postJobs/getJob.")
        obj = {}
    for route, value in obj.items():
        if route not in result or not isinstance(value, Mapping):
            errors.append(
                f"{NAMESPACE}:throttling.{route} is not a route (known: postJobs, getJob "
                "each with rate and burst)."
            )
            continue
        try:
            result[route] = RouteThrottle(
                rate=_as_float(value.get("rate", result[route].rate)),
                burst=_as_int(value.get("burst", result[route].burst)),
            )
        except (TypeError, ValueError) as exc:
            errors.append(f"{NAMESPACE}:throttling.{route} is not valid ({exc}).")
    return result["postJobs"], result["getJob"]


def _read_object(key: str, obj: Any, cls: type, spec: dict, errors: list[str]) -> Any:
    if not isinstance(obj, Mapping):
        errors.append(f"{NAMESPACE}:{key} must be an object.")
        return cls()
    kwargs = {}
    for sub, value in obj.items():
        if sub not in spec:
            errors.append(
                f"{NAMESPACE}:{key}.{sub} is not a setting{_suggest_sub(sub, spec)} "
                f"(known: {', '.join(spec)})."
            )
            continue
        attr, parse = spec[sub]
        try:
            kwargs[attr] = parse(value)
        except (TypeError, ValueError) as exc:
            errors.append(f"{NAMESPACE}:{key}.{sub} = {value!r} is not valid ({exc}).")
    return cls(**kwargs)


def _suggest_sub(sub: str, spec: dict) -> str:
    close = difflib.get_close_matches(sub, tuple(spec), n=1)
    return f"; did you mean {close[0]}?" if close else ""


# --- validation ----------------------------------------------------------------------


def validate(s: StackSettings) -> list[str]:
    """Return every problem with `s`, each naming the setting and the fix."""
    e: list[str] = []

    def need(cond: bool, msg: str) -> None:
        if not cond:
            e.append(msg)

    for name, fn in s.functions.items():
        key = f"functions.{name}"
        need(
            128 <= fn.memory <= 10240,
            f"{NAMESPACE}:{key}.memory = {fn.memory} MB is outside Lambda's 128-10240 MB. "
            f"Set it with {_set_cmd(key + '.memory', 512)}.",
        )
        need(
            1 <= fn.timeout <= 900,
            f"{NAMESPACE}:{key}.timeout = {fn.timeout} s is outside Lambda's 1-900 s. "
            f"Set it with {_set_cmd(key + '.timeout', 30)}.",
        )
        need(
            fn.reserved_concurrency is None or fn.reserved_concurrency >= 1,
            f"{NAMESPACE}:{key}.reservedConcurrency = {fn.reserved_concurrency} would stop "
            f"the function (0) or is invalid. Use a value >= 1, or remove it with "
            f"`pulumi config rm --path {NAMESPACE}:{key}.reservedConcurrency`.",
        )
    edge = s.functions["edge_auth"]
    need(
        edge.memory == 128 and edge.timeout <= 5,
        f"{NAMESPACE}:functions.edge_auth must keep memory 128 MB and timeout <= 5 s: "
        "Lambda@Edge viewer-request triggers allow no more. "
        f"Set them with {_set_cmd('functions.edge_auth.memory', 128)} and "
        f"{_set_cmd('functions.edge_auth.timeout', 5)}.",
    )

    need(
        s.architecture in ("arm64", "x86_64"),
        f"{NAMESPACE}:architecture = {s.architecture!r} is not a Lambda architecture. "
        f"Use {_set_cmd('architecture', 'arm64')} (or x86_64).",
    )
    need(
        s.log_retention_days in LOG_RETENTION_DAYS,
        f"{NAMESPACE}:logRetentionDays = {s.log_retention_days} is not a CloudWatch Logs "
        f"retention period (allowed: {', '.join(map(str, LOG_RETENTION_DAYS))}). "
        f"Use e.g. {_set_cmd('logRetentionDays', 30)}.",
    )

    # SQS event source mapping
    need(
        1 <= s.batch_size <= 10000,
        f"{NAMESPACE}:batchSize = {s.batch_size} is outside 1-10000. "
        f"Set it with {_set_cmd('batchSize', 10)}.",
    )
    need(
        0 <= s.batching_window_seconds <= 300,
        f"{NAMESPACE}:batchingWindowSeconds = {s.batching_window_seconds} is outside 0-300. "
        f"Set it with {_set_cmd('batchingWindowSeconds', 1)}.",
    )
    need(
        s.batch_size <= 10 or s.batching_window_seconds >= 1,
        f"{NAMESPACE}:batchSize = {s.batch_size} needs a batching window: SQS event source "
        f"mappings above 10 messages require one. Set {_set_cmd('batchingWindowSeconds', 1)} "
        f"or lower the batch with {_set_cmd('batchSize', 10)}.",
    )
    need(
        1 <= s.max_receive_count <= 1000,
        f"{NAMESPACE}:maxReceiveCount = {s.max_receive_count} is outside 1-1000. "
        f"Set it with {_set_cmd('maxReceiveCount', 3)}.",
    )
    dispatcher_timeout = s.functions["dispatcher"].timeout
    need(
        s.visibility_timeout_seconds >= 6 * dispatcher_timeout,
        f"{NAMESPACE}:visibilityTimeoutSeconds = {s.visibility_timeout_seconds} is under 6x "
        f"the dispatcher timeout (6 x {dispatcher_timeout} s = {6 * dispatcher_timeout} s); "
        "messages would be redelivered while still being processed. Raise it with "
        f"{_set_cmd('visibilityTimeoutSeconds', 6 * dispatcher_timeout)} or lower "
        f"{NAMESPACE}:functions.dispatcher.timeout.",
    )
    need(
        s.visibility_timeout_seconds <= 43200,
        f"{NAMESPACE}:visibilityTimeoutSeconds = {s.visibility_timeout_seconds} exceeds SQS's "
        f"12 hours. Set it with {_set_cmd('visibilityTimeoutSeconds', 180)}.",
    )
    for key, value in (
        ("queueRetentionSeconds", s.queue_retention_seconds),
        ("dlqRetentionSeconds", s.dlq_retention_seconds),
    ):
        need(
            60 <= value <= 1209600,
            f"{NAMESPACE}:{key} = {value} is outside SQS's 60-1209600 s. "
            f"Set it with {_set_cmd(key, 1209600 if key.startswith('dlq') else 345600)}.",
        )
    need(
        s.dlq_retention_seconds > s.queue_retention_seconds,
        f"{NAMESPACE}:dlqRetentionSeconds = {s.dlq_retention_seconds} must exceed "
        f"{NAMESPACE}:queueRetentionSeconds = {s.queue_retention_seconds}: SQS keeps a message's "
        "original enqueue time, so a shorter DLQ retention deletes dead letters early. "
        f"Set {_set_cmd('dlqRetentionSeconds', 1209600)}.",
    )
    need(
        s.max_concurrency is None or 2 <= s.max_concurrency <= 1000,
        f"{NAMESPACE}:maxConcurrency = {s.max_concurrency} is outside the event source "
        f"mapping's 2-1000. Set {_set_cmd('maxConcurrency', 10)} or remove it.",
    )

    need(
        0 <= s.async_retries <= 2,
        f"{NAMESPACE}:asyncRetries = {s.async_retries} is outside Lambda's 0-2. "
        f"Set it with {_set_cmd('asyncRetries', 2)}.",
    )
    need(
        60 <= s.async_max_event_age_seconds <= 21600,
        f"{NAMESPACE}:asyncMaxEventAgeSeconds = {s.async_max_event_age_seconds} is outside "
        f"Lambda's 60-21600. Set it with {_set_cmd('asyncMaxEventAgeSeconds', 3600)}.",
    )

    need(
        0 <= s.rekognition_min_confidence <= 100 and 0 <= s.reject_threshold <= 100,
        f"{NAMESPACE}:rekognitionMinConfidence and {NAMESPACE}:rejectThreshold are "
        "percentages (0-100).",
    )
    need(
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
        need(
            ok,
            f"{NAMESPACE}:blocklistHashes entry {h!r} is not a 64-bit dHash in 16 hex digits. "
            "Compute one with `python -m local hash IMAGE`.",
        )
    need(
        0 <= s.blocklist_max_distance <= 32,
        f"{NAMESPACE}:blocklistMaxDistance = {s.blocklist_max_distance} is outside 0-32 bits. "
        f"Set it with {_set_cmd('blocklistMaxDistance', 10)}.",
    )
    need(
        s.min_image_side >= 1 and s.max_aspect_ratio >= 1,
        f"{NAMESPACE}:minImageSide must be >= 1 and {NAMESPACE}:maxAspectRatio >= 1.",
    )

    need(
        1024 <= s.max_inline_upload_bytes <= MAX_INLINE_UPLOAD_BYTES,
        f"{NAMESPACE}:maxInlineUploadBytes = {s.max_inline_upload_bytes} must be 1024-"
        f"{MAX_INLINE_UPLOAD_BYTES}: the API hands the body to Lambda base64-encoded within "
        f"its 6 MB payload. Larger files use the presigned path; set "
        f"{_set_cmd('maxInlineUploadBytes', 4 * MIB)}.",
    )
    need(
        s.max_inline_upload_bytes <= s.max_upload_bytes <= MAX_REKOGNITION_OBJECT_BYTES,
        f"{NAMESPACE}:maxUploadBytes = {s.max_upload_bytes} must be between "
        f"maxInlineUploadBytes and {MAX_REKOGNITION_OBJECT_BYTES} (Rekognition reads at most "
        f"15 MB from S3). Set {_set_cmd('maxUploadBytes', MAX_REKOGNITION_OBJECT_BYTES)}.",
    )
    need(
        60 <= s.presign_expiry_seconds <= 604800,
        f"{NAMESPACE}:presignExpirySeconds = {s.presign_expiry_seconds} is outside 60-604800. "
        f"Set it with {_set_cmd('presignExpirySeconds', 900)}.",
    )

    slowest_branch = max(
        s.functions["rekognition_analyzer"].timeout, s.functions["custom_analyzer"].timeout
    )
    need(
        s.job_deadline_seconds >= 2 * slowest_branch,
        f"{NAMESPACE}:jobDeadlineSeconds = {s.job_deadline_seconds} is under twice the slowest "
        f"analyzer timeout ({slowest_branch} s): the sweeper would fail jobs whose analysis is "
        f"still running. Set {_set_cmd('jobDeadlineSeconds', max(900, 2 * slowest_branch))}.",
    )
    need(
        1 <= s.sweep_rate_minutes <= 1440,
        f"{NAMESPACE}:sweepRateMinutes = {s.sweep_rate_minutes} is outside 1-1440. "
        f"Set it with {_set_cmd('sweepRateMinutes', 1)}.",
    )
    need(
        s.job_retention_days >= 1 and s.upload_expiry_days >= 1,
        f"{NAMESPACE}:jobRetentionDays and {NAMESPACE}:uploadExpiryDays must be >= 1 day.",
    )

    if not s.edge_auth_enabled:
        need(
            bool(s.jwt_issuer) and bool(s.jwt_audience),
            f"{NAMESPACE}:jwtIssuer and {NAMESPACE}:jwtAudience are required for the API's JWT "
            f"authorizer when {NAMESPACE}:edgeAuthEnabled is false. Set them with "
            f"{_set_cmd('jwtIssuer', 'https://cognito-idp.REGION.amazonaws.com/POOL_ID')} and "
            f"{_set_cmd('jwtAudience', 'APP_CLIENT_ID')}, or set "
            f"{_set_cmd('edgeAuthEnabled', 'true')} to create a Cognito user pool.",
        )
    if s.jwt_issuer:
        need(
            s.jwt_issuer.startswith("https://") or s.jwt_issuer.startswith("http://127.0.0.1"),
            f"{NAMESPACE}:jwtIssuer = {s.jwt_issuer!r} must be an https:// URL (API Gateway "
            "fetches its JWKS over TLS).",
        )
    for key, throttle in (("postJobs", s.throttle_post), ("getJob", s.throttle_get)):
        need(
            throttle.rate > 0 and throttle.burst >= 1,
            f"{NAMESPACE}:throttling.{key} needs rate > 0 and burst >= 1. "
            f"Set {_set_cmd(f'throttling.{key}.rate', 50)}.",
        )
    need(
        s.alarm_https_endpoint is None or s.alarm_https_endpoint.startswith("https://"),
        f"{NAMESPACE}:alarmHttpsEndpoint must start with https://.",
    )
    need(
        s.alarm_email is None or "@" in s.alarm_email,
        f"{NAMESPACE}:alarmEmail = {s.alarm_email!r} is not an email address.",
    )
    need(
        s.dependency_layer in ("build", "skip"),
        f"{NAMESPACE}:dependencyLayer = {s.dependency_layer!r} must be build or skip. "
        f"Use {_set_cmd('dependencyLayer', 'build')} for AWS.",
    )

    c = s.caching
    if s.caching_enabled:
        need(
            c.engine in ("valkey", "redis"),
            f"{NAMESPACE}:caching.engine = {c.engine!r} must be valkey or redis.",
        )
        need(
            c.node_type == "serverless" or c.node_type.startswith("cache."),
            f"{NAMESPACE}:caching.nodeType = {c.node_type!r} must be serverless or a cache "
            f"node type such as cache.t4g.micro. Set {_set_cmd('caching.nodeType', 'serverless')}.",
        )
        need(
            0 < c.active_ttl_seconds <= 60 and c.terminal_ttl_seconds >= 1,
            f"{NAMESPACE}:caching.activeTtlSeconds must be in (0, 60] (how stale a non-terminal "
            f"status may be) and caching.terminalTtlSeconds >= 1. "
            f"Set {_set_cmd('caching.activeTtlSeconds', 1)}.",
        )
        need(
            (c.vpc_id is None) == (len(c.subnet_ids) == 0),
            f"{NAMESPACE}:caching.vpcId and {NAMESPACE}:caching.subnetIds go together: give "
            "both to use an existing VPC, or neither to create one.",
        )
        need(
            c.vpc_id is None or len(c.subnet_ids) >= 2,
            f"{NAMESPACE}:caching.subnetIds needs at least two private subnets in different "
            "availability zones.",
        )
        need(
            c.terminal_ttl_seconds >= c.active_ttl_seconds,
            f"{NAMESPACE}:caching.terminalTtlSeconds = {c.terminal_ttl_seconds} is below "
            f"caching.activeTtlSeconds = {c.active_ttl_seconds}: finished jobs never change, so "
            f"they should be cached at least as long. Set {_set_cmd('caching.terminalTtlSeconds', 3600)}.",
        )
        need(
            0 <= c.local_lru_size <= 100_000,
            f"{NAMESPACE}:caching.localLruSize = {c.local_lru_size} must be 0-100000 entries "
            f"(0 turns the in-process tier off). Set {_set_cmd('caching.localLruSize', 1024)}.",
        )
        need(
            1 <= c.max_storage_gb <= 5000 and 1000 <= c.max_ecpu_per_second <= 15_000_000,
            f"{NAMESPACE}:caching.maxStorageGb must be 1-5000 and caching.maxEcpuPerSecond "
            "1000-15000000 (ElastiCache Serverless limits). "
            f"Set {_set_cmd('caching.maxStorageGb', 1)}.",
        )
        if c.vpc_id is None:
            need(
                _private_cidr_with_room(c.vpc_cidr),
                f"{NAMESPACE}:caching.vpcCidr = {c.vpc_cidr!r} must be a private IPv4 network "
                "(10/8, 172.16/12 or 192.168/16) between /16 and /24, so it holds two private "
                f"subnets. Set {_set_cmd('caching.vpcCidr', '10.42.0.0/16')}.",
            )
    e_ = s.edge_auth
    if s.edge_auth_enabled:
        need(
            e_.price_class in ("PriceClass_100", "PriceClass_200", "PriceClass_All"),
            f"{NAMESPACE}:edgeAuth.priceClass = {e_.price_class!r} must be PriceClass_100, "
            f"PriceClass_200 or PriceClass_All. Set {_set_cmd('edgeAuth.priceClass', 'PriceClass_100')}.",
        )
        need(
            e_.mfa in ("OFF", "OPTIONAL", "ON"),
            f"{NAMESPACE}:edgeAuth.mfa = {e_.mfa!r} must be OFF, OPTIONAL or ON.",
        )
        e.extend(_validate_edge_auth(e_))
    a = s.analytics
    if s.analytics_enabled:
        need(
            a.release_label.startswith("emr-"),
            f"{NAMESPACE}:analytics.releaseLabel = {a.release_label!r} is not an EMR release "
            f"label. Set {_set_cmd('analytics.releaseLabel', 'emr-7.5.0')}.",
        )
        need(
            4 <= a.max_vcpu <= 4000 and 8 <= a.max_memory_gb <= 16000,
            f"{NAMESPACE}:analytics.maxVcpu = {a.max_vcpu} / maxMemoryGb = {a.max_memory_gb} "
            "cannot hold the report's Spark driver and one executor (2 vCPU / 4 GB each): "
            f"use at least 4 vCPU and 8 GB, e.g. {_set_cmd('analytics.maxVcpu', 16)} and "
            f"{_set_cmd('analytics.maxMemoryGb', 64)}.",
        )
        need(
            a.report_schedule.startswith(("cron(", "rate(", "at("))
            and a.report_schedule.endswith(")"),
            f"{NAMESPACE}:analytics.reportSchedule = {a.report_schedule!r} is not an EventBridge "
            "Scheduler expression (cron(...), rate(...) or at(...), in UTC). "
            f"Set {_set_cmd('analytics.reportSchedule', repr('cron(15 2 * * ? *)'))}.",
        )
        need(
            1 <= a.report_days <= a.results_expiry_days,
            f"{NAMESPACE}:analytics.reportDays = {a.report_days} must be 1 or more and at most "
            f"analytics.resultsExpiryDays = {a.results_expiry_days}: older exports have expired. "
            f"Set {_set_cmd('analytics.reportDays', 1)} or raise analytics.resultsExpiryDays.",
        )
        need(
            1 <= a.idle_timeout_minutes <= 10080,
            f"{NAMESPACE}:analytics.idleTimeoutMinutes must be 1-10080.",
        )
        need(
            1 <= a.export_batch_size <= 10000 and 0 <= a.export_batching_window_seconds <= 300,
            f"{NAMESPACE}:analytics.exportBatchSize must be 1-10000 and "
            "exportBatchingWindowSeconds 0-300.",
        )
    return e


_DOMAIN_PREFIX = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_ACM_ARN = re.compile(r"arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate/[A-Za-z0-9-]+")


def _validate_edge_auth(e_: EdgeAuthSettings) -> list[str]:
    """Settings of the EdgeAuth component (Cognito, CloudFront, Lambda@Edge)."""
    e: list[str] = []

    def need(cond: bool, msg: str) -> None:
        if not cond:
            e.append(msg)

    key = f"{NAMESPACE}:edgeAuth"
    if e_.domain_prefix is not None:
        reserved = [w for w in ("aws", "amazon", "cognito") if w in e_.domain_prefix]
        need(
            bool(_DOMAIN_PREFIX.fullmatch(e_.domain_prefix)) and not reserved,
            f"{key}.domainPrefix = {e_.domain_prefix!r} is not a Cognito domain prefix: use "
            "1-63 lowercase letters, digits and hyphens, not starting or ending with a hyphen "
            "and not containing aws, amazon or cognito. Set "
            f"{_set_cmd('edgeAuth.domainPrefix', 'moderation-dev-login')} or remove it to "
            "derive one from the stack and account.",
        )
    for url in e_.callback_urls:
        local = url.startswith(("http://localhost", "http://127.0.0.1"))
        need(
            url.startswith("https://") or local,
            f"{key}.callbackUrls entry {url!r} must be an https:// URL (Cognito allows plain "
            "http only for localhost). Set "
            f"{_set_cmd('edgeAuth.callbackUrls[0]', 'https://app.example.com/')}.",
        )
    need(
        bool(e_.callback_urls),
        f"{key}.callbackUrls needs at least one URL the hosted UI may return to. Set "
        f"{_set_cmd('edgeAuth.callbackUrls[0]', 'http://localhost:8501/')}.",
    )
    need(
        60 <= e_.content_ttl_seconds <= 31536000,
        f"{key}.contentTtlSeconds = {e_.content_ttl_seconds} must be 60-31536000 (approved "
        "images never change, so long is right; takedowns use an invalidation). Set "
        f"{_set_cmd('edgeAuth.contentTtlSeconds', 31536000)}.",
    )
    need(
        e_.token_use in ("id", "access"),
        f"{key}.tokenUse = {e_.token_use!r} must be id (Cognito ID tokens, `aud` = app client) "
        f"or access (access tokens, `client_id` = app client). Set "
        f"{_set_cmd('edgeAuth.tokenUse', 'id')}.",
    )
    if e_.logging_bucket is not None:
        need(
            bool(_BUCKET_NAME.fullmatch(e_.logging_bucket)) and ".s3." not in e_.logging_bucket,
            f"{key}.loggingBucket = {e_.logging_bucket!r} must be a bucket name (not its domain "
            "name). CloudFront standard logs need a bucket with ACLs enabled (object ownership "
            "BucketOwnerPreferred). Set "
            f"{_set_cmd('edgeAuth.loggingBucket', 'my-cdn-logs')} or remove it.",
        )
    if e_.jwks_file is not None:
        need(
            _jwks_file_ok(e_.jwks_file),
            f"{key}.jwksFile = {e_.jwks_file!r} is not a readable JWKS (a JSON object whose "
            "`keys` list holds at least one RSA key). Fix the file, or remove the setting with "
            f"`pulumi config rm --path {key}.jwksFile` to fetch the user pool's JWKS at deploy time.",
        )
    need(
        bool(e_.aliases) == (e_.certificate_arn is not None),
        f"{key}.aliases and {key}.certificateArn go together: a custom domain needs an ACM "
        "certificate that covers it, and the certificate is what allows TLSv1.2_2021 as the "
        "minimum protocol (the default *.cloudfront.net certificate is fixed at TLSv1). Set "
        f"both, e.g. {_set_cmd('edgeAuth.aliases[0]', 'cdn.example.com')} and "
        f"{_set_cmd('edgeAuth.certificateArn', 'arn:aws:acm:us-east-1:ACCOUNT:certificate/ID')}.",
    )
    if e_.certificate_arn is not None:
        match = _ACM_ARN.fullmatch(e_.certificate_arn)
        need(
            bool(match) and match.group(1) == "us-east-1",
            f"{key}.certificateArn = {e_.certificate_arn!r} must be an ACM certificate ARN in "
            "us-east-1: CloudFront only uses certificates from that region.",
        )
    return e


def _jwks_file_ok(path: str) -> bool:
    from pathlib import Path

    try:
        doc = json.loads(Path(path).expanduser().read_text())
    except (OSError, ValueError):
        return False
    keys = doc.get("keys") if isinstance(doc, dict) else None
    return isinstance(keys, list) and any(
        isinstance(k, dict) and k.get("kty") == "RSA" for k in keys
    )


def _private_cidr_with_room(cidr: str) -> bool:
    import ipaddress

    try:
        net = ipaddress.ip_network(cidr, strict=True)
    except ValueError:
        return False
    return net.version == 4 and net.is_private and 16 <= net.prefixlen <= 24


# --- entry point for the program ---------------------------------------------------------


def configured_values() -> dict[str, Any]:
    """All `moderation:*` values of the running stack, namespace stripped."""
    from pulumi.runtime import config as runtime_config

    merged: dict[str, Any] = {}
    for source in (runtime_config.get_config_env(), runtime_config.CONFIG.get()):
        for full_key, value in source.items():
            ns, _, key = full_key.partition(":")
            if ns == NAMESPACE and key:
                merged[key] = value
    return merged


def load_settings() -> StackSettings:
    """Read the running stack's configuration and validate it."""
    import pulumi

    return settings_from_mapping(pulumi.get_stack(), configured_values())


def describe_settings() -> list[dict[str, Any]]:
    """Rows for the README's settings table: key and default."""
    rows = []
    for key, (attr, _) in sorted(_SCALARS.items()):
        default = next((f.default for f in fields(StackSettings) if f.name == attr), None)
        rows.append({"key": f"{NAMESPACE}:{key}", "default": default})
    return rows
