"""The review API on in-process moto: the queue, verdicts, refusals, races, notifications.

Jobs reach review the way the pipeline puts them there (claim, both analyzers, the
finalize write); the review function runs in-process with its declared environment;
notifications come from the notifier over the table's real stream records.
"""

from __future__ import annotations

import inspect
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests

from common import analysis, jobs, review
from common.contract import REVIEW_INDEX
from common.decision import Rules
from common.timeutil import iso, utcnow
from local.tools import fixtures
from tests.support.helpers import accept, job, put_job
from tests.support.inprocess import (
    api_event,
    notifications,
    stream_records,
    subscribe_queue,
)

RULES = Rules(min_confidence=50, reject_threshold=90, unsafe_categories=("Violence", "Explicit"))
MODERATE = {
    "labels": [
        {"name": "Violence", "confidence": 72.0, "parent": "", "top_level": "Violence"},
        {
            "name": "Graphic Violence",
            "confidence": 71.0,
            "parent": "Violence",
            "top_level": "Violence",
        },
    ],
    "model_version": "7.0",
}
CLEAN_REK = {"labels": []}
CLEAN = {"signals": [], "scores": {"contrast": 0.4}}
BLANK = {
    "signals": [{"category": "off_topic", "score": 1.0, "evidence": ["blank"]}],
    "scores": {"contrast": 0.0},
}
MODERATORS = "[moderators]"  # cognito:groups as API Gateway hands it to Lambda
LIST = ("GET", "/reviews", "GET /reviews")


def table(stack) -> str:
    return stack.exports["jobs_table"]


def finish(stack, job_id: str, rekognition=MODERATE, custom=CLEAN, queue_warn=False):
    ddb = stack.client("dynamodb")
    jobs.claim_for_analysis(ddb, table(stack), job_id, utcnow(), 30)
    for branch, result in (("custom", custom), ("rekognition", rekognition)):
        analysis.complete_branch(
            ddb, table(stack), job_id, branch, result, RULES, utcnow, queue_warn=queue_warn
        )
    return job(stack, job_id)


def awaiting(stack, n: int = 1, **kw) -> list[str]:
    """`n` jobs the pipeline put in the review queue, oldest first."""
    ids = []
    for _ in range(n):
        job_id = str(uuid.uuid4())
        put_job(stack, job_id, "pending", utcnow())
        assert finish(stack, job_id, **kw)["review_state"] == "pending"
        ids.append(job_id)
    return ids


def call(
    stack,
    method: str,
    path: str,
    route: str,
    user: str | None = "mod-1",
    groups: str | None = MODERATORS,
    body: str | bytes | None = None,
    job_id: str | None = None,
    query: dict | None = None,
) -> tuple[int, dict]:
    event = api_event(
        method,
        path,
        user=user,
        body=body,
        claims={"cognito:groups": groups} if groups is not None else None,
        path_params={"job_id": job_id} if job_id is not None else None,
        route_key=route,
        query=query,
    )
    resp = stack.invoke("review", event)
    return resp["statusCode"], json.loads(resp["body"])


def verdict(stack, job_id: str, decision: str, note: str = "", **kw) -> tuple[int, dict]:
    body = json.dumps({"decision": decision, "note": note})
    path = f"/jobs/{job_id}/review"
    return call(stack, "POST", path, "POST /jobs/{job_id}/review", body=body, job_id=job_id, **kw)


def snapshot(stack) -> list[dict]:
    items = stack.client("dynamodb").scan(TableName=table(stack))["Items"]
    return sorted(items, key=lambda i: i["job_id"]["S"])


# --- into the queue ------------------------------------------------------------------------


def test_a_review_decision_is_queued_in_the_finalize_write_itself(stack):
    job_id = str(uuid.uuid4())
    put_job(stack, job_id, "pending", utcnow())
    ddb = stack.client("dynamodb")
    jobs.claim_for_analysis(ddb, table(stack), job_id, utcnow(), 30)
    analysis.complete_branch(ddb, table(stack), job_id, "custom", CLEAN, RULES, utcnow)
    calls: list[str] = []
    ddb.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    report = analysis.complete_branch(
        ddb, table(stack), job_id, "rekognition", MODERATE, RULES, utcnow
    )
    assert report.finalized and report.decision == "review"
    assert calls == ["UpdateItem", "UpdateItem"], "the result write and finalize, nothing more"
    record = job(stack, job_id)
    assert (record["status"], record["decision"], record["review_state"]) == (
        "complete",
        "review",
        "pending",
    )
    index = ddb.query(
        TableName=table(stack),
        IndexName=REVIEW_INDEX,
        KeyConditionExpression="review_state = :p",
        ExpressionAttributeValues={":p": {"S": "pending"}},
    )
    assert [i["job_id"]["S"] for i in index["Items"]] == [job_id]


