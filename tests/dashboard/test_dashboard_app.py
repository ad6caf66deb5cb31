"""Every dashboard page rendered with Streamlit's AppTest against a running local cloud.

The cloud (the session's `local_cloud`) carries real traffic sent through its API, so
pages draw what the pipeline actually wrote: jobs, metrics, REPORT lines, log lines.
Widgets drive the data layer: the DLQ test redrives and deletes through the page.
"""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.data import jobs as job_data
from dashboard.data.queues import attributes
from tests.support.paths import ROOT

APP = ROOT / "dashboard" / "app.py"
PAGES = [
    "overview",
    "review",
    "appeals",
    "qa",
    "calibration",
    "banks",
    "queues",
    "dead_letters",
    "lambdas",
    "job_trace",
    "cost",
    "analytics",
    "local_cloud",
    "audit_log",
]
_seeded: dict[str, dict] = {}

pytestmark = pytest.mark.local_cloud


def seed_traffic(cloud) -> dict:
    """Send a few real uploads through the API once per cloud; return what was sent."""
    key = str(cloud.state_dir)
    if key not in _seeded:
        from local.tools.load import run_load

        summary, detail = run_load(
            cloud, 12, rate=20, concurrency=4, users=3, seed=3, timeout=180, progress=False
        )
        assert summary.completed + summary.failed == summary.accepted == 12, summary
        cloud.control("flush")
        _seeded[key] = {"job_ids": detail["job_ids"], "summary": summary}
    return _seeded[key]


@pytest.fixture
def seeded(local_cloud):
    return seed_traffic(local_cloud)


@pytest.fixture
def app(local_cloud, monkeypatch):
    """An AppTest on the session's local cloud, with Streamlit's caches emptied."""
    monkeypatch.setenv("DASHBOARD_LOCAL_STATE", str(local_cloud.state_dir))
    st.cache_data.clear()
    st.cache_resource.clear()
    return AppTest.from_file(str(APP), default_timeout=90)


def render(at: AppTest, page: str) -> AppTest:
    at.run()
    if page != "overview":
        at.switch_page(f"pages/{page}.py").run()
    return at


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def texts(at: AppTest) -> str:
    parts = []
    for kind in (
        "title",
        "header",
        "subheader",
        "markdown",
        "caption",
        "info",
        "warning",
        "error",
        "success",
        "text",  # what users' content said: reasons, notes, labels (plain text)
    ):
        parts.extend(str(e.value) for e in getattr(at, kind))
    return "\n".join(parts)


def metric(at: AppTest, label: str) -> str:
    found = [m.value for m in at.metric if m.label == label]
    assert found, f"no metric {label!r} in {[m.label for m in at.metric]}"
    return found[0]


