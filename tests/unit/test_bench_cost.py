"""bench/cost.py without a local cloud: the reposts workload, and the modes' report from runs."""

from __future__ import annotations

import hashlib
import io

import pytest

from bench import cost as bench
from common.images import dhash, open_image

# --- the workload -----------------------------------------------------------------------------


def test_the_workload_has_its_shares_of_repeats_and_blocklisted_images():
    work = bench.build_workload(200, repeat_share=0.25, decisive_share=0.05, seed=3)
    items = work.items
    assert len(items) == 200
    kinds = [i.kind for i in items]
    assert kinds.count("repeat") == 50 and kinds.count("decisive") == 10
    assert items[0].kind != "repeat"
    originals = [i for i in items if i.kind != "repeat"]
    # Originals are all different bytes; a repeat is an earlier original's bytes exactly.
    assert len({i.sha256 for i in originals}) == len(originals) == 150
    for position, item in enumerate(items):
        if item.kind == "repeat":
            assert item.source is not None and item.source < position
            source = items[item.source]
            assert source.kind != "repeat" and source.data == item.data
            assert source.content_type == item.content_type
    # The blocklist is the decisive images' dHashes, computed with the analyzer's code, and
    # no distinct image is near enough to one to be blocklisted too.
    decisive = [i for i in items if i.kind == "decisive"]
    assert work.blocklist == tuple(dhash(open_image(i.data)) for i in decisive)
    distance = bench.blocklist_max_distance()
    for item in items:
        if item.kind == "distinct":
            digest = dhash(open_image(item.data))
            assert min(bench.hamming(digest, b) for b in work.blocklist) > distance
    assert "blocklisted" not in {i.fixture for i in items}  # the fixtures' one, same bytes
    described = work.describe()
    assert described["repeat_share"] == 0.25 and described["distinct_images"] == 150
    assert described["decisive_share"] >= 0.05


def test_the_workload_is_the_same_for_a_seed_and_avoids_what_it_is_told():
    a = bench.build_workload(40, seed=9)
    assert [i.sha256 for i in a.items] == [i.sha256 for i in bench.build_workload(40, seed=9).items]
    warm = bench.build_workload(20, 0.0, 0.0, seed=10, avoid=frozenset(i.sha256 for i in a.items))
    assert not {i.sha256 for i in warm.items} & {i.sha256 for i in a.items}
    assert not warm.blocklist and all(i.kind == "distinct" for i in warm.items)


def test_shares_out_of_range_are_refused():
    with pytest.raises(ValueError):
        bench.build_workload(10, repeat_share=1.5)
    with pytest.raises(ValueError):
        bench.build_workload(10, repeat_share=0.7, decisive_share=0.5)


# --- the report from runs -----------------------------------------------------------------------

JOBS = 100


def record(i: int, decision: str = "approve", **extra) -> dict:
    stamp = "2026-01-01T00:00:00.000Z"
    job = {
        "job_id": f"job-{i:04d}",
        "user_id": "u",
        "status": "complete",
        "created_at": stamp,
        "updated_at": stamp,
        "completed_at": stamp,
        "content_sha256": hashlib.sha256(str(i).encode()).hexdigest(),
        "decision": decision,
        "reasons": ["ok"],
        "categories": [],
    }
    if "reused_from" not in extra:
        job.update(
            branches=["rekognition", "custom", "text"],
            rekognition_result={"labels": [], "model_version": "7.0"},
            custom_result={"categories": [], "signals": []},
            text_result={"signals": []},
        )
    job.update(extra)
    return job


def fn(invocations: int, memory: int = 512, **calls: int) -> dict:
    return {
        "invocations": invocations,
        "billed_ms": invocations * 100,
        "memory_mb": memory,
        "api_calls": {k.replace("__", ":"): v for k, v in calls.items()},
    }


