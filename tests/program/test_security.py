"""Security review of everything the program declares: least privilege and encryption.

Walks every IAM policy the program creates (through the mocks) and fails on a
wildcard action, a `*` resource that AWS does not require, access to another
function's resources, or a store or queue without encryption at rest.
"""

from __future__ import annotations

import json

import pytest

from lambdas.common.contract import APPEAL_INDEX, QA_INDEX
from tests.support.program import ACCOUNT, ProgramRun, function_component, logical_of, run_program

# Actions AWS offers no resource-level permission for; "*" is required and a comment says so.
STAR_RESOURCE_ALLOWED = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "rekognition:DetectModerationLabels",
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
}

LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}
XRAY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}

# Exactly the actions each function may perform, beyond its own logs and tracing.
EXPECTED_ACTIONS = {
    "upload": {
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:GetObject",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:GetItem",
        "dynamodb:DeleteItem",
        "sqs:SendMessage",
    },
    # Query: the owner's statements of reasons (the statements table's job-id index).
    "status": {"dynamodb:GetItem", "dynamodb:Query"},
    "dispatcher": {
        "dynamodb:UpdateItem",
        "dynamodb:BatchGetItem",
        "lambda:InvokeFunction",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ChangeMessageVisibility",
    },
    "rekognition_analyzer": {
        "rekognition:DetectModerationLabels",
        "s3:GetObject",
        "dynamodb:UpdateItem",
        "dynamodb:PutItem",
        "sqs:SendMessage",
    },
    # PutItem: the finalizing branch stores the verdict (verdict reuse, on by default).
    # Scan: the hash banks (loaded every 30 s); UpdateItem there: hit counts, quarantine.
    "custom_analyzer": {
        "s3:GetObject",
        "dynamodb:UpdateItem",
        "dynamodb:PutItem",
        "dynamodb:Scan",
        "sqs:SendMessage",
    },
    "text_analyzer": {"s3:GetObject", "dynamodb:UpdateItem", "dynamodb:PutItem", "sqs:SendMessage"},
    "notifier": {
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
        "sns:Publish",
        "sqs:SendMessage",
        # The one writer of statements of reasons.
        "dynamodb:PutItem",
    },
    "sweeper": {
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    },
    # GetItem: the job's owner, before a verdict (no one decides their own upload).
    "review": {
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:PutItem",
        "s3:GetObject",
    },
    # Notices: the notice on the job (one conditional update) and the notifier's count.
    "notices": {"dynamodb:UpdateItem"},
    # The hash banks table, and the originals (`{"job_id"}` entries hash the job's image).
    "banks": {
        "dynamodb:BatchWriteItem",
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:Scan",
        "dynamodb:UpdateItem",
        "s3:GetObject",
    },
    "exporter": {
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
        "s3:PutObject",
        "sqs:SendMessage",
    },
}

# Roles assumed by services other than Lambda (optional components): their inline
# policy's actions, and the one service principal each trusts.
SERVICE_ROLES = {
    "report-job": (
        {
            "s3:GetObject",
            "s3:PutObject",
            "s3:DeleteObject",
            "s3:AbortMultipartUpload",
            "s3:ListBucket",
        },
        "emr-serverless.amazonaws.com",
    ),
    "report-schedule": ({"emr-serverless:StartJobRun", "iam:PassRole"}, "scheduler.amazonaws.com"),
}

# With edge auth on: the notifier also copies approved images to the content bucket, and
# the Lambda@Edge function creates its own log group in whichever region runs it.
EDGE_EXPECTED_ACTIONS = {
    **EXPECTED_ACTIONS,
    "notifier": EXPECTED_ACTIONS["notifier"] | {"s3:GetObject", "s3:PutObject"},
    "edge_auth": {"logs:CreateLogGroup"},
}


def edge_config(tmp_path_factory) -> dict:
    from tests.support.edge import SigningKey

    jwks = tmp_path_factory.mktemp("security-jwks") / "jwks.json"
    jwks.write_text(json.dumps({"keys": [SigningKey("security").jwk()]}))
    return {"edgeAuthEnabled": True, "edgeAuth": {"jwksFile": str(jwks)}}


@pytest.fixture(scope="module", params=["default", "edge_auth", "analytics"])
def run(request, tmp_path_factory) -> ProgramRun:
    if request.param == "edge_auth":
        return run_program(edge_config(tmp_path_factory))
    if request.param == "analytics":
        return run_program({"analyticsEnabled": True})
    return run_program()