# --- every page -----------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(app, seeded, page):
    at = render(app, page)
    no_errors(at)
    assert at.title, "each page has a title"
    text = texts(at)
    assert "Traceback" not in text
    if page == "overview":
        assert int(metric(at, "Complete").lstrip("≥").replace(",", "")) >= 1
        assert metric(at, "Stuck").isdigit()
        assert metric(at, "Throughput").endswith("/min")
        peak = float(metric(at, "Throughput peak").removesuffix("/min"))
        assert peak > 0, "the seeded load finished jobs in the window"
        assert metric(at, "Awaiting review").lstrip("≥").replace(",", "").isdigit()
        assert metric(at, "Oldest review waiting")
        assert "Stage health" in text and "Alarms" in text
        assert any(c.proto.spec for c in at.get("plotly_chart"))
    elif page == "review":
        assert metric(at, "API moderators") == "moderators"
        assert metric(at, "Awaiting review").lstrip("≥").replace(",", "").isdigit()
        assert "Recent verdicts" in text and "recorded as **local:" in text
    elif page == "queues":
        assert [m.label for m in at.metric].count("Visible") == 3
    elif page == "dead_letters":
        assert metric(at, "Visible").isdigit()
        assert "Nothing is received until you press" in text
    elif page == "lambdas":
        assert int(metric(at, "Invocations").replace(",", "")) >= 12
        traffic, durations = at.dataframe[0].value, at.dataframe[1].value
        assert {"upload", "dispatcher", "custom_analyzer", "rekognition_analyzer"} <= set(
            traffic["function"]
        )
        assert traffic.set_index("function").loc["upload", "invocations"] >= 12
        upload = durations.set_index("function").loc["upload"]
        assert upload["reports"] >= 12 and upload["p50_ms"] > 0 and upload["memory_mb"] == 512
        assert "Right-sizing" in text
    elif page == "job_trace":
        assert at.selectbox(key="trace_pick").options  # recent jobs to pick from
    elif page == "cost":
        assert metric(at, "Monthly").startswith("$")
        assert "$0.20" in text and "$1.67" in text and "$1.87" in text
        assert "bundled table dated" in text
        # The seeded jobs were dispatched: a measured repeat rate, or none reused yet.
        assert metric(at, "Per job without reuse").startswith("$")
        assert "completed from a stored verdict" in text or "No reuse measured yet: none" in text
    elif page == "analytics":
        assert "Analytics is disabled" in text
    elif page == "local_cloud":
        assert metric(at, "AWS endpoint").startswith("http://127.0.0.1")
        assert "Not emulated" in text and "Stand-ins" in text
    elif page == "audit_log":
        assert at.select_slider(key="audit_days").value == 7
        assert at.dataframe or "No action recorded" in text


def audit_entries(cloud, action: str, ids: set[str]) -> list[dict]:
    """The cloud's audit log entries of `action` naming exactly `ids`."""
    from lambdas.common import audit

    entries = audit.recent(
        cloud.client("dynamodb"), cloud.outputs["audit_table"], datetime.now(UTC), days=1
    )
    return [e for e in entries if e["action"] == action and set(e["ids"]) == ids]


def test_job_trace_of_a_real_job(app, seeded):
    at = render(app, "job_trace")
    job_id = seeded["job_ids"][0]
    at.text_input(key="trace_job_id").input(job_id).run()
    no_errors(at)
    assert metric(at, "Status") in ("complete", "failed")
    frames = {tuple(df.value.columns)[0]: df.value for df in at.dataframe}
    signals = frames["branch"]  # what the models saw: every branch's signals
    assert "nsfw" in set(signals["category"]) and signals["score"].between(0, 1).all()
    assert at.get("image"), "the original is drawn with its face and text boxes"
    invocations = frames["function"]
    assert {
        "upload",
        "dispatcher",
        "rekognition_analyzer",
        "custom_analyzer",
        "text_analyzer",
        "notifier",
    } <= set(invocations["function"])
    assert invocations["duration_ms"].notna().all()
    lines = frames["time"]
    assert (lines["kind"] == "log").sum() >= 5 and "REPORT" in set(lines["kind"])
    assert any(c.proto.spec for c in at.get("plotly_chart"))


def test_job_trace_of_an_unknown_job(app, seeded):
    at = render(app, "job_trace")
    at.text_input(key="trace_job_id").input(str(uuid.uuid4())).run()
    no_errors(at)
    assert "no log line mentions it" in texts(at)


def test_window_refresh_and_auto_refresh(app, seeded):
    at = render(app, "overview")
    at.selectbox(key="window_label").set_value("15 minutes").run()
    no_errors(at)
    at.button(key="refresh_button").click().run()  # Refresh: clears the caches and reads again
    no_errors(at)
    at.toggle(key="auto_refresh").set_value(True).run()
    no_errors(at)
    assert "Reads are cached" in texts(at)


# --- dead letters through the page ----------------------------------------------------------


def held(sqs, url: str) -> int:
    return int(attributes(sqs, url)["ApproximateNumberOfMessagesNotVisible"])