def test_other_decisions_stay_out_of_the_index_and_warn_joins_only_when_configured(stack):
    approve, warn, warn_queued = (str(uuid.uuid4()) for _ in range(3))
    for job_id in (approve, warn, warn_queued):
        put_job(stack, job_id, "pending", utcnow())
    assert "review_state" not in finish(stack, approve, CLEAN_REK, CLEAN)
    assert "review_state" not in finish(stack, warn, CLEAN_REK, BLANK)
    queued = finish(stack, warn_queued, CLEAN_REK, BLANK, queue_warn=True)
    assert (queued["decision"], queued["review_state"]) == ("warn", "pending")
    status, page = call(stack, *LIST)
    assert status == 200 and [i["job_id"] for i in page["items"]] == [warn_queued]


# --- the queue -----------------------------------------------------------------------------


def test_the_queue_lists_oldest_first_with_what_a_moderator_needs(stack):
    ids = awaiting(stack, 3)
    status, page = call(stack, *LIST)
    assert status == 200
    assert [i["job_id"] for i in page["items"]] == ids
    first = page["items"][0]
    assert first["decision"] == "review" and first["reasons"][0].startswith("rekognition: ")
    assert first["categories"] == ["Violence", "Graphic Violence"]
    assert first["scores"]["rekognition:Violence"] == 72.0
    assert first["scores"]["custom:contrast"] == 0.4
    assert first["age_seconds"] >= 0
    assert page["cursor"] is None and page["image_url_expires_in"] == 300
    assert "X-Amz-Signature=" in first["image_url"] and "X-Amz-Expires=300" in first["image_url"]


def test_the_presigned_url_serves_the_original(stack):
    image = fixtures.png(seed=5)
    job_id = accept(stack, image)
    finish(stack, job_id)
    _, page = call(stack, *LIST)
    (item,) = page["items"]
    got = requests.get(item["image_url"], timeout=10)
    assert got.status_code == 200 and got.content == image


def test_pages_follow_the_cursor_without_gaps_or_repeats(stack):
    ids = awaiting(stack, 5)
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        status, page = call(stack, *LIST, query=query)
        assert status == 200 and len(page["items"]) <= 2
        seen += [i["job_id"] for i in page["items"]]
        pages += 1
        cursor = page["cursor"]
        if not cursor:
            break
    assert seen == ids and pages >= 3


def test_listing_a_page_is_one_query_and_nothing_else(stack):
    awaiting(stack, 4)
    ddb = stack.client("dynamodb")
    calls: list[str] = []
    ddb.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    page = review.list_queue(ddb, table(stack), utcnow(), limit=10)
    assert len(page.items) == 4 and calls == ["Query"]


@pytest.mark.parametrize(
    "query",
    [{"limit": "0"}, {"limit": "1000"}, {"limit": "x"}, {"cursor": "garbage!"}],
)
def test_bad_query_parameters_are_400(stack, query):
    status, body = call(stack, *LIST, query=query)
    assert status == 400 and body["error"] == "invalid_request"


# --- verdicts ------------------------------------------------------------------------------


def test_a_verdict_keeps_the_automatic_decision_and_records_who_when_and_why(stack):
    (job_id,) = awaiting(stack)
    before = job(stack, job_id)
    status, body = verdict(stack, job_id, "reject", "graphic, per policy 4.2", user="mod-7")
    assert status == 200
    assert (body["decision"], body["automatic_decision"], body["review_state"]) == (
        "reject",
        "review",
        "reviewed",
    )
    after = job(stack, job_id)
    assert after["decision"] == "reject" and after["automatic_decision"] == "review"
    assert after["reasons"] == before["reasons"], "the rules' reasons stay"
    assert after["review"]["reviewer"] == "mod-7" and after["review"]["via"] == "api"
    assert after["review"]["note"] == "graphic, per policy 4.2"
    assert after["review"]["reviewed_at"].endswith("Z")
    assert after["updated_at"] == after["review"]["reviewed_at"]
    assert after["completed_at"] == before["completed_at"]
    # it has left the queue
    _, page = call(stack, *LIST)
    assert page["items"] == []


