"""`make bench`: run the quick version of every benchmark, save JSON and Markdown.

Each benchmark runs in its own process and prints one JSON document. The results go
to `bench/results/latest.json` and `bench/results/latest.md`, and the README's
figures block (between the `bench:start`/`bench:end` markers) is rewritten from
them, with the date and the machine, so the README always shows the latest run.

    python -m bench.run_all [--only throughput,chaos] [--no-readme]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from bench.machine import describe

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

# name -> (module, quick arguments)
BENCHMARKS = {
    "throughput": ("bench.throughput", ["--quick"]),
    "coldstart": ("bench.coldstart", ["--quick"]),
    "cost": ("bench.cost", ["--quick"]),
    "chaos": ("bench.chaos", ["--quick"]),
    "cache": ("bench.cache", ["--quick"]),
    "edge_coldstart": ("bench.edge_coldstart", []),
    "dashboard_load": ("bench.dashboard_load", []),  # 100,000 jobs: the target's scale
    "spark_report": ("bench.spark_report", ["--rows", "200000"]),
}


def run_one(module: str, args: list[str]) -> dict:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True
    )
    elapsed = round(time.monotonic() - started, 1)
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        result = {"error": (proc.stderr or proc.stdout)[-2000:]}
    result["_exit_code"] = proc.returncode
    result["_seconds"] = elapsed
    return result


def _get(doc: dict, *path, default="–"):
    for key in path:
        if not isinstance(doc, dict) or key not in doc:
            return default
        doc = doc[key]
    return doc


def _saving(percent) -> str:
    """A signed saving in words: -33.1 is 33.1% more, not "-33.1% less"."""
    if not isinstance(percent, int | float):
        return f"{percent}"
    return f"{abs(percent)}% {'less' if percent >= 0 else 'more'}"


def summary_rows(results: dict[str, dict]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    t = results.get("throughput")
    if t:
        rows += [
            (
                "Local throughput, max sustained offered load",
                f"{_get(t, 'max_sustained_offered_jobs_per_s')} jobs/s "
                f"(measured max {_get(t, 'max_throughput_jobs_per_s')} jobs/s)",
            ),
            (
                "Saturation (first offered rate not kept up)",
                f"{_get(t, 'saturation_offered_jobs_per_s', default=None) or 'not reached'}",
            ),
            ("End-to-end p95 at half saturation", f"{_get(t, 'p95_ms_at_half_saturation')} ms"),
            ("Local cloud memory (PSS, peak)", f"{_get(t, 'peak_memory_mb')} MB"),
            ("Local cloud CPU per job vs direct handler calls", f"{_get(t, 'overhead_ratio')}x"),
        ]
    c = results.get("cost")
    if c:
        rows += [
            (
                "Cost of 1M jobs/month without Rekognition, month 1 (this design / seed design)",
                f"${_get(c, 'this_design', 'pipeline_usd')} / ${_get(c, 'seed_design', 'pipeline_usd')} "
                f"({_saving(_get(c, 'pipeline_saving_percent'))}; like for like, without the sweeper "
                f"index, alarms, metrics, key, tracing and backups: "
                f"{_saving(_get(c, 'like_for_like_saving_percent'))})",
            ),
            (
                "Same, month 12 (the seed design expires no image or job)",
                f"${_get(c, 'month_12', 'this_design_pipeline_usd')} / "
                f"${_get(c, 'month_12', 'seed_design_pipeline_usd')} "
                f"({_saving(_get(c, 'month_12', 'saving_percent'))})",
            ),
            (
                "Cost per 1M jobs including Rekognition",
                f"${_get(c, 'this_design', 'total_usd')} / ${_get(c, 'seed_design', 'total_usd')}",
            ),
            (
                "DynamoDB calls per job (this design / seed design)",
                f"{_get(c, 'this_design', 'dynamodb_calls_per_job')} / "
                f"{_get(c, 'seed_design', 'dynamodb_calls_per_job')}",
            ),
        ]
    ch = results.get("chaos")
    if ch:
        rows += [
            (
                "Chaos: jobs accepted / terminal / notified twice / poison in DLQ",
                f"{_get(ch, 'jobs_accepted')} / {_get(ch, 'jobs_terminal')} / "
                f"{_get(ch, 'jobs_notified_twice')} / {_get(ch, 'poison_in_dlq')} of "
                f"{_get(ch, 'poison_sent')} — {'passed' if ch.get('passed') else 'FAILED'}",
            ),
        ]
    cs = results.get("coldstart")
    if cs:
        fns = _get(cs, "functions", default={})
        if isinstance(fns, dict) and fns:
            worst = max(
                (k for k in fns if not k.startswith("(")), key=lambda k: fns[k]["init_ms"]["p50"]
            )
            rows.append(
                (
                    "Cold start (Init Duration p50), slowest function / empty handler",
                    f"{worst} {fns[worst]['init_ms']['p50']} ms / "
                    f"{fns['(empty handler)']['init_ms']['p50']} ms",
                )
            )
    ca = results.get("cache")
    if ca:
        rows.append(
            (
                "Status cache: DynamoDB reads per status request off / on (reduction)",
                f"{_get(ca, 'cache_off', 'reads_per_request')} / "
                f"{_get(ca, 'cache_on', 'reads_per_request')} "
                f"({_get(ca, 'ratios', 'dynamodb_reads_per_request_off_over_on')}x)",
            )
        )
    ed = results.get("edge_coldstart")
    if ed and "error" not in ed:
        rows.append(
            (
                "Edge function package (zipped, limit 1 MB) / cold import / verify",
                f"{_get(ed, 'package', 'zipped_bytes')} bytes / "
                f"{_get(ed, 'cold_import', 'p50_ms')} ms / "
                f"{_get(ed, 'requests', 'valid_token', 'p50_ms')} ms per token",
            )
        )
    sp = results.get("spark_report")
    if sp and "error" not in sp:
        rows.append(
            (
                "Spark report, local mode (EMR Serverless estimate per run)",
                f"{_get(sp, 'input', 'rows')} rows in {_get(sp, 'report', 'wall_seconds')} s "
                f"({_get(sp, 'report', 'rows_per_second')} rows/s; "
                f"${_get(sp, 'emr_serverless_estimate', 'cost_usd_arm64')} on arm64)",
            )
        )
    dl = results.get("dashboard_load")
    if dl and "error" not in dl:
        pages = _get(dl, "pages", default={})
        if isinstance(pages, dict) and pages:
            slow = max(pages, key=lambda k: pages[k].get("seconds", 0))
            rows.append(
                (
                    f"Dashboard data load at {_get(dl, 'jobs')} jobs, slowest page",
                    f"{slow} {pages[slow].get('seconds')} s (all under 2 s: "
                    f"{_get(dl, 'all_under_budget')})",
                )
            )
    return rows


def markdown(results: dict[str, dict], machine: dict) -> str:
    lines = [
        f"Measured {machine['date']} on {machine['cpus']} CPUs ({machine['cpu']}), "
        f"{machine['memory_gib']} GiB, Python {machine['python']} — `make bench` (quick versions).",
        "",
        "| Figure | Value |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in summary_rows(results)]
    failed = [n for n, r in results.items() if r.get("_exit_code")]
    if failed:
        lines += ["", f"Benchmarks that exited non-zero: {', '.join(failed)}."]
    return "\n".join(lines) + "\n"


def update_readme(block: str) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    if start not in text or end not in text:
        return
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{start}\n{block}{end}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args(argv)
    names = [n for n in BENCHMARKS if not args.only or n in args.only.split(",")]
    RESULTS.mkdir(parents=True, exist_ok=True)
    machine = describe()
    results: dict[str, dict] = {}
    for name in names:
        module, quick = BENCHMARKS[name]
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results[name] = run_one(module, quick)
        print(
            f"  {name}: exit {results[name]['_exit_code']} in {results[name]['_seconds']} s",
            file=sys.stderr,
            flush=True,
        )
    (RESULTS / "latest.json").write_text(
        json.dumps({"machine": machine, "results": results}, indent=2)
    )
    block = markdown(results, machine)
    (RESULTS / "latest.md").write_text(block)
    if not args.no_readme and not args.only:
        update_readme(block)
    print(block)
    return 1 if any(r.get("_exit_code") for r in results.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