def test_dead_letters_inspect_redrive_and_delete(app, seeded, local_cloud):
    """Through the page's widgets; it leaves the session's DLQ as it found it (the
    redriven messages name finished jobs, so the dispatcher drops them as duplicates)."""
    sqs = local_cloud.client("sqs")
    dlq_url = local_cloud.outputs["dlq_url"]
    done = seeded["job_ids"][1:3]
    bodies = {
        "job": json.dumps({"job_id": done[0]}),
        "job2": json.dumps({"job_id": done[1]}),
        "unknown": json.dumps({"job_id": str(uuid.uuid4())}),
        "poison": "{not json " + uuid.uuid4().hex,
    }
    ids = {
        k: sqs.send_message(QueueUrl=dlq_url, MessageBody=b)["MessageId"] for k, b in bodies.items()
    }
    before = int(attributes(sqs, dlq_url)["ApproximateNumberOfMessages"])

    at = render(app, "dead_letters")
    at.button(key="dl_peek_button").click().run()
    no_errors(at)
    table = at.dataframe[0].value.set_index("message_id")
    assert set(ids.values()) <= set(table.index)
    assert table.index.is_unique
    assert table.loc[ids["job"], "job_status"] == "complete"
    assert table.loc[ids["job"], "job_id"] == done[0]
    # browsing handed every message back
    assert held(sqs, dlq_url) == 0
    assert int(attributes(sqs, dlq_url)["ApproximateNumberOfMessages"]) >= before

    at.selectbox(key="dl_inspect").set_value(ids["poison"]).run()
    assert "a poison message" in texts(at)
    at.selectbox(key="dl_inspect").set_value(ids["unknown"]).run()
    assert "is not in the jobs table" in texts(at)

    # Redrive two: nothing happens until confirmed.
    at.multiselect(key="dl_select").set_value([ids["job"], ids["job2"]]).run()
    at.button(key="dl_redrive_selected").click().run()
    no_errors(at)
    assert "Redrive 2 message(s)" in texts(at)
    assert int(attributes(sqs, dlq_url)["ApproximateNumberOfMessages"]) >= before
    at.button(key="dl_confirm").click().run()
    no_errors(at)
    assert "moved 2, failed 0" in texts(at)
    assert held(sqs, dlq_url) == 0  # messages not selected were handed back
    (redrive,) = audit_entries(local_cloud, "redrive", {ids["job"], ids["job2"]})
    assert redrive["actor"].startswith("local:") and redrive["via"] == "dashboard"
    assert "moved 2" in redrive["details"]["summary"]

    # Delete: cancel first, then confirm.
    at.button(key="dl_peek_button").click().run()
    remaining = set(at.dataframe[0].value["message_id"])
    assert {ids["poison"], ids["unknown"]} <= remaining and ids["job"] not in remaining
    at.multiselect(key="dl_select").set_value([ids["poison"], ids["unknown"]]).run()
    at.button(key="dl_delete_selected").click().run()
    assert "This cannot be undone" in texts(at)
    at.button(key="dl_cancel").click().run()
    at.button(key="dl_peek_button").click().run()
    assert ids["poison"] in set(at.dataframe[0].value["message_id"])
    at.multiselect(key="dl_select").set_value([ids["poison"], ids["unknown"]]).run()
    at.button(key="dl_delete_selected").click().run()
    at.button(key="dl_confirm").click().run()
    no_errors(at)
    assert "deleted 2" in texts(at)
    assert len(audit_entries(local_cloud, "delete", {ids["poison"], ids["unknown"]})) == 1
    at.button(key="dl_peek_button").click().run()
    left = set(at.dataframe[0].value["message_id"]) if at.dataframe else set()
    assert not (set(ids.values()) & left)


# --- empty states and other targets ---------------------------------------------------------


def test_no_local_cloud_is_explained(tmp_path, monkeypatch):
    monkeypatch.setenv("DASHBOARD_LOCAL_STATE", str(tmp_path / "nothing-here"))
    st.cache_resource.clear()
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    no_errors(at)
    text = texts(at)
    assert "No stack to look at yet" in text and "python -m local up" in text
    for page in PAGES[1:]:
        at.switch_page(f"pages/{page}.py").run()
        no_errors(at)
        assert "No stack to look at yet" in texts(at)


