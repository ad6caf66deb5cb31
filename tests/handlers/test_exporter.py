"""The exporter: jobs-table stream batches -> gzip JSON Lines in the results bucket.

Handlers run in-process against the program materialized in moto with
`analyticsEnabled`, so the bucket, environment and stream are the declared ones.
"""

from __future__ import annotations

import copy
import gzip
import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from analytics import synthetic
from common import export, jobs
from common.contract import Branch
from local.runtime.event_sources import passes_filters
from tests.support.inprocess import build_stack, stream_records

T0 = datetime(2026, 5, 1, 23, 59, 50, tzinfo=UTC)


@pytest.fixture
def stack():
    with mock_aws():
        yield build_stack({"analyticsEnabled": True})


def objects(stack) -> dict[str, bytes]:
    s3, bucket = stack.client("s3"), stack.exports["results_bucket"]
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="jobs/").get("Contents", [])
    keys = [o["Key"] for o in listed]
    return {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def exported_rows(stack) -> list[dict]:
    return [row for body in objects(stack).values() for row in export.decode(body)]


def finished(i: int, **kw) -> tuple[dict, dict]:
    kw.setdefault("queued_s", 1)
    kw.setdefault("analysis_s", 2.5)
    kw.setdefault("decision_s", 0.25)
    return synthetic.finished_job(f"job-{i}", f"user-{i % 3}", T0 + timedelta(seconds=i), **kw)


def mixed_batch() -> list[dict]:
    """Insert (pending), modify to complete, modify to failed, modify still analyzing, remove."""
    pending_new, _ = finished(0)
    pending = {
        **{k: v for k, v in pending_new.items() if k not in ("decision", "completed_at")},
        "status": "pending",
    }
    done_new, done_old = finished(1, decision="reject", labels=[("Explicit Nudity", 97.5)])
    failed_new, failed_old = finished(10, failure="deadline exceeded: still pending after 900 s")
    still_new, still_old = finished(3)
    still = {**still_old, "updated_at": still_new["updated_at"]}
    return [
        synthetic.stream_record(pending, None, 1, "INSERT"),
        synthetic.stream_record(done_new, done_old, 2),
        synthetic.stream_record(failed_new, failed_old, 3),
        synthetic.stream_record(still, still_old, 4),
        synthetic.stream_record(None, done_new, 5, "REMOVE"),
    ]


# --- rows -------------------------------------------------------------------------------


def test_only_terminal_inserts_and_modifies_become_rows():
    rows = [export.export_row(r, 30) for r in mixed_batch()]
    assert [r.job_id if r else None for r in rows] == [None, "job-1", "job-10", None, None]


def test_a_row_carries_the_job_the_claim_and_the_last_result_time():
    new, old = finished(
        7,
        queued_s=2,
        analysis_s=3.5,
        decision_s=0.125,
        decision="review",
        labels=[("Suggestive", 71.25)],
    )
    row = export.export_row(synthetic.stream_record(new, old, 42), lease_seconds=30)
    data = json.loads(row.line)
    created = T0 + timedelta(seconds=7)
    assert data["job_id"] == "job-7" and data["user_id"] == "user-1"
    assert (data["status"], data["decision"]) == ("complete", "review")
    assert data["created_at"] == synthetic.iso(created)
    assert data["claimed_at"] == synthetic.iso(created + timedelta(seconds=2))
    assert data["analyzed_at"] == synthetic.iso(created + timedelta(seconds=5.5))
    assert data["completed_at"] == synthetic.iso(created + timedelta(seconds=5.625))
    assert data["rekognition_result"]["labels"][0]["confidence"] == 71.25
    assert data["stream"] == {"event_id": "evt-42", "sequence_number": "42".rjust(21, "0")}
    assert "expires_at" not in data and "dispatch_lease" not in data
    # completed_at is 2026-05-02 00:00:03.625, so the row belongs to that day
    assert row.dt == "2026-05-02"


def test_rows_are_partitioned_by_the_utc_date_of_completed_at():
    new, old = finished(1)
    new = {**new, "completed_at": "2026-05-02T01:30:00.000+02:00"}  # 2026-05-01 23:30 UTC
    assert export.export_row(synthetic.stream_record(new, old, 1)).dt == "2026-05-01"


def test_claimed_at_needs_the_lease_seconds():
    new, old = finished(1)
    row = json.loads(export.export_row(synthetic.stream_record(new, old, 1), None).line)
    assert row["claimed_at"] is None and row["analyzed_at"] is not None


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda r: r.pop("dynamodb"), id="no-change"),
        pytest.param(lambda r: r["dynamodb"]["NewImage"].pop("job_id"), id="no-job-id"),
        pytest.param(lambda r: r["dynamodb"]["NewImage"].update(job_id={"Q": "x"}), id="bad-type"),
        pytest.param(
            lambda r: r["dynamodb"]["NewImage"].update(completed_at={"S": "yesterday"}),
            id="bad-time",
        ),
        pytest.param(
            lambda r: r["dynamodb"]["NewImage"].update(completed_at={"S": "2026-05-01T10:00:00"}),
            id="naive-time",
        ),
        pytest.param(
            lambda r: r["dynamodb"]["NewImage"].update(
                custom_result={"M": {"blob": {"B": b"\x00"}}}
            ),
            id="binary",
        ),
    ],
)
def test_malformed_terminal_records_raise(mangle):
    new, old = finished(1)
    record = synthetic.stream_record(new, old, 1)
    mangle(record)
    with pytest.raises(export.MalformedRecord):
        export.export_row(record, 30)


