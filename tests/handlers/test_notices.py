"""Notices (DSA Article 16) on in-process moto: filing, refusals, the queue, the outcome, a race.

Jobs are decided the way the pipeline decides them; the notices and review functions run
in-process with their declared environments; the notifier reads the real stream records.
"""

from __future__ import annotations

import json
import threading
import uuid

from common import analysis, dsa_rules, jobs, notices, review
from common.contract import NOTICE_ROUTE
from common.decision import Rules
from common.timeutil import utcnow
from tests.support.helpers import job, put_job
from tests.support.inprocess import api_event, notifications, stream_records, subscribe_queue

RULES = Rules(min_confidence=50, reject_threshold=90, unsafe_categories=("Violence",))
CLEAN = {"signals": [], "scores": {"contrast": 0.4}}
MODERATE = {
    "labels": [{"name": "Violence", "confidence": 72.0, "parent": "", "top_level": "Violence"}],
    "model_version": "7.0",
}
NOTICE = {"category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD", "explanation": "a fake giveaway"}


def decided(stack, rekognition=None, owner="owner-1") -> str:
    job_id = str(uuid.uuid4())
    put_job(stack, job_id, "pending", utcnow(), user_id=owner)
    ddb, table = stack.client("dynamodb"), stack.exports["jobs_table"]
    jobs.claim_for_analysis(ddb, table, job_id, utcnow(), 30)
    for branch, result in (("custom", CLEAN), ("rekognition", rekognition or {"labels": []})):
        analysis.complete_branch(ddb, table, job_id, branch, result, RULES, utcnow)
    return job_id


def notify(stack, job_id, user, body=NOTICE):
    event = api_event(
        "POST",
        f"/jobs/{job_id}/notices",
        user=user,
        body=json.dumps(body),
        path_params={"job_id": job_id},
        route_key=NOTICE_ROUTE,
    )
    out = stack.invoke("notices", event)
    return out["statusCode"], json.loads(out["body"])


def verdict(stack, job_id, decision="reject"):
    return review.record_verdict(
        stack.client("dynamodb"),
        stack.exports["jobs_table"],
        job_id,
        review.ModeratorVerdict(decision),
        "mod-1",
        utcnow(),
    )


def test_a_notice_queues_an_approved_job_and_its_outcome_reaches_the_notifier(stack):
    url = subscribe_queue(stack)
    job_id = decided(stack)
    assert job(stack, job_id)["decision"] == "approve"
    status, body = notify(stack, job_id, "reader-2")
    assert (status, body["state"]) == (202, "queued_for_review")
    queued = job(stack, job_id)
    assert queued["review_state"] == "pending" and queued["noticed"] is True
    assert queued["notice"]["category"] == NOTICE["category"]
    verdict(stack, job_id, "reject")
    assert stack.invoke("notifier", {"Records": stream_records(stack)}) == {"batchItemFailures": []}
    messages = notifications(stack, url)
    outcomes = [m for m in messages if m.get("event") == "notice_outcome"]
    assert len(outcomes) == 1
    assert outcomes[0]["notifier"] == "reader-2"
    assert outcomes[0]["decision"] == "reject" and outcomes[0]["restricted"] is True
    assert "owner-1" not in json.dumps(outcomes[0])
    assert "fake giveaway" not in json.dumps(outcomes[0])
    items = stack.client("dynamodb").scan(TableName=stack.exports["statements_table"])["Items"]
    statement = jobs.deserialize(items[0])["statement"]
    assert statement["source_type"] == "SOURCE_ARTICLE_16"
    assert statement["category"] == "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
    assert "fake giveaway" not in json.dumps(statement) and "reader-2" not in json.dumps(statement)
    assert dsa_rules.validate(statement, strict=True) == []