def test_pulumi_stack_without_the_cli_is_explained(local_cloud, monkeypatch):
    if shutil.which("pulumi"):
        pytest.skip("the Pulumi CLI is installed here")
    monkeypatch.setenv("DASHBOARD_STACK", "dev")
    st.cache_resource.clear()
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    no_errors(at)
    assert "Pulumi CLI is not installed" in texts(at)


def test_outputs_file_target_without_credentials_explains(local_cloud, tmp_path, monkeypatch):
    outputs = tmp_path / "outputs.json"
    monkeypatch.setenv("DASHBOARD_OUTPUTS", str(outputs))
    st.cache_resource.clear()
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert "does not exist" in texts(at)
    # A real outputs file means AWS itself: with no credentials anywhere, every page says so.
    outputs.write_text(json.dumps({**local_cloud.outputs, "region": "eu-west-1"}))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    no_errors(at)
    assert "No AWS credentials were found" in texts(at)
    assert "eu-west-1" in texts(at)
    for page in ("queues", "lambdas", "dead_letters"):
        at.switch_page(f"pages/{page}.py").run()
        no_errors(at)
        assert "No AWS credentials were found" in texts(at), page


@pytest.fixture
def featured_cloud(local_cloud, tmp_path):
    """The session's cloud seen through outputs with caching and analytics switched on,
    a results bucket holding a report, and status-cache metrics."""
    state_dir = tmp_path / "featured"
    state_dir.mkdir()
    for name in ("state.json", "registry.json"):
        shutil.copy(Path(local_cloud.state_dir) / name, state_dir / name)
    bucket = f"results-{uuid.uuid4().hex[:8]}"
    outputs = {
        **local_cloud.outputs,
        "results_bucket": bucket,
        "features": {"caching": True, "analytics": True, "edge_auth": False},
    }
    (state_dir / "outputs.json").write_text(json.dumps(outputs))
    s3 = local_cloud.client("s3")
    s3.create_bucket(Bucket=bucket)
    today = datetime.now(UTC).date().isoformat()
    report = {
        "generated_at": datetime.now(UTC).isoformat(),
        "start_date": today,
        "end_date": today,
        "rows": 12,
        "daily": [
            {"date": today, "status": "complete", "decision": "approve", "jobs": 10},
            {"date": today, "status": "failed", "decision": None, "jobs": 2},
        ],
        "top_labels": [
            {
                "label": "Violence",
                "count": 3,
                "mean_confidence": 91.5,
                "p50_confidence": 92.0,
                "p90_confidence": 97.0,
            }
        ],
        "users": [
            {
                "user_id": "u1",
                "jobs": 12,
                "rejected": 1,
                "reviewed": 2,
                "reject_rate": 0.083,
                "review_rate": 0.167,
            }
        ],
        "latency_seconds": {
            "end_to_end": {"p50": 2.5, "p95": 6.0, "p99": 8.0},
            "stages": {"analysis": {"p50": 1.0, "p95": 3.0, "p99": 4.0}},
        },
        "failure_reasons": [{"reason": "deadline exceeded", "count": 2}],
    }
    s3.put_object(Bucket=bucket, Key=f"reports/dt={today}/summary.json", Body=json.dumps(report))
    cw = local_cloud.client("cloudwatch")
    now = datetime.now(UTC)
    cw.put_metric_data(
        Namespace="Moderation",
        MetricData=[
            {
                "MetricName": name,
                "Value": value,
                "Unit": "Count",
                "Timestamp": now,
                "Dimensions": [{"Name": "service", "Value": "status"}],
            }
            for name, value in (
                ("CacheHitLocal", 30),
                ("CacheHitRemote", 10),
                ("CacheMiss", 10),
                ("CacheError", 1),
            )
        ],
    )
    return state_dir


