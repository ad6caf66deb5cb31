"""The program's resources materialized in in-process moto, and handlers invoked in-process.

Handler tests and the overhead benchmark run against exactly what `__main__.py`
declares: the same table schema, queue settings, topic and the same environment
variables per function, with no HTTP, no worker processes and no pollers in between.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import sys
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3

from lambdas.common.contract import Output
from local import moto_patches, program
from local.mocks import LocalMocks
from local.registry import FunctionDef, Registry
from local.runtime.context import LambdaContext
from local.tools.load import subscribe_notification_queue
from tests.support.config import BASE_CONFIG


@dataclass
class InProcessStack:
    registry: Registry
    exports: dict[str, Any]
    clients: dict[str, Any] = field(default_factory=dict)
    region: str = "us-east-1"

    def client(self, service: str):
        if service not in self.clients:
            self.clients[service] = boto3.client(service, region_name=self.region)
        return self.clients[service]

    def function(self, logical: str) -> FunctionDef:
        return self.registry.function_by_ref(self.exports[Output.FUNCTIONS][logical])

    @contextmanager
    def environment(self, logical: str):
        fn = self.function(logical)
        saved = dict(os.environ)
        os.environ.update(fn.environment)
        # As Lambda sets them: the function's clients talk to the stack's region.
        os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = self.region
        os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
        os.environ["AWS_LAMBDA_FUNCTION_NAME"] = fn.name
        # As in Lambda and the local cloud: the package root, where function_config.json is.
        os.environ["LAMBDA_TASK_ROOT"] = fn.code_dir
        reset_caches()
        try:
            yield fn
        finally:
            os.environ.clear()
            os.environ.update(saved)
            reset_caches()

    def invoke(self, logical: str, event: dict, patch: Callable | None = None) -> Any:
        """Call the function's handler in-process with its declared environment."""
        with self.environment(logical) as fn:
            module = importlib.import_module(fn.handler.rsplit(".", 1)[0])
            ctx = LambdaContext(
                function_name=fn.name,
                memory_limit_in_mb=fn.memory,
                invoked_function_arn=fn.arn,
                timeout_seconds=fn.timeout,
            )
            saved = dict(vars(module))
            if patch is not None:
                patch(module)
            try:
                return module.handler(event, ctx)
            finally:
                for name, value in saved.items():
                    if vars(module).get(name) is not value:
                        setattr(module, name, value)


def reset_caches() -> None:
    """Forget per-environment singletons (clients, settings) between invocations."""
    for name, module in list(sys.modules.items()):
        if not (name.startswith("common") or name.split(".")[0] in HANDLER_PACKAGES):
            continue
        for value in vars(module).values():
            if isinstance(value, functools._lru_cache_wrapper):
                value.cache_clear()


HANDLER_PACKAGES = {
    "upload",
    "status",
    "dispatcher",
    "rekognition_analyzer",
    "custom_analyzer",
    "text_analyzer",
    "notifier",
    "sweeper",
    "exporter",
    "edge_auth",
    "review",
    "notices",
}


IN_PROCESS_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    # botocore routes DynamoDB Streams calls to account-based hosts moto does not serve.
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "Moderation",
}


def build_stack(config: dict | None = None, region: str = "us-east-1") -> InProcessStack:
    """Run the program with LocalMocks against the active in-process moto, in `region`."""
    for key, value in IN_PROCESS_ENV.items():
        os.environ.setdefault(key, value)
    moto_patches.install_all()
    registry = Registry()
    stack = InProcessStack(registry=registry, exports={}, region=region)
    mocks = LocalMocks(stack.client, registry, region)
    stack.exports = program.run(mocks, {**BASE_CONFIG, **(config or {})}, "test")
    return stack


def api_event(
    method: str,
    path: str,
    user: str | None = "user-1",
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    path_params: dict[str, str] | None = None,
    claims: dict[str, str] | None = None,
    route_key: str | None = None,
    query: dict[str, str] | None = None,
) -> dict:
    """An API Gateway HTTP API (payload 2.0) event as the JWT authorizer produces it.

    `claims` are added to the token's as API Gateway passes them (strings: groups as
    `"[a b]"`); `route_key` is the route's template (`POST /jobs/{job_id}/review`).
    """
    import base64

    binary = isinstance(body, bytes)
    token_claims = {"sub": user} if user else {}
    token_claims.update(claims or {})
    event = {
        "version": "2.0",
        "routeKey": route_key or f"{method} {path}",
        "rawPath": path,
        "headers": {k.lower(): v for k, v in (headers or {}).items()},
        "requestContext": {
            "http": {"method": method, "path": path},
            "authorizer": {"jwt": {"claims": token_claims, "scopes": None}},
            "requestId": "req-1",
        },
        "isBase64Encoded": binary,
        "body": base64.b64encode(body).decode() if binary else body,
    }
    if path_params:
        event["pathParameters"] = path_params
    if query:
        event["queryStringParameters"] = query
    return event


def sqs_event(bodies: list[str], queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:q") -> dict:
    return {
        "Records": [
            {
                "messageId": f"m-{i}",
                "receiptHandle": f"rh-{i}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "0",
                    "SenderId": "x",
                    "ApproximateFirstReceiveTimestamp": "0",
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


def stream_records(stack: InProcessStack) -> list[dict]:
    """Every record currently on the jobs table's stream, shaped as Lambda delivers them."""
    streams = stack.client("dynamodbstreams")
    table = stack.exports[Output.JOBS_TABLE]
    arn = stack.client("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while it:
            out = streams.get_records(ShardIterator=it, Limit=1000)
            for rec in out["Records"]:
                rec["eventSourceARN"] = arn
                rec["dynamodb"].pop("ApproximateCreationDateTime", None)
                records.append(rec)
            if not out["Records"]:
                break
            it = out.get("NextShardIterator")
    return records


def drain(sqs, url: str) -> list[dict]:
    messages = []
    while True:
        out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        batch = out.get("Messages", [])
        if not batch:
            return messages
        messages.extend(batch)
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]} for m in batch],
        )


def subscribe_queue(stack: InProcessStack, name: str = "notifications-test") -> str:
    """An SQS queue subscribed to the notification topic (raw delivery), for counting."""
    url, _ = subscribe_notification_queue(
        stack.client("sqs"), stack.client("sns"), stack.exports[Output.NOTIFICATION_TOPIC_ARN], name
    )
    return url


def notifications(stack: InProcessStack, url: str) -> list[dict]:
    return [json.loads(m["Body"]) for m in drain(stack.client("sqs"), url)]
