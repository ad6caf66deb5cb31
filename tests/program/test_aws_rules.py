"""AWS's documented limits, as data, checked on what the program declares.

Pulumi's mocks and moto accept anything; AWS refuses a name one character too long, a
4 KB environment, a batch window on a stream above 300 s. Each rule below names the page
it comes from; every resource of a default stack and of a stack with every optional
component (each with the longest stack name the settings validation lets through) is
checked against all of them, so a change that breaks one fails here, not in `pulumi up`.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from components import naming
from components.settings import settings_from_mapping
from components.settings.model import EVENT_ENVELOPE_BYTES, LAMBDA_SYNC_PAYLOAD_BYTES
from components.settings.validate_platform import LOG_RETENTION_DAYS
from local.declared import Resource
from tests.support.config import BASE_CONFIG
from tests.support.program import ProgramRun, run_program

Check = Callable[[Resource], Iterator[str]]


@dataclass(frozen=True)
class Rule:
    doc: str  # the AWS page the limit is documented on
    resource_type: str
    check: Check


def _name(field: str, rule: str) -> Check:
    def check(r: Resource) -> Iterator[str]:
        value = r.outputs.get(field) or r.inputs.get(field) or r.id
        problem = naming.RULES[rule].problem(str(value))
        if problem:
            yield problem

    return check


def _auto_name(rule: str) -> Check:
    """A resource Pulumi names itself: its logical name plus the random suffix."""

    def check(r: Resource) -> Iterator[str]:
        problem = naming.RULES[rule].problem(f"{r.name}{naming.PULUMI_SUFFIX}")
        if problem:
            yield problem

    return check


def _environment(r: Resource) -> Iterator[str]:
    variables = (r.inputs.get("environment") or {}).get("variables") or {}
    size = sum(len(k.encode()) + len(str(v).encode()) for k, v in variables.items())
    if size > 4096:
        yield f"environment of {r.name} is {size} bytes; Lambda allows 4 KB in total"


def _function_limits(r: Resource) -> Iterator[str]:
    i = r.inputs
    if not 128 <= int(i.get("memorySize", 128)) <= 10240:
        yield f"{r.name}: memory {i.get('memorySize')} MB outside 128-10240"
    if not 1 <= int(i.get("timeout", 3)) <= 900:
        yield f"{r.name}: timeout {i.get('timeout')} s outside 1-900"
    if len(i.get("description", "")) > 256:
        yield f"{r.name}: description over 256 characters"
    reserved = i.get("reservedConcurrentExecutions")
    if reserved is not None:
        yield f"{r.name}: reserves {reserved} concurrent executions (fails on small accounts)"


def _edge_function(r: Resource) -> Iterator[str]:
    i = r.inputs
    if not r.name.endswith("-edge-auth"):
        return
    if int(i["memorySize"]) > 128 or int(i["timeout"]) > 5:
        yield "Lambda@Edge viewer-request functions: at most 128 MB and 5 s"
    if i.get("environment") or i.get("layers"):
        yield "Lambda@Edge functions have no environment variables and no layers"
    if i.get("architectures") != ["x86_64"] or i.get("region") != "us-east-1":
        yield "Lambda@Edge functions are x86_64 in us-east-1"
    if i.get("publish") is not True:
        yield "CloudFront associates a published version, never $LATEST"


def _sqs_mapping(r: Resource) -> Iterator[str]:
    i = r.inputs
    source = i["eventSourceArn"]
    batch, window = int(i.get("batchSize") or 10), int(i.get("maximumBatchingWindowInSeconds") or 0)
    if ":sqs:" in source:
        if not 1 <= batch <= 10000:
            yield f"SQS batch size {batch} outside 1-10000"
        if batch > 10 and window < 1:
            yield "an SQS batch above 10 needs a batching window"
    else:
        if not 1 <= batch <= 10000:
            yield f"stream batch size {batch} outside 1-10000"
        age = int(i.get("maximumRecordAgeInSeconds", -1))
        if age != -1 and not 60 <= age <= 604800:
            yield f"maximum record age {age} outside 60-604800"
        if not -1 <= int(i.get("maximumRetryAttempts", -1)) <= 10000:
            yield "stream retry attempts outside -1..10000"
    if window > 300:
        yield f"batching window {window} s over 300"


def _queue(r: Resource) -> Iterator[str]:
    i = r.inputs
    if not 0 <= int(i.get("visibilityTimeoutSeconds", 30)) <= 43200:
        yield "visibility timeout outside 0-43200 s"
    if not 60 <= int(i.get("messageRetentionSeconds", 345600)) <= 1209600:
        yield "retention outside 60-1209600 s"
    if not 0 <= int(i.get("receiveWaitTimeSeconds", 0)) <= 20:
        yield "long polling wait outside 0-20 s"
    if i.get("redrivePolicy"):
        count = json.loads(i["redrivePolicy"])["maxReceiveCount"]
        if not 1 <= int(count) <= 1000:
            yield f"maxReceiveCount {count} outside 1-1000"


def _async_config(r: Resource) -> Iterator[str]:
    i = r.inputs
    if not 0 <= int(i.get("maximumRetryAttempts", 2)) <= 2:
        yield "async retries outside 0-2"
    if not 60 <= int(i.get("maximumEventAgeInSeconds", 21600)) <= 21600:
        yield "async maximum event age outside 60-21600 s"


def _log_group(r: Resource) -> Iterator[str]:
    days = r.inputs.get("retentionInDays")
    if days is not None and int(days) not in LOG_RETENTION_DAYS:
        yield f"log retention {days} is not a CloudWatch Logs retention period"
    yield from _name("name", "log_group")(r)


def _integration(r: Resource) -> Iterator[str]:
    if not 50 <= int(r.inputs.get("timeoutMilliseconds", 30000)) <= 30000:
        yield "HTTP API integration timeout outside 50-30000 ms"


def _rule_schedule(r: Resource) -> Iterator[str]:
    expr = r.inputs.get("scheduleExpression", "")
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expr)
    if match and (int(match.group(1)) == 1) != (not match.group(2).endswith("s")):
        yield f"{expr}: a rate of 1 takes the singular unit, others the plural"
    elif not match and not expr.startswith("cron("):
        yield f"{expr} is not an EventBridge schedule expression"
    yield from _name("name", "eventbridge_rule")(r)


def _schedule(r: Resource) -> Iterator[str]:
    target = r.inputs["target"]
    request = json.loads(target["input"])
    token = request.get("ClientToken", "").replace(
        "<aws.scheduler.execution-id>", "d32c5kddcf5bb8c3"
    )
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", token):
        yield f"StartJobRun clientToken {request.get('ClientToken')!r} renders outside [A-Za-z0-9._-]{{1,64}}"
    expr = r.inputs["scheduleExpression"]
    if not re.fullmatch(r"(cron|rate|at)\(.+\)", expr):
        yield f"{expr} is not a Scheduler expression"


def _alarm(r: Resource) -> Iterator[str]:
    i = r.inputs
    period, periods = int(i["period"]), int(i["evaluationPeriods"])
    if period not in (10, 20, 30) and period % 60:
        yield f"alarm period {period} s is not 10, 20, 30 or a multiple of 60"
    if period * periods > 86400:
        yield "an alarm evaluates at most one day"
    yield from _name("name", "cloudwatch_alarm")(r)


def _fifo_topic(r: Resource) -> Iterator[str]:
    name = r.inputs.get("name", "")
    if bool(r.inputs.get("fifoTopic")) != name.endswith(".fifo"):
        yield f"SNS: a FIFO topic's name ends in .fifo, and only a FIFO topic's ({name})"
    yield from _name("name", "sns_topic")(r)


def _table(r: Resource) -> Iterator[str]:
    projected = sum(
        len(gsi.get("nonKeyAttributes") or [])
        for gsi in r.inputs.get("globalSecondaryIndexes") or []
    )
    if projected > 100:
        yield f"{projected} projected attributes across indexes; DynamoDB allows 100"
    if len(r.inputs.get("globalSecondaryIndexes") or []) > 20:
        yield "more than 20 global secondary indexes"
    yield from _name("name", "dynamodb_table")(r)


RULES = (
    Rule("S3: bucket naming rules", "aws:s3/bucket:Bucket", _auto_name("s3_bucket")),
    Rule("Lambda: CreateFunction FunctionName", "aws:lambda/function:Function", _name("name", "lambda_function")),
    Rule("Lambda quotas: environment variables, 4 KB", "aws:lambda/function:Function", _environment),
    Rule("Lambda quotas: memory, timeout; concurrency", "aws:lambda/function:Function", _function_limits),
    Rule("CloudFront: Lambda@Edge restrictions", "aws:lambda/function:Function", _edge_function),
    Rule("IAM and STS quotas: role name", "aws:iam/role:Role", _name("name", "iam_role")),
    Rule("Lambda: event source mappings (SQS, DynamoDB Streams)", "aws:lambda/eventSourceMapping:EventSourceMapping", _sqs_mapping),
    Rule("SQS quotas", "aws:sqs/queue:Queue", _queue),
    Rule("SQS: CreateQueue QueueName", "aws:sqs/queue:Queue", _name("name", "sqs_queue")),
    Rule("Lambda: asynchronous invocation", "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", _async_config),
    Rule("CloudWatch Logs: PutRetentionPolicy", "aws:cloudwatch/logGroup:LogGroup", _log_group),
    Rule("API Gateway quotas: integration timeout", "aws:apigatewayv2/integration:Integration", _integration),
    Rule("API Gateway v2: CreateApi Name", "aws:apigatewayv2/api:Api", _name("name", "api_name")),
    Rule("EventBridge: schedule expressions", "aws:cloudwatch/eventRule:EventRule", _rule_schedule),
    Rule("EventBridge Scheduler: context attributes; StartJobRun clientToken", "aws:scheduler/schedule:Schedule", _schedule),
    Rule("EventBridge Scheduler: schedule group name", "aws:scheduler/scheduleGroup:ScheduleGroup", _name("name", "schedule_group")),
    Rule("EMR Serverless: CreateApplication name", "aws:emrserverless/application:Application", _name("name", "emr_application")),
    Rule("CloudWatch: PutMetricAlarm", "aws:cloudwatch/metricAlarm:MetricAlarm", _alarm),
    Rule("SNS: FIFO topics", "aws:sns/topic:Topic", _fifo_topic),
    Rule("DynamoDB quotas: indexes and projections", "aws:dynamodb/table:Table", _table),
    Rule("ElastiCache: serverless cache name", "aws:elasticache/serverlessCache:ServerlessCache", _name("name", "elasticache_id")),
    Rule("ElastiCache: replication group id", "aws:elasticache/replicationGroup:ReplicationGroup", _name("replicationGroupId", "elasticache_id")),
    Rule("ElastiCache: user id", "aws:elasticache/user:User", _name("userId", "elasticache_id")),
    Rule("ElastiCache: user group id", "aws:elasticache/userGroup:UserGroup", _name("userGroupId", "elasticache_id")),
    Rule("CloudFront: origin access control name", "aws:cloudfront/originAccessControl:OriginAccessControl", _name("name", "cloudfront_oac")),
)  # fmt: skip


def longest_valid_stack(config: dict[str, Any]) -> str:
    """The longest stack name the settings validation accepts for `config`."""
    for length in range(64, 0, -1):
        try:
            settings_from_mapping("a" * length, {**BASE_CONFIG, **config})
        except ValueError:
            continue
        return "a" * length
    raise AssertionError("no stack name is accepted")


def every_component(tmp_path_factory) -> dict[str, Any]:
    from tests.support.edge import SigningKey

    jwks = tmp_path_factory.mktemp("rules-jwks") / "jwks.json"
    jwks.write_text(json.dumps({"keys": [SigningKey("rules").jwk()]}))
    return {
        "cachingEnabled": True,
        "analyticsEnabled": True,
        "edgeAuthEnabled": True,
        "edgeAuth": {"jwksFile": str(jwks)},
    }


STACKS = {
    "dev stack": {},
    "node-based cache": {"cachingEnabled": True, "caching": {"nodeType": "cache.t4g.micro"}},
    "every component": None,  # filled in by the fixture (needs a JWKS file)
}


@pytest.fixture(scope="module", params=list(STACKS))
def run(request, tmp_path_factory) -> ProgramRun:
    config = STACKS[request.param]
    if config is None:
        config = every_component(tmp_path_factory)
    return run_program(config, stack=longest_valid_stack(config))


def test_every_declared_resource_keeps_aws_documented_limits(run):
    problems = [
        f"{rule.doc}: {problem}"
        for rule in RULES
        for resource in run.of_type(rule.resource_type)
        for problem in rule.check(resource)
    ]
    assert not problems, "\n".join(problems)


def test_every_rule_applies_to_something_declared(tmp_path_factory):
    """A rule that matches no resource type the program declares is checking nothing."""
    declared = {r.typ for r in run_program(every_component(tmp_path_factory)).resources}
    declared |= {r.typ for r in run_program(STACKS["node-based cache"]).resources}
    assert not [rule.doc for rule in RULES if rule.resource_type not in declared]


def test_a_stack_name_one_longer_than_allowed_is_refused_at_preview():
    for config in ({}, {"cachingEnabled": True}):
        longest = longest_valid_stack(config)
        with pytest.raises(ValueError, match="stack name"):
            settings_from_mapping(longest + "a", {**BASE_CONFIG, **config})


def test_the_largest_inline_upload_fits_lambdas_synchronous_payload():
    """API Gateway base64-encodes the body into the event; the invoke payload is 6 MB."""
    largest = settings_from_mapping("dev", BASE_CONFIG).max_inline_upload_bytes
    from components.settings.model import MAX_INLINE_UPLOAD_BYTES

    for size in (largest, MAX_INLINE_UPLOAD_BYTES):
        event = {
            "version": "2.0",
            "routeKey": "POST /jobs",
            # an HTTP API admits 10 KB of request headers; a Cognito token is 1-2 KB of them
            "headers": {"authorization": "Bearer " + "t" * 2000, "x-pad": "h" * 8000},
            "requestContext": {"authorizer": {"jwt": {"claims": {"sub": "u" * 36}}}},
            "isBase64Encoded": True,
            "body": base64.b64encode(b"\0" * size).decode(),
        }
        assert len(json.dumps(event)) <= LAMBDA_SYNC_PAYLOAD_BYTES
    assert EVENT_ENVELOPE_BYTES >= 10 * 1024 + 4096


@pytest.mark.parametrize(
    "typ,inputs,needle",
    [
        ("aws:lambda/function:Function", {"name": "f" * 65}, "Lambda function name"),
        (
            "aws:lambda/function:Function",
            {"name": "f", "environment": {"variables": {"BLOCKLIST": "0123456789abcdef," * 250}}},
            "4 KB",
        ),
        (
            "aws:lambda/function:Function",
            {"name": "f", "reservedConcurrentExecutions": 1},
            "reserves",
        ),
        (
            "aws:lambda/eventSourceMapping:EventSourceMapping",
            {"eventSourceArn": "arn:aws:sqs:us-east-1:1:q", "batchSize": 50},
            "needs a batching window",
        ),
        (
            "aws:cloudwatch/eventRule:EventRule",
            {"name": "r", "scheduleExpression": "rate(1 minutes)"},
            "singular",
        ),
        (
            "aws:scheduler/schedule:Schedule",
            {
                "scheduleExpression": "cron(15 2 * * ? *)",
                "target": {"input": json.dumps({"ClientToken": "<aws.scheduler.scheduled-time>"})},
            },
            "clientToken",
        ),
        (
            "aws:cloudwatch/metricAlarm:MetricAlarm",
            {"name": "a", "period": 45, "evaluationPeriods": 1},
            "period",
        ),
        (
            "aws:elasticache/user:User",
            {"userId": "moderation-a-very-long-stack-name-default"},
            "ElastiCache",
        ),
        ("aws:s3/bucket:Bucket", {}, "S3 bucket name"),
    ],
)
def test_the_rules_catch_what_aws_refuses(typ, inputs, needle):
    name = "Upper_Case" if typ == "aws:s3/bucket:Bucket" else "res"
    resource = Resource(typ, name, name, inputs, {})
    problems = [p for rule in RULES if rule.resource_type == typ for p in rule.check(resource)]
    assert any(needle in p for p in problems), problems