def test_caching_and_analytics_when_enabled(featured_cloud, monkeypatch):
    monkeypatch.setenv("DASHBOARD_LOCAL_STATE", str(featured_cloud))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    no_errors(at)
    assert "Status cache" in texts(at)
    assert metric(at, "Hit ratio") == "80.0%"
    assert metric(at, "DynamoDB reads saved") == "40"
    at.switch_page("pages/cost.py").run()
    no_errors(at)
    lines = at.dataframe[0].value
    assert "ElastiCache" in set(lines["service"]) and "EMR Serverless" in set(lines["service"])
    serverless = metric(at, "Monthly")
    at.selectbox(key="cost_cache_node").set_value("cache.t4g.micro").run()
    no_errors(at)
    assert metric(at, "Monthly") != serverless  # the what-if reprices the cache
    at.switch_page("pages/analytics.py").run()
    no_errors(at)
    assert metric(at, "Jobs in the report") == "12"
    assert "Latency by stage" in texts(at)


def test_the_data_layer_matches_what_the_page_counts(app, seeded, local_cloud):
    """The overview's complete count equals a direct GSI query of the same window."""
    at = render(app, "overview")
    shown = int(metric(at, "Complete").lstrip("≥").replace(",", ""))
    now = datetime.now(UTC)
    from datetime import timedelta

    items, _ = job_data.query_status(
        local_cloud.client("dynamodb"),
        local_cloud.outputs["jobs_table"],
        "complete",
        since=now - timedelta(hours=1),
        before=now,
    )
    assert shown == len(items)


# --- the review page ---------------------------------------------------------------------------


def queued_for_review(cloud, n: int, seed: int) -> list[str]:
    """`n` jobs the pipeline sends to review, uploaded through the API; wait for the queue."""
    import requests

    from local.tools import fixtures
    from tests.local_cloud.test_review_local import record, wait_for

    token = cloud.token("review-uploader")
    ids = []
    for i in range(n):
        resp = requests.post(
            f"{cloud.api_url}/jobs",
            data=fixtures.make("moderate", seed=seed + i).data,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "image/png"},
            timeout=30,
        )
        assert resp.status_code == 202, resp.text
        ids.append(resp.json()["job_id"])
    for job_id in ids:
        wait_for(lambda j=job_id: record(cloud, j).get("review_state") == "pending", 90)
    return ids


# A reason quoting what was read from an image: a Markdown link and a bare URL.
EVIL_REASON = "text read: [x](http://evil.example/a) and http://evil.example/b"


def quote_in_reasons(cloud, job_id: str, reason: str) -> None:
    """Arrange: the job's reasons quote text as an uploaded image could make them."""
    cloud.client("dynamodb").update_item(
        TableName=cloud.outputs["jobs_table"],
        Key={"job_id": {"S": job_id}},
        UpdateExpression="SET reasons = list_append(reasons, :r)",
        ExpressionAttributeValues={":r": {"L": [{"S": reason}]}},
    )


