"""Claims and appeals through the local gateway, end to end with the notification.

An uploader's image is rejected by the rules; the uploader appeals with their own token;
a moderator claims the appeal from the appeal queue and overturns it; the notifier sends
one `appeal_decided` notification; the uploader's `GET /jobs/{id}` shows the outcome.
"""

from __future__ import annotations

import pytest

from local.tools import fixtures
from local.tools.load import NotificationListener
from tests.local_cloud.test_review_local import call, cli_token, record, wait_for

pytestmark = pytest.mark.local_cloud


def upload(cloud, kind: str, seed: int, user: str) -> str:
    image = fixtures.make(kind, seed=seed).data
    resp = call(
        cloud, "POST", "/jobs", cloud.token(user), data=image, headers={"Content-Type": "image/png"}
    )
    assert resp.status_code == 202, resp.text
    return resp.json()["job_id"]


def test_an_appeal_runs_end_to_end_with_its_notification(local_cloud):
    listener = NotificationListener(local_cloud)
    try:
        owner = local_cloud.token("appellant")
        job_id = upload(local_cloud, "explicit", 9101, "appellant")
        wait_for(lambda: record(local_cloud, job_id).get("status") == "complete", 90)
        assert record(local_cloud, job_id)["decision"] == "reject"

        path = f"/jobs/{job_id}/appeal"
        assert (
            call(
                local_cloud, "POST", path, local_cloud.token("someone"), json={"message": "x"}
            ).status_code
            == 404
        )
        filed = call(local_cloud, "POST", path, owner, json={"message": "a medical photo"})
        assert filed.status_code == 202, filed.text
        again = call(local_cloud, "POST", path, owner, json={"message": "again"})
        assert (again.status_code, again.json()["error"]) == (409, "already_appealed")

        moderator = cli_token(local_cloud, "appeal-moderator", "moderators")
        claimed = wait_for(
            lambda: [
                i
                for i in call(
                    local_cloud,
                    "POST",
                    "/reviews/claim",
                    moderator,
                    json={"queue": "appeal", "count": 25},
                ).json()["items"]
                if i["job_id"] == job_id
            ],
            30,
        )
        assert claimed[0]["appeal"]["message"] == "a medical photo"
        other = cli_token(local_cloud, "other-moderator", "moderators")
        decision_path = f"/jobs/{job_id}/appeal/decision"
        refused = call(local_cloud, "POST", decision_path, other, json={"outcome": "uphold"})
        assert (refused.status_code, refused.json()["error"]) == (409, "claimed_by_another")
        decided = call(local_cloud, "POST", decision_path, moderator, json={"outcome": "overturn"})
        assert decided.status_code == 200, decided.text
        assert decided.json()["decision"] == "approve"

        events = wait_for(
            lambda: (
                (got := [b for _, b in listener.received.get(job_id, [])])
                and any(b["event"] == "appeal_decided" for b in got)
                and got
            ),
            60,
        )
        appealed = [b for b in events if b["event"] == "appeal_decided"]
        assert len(appealed) == 1
        assert (
            appealed[0]["appeal"]["outcome"] == "overturn" and appealed[0]["decision"] == "approve"
        )

        view = call(local_cloud, "GET", f"/jobs/{job_id}", owner).json()
        assert view["decision"] == "approve"
        assert view["appeal"]["state"] == "decided" and view["appeal"]["outcome"] == "overturn"
        assert "appeal-moderator" not in str(view)
    finally:
        listener.close()


def test_the_demos_moderators_claim_decide_appeal_and_check(local_cloud):
    """What `python -m local demo` runs after its load, so Calibration has data."""
    from local.tools import review_work

    queued = upload(local_cloud, "moderate", 9202, "demo-appellant")
    rejected = upload(local_cloud, "explicit", 9203, "demo-appellant")
    wait_for(lambda: record(local_cloud, queued).get("review_state") == "pending", 90)
    wait_for(lambda: record(local_cloud, rejected).get("status") == "complete", 90)
    work = review_work.run(local_cloud, verdicts=50, appeals=5)
    assert work.verdicts >= 1 and work.appeals >= 1 and work.appeals_decided >= 1, work
    assert record(local_cloud, queued)["review_state"] == "reviewed"
    assert record(local_cloud, rejected).get("appeal_state") == "decided"