def edge_enabled(run: ProgramRun) -> bool:
    return bool(run.of_type("aws:cloudfront/distribution:Distribution"))


def expected_actions(run: ProgramRun) -> dict[str, set[str]]:
    return EDGE_EXPECTED_ACTIONS if edge_enabled(run) else EXPECTED_ACTIONS


def role_policies(run: ProgramRun) -> dict[str, dict]:
    return {
        logical_of(p.name, "-policy"): json.loads(p.inputs["policy"])
        for p in run.of_type("aws:iam/rolePolicy:RolePolicy")
    }


def function_policies(run: ProgramRun) -> dict[str, dict]:
    return {k: v for k, v in role_policies(run).items() if k not in SERVICE_ROLES}


def allowed_resources(run: ProgramRun, logical: str) -> set[str]:
    """The ARNs (and ARN patterns) a function's duty needs, derived from the exports."""
    ex = run.exports
    table = run.one("aws:dynamodb/table:Table", "moderation-store-jobs").outputs
    idem = run.one("aws:dynamodb/table:Table", "moderation-store-idempotency").outputs["arn"]
    verdicts = run.one("aws:dynamodb/table:Table", "moderation-store-verdicts").outputs["arn"]
    usage = run.one("aws:dynamodb/table:Table", "moderation-quotas-usage").outputs["arn"]
    banks = run.one("aws:dynamodb/table:Table", "moderation-banks-table").outputs["arn"]
    bucket = run.one("aws:s3/bucket:Bucket", "moderation-test-uploads").outputs["arn"]
    queue = run.one("aws:sqs/queue:Queue", "moderation-queues-processing").outputs["arn"]
    failures = run.one("aws:sqs/queue:Queue", "moderation-queues-analysis-failures").outputs["arn"]
    topic = run.one("aws:sns/topic:Topic", "moderation-notifications").outputs["arn"]
    fn_arn = {
        name: run.one(
            "aws:lambda/function:Function", f"{function_component(name)}-function"
        ).outputs["arn"]
        for name in ex["functions"]
    }
    images = {f"{bucket}/uploads/*", f"{bucket}/incoming/*"}
    # Validated originals only: only the upload function touches incoming/.
    originals = {f"{bucket}/uploads/*"}
    if logical in SERVICE_ROLES or logical == "exporter":
        results = run.by_output("bucket", ex["results_bucket"]).outputs["arn"]
        return {
            "exporter": {
                table["streamArn"],
                f"{results}/jobs/*",
                run.one("aws:sqs/queue:Queue", "analytics-exporter-failures").outputs["arn"],
            },
            "report-job": {
                f"{results}/jobs/*",
                f"{results}/scripts/report.py",
                f"{results}/reports/*",
                results,
            },
            "report-schedule": {
                run.one("aws:emrserverless/application:Application").outputs["arn"],
                run.one("aws:iam/role:Role", "analytics-report-job-role").outputs["arn"],
            },
        }[logical]
    edge: dict[str, set[str]] = {}
    if edge_enabled(run):
        content = run.one("aws:s3/bucket:Bucket", "moderation-test-content").outputs["arn"]
        edge_logs = run.one("aws:cloudwatch/logGroup:LogGroup", "edge-auth-logs").inputs["name"]
        # The one region wildcard of the stack: edge locations log in their own region.
        pattern = f"arn:aws:logs:*:{ACCOUNT}:log-group:{edge_logs}"
        edge = {
            "notifier": originals | {f"{content}/content/*"},
            "edge_auth": {pattern, f"{pattern}:*"},
        }
    statements = run.one("aws:dynamodb/table:Table", "moderation-statements-table").outputs["arn"]
    allowed = {
        # The usage table (per-user limits) is the upload function's alone.
        "upload": images | {table["arn"], idem, queue, usage},
        "status": {table["arn"], f"{statements}/index/job_id-created_at-index"},
        "notices": {
            table["arn"],
            run.one("aws:dynamodb/table:Table", "moderation-statements-notice-usage").outputs[
                "arn"
            ],
        },
        "dispatcher": {
            table["arn"],
            queue,
            verdicts,
            banks,  # the change stamp verdict reuse reads (BatchGetItem only)
            fn_arn["rekognition_analyzer"],
            fn_arn["custom_analyzer"],
            fn_arn["text_analyzer"],
        },
        "rekognition_analyzer": originals | {table["arn"], failures, verdicts, "*"},
        "custom_analyzer": originals | {table["arn"], failures, verdicts, banks},
        "text_analyzer": originals | {table["arn"], failures, verdicts},
        "notifier": {table["streamArn"], topic, failures, statements},
        "sweeper": {
            f"{table['arn']}/index/status-created_at-index",
            f"{table['arn']}/index/review_state-completed_at-index",
            table["arn"],
            failures,
            idem,
        },
        # The review queue (the index only), verdicts (the table), the originals to presign,
        # and the audit log (each verdict's entry).
        "review": originals
        | {
            f"{table['arn']}/index/review_state-completed_at-index",
            table["arn"],
            verdicts,
            run.one("aws:dynamodb/table:Table", "moderation-store-audit").outputs["arn"],
        }
        # Claims from the appeal and QA queues (their indexes only).
        | {f"{table['arn']}/index/{index}" for index in (APPEAL_INDEX, QA_INDEX)},
        # The banks table, the originals to hash, and the audit log (each change's entry).
        "banks": originals
        | {banks, run.one("aws:dynamodb/table:Table", "moderation-store-audit").outputs["arn"]},
        "edge_auth": set(),
    }
    return allowed[logical] | edge.get(logical, set())


