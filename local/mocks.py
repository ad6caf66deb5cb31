"""Pulumi mocks that turn each declared resource into a real local one.

Stores and queues are created in moto (in-process or the local cloud's server)
with the declared settings; functions, triggers and API routes go into the
Registry for the runtime to run. What each AWS resource type becomes is in
`local/twins/`, one module per service as in moto's own layout. A resource type with
no local twin is recorded as not emulated and gets placeholder outputs so the program
can finish; the CLI and the dashboard list every one of them.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import pulumi

from local.registry import Registry
from local.twins import (
    apigateway,
    cloudwatch,
    dynamodb,
    events,
    iam,
    kms,
    lambda_,
    s3,
    sns,
    sqs,
)
from local.twins.common import ACCOUNT, suffix

TWINS = (s3, dynamodb, sqs, sns, cloudwatch, events, iam, kms, lambda_, apigateway)

# Types recorded for the runtime or accepted with no behaviour to emulate, and why.
RECORDED_ONLY = {
    "aws:lambda/permission:Permission": "resource policy recorded; the local cloud does not enforce it",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "recorded; IAM is not enforced locally",
}

Handler = Callable[[str, dict[str, Any]], tuple[str, dict[str, Any]]]


class LocalMocks(pulumi.runtime.Mocks):
    def __init__(
        self,
        clients: Callable[[str], Any],
        registry: Registry,
        region: str = "us-east-1",
        gateway_url: str = "http://127.0.0.1:0",
        extra_handlers: dict[str, Callable] | None = None,
    ) -> None:
        self.client = clients
        self.registry = registry
        self.region = region
        self.gateway_url = gateway_url
        self.handlers: dict[str, Handler] = {
            typ: functools.partial(handler, self)
            for twin in TWINS
            for typ, handler in twin.HANDLERS.items()
        }
        self.handlers.update(extra_handlers or {})
        # Pulumi registers resources from several threads; moto's backends are not
        # thread-safe (IAM iterates a dict another creation is changing), so declared
        # resources are materialized one at a time.
        self._lock = threading.Lock()

    # --- pulumi.runtime.Mocks ----------------------------------------------------------

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        inputs = dict(args.inputs)
        record = {"type": args.typ, "name": args.name}
        if args.typ.startswith("moderation:") or args.typ.startswith("pulumi:"):
            return [f"{args.name}-{suffix(args.name)}", inputs]
        handler = self.handlers.get(args.typ)
        if handler is not None:
            with self._lock:
                rid, outputs = handler(args.name, inputs)
            if args.typ in RECORDED_ONLY:
                self.registry.recorded_only.append({**record, "why": RECORDED_ONLY[args.typ]})
        elif args.typ in RECORDED_ONLY:
            rid, outputs = self._placeholder(args.typ, args.name, inputs)
            self.registry.recorded_only.append({**record, "why": RECORDED_ONLY[args.typ]})
        else:
            rid, outputs = self._placeholder(args.typ, args.name, inputs)
            self.registry.not_emulated.append(record)
        self.registry.resources.append({**record, "id": rid})
        return [rid, outputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": self.region, "name": self.region, "id": self.region}
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/local",
                "userId": "LOCAL",
                "id": ACCOUNT,
            }
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        return {}

    # --- helpers -----------------------------------------------------------------------

    def _placeholder(self, typ: str, name: str, inputs: dict) -> tuple[str, dict]:
        physical = inputs.get("name") or f"{name}-{suffix(name)}"
        service = typ.split(":")[1].split("/")[0]
        out = dict(inputs)
        out.setdefault("arn", f"arn:aws:{service}:{self.region}:{ACCOUNT}:{physical}")
        return physical, out

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{ACCOUNT}:{resource}"