def run(reused: int, skipped: int, verdicts: bool, decisions: list[str] | None = None) -> dict:
    """A run of JOBS jobs: `reused` completed from verdicts, `skipped` analyzed without
    Rekognition, every call counted as the local cloud's counters would."""
    analyzed = JOBS - reused
    rekognition = analyzed - skipped
    decisions = decisions or ["approve"] * JOBS
    records = []
    for i in range(JOBS):
        if i < reused:
            records.append(record(i, decisions[i], reused_from=f"job-{i + 5000}"))
        elif i < reused + skipped:
            records.append(
                record(i, decisions[i], rekognition_result={"labels": [], "skipped": True})
            )
        else:
            records.append(record(i, decisions[i]))
    dispatcher_calls = {"dynamodb__UpdateItem": analyzed}
    if verdicts:
        dispatcher_calls["dynamodb__BatchGetItem"] = JOBS
    functions = {
        "upload": fn(JOBS, dynamodb__PutItem=JOBS, s3__PutObject=JOBS, sqs__SendMessage=JOBS),
        "dispatcher": fn(JOBS // 5, 256, **dispatcher_calls),
        "rekognition_analyzer": fn(
            rekognition, 256, rekognition__DetectModerationLabels=rekognition
        ),
        "custom_analyzer": fn(
            analyzed,
            1024,
            s3__GetObject=analyzed,
            dynamodb__UpdateItem=analyzed,
            **({"dynamodb__PutItem": analyzed} if verdicts else {}),
        ),
        "text_analyzer": fn(analyzed, 1769, s3__GetObject=analyzed),
        "notifier": fn(JOBS // 5, 256, sns__Publish=JOBS),
    }
    ids = [r["job_id"] for r in records]
    notified = {
        job_id: {"job_id": job_id, "status": "complete", "decision": d}
        for job_id, d in zip(ids, decisions, strict=True)
        if d != "unfinished"
    }
    return {
        "summary": {
            "latency_ms": {"p95": 1000.0 + reused},
            "completed": len(notified),
            "failed": 0,
            "unfinished": JOBS - len(notified),
        },
        "functions": functions,
        "jobs": records,
        "records": records,
        "accepted": JOBS,
        "positions": {job_id: i for i, job_id in enumerate(ids)},
        "notifications": notified,
    }


@pytest.fixture(scope="module")
def work():
    return bench.build_workload(JOBS, 0.2, 0.04, seed=1)


def runs(custom_first_decisions: list[str] | None = None) -> dict[str, dict]:
    return {
        "reuse_off": run(0, 0, verdicts=False),
        "reuse_on": run(20, 0, verdicts=True),
        "reuse_on_custom_first": run(20, 4, verdicts=True, decisions=custom_first_decisions),
    }


def test_each_mode_is_priced_from_its_own_calls(work):
    doc = bench.report(runs(), work, machine={"date": "x"})
    modes = doc["modes"]
    off, on, first = modes["reuse_off"], modes["reuse_on"], modes["reuse_on_custom_first"]
    assert (off["rekognition_calls_per_job"], on["rekognition_calls_per_job"]) == (1.0, 0.8)
    assert first["rekognition_calls_per_job"] == 0.76
    assert (on["reuse_share"], first["rekognition_skip_share"]) == (0.2, 0.05)
    # Per 1M jobs in Rekognition's first tier: $1 per 1,000 images actually sent.
    assert off["by_service_usd"]["Rekognition"] == 1000.0
    assert on["by_service_usd"]["Rekognition"] == 800.0
    assert first["by_service_usd"]["Rekognition"] == 760.0
    # The analyzers ran for the analyzed jobs only: 0.8M custom analyzer requests.
    requests = {f["function"]: f["invocations_per_job"] for f in on["lambda"]}
    assert requests["custom_analyzer"] == pytest.approx(1.0)  # per analyzed job
    assert on["measured"]["verdict_lookups_per_job"] == 1.0
    assert on["measured"]["verdict_puts_per_analyzed_job"] == 1.0
    # Reuse adds a lookup read per job and a write per analyzed job at DynamoDB...
    assert on["dynamodb_calls_per_job"] > off["dynamodb_calls_per_job"]
    # ...and the totals follow, each against the reference design's.
    reference = doc["reference_design"]["total_usd"]
    for mode in modes.values():
        assert mode["ratio_to_reference"] == round(mode["total_usd_per_1m_jobs"] / reference, 3)
    assert off["total_usd_per_1m_jobs"] > on["total_usd_per_1m_jobs"]
    assert on["total_usd_per_1m_jobs"] > first["total_usd_per_1m_jobs"]
    assert doc["goal"]["ratio"] == first["ratio_to_reference"]
    assert doc["goal"]["met"] == (first["ratio_to_reference"] <= 0.75)
    assert off["p95_ms"] == 1000.0 and on["p95_ms"] == 1020.0
    # The design's columns are the reuse-off run, keyed as bench/figures.py reads them.
    assert doc["this_design_mode"] == "reuse_off"
    assert doc["this_design"]["total_usd"] == off["total_usd_per_1m_jobs"]
    for key in ("pipeline_saving_percent", "like_for_like_saving_percent", "month_12"):
        assert key in doc
    assert doc["decisions_identical"] is True and doc["mismatches"] == []


def test_a_decision_that_differs_or_is_missing_is_reported_by_position(work):
    decisions = ["approve"] * JOBS
    decisions[7], decisions[9] = "reject", "unfinished"
    doc = bench.report(runs(decisions), work, machine={"date": "x"})
    assert doc["decisions_identical"] is False
    assert [m["position"] for m in doc["mismatches"]] == [7, 9]
    assert doc["mismatches"][0]["reuse_off"] == "approve"
    assert doc["mismatches"][0]["reuse_on_custom_first"] == "reject"
    assert doc["mismatches"][1]["reuse_on_custom_first"] == "unfinished"
    assert doc["decisions_by_mode"]["reuse_on_custom_first"] == {
        "approve": 98,
        "reject": 1,
        "unfinished": 1,
    }


def test_repeats_only_repeat_images_of_an_earlier_wave():
    work = bench.build_workload(80, repeat_share=0.25, decisive_share=0.05, seed=3, waves=4)
    assert work.wave_starts == (0, 20, 40, 60)
    waves = work.waves()
    assert [start for start, _ in waves] == [0, 20, 40, 60]
    assert sum(len(uploads) for _, uploads in waves) == 80
    for position, item in enumerate(work.items):
        if item.kind == "repeat":
            wave_start = max(s for s in work.wave_starts if s <= position)
            assert position >= 20 and item.source < wave_start, (position, item.source)
            assert work.items[item.source].data == item.data
    assert sum(1 for i in work.items if i.kind == "repeat") == 20


def test_re_encoded_repeats_are_an_earlier_picture_in_new_bytes():
    from PIL import Image

    from common import pdq
    from local.tools.fixtures import LABEL_CHUNK

    work = bench.build_workload(100, 0.25, 0.05, seed=3, reencode_share=0.15)
    kinds = [i.kind for i in work.items]
    assert kinds.count("repeat") == 25 and kinds.count("reencoded") == 15
    assert work.describe()["reencode_share"] == 0.15
    for position, item in enumerate(work.items):
        if item.kind != "reencoded":
            continue
        original = work.items[item.source]
        assert item.source < position and original.kind in ("distinct", "decisive")
        assert item.sha256 != original.sha256
        before = Image.open(io.BytesIO(original.data))
        after = Image.open(io.BytesIO(item.data))
        # The stand-in's labels ride along where the original carried them.
        assert after.info.get(LABEL_CHUNK) == before.info.get(LABEL_CHUNK)
        a, b = pdq.hash_image(before.convert("RGB")), pdq.hash_image(after.convert("RGB"))
        if a.quality >= pdq.MIN_QUALITY:
            assert (int(a.hash, 16) ^ int(b.hash, 16)).bit_count() <= 40


def test_near_duplicate_reuse_is_priced_as_rekognition_not_called(work):
    measured = runs()
    near = run(20, 4, verdicts=True)
    for r in near["records"][30:40]:
        r["rekognition_result"] = {"labels": [], "model_version": "7.0", "near_duplicate_of": "x"}
    near["functions"]["rekognition_analyzer"] = fn(66, 256, rekognition__DetectModerationLabels=66)
    measured["near_duplicate"] = near
    doc = bench.report(measured, work, machine={"date": "x"})
    mode = doc["modes"]["near_duplicate"]
    assert mode["near_duplicate_share"] == 0.1
    assert mode["rekognition_calls_per_job"] == 0.66
    assert (
        mode["total_usd_per_1m_jobs"]
        < doc["modes"]["reuse_on_custom_first"]["total_usd_per_1m_jobs"]
    )
    goal = doc["near_duplicate_goal"]
    assert goal["ratio"] == mode["ratio_to_reference"] and goal["limit"] == 0.55
    assert goal["met"] == (goal["ratio"] <= 0.55 and doc["decisions_identical"])
