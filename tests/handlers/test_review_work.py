"""Claims, appeals and QA on in-process moto: the review function's further routes.

Jobs reach their queues the way the pipeline puts them there (claim, both analyzers,
the finalize write); the review function runs in-process with its declared environment;
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
from moto import mock_aws

from common import analysis, jobs, qa
from common.contract import JobAttr, WorkQueue
from common.timeutil import iso, utcnow
from tests.handlers.test_review import (
    CLEAN,
    CLEAN_REK,
    MODERATORS,
    RULES,
    awaiting,
    call,
    snapshot,
    table,
    verdict,
)
from tests.support.helpers import job, put_job
from tests.support.inprocess import api_event, notifications, stream_records, subscribe_queue

REJECTED = {
    "labels": [{"name": "Violence", "confidence": 97.0, "parent": "", "top_level": "Violence"}],
    "model_version": "7.0",
}
CLAIM = ("POST", "/reviews/claim", "POST /reviews/claim")


def claim(stack, user: str, queue: str | None = None, count: int | None = None, **kw):
    doc = {k: v for k, v in (("queue", queue), ("count", count)) if v is not None}
    return call(stack, *CLAIM, user=user, body=json.dumps(doc) if doc else None, **kw)


def release(stack, job_id: str, user: str, queue: str = "review"):
    return call(
        stack,
        "POST",
        f"/reviews/{job_id}/release",
        "POST /reviews/{job_id}/release",
        user=user,
        body=json.dumps({"queue": queue}),
        job_id=job_id,
    )


def decided(stack, rekognition=REJECTED, owner: str = "u", sha: str | None = None) -> str:
    """A job the rules decided (reject by default), uploaded by `owner`."""
    job_id = str(uuid.uuid4())
    put_job(stack, job_id, "pending", utcnow())
    ddb = stack.client("dynamodb")
    if owner != "u":
        ddb.update_item(
            TableName=table(stack),
            Key={"job_id": {"S": job_id}},
            UpdateExpression="SET user_id = :u",
            ExpressionAttributeValues={":u": {"S": owner}},
        )
    key = f"{sha}#digest" if sha else None
    jobs.claim_for_analysis(ddb, table(stack), job_id, utcnow(), 30, verdict_key=key)
    # The finalizing analyzer's Completion, from its declared environment (QA sampling).
    with stack.environment("custom_analyzer"):
        completion = analysis.completion_from_env(lambda: None)
    for branch, result in (("custom", CLEAN), ("rekognition", rekognition)):
        analysis.complete_branch(
            ddb, table(stack), job_id, branch, result, RULES, utcnow, completion=completion
        )
    return job_id


def appeal(stack, job_id: str, user: str = "u", message: str = "it is a film still"):
    event = api_event(
        "POST",
        f"/jobs/{job_id}/appeal",
        user=user,
        body=json.dumps({"message": message}),
        path_params={"job_id": job_id},
        route_key="POST /jobs/{job_id}/appeal",
    )
    resp = stack.invoke("review", event)
    return resp["statusCode"], json.loads(resp["body"])


def decide_appeal(stack, job_id: str, user: str, outcome: str, note: str = "n"):
    body = json.dumps({"outcome": outcome, "note": note})
    path = f"/jobs/{job_id}/appeal/decision"
    return call(
        stack,
        "POST",
        path,
        "POST /jobs/{job_id}/appeal/decision",
        user=user,
        body=body,
        job_id=job_id,
    )


def decide_qa(stack, job_id: str, user: str, decision: str):
    body = json.dumps({"decision": decision})
    return call(
        stack,
        "POST",
        f"/jobs/{job_id}/qa",
        "POST /jobs/{job_id}/qa",
        user=user,
        body=body,
        job_id=job_id,
    )


def owner_view(stack, job_id: str, user: str = "u") -> dict:
    resp = stack.invoke(
        "status", api_event("GET", f"/jobs/{job_id}", user=user, path_params={"job_id": job_id})
    )
    return json.loads(resp["body"])


# --- claims ----------------------------------------------------------------------------------


def test_a_claim_leases_the_oldest_items_and_a_second_moderator_gets_the_next(stack):
    ids = awaiting(stack, 3)
    status, body = claim(stack, "mod-a", count=2)
    assert status == 200 and body["queue"] == "review"
    assert [i["job_id"] for i in body["items"]] == ids[:2]
    first = body["items"][0]
    assert first["claim"]["claimed_by"] == "mod-a" and first["claim"]["waited_seconds"] >= 0
    assert first["claim"]["expires_at"] > int(utcnow().timestamp()) + 14 * 60
    status, body = claim(stack, "mod-b", count=5)
    assert [i["job_id"] for i in body["items"]] == ids[2:]
    assert claim(stack, "mod-c")[1]["items"] == []


def test_a_verdict_on_a_job_another_moderator_claimed_is_refused_until_released(stack):
    (job_id,) = awaiting(stack)
    assert claim(stack, "mod-a")[1]["items"][0]["job_id"] == job_id
    before = snapshot(stack)
    status, body = verdict(stack, job_id, "approve", user="mod-b")
    assert (status, body["error"]) == (409, "claimed_by_another")
    assert snapshot(stack) == before, "a refused verdict writes nothing"
    assert release(stack, job_id, "mod-b")[1]["error"] == "not_claimed"
    assert release(stack, job_id, "mod-a")[0] == 200
    assert verdict(stack, job_id, "reject", user="mod-b")[0] == 200


def test_the_claimant_decides_and_an_expired_claim_returns_the_item_to_the_queue(stack):
    first, second = awaiting(stack, 2)
    ddb = stack.client("dynamodb")
    # mod-a claimed the first 20 minutes ago (the claim lasts 15): it is back in the queue.
    won, _ = jobs.claim_job(
        ddb,
        table(stack),
        first,
        WorkQueue.REVIEW,
        JobAttr.REVIEW_STATE,
        "mod-a",
        utcnow() - timedelta(minutes=20),
        15,
    )
    assert won
    assert [i["job_id"] for i in claim(stack, "mod-b", count=2)[1]["items"]] == [first, second]
    assert verdict(stack, first, "approve", user="mod-a")[1]["error"] == "claimed_by_another"
    assert verdict(stack, first, "approve", user="mod-b")[0] == 200


def test_claim_requests_are_validated(stack):
    for body in ('{"queue": "elsewhere"}', '{"count": 0}', '{"count": 26}', '{"who": 1}', "[1]"):
        status, out = call(stack, *CLAIM, body=body)
        assert status == 400 and out["error"] in ("invalid_request", "invalid_json"), body
    assert call(stack, *CLAIM, groups="[users]")[0] == 403


def test_moderators_claiming_at_once_never_get_the_same_job(stack):
    ids = awaiting(stack, 40)
    moderators = [f"mod-{i}" for i in range(8)]
    barrier = threading.Barrier(len(moderators))
    got: dict[str, list[str]] = {}
    with stack.environment("review"):
        import review.handler as review_handler

        handler = inspect.unwrap(review_handler.handler)

        def take(who: str) -> None:
            event = api_event(
                "POST",
                "/reviews/claim",
                user=who,
                body=json.dumps({"count": 5}),
                claims={"cognito:groups": MODERATORS},
                route_key="POST /reviews/claim",
            )
            barrier.wait()
            resp = handler(event, None)
            assert resp["statusCode"] == 200, resp
            got[who] = [i["job_id"] for i in json.loads(resp["body"])["items"]]

        with ThreadPoolExecutor(max_workers=len(moderators)) as pool:
            for f in [pool.submit(take, m) for m in moderators]:
                f.result()
        review_handler.metrics.clear_metrics()
    handed = [j for taken in got.values() for j in taken]
    assert len(handed) == len(set(handed)), "no job is handed to two moderators"
    assert sorted(handed) == sorted(ids), "8 moderators x 5 cover the 40 jobs"
    for who, taken in got.items():
        for j in taken:
            assert job(stack, j)["review_claim_by"] == who


# --- appeals ---------------------------------------------------------------------------------


def test_the_owner_appeals_once_within_the_window_and_only_an_appealable_decision(stack):
    rejected = decided(stack)
    assert job(stack, rejected)["decision"] == "reject"
    assert appeal(stack, rejected, user="someone-else")[0] == 404
    assert appeal(stack, rejected, message="x" * 1001)[1]["error"] == "invalid_request"
    status, body = appeal(stack, rejected)
    assert status == 202 and body["state"] == "pending"
    assert appeal(stack, rejected)[1]["error"] == "already_appealed"
    approved = decided(stack, rekognition=CLEAN_REK)
    assert appeal(stack, approved)[1]["error"] == "not_appealable"
    (queued,) = awaiting(stack)
    assert appeal(stack, queued)[1]["error"] == "not_appealable", "not before the verdict"
    old = decided(stack)
    stack.client("dynamodb").update_item(
        TableName=table(stack),
        Key={"job_id": {"S": old}},
        UpdateExpression="SET completed_at = :t",
        ExpressionAttributeValues={":t": {"S": iso(utcnow() - timedelta(days=15))}},
    )
    assert appeal(stack, old)[1]["error"] == "appeal_window_closed"
    view = owner_view(stack, rejected)
    assert view["appeal"]["state"] == "pending" and "message" not in view["appeal"]


def test_an_appeal_is_decided_by_another_moderator_and_an_overturn_changes_the_decision(stack):
    queue = subscribe_queue(stack)
    sha = "a" * 64
    job_id = decided(stack, sha=sha)
    assert appeal(stack, job_id)[0] == 202
    stack.invoke("notifier", {"Records": stream_records(stack)})
    notifications(stack, queue)  # the terminal one
    mark = len(stream_records(stack))

    items = claim(stack, "mod-a", queue="appeal")[1]["items"]
    assert [i["job_id"] for i in items] == [job_id]
    assert items[0]["appeal"]["message"] == "it is a film still"
    assert items[0]["appeal"]["decision_before"] == "reject"
    assert decide_appeal(stack, job_id, "mod-b", "overturn")[1]["error"] == "claimed_by_another"
    assert decide_appeal(stack, job_id, "u", "overturn")[1]["error"] == "own_upload"
    status, body = decide_appeal(stack, job_id, "mod-a", "overturn", "a film still")
    assert status == 200 and body["decision"] == "approve"
    assert body["appeal"]["outcome"] == "overturn"
    assert decide_appeal(stack, job_id, "mod-a", "uphold")[1]["error"] == "appeal_decided"
    record = job(stack, job_id)
    assert (record["decision"], record["appeal_state"]) == ("approve", "decided")
    assert record["appeal"]["decided_by"] == "mod-a"
    stored = stack.client("dynamodb").get_item(
        TableName=stack.exports["verdicts_table"], Key={"verdict_key": {"S": f"{sha}#digest"}}
    )["Item"]
    assert (stored["decision"]["S"], stored["decided_by"]["S"]) == ("approve", "moderator")

    records = stream_records(stack)[mark:]
    for _ in range(2):  # a replayed batch sends nothing more
        assert stack.invoke("notifier", {"Records": records}) == {"batchItemFailures": []}
    (sent,) = notifications(stack, queue)
    assert sent["event"] == "appeal_decided" and sent["decision"] == "approve"
    assert sent["appeal"]["outcome"] == "overturn" and "mod-a" not in json.dumps(sent)

    view = owner_view(stack, job_id)
    assert view["decision"] == "approve"
    assert view["appeal"]["state"] == "decided" and view["appeal"]["outcome"] == "overturn"
    assert "mod-a" not in json.dumps(view) and "a film still" not in json.dumps(view)


def test_the_reviewer_may_not_decide_the_appeal_of_their_verdict(stack):
    (job_id,) = awaiting(stack)
    assert verdict(stack, job_id, "reject", user="mod-r")[0] == 200
    assert appeal(stack, job_id)[0] == 202
    assert claim(stack, "mod-r", queue="appeal")[1]["items"] == [], "not offered to them"
    assert decide_appeal(stack, job_id, "mod-r", "overturn")[1]["error"] == "own_review"
    status, body = decide_appeal(stack, job_id, "mod-s", "uphold")
    assert status == 200 and body["decision"] == "reject"


def test_moderators_racing_on_appeals_decide_each_once_with_one_notification(stack):
    queue = subscribe_queue(stack)
    ids = [decided(stack) for _ in range(30)]
    for j in ids:
        assert appeal(stack, j)[0] == 202
    stack.invoke("notifier", {"Records": stream_records(stack)})
    notifications(stack, queue)
    mark = len(stream_records(stack))
    results: dict[str, dict[str, int]] = {j: {} for j in ids}
    barriers = {j: threading.Barrier(2) for j in ids}
    with stack.environment("review"):
        import review.handler as review_handler

        handler = inspect.unwrap(review_handler.handler)

        def submit(job_id: str, who: str, outcome: str) -> None:
            event = api_event(
                "POST",
                f"/jobs/{job_id}/appeal/decision",
                user=who,
                body=json.dumps({"outcome": outcome}),
                claims={"cognito:groups": MODERATORS},
                path_params={"job_id": job_id},
                route_key="POST /jobs/{job_id}/appeal/decision",
            )
            barriers[job_id].wait()
            resp = handler(event, None)
            results[job_id][who] = resp["statusCode"]
            if resp["statusCode"] == 409:
                assert json.loads(resp["body"])["error"] == "appeal_decided"

        with ThreadPoolExecutor(max_workers=16) as pool:
            futures = []
            for j in ids:
                futures.append(pool.submit(submit, j, "mod-a", "uphold"))
                futures.append(pool.submit(submit, j, "mod-b", "overturn"))
            for f in futures:
                f.result()
        review_handler.metrics.clear_metrics()
    for j in ids:
        assert sorted(results[j].values()) == [200, 409], (j, results[j])
        winner = next(who for who, code in results[j].items() if code == 200)
        record = job(stack, j)
        assert record["appeal"]["decided_by"] == winner
        assert record["decision"] == {"mod-a": "reject", "mod-b": "approve"}[winner]
    records = stream_records(stack)[mark:]
    assert len(records) == len(ids), "the loser wrote nothing"
    assert stack.invoke("notifier", {"Records": records}) == {"batchItemFailures": []}
    sent = notifications(stack, queue)
    assert sorted(m["job_id"] for m in sent) == sorted(ids)
    assert {m["event"] for m in sent} == {"appeal_decided"}


# --- QA --------------------------------------------------------------------------------------


@pytest.fixture
def qa_stack():
    from tests.support.inprocess import build_stack

    with mock_aws():
        yield build_stack({"review": {"qaSampleRate": 1.0}})


def test_automatic_decisions_and_verdicts_are_sampled_and_checked_blind(qa_stack):
    stack = qa_stack
    automatic = decided(stack)
    assert job(stack, automatic)["qa"] == {"source": "rules", "original": "reject"}
    (reviewed,) = awaiting(stack)
    assert "qa_state" not in job(stack, reviewed), "a job awaiting review is sampled at its verdict"
    assert verdict(stack, reviewed, "approve", user="mod-r")[0] == 200
    assert job(stack, reviewed)["qa"]["original_reviewer"] == "mod-r"

    assert claim(stack, "mod-r", queue="qa", count=5)[1]["items"][0]["job_id"] == automatic
    items = claim(stack, "mod-q", queue="qa", count=5)[1]["items"]
    assert [i["job_id"] for i in items] == [reviewed]
    shown = json.dumps(items[0])
    assert "decision" not in items[0] and "reasons" not in items[0]
    assert "mod-r" not in shown and '"approve"' not in shown
    assert decide_qa(stack, reviewed, "mod-r", "approve")[1]["error"] == "own_review"
    status, body = decide_qa(stack, reviewed, "mod-q", "reject")
    assert status == 200 and body["agrees"] is False
    assert decide_qa(stack, reviewed, "mod-q", "reject")[1]["error"] == "qa_decided"
    status, body = decide_qa(stack, automatic, "mod-r", "reject")
    assert status == 200 and body["agrees"] is True
    record = job(stack, automatic)
    assert record["qa"]["reviewer"] == "mod-r" and record["qa_state"] == "decided"

    # The Calibration page reads them back from the indexes, each job once.
    from dashboard.data import calibration

    read = calibration.read_decided(stack.client("dynamodb"), table(stack))
    assert sorted(j["job_id"] for j in read) == sorted([automatic, reviewed])
    by_moderator = {r["moderator"]: r for r in calibration.qa_agreement(read, by="moderator")}
    assert by_moderator["rules"]["agreement"] == 1.0 and by_moderator["mod-r"]["agreement"] == 0.0


def test_qa_sampling_is_by_the_job_id_so_every_retry_agrees():
    ids = [str(uuid.UUID(int=i)) for i in range(4000)]
    picked = [j for j in ids if qa.sampled(j, 0.1)]
    assert 300 <= len(picked) <= 500
    assert picked == [j for j in ids if qa.sampled(j, 0.1)]
    assert not any(qa.sampled(j, 0.0) for j in ids) and all(qa.sampled(j, 1.0) for j in ids)
    assert set(picked) <= {j for j in ids if qa.sampled(j, 0.2)}, "a larger share keeps the smaller"
    assert qa.agrees("warn", "approve") and qa.agrees("reject", "reject")
    assert not qa.agrees("approve", "reject")


def test_a_decision_completed_from_a_stored_verdict_is_sampled_by_the_dispatcher(stack):
    from common import dispatch
    from local.tools import fixtures
    from tests.handlers import test_verdict_reuse as reuse_tests

    reuse = reuse_tests.config(stack)
    reuse_tests.rekognition_version(stack, "7.0")
    data = fixtures.png(seed=23)
    reuse_tests.decided(stack, data, reuse, reuse_tests.REK_EXPLICIT)
    second, sha = reuse_tests.upload(stack, data, user="user-2")
    plan = dispatch.Plan(reuse_tests.ANALYZERS, 30, reuse=reuse, rules=RULES, qa_rate=1.0)
    out = dispatch.dispatch(
        stack.client("dynamodb"), None, table(stack), dispatch.Message(second, sha), plan, utcnow()
    )
    assert out.reused
    assert job(stack, second)["qa"] == {"source": "rules", "original": "reject"}
    assert job(stack, second)["qa_state"] == "pending"
