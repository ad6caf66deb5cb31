"""The local cloud runs the real program end to end, through its HTTP gateway."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from local.tools import fixtures
from local.tools.load import run_load

pytestmark = pytest.mark.local_cloud


@pytest.fixture(autouse=True)
def no_faults(local_cloud):
    local_cloud.control("clear-faults")
    yield
    local_cloud.control("clear-faults")


def wait_for(predicate, timeout: float, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def queue_counts(cloud, url: str) -> tuple[int, int]:
    attrs = cloud.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def drain_dlq(cloud) -> list[dict]:
    sqs, url = cloud.client("sqs"), cloud.outputs["dlq_url"]
    found = []
    while True:
        out = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
        )
        if not out.get("Messages"):
            return found
        for m in out["Messages"]:
            found.append(m)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def job(cloud, job_id: str) -> dict:
    from common import jobs

    return jobs.get_job(cloud.client("dynamodb"), cloud.outputs["jobs_table"], job_id, True)


def upload(cloud, data: bytes, content_type="image/png", user="e2e-user") -> str:
    resp = requests.post(
        f"{cloud.api_url}/jobs",
        data=data,
        headers={"Authorization": f"Bearer {cloud.token(user)}", "Content-Type": content_type},
        timeout=30,
    )
    assert resp.status_code == 202, resp.text
    return resp.json()["job_id"]


def test_uploads_complete_with_the_right_decisions_and_one_notification_each(local_cloud):
    # The offered rate stays under what two shared cores sustain with the models on
    # (docs/figures.md): this checks correctness, bench/throughput.py measures capacity.
    summary, details = run_load(
        local_cloud, 120, rate=4, concurrency=8, progress=False, timeout=300
    )
    assert summary.accepted == 120, summary.refused
    assert summary.completed == 120, summary.as_dict()
    assert summary.unexpected_decisions == 0
    assert summary.duplicate_notifications == 0
    assert set(summary.decisions) == {"approve", "warn", "reject", "review"}
    for job_id in details["job_ids"][:20]:
        assert job(local_cloud, job_id)["status"] == "complete"
    wait_for(
        lambda: queue_counts(local_cloud, local_cloud.outputs["processing_queue_url"]) == (0, 0), 30
    )
    assert queue_counts(local_cloud, local_cloud.outputs["dlq_url"]) == (0, 0)


def test_gateway_enforces_the_jwt_authorizer(local_cloud):
    url = f"{local_cloud.api_url}/jobs"
    assert requests.post(url, data=b"x", timeout=10).status_code == 401
    bad = requests.post(url, data=b"x", headers={"Authorization": "Bearer not.a.jwt"}, timeout=10)
    assert bad.status_code == 401
    token = local_cloud.token("someone")
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert (
        requests.post(
            url, data=b"x", headers={"Authorization": f"Bearer {tampered}"}, timeout=10
        ).status_code
        == 401
    )


def test_status_route_shows_own_jobs_only(local_cloud):
    from local.tools import fixtures

    job_id = upload(local_cloud, fixtures.png(seed=901), user="owner")

    def get(user):
        return requests.get(
            f"{local_cloud.api_url}/jobs/{job_id}",
            headers={"Authorization": f"Bearer {local_cloud.token(user)}"},
            timeout=10,
        )

    wait_for(lambda: get("owner").json()["status"] == "complete", 60)
    assert get("intruder").status_code == 404


def test_poison_message_goes_to_the_dlq_after_max_receives_and_its_job_is_swept(local_cloud):
    from local.tools import fixtures

    sqs, dlq = local_cloud.client("sqs"), local_cloud.outputs["dlq_url"]
    drain_dlq(local_cloud)
    garbage = sqs.send_message(
        QueueUrl=local_cloud.outputs["processing_queue_url"], MessageBody="{not json"
    )["MessageId"]
    # A real job whose dispatch keeps failing: its message is poison too.
    local_cloud.control("faults", {"error_rate": 1.0, "functions": ["dispatcher"]})
    stranded = upload(local_cloud, fixtures.png(seed=902))
    # Three receives, each after the visibility timeout (6 x the dispatcher's 5 s).
    dead = wait_for(
        lambda: [m for m in _peek(sqs, dlq)] if len(_peek(sqs, dlq)) >= 2 else None, 180
    )
    local_cloud.control("clear-faults")
    bodies = {m["Body"]: m for m in dead}
    assert "{not json" in bodies
    assert stranded in {json.loads(b)["job_id"] for b in bodies if b.startswith('{"')}
    for m in dead:
        assert int(m["Attributes"]["ApproximateReceiveCount"]) >= 3
    assert garbage in {m["MessageId"] for m in dead}

    healthy = upload(local_cloud, fixtures.png(seed=903))
    wait_for(lambda: job(local_cloud, healthy)["status"] == "complete", 60)
    assert job(local_cloud, stranded)["status"] == "pending"
    swept = wait_for(lambda: (j := job(local_cloud, stranded))["status"] == "failed" and j, 180)
    assert swept["reasons"][0].startswith("deadline exceeded: still pending")
    drain_dlq(local_cloud)


def _peek(sqs, url):
    out = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        AttributeNames=["All"],
        VisibilityTimeout=0,
        WaitTimeSeconds=0,
    )
    return out.get("Messages", [])


def test_analyzer_crash_is_retried_then_fails_the_job_with_the_reason(local_cloud):
    from local.tools import fixtures

    local_cloud.control("faults", {"crash_before_rate": 1.0, "functions": ["custom_analyzer"]})
    job_id = upload(local_cloud, fixtures.png(seed=904))
    failed = wait_for(lambda: (j := job(local_cloud, job_id))["status"] == "failed" and j, 120)
    reason = failed["reasons"][0]
    assert reason.startswith(
        f"{local_cloud.outputs['functions']['custom_analyzer']} failed after 3 attempt(s)"
    )
    assert "Runtime.ExitError" in reason
    injected = local_cloud.control("faults")["injected"]
    assert injected["crash_before:custom_analyzer"] == 3


def test_duplicate_delivery_of_everything_still_means_one_outcome_per_job(local_cloud):
    local_cloud.control("faults", {"duplicate_sqs_rate": 1.0, "duplicate_async_rate": 1.0})
    summary, _ = run_load(
        local_cloud, 30, rate=10, concurrency=4, progress=False, timeout=120, seed=99
    )
    assert summary.completed == 30 and summary.duplicate_notifications == 0
    injected = local_cloud.control("faults")["injected"]
    assert injected.get("duplicate_sqs", 0) > 0 and injected.get("duplicate_async", 0) > 0


def _invoke_when_free(local_cloud, function: str) -> dict:
    """Invoke, waiting out throttles: the schedule may hold the one reserved slot."""
    deadline = time.monotonic() + 30
    while True:
        result = local_cloud.control("invoke", {"function": function}, timeout=60)
        if not result.get("throttled") or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


def test_timeout_kills_the_environment_and_the_next_start_is_cold(local_cloud):
    local_cloud.control("faults", {"hang_rate": 1.0, "functions": ["sweeper"]})
    result = _invoke_when_free(local_cloud, "sweeper")
    assert not result["ok"]
    assert result["error"]["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 3.00 seconds" in result["error"]["errorMessage"]
    local_cloud.control("clear-faults")
    assert _invoke_when_free(local_cloud, "sweeper")["ok"]
    local_cloud.control("flush")
    lines = _log_lines(local_cloud, "sweeper")
    reports = [ln for ln in lines if ln.startswith("REPORT")]
    timed_out = [ln for ln in lines if "Task timed out after 3.00 seconds" in ln]
    assert timed_out
    assert any("Duration: 3000.00 ms" in r for r in reports)
    after = [i for i, r in enumerate(reports) if "Duration: 3000.00 ms" in r][-1] + 1
    assert after < len(reports) and "Init Duration" in reports[after], (
        "the environment after a timeout starts cold"
    )


def _sweeper_busy(local_cloud) -> bool:
    return bool(local_cloud.control("status")["functions"]["sweeper"]["busy"])


def test_reserved_concurrency_throttles(local_cloud):
    """While the one reserved slot is held (every invocation hangs), another is throttled.

    The schedule may take the slot first: the first invocation waits it out, and the
    second is sent only once the slot is seen held, by whichever invocation holds it."""
    local_cloud.control("faults", {"hang_rate": 1.0, "functions": ["sweeper"]})
    first = threading.Thread(target=_invoke_when_free, args=(local_cloud, "sweeper"))
    first.start()
    wait_for(lambda: _sweeper_busy(local_cloud), 30)
    second = local_cloud.control("invoke", {"function": "sweeper"}, timeout=60)
    first.join()
    assert second["throttled"] is True
    assert second["error"]["errorType"] == "TooManyRequestsException"


def test_init_duration_appears_only_on_cold_starts(local_cloud):
    local_cloud.control("flush")
    status = local_cloud.control("status")["functions"]["upload"]
    reports = [ln for ln in _log_lines(local_cloud, "upload") if ln.startswith("REPORT")]
    cold = [r for r in reports if "Init Duration" in r]
    assert len(reports) > len(cold) >= 1
    assert len(cold) == status["cold_starts"]
    for line in reports:
        assert (
            "Billed Duration:" in line
            and "Memory Size: 512 MB" in line
            and "Max Memory Used:" in line
        )


def test_lambda_and_sqs_metrics_reach_cloudwatch(local_cloud):
    local_cloud.control("flush")
    cw = local_cloud.client("cloudwatch")
    names = {(m["Namespace"], m["MetricName"]) for m in cw.list_metrics()["Metrics"]}
    for metric in ("Invocations", "Errors", "Duration", "ConcurrentExecutions"):
        assert ("AWS/Lambda", metric) in names
    assert ("AWS/SQS", "ApproximateAgeOfOldestMessage") in names
    assert ("Moderation", "JobsAccepted") in names, "EMF lines become metrics"


def test_unemulated_types_are_listed_not_faked(local_cloud):
    state = local_cloud.state
    assert "rekognition:DetectModerationLabels" in state["stand_ins"]
    assert any("X-Ray" in item for item in state["not_emulated_behaviour"])
    recorded = {r["type"] for r in state["recorded_only"]}
    assert "aws:lambda/permission:Permission" in recorded


def _log_lines(cloud, logical: str) -> list[str]:
    logs = cloud.client("logs")
    group = cloud.outputs["log_groups"][logical]
    lines, token = [], None
    while True:
        kwargs = {"logGroupName": group, "limit": 10000}
        if token:
            kwargs["nextToken"] = token
        out = logs.filter_log_events(**kwargs)
        lines += [e["message"] for e in sorted(out["events"], key=lambda e: e["timestamp"])]
        token = out.get("nextToken")
        if not token:
            return lines


def test_own_images_get_decisions_from_what_is_in_them(local_cloud):
    """What a new user sees after `make demo`: real content, read by the real models."""
    from local.tools.safe_images import encoded, grace_hopper, text_image

    link = upload(
        local_cloud,
        encoded(text_image(["visit http://spam.example", "or call 555-0100"]), "JPEG"),
        "image/jpeg",
    )
    face = upload(local_cloud, encoded(grace_hopper(), "JPEG"), "image/jpeg")
    done = {}
    for job_id in (link, face):
        done[job_id] = wait_for(
            lambda j=job_id: (item := job(local_cloud, j))["status"] == "complete" and item, 120
        )
    # Another test may have sent the same bytes first: then the verdict is that job's.
    for job_id, item in done.items():
        if item.get("reused_from"):
            done[job_id] = job(local_cloud, item["reused_from"])
    text = done[link]
    assert text["decision"] == "review", text["reasons"]
    assert {c["category"] for c in text["categories"]} >= {"spam_link", "contact_info"}
    assert "http://spam.example" in text["text_result"]["text"]
    # The reasons count what was read and never quote it (they are notified and stored).
    assert any("in the text read" in r for r in text["reasons"])
    assert not any("spam.example" in r or "555" in r for r in text["reasons"])
    portrait = done[face]
    assert portrait["decision"] == "approve", portrait["reasons"]
    assert [c["category"] for c in portrait["categories"]] == ["faces"]
    assert portrait["custom_result"]["face_count"] == 1
    assert portrait["branches"] == ["rekognition", "custom", "text"]
    rekognition = portrait["rekognition_result"]
    assert rekognition["model_version"].startswith("local-standin nsfwjs")


def test_images_rekognition_cannot_read_are_refused_at_the_gateway(local_cloud):
    resp = requests.post(
        f"{local_cloud.api_url}/jobs",
        data=fixtures.png(60, 60, seed=3),
        headers={
            "Authorization": f"Bearer {local_cloud.token('e2e-user')}",
            "Content-Type": "image/png",
        },
        timeout=30,
    )
    assert resp.status_code == 400
    assert resp.json()["error"] == "image_too_small"


def test_a_repeated_image_completes_from_the_stored_verdict(local_cloud):
    """Verdict reuse end to end: the upload's hash, the dispatcher's lookup, the finalizer's
    stored verdict, the notification, under each function's own IAM role."""
    data = fixtures.png(seed=40_404)
    first = upload(local_cloud, data, user="reuse-a")
    wait_for(lambda: job(local_cloud, first)["status"] == "complete", 120)
    second = upload(local_cloud, data, user="reuse-b")
    reused = wait_for(lambda: (j := job(local_cloud, second))["status"] == "complete" and j, 60)
    original = job(local_cloud, first)
    assert reused["reused_from"] == first and reused["decision"] == original["decision"]
    assert reused["reasons"][0].startswith("reused:")
    assert not [k for k in reused if k.endswith("_result")], "no analyzer ran"
    resp = requests.get(
        f"{local_cloud.api_url}/jobs/{second}",
        headers={"Authorization": f"Bearer {local_cloud.token('reuse-b')}"},
        timeout=30,
    )
    assert resp.status_code == 200
    # The owner sees the decision, not that it was reused, nor from whose job.
    assert resp.json()["decision"] == original["decision"]
    assert "verdict_reused" not in resp.json() and first not in resp.text
