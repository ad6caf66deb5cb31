"""The Review page's data layer on in-process moto, and the Overview's throughput figure.

Jobs reach review through the pipeline's own finalize write; the dashboard acts through
the review API's behaviour code with the operator as the reviewer.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pandas as pd

from common import analysis, jobs
from common.decision import Rules
from common.timeutil import utcnow
from dashboard.data import review as review_data
from dashboard.data import throughput
from lambdas.common.contract import Metric
from local.tools import fixtures
from tests.support.helpers import accept, job
from tests.support.inprocess import api_event, notifications, stream_records, subscribe_queue

RULES = Rules(min_confidence=50, reject_threshold=90, unsafe_categories=("Violence",))
MODERATE = {
    "labels": [{"name": "Violence", "confidence": 70.0, "parent": "", "top_level": "Violence"}]
}
OCR = {
    "text": "visit example.com or call 555-0100 for more",
    "categories": [{"category": "links", "score": 0.97}],
    "scores": {"ocr_confidence": 0.9},
    "boxes": [{"x": 1, "y": 2, "w": 3, "h": 4, "text": "example.com"}],
}


def queued_job(stack, seed: int) -> tuple[str, bytes]:
    image = fixtures.png(seed=seed)
    job_id = accept(stack, image, user="uploader")
    ddb, table = stack.client("dynamodb"), stack.exports["jobs_table"]
    jobs.claim_for_analysis(ddb, table, job_id, utcnow(), 30)
    analysis.complete_branch(ddb, table, job_id, "custom", {"flags": []}, RULES, utcnow)
    analysis.complete_branch(ddb, table, job_id, "rekognition", MODERATE, RULES, utcnow)
    return job_id, image


def test_the_queue_is_read_oldest_first_with_whole_records_and_images(stack):
    made = [queued_job(stack, seed) for seed in (1, 2, 3)]
    queue = review_data.read_queue(stack.client("dynamodb"), stack.exports["jobs_table"], utcnow())
    assert [r["job_id"] for r in queue.records] == [j for j, _ in made]
    assert list(queue.table["job_id"]) == [j for j, _ in made] and not queue.truncated
    assert queue.table.loc[0, "categories"] == "Violence"
    record = queue.record(made[0][0])
    assert record is not None and "rekognition_result" in record
    image = review_data.image_bytes(
        stack.client("s3"), stack.exports["upload_bucket"], record["image_key"]
    )
    assert image == made[0][1]


def test_reading_stops_at_its_limit_and_says_so(stack):
    for seed in range(4):
        queued_job(stack, 20 + seed)
    queue = review_data.read_queue(
        stack.client("dynamodb"), stack.exports["jobs_table"], utcnow(), limit=3
    )
    assert len(queue.records) == 3 and queue.truncated


def test_a_dashboard_verdict_is_the_apis_write_recorded_as_the_operator(stack):
    topic_queue = subscribe_queue(stack)
    job_id, _ = queued_job(stack, 7)
    ddb, table = stack.client("dynamodb"), stack.exports["jobs_table"]
    who = review_data.operator(None, local=True)
    assert who.startswith("local:")
    done = review_data.submit(ddb, table, job_id, "reject", "per policy", who, utcnow())
    assert done.ok and who in done.message
    record = job(stack, job_id)
    assert record["review"] == {
        "decision": "reject",
        "reviewer": who,
        "note": "per policy",
        "reviewed_at": record["review"]["reviewed_at"],
        "via": "dashboard",
    }
    again = review_data.submit(ddb, table, job_id, "approve", "", "someone", utcnow())
    assert not again.ok and "already reviewed" in again.message
    assert job(stack, job_id)["decision"] == "reject"
    # the same notifications as a verdict through the API
    stack.invoke("notifier", {"Records": stream_records(stack)})
    events = [m["event"] for m in notifications(stack, topic_queue)]
    assert events == ["awaiting_review", "reviewed"]
    verdicts = review_data.recent_verdicts(ddb, table)
    assert list(verdicts["job_id"]) == [job_id]
    assert verdicts.loc[0, "reviewer"] == who and verdicts.loc[0, "automatic_decision"] == "review"


def test_refused_verdicts_write_nothing(stack):
    job_id, _ = queued_job(stack, 8)
    ddb, table = stack.client("dynamodb"), stack.exports["jobs_table"]
    before = job(stack, job_id)
    for decision, note in (("review", ""), ("maybe", ""), ("approve", "x" * 2001)):
        assert not review_data.submit(ddb, table, job_id, decision, note, "op", utcnow()).ok
    unknown = review_data.submit(ddb, table, str(uuid.uuid4()), "approve", "", "op", utcnow())
    assert not unknown.ok and "no such job" in unknown.message
    assert job(stack, job_id) == before


def test_an_operators_own_upload_is_marked_and_a_verdict_on_it_refused(stack):
    """The page acts through the API's own check: the operator's identity and the app user
    ids they name may not have uploaded the job (the verdict would be reused for every
    identical upload)."""
    job_id, _ = queued_job(stack, 9)  # uploaded by "uploader"
    other, _ = queued_job(stack, 10)
    ddb, table = stack.client("dynamodb"), stack.exports["jobs_table"]
    me = review_data.operator_identities("local:ops", "uploader, ops-app")
    assert me == ("local:ops", "uploader", "ops-app")
    queue = review_data.read_queue(ddb, table, utcnow(), identities=me)
    marks = dict(zip(queue.table["job_id"], queue.table["own_upload"], strict=True))
    assert marks == {job_id: True, other: True}
    assert queue.own(job_id)
    assert not review_data.read_queue(ddb, table, utcnow(), identities=("local:ops",)).own(job_id)
    before = job(stack, job_id)
    refused = review_data.submit(
        ddb, table, job_id, "approve", "", "local:ops", utcnow(), identities=me[1:]
    )
    assert not refused.ok and "your own upload" in refused.message
    assert job(stack, job_id) == before
    # Someone else (not naming "uploader") may decide it.
    done = review_data.submit(ddb, table, job_id, "approve", "", "local:other", utcnow())
    assert done.ok


def test_the_operator_on_aws_is_the_caller_identity():
    class Sts:
        def get_caller_identity(self):
            return {"Arn": "arn:aws:sts::123456789012:assumed-role/Ops/alice"}

    assert (
        review_data.operator(Sts(), local=False)
        == "arn:aws:sts::123456789012:assumed-role/Ops/alice"
    )


def test_results_are_laid_out_by_shape_whatever_the_branch():
    record = {
        "rekognition_result": {
            "labels": MODERATE["labels"],
            "model_version": "7.0",
            "source": "s3",
        },
        "custom_result": {"flags": [], "scores": {"nsfw": 0.12, "contrast": 0.4}, "dhash": "ab"},
        "text_result": OCR,
    }
    sections = {s.branch: s for s in review_data.result_sections(record)}
    assert set(sections) == {"custom", "rekognition", "text"}
    labels = sections["rekognition"].tables["labels"]
    assert isinstance(labels, pd.DataFrame) and labels.loc[0, "name"] == "Violence"
    assert sections["custom"].scores == {"nsfw": 0.12, "contrast": 0.4}
    text = sections["text"]
    assert text.texts["text"].startswith("visit example.com")
    assert set(text.tables) == {"categories", "boxes"}
    assert text.scores == {"ocr_confidence": 0.9}
    assert sections["rekognition"].values["model_version"] == "7.0"


def series(points: list[tuple[datetime, float]]) -> pd.DataFrame:
    rows = [
        {
            "key": Metric.JOBS_COMPLETE,
            "metric": "JobsComplete",
            "stat": "Sum",
            "timestamp": t,
            "value": v,
        }
        for t, v in points
    ]
    frame = pd.DataFrame(rows)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame


def test_throughput_shows_the_recent_rate_and_the_peak_not_the_window_average():
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    # a 20 jobs/s burst of 300 jobs, 2 minutes ago, in a one-hour window of 60 s periods
    burst = series([(now - timedelta(minutes=2), 300.0)])
    rate = throughput.finish_rate(burst, now, 60)
    assert rate.peak_per_min == 300.0 and rate.peak_at == now - timedelta(minutes=2)
    assert rate.recent_per_min == 60.0  # 300 jobs over the last 5 minutes (the window
    # average, 300 over 60 minutes, read "5.00/min")
    # steady traffic long ago, nothing lately
    old = series([(now - timedelta(minutes=50 - i), 10.0) for i in range(10)])
    quiet = throughput.finish_rate(old, now, 60)
    assert quiet.recent_per_min == 0.0 and quiet.peak_per_min == 10.0
    empty = throughput.finish_rate(pd.DataFrame(columns=burst.columns), now, 60)
    assert (empty.recent_per_min, empty.peak_per_min, empty.peak_at) == (0.0, 0.0, None)
    # long windows: periods of 84 minutes; the peak is per minute, the recent span one period
    week = throughput.finish_rate(series([(now - timedelta(minutes=30), 840.0)]), now, 5040)
    assert week.peak_per_min == 10.0 and week.recent_minutes == 84


def test_the_status_api_and_the_queue_agree_on_what_is_waiting(stack):
    job_id, _ = queued_job(stack, 9)
    resp = stack.invoke(
        "status",
        api_event("GET", f"/jobs/{job_id}", user="uploader", path_params={"job_id": job_id}),
    )
    assert json.loads(resp["body"])["review_state"] == "pending"
    stats = review_data.stats(stack.client("dynamodb"), stack.exports["jobs_table"], utcnow())
    assert stats.backlog == 1 and stats.oldest_job_id == job_id
