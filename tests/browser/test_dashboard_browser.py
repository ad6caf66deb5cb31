"""The dashboard in a real browser: `streamlit run` against the local cloud, headless Chromium.

Every page is opened by its URL, its key elements are checked, and a screenshot is saved
under test-artifacts/dashboard/ (gitignored). Chromium is the system's (/usr/bin/chromium);
no browser is downloaded.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from common import review
from common.timeutil import utcnow
from dashboard.data import dlq
from tests.dashboard.test_dashboard_app import (
    EVIL_REASON,
    queued_for_review,
    quote_in_reasons,
    seed_traffic,
)
from tests.local_cloud.test_review_local import record
from tests.support.paths import ROOT

APP = ROOT / "dashboard" / "app.py"
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# (url path, title, texts that must be on the page, a chart is expected)
PAGES = [
    ("", "Overview", ["Complete", "Stage health", "Alarms", "Jobs over time"], True),
    ("review", "Review", ["Awaiting review", "API moderators", "Recent verdicts"], False),
    ("queues", "Queues", ["Visible", "In flight", "History"], True),
    ("dead-letters", "Dead letters", ["Look at messages", "Retention"], False),
    (
        "lambdas",
        "Lambdas",
        ["Traffic, errors, cold starts", "Duration and memory", "Right-sizing"],
        True,
    ),
    ("job-trace", "Job trace", ["Job id"], False),
    ("cost", "Cost", ["Projection at", "Per 1,000 jobs", "bundled table dated"], True),
    ("analytics", "Analytics", ["Analytics is disabled"], False),
    ("local-cloud", "Local cloud", ["Not emulated", "Stand-ins", "Emulated resources"], False),
    ("audit-log", "Audit log", ["Days"], False),
]

pytestmark = [pytest.mark.browser, pytest.mark.local_cloud]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dashboard(local_cloud, tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (scripts/system-deps.sh installs it)")
    seeded = seed_traffic(local_cloud)
    port = free_port()
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    env = {
        **os.environ,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "DASHBOARD_PREFERENCES": str(tmp_path_factory.mktemp("prefs") / "preferences.json"),
    }
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(APP),
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
                "--",
                "--local",
                str(local_cloud.state_dir),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                    if resp.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url, seeded
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def settle(page) -> None:
    """Wait until Streamlit has finished running the page's script."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || getComputedStyle(document.querySelector('[data-testid=\"stStatusWidget\"]'))"
        ".visibility === 'hidden'",
        timeout=60_000,
    )
    page.wait_for_timeout(500)


def test_every_page_in_chromium(dashboard, browser):
    url, _ = dashboard
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1440, "height": 2600})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    for path, title, expected, chart in PAGES:
        page.goto(f"{url}/{path}")
        page.get_by_role("heading", name=title, exact=True).wait_for(timeout=60_000)
        settle(page)
        for text in expected:  # a page's later reads may still be drawing
            page.get_by_text(text).first.wait_for(timeout=30_000)
        body = page.inner_text("body")
        for text in expected:
            assert text in body, f"{title}: {text!r} missing"
        assert page.locator("[data-testid='stException']").count() == 0, title
        assert "Traceback" not in body, title
        if chart:
            page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
        # every page has the same sidebar: which stack, window, refresh
        sidebar = page.locator("[data-testid='stSidebar']")
        assert "Look at" in sidebar.inner_text() and "Time window" in sidebar.inner_text()
        page.screenshot(path=str(ARTIFACTS / f"{path or 'overview'}.png"), full_page=True)
    assert not errors, errors