def test_a_second_verdict_is_409_and_changes_nothing(stack):
    (job_id,) = awaiting(stack)
    assert verdict(stack, job_id, "approve", "fine")[0] == 200
    before = snapshot(stack)
    status, body = verdict(stack, job_id, "reject", "changed my mind", user="mod-2")
    assert (status, body["error"]) == (409, "already_reviewed")
    assert set(body) == {"error", "message"}
    assert snapshot(stack) == before
    # a retried identical request is a second verdict too
    assert verdict(stack, job_id, "approve", "fine")[0] == 409


def test_a_verdict_is_one_conditional_write(stack):
    (job_id,) = awaiting(stack)
    ddb = stack.client("dynamodb")
    calls: list[str] = []
    ddb.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    review.record_verdict(
        ddb, table(stack), job_id, review.ModeratorVerdict(review.Decision.APPROVE), "m", utcnow()
    )
    with pytest.raises(review.Refused):
        review.record_verdict(
            ddb,
            table(stack),
            job_id,
            review.ModeratorVerdict(review.Decision.REJECT),
            "m2",
            utcnow(),
        )
    assert calls == ["UpdateItem", "UpdateItem"], "no read before or after either write"


def test_the_reviewer_is_the_token_subject_never_the_body(stack):
    (job_id,) = awaiting(stack)
    body = json.dumps({"decision": "approve", "reviewer": "someone-else"})
    status, err = call(
        stack,
        "POST",
        f"/jobs/{job_id}/review",
        "POST /jobs/{job_id}/review",
        body=body,
        job_id=job_id,
    )
    assert status == 400 and "reviewer" in err["message"]
    assert verdict(stack, job_id, "approve", user="sub-of-the-token")[0] == 200
    assert job(stack, job_id)["review"]["reviewer"] == "sub-of-the-token"


# --- refusals: nothing written -------------------------------------------------------------


def bad_requests(job_id: str, never_queued: str) -> list[tuple[dict, int, str]]:
    path, route = f"/jobs/{job_id}/review", "POST /jobs/{job_id}/review"
    post = {"method": "POST", "path": path, "route": route, "job_id": job_id}
    unknown = str(uuid.uuid4())
    return [
        ({**post, "body": None}, 400, "empty_body"),
        ({**post, "body": "{nope"}, 400, "invalid_json"),
        ({**post, "body": "[1]"}, 400, "invalid_request"),
        ({**post, "body": '{"decision": "maybe"}'}, 400, "invalid_request"),
        ({**post, "body": '{"decision": "review"}'}, 400, "invalid_request"),
        (
            {**post, "body": json.dumps({"decision": "approve", "note": "x" * 2001})},
            400,
            "invalid_request",
        ),
        ({**post, "body": b"\x89PNG\r\n"}, 400, "invalid_json"),
        (
            {
                **post,
                "path": f"/jobs/{unknown}/review",
                "job_id": unknown,
                "body": '{"decision": "approve"}',
            },
            404,
            "not_found",
        ),
        (
            {
                **post,
                "path": "/jobs/x/review",
                "job_id": "not-a-uuid",
                "body": '{"decision": "approve"}',
            },
            404,
            "not_found",
        ),
        (
            {
                **post,
                "path": f"/jobs/{never_queued}/review",
                "job_id": never_queued,
                "body": '{"decision": "reject"}',
            },
            409,
            "not_awaiting_review",
        ),
    ]


def test_bad_input_is_a_json_4xx_and_writes_nothing(stack):
    (job_id,) = awaiting(stack)
    never_queued = str(uuid.uuid4())
    put_job(stack, never_queued, "pending", utcnow())
    finish(stack, never_queued, CLEAN_REK, CLEAN)
    for request, status, code in bad_requests(job_id, never_queued):
        before = snapshot(stack)
        got, body = call(stack, **request)
        assert (got, body.get("error")) == (status, code), request
        assert set(body) == {"error", "message"}
        assert snapshot(stack) == before, f"{code} wrote something"
    assert job(stack, job_id)["review_state"] == "pending"


