"""AWS's naming rules for the names this program derives from `moderation-<stack>`.

Every physical name starts with the stack's prefix; some get Pulumi's random suffix on
top. Mocks and moto accept any length, AWS does not: a stack name that is too long, or
has characters a bucket name refuses, would fail `pulumi up` half-way. The settings
validation checks the names below at preview (`derived_names`), and
`tests/program/test_aws_rules.py` checks every name the program actually declares against
the same rules, so a new resource with a longer name cannot slip past.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Pulumi auto-names a resource `<logical name>-<7 random characters>`.
PULUMI_SUFFIX = "-a1b2c3d"


@dataclass(frozen=True)
class NameRule:
    what: str
    max_length: int
    pattern: str
    doc: str  # where AWS documents the rule

    def problem(self, name: str) -> str | None:
        if len(name) > self.max_length:
            return f"{self.what} {name!r} is {len(name)} characters; AWS allows {self.max_length}"
        if not re.fullmatch(self.pattern, name):
            return f"{self.what} {name!r} has characters AWS refuses ({self.pattern})"
        return None


RULES = {
    "s3_bucket": NameRule(
        "S3 bucket name", 63, r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", "S3: bucket naming rules"
    ),
    "lambda_function": NameRule(
        "Lambda function name", 64, r"[A-Za-z0-9_-]+", "Lambda API: CreateFunction FunctionName"
    ),
    "iam_role": NameRule("IAM role name", 64, r"[\w+=,.@-]+", "IAM: IAM and STS quotas"),
    "elasticache_id": NameRule(
        "ElastiCache id",
        40,
        r"[a-z](?:[a-z0-9]|-(?!-))*[a-z0-9]",
        "ElastiCache API: CreateReplicationGroup ReplicationGroupId, CreateUser UserId",
    ),
    "sqs_queue": NameRule(
        "SQS queue name", 80, r"[A-Za-z0-9_-]+(\.fifo)?", "SQS API: CreateQueue QueueName"
    ),
    "sns_topic": NameRule(
        "SNS topic name", 256, r"[A-Za-z0-9_-]+(\.fifo)?", "SNS API: CreateTopic Name"
    ),
    "dynamodb_table": NameRule(
        "DynamoDB table name", 255, r"[A-Za-z0-9_.-]{3,255}", "DynamoDB: naming rules"
    ),
    "eventbridge_rule": NameRule(
        "EventBridge rule name", 64, r"[.\-_A-Za-z0-9]+", "EventBridge API: PutRule Name"
    ),
    "schedule_group": NameRule(
        "EventBridge Scheduler name", 64, r"[0-9a-zA-Z-_.]+", "Scheduler API: CreateSchedule"
    ),
    "emr_application": NameRule(
        "EMR Serverless application name", 64, r"[A-Za-z0-9._/#-]+", "EMR Serverless API"
    ),
    "cloudfront_oac": NameRule(
        "CloudFront origin access control name", 64, r".+", "CloudFront API: OAC Name"
    ),
    "cloudwatch_alarm": NameRule("CloudWatch alarm name", 255, r".+", "PutMetricAlarm"),
    "log_group": NameRule("log group name", 512, r"[\.\-_/#A-Za-z0-9]+", "CreateLogGroup"),
    "api_name": NameRule("API Gateway API name", 128, r".+", "API Gateway v2: CreateApi"),
}

# Pulumi allows more in a stack name than S3 and ElastiCache allow in the names built
# from it: lowercase letters, digits and single hyphens only.
STACK_PATTERN = r"[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]|[a-z0-9]"


@dataclass(frozen=True)
class DerivedName:
    rule: str
    name: str


def derived_names(
    prefix: str,
    functions: list[str],
    *,
    caching: bool,
    caching_nodes: bool,
    edge_auth: bool,
    analytics: bool,
) -> list[DerivedName]:
    """The longest name of each kind this stack will declare (see the components)."""
    ident = prefix.lower()
    names = [DerivedName("s3_bucket", f"{prefix}-uploads{PULUMI_SUFFIX}")]
    names += [
        DerivedName(rule, f"{prefix}-{fn.replace('_', '-')}")
        for fn in functions
        for rule in ("lambda_function", "iam_role")
    ]
    names.append(DerivedName("sqs_queue", f"{prefix}-analysis-failures"))
    names.append(DerivedName("eventbridge_rule", f"{prefix}-sweep"))
    if caching:
        names.append(DerivedName("elasticache_id", f"{ident}-default"))
        if caching_nodes:
            names.append(DerivedName("elasticache_id", f"{ident}-status"))
    if edge_auth:
        names.append(DerivedName("s3_bucket", f"{prefix}-content{PULUMI_SUFFIX}"))
        # The edge function is auto-named from `<prefix>-edge-auth` (it outlives the stack).
        names.append(DerivedName("lambda_function", f"{prefix}-edge-auth{PULUMI_SUFFIX}"))
        names.append(DerivedName("cloudfront_oac", f"{prefix}-content"))
    if analytics:
        names.append(DerivedName("s3_bucket", f"{prefix}-results{PULUMI_SUFFIX}"))
        names.append(DerivedName("emr_application", f"{prefix}-reports"))
        names.append(DerivedName("schedule_group", f"{prefix}-analytics"))
    return names


def longest_stack_name(names: list[DerivedName], stack: str) -> tuple[int, DerivedName]:
    """The longest stack name every derived name allows, and the name that sets it."""
    best: tuple[int, DerivedName] | None = None
    for derived in names:
        fixed = len(derived.name) - len(stack)
        allowed = RULES[derived.rule].max_length - fixed
        if best is None or allowed < best[0]:
            best = (allowed, derived)
    assert best is not None
    return best
