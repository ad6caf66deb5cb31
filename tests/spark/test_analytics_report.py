"""The Spark report on a generated dataset whose answers are known, in local mode.

The dataset goes through the real exporter (stream records -> rows -> gzip JSON
Lines under jobs/dt=...), including a re-cut batch that repeats 100 jobs in a
second object and rows outside the reported window, so the counts also prove the
deduplication and the date filter.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from analytics import report, synthetic
from common import export

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]

DAY1 = datetime(2026, 5, 1, tzinfo=UTC)
COMPLETE = 1000
FAILED = 50
REPEATED = 100
REASONS = ["deadline exceeded: still pending after 900 s"] * 30 + [
    f"rekognition_analyzer failed after 3 attempt(s): ThrottlingException: Rate exceeded ({i})"
    for i in range(20)
]


def decision_of(i: int) -> str:
    return {0: "reject", 1: "review", 2: "warn"}.get(i % 10, "approve")


def complete_job(i: int):
    """Job i: day by parity, end-to-end 3 + i % 100 seconds (queued 1, decision 0.5)."""
    labels = []
    if i % 4 == 0:
        labels.append(("Suggestive", 50.0 + i % 50))
    if decision_of(i) == "reject":
        labels.append(("Explicit Nudity", 95.0))
    created = DAY1 + timedelta(days=i % 2, hours=1, seconds=i)
    e2e = 3 + i % 100
    return synthetic.finished_job(
        f"job-{i:05d}",
        f"user-{i % 7}",
        created,
        queued_s=1,
        analysis_s=e2e - 1.5,
        decision_s=0.5,
        decision=decision_of(i),
        labels=labels,
    )


def failed_job(k: int):
    created = DAY1 + timedelta(hours=5, seconds=k)
    return synthetic.finished_job(
        f"failed-{k:03d}",
        f"user-{k % 7}",
        created,
        queued_s=0,
        analysis_s=900,
        decision_s=0,
        failure=REASONS[k],
    )


def outside_job(k: int):
    created = DAY1 - timedelta(hours=12, seconds=k)  # completes on 2026-04-30
    return synthetic.finished_job(
        f"old-{k}", "user-0", created, queued_s=1, analysis_s=1, decision_s=1, decision="reject"
    )


def write_batches(root: str, records: list[dict], size: int) -> None:
    for start in range(0, len(records), size):
        batch = records[start : start + size]
        rows = [r for r in (export.export_row(x, 30) for x in batch) if r]
        digest = export.batch_digest(batch)
        for dt, group in export.group_rows(rows).items():
            path = os.path.join(root, export.object_key(dt, digest, prefix=""))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(export.encode(r.line for r in group))


@pytest.fixture(scope="module")
def spark():
    session = report.session("local[2]", shuffle_partitions=4)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("exports")
    images = [complete_job(i) for i in range(COMPLETE)] + [failed_job(k) for k in range(FAILED)]
    images += [outside_job(k) for k in range(10)]
    records = [synthetic.stream_record(new, old, seq) for seq, (new, old) in enumerate(images, 1)]
    write_batches(str(root / "jobs"), records, 100)
    # a re-cut batch: 100 of the jobs again, under another digest (other stream records)
    again = [
        synthetic.stream_record(new, old, 10_000 + seq)
        for seq, (new, old) in enumerate(images[:REPEATED])
    ]
    write_batches(str(root / "jobs"), again, 37)
    return root


@pytest.fixture(scope="module")
def summary(spark, dataset):
    return report.run(
        spark,
        str(dataset / "jobs"),
        str(dataset / "reports"),
        run_date=date(2026, 5, 3),
        days=2,
        top_labels=5,
        top_users=3,
    )


def exact_percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(round(q * len(ordered))) - 1)]


def test_window_rows_and_generation_time(summary):
    assert summary["start_date"] == "2026-05-01" and summary["end_date"] == "2026-05-02"
    assert summary["rows"] == COMPLETE + FAILED  # repeats kept once, 2026-04-30 left out
    generated = datetime.fromisoformat(summary["generated_at"].replace("Z", "+00:00"))
    assert summary["generated_at"].endswith("Z")
    assert abs((datetime.now(UTC) - generated).total_seconds()) < 600


def test_daily_counts_by_status_and_decision(summary):
    expected = Counter()
    for i in range(COMPLETE):
        expected[(f"2026-05-0{1 + i % 2}", "complete", decision_of(i))] += 1
    expected[("2026-05-01", "failed", None)] += FAILED
    got = {(d["date"], d["status"], d["decision"]): d["jobs"] for d in summary["daily"]}
    assert got == dict(expected)
    assert set(summary["daily"][0]) == {"date", "status", "decision", "jobs"}


def test_top_labels_with_confidence_distribution(summary):
    labels = {entry["label"]: entry for entry in summary["top_labels"]}
    suggestive = [50.0 + i % 50 for i in range(COMPLETE) if i % 4 == 0]
    assert [e["label"] for e in summary["top_labels"]] == ["Suggestive", "Explicit Nudity"]
    s = labels["Suggestive"]
    assert s["count"] == len(suggestive) == 250
    assert s["mean_confidence"] == pytest.approx(sum(suggestive) / len(suggestive), abs=1e-3)
    assert s["p50_confidence"] == pytest.approx(exact_percentile(suggestive, 0.5), abs=1.0)
    assert s["p90_confidence"] == pytest.approx(exact_percentile(suggestive, 0.9), abs=1.0)
    e = labels["Explicit Nudity"]
    assert (e["count"], e["mean_confidence"], e["p50_confidence"], e["p90_confidence"]) == (
        100,
        95.0,
        95.0,
        95.0,
    )


def test_users_ranked_by_rejections_with_rates(summary):
    stats = Counter()
    for i in range(COMPLETE):
        u = f"user-{i % 7}"
        stats[(u, "jobs")] += 1
        stats[(u, "rejected")] += decision_of(i) == "reject"
        stats[(u, "reviewed")] += decision_of(i) == "review"
    for k in range(FAILED):
        stats[(f"user-{k % 7}", "jobs")] += 1
    users = sorted(
        {u for u, _ in stats},
        key=lambda u: (-stats[(u, "rejected")], -stats[(u, "reviewed")], -stats[(u, "jobs")], u),
    )
    assert [u["user_id"] for u in summary["users"]] == users[:3]
    for entry in summary["users"]:
        u = entry["user_id"]
        assert entry["jobs"] == stats[(u, "jobs")]
        assert entry["rejected"] == stats[(u, "rejected")]
        assert entry["reviewed"] == stats[(u, "reviewed")]
        assert entry["reject_rate"] == pytest.approx(
            stats[(u, "rejected")] / stats[(u, "jobs")], abs=1e-4
        )
        assert entry["review_rate"] == pytest.approx(
            stats[(u, "reviewed")] / stats[(u, "jobs")], abs=1e-4
        )


def test_latency_percentiles_end_to_end_and_per_stage(summary):
    lat = summary["latency_seconds"]
    e2e = [3 + i % 100 for i in range(COMPLETE)]
    for q, key in ((0.5, "p50"), (0.95, "p95"), (0.99, "p99")):
        assert lat["end_to_end"][key] == pytest.approx(exact_percentile(e2e, q), abs=1.0)
    assert lat["stages"]["queued"] == {"p50": 1.0, "p95": 1.0, "p99": 1.0}
    assert lat["stages"]["decision"] == {"p50": 0.5, "p95": 0.5, "p99": 0.5}
    analysis = [x - 1.5 for x in e2e]
    assert lat["stages"]["analysis"]["p95"] == pytest.approx(
        exact_percentile(analysis, 0.95), abs=1.0
    )


def test_failure_reasons_lose_their_per_job_detail(summary):
    assert summary["failure_reasons"] == [
        {"reason": "deadline exceeded: still pending after 900 s", "count": 30},
        {
            "reason": "rekognition_analyzer failed after 3 attempt(s): ThrottlingException",
            "count": 20,
        },
    ]


def test_outputs_are_the_summary_file_and_parquet_tables(spark, summary, dataset):
    out = dataset / "reports" / "dt=2026-05-03"
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk == summary
    assert set(on_disk) == {
        "generated_at",
        "start_date",
        "end_date",
        "rows",
        "daily",
        "top_labels",
        "users",
        "latency_seconds",
        "failure_reasons",
    }
    users = spark.read.parquet(str(out / "users"))
    assert users.count() == 7  # every user in the table, the summary has the top 3
    latency = {r["measure"]: r for r in spark.read.parquet(str(out / "latency")).collect()}
    assert latency["end_to_end"]["jobs"] == COMPLETE
    hist = spark.read.parquet(str(out / "label_confidence")).where("label = 'Suggestive'")
    assert sum(r["count"] for r in hist.collect()) == 250
    for name in ("daily", "top_labels", "failure_reasons"):
        assert spark.read.parquet(str(out / name)).count() > 0


def test_a_window_with_no_exports_gives_an_empty_report(spark, dataset, tmp_path):
    empty = report.run(spark, str(dataset / "jobs"), str(tmp_path), run_date=date(2027, 1, 1))
    assert empty["rows"] == 0 and empty["daily"] == [] and empty["users"] == []
    assert empty["latency_seconds"]["end_to_end"] == {"p50": None, "p95": None, "p99": None}
    assert (tmp_path / "dt=2027-01-01" / "summary.json").exists()


def test_cli_dates_from_the_schedule_time():
    args = report.parse_args(
        ["--input", "i", "--output", "o", "--run-date", "2026-05-03T02:15:00Z", "--days", "7"]
    )
    start, end = report.report_window(report.to_date(args.run_date), None, args.days)
    assert (start, end) == (date(2026, 4, 26), date(2026, 5, 2))
    assert report.report_window(date(2026, 5, 3), date(2026, 5, 3), 1) == (date(2026, 5, 3),) * 2
    with pytest.raises(SystemExit):
        report.parse_args(["--input", "i", "--output", "o", "--days", "0"])
