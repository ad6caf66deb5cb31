"""Hash banks through the local gateway: an operator makes a bank, a moderator adds a
job's image to it, and a mirrored copy uploaded 30 s later is rejected with the match on
the job for operators, not in the uploader's view; the bank exports in HMA's layout."""

from __future__ import annotations

import time

import pytest
import requests
from PIL import Image

from common import pdq
from local.tools.hash_corpus import scene
from local.tools.safe_images import encoded

pytestmark = pytest.mark.local_cloud


def wait_for(predicate, timeout: float, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def record(cloud, job_id: str) -> dict:
    from common import jobs

    return jobs.get_job(cloud.client("dynamodb"), cloud.outputs["jobs_table"], job_id, True)


def call(cloud, method: str, path: str, token: str, **kw) -> requests.Response:
    headers = {**kw.pop("headers", {}), "Authorization": f"Bearer {token}"}
    return requests.request(method, f"{cloud.api_url}{path}", headers=headers, timeout=60, **kw)


def upload(cloud, token: str, data: bytes) -> str:
    resp = call(cloud, "POST", "/jobs", token, data=data, headers={"Content-Type": "image/png"})
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["job_id"]
    wait_for(lambda: record(cloud, job_id).get("status") in ("complete", "failed"), 120)
    return job_id


def test_a_bank_changed_through_the_api_rejects_a_mirrored_copy(local_cloud):
    operator = local_cloud.token("op-1", groups=["operators"])
    moderator = local_cloud.token("mod-1", groups=["moderators"])
    uploader = local_cloud.token("uploader-1")

    body = {"action": "reject", "max_distance": {"pdq": 31, "dhash": 10}}
    assert call(local_cloud, "PUT", "/banks/known-bad", moderator, json=body).status_code == 403
    resp = call(local_cloud, "PUT", "/banks/known-bad", operator, json=body)
    assert resp.status_code == 200, resp.text

    # A picture of this test's own: the local cloud is shared by the whole session, and a
    # bank entry for a picture other tests upload would reject their copies too.
    photo = scene(4242)
    try:
        check_the_bank(local_cloud, operator, moderator, uploader, photo)
    finally:
        off = {**body, "enabled": False}
        assert call(local_cloud, "PUT", "/banks/known-bad", operator, json=off).status_code == 200


def check_the_bank(local_cloud, operator: str, moderator: str, uploader: str, photo) -> None:
    first = upload(local_cloud, uploader, encoded(photo))
    resp = call(
        local_cloud,
        "POST",
        "/banks/known-bad/entries",
        moderator,
        json={"job_id": first, "reason": "rejected once"},
    )
    assert resp.status_code == 201, resp.text
    entry = resp.json()
    assert entry["pdq"] == pdq.hash_image(photo).hash and entry["source"] == f"job:{first}"

    time.sleep(31)  # the analyzer's bank cache: a change applies to jobs 30 s later
    mirrored = encoded(photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    second = upload(local_cloud, uploader, mirrored)
    job = record(local_cloud, second)
    assert job["decision"] == "reject", diagnosis(local_cloud, operator, job)
    (match,) = job["custom_result"]["bank_matches"]
    assert match["bank"] == "known-bad" and match["entry_id"] == entry["entry_id"]
    assert match["hash_type"] == "pdq" and int(match["distance"]) <= 31

    view = call(local_cloud, "GET", f"/jobs/{second}", uploader)
    assert view.status_code == 200 and "known-bad" not in view.text
    assert entry["entry_id"] not in view.text

    banks = call(local_cloud, "GET", "/banks", moderator).json()["banks"]
    assert [b["bank"] for b in banks if b["bank"] == "known-bad"] == ["known-bad"]
    export = call(local_cloud, "GET", "/banks/known-bad/export", operator)
    assert export.status_code == 200
    assert export.text.split(",")[:2] == [entry["pdq"], entry["entry_id"]]


def diagnosis(local_cloud, operator: str, job: dict) -> str:
    """What the analyzer saw and what the banks held, for a failure's message."""
    custom = job.get("custom_result") or {}
    banks = call(local_cloud, "GET", "/banks", operator).json()
    entries = call(local_cloud, "GET", "/banks/known-bad/entries", operator).json()
    seen = {k: v for k, v in job.items() if k not in ("custom_result", "text_result")}
    return (
        f"job: {seen}\ncustom signals: {custom.get('signals')}\n"
        f"bank matches: {custom.get('bank_matches')}\nbanks: {banks}\nentries: {entries}"
    )