@pytest.mark.parametrize(
    ("user", "groups", "status"),
    [
        (None, None, 401),
        ("u-1", None, 403),
        ("u-1", "[users]", 403),
        ("u-1", "[moderators-prod]", 403),  # another stack's group
        ("u-1", "[users moderators2]", 403),
    ],
)
def test_only_moderators_reach_either_route(stack, user, groups, status):
    (job_id,) = awaiting(stack)
    before = snapshot(stack)
    got, body = call(stack, *LIST, user=user, groups=groups)
    assert got == status and set(body) == {"error", "message"}
    got, body = verdict(stack, job_id, "approve", user=user, groups=groups)
    assert got == status and set(body) == {"error", "message"}
    assert snapshot(stack) == before


def test_a_moderator_of_several_groups_is_a_moderator(stack):
    (job_id,) = awaiting(stack)
    assert call(stack, *LIST, groups="[admins moderators]")[0] == 200
    assert verdict(stack, job_id, "approve", groups="[admins moderators]")[0] == 200


# --- notifications and the race ------------------------------------------------------------


def run_notifier(stack) -> dict:
    return stack.invoke("notifier", {"Records": stream_records(stack)})


def test_the_first_notification_says_awaiting_review_and_the_verdict_sends_one_more(stack):
    queue = subscribe_queue(stack)
    (job_id,) = awaiting(stack)
    assert run_notifier(stack) == {"batchItemFailures": []}
    (first,) = notifications(stack, queue)
    assert (first["event"], first["decision"], first["review_state"]) == (
        "awaiting_review",
        "review",
        "pending",
    )
    verdict(stack, job_id, "approve", "looks staged", user="mod-3")
    assert run_notifier(stack) == {"batchItemFailures": []}
    (second,) = notifications(stack, queue)
    assert second["event"] == "reviewed" and second["decision"] == "approve"
    assert second["automatic_decision"] == "review"
    assert second["review"]["reviewer"] == "mod-3" and second["review"]["note"] == "looks staged"
    assert set(second) == {
        "job_id",
        "user_id",
        "status",
        "decision",
        "reasons",
        "completed_at",
        "event",
        "review_state",
        "automatic_decision",
        "review",
    }


def test_two_moderators_racing_on_200_jobs_give_one_verdict_and_one_notification_each(stack):
    queue = subscribe_queue(stack)
    ids = awaiting(stack, 200)
    before = stream_records(stack)
    assert stack.invoke("notifier", {"Records": before}) == {"batchItemFailures": []}
    assert {m["event"] for m in notifications(stack, queue)} == {"awaiting_review"}

    results: dict[str, dict[str, int]] = {j: {} for j in ids}
    barriers = {j: threading.Barrier(2) for j in ids}
    with stack.environment("review"):
        import review.handler as review_handler  # the function's own module, as Lambda loads it

        handler = inspect.unwrap(review_handler.handler)  # without Powertools' decorators

        def submit(job_id: str, who: str, decision: str) -> None:
            event = api_event(
                "POST",
                f"/jobs/{job_id}/review",
                user=who,
                body=json.dumps({"decision": decision, "note": f"{who} says {decision}"}),
                claims={"cognito:groups": MODERATORS},
                path_params={"job_id": job_id},
                route_key="POST /jobs/{job_id}/review",
            )
            barriers[job_id].wait()
            resp = handler(event, None)
            results[job_id][who] = resp["statusCode"]
            if resp["statusCode"] == 409:
                assert json.loads(resp["body"])["error"] == "already_reviewed"

        with ThreadPoolExecutor(max_workers=16) as pool:
            futures = []
            for j in ids:
                futures.append(pool.submit(submit, j, "mod-a", "approve"))
                futures.append(pool.submit(submit, j, "mod-b", "reject"))
            for f in futures:
                f.result()
        review_handler.metrics.clear_metrics()

    winners = {}
    for j in ids:
        assert sorted(results[j].values()) == [200, 409], (j, results[j])
        winner = next(who for who, code in results[j].items() if code == 200)
        record = job(stack, j)
        assert record["review"]["reviewer"] == winner
        assert record["decision"] == {"mod-a": "approve", "mod-b": "reject"}[winner]
        winners[j] = winner

    # the verdicts' stream records, delivered, then delivered again (a replayed batch)
    verdicts = stream_records(stack)[len(before) :]
    assert len(verdicts) == len(ids), "one stream record per verdict: the loser wrote nothing"
    for _ in range(2):
        assert stack.invoke("notifier", {"Records": verdicts}) == {"batchItemFailures": []}
    sent = notifications(stack, queue)
    reviewed = [m for m in sent if m["event"] == "reviewed"]
    assert sorted(m["job_id"] for m in reviewed) == sorted(ids), "one reviewed notification per job"
    assert len(sent) == len(reviewed), "the replay re-sent nothing"
    for m in reviewed:
        assert m["review"]["reviewer"] == winners[m["job_id"]]


