"""The `make bench` report: figures read from each benchmark's JSON, worded honestly."""

from bench.figures import markdown, summary_rows

MACHINE = {
    "date": "2026-01-01 00:00 UTC",
    "cpus": 2,
    "cpu": "test",
    "memory_gib": 1,
    "python": "3.11",
}


def cost(saving: float, like_for_like: float, month_12: float) -> dict:
    return {
        "this_design": {"pipeline_usd": 40.0, "total_usd": 1154.4, "dynamodb_calls_per_job": 5.0},
        "reference_design": {
            "pipeline_usd": 31.0,
            "total_usd": 1145.4,
            "dynamodb_calls_per_job": 8,
        },
        "pipeline_saving_percent": saving,
        "like_for_like_saving_percent": like_for_like,
        "month_12": {
            "this_design_pipeline_usd": 45.0,
            "seed_design_pipeline_usd": 180.0,
            "saving_percent": month_12,
        },
        "_exit_code": 0,
    }


def test_a_negative_saving_reads_as_more_not_as_negative_less():
    rows = dict(summary_rows({"cost": cost(-29.0, 2.5, 75.0)}))
    month_1 = next(v for k, v in rows.items() if "month 1" in k)
    assert "29.0% more" in month_1 and "2.5% less" in month_1
    assert "-" not in month_1.split("(", 1)[1]
    month_12 = next(v for k, v in rows.items() if "month 12" in k)
    assert "75.0% less" in month_12


def test_missing_figures_show_a_dash_and_failed_benchmarks_are_named():
    results = {"cost": {"_exit_code": 0}, "chaos": {"error": "boom", "_exit_code": 1}}
    text = markdown(results, MACHINE)
    assert "$– / $–" in text
    assert "FAILED" in text
    assert "Benchmarks that exited non-zero: chaos." in text


def test_review_figures_name_the_goal_and_the_calls_per_review():
    result = {
        "pending_reviews": 10000,
        "page_size": 25,
        "goal_p95_ms": 300.0,
        "list_ms": {"p50": 60.0, "p95": 410.0},
        "p95_under_goal": False,
        "dynamodb_calls_per_request": {
            "list_page": {"Query": 1.0},
            "verdict": {"UpdateItem": 1.0},
            "second_verdict_409": {"UpdateItem": 1.0},
        },
        "verdict_ms": {"p50": 7.0, "p95": 12.0},
        "_exit_code": 1,
    }
    rows = dict(summary_rows({"review": result}))
    listing = next(v for k, v in rows.items() if "GET /reviews" in k)
    assert listing == "60.0 / 410.0 ms (NOT met)"
    calls = next(v for k, v in rows.items() if "DynamoDB calls per list page" in k)
    assert calls == "1 Query / 1 UpdateItem / 1 UpdateItem"
    assert summary_rows({"review": {"error": "boom", "_exit_code": 1}}) == []


def test_month_12_reads_the_reference_design_key_as_bench_cost_writes_it():
    doc = cost(-29.0, 2.5, 75.0)
    doc["month_12"] = {
        "this_design_pipeline_usd": 45.0,
        "reference_design_pipeline_usd": 190.0,
        "saving_percent": 76.3,
    }
    month_12 = next(v for k, v in summary_rows({"cost": doc}) if "month 12" in k)
    assert month_12.startswith("$45.0 / $190.0 ") and "76.3% less" in month_12


def test_the_cost_modes_table_and_the_identical_decisions_are_on_the_page(tmp_path):
    from bench.figures import page

    doc = cost(-29.0, 2.5, 75.0)
    doc["reference_design"]["total_usd"] = 1031.8
    doc["workload"] = {"jobs": 120, "repeats": 30, "decisive_share": 0.05, "rate_per_s": 2.0}
    doc["modes"] = {
        "reuse_off": {
            "total_usd_per_1m_jobs": 1045.2,
            "ratio_to_reference": 1.013,
            "reuse_share": 0.0,
            "rekognition_skip_share": 0.0,
            "rekognition_calls_per_job": 1.0,
            "dynamodb_calls_per_job": 3.0,
            "p95_ms": 2100.5,
        },
        "reuse_on_custom_first": {
            "total_usd_per_1m_jobs": 744.1,
            "ratio_to_reference": 0.721,
            "reuse_share": 0.22,
            "rekognition_skip_share": 0.06,
            "rekognition_calls_per_job": 0.73,
            "dynamodb_calls_per_job": 4.2,
            "p95_ms": 2500.0,
        },
    }
    doc["goal"] = {"limit": 0.75, "ratio": 0.721, "met": True}
    doc["decisions_identical"] = False
    doc["positions_compared"] = 120
    doc["positions_differing_or_undecided"] = 1
    text = page(
        None,
        {"cost": {"command": "python -m bench.cost --quick", "machine": MACHINE, "result": doc}},
    )
    assert "`python -m bench.cost --quick`, 2026-01-01 00:00 UTC" in text
    assert "the same 120 uploads at 2.0 per second (30 byte-identical repeats" in text
    assert (
        "| reuse on + `analysisOrder: custom-first` | $744.1 | 0.721x | 0.22 / 0.06 | 0.73 "
        "| 4.2 | 2500.0 ms |" in text
    )
    assert "| verdict reuse off | $1045.2 | 1.013x |" in text
    assert "`decisions_identical`: False (120 uploads compared by position)." in text
    rows = dict(summary_rows({"cost": doc}))
    goal = next(v for k, v in rows.items() if "Calling Rekognition less" in k)
    assert goal == "0.721x (met)"
    same = next(v for k, v in rows.items() if "Same decision" in k)
    assert same == "False (1 of 120 uploads differ or are undecided)"
    # A run recorded before the modes existed shows no modes table.
    assert "Ratio to reference" not in page(
        None, {"cost": {"command": "c", "machine": MACHINE, "result": cost(1.0, 1.0, 1.0)}}
    )


def test_animation_figures_and_a_rerun_benchmark_says_its_own_machine():
    from bench.figures import page

    clip = {
        "frames_in_file": 12,
        "frames_per_job": 8,
        "rekognition_calls_per_job": 8.0,
        "latency_ms": {b: {"p50": 10.0, "p95": 20.0} for b in ("upload", "custom", "text")},
        "slowest_branch_ms_p50": 10.0,
        "flagged": {"spam_link": 8},
        "decision": "review",
    }
    doc = {
        "clips": {"GIF 12 frames": clip},
        "frame_bomb": {"frames": 10000, "bytes": 150020, "refused": "too_many_frames",
                       "refused_in_ms": 0.8},
        "max_frames": 8,
        "machine": {"date": "2026-12-07 17:32 UTC", "cpus": 2},
    }  # fmt: skip
    rows = dict(summary_rows({"animations": doc}))
    key = "Animations, GIF 12 frames (12 frames in the file): frames per job / Rekognition calls per job"
    assert rows[key] == "8 / 8.0 (maxFrames 8)"
    latency = next(v for k, v in rows.items() if k.startswith("Animations, GIF 12 frames: latency"))
    assert "– / –" in latency  # no Rekognition figure: a dash, not an invented number
    assert "review: spam_link (frame 8)" in latency
    assert (
        "refused `too_many_frames` in 0.8 ms"
        in rows["Animations: a GIF of 10,000 tiny frames (150,020 B)"]
    )
    quick = {"machine": {"date": "2026-12-02 01:41 UTC"}, "results": {"animations": doc}}
    section = page(quick, {}).split("## Animations")[1]
    assert "2026-12-07 17:32 UTC" in section and "2026-12-02" not in section
