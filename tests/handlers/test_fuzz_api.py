"""Property tests of the API handlers: arbitrary requests never 5xx, never store a
rejected upload, and never reveal another user's job. Responses match openapi.yaml."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from local.tools import fixtures
from tests.support.inprocess import api_event, build_stack
from tests.support.paths import ROOT

SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text())
ERRORS = set(SPEC["components"]["schemas"]["Error"]["properties"]["error"]["enum"])
POST_CODES = {int(c) for c in SPEC["paths"]["/jobs"]["post"]["responses"]}
GET_CODES = {int(c) for c in SPEC["paths"]["/jobs/{job_id}"]["get"]["responses"]}

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def api():
    with mock_aws():
        stack = build_stack()
        yield stack


def stored(stack) -> tuple[int, int, int]:
    s3, ddb, sqs = stack.client("s3"), stack.client("dynamodb"), stack.client("sqs")
    objects = s3.list_objects_v2(Bucket=stack.exports["upload_bucket"]).get("KeyCount", 0)
    items = ddb.scan(TableName=stack.exports["jobs_table"], Select="COUNT")["Count"]
    queued = int(
        sqs.get_queue_attributes(
            QueueUrl=stack.exports["processing_queue_url"],
            AttributeNames=["ApproximateNumberOfMessages"],
        )["Attributes"]["ApproximateNumberOfMessages"]
    )
    return objects, items, queued


def check_error_shape(resp: dict) -> dict:
    body = json.loads(resp["body"])
    assert set(body) == {"error", "message"}, body
    assert body["error"] in ERRORS, body
    return body


content_types = st.one_of(
    st.sampled_from(
        [
            "image/png",
            "image/jpeg",
            "image/webp",
            "application/json",
            "image/gif",
            "text/plain",
            "",
            "IMAGE/PNG",
            "image/png; charset=utf-8",
            "application/octet-stream",
            "multipart/form-data; boundary=x",
        ]
    ),
    st.text(max_size=40),
)
image_prefixes = st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF\0\0\0\0WEBP"])
bodies = st.one_of(
    st.binary(max_size=2048),
    st.builds(lambda p, rest: p + rest, image_prefixes, st.binary(max_size=2048)),
    st.builds(lambda d, n: d[:n], st.just(fixtures.png(64, 64, seed=5)), st.integers(0, 2000)),
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False)
        | st.text(max_size=20),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=12), c, max_size=3),
        max_leaves=6,
    ).map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {
            "content_type": st.sampled_from(["image/png", "image/gif", "x", ""]),
            "size_bytes": st.one_of(st.integers(-5, 20_000_000), st.text(max_size=5), st.none()),
        }
    ).map(lambda v: json.dumps(v).encode()),
)


@FUZZ
@given(
    content_type=content_types,
    body=bodies,
    key=st.one_of(st.none(), st.text(min_size=1, max_size=20)),
)
def test_upload_never_5xx_and_a_refusal_stores_nothing(api, content_type, body, key):
    before = stored(api)
    headers = {"content-type": content_type}
    if key is not None:
        headers["idempotency-key"] = key
    resp = api.invoke("upload", api_event("POST", "/jobs", body=body, headers=headers))
    status = resp["statusCode"]
    assert status < 500, resp
    assert status in POST_CODES, status
    after = stored(api)
    if status == 202:
        accepted = json.loads(resp["body"])
        assert accepted["status"] == "pending" and accepted["status_url"].endswith(
            accepted["job_id"]
        )
        assert after[1] >= before[1]
    else:
        check_error_shape(resp)
        assert after == before, f"a {status} left something behind"


@FUZZ
@given(
    job_id=st.one_of(st.uuids().map(str), st.text(max_size=60)),
    user=st.text(min_size=1, max_size=20),
)
def test_status_never_5xx_and_never_shows_another_users_job(api, job_id, user):
    resp = api.invoke(
        "status", api_event("GET", f"/jobs/{job_id}", user=user, path_params={"job_id": job_id})
    )
    assert resp["statusCode"] in GET_CODES and resp["statusCode"] < 500
    if resp["statusCode"] == 200:
        assert json.loads(resp["body"])["user_id"] == user
    else:
        check_error_shape(resp)


def test_a_real_job_is_invisible_to_every_other_user(api):
    resp = api.invoke(
        "upload",
        api_event(
            "POST",
            "/jobs",
            user="owner",
            body=fixtures.png(seed=77),
            headers={"content-type": "image/png"},
        ),
    )
    job_id = json.loads(resp["body"])["job_id"]

    @FUZZ
    @given(user=st.text(min_size=1, max_size=30).filter(lambda u: u != "owner"))
    def others(user):
        got = api.invoke(
            "status", api_event("GET", f"/jobs/{job_id}", user=user, path_params={"job_id": job_id})
        )
        assert got["statusCode"] == 404

    others()
    mine = api.invoke(
        "status", api_event("GET", f"/jobs/{job_id}", user="owner", path_params={"job_id": job_id})
    )
    assert mine["statusCode"] == 200


# --- the review routes ------------------------------------------------------------------------

REVIEWS_CODES = {int(c) for c in SPEC["paths"]["/reviews"]["get"]["responses"]}
VERDICT_CODES = {int(c) for c in SPEC["paths"]["/jobs/{job_id}/review"]["post"]["responses"]}
group_claims = st.one_of(
    st.none(),
    st.sampled_from(["[moderators]", "[users]", "[moderators-prod]", "[admins moderators]", "[]"]),
    st.text(max_size=30),
)


def reviewing(api, user, groups, **kw) -> dict:
    claims = {"cognito:groups": groups} if groups is not None else None
    return api.invoke("review", api_event(user=user, claims=claims, **kw))


def table_items(stack) -> list[dict]:
    items = stack.client("dynamodb").scan(TableName=stack.exports["jobs_table"])["Items"]
    return sorted(items, key=lambda i: i["job_id"]["S"])


@FUZZ
@given(
    limit=st.one_of(st.none(), st.text(max_size=6), st.integers(-5, 500).map(str)),
    cursor=st.one_of(st.none(), st.text(max_size=80)),
    groups=group_claims,
    user=st.one_of(st.none(), st.text(min_size=1, max_size=10)),
)
def test_review_queue_never_5xx_and_answers_moderators_only(api, limit, cursor, groups, user):
    query = {k: v for k, v in (("limit", limit), ("cursor", cursor)) if v is not None}
    resp = reviewing(
        api, user, groups, method="GET", path="/reviews", route_key="GET /reviews", query=query
    )
    status = resp["statusCode"]
    assert status in REVIEWS_CODES and status < 500, resp
    if status == 200:
        assert user and "moderators" in (groups or "").strip("[]").split()
        body = json.loads(resp["body"])
        assert set(body) == {"items", "cursor", "image_url_expires_in"}
    else:
        check_error_shape(resp)


@FUZZ
@given(
    job_id=st.one_of(st.uuids().map(str), st.text(max_size=40)),
    body=st.one_of(
        st.none(),
        st.binary(max_size=64),
        st.fixed_dictionaries(
            {"decision": st.sampled_from(["approve", "reject", "review", "warn", "", "x"])},
            optional={
                "note": st.one_of(st.text(max_size=30), st.integers()),
                "reviewer": st.text(),
            },
        ).map(json.dumps),
    ),
    groups=group_claims,
)
def test_verdicts_never_5xx_and_a_refusal_writes_nothing(api, job_id, body, groups):
    before = table_items(api)
    resp = reviewing(
        api,
        "fuzz-moderator",
        groups,
        method="POST",
        path=f"/jobs/{job_id}/review",
        route_key="POST /jobs/{job_id}/review",
        body=body,
        path_params={"job_id": job_id},
    )
    status = resp["statusCode"]
    assert status in VERDICT_CODES and status < 500, resp
    assert status != 200, "no job of this module is awaiting review"
    check_error_shape(resp)
    assert table_items(api) == before