def test_review_page_shows_a_job_and_records_a_confirmed_verdict(app, local_cloud):
    from tests.local_cloud.test_review_local import record

    (job_id,) = queued_for_review(local_cloud, 1, seed=8800)
    quote_in_reasons(local_cloud, job_id, EVIL_REASON)
    at = render(app, "review")
    no_errors(at)
    assert job_id in set(at.dataframe[0].value["job_id"])
    assert metric(at, "Time to claim") and metric(at, "Time to decide")
    # Work goes through a claim: nothing to decide until one is held.
    assert not at.get("image") and "You hold no claim" in texts(at)
    me = claim_through_the_page(at, local_cloud, "review", job_id)
    at.selectbox(key="review_pick").set_value(job_id).run()
    no_errors(at)
    claim_row = at.dataframe[0].value.set_index("job_id").loc[job_id, "claim"]
    assert claim_row.startswith("you ("), "the queue shows the claim"
    assert at.get("image"), "the image is shown"

    # Wellbeing: blurred until revealed; reasons as plain text, never Markdown.
    def captions() -> str:
        return " ".join(c for i in at.get("image") for c in i.captions)

    assert "· blurred" in captions(), "shielded by default"
    assert f"• {EVIL_REASON}" in [t.value for t in at.text]
    assert not any("evil.example" in m.value for m in at.markdown)
    at.button(key=f"reveal:{record(local_cloud, job_id)['image_key']}").click().run()
    no_errors(at)
    assert captions() and "· blurred" not in captions(), "revealed on a click"
    assert "rekognition" in texts(at) and "Violence" in texts(at)
    assert at.button(key="review_submit").disabled, "no decision chosen yet"
    at.radio(key=f"review_decision:{job_id}").set_value("reject").run()
    at.text_area(key=f"review_note:{job_id}").input("graphic; policy 4.2").run()
    at.button(key="review_submit").click().run()
    no_errors(at)
    assert "cannot be changed" in texts(at), "a confirmation comes first"
    assert record(local_cloud, job_id)["review_state"] == "pending", "nothing written yet"
    at.button(key="review_cancel").click().run()
    assert record(local_cloud, job_id)["review_state"] == "pending"
    at.button(key="review_submit").click().run()
    at.button(key="review_confirm").click().run()
    no_errors(at)
    assert "reject recorded" in texts(at)
    final = record(local_cloud, job_id)
    assert (final["decision"], final["review"]["via"]) == ("reject", "dashboard")
    assert final["review"]["note"] == "graphic; policy 4.2", "the choice survived the cancel"
    assert final["review"]["reviewer"].startswith("local:")
    (entry,) = audit_entries(local_cloud, "verdict", {job_id})
    assert (entry["actor"], entry["via"]) == (final["review"]["reviewer"], "dashboard")
    assert entry["details"]["decision"] == "reject"
    queue = next((d.value for d in at.dataframe if "waiting" in d.value.columns), None)
    assert queue is None or job_id not in set(queue["job_id"]), "it left the queue"
    verdicts = next(d.value for d in at.dataframe if "reviewer" in d.value.columns)
    assert job_id in set(verdicts["job_id"])
    release_all(local_cloud, "review", me)


def claim_through_the_page(at: AppTest, cloud, queue: str, job_id: str) -> str:
    """Claim as many as the page allows (other tests share the cloud's queues) until
    `job_id` is among the claims; returns who the page claims as."""
    at.number_input(key=f"{queue}_claim_count").set_value(25).run()
    at.button(key=f"{queue}_claim").click().run()
    no_errors(at)
    assert "Claimed" in texts(at)
    held = next(d.value for d in at.dataframe if "time left" in d.value.columns)
    assert job_id in set(held["job_id"]), "the claim holds the job"
    assert all(v and v != "–" for v in held["time left"]), "the time left on each claim"
    from tests.local_cloud.test_review_local import record

    return str(record(cloud, job_id)[f"{queue}_claim_by"])


def release_all(cloud, queue: str, moderator: str) -> None:
    """Leave the shared cloud's queue unclaimed for the tests after this one."""
    from common.contract import WorkQueue
    from common.timeutil import utcnow
    from dashboard.data import claims as work

    ddb, table = cloud.client("dynamodb"), cloud.outputs["jobs_table"]
    for held in work.mine(ddb, table, WorkQueue(queue), moderator, utcnow()):
        assert work.release(ddb, table, held["job_id"], WorkQueue(queue), moderator, utcnow()).ok


# --- the appeals and QA pages --------------------------------------------------------------------


def decided_by_test_setup(cloud, seed: int) -> str:
    """A job the pipeline sent to review, rejected by another moderator than the page's."""
    from common import review
    from common.timeutil import utcnow

    (job_id,) = queued_for_review(cloud, 1, seed=seed)
    quote_in_reasons(cloud, job_id, EVIL_REASON)
    verdict = review.ModeratorVerdict(review.Decision.REJECT, "rejected before the page test")
    review.record_verdict(
        cloud.client("dynamodb"),
        cloud.outputs["jobs_table"],
        job_id,
        verdict,
        "test-setup",
        utcnow(),
    )
    return job_id


