"""Pulumi mocks that turn each declared resource into a real local one.

Stores and queues are created in moto (in-process or the local cloud's server)
with the declared settings; functions, triggers and API routes go into the
Registry for the runtime to run. A resource type with no local twin is recorded
as not emulated and gets placeholder outputs so the program can finish; the CLI
and the dashboard list every one of them.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pulumi

from local.registry import (
    AsyncConfigDef,
    FunctionDef,
    MappingDef,
    Registry,
    RouteDef,
    S3TriggerDef,
    ScheduleDef,
)

ACCOUNT = "123456789012"

# Types recorded for the runtime or accepted with no behaviour to emulate, and why.
RECORDED_ONLY = {
    "aws:lambda/permission:Permission": "resource policy recorded; the local cloud does not enforce it",
    "aws:lambda/layerVersion:LayerVersion": "dependencies come from the local cloud's venv",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "recorded; IAM is not enforced locally",
}


def _suffix(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()[:7]


def _attr(value: Any) -> str:
    """An SQS/SNS attribute string; mocks deliver numbers as floats."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _tags(inputs: dict) -> list[dict]:
    return [{"Key": k, "Value": v} for k, v in (inputs.get("tags") or {}).items()]


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
        self.handlers: dict[str, Callable[[str, dict], tuple[str, dict]]] = {
            "aws:s3/bucket:Bucket": self._bucket,
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": self._bucket_pab,
            "aws:s3/bucketOwnershipControls:BucketOwnershipControls": self._bucket_ownership,
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": self._bucket_sse,
            "aws:s3/bucketPolicy:BucketPolicy": self._bucket_policy,
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": self._bucket_lifecycle,
            "aws:s3/bucketNotification:BucketNotification": self._bucket_notification,
            "aws:s3/bucketObjectv2:BucketObjectv2": self._bucket_object,
            "aws:dynamodb/table:Table": self._table,
            "aws:sqs/queue:Queue": self._queue,
            "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": self._redrive_allow,
            "aws:sqs/queuePolicy:QueuePolicy": self._queue_policy,
            "aws:sns/topic:Topic": self._topic,
            "aws:sns/topicPolicy:TopicPolicy": self._topic_policy,
            "aws:sns/topicSubscription:TopicSubscription": self._subscription,
            "aws:cloudwatch/logGroup:LogGroup": self._log_group,
            "aws:cloudwatch/metricAlarm:MetricAlarm": self._alarm,
            "aws:cloudwatch/eventRule:EventRule": self._event_rule,
            "aws:cloudwatch/eventTarget:EventTarget": self._event_target,
            "aws:iam/role:Role": self._role,
            "aws:iam/rolePolicy:RolePolicy": self._role_policy,
            "aws:kms/key:Key": self._kms_key,
            "aws:lambda/function:Function": self._function,
            "aws:lambda/eventSourceMapping:EventSourceMapping": self._mapping,
            "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": self._async_config,
            "aws:apigatewayv2/api:Api": self._api,
            "aws:apigatewayv2/authorizer:Authorizer": self._authorizer,
            "aws:apigatewayv2/integration:Integration": self._integration,
            "aws:apigatewayv2/route:Route": self._route,
            "aws:apigatewayv2/stage:Stage": self._stage,
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
            return [f"{args.name}-{_suffix(args.name)}", inputs]
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
        physical = inputs.get("name") or f"{name}-{_suffix(name)}"
        service = typ.split(":")[1].split("/")[0]
        out = dict(inputs)
        out.setdefault("arn", f"arn:aws:{service}:{self.region}:{ACCOUNT}:{physical}")
        return physical, out

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{ACCOUNT}:{resource}"

    # --- S3 ----------------------------------------------------------------------------

    def _bucket(self, name: str, inputs: dict) -> tuple[str, dict]:
        bucket = (inputs.get("bucket") or f"{name}-{_suffix(name)}").lower()
        s3 = self.client("s3")
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        s3.create_bucket(**kwargs)
        out = {
            **inputs,
            "bucket": bucket,
            "arn": f"arn:aws:s3:::{bucket}",
            "bucketDomainName": f"{bucket}.s3.amazonaws.com",
            "bucketRegionalDomainName": f"{bucket}.s3.{self.region}.amazonaws.com",
            "region": self.region,
        }
        return bucket, out

    def _bucket_pab(self, name: str, inputs: dict) -> tuple[str, dict]:
        self.client("s3").put_public_access_block(
            Bucket=inputs["bucket"],
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": bool(inputs.get("blockPublicAcls")),
                "IgnorePublicAcls": bool(inputs.get("ignorePublicAcls")),
                "BlockPublicPolicy": bool(inputs.get("blockPublicPolicy")),
                "RestrictPublicBuckets": bool(inputs.get("restrictPublicBuckets")),
            },
        )
        return inputs["bucket"], inputs

    def _bucket_ownership(self, name: str, inputs: dict) -> tuple[str, dict]:
        rule = inputs.get("rule") or {}
        self.client("s3").put_bucket_ownership_controls(
            Bucket=inputs["bucket"],
            OwnershipControls={"Rules": [{"ObjectOwnership": rule.get("objectOwnership")}]},
        )
        return inputs["bucket"], inputs

    def _bucket_sse(self, name: str, inputs: dict) -> tuple[str, dict]:
        rules = []
        for rule in inputs.get("rules", []):
            default = rule.get("applyServerSideEncryptionByDefault") or {}
            entry: dict[str, Any] = {
                "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": default.get("sseAlgorithm")}
            }
            if default.get("kmsMasterKeyId"):
                entry["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] = default[
                    "kmsMasterKeyId"
                ]
            if "bucketKeyEnabled" in rule:
                entry["BucketKeyEnabled"] = bool(rule["bucketKeyEnabled"])
            rules.append(entry)
        self.client("s3").put_bucket_encryption(
            Bucket=inputs["bucket"], ServerSideEncryptionConfiguration={"Rules": rules}
        )
        return inputs["bucket"], inputs

    def _bucket_policy(self, name: str, inputs: dict) -> tuple[str, dict]:
        """Apply the policy, minus statements conditioned on aws:SecureTransport.

        The local endpoint is loopback HTTP, so a TLS-only deny would refuse every
        request; it is left out and listed, not silently dropped.
        """
        policy = json.loads(inputs["policy"])
        kept = []
        for stmt in policy.get("Statement", []):
            condition = stmt.get("Condition") or {}
            keys = {k for test in condition.values() for k in test}
            if keys == {"aws:SecureTransport"}:
                self.registry.recorded_only.append(
                    {
                        "type": "aws:s3/bucketPolicy:BucketPolicy",
                        "name": f"{name}: {stmt.get('Sid', 'statement')}",
                        "why": "TLS-only condition not applied: the local endpoint is loopback HTTP",
                    }
                )
                continue
            kept.append(stmt)
        if kept:
            self.client("s3").put_bucket_policy(
                Bucket=inputs["bucket"], Policy=json.dumps({**policy, "Statement": kept})
            )
        return inputs["bucket"], inputs

    def _bucket_lifecycle(self, name: str, inputs: dict) -> tuple[str, dict]:
        rules = []
        for rule in inputs.get("rules", []):
            entry: dict[str, Any] = {"ID": rule["id"], "Status": rule["status"]}
            flt = rule.get("filter") or {}
            entry["Filter"] = {"Prefix": flt.get("prefix", "")}
            if rule.get("expiration"):
                entry["Expiration"] = {"Days": int(rule["expiration"]["days"])}
            if rule.get("abortIncompleteMultipartUpload"):
                entry["AbortIncompleteMultipartUpload"] = {
                    "DaysAfterInitiation": int(
                        rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"]
                    )
                }
            rules.append(entry)
        self.client("s3").put_bucket_lifecycle_configuration(
            Bucket=inputs["bucket"], LifecycleConfiguration={"Rules": rules}
        )
        return inputs["bucket"], inputs

    def _bucket_notification(self, name: str, inputs: dict) -> tuple[str, dict]:
        """S3 -> Lambda: moto delivers the events to an internal queue the runtime drains."""
        bucket = inputs["bucket"]
        configs = []
        for fn in inputs.get("lambdaFunctions", []):
            queue_name = f"local-s3-events-{_suffix(bucket + fn['lambdaFunctionArn'])}"
            sqs = self.client("sqs")
            url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
            queue_arn = self._arn("sqs", queue_name)
            rules = []
            if fn.get("filterPrefix"):
                rules.append({"Name": "prefix", "Value": fn["filterPrefix"]})
            if fn.get("filterSuffix"):
                rules.append({"Name": "suffix", "Value": fn["filterSuffix"]})
            entry: dict[str, Any] = {"QueueArn": queue_arn, "Events": fn["events"]}
            if rules:
                entry["Filter"] = {"Key": {"FilterRules": rules}}
            configs.append(entry)
            self.registry.s3_triggers.append(
                S3TriggerDef(
                    bucket=bucket,
                    function=self.registry.function_by_ref(fn["lambdaFunctionArn"]).name,
                    events=list(fn["events"]),
                    prefix=fn.get("filterPrefix", ""),
                    suffix=fn.get("filterSuffix", ""),
                    queue_url=url,
                )
            )
        self.client("s3").put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={"QueueConfigurations": configs}
        )
        return bucket, inputs

    def _bucket_object(self, name: str, inputs: dict) -> tuple[str, dict]:
        source = inputs.get("source")
        body = b""
        if isinstance(source, pulumi.FileAsset):
            with open(source.path, "rb") as fh:
                body = fh.read()
        elif isinstance(source, pulumi.StringAsset):
            body = source.text.encode()
        elif inputs.get("content") is not None:
            body = str(inputs["content"]).encode()
        kwargs: dict[str, Any] = {"Bucket": inputs["bucket"], "Key": inputs["key"], "Body": body}
        if inputs.get("contentType"):
            kwargs["ContentType"] = inputs["contentType"]
        out = self.client("s3").put_object(**kwargs)
        return inputs["key"], {**inputs, "etag": out.get("ETag", "").strip('"')}

    # --- DynamoDB ----------------------------------------------------------------------

    def _table(self, name: str, inputs: dict) -> tuple[str, dict]:
        ddb = self.client("dynamodb")
        table = inputs.get("name") or f"{name}-{_suffix(name)}"
        keys = [{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}]
        if inputs.get("rangeKey"):
            keys.append({"AttributeName": inputs["rangeKey"], "KeyType": "RANGE"})
        kwargs: dict[str, Any] = {
            "TableName": table,
            "KeySchema": keys,
            "AttributeDefinitions": [
                {"AttributeName": a["name"], "AttributeType": a["type"]}
                for a in inputs.get("attributes", [])
            ],
            "BillingMode": inputs.get("billingMode", "PAY_PER_REQUEST"),
        }
        gsis = []
        for gsi in inputs.get("globalSecondaryIndexes", []) or []:
            schema = [{"AttributeName": gsi["hashKey"], "KeyType": "HASH"}]
            if gsi.get("rangeKey"):
                schema.append({"AttributeName": gsi["rangeKey"], "KeyType": "RANGE"})
            projection: dict[str, Any] = {"ProjectionType": gsi.get("projectionType", "ALL")}
            if gsi.get("nonKeyAttributes"):
                projection["NonKeyAttributes"] = list(gsi["nonKeyAttributes"])
            gsis.append({"IndexName": gsi["name"], "KeySchema": schema, "Projection": projection})
        if gsis:
            kwargs["GlobalSecondaryIndexes"] = gsis
        if inputs.get("streamEnabled"):
            kwargs["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": inputs.get("streamViewType", "NEW_AND_OLD_IMAGES"),
            }
        if (inputs.get("serverSideEncryption") or {}).get("enabled"):
            kwargs["SSESpecification"] = {"Enabled": True, "SSEType": "KMS"}
        if _tags(inputs):
            kwargs["Tags"] = _tags(inputs)
        desc = ddb.create_table(**kwargs)["TableDescription"]
        ttl = inputs.get("ttl") or {}
        if ttl.get("enabled"):
            ddb.update_time_to_live(
                TableName=table,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["attributeName"]},
            )
        if (inputs.get("pointInTimeRecovery") or {}).get("enabled"):
            ddb.update_continuous_backups(
                TableName=table,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
        out = {**inputs, "name": table, "arn": desc["TableArn"]}
        if desc.get("LatestStreamArn"):
            out["streamArn"] = desc["LatestStreamArn"]
            out["streamLabel"] = desc.get("LatestStreamLabel", "")
            self.registry.stream_arn_to_table[desc["LatestStreamArn"]] = table
        return table, out

    # --- SQS / SNS ---------------------------------------------------------------------

    def _queue(self, name: str, inputs: dict) -> tuple[str, dict]:
        queue = inputs.get("name") or f"{name}-{_suffix(name)}"
        attrs = {
            "VisibilityTimeout": inputs.get("visibilityTimeoutSeconds"),
            "MessageRetentionPeriod": inputs.get("messageRetentionSeconds"),
            "ReceiveMessageWaitTimeSeconds": inputs.get("receiveWaitTimeSeconds"),
            "DelaySeconds": inputs.get("delaySeconds"),
            "RedrivePolicy": inputs.get("redrivePolicy"),
            "SqsManagedSseEnabled": inputs.get("sqsManagedSseEnabled"),
            "KmsMasterKeyId": inputs.get("kmsMasterKeyId"),
            "FifoQueue": inputs.get("fifoQueue"),
        }
        attributes = {k: _attr(v) for k, v in attrs.items() if v is not None}
        url = self.client("sqs").create_queue(QueueName=queue, Attributes=attributes)["QueueUrl"]
        arn = self._arn("sqs", queue)
        self.registry.queue_arn_to_url[arn] = url
        return url, {**inputs, "name": queue, "url": url, "arn": arn}

    def _redrive_allow(self, name: str, inputs: dict) -> tuple[str, dict]:
        self.client("sqs").set_queue_attributes(
            QueueUrl=inputs["queueUrl"],
            Attributes={"RedriveAllowPolicy": inputs["redriveAllowPolicy"]},
        )
        return inputs["queueUrl"], inputs

    def _queue_policy(self, name: str, inputs: dict) -> tuple[str, dict]:
        self.client("sqs").set_queue_attributes(
            QueueUrl=inputs["queueUrl"], Attributes={"Policy": inputs["policy"]}
        )
        return inputs["queueUrl"], inputs

    def _topic(self, name: str, inputs: dict) -> tuple[str, dict]:
        topic = inputs.get("name") or f"{name}-{_suffix(name)}"
        attributes = {}
        if inputs.get("kmsMasterKeyId"):
            attributes["KmsMasterKeyId"] = inputs["kmsMasterKeyId"]
        if inputs.get("fifoTopic"):
            # moto keeps attribute values as given, so only true flags are passed: a
            # "false" string would read as true.
            attributes["FifoTopic"] = "true"
            if inputs.get("contentBasedDeduplication"):
                attributes["ContentBasedDeduplication"] = "true"
            if inputs.get("fifoThroughputScope"):
                attributes["FifoThroughputScope"] = inputs["fifoThroughputScope"]
        arn = self.client("sns").create_topic(Name=topic, Attributes=attributes)["TopicArn"]
        return arn, {**inputs, "name": topic, "arn": arn}

    def _topic_policy(self, name: str, inputs: dict) -> tuple[str, dict]:
        self.client("sns").set_topic_attributes(
            TopicArn=inputs["arn"], AttributeName="Policy", AttributeValue=inputs["policy"]
        )
        return inputs["arn"], inputs

    def _subscription(self, name: str, inputs: dict) -> tuple[str, dict]:
        out = self.client("sns").subscribe(
            TopicArn=inputs["topic"],
            Protocol=inputs["protocol"],
            Endpoint=inputs["endpoint"],
            Attributes={"RawMessageDelivery": str(bool(inputs.get("rawMessageDelivery"))).lower()},
        )
        return out["SubscriptionArn"], {**inputs, "arn": out["SubscriptionArn"]}

    # --- CloudWatch, EventBridge, IAM, KMS ----------------------------------------------

    def _log_group(self, name: str, inputs: dict) -> tuple[str, dict]:
        group = inputs.get("name") or f"{name}-{_suffix(name)}"
        logs = self.client("logs")
        logs.create_log_group(logGroupName=group)
        if inputs.get("retentionInDays"):
            logs.put_retention_policy(
                logGroupName=group, retentionInDays=int(inputs["retentionInDays"])
            )
        return group, {**inputs, "name": group, "arn": self._arn("logs", f"log-group:{group}")}

    def _alarm(self, name: str, inputs: dict) -> tuple[str, dict]:
        alarm = inputs.get("name") or f"{name}-{_suffix(name)}"
        kwargs: dict[str, Any] = {
            "AlarmName": alarm,
            "AlarmDescription": inputs.get("alarmDescription", ""),
            "ActionsEnabled": True,
            "AlarmActions": list(inputs.get("alarmActions") or []),
            "OKActions": list(inputs.get("okActions") or []),
            "MetricName": inputs["metricName"],
            "Namespace": inputs["namespace"],
            "Statistic": inputs["statistic"],
            "Dimensions": [
                {"Name": k, "Value": v} for k, v in (inputs.get("dimensions") or {}).items()
            ],
            "Period": int(inputs["period"]),
            "EvaluationPeriods": int(inputs["evaluationPeriods"]),
            "Threshold": float(inputs["threshold"]),
            "ComparisonOperator": inputs["comparisonOperator"],
            "TreatMissingData": inputs.get("treatMissingData", "missing"),
        }
        self.client("cloudwatch").put_metric_alarm(**kwargs)
        return alarm, {**inputs, "name": alarm, "arn": self._arn("cloudwatch", f"alarm:{alarm}")}

    def _event_rule(self, name: str, inputs: dict) -> tuple[str, dict]:
        rule = inputs.get("name") or f"{name}-{_suffix(name)}"
        arn = self.client("events").put_rule(
            Name=rule,
            ScheduleExpression=inputs.get("scheduleExpression"),
            State="ENABLED",
            Description=inputs.get("description", ""),
        )["RuleArn"]
        self.registry.schedules.append(
            ScheduleDef(rule=rule, expression=inputs.get("scheduleExpression") or "")
        )
        return rule, {**inputs, "name": rule, "arn": arn}

    def _event_target(self, name: str, inputs: dict) -> tuple[str, dict]:
        target_id = inputs.get("targetId") or f"{name}-{_suffix(name)}"
        self.client("events").put_targets(
            Rule=inputs["rule"], Targets=[{"Id": target_id, "Arn": inputs["arn"]}]
        )
        for sched in self.registry.schedules:
            if sched.rule == inputs["rule"] and ":function:" in inputs["arn"]:
                sched.functions.append(self.registry.function_by_ref(inputs["arn"]).name)
        return target_id, {**inputs, "targetId": target_id}

    def _role(self, name: str, inputs: dict) -> tuple[str, dict]:
        role = inputs.get("name") or f"{name}-{_suffix(name)}"
        out = self.client("iam").create_role(
            RoleName=role,
            AssumeRolePolicyDocument=inputs["assumeRolePolicy"],
            Description=inputs.get("description", ""),
        )["Role"]
        return role, {**inputs, "name": role, "arn": out["Arn"], "uniqueId": out["RoleId"]}

    def _role_policy(self, name: str, inputs: dict) -> tuple[str, dict]:
        policy = inputs.get("name") or f"{name}-{_suffix(name)}"
        self.client("iam").put_role_policy(
            RoleName=inputs["role"], PolicyName=policy, PolicyDocument=inputs["policy"]
        )
        return f"{inputs['role']}:{policy}", {**inputs, "name": policy}

    def _kms_key(self, name: str, inputs: dict) -> tuple[str, dict]:
        kwargs: dict[str, Any] = {"Description": inputs.get("description", "")}
        if inputs.get("policy"):
            kwargs["Policy"] = inputs["policy"]
        meta = self.client("kms").create_key(**kwargs)["KeyMetadata"]
        if inputs.get("enableKeyRotation"):
            self.client("kms").enable_key_rotation(KeyId=meta["KeyId"])
        return meta["KeyId"], {**inputs, "arn": meta["Arn"], "keyId": meta["KeyId"]}

    # --- Lambda ------------------------------------------------------------------------

    def _function(self, name: str, inputs: dict) -> tuple[str, dict]:
        fn_name = inputs.get("name") or f"{name}-{_suffix(name)}"
        code = inputs.get("code")
        code_dir = getattr(code, "path", None)
        if code_dir is None:
            raise ValueError(f"function {fn_name}: the local cloud runs FileArchive code only")
        arn = self._arn("lambda", f"function:{fn_name}")
        logical = (
            (inputs.get("environment") or {})
            .get("variables", {})
            .get("POWERTOOLS_SERVICE_NAME", name.removesuffix("-function"))
        )
        logging_config = inputs.get("loggingConfig") or {}
        self.registry.functions[fn_name] = FunctionDef(
            logical=logical,
            name=fn_name,
            arn=arn,
            handler=inputs["handler"],
            runtime=inputs.get("runtime", ""),
            code_dir=str(code_dir),
            memory=int(inputs.get("memorySize") or 128),
            timeout=int(inputs.get("timeout") or 3),
            reserved_concurrency=(
                int(inputs["reservedConcurrentExecutions"])
                if inputs.get("reservedConcurrentExecutions") not in (None, -1)
                else None
            ),
            environment=dict((inputs.get("environment") or {}).get("variables") or {}),
            architecture=(inputs.get("architectures") or ["x86_64"])[0],
            log_group=logging_config.get("logGroup") or f"/aws/lambda/{fn_name}",
            tracing=(inputs.get("tracingConfig") or {}).get("mode", "PassThrough"),
        )
        return fn_name, {
            **inputs,
            "name": fn_name,
            "arn": arn,
            "invokeArn": (
                f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/functions/{arn}/invocations"
            ),
            "qualifiedArn": f"{arn}:1",
            "qualifiedInvokeArn": (
                f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/functions/{arn}:1/invocations"
            ),
            "version": "1",
        }

    def _mapping(self, name: str, inputs: dict) -> tuple[str, dict]:
        mapping_id = str(uuid.uuid5(uuid.NAMESPACE_URL, name + inputs["eventSourceArn"]))
        destination = ((inputs.get("destinationConfig") or {}).get("onFailure") or {}).get(
            "destinationArn"
        )
        filters = [
            f["pattern"] for f in ((inputs.get("filterCriteria") or {}).get("filters") or [])
        ]
        self.registry.mappings.append(
            MappingDef(
                uuid=mapping_id,
                source_arn=inputs["eventSourceArn"],
                function=self.registry.function_by_ref(inputs["functionName"]).name,
                batch_size=int(inputs.get("batchSize") or 10),
                batching_window=int(inputs.get("maximumBatchingWindowInSeconds") or 0),
                report_batch_item_failures="ReportBatchItemFailures"
                in (inputs.get("functionResponseTypes") or []),
                starting_position=inputs.get("startingPosition"),
                filters=filters,
                bisect_on_error=bool(inputs.get("bisectBatchOnFunctionError")),
                max_retries=inputs.get("maximumRetryAttempts"),
                on_failure_arn=destination,
                max_concurrency=(inputs.get("scalingConfig") or {}).get("maximumConcurrency"),
            )
        )
        return mapping_id, {
            **inputs,
            "uuid": mapping_id,
            "arn": self._arn("lambda", f"event-source-mapping:{mapping_id}"),
        }

    def _async_config(self, name: str, inputs: dict) -> tuple[str, dict]:
        fn = self.registry.function_by_ref(inputs["functionName"])
        dest = inputs.get("destinationConfig") or {}
        self.registry.async_configs[fn.name] = AsyncConfigDef(
            function=fn.name,
            max_retries=int(inputs.get("maximumRetryAttempts", 2)),
            max_event_age=int(inputs.get("maximumEventAgeInSeconds", 21600)),
            on_failure_arn=(dest.get("onFailure") or {}).get("destination"),
            on_success_arn=(dest.get("onSuccess") or {}).get("destination"),
        )
        return fn.name, inputs

    # --- API Gateway ---------------------------------------------------------------------

    def _api(self, name: str, inputs: dict) -> tuple[str, dict]:
        api_id = _suffix(name)
        self.registry.extras["api"] = {
            "id": api_id,
            "name": inputs.get("name"),
            "url": self.gateway_url,
        }
        return api_id, {
            **inputs,
            "apiEndpoint": self.gateway_url,
            "executionArn": self._arn("execute-api", api_id),
            "arn": f"arn:aws:apigateway:{self.region}::/apis/{api_id}",
        }

    def _authorizer(self, name: str, inputs: dict) -> tuple[str, dict]:
        auth_id = _suffix(name)
        jwt = inputs.get("jwtConfiguration") or {}
        self.registry.authorizers[auth_id] = {
            "type": inputs.get("authorizerType"),
            "issuer": jwt.get("issuer"),
            "audiences": list(jwt.get("audiences") or []),
            "identity_sources": list(inputs.get("identitySources") or []),
        }
        return auth_id, inputs

    def _integration(self, name: str, inputs: dict) -> tuple[str, dict]:
        integration_id = _suffix(name)
        uri = inputs["integrationUri"]
        fn_arn = uri.split("/functions/")[-1].split("/invocations")[0]
        self.registry.integrations[integration_id] = self.registry.function_by_ref(fn_arn).name
        return integration_id, inputs

    def _route(self, name: str, inputs: dict) -> tuple[str, dict]:
        integration_id = inputs["target"].split("/", 1)[1]
        auth = self.registry.authorizers.get(inputs.get("authorizerId") or "", {})
        self.registry.routes.append(
            RouteDef(
                route_key=inputs["routeKey"],
                function=self.registry.integrations[integration_id],
                authorization_type=inputs.get("authorizationType", "NONE"),
                issuer=auth.get("issuer"),
                audiences=auth.get("audiences", []),
            )
        )
        return _suffix(name), inputs

    def _stage(self, name: str, inputs: dict) -> tuple[str, dict]:
        default = inputs.get("defaultRouteSettings") or {}
        by_route = {r["routeKey"]: r for r in inputs.get("routeSettings") or []}
        for route in self.registry.routes:
            settings = by_route.get(route.route_key, default)
            route.throttle_rate = settings.get(
                "throttlingRateLimit", default.get("throttlingRateLimit")
            )
            route.throttle_burst = settings.get(
                "throttlingBurstLimit", default.get("throttlingBurstLimit")
            )
        self.registry.stage_settings = {
            "access_log_group": (
                (inputs.get("accessLogSettings") or {}).get("destinationArn") or ""
            ).split("log-group:")[-1],
            "access_log_format": (inputs.get("accessLogSettings") or {}).get("format"),
        }
        return inputs.get("name", "$default"), {**inputs, "invokeUrl": self.gateway_url}
