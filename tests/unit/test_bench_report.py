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