def test_trace_and_dead_letters_in_chromium(dashboard, browser, local_cloud):
    url, seeded = dashboard
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1440, "height": 2600})
    page.goto(f"{url}/job-trace")
    box = page.get_by_label("Job id")
    box.wait_for(timeout=60_000)
    box.fill(seeded["job_ids"][0])
    box.press("Enter")
    page.get_by_text("Waterfall").wait_for(timeout=60_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    settle(page)
    body = page.inner_text("body")
    assert "Invocations (bars) and log lines (ticks)" in body or "upload" in body
    page.screenshot(path=str(ARTIFACTS / "job-trace-waterfall.png"), full_page=True)

    sqs, dlq_url = local_cloud.client("sqs"), local_cloud.outputs["dlq_url"]
    sent = sqs.send_message(QueueUrl=dlq_url, MessageBody='{"job_id": "browser-test"}')
    try:
        page.goto(f"{url}/dead-letters")
        page.get_by_role("button", name="Look at messages").click()
        page.get_by_text("distinct message(s)").wait_for(timeout=60_000)
        settle(page)
        assert "browser-test" in page.inner_text("body")
        page.screenshot(path=str(ARTIFACTS / "dead-letters-browse.png"), full_page=True)
    finally:  # leave the session's DLQ as it was
        assert dlq.delete(sqs, dlq_url, [sent["MessageId"]], wait_seconds=0).deleted == 1


def only_these_in_the_queue(cloud, keep: list[str]) -> None:
    """Arrange: whatever other tests left in the shared cloud's queue gets a verdict."""
    ddb, table = cloud.client("dynamodb"), cloud.outputs["jobs_table"]
    cursor = None
    while True:
        records, cursor = review.pending_jobs(ddb, table, 100, cursor)
        for job in records:
            if job["job_id"] not in keep:
                verdict = review.ModeratorVerdict(
                    review.Decision.APPROVE, "cleared before the browser test"
                )
                review.record_verdict(ddb, table, job["job_id"], verdict, "test-setup", utcnow())
        if cursor is None:
            return


def test_a_moderator_clears_a_queue_of_three_in_chromium(dashboard, browser, local_cloud):
    from playwright.sync_api import expect

    url, _ = dashboard
    ids = queued_for_review(local_cloud, 3, seed=9100)
    only_these_in_the_queue(local_cloud, ids)
    for job_id in ids:
        quote_in_reasons(local_cloud, job_id, EVIL_REASON)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1440, "height": 2600})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{url}/review")
    page.get_by_role("heading", name="Review", exact=True).wait_for(timeout=60_000)
    decided: dict[str, str] = {}
    for n, decision in enumerate(["approve", "reject", "approve"]):
        # Work goes through a claim: no job is shown until the moderator claims one.
        page.get_by_text("You hold no claim").wait_for(timeout=60_000)
        settle(page)  # the last verdict's rerun: its stale elements leave when it ends
        expect(page.get_by_role("heading", name=re.compile(r"^Job "))).to_have_count(0)
        page.get_by_role("button", name="Claim next").click()
        heading = page.get_by_role("heading", name=re.compile(r"^Job "))
        heading.wait_for(timeout=60_000)
        settle(page)
        job_id = heading.inner_text().removeprefix("Job").strip().strip("`")
        assert job_id in ids and job_id not in decided, job_id
        # The lease is shown (time left) and held in the table for this moderator.
        body = page.inner_text("body")
        assert "Claimed 1 job(s) for" in body and "min left" in body, body[:2000]
        lease = record(local_cloud, job_id)
        assert lease["review_claim_by"].startswith("local:") and lease["review_claim_until"]
        if n == 0:
            page.screenshot(path=str(ARTIFACTS / "review-claimed.png"), full_page=True)
        page.locator("[data-testid='stImage'] img").first.wait_for(timeout=30_000)
        # Wellbeing: the image arrives blurred; user-derived text is plain, never a link.
        body = page.inner_text("body")
        assert "· blurred" in body and EVIL_REASON in body
        assert page.locator("a[href*='evil.example']").count() == 0
        if n == 0:
            shielded = page.locator("[data-testid='stImage'] img").first.get_attribute("src")
            page.get_by_role("button", name="Reveal image").click()
            page.get_by_role("button", name="Blur again").wait_for(timeout=30_000)
            settle(page)
            revealed = page.locator("[data-testid='stImage'] img").first.get_attribute("src")
            assert revealed != shielded and "· blurred" not in page.inner_text("body")
            page.screenshot(path=str(ARTIFACTS / "review-revealed.png"), full_page=True)
        page.locator("label").filter(has_text=re.compile(f"^{decision}$")).first.click()
        settle(page)
        note = page.get_by_label(re.compile("^Note"))
        note.fill(f"browser verdict {n + 1}")
        note.press("Tab")
        settle(page)
        page.get_by_role("button", name="Record verdict…").click()
        page.get_by_text("cannot be changed").wait_for(timeout=30_000)
        if n == 0:
            page.screenshot(path=str(ARTIFACTS / "review-confirm.png"), full_page=True)
        page.get_by_role("button", name="Confirm").click()
        page.get_by_text(f"{decision} recorded for {job_id}").wait_for(timeout=60_000)
        decided[job_id] = decision
    page.get_by_text("No job is waiting for review.").wait_for(timeout=60_000)
    settle(page)
    page.screenshot(path=str(ARTIFACTS / "review-cleared.png"), full_page=True)
    assert page.locator("[data-testid='stException']").count() == 0
    assert not errors, errors
    assert sorted(decided) == sorted(ids)
    for job_id, decision in decided.items():
        final = record(local_cloud, job_id)
        assert (final["decision"], final["review_state"]) == (decision, "reviewed")
        assert final["review"]["via"] == "dashboard"
        assert final["review"]["reviewer"].startswith("local:")
        assert final["review"]["note"].startswith("browser verdict")