def test_objects_are_deterministic_and_one_per_date_per_batch():
    batch = mixed_batch()
    rows = [r for r in (export.export_row(x, 30) for x in batch) if r]
    assert export.encode(r.line for r in rows) == export.encode(r.line for r in rows)
    digest = export.batch_digest(batch)
    assert digest == export.batch_digest(copy.deepcopy(batch))
    assert digest != export.batch_digest(batch[1:])
    assert export.object_key("2026-05-01", digest) == f"jobs/dt=2026-05-01/part-{digest}.jsonl.gz"
    # a job repeated inside a batch is kept once, the later record winning
    twice = export.group_rows([rows[0], rows[1], rows[0]])
    assert [r.job_id for g in twice.values() for r in g] == ["job-10", "job-1"]


# --- the handler ----------------------------------------------------------------------------


def test_a_mixed_batch_exports_its_terminal_jobs_gzip_partitioned(stack):
    out = stack.invoke("exporter", {"Records": mixed_batch()})
    assert out == {"batchItemFailures": []}
    stored = objects(stack)
    digest = export.batch_digest(mixed_batch())
    # job-1 completed just before midnight, job-10 just after: one object per date
    assert set(stored) == {
        f"jobs/dt=2026-05-01/part-{digest}.jsonl.gz",
        f"jobs/dt=2026-05-02/part-{digest}.jsonl.gz",
    }
    by_day = {}
    for key, body in stored.items():
        assert body[:2] == b"\x1f\x8b"  # gzip
        by_day[key.split("/")[1]] = [
            json.loads(line) for line in gzip.decompress(body).decode().splitlines()
        ]
    assert [(r["job_id"], r["status"]) for r in by_day["dt=2026-05-01"]] == [("job-1", "complete")]
    assert [(r["job_id"], r["status"]) for r in by_day["dt=2026-05-02"]] == [("job-10", "failed")]
    head = stack.client("s3").head_object(
        Bucket=stack.exports["results_bucket"], Key=f"jobs/dt=2026-05-01/part-{digest}.jsonl.gz"
    )
    assert head["Metadata"]["rows"] == "1"
    assert head["ServerSideEncryption"] == "AES256"


def test_redelivering_the_same_batch_writes_no_duplicate_rows(stack):
    batch = mixed_batch()
    stack.invoke("exporter", {"Records": batch})
    first = objects(stack)
    stack.invoke("exporter", {"Records": copy.deepcopy(batch)})
    assert objects(stack) == first  # same keys, same bytes
    rows = exported_rows(stack)
    assert sorted(r["job_id"] for r in rows) == ["job-1", "job-10"]


def test_a_malformed_record_fails_alone_by_its_sequence_number(stack):
    batch = mixed_batch()
    bad = copy.deepcopy(batch[1])
    bad["dynamodb"]["NewImage"]["job_id"] = {"Q": "not a type"}
    bad["dynamodb"]["SequenceNumber"] = "000000000000000000099"
    bad["eventID"] = "evt-99"
    batch.insert(2, bad)
    out = stack.invoke("exporter", {"Records": batch})
    assert out == {"batchItemFailures": [{"itemIdentifier": "000000000000000000099"}]}
    # the good records of the batch are exported all the same
    assert sorted(r["job_id"] for r in exported_rows(stack)) == ["job-1", "job-10"]


