"""Validation of the platform settings: the stack's name, functions, logs, queues, alarms,
packaging.

Moved from `validate.py` (one function per concern, each naming the setting and the fix);
`validate.VALIDATORS` runs them in order.
"""

from __future__ import annotations

import re

from components import naming
from components.settings.fields import NAMESPACE
from components.settings.fields import set_cmd as _set_cmd
from components.settings.model import StackSettings
from components.settings.problems import Problems
from lambdas.common.contract import Function

# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
    2192, 2557, 2922, 3288, 3653,
)  # fmt: skip


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
