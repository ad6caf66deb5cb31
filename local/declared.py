"""What the program declares: `__main__.py` run under recording mocks, with no behaviour.

Each resource gets plausible provider outputs (ARNs, URLs, names) so the program
completes; nothing is created. The tests of the program, the AWS-rules checks, the
generated docs and `python -m local preflight` read what it records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from local import program
from local.twins.common import ACCOUNT, suffix

REGION = "us-east-1"


@dataclass
class Resource:
    typ: str
    name: str
    id: str
    inputs: dict
    outputs: dict


@dataclass
class ProgramRun:
    resources: list[Resource] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)

    def of_type(self, typ: str) -> list[Resource]:
        return [r for r in self.resources if r.typ == typ]

    def one(self, typ: str, name: str | None = None) -> Resource:
        found = [r for r in self.of_type(typ) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {typ} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def by_output(self, key: str, value: Any, typ: str | None = None) -> Resource:
        """The resource whose output `key` is `value` (of type `typ`: a table and a role can
        share a physical name)."""
        for r in self.resources:
            if r.outputs.get(key) == value and (typ is None or r.typ == typ):
                return r
        raise KeyError(f"no {typ or 'resource'} with {key}={value!r}")


def fake_outputs(typ: str, name: str, inputs: dict) -> tuple[str, dict]:
    """Plausible provider outputs (ARNs, URLs, names) for a declared resource."""
    out = dict(inputs)
    physical = inputs.get("name") or f"{name}-{suffix(name)}"
    service = typ.split(":")[1].split("/")[0]
    arn = f"arn:aws:{service}:{REGION}:{ACCOUNT}:{physical}"
    rid = physical
    if typ == "aws:s3/bucket:Bucket":
        physical = inputs.get("bucket") or f"{name}-{suffix(name)}"
        out.update(bucket=physical, arn=f"arn:aws:s3:::{physical}")
        rid = physical
    elif typ == "aws:sqs/queue:Queue":
        out.update(
            url=f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{physical}",
            arn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:{physical}",
        )
        rid = out["url"]
    elif typ == "aws:dynamodb/table:Table":
        table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{physical}"
        out.update(arn=table_arn)
        if inputs.get("streamEnabled"):
            out["streamArn"] = f"{table_arn}/stream/2026-01-01T00:00:00.000"
    elif typ == "aws:lambda/function:Function":
        fn_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{physical}"
        out.update(
            arn=fn_arn,
            invokeArn=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{fn_arn}/invocations",
            qualifiedArn=f"{fn_arn}:1",
            version="1",
        )
    elif typ == "aws:iam/role:Role":
        out.update(arn=f"arn:aws:iam::{ACCOUNT}:role/{physical}")
    elif typ == "aws:cloudwatch/logGroup:LogGroup":
        out.update(arn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{physical}")
    elif typ == "aws:sns/topic:Topic":
        out.update(arn=f"arn:aws:sns:{REGION}:{ACCOUNT}:{physical}")
    elif typ == "aws:apigatewayv2/api:Api":
        rid = suffix(name)
        out.update(
            apiEndpoint=f"https://{rid}.execute-api.{REGION}.amazonaws.com",
            executionArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{rid}",
        )
    elif typ == "aws:cloudwatch/eventRule:EventRule":
        out.update(arn=f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{physical}")
    elif typ == "aws:kms/key:Key":
        rid = suffix(name)
        out.update(arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{rid}", keyId=rid)
    elif typ == "random:index/randomPassword:RandomPassword":
        out.update(result="p" * int(inputs.get("length", 16)))
    elif typ == "aws:elasticache/serverlessCache:ServerlessCache":
        out.update(
            endpoints=[{"address": f"{physical}.serverless.use1.cache.amazonaws.com", "port": 6379}]
        )
    elif typ == "aws:elasticache/replicationGroup:ReplicationGroup":
        out.update(primaryEndpointAddress=f"master.{physical}.use1.cache.amazonaws.com", port=6379)
    elif typ == "aws:ec2/vpcEndpoint:VpcEndpoint":
        out.update(prefixListId="pl-02cd2c6b")
    elif typ == "aws:secretsmanager/secret:Secret":
        # AWS appends six random characters to a secret's name in its ARN.
        out.update(arn=f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{physical}-AbCdEf")
    elif typ == "aws:emrserverless/application:Application":
        rid = f"00f{suffix(name)}"
        out.update(arn=f"arn:aws:emr-serverless:{REGION}:{ACCOUNT}:/applications/{rid}")
    else:
        out.setdefault("arn", arn)
    return rid, out


class RecordingMocks(pulumi.runtime.Mocks):
    """`calls`: answers for provider functions (data sources) by token, for a test to set."""

    def __init__(self, calls: dict[str, Any] | None = None) -> None:
        self.resources: list[Resource] = []
        self.calls = calls or {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        rid, outputs = fake_outputs(args.typ, args.name, dict(args.inputs))
        self.resources.append(Resource(args.typ, args.name, rid, dict(args.inputs), outputs))
        return [rid, outputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": REGION, "name": REGION, "id": REGION}
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/test",
                "userId": "TEST",
                "id": ACCOUNT,
            }
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        answer = self.calls.get(args.token)
        if answer is not None:
            return answer(dict(args.args)) if callable(answer) else answer
        return {}


def record(
    config: dict[str, Any], stack: str = "test", calls: dict[str, Any] | None = None
) -> ProgramRun:
    """Run the program with `config` (keys without the namespace) and collect what it declares."""
    mocks = RecordingMocks(calls)
    run = ProgramRun(resources=mocks.resources)
    run.exports = program.run(mocks, config, stack)
    return run