def test_appeals_page_claims_an_appeal_shows_its_message_as_text_and_overturns(app, local_cloud):
    from common import appeals
    from common.timeutil import utcnow
    from tests.local_cloud.test_review_local import record

    job_id = decided_by_test_setup(local_cloud, 8900)
    owner = record(local_cloud, job_id)["user_id"]
    message = "it is a painting: see [my site](http://evil.example/c)"
    ddb, table = local_cloud.client("dynamodb"), local_cloud.outputs["jobs_table"]
    appeals.file(ddb, table, job_id, owner, message, utcnow(), 14)

    at = render(app, "appeals")
    no_errors(at)
    assert job_id in set(at.dataframe[0].value["job_id"])
    assert metric(at, "Time to claim") and metric(at, "Time to decide")
    me = claim_through_the_page(at, local_cloud, "appeal", job_id)
    at.selectbox(key="appeal_pick").set_value(job_id).run()
    no_errors(at)
    # Wellbeing as on Review: blurred image; the uploader's words as plain text.
    assert any("· blurred" in c for i in at.get("image") for c in i.captions)
    assert message in [t.value for t in at.text]
    assert not any("evil.example" in m.value for m in at.markdown)
    assert at.button(key="appeal_submit").disabled, "no outcome chosen yet"
    at.radio(key=f"appeal_outcome:{job_id}").set_value("overturn").run()
    at.text_area(key=f"appeal_note:{job_id}").input("art, not gore").run()
    at.button(key="appeal_submit").click().run()
    assert "decided once" in texts(at), "a confirmation comes first"
    assert record(local_cloud, job_id)["appeal_state"] == "pending"
    at.button(key="appeal_confirm").click().run()
    no_errors(at)
    assert "overturn recorded" in texts(at)
    final = record(local_cloud, job_id)
    assert (final["decision"], final["appeal_state"]) == ("approve", "decided")
    assert final["appeal"]["decided_by"] == me and final["appeal"]["outcome"] == "overturn"
    (entry,) = audit_entries(local_cloud, "appeal_decision", {job_id})
    assert (entry["actor"], entry["via"]) == (me, "dashboard")
    assert entry["details"]["outcome"] == "overturn"
    release_all(local_cloud, "appeal", me)


def test_qa_page_is_blind_and_records_a_qa_decision(app, local_cloud):
    from common import qa
    from common.timeutil import utcnow
    from tests.local_cloud.test_review_local import record

    job_id = decided_by_test_setup(local_cloud, 8950)
    ddb, table = local_cloud.client("dynamodb"), local_cloud.outputs["jobs_table"]
    assert qa.sample_verdict(ddb, table, job_id, "reject", "test-setup", 1.0, utcnow())

    at = render(app, "qa")
    no_errors(at)
    assert job_id in set(at.dataframe[0].value["job_id"])
    assert "decision" not in at.dataframe[0].value.columns, "the queue is blind"
    me = claim_through_the_page(at, local_cloud, "qa", job_id)
    at.selectbox(key="qa_pick").set_value(job_id).run()
    no_errors(at)
    assert any("· blurred" in c for i in at.get("image") for c in i.captions)
    shown = texts(at)
    assert EVIL_REASON not in shown and "test-setup" not in shown, "no reasons, no reviewer"
    assert "rekognition" in shown, "what the analyses saw is there"
    at.radio(key=f"qa_decision:{job_id}").set_value("approve").run()
    at.button(key="qa_submit").click().run()
    at.button(key="qa_confirm").click().run()
    no_errors(at)
    assert "differs from the original decision (reject)" in texts(at)
    final = record(local_cloud, job_id)
    assert final["qa_state"] == "decided"
    assert (final["qa"]["reviewer"], final["qa"]["agrees"]) == (me, False)
    (entry,) = audit_entries(local_cloud, "qa_decision", {job_id})
    assert entry["actor"] == me and entry["details"]["decision"] == "approve"
    release_all(local_cloud, "qa", me)
