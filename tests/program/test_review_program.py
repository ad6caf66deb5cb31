"""Human review under Pulumi's mocks: the index, the routes, the role, the alarm, the group."""

from __future__ import annotations

import json

import pytest

from components.settings import ConfigError, settings_from_mapping
from lambdas.common import review
from lambdas.common.contract import APPEAL_INDEX, QA_INDEX, REVIEW_INDEX
from local.runtime.event_sources import passes_filters
from tests.program.test_edge_program import edge_run, jwks_file  # noqa: F401 - fixture
from tests.support.config import BASE_CONFIG
from tests.support.program import ProgramRun, policy_of, run_program

REVIEW_ROUTES = ("GET /reviews", "POST /jobs/{job_id}/review")


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return run_program()


def jobs_table(run: ProgramRun):
    return run.one("aws:dynamodb/table:Table", "moderation-store-jobs")


def test_the_review_index_is_sparse_keyed_by_state_and_completion_and_projects_all(run):
    table = jobs_table(run).inputs
    (gsi,) = [g for g in table["globalSecondaryIndexes"] if g["name"] == REVIEW_INDEX]
    assert (gsi["hashKey"], gsi["rangeKey"], gsi["projectionType"]) == (
        "review_state",
        "completed_at",
        "ALL",
    )
    assert "nonKeyAttributes" not in gsi
    types = {a["name"]: a["type"] for a in table["attributes"]}
    assert types["review_state"] == "S" and types["completed_at"] == "S"
    # DynamoDB allows 20 GSIs per table by default; the status index's INCLUDE list and
    # this ALL projection stay far from the 100 projected attributes per table.
    assert len(table["globalSecondaryIndexes"]) <= 20
    assert run.exports["review_index"] == REVIEW_INDEX


def test_both_review_routes_go_to_one_function_behind_the_jwt_authorizer(run):
    routes = {r.inputs["routeKey"]: r for r in run.of_type("aws:apigatewayv2/route:Route")}
    integrations = {
        i.outputs.get("id", i.id): i
        for i in run.of_type("aws:apigatewayv2/integration:Integration")
    }
    review_integration = run.one(
        "aws:apigatewayv2/integration:Integration", "moderation-api-review-integration"
    )
    assert ":function:moderation-test-review/" in review_integration.inputs["integrationUri"]
    for key in REVIEW_ROUTES:
        route = routes[key].inputs
        assert route["authorizationType"] == "JWT"
        assert route["target"] == f"integrations/{review_integration.id}"
    # one integration per function: upload, status, review, notices and banks
    assert len(integrations) == 5
    stage = run.one("aws:apigatewayv2/stage:Stage").inputs
    throttled = {s["routeKey"]: s for s in stage["routeSettings"]}
    for key in REVIEW_ROUTES:
        assert (throttled[key]["throttlingRateLimit"], throttled[key]["throttlingBurstLimit"]) == (
            20,
            40,
        )


def test_each_review_route_may_invoke_the_function_for_its_own_path_only(run):
    permissions = {
        p.name: p.inputs
        for p in run.of_type("aws:lambda/permission:Permission")
        if p.name.startswith("moderation-api-review")
    }
    arns = sorted(p["sourceArn"].split("/*/", 1)[1] for p in permissions.values())
    assert arns == [
        "GET/reviews*",
        "POST/jobs/*/appeal",
        "POST/jobs/*/appeal/decision",
        "POST/jobs/*/qa",
        "POST/jobs/*/review",
        "POST/reviews/*/release",
        "POST/reviews/claim*",
    ]
    assert all(p["function"] == "moderation-test-review" for p in permissions.values())
    # the existing routes keep their permissions (and names)
    upload = run.one("aws:lambda/permission:Permission", "moderation-api-upload-permission")
    assert upload.inputs["sourceArn"].endswith("/*/POST/jobs*")
    # the status function serves two routes now (the statement too): one permission each
    status = run.one(
        "aws:lambda/permission:Permission", "moderation-api-status-get-jobs-job-id-permission"
    )
    assert status.inputs["sourceArn"].endswith("/*/GET/jobs/*")


def test_the_review_role_queries_the_index_updates_the_table_and_reads_originals_only(run):
    table = jobs_table(run).outputs["arn"]
    bucket = run.one("aws:s3/bucket:Bucket", "moderation-test-uploads").outputs["arn"]
    by_action = {}
    for stmt in policy_of(run, "review")["Statement"]:
        for action in stmt["Action"]:
            by_action.setdefault(action, set()).update(stmt["Resource"])
    assert by_action.pop("dynamodb:Query") == {
        f"{table}/index/{index}" for index in (REVIEW_INDEX, APPEAL_INDEX, QA_INDEX)
    }
    assert by_action.pop("dynamodb:UpdateItem") == {table}
    assert by_action.pop("dynamodb:GetItem") == {table}  # whose upload it is (no self-review)
    assert by_action.pop("s3:GetObject") == {f"{bucket}/uploads/*"}
    verdicts = run.one("aws:dynamodb/table:Table", "moderation-store-verdicts").outputs["arn"]
    audit = run.one("aws:dynamodb/table:Table", "moderation-store-audit").outputs["arn"]
    # the moderator's stored verdict, and the verdict's audit entry
    assert by_action.pop("dynamodb:PutItem") == {verdicts, audit}
    assert set(by_action) <= {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }


def test_the_review_function_gets_its_group_table_bucket_and_url_lifetime():
    run = run_program({"review": {"moderatorGroup": "mods-test", "imageUrlSeconds": 120}})
    env = run.one("aws:lambda/function:Function", "moderation-review-function").inputs[
        "environment"
    ]["variables"]
    assert env["MODERATOR_GROUP"] == "mods-test"
    assert env["REVIEW_IMAGE_URL_SECONDS"] == "120"
    assert env["JOBS_TABLE"] == "moderation-test-jobs"
    assert env["UPLOAD_BUCKET"].startswith("moderation-test-uploads")
    assert run.exports["moderator_group"] == "mods-test"


def test_queue_warn_reaches_both_analyzers():
    for setting, expected in ((False, "false"), (True, "true")):
        run = run_program({"review": {"queueWarn": setting}})
        for fn in ("rekognition_analyzer", "custom_analyzer"):
            env = run.one("aws:lambda/function:Function", f"moderation-{fn}-function").inputs[
                "environment"
            ]["variables"]
            assert env["REVIEW_QUEUE_WARN"] == expected


def test_the_sweeper_measures_the_queue_through_the_review_index(run):
    table = jobs_table(run).outputs["arn"]
    queried = {
        r
        for stmt in policy_of(run, "sweeper")["Statement"]
        if "dynamodb:Query" in stmt["Action"]
        for r in stmt["Resource"]
    }
    assert f"{table}/index/{REVIEW_INDEX}" in queried


def test_an_alarm_fires_when_the_oldest_review_waits_too_long():
    run = run_program({"review": {"maxAgeMinutes": 45}, "sweepRateMinutes": 5})
    alarm = run.one("aws:cloudwatch/metricAlarm:MetricAlarm", "moderation-review-oldest-age").inputs
    assert (alarm["namespace"], alarm["metricName"]) == ("Moderation", "OldestReviewAgeSeconds")
    assert alarm["dimensions"] == {"service": "sweeper"}
    assert alarm["statistic"] == "Maximum" and alarm["threshold"] == 45 * 60
    assert alarm["comparisonOperator"] == "GreaterThanThreshold"
    # one datapoint per sweep: the period follows the schedule (CloudWatch: a multiple of
    # 60 s, and period x evaluation periods at most one day)
    assert alarm["period"] == 300 and alarm["period"] % 60 == 0
    assert alarm["period"] * alarm["evaluationPeriods"] <= 86400
    assert "moderation-test-review-oldest-age" in run.exports["alarm_names"]


def test_the_slowest_sweep_schedule_still_fits_an_alarm():
    run = run_program({"sweepRateMinutes": 1440})
    alarm = run.one("aws:cloudwatch/metricAlarm:MetricAlarm", "moderation-review-oldest-age").inputs
    assert alarm["period"] * alarm["evaluationPeriods"] <= 86400


def test_with_edge_auth_the_user_pool_gets_the_moderator_group(jwks_file):  # noqa: F811
    run, _ = edge_run(jwks_file)
    group = run.one("aws:cognito/userGroup:UserGroup", "edge-auth-moderators").inputs
    pool = run.one("aws:cognito/userPool:UserPool")
    assert group["name"] == "moderators"
    assert group["userPoolId"] == pool.id
    # and the operators group that manages hash banks (moderation:banks.operatorGroup)
    operators = run.one("aws:cognito/userGroup:UserGroup", "edge-auth-operators").inputs
    assert (operators["name"], operators["userPoolId"]) == ("operators", pool.id)
    assert not run_program().of_type("aws:cognito/userGroup:UserGroup"), "no pool, no group"


def test_a_verdict_write_passes_the_stream_filter_the_notifier_and_exporter_share(run):
    mapping = next(
        m.inputs
        for m in run.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
        if m.name == "moderation-notifier-stream"
    )
    filters = [f["pattern"] for f in mapping["filterCriteria"]["filters"]]
    verdict = {
        "eventName": "MODIFY",
        "dynamodb": {
            "NewImage": {"status": {"S": "complete"}, "review_state": {"S": "reviewed"}},
            "OldImage": {"status": {"S": "complete"}, "review_state": {"S": "pending"}},
        },
    }
    assert passes_filters(filters, verdict)
    # Lambda allows 5 filters per event source mapping by default.
    assert len(filters) <= 5


@pytest.mark.parametrize(
    ("review_settings", "fragment"),
    [
        ({"moderatorGroup": "two words"}, "review.moderatorGroup"),
        ({"moderatorGroup": ""}, "review.moderatorGroup"),
        ({"moderatorGroup": "x" * 129}, "review.moderatorGroup"),
        ({"maxAgeMinutes": 0}, "review.maxAgeMinutes"),
        ({"maxAgeMinutes": 90 * 1440}, "review.maxAgeMinutes"),
        ({"imageUrlSeconds": 30}, "review.imageUrlSeconds"),
        ({"imageUrlSeconds": 7 * 86400}, "review.imageUrlSeconds"),
        ({"moderatorGrup": "x"}, "did you mean moderatorGroup"),
    ],
)
def test_wrong_review_settings_fail_preview_naming_the_setting(review_settings, fragment):
    with pytest.raises(ConfigError) as err:
        settings_from_mapping("test", {**BASE_CONFIG, "review": review_settings})
    assert fragment in str(err.value)


def test_review_throttling_is_validated_like_the_other_routes():
    with pytest.raises(ConfigError) as err:
        settings_from_mapping(
            "test", {**BASE_CONFIG, "throttling": {"reviews": {"rate": 0, "burst": 1}}}
        )
    assert "throttling.reviews" in str(err.value)


def test_the_default_group_is_a_name_the_claim_parser_reads_back():
    s = settings_from_mapping("test", dict(BASE_CONFIG))
    group = s.review.moderator_group
    assert review.parse_groups(f"[{group} other]") == {group, "other"}
    assert json.dumps(group) == '"moderators"'