def test_no_wildcard_actions_anywhere(run):
    for logical, doc in role_policies(run).items():
        for stmt in doc["Statement"]:
            assert stmt["Effect"] == "Allow", (logical, stmt)
            for action in stmt["Action"]:
                assert "*" not in action, f"{logical}: wildcard action {action}"


def test_star_resources_only_where_aws_requires_them(run):
    for logical, doc in role_policies(run).items():
        for stmt in doc["Statement"]:
            if "*" in stmt["Resource"]:
                assert stmt["Resource"] == ["*"]
                assert set(stmt["Action"]) <= STAR_RESOURCE_ALLOWED, (logical, stmt)


def test_each_function_has_exactly_its_own_actions(run):
    policies = function_policies(run)
    expected = expected_actions(run)
    # The edge function runs in us-east-1 at the edge and is exported on its own.
    functions = set(run.exports["functions"]) | ({"edge_auth"} if edge_enabled(run) else set())
    assert set(policies) == functions
    for logical, doc in policies.items():
        actions = {a for s in doc["Statement"] for a in s["Action"]}
        assert actions - LOGS - XRAY == expected[logical], logical


def test_service_roles_have_exactly_their_actions_on_their_resources(run):
    for logical, doc in role_policies(run).items():
        if logical not in SERVICE_ROLES:
            continue
        actions = {a for s in doc["Statement"] for a in s["Action"]}
        assert actions == SERVICE_ROLES[logical][0], logical
        allowed = allowed_resources(run, logical)
        for stmt in doc["Statement"]:
            for resource in stmt["Resource"]:
                assert resource in allowed, f"{logical} may not touch {resource}"
            if stmt["Action"] == ["s3:ListBucket"]:
                prefixes = stmt["Condition"]["StringLikeIfExists"]["s3:prefix"]
                assert prefixes and "*" not in prefixes, "listing is limited to prefixes"


def test_no_function_reaches_another_functions_resources(run):
    log_groups = {g.outputs["arn"] + ":*" for g in run.of_type("aws:cloudwatch/logGroup:LogGroup")}
    for logical, doc in function_policies(run).items():
        own_logs = (
            run.one(
                "aws:cloudwatch/logGroup:LogGroup", f"{function_component(logical)}-logs"
            ).outputs["arn"]
            + ":*"
        )
        allowed = allowed_resources(run, logical) | {own_logs}
        for stmt in doc["Statement"]:
            if set(stmt["Action"]) <= XRAY:
                continue
            for resource in stmt["Resource"]:
                assert resource in allowed, f"{logical} may not touch {resource}"
                if resource in log_groups:
                    assert resource == own_logs, f"{logical} writes another function's logs"