def test_a_batch_of_only_malformed_records_fails_the_invocation(stack):
    new, old = finished(1)
    bad = synthetic.stream_record(new, old, 1)
    bad["dynamodb"]["NewImage"].pop("job_id")
    with pytest.raises(Exception, match="All records failed"):
        stack.invoke("exporter", {"Records": [bad]})
    assert objects(stack) == {}


def test_a_failed_put_fails_the_invocation_so_the_batch_is_retried(stack):
    def missing_bucket(module):
        os.environ["RESULTS_BUCKET"] = "no-such-results-bucket"

    with pytest.raises(ClientError, match="NoSuchBucket"):
        stack.invoke("exporter", {"Records": mixed_batch()}, patch=missing_bucket)


def test_real_stream_records_of_the_pipeline_export_each_finished_job_once(stack):
    """Jobs moved through the job store's own transitions; the stream as moto records it."""
    ddb, table = stack.client("dynamodb"), stack.exports["jobs_table"]
    now = datetime(2026, 5, 3, 12, 0, 0, tzinfo=UTC)
    for i in range(6):
        job_id = f"real-{i}"
        jobs.create_job(
            ddb,
            table,
            jobs.new_job(
                job_id=job_id,
                user_id="u",
                image_key=f"uploads/{job_id}",
                content_type="image/png",
                size_bytes=100,
                now=now,
                retention_days=90,
            ),
        )
        if i == 5:
            jobs.fail_job(ddb, table, job_id, "upload could not be queued: boom", now)
            continue
        jobs.claim_for_analysis(ddb, table, job_id, now + timedelta(seconds=1), lease_seconds=30)
        if i == 4:
            continue  # still analyzing: not exported
        for branch in Branch:
            jobs.record_result(
                ddb, table, job_id, branch, {"labels": [], "flags": []}, now + timedelta(seconds=2)
            )
        jobs.finalize(ddb, table, job_id, "approve", [], now + timedelta(seconds=3))
    records = stream_records(stack)
    # the mapping's filter passes only terminal writes; the function gets those
    mapping = [m for m in stack.registry.mappings if m.function.endswith("-exporter")][0]
    delivered = [r for r in records if passes_filters(mapping.filters, r)]
    assert len(delivered) == 5
    for start in range(0, len(delivered), 2):  # batches of 2, then the whole lot again
        assert stack.invoke("exporter", {"Records": delivered[start : start + 2]}) == {
            "batchItemFailures": []
        }
    stack.invoke("exporter", {"Records": delivered})
    rows = exported_rows(stack)
    assert {r["job_id"] for r in rows} == {"real-0", "real-1", "real-2", "real-3", "real-5"}
    # a re-cut batch repeats rows in another object: the report keeps one per job
    assert len(rows) == 10
    real0 = next(r for r in rows if r["job_id"] == "real-0")
    assert real0["claimed_at"] == "2026-05-03T12:00:01.000Z"
    assert real0["analyzed_at"] == "2026-05-03T12:00:02.000Z"
    assert real0["completed_at"] == "2026-05-03T12:00:03.000Z"


def test_backfill_exports_terminal_jobs_from_the_table_idempotently(stack):
    from analytics.backfill import backfill

    ddb, table = stack.client("dynamodb"), stack.exports["jobs_table"]
    for i in range(5):
        new, _ = finished(
            i, failure="deadline exceeded: still pending after 900 s" if i == 4 else None
        )
        ddb.put_item(TableName=table, Item=synthetic.image(new))
    pending, _ = finished(9)
    ddb.put_item(TableName=table, Item=synthetic.image({**pending, "status": "pending"}))
    s3, bucket = stack.client("s3"), stack.exports["results_bucket"]
    first = backfill(ddb, s3, table, bucket, page_size=2)
    assert first["exported"] == 5 and first["unreadable"] == 0
    before = objects(stack)
    again = backfill(ddb, s3, table, bucket, page_size=2)
    assert again == first and objects(stack) == before
    rows = exported_rows(stack)
    assert sorted(r["job_id"] for r in rows) == [f"job-{i}" for i in range(5)]
    assert all(r["claimed_at"] is None and r["stream"]["sequence_number"] is None for r in rows)
    late = backfill(ddb, s3, table, bucket, since="2026-05-02")
    assert late["exported"] == 0  # all completed on 2026-05-01
