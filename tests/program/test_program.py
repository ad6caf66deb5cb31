"""The Pulumi program under mocks: every resource exists with the properties that matter."""

from __future__ import annotations

import json

import pytest

from lambdas.common.contract import BANKS_ROUTES
from tests.support.program import ProgramRun, policy_of, run_program


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return run_program()


def test_uploads_bucket_is_private_encrypted_tls_only_and_expires_originals(run):
    bucket = run.one("aws:s3/bucket:Bucket")
    assert bucket.inputs.get("forceDestroy") is False
    pab = run.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(
        pab.inputs[k]
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    sse = run.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    policy = json.loads(run.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    deny = policy["Statement"][0]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    lifecycle = run.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    expiring = {
        r["filter"]["prefix"]: r["expiration"]["days"]
        for r in lifecycle.inputs["rules"]
        if r.get("expiration")
    }
    # incoming/ outlives the presigned URLs (900 s): one day, S3's shortest expiration.
    assert expiring == {"uploads/": 30, "incoming/": 1}


def test_force_destroy_follows_config():
    run = run_program({"forceDestroy": True})
    assert run.one("aws:s3/bucket:Bucket").inputs["forceDestroy"] is True
    assert (
        run.one("aws:dynamodb/table:Table", "moderation-store-jobs").inputs[
            "deletionProtectionEnabled"
        ]
        is False
    )


def test_jobs_table_on_demand_pitr_sse_ttl_stream_and_status_index(run):
    table = run.one("aws:dynamodb/table:Table", "moderation-store-jobs")
    i = table.inputs
    assert i["billingMode"] == "PAY_PER_REQUEST"
    assert i["hashKey"] == "job_id"
    assert i["pointInTimeRecovery"] == {"enabled": True}
    assert i["serverSideEncryption"] == {"enabled": True}
    assert i["ttl"] == {"attributeName": "expires_at", "enabled": True}
    assert i["streamEnabled"] is True and i["streamViewType"] == "NEW_AND_OLD_IMAGES"
    status_gsi = i["globalSecondaryIndexes"][0]
    assert (status_gsi["name"], status_gsi["hashKey"], status_gsi["rangeKey"]) == (
        "status-created_at-index",
        "status",
        "created_at",
    )
    assert i["deletionProtectionEnabled"] is True


def test_status_index_name_matches_the_handlers():
    from common import job_record

    assert job_record.STATUS_INDEX == "status-created_at-index"


def test_queue_redrive_encryption_long_polling_and_visibility(run):
    queue = run.one("aws:sqs/queue:Queue", "moderation-queues-processing").inputs
    dlq = run.one("aws:sqs/queue:Queue", "moderation-queues-dlq").inputs
    redrive = json.loads(queue["redrivePolicy"])
    assert redrive["maxReceiveCount"] == 3
    assert redrive["deadLetterTargetArn"].endswith(":moderation-test-processing-dlq")
    dispatcher = run.one("aws:lambda/function:Function", "moderation-dispatcher-function").inputs
    assert queue["visibilityTimeoutSeconds"] >= 6 * dispatcher["timeout"]
    assert dlq["messageRetentionSeconds"] > queue["messageRetentionSeconds"]
    for q in run.of_type("aws:sqs/queue:Queue"):
        assert q.inputs["sqsManagedSseEnabled"] is True, q.name
        assert q.inputs["receiveWaitTimeSeconds"] == 20, q.name
    allow = json.loads(
        run.one("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy").inputs["redriveAllowPolicy"]
    )
    assert allow["redrivePermission"] == "byQueue"


def test_max_receive_count_follows_config():
    run = run_program({"maxReceiveCount": 5})
    queue = run.one("aws:sqs/queue:Queue", "moderation-queues-processing").inputs
    assert json.loads(queue["redrivePolicy"])["maxReceiveCount"] == 5


def test_topics_are_encrypted(run):
    for topic in run.of_type("aws:sns/topic:Topic"):
        assert topic.inputs.get("kmsMasterKeyId"), topic.name


def test_every_function_is_arm64_traced_logged_and_sized_from_config(run):
    functions = run.of_type("aws:lambda/function:Function")
    assert {f.name.removesuffix("-function").removeprefix("moderation-") for f in functions} == {
        "upload",
        "status",
        "dispatcher",
        "rekognition_analyzer",
        "custom_analyzer",
        "text_analyzer",
        "notifier",
        "sweeper",
        "review",
        "notices",
        "banks",
    }
    groups = {g.inputs["name"]: g.inputs for g in run.of_type("aws:cloudwatch/logGroup:LogGroup")}
    roles = set()
    for fn in functions:
        i = fn.inputs
        assert i["architectures"] == ["arm64"]
        assert i["tracingConfig"] == {"mode": "Active"}
        assert i["loggingConfig"]["logGroup"] == f"/aws/lambda/{i['name']}"
        assert groups[i["loggingConfig"]["logGroup"]]["retentionInDays"] == 30
        assert i["timeout"] >= 1 and 128 <= i["memorySize"] <= 10240
        assert i["environment"]["variables"]["POWERTOOLS_METRICS_NAMESPACE"] == "Moderation"
        roles.add(i["role"])
    assert len(roles) == len(functions), "each function has its own role"


def test_memory_and_timeout_come_from_config():
    run = run_program({"functions": {"custom_analyzer": {"memory": 2048, "timeout": 90}}})
    fn = run.one("aws:lambda/function:Function", "moderation-custom_analyzer-function").inputs
    assert (fn["memorySize"], fn["timeout"]) == (2048, 90)


def test_dispatcher_mapping_reports_batch_item_failures(run):
    mapping = next(
        m
        for m in run.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
        if m.name == "moderation-dispatcher-queue"
    ).inputs
    assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["batchSize"] == 10
    assert mapping["eventSourceArn"].endswith(":moderation-test-processing")


def test_notifier_reads_the_stream_filtered_to_terminal_writes(run):
    mapping = next(
        m
        for m in run.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
        if m.name == "moderation-notifier-stream"
    ).inputs
    assert "/stream/" in mapping["eventSourceArn"]
    assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["bisectBatchOnFunctionError"] is True
    assert mapping["destinationConfig"]["onFailure"]["destinationArn"].endswith("analysis-failures")
    pattern = json.loads(mapping["filterCriteria"]["filters"][0]["pattern"])
    assert pattern["dynamodb"]["NewImage"]["status"]["S"] == ["complete", "failed"]


def test_analyzers_retry_async_then_land_in_the_failure_queue(run):
    configs = run.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    assert {c.inputs["functionName"] for c in configs} == {
        "moderation-test-rekognition-analyzer",
        "moderation-test-custom-analyzer",
        "moderation-test-text-analyzer",
    }
    for c in configs:
        assert c.inputs["maximumRetryAttempts"] == 2
        assert c.inputs["destinationConfig"]["onFailure"]["destination"].endswith(
            ":moderation-test-analysis-failures"
        )


def test_api_routes_use_the_jwt_authorizer_with_throttling_and_access_logs(run):
    auth = run.one("aws:apigatewayv2/authorizer:Authorizer").inputs
    assert auth["authorizerType"] == "JWT"
    assert (
        auth["jwtConfiguration"]["issuer"]
        == "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TEST"
    )
    routes = {r.inputs["routeKey"]: r.inputs for r in run.of_type("aws:apigatewayv2/route:Route")}
    assert set(routes) == {
        "POST /jobs",
        "GET /jobs/{job_id}",
        "GET /reviews",
        "POST /jobs/{job_id}/review",
        # claims, appeals and QA
        "POST /reviews/claim",
        "POST /reviews/{job_id}/release",
        "POST /jobs/{job_id}/appeal",
        "POST /jobs/{job_id}/appeal/decision",
        "POST /jobs/{job_id}/qa",
        "GET /jobs/{job_id}/statement",
        "POST /jobs/{job_id}/notices",
        *BANKS_ROUTES,
    }
    assert all(r["authorizationType"] == "JWT" for r in routes.values())
    stage = run.one("aws:apigatewayv2/stage:Stage").inputs
    throttled = {s["routeKey"]: s for s in stage["routeSettings"]}
    assert throttled["POST /jobs"]["throttlingRateLimit"] == 50
    assert throttled["GET /jobs/{job_id}"]["throttlingBurstLimit"] == 400
    assert stage["accessLogSettings"]["destinationArn"].endswith(
        "/aws/apigateway/moderation-test-api"
    )
    for integration in run.of_type("aws:apigatewayv2/integration:Integration"):
        assert integration.inputs["payloadFormatVersion"] == "2.0"


def test_sweeper_runs_on_a_schedule(run):
    rule = run.one("aws:cloudwatch/eventRule:EventRule").inputs
    assert rule["scheduleExpression"] == "rate(1 minute)"
    target = run.one("aws:cloudwatch/eventTarget:EventTarget").inputs
    assert target["arn"].endswith(":function:moderation-test-sweeper")


def test_alarms_cover_dlq_age_errors_throttles_and_stuck_jobs(run):
    alarms = {
        a.inputs["name"]: a.inputs for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    }
    assert (
        alarms["moderation-test-dlq-has-messages"]["metricName"]
        == "ApproximateNumberOfMessagesVisible"
    )
    assert (
        alarms["moderation-test-queue-oldest-message-age"]["metricName"]
        == "ApproximateAgeOfOldestMessage"
    )
    assert alarms["moderation-test-stuck-jobs"]["namespace"] == "Moderation"
    for fn in (
        "upload",
        "status",
        "dispatcher",
        "rekognition-analyzer",
        "custom-analyzer",
        "text-analyzer",
        "notifier",
        "sweeper",
    ):
        assert alarms[f"moderation-test-{fn}-errors"]["metricName"] == "Errors"
        assert alarms[f"moderation-test-{fn}-throttles"]["metricName"] == "Throttles"
    topic = next(t for t in run.of_type("aws:sns/topic:Topic") if t.name == "moderation-alarms")
    for alarm in alarms.values():
        assert alarm["alarmActions"] == [topic.outputs["arn"]]


def test_alarm_subscriptions_follow_config():
    run = run_program({"alarmEmail": "ops@example.com"})
    sub = run.one("aws:sns/topicSubscription:TopicSubscription").inputs
    assert (sub["protocol"], sub["endpoint"]) == ("email", "ops@example.com")
    assert not run_program().of_type("aws:sns/topicSubscription:TopicSubscription")


def test_exports_name_everything_the_dashboard_reads(run):
    for key in (
        "api_url",
        "region",
        "jobs_table",
        "upload_bucket",
        "processing_queue_url",
        "dlq_url",
        "failure_queue_url",
        "notification_topic_arn",
        "functions",
        "log_groups",
        "alarm_names",
    ):
        assert run.exports.get(key), key
    assert set(run.exports["functions"]) == set(run.exports["log_groups"])


def test_presigned_uploads_trigger_the_upload_function(run):
    note = run.one("aws:s3/bucketNotification:BucketNotification").inputs
    (fn,) = note["lambdaFunctions"]
    assert fn["filterPrefix"] == "incoming/"
    assert fn["lambdaFunctionArn"].endswith(":function:moderation-test-upload")


def test_handlers_point_at_packaged_code(run):
    from pathlib import Path

    for fn in run.of_type("aws:lambda/function:Function"):
        package, module, attr = fn.inputs["handler"].split(".")
        code = Path(fn.inputs["code"].path)
        assert (code / package / f"{module}.py").is_file()
        assert (code / "common" / "jobs.py").is_file()
        assert not list(code.rglob("__pycache__"))
        assert not (code / "tests").exists()


def test_role_policies_are_readable(run):
    for logical in ("upload", "status", "dispatcher"):
        doc = policy_of(run, logical)
        assert doc["Version"] == "2012-10-17"


def test_notification_topic_is_fifo_and_deduplicates_per_job_by_default(run):
    topic = run.one("aws:sns/topic:Topic", "moderation-notifications")
    assert topic.inputs["name"] == "moderation-test-notifications.fifo"
    assert topic.inputs["fifoTopic"] is True
    assert topic.inputs["contentBasedDeduplication"] is False  # the notifier sets the id
    assert topic.inputs["fifoThroughputScope"] == "MessageGroup"
    assert run.exports["notification_topic_arn"].endswith(".fifo")


def test_a_standard_notification_topic_when_asked_for():
    run = run_program({"notificationFifo": False})
    topic = run.one("aws:sns/topic:Topic", "moderation-notifications").inputs
    assert topic["name"] == "moderation-test-notifications"
    assert not topic.get("fifoTopic") and not topic.get("fifoThroughputScope")