def test_a_moderator_may_not_decide_their_own_upload(stack):
    """Their verdict would become the stored verdict for every identical upload."""
    job_id = accept(stack, fixtures.png(seed=31), user="mod-7")
    assert finish(stack, job_id)["review_state"] == "pending"
    before = snapshot(stack)
    status, body = verdict(stack, job_id, "approve", user="mod-7")
    assert status == 403 and body["error"] == "own_upload"
    assert "another moderator" in body["message"]
    assert snapshot(stack) == before, "a refused verdict writes nothing"
    assert verdict(stack, job_id, "approve", user="mod-1")[0] == 200


def test_the_queue_marks_the_moderators_own_uploads(stack):
    mine = accept(stack, fixtures.png(seed=32), user="mod-7")
    theirs = accept(stack, fixtures.png(seed=33), user="someone")
    for job_id in (mine, theirs):
        finish(stack, job_id)

    def marks(user: str) -> dict[str, bool]:
        status, body = call(stack, *LIST, user=user)
        assert status == 200
        return {i["job_id"]: i["own_upload"] for i in body["items"]}

    assert marks("mod-7") == {mine: True, theirs: False}
    assert marks("mod-1") == {mine: False, theirs: False}


def test_the_status_api_shows_the_owner_the_outcome_but_not_the_moderator(stack):
    job_id = accept(stack, fixtures.png(seed=8), user="owner")
    finish(stack, job_id)

    def status_of() -> dict:
        resp = stack.invoke(
            "status",
            api_event("GET", f"/jobs/{job_id}", user="owner", path_params={"job_id": job_id}),
        )
        return json.loads(resp["body"])

    assert status_of()["review_state"] == "pending"
    verdict(stack, job_id, "reject", "internal note", user="mod-9")
    view = status_of()
    assert (view["decision"], view["review_state"]) == ("reject", "reviewed")
    # What the rules decided before the moderator is the moderators' business.
    assert "automatic_decision" not in view
    assert set(view["review"]) == {"decision", "reviewed_at"}
    assert "mod-9" not in json.dumps(view) and "internal note" not in json.dumps(view)


def test_the_exporter_keeps_the_row_of_the_automatic_decision(stack):
    from common import export

    (job_id,) = awaiting(stack)
    verdict(stack, job_id, "approve")
    rows = [export.export_row(r) for r in stream_records(stack)]
    exported = [r for r in rows if r is not None and r.job_id == job_id]
    assert len(exported) == 1
    assert json.loads(exported[0].line)["decision"] == "review"


def test_the_sweeper_measures_the_backlog_and_the_oldest_wait(stack):
    ids = awaiting(stack, 3)
    ddb = stack.client("dynamodb")
    # make the first one an hour old
    ddb.update_item(
        TableName=table(stack),
        Key={"job_id": {"S": ids[0]}},
        UpdateExpression="SET completed_at = :t",
        ExpressionAttributeValues={":t": {"S": iso(utcnow() - timedelta(hours=1))}},
    )
    summary = stack.invoke("sweeper", {})
    assert summary["review_backlog"] == 3 and summary["review_backlog_at_least"] is False
    assert summary["oldest_review_job_id"] == ids[0]
    assert 3590 <= summary["oldest_review_age_seconds"] <= 3700
    verdict(stack, ids[0], "approve")
    summary = stack.invoke("sweeper", {})
    assert summary["review_backlog"] == 2 and summary["oldest_review_age_seconds"] < 600


def test_the_backlog_figure_saturates_at_its_cap_and_says_so(stack):
    awaiting(stack, 4)
    stats = review.queue_stats(stack.client("dynamodb"), table(stack), utcnow(), cap=3)
    assert (stats.backlog, stats.at_least) == (3, True)
    stats = review.queue_stats(stack.client("dynamodb"), table(stack), utcnow(), cap=10)
    assert (stats.backlog, stats.at_least) == (4, False)