def test_notices_are_refused_for_the_owner_bad_input_and_over_the_daily_limit(stack):
    job_id = decided(stack)
    assert notify(stack, job_id, "owner-1")[1]["error"] == "own_job"
    assert notify(stack, job_id, "r", {"category": "SPAM", "explanation": "x"})[0] == 400
    assert notify(stack, job_id, "r", {"category": NOTICE["category"]})[0] == 400
    assert notify(stack, str(uuid.uuid4()), "r")[1]["error"] == "not_found"
    pending = str(uuid.uuid4())
    put_job(stack, pending, "pending", utcnow(), user_id="owner-1")
    answer = notify(stack, pending, "r2")
    assert answer[1].get("error") == "not_decided", answer
    limit = int(stack.function("notices").environment["NOTICES_PER_DAY"])
    for _ in range(limit - 1):  # the unknown job counted; refused input did not
        assert notify(stack, job_id, "r")[0] == 202
    status, body = notify(stack, job_id, "r")
    assert (status, body["error"]) == (429, "over_quota")
    assert notify(stack, job_id, "someone-else")[0] == 202


def race(stack, job_id: str, notifier: str) -> dict:
    """A notice and a moderator's verdict on the same job, released at the same instant."""
    barrier = threading.Barrier(2)
    results: dict = {}

    def file_notice():
        barrier.wait()
        results["notice"] = notify(stack, job_id, notifier)

    def decide():
        barrier.wait()
        results["verdict"] = verdict(stack, job_id, "approve")

    threads = [threading.Thread(target=file_notice), threading.Thread(target=decide)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_a_notice_racing_a_verdict_is_answered_whichever_write_lands_first(stack):
    url = subscribe_queue(stack)
    seen = len(stream_records(stack))
    for attempt in range(4):
        job_id = decided(stack, MODERATE)
        assert job(stack, job_id)["review_state"] == "pending"
        results = race(stack, job_id, f"reader-{attempt}")
        assert results["notice"][0] == 202
        after = job(stack, job_id)
        if after["review_state"] == "pending":  # the notice landed after the verdict
            verdict(stack, job_id, "reject")
        records = stream_records(stack)
        stack.invoke("notifier", {"Records": records[seen:]})
        seen = len(records)
    outcomes = [m for m in notifications(stack, url) if m.get("event") == "notice_outcome"]
    # Every notice was answered exactly once, by the verdict that followed it.
    assert sorted(m["notifier"] for m in outcomes) == [f"reader-{n}" for n in range(4)]


def test_a_notice_that_lands_after_a_verdict_is_answered_by_the_next_and_both_are_announced(
    stack,
):
    """A notice re-queues a reviewed job: the next verdict answers it (whatever the notice's
    clock read) and is announced as a new `reviewed` notification on the FIFO topic."""
    url = subscribe_queue(stack)
    job_id = decided(stack, MODERATE)
    ddb, table = stack.client("dynamodb"), stack.exports["jobs_table"]
    clock_read = utcnow()  # the notice's handler read its clock before the moderator's
    verdict(stack, job_id, "approve")
    filed = notices.file(ddb, table, job_id, "reader-9", NOTICE["category"], "x", clock_read)
    assert filed.queued and job(stack, job_id)["review_state"] == "pending"
    verdict(stack, job_id, "reject")
    assert stack.invoke("notifier", {"Records": stream_records(stack)}) == {"batchItemFailures": []}
    messages = [m for m in notifications(stack, url) if m["job_id"] == job_id]
    reviewed = [m["review"]["decision"] for m in messages if m.get("event") == "reviewed"]
    assert reviewed == ["approve", "reject"]
    # The rules' decision stays the rules' through both verdicts.
    assert job(stack, job_id)["automatic_decision"] == "review"
    outcomes = [m for m in messages if m.get("event") == "notice_outcome"]
    assert [(m["notifier"], m["decision"]) for m in outcomes] == [("reader-9", "reject")]
    # A retried batch publishes nothing new.
    assert stack.invoke("notifier", {"Records": stream_records(stack)}) == {"batchItemFailures": []}
    assert [m for m in notifications(stack, url) if m["job_id"] == job_id] == []
