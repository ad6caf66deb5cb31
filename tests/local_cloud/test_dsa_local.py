"""Statements of reasons and notices end to end on the local cloud.

A rejected upload gets a statement (the notifier), the owner reads it through the
gateway, and the submitter sends it to the local Transparency Database stand-in, once,
even when the stand-in stores a batch and then answers 500. A notice races a
moderator's verdict through the gateway; whichever lands first, the job ends reviewed,
the notifier is told the outcome exactly once and the uploader each verdict.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from common import dsa_rules
from local.tools import fixtures
from local.tools.load import NotificationListener
from tests.local_cloud.test_review_local import call, record, wait_for

pytestmark = pytest.mark.local_cloud


def upload(cloud, data: bytes, user: str) -> str:
    resp = call(cloud, "POST", "/jobs", cloud.token(user), {"Content-Type": "image/png"}, data=data)
    assert resp.status_code == 202, resp.text
    return resp.json()["job_id"]


def test_a_reject_is_stated_read_by_its_owner_and_submitted_once_after_a_lost_answer(
    local_cloud,
):
    local_cloud.control("transparency", {"fail_after_store": 1})
    job_id = upload(local_cloud, fixtures.png(seed=fixtures.BLOCKLISTED_SEED, labels=[]), "sor-1")
    wait_for(lambda: record(local_cloud, job_id).get("status") == "complete", 120)
    assert record(local_cloud, job_id)["decision"] == "reject"
    body = wait_for(
        lambda: (
            r.json()
            if (r := call(local_cloud, "GET", f"/jobs/{job_id}/statement", local_cloud.token("sor-1"))).status_code == 200
            else None
        ),
        60,
    )  # fmt: skip
    assert body["statement"]["puid"] == job_id
    assert dsa_rules.validate(body["statement"], strict=True) == []
    other = call(local_cloud, "GET", f"/jobs/{job_id}/statement", local_cloud.token("sor-2"))
    assert other.status_code == 404

    # Stored by the first call (its answer a 500); then the retry's lookup finds it.
    def looked_up():
        state = local_cloud.control("transparency", {})
        found = [c for c in state["calls"] if c[0] == "GET" and c[1].endswith(job_id)]
        return state if any(c[2] == 302 for c in found) else None

    twin = wait_for(looked_up, 120)
    # Stored by the first call, whose answer was a 500; the retry looked the puid up and
    # did not send it again; nothing holds it twice.
    assert twin["statements"].count(job_id) == 1
    assert ["POST", "/api/v1/statements", 500] in twin["calls"]
    assert any(c[0] == "GET" and c[1].endswith(job_id) and c[2] == 302 for c in twin["calls"])


def test_a_notice_racing_a_verdict_is_queued_or_answered_and_the_job_ends_reviewed(
    local_cloud,
):
    listener = NotificationListener(local_cloud)
    try:
        race_a_notice_and_a_verdict(local_cloud, listener)
    finally:
        listener.close()


def race_a_notice_and_a_verdict(local_cloud, listener: NotificationListener) -> None:
    # A Rekognition label between the thresholds: review.
    image = fixtures.png(seed=77, labels=fixtures.MODERATE_VIOLENCE)
    job_id = upload(local_cloud, image, "owner-n")
    wait_for(lambda: record(local_cloud, job_id).get("review_state") == "pending", 120)
    moderator = local_cloud.token("mod-n", groups=["moderators"])
    reader = local_cloud.token("reader-n")
    results: dict = {}
    barrier = threading.Barrier(2)

    def notice():
        barrier.wait()
        results["notice"] = call(
            local_cloud,
            "POST",
            f"/jobs/{job_id}/notices",
            reader,
            json={"category": "STATEMENT_CATEGORY_VIOLENCE", "explanation": "graphic"},
        )

    def verdict():
        barrier.wait()
        results["verdict"] = call(
            local_cloud, "POST", f"/jobs/{job_id}/review", moderator, json={"decision": "approve"}
        )

    threads = [threading.Thread(target=notice), threading.Thread(target=verdict)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["notice"].status_code == 202, results["notice"].text
    assert results["verdict"].status_code == 200, results["verdict"].text
    job = record(local_cloud, job_id)
    assert job["noticed"] is True
    verdicts = ["approve"]
    if job["review_state"] == "pending":  # the notice landed after the verdict: queued again
        again = call(
            local_cloud, "POST", f"/jobs/{job_id}/review", moderator, json={"decision": "reject"}
        )
        assert again.status_code == 200, again.text
        verdicts.append("reject")
    final = record(local_cloud, job_id)
    assert final["review_state"] == "reviewed" and final["decision"] == verdicts[-1]

    def by_event(event: str) -> list[dict]:
        with listener._lock:
            return [b for _, b in listener.received.get(job_id, []) if b.get("event") == event]

    # The uploader hears of every verdict (a second one is not dropped as a replay of the
    # first), and the notifier of the one that answered their notice.
    wait_for(lambda: len(by_event("reviewed")) >= len(verdicts) and by_event("notice_outcome"), 120)
    time.sleep(5)  # anything published twice would have arrived by now
    reviewed = by_event("reviewed")
    assert [m["review"]["decision"] for m in reviewed] == verdicts
    assert all(m["user_id"] == final["user_id"] for m in reviewed)
    outcomes = by_event("notice_outcome")
    assert len(outcomes) == 1, outcomes
    outcome = outcomes[0]
    assert outcome["notice_id"] == results["notice"].json()["notice_id"]
    assert outcome["notifier"] == final["notices"][0]["notifier"] != final["user_id"]
    assert (outcome["decision"], outcome["restricted"]) == (verdicts[-1], verdicts[-1] == "reject")
    assert final["user_id"] not in json.dumps(outcome) and "graphic" not in json.dumps(outcome)