def test_every_store_and_queue_is_encrypted_at_rest(run):
    for table in run.of_type("aws:dynamodb/table:Table"):
        assert table.inputs.get("serverSideEncryption", {}).get("enabled") is True, table.name
    for queue in run.of_type("aws:sqs/queue:Queue"):
        assert queue.inputs.get("sqsManagedSseEnabled") or queue.inputs.get("kmsMasterKeyId"), (
            queue.name
        )
    for topic in run.of_type("aws:sns/topic:Topic"):
        assert topic.inputs.get("kmsMasterKeyId"), topic.name
    buckets = {b.outputs["bucket"] for b in run.of_type("aws:s3/bucket:Bucket")}
    encrypted = {
        c.inputs["bucket"]
        for c in run.of_type(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
        )
    }
    blocked = {
        c.inputs["bucket"]
        for c in run.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    }
    tls_only = {
        p.inputs["bucket"]
        for p in run.of_type("aws:s3/bucketPolicy:BucketPolicy")
        if any(
            s.get("Effect") == "Deny"
            and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
            for s in json.loads(p.inputs["policy"])["Statement"]
        )
    }
    assert buckets == encrypted == blocked == tls_only


def test_trust_policies_admit_only_lambda(run):
    for role in run.of_type("aws:iam/role:Role"):
        doc = json.loads(role.inputs["assumeRolePolicy"])
        principals = set()
        for stmt in doc["Statement"]:
            service = stmt["Principal"]["Service"]
            principals |= {service} if isinstance(service, str) else set(service)
        service_role = SERVICE_ROLES.get(logical_of(role.name, "-role"))
        if service_role is not None:
            # a service role trusts its one service, and only for this account
            assert principals == {service_role[1]}, role.name
            for stmt in doc["Statement"]:
                assert stmt["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
        elif role.name == "edge-auth-role":
            # Lambda@Edge: CloudFront's replicas assume the role as edgelambda.
            assert principals == {"lambda.amazonaws.com", "edgelambda.amazonaws.com"}
        else:
            assert principals == {"lambda.amazonaws.com"}, role.name


def test_kms_key_rotates(run):
    for key in run.of_type("aws:kms/key:Key"):
        assert key.inputs["enableKeyRotation"] is True


# --- with the status cache: the status function's role changes, nothing else does ---------

VPC_ENI = {
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
}


@pytest.fixture(scope="module")
def cached_run() -> ProgramRun:
    return run_program({"cachingEnabled": True})


def test_cached_status_function_adds_exactly_its_secret_and_vpc_networking(cached_run):
    doc = role_policies(cached_run)["status"]
    secret_arn = cached_run.one("aws:secretsmanager/secret:Secret").outputs["arn"]
    table_arn = cached_run.one("aws:dynamodb/table:Table", "moderation-store-jobs").outputs["arn"]
    actions = {a for s in doc["Statement"] for a in s["Action"]}
    assert (
        actions - LOGS - XRAY
        == {"dynamodb:GetItem", "dynamodb:Query", "secretsmanager:GetSecretValue"} | VPC_ENI
    )
    for stmt in doc["Statement"]:
        acts = set(stmt["Action"])
        if "secretsmanager:GetSecretValue" in acts:
            assert acts == {"secretsmanager:GetSecretValue"}
            assert stmt["Resource"] == [secret_arn]  # exactly the cache's secret
        elif "dynamodb:GetItem" in acts:
            assert stmt["Resource"] == [table_arn]
        elif "dynamodb:Query" in acts:  # the owner's statements of reasons, by job id
            assert acts == {"dynamodb:Query"} and stmt["Resource"][0].endswith(
                "/index/job_id-created_at-index"
            )
        elif acts & VPC_ENI:
            assert acts == VPC_ENI and stmt["Resource"] == ["*"]


def test_cache_leaves_every_other_role_as_it_was(cached_run):
    cached, plain = role_policies(cached_run), role_policies(run_program())
    assert set(cached) == set(plain)
    for logical in set(cached) - {"status"}:
        actions = {a for s in cached[logical]["Statement"] for a in s["Action"]}
        assert actions - LOGS - XRAY == EXPECTED_ACTIONS[logical], logical


def test_cached_stack_passes_the_same_review(cached_run):
    test_no_wildcard_actions_anywhere(cached_run)
    test_star_resources_only_where_aws_requires_them(cached_run)
    test_trust_policies_admit_only_lambda(cached_run)
    test_every_store_and_queue_is_encrypted_at_rest(cached_run)
    test_kms_key_rotates(cached_run)
