"""The figures page, docs/figures.md, rendered from the benchmarks' recorded JSON.

`make bench` records the quick run of every benchmark in `bench/recorded/quick.json`;
`python -m bench.record NAME ARGS...` records a full run in `bench/recorded/full/NAME.json`.
Both re-render the page from everything recorded, so every figure in the docs comes from
a JSON document with its command, date and machine beside it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RECORDED = ROOT / "bench" / "recorded"
PAGE = ROOT / "docs" / "figures.md"


def _get(doc: Any, *path: str, default: Any = "–") -> Any:
    for key in path:
        if not isinstance(doc, dict) or key not in doc:
            return default
        doc = doc[key]
    return doc


def _saving(percent: Any) -> str:
    """A signed saving in words: -33.1 is 33.1% more, not "-33.1% less"."""
    if not isinstance(percent, int | float):
        return f"{percent}"
    return f"{abs(percent)}% {'less' if percent >= 0 else 'more'}"


def throughput_rows(t: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
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
        (
            "Goals with the models on: >= 10 jobs/s sustained / p95 < 3 s at 10 jobs/s",
            f"{_get(t, 'targets', 'sustained_10_jobs_per_s_with_models')} / "
            f"{_get(t, 'targets', 'p95_under_3s_at_10')}",
        ),
        (
            "Local cloud CPU per job (all processes)",
            f"{_get(t, 'local_cloud_cpu_seconds_per_job')} s",
        ),
        (
            "Per offered rate: achieved jobs/s, p95 created -> completed",
            "; ".join(
                f"{s.get('offered_jobs_per_s')} -> {s.get('throughput_jobs_per_s')} jobs/s, "
                f"p95 {_get(s, 'latency_ms', 'p95')} ms"
                for s in (_get(t, "steps", default=[]) or [])
            )
            or "–",
        ),
        ("Local cloud memory (PSS, peak)", f"{_get(t, 'peak_memory_mb')} MB"),
        ("Local cloud CPU per job vs direct handler calls", f"{_get(t, 'overhead_ratio')}x"),
    ]
    return rows


def cost_rows(c: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    # Runs recorded before the rename called the reference design the seed design.
    reference_month_12 = _get(c, "month_12", "reference_design_pipeline_usd", default=None)
    if reference_month_12 is None:
        reference_month_12 = _get(c, "month_12", "seed_design_pipeline_usd")
    rows += [
        (
            "Cost of 1M jobs/month without Rekognition, month 1 (this design / reference design)",
            f"${_get(c, 'this_design', 'pipeline_usd')} / ${_get(c, 'reference_design', 'pipeline_usd')} "
            f"({_saving(_get(c, 'pipeline_saving_percent'))}; like for like, without the sweeper "
            f"index, alarms, metrics, key, tracing and backups: "
            f"{_saving(_get(c, 'like_for_like_saving_percent'))})",
        ),
        (
            "Same, month 12 (the reference design expires no image or job)",
            f"${_get(c, 'month_12', 'this_design_pipeline_usd')} / "
            f"${reference_month_12} "
            f"({_saving(_get(c, 'month_12', 'saving_percent'))})",
        ),
        (
            "Cost per 1M jobs including Rekognition",
            f"${_get(c, 'this_design', 'total_usd')} / ${_get(c, 'reference_design', 'total_usd')}",
        ),
        (
            "DynamoDB calls per job (this design / reference design)",
            f"{_get(c, 'this_design', 'dynamodb_calls_per_job')} / "
            f"{_get(c, 'reference_design', 'dynamodb_calls_per_job')}",
        ),
    ]
    if isinstance(c.get("modes"), dict):
        goal = _get(c, "goal", default={})
        rows += [
            (
                "Calling Rekognition less: reuse on + custom-first over the reference design, "
                f"per 1M jobs (goal <= {_get(goal, 'limit')}x)",
                f"{_get(goal, 'ratio')}x ({'met' if goal.get('met') else 'NOT met'})",
            ),
        ]
        near = c.get("near_duplicate_goal")
        if isinstance(near, dict):
            rows.append(
                (
                    "Near-duplicate reuse (`verdictReuse.nearDuplicate`) over the reference "
                    f"design, per 1M jobs, decisions identical (goal <= {_get(near, 'limit')}x)",
                    f"{_get(near, 'ratio')}x, decisions identical "
                    f"{_get(near, 'decisions_identical')} "
                    f"({'met' if near.get('met') else 'NOT met'})",
                )
            )
        rows += [
            (
                "Same decision for every upload in every mode",
                f"{_get(c, 'decisions_identical')} ({_get(c, 'positions_differing_or_undecided')} "
                f"of {_get(c, 'positions_compared')} uploads differ or are undecided)",
            ),
        ]
    return rows


MODE_LABELS = {
    "reuse_off": "verdict reuse off",
    "reuse_on": "verdict reuse on",
    "reuse_on_custom_first": "reuse on + `analysisOrder: custom-first`",
    "near_duplicate": "custom-first + `verdictReuse.nearDuplicate`",
}


def cost_modes_table(c: dict[str, Any]) -> list[str]:
    """The cost modes on one workload: a table of its own under the cost figures."""
    modes = c.get("modes")
    if not isinstance(modes, dict) or not modes:
        return []
    w = _get(c, "workload", default={})
    lines = [
        f"Per mode, the same {_get(w, 'jobs')} uploads at {_get(w, 'rate_per_s')} per second "
        f"({_get(w, 'repeats')} byte-identical repeats of uploads of an earlier wave, "
        f"{_get(w, 'reencoded', default=0)} re-encoded ones, a "
        f"{_get(w, 'decisive_share')} share blocklisted), each on a fresh local cloud, priced "
        f"per 1M jobs; the reference design ${_get(c, 'reference_design', 'total_usd')}. "
        "Reused: the share of jobs completed from a stored verdict; skipped: the share of "
        "analyzed jobs decided without a Rekognition call (custom-first's reject, or labels "
        "of a near-duplicate).",
        "",
        "| Mode | $ / 1M jobs | Ratio to reference | Reused / Rekognition skipped "
        "| Rekognition calls / job | DynamoDB calls / job | p95 end to end |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, m in modes.items():
        lines.append(
            f"| {MODE_LABELS.get(name, name)} | ${_get(m, 'total_usd_per_1m_jobs')} "
            f"| {_get(m, 'ratio_to_reference')}x "
            f"| {_get(m, 'reuse_share')} / {_get(m, 'rekognition_skip_share')} "
            f"| {_get(m, 'rekognition_calls_per_job')} | {_get(m, 'dynamodb_calls_per_job')} "
            f"| {_get(m, 'p95_ms')} ms |"
        )
    lines += [
        "",
        f"`decisions_identical`: {_get(c, 'decisions_identical')} "
        f"({_get(c, 'positions_compared')} uploads compared by position).",
    ]
    return lines


def chaos_rows(ch: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    rows += [
        (
            "Chaos: jobs accepted / terminal / notified twice / poison in DLQ",
            f"{_get(ch, 'jobs_accepted')} / {_get(ch, 'jobs_terminal')} / "
            f"{_get(ch, 'jobs_notified_twice')} / {_get(ch, 'poison_in_dlq')} of "
            f"{_get(ch, 'poison_sent')} — {'passed' if ch.get('passed') else 'FAILED'}",
        ),
    ]
    return rows


def coldstart_rows(cs: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
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
    return rows


def models_rows(m: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if "error" in m:
        return rows
    goals = _get(m, "goals", default={})
    for name, f in (_get(m, "functions", default={}) or {}).items():
        if "error" in f:
            rows.append((f"{name}: cold start", "failed to run"))
            continue
        rows.append(
            (
                f"{name} ({f.get('what')}, {f.get('memory_mb')} MB, {f.get('threads')} thread): "
                "cold start (import + model load)",
                f"{f.get('cold_ms')} ms ({f.get('import_ms')} + {f.get('load_ms')} ms; "
                f"goal < {goals.get('cold_ms', '–')} ms)",
            )
        )
        rows.append(
            (
                f"{name}: warm inference per safe image p50 / p95 (CPU p50); peak RSS",
                f"{f.get('warm_p50_ms')} / {f.get('warm_p95_ms')} ms "
                f"({f.get('warm_cpu_p50_ms')} ms CPU; goal p95 < {goals.get('warm_p95_ms', '–')} "
                f"ms); {f.get('peak_rss_mb')} MB",
            )
        )
    for name, pkg in (_get(m, "packages", default={}) or {}).items():
        if "error" in pkg:
            rows.append((f"{name} package (arm64)", f"not built: {pkg['error'][:120]}"))
            continue
        rows.append(
            (
                f"{name} package (arm64, Python 3.12): unzipped of {pkg.get('limit_mb')} MB / "
                "layer zip / code zip",
                f"{pkg.get('unzipped_mb')} MB ({pkg.get('headroom_mb')} MB headroom) / "
                f"{pkg.get('layer_zip_mb')} MB{' (through S3)' if pkg.get('layer_through_s3') else ''}"
                f" / {pkg.get('code_zip_mb')} MB",
            )
        )
    return rows


def evasion_rows(ev: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if "error" in ev:
        return rows
    goals = _get(ev, "goals", default={})
    rows.append(
        (
            f"Text evasions caught (review or reject), generated set of {_get(ev, 'cases')} "
            f"images (goal >= {_get(goals, 'recall')})",
            f"{_get(ev, 'caught')} / {_get(ev, 'cases')} = {_get(ev, 'recall')} "
            f"({'met' if ev.get('meets_goals') else 'NOT met'}; "
            f"{_get(ev, 'caught_as_expected_category')} in the expected category)",
        )
    )
    per_trick = _get(ev, "per_trick", default={}) or {}
    rows.append(
        (
            "Text evasions: recall per trick",
            "; ".join(f"{k} {v.get('caught')}/{v.get('cases')}" for k, v in per_trick.items())
            or "–",
        )
    )
    rows.append(
        (
            "Safe photos / benign text images flagged by the text branch (goal 0 / 0)",
            f"{_get(ev, 'safe_photos_flagged')} of {len(_get(ev, 'safe_photos', default={}))} / "
            f"{_get(ev, 'benign_text_flagged')} of {len(_get(ev, 'benign_text', default={}))}",
        )
    )
    ms = _get(ev, "safe_photo_ms", default={})
    rows.append(
        (
            "Text branch per safe photo, whole analysis vs OCR alone as before, p50 / p95 "
            "(CPU p50), interleaved",
            f"{_get(ms, 'whole_analysis', 'p50')} / {_get(ms, 'whole_analysis', 'p95')} ms "
            f"({_get(ms, 'whole_analysis_cpu_p50')} ms) vs "
            f"{_get(ms, 'ocr_alone_as_before', 'p50')} / {_get(ms, 'ocr_alone_as_before', 'p95')} "
            f"ms ({_get(ms, 'ocr_alone_cpu_p50')} ms)",
        )
    )
    return rows


def cache_rows(ca: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    rows.append(
        (
            "Status cache: DynamoDB reads per status request off / on (reduction)",
            f"{_get(ca, 'cache_off', 'reads_per_request')} / "
            f"{_get(ca, 'cache_on', 'reads_per_request')} "
            f"({_get(ca, 'ratios', 'dynamodb_reads_per_request_off_over_on')}x)",
        )
    )
    return rows


def edge_coldstart_rows(ed: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if "error" in ed:
        return rows
    rows.append(
        (
            "Edge function package (zipped, limit 1 MB) / cold import / verify",
            f"{_get(ed, 'package', 'zipped_bytes')} bytes / "
            f"{_get(ed, 'cold_import', 'p50_ms')} ms / "
            f"{_get(ed, 'requests', 'valid_token', 'p50_ms')} ms per token",
        )
    )
    return rows


def spark_report_rows(sp: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if "error" in sp:
        return rows
    rows.append(
        (
            "Spark report, local mode (EMR Serverless estimate per run)",
            f"{_get(sp, 'input', 'rows')} rows in {_get(sp, 'report', 'wall_seconds')} s "
            f"({_get(sp, 'report', 'rows_per_second')} rows/s; "
            f"${_get(sp, 'emr_serverless_estimate', 'cost_usd_arm64')} on arm64)",
        )
    )
    return rows


def dashboard_load_rows(dl: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if "error" in dl:
        return rows
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


def review_rows(rv: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if "error" in rv:
        return rows
    calls = _get(rv, "dynamodb_calls_per_request", default={})

    def per(kind: str) -> str:
        found = calls.get(kind) if isinstance(calls, dict) else None
        if not isinstance(found, dict) or not found:
            return "–"
        return ", ".join(f"{v:g} {k}" for k, v in sorted(found.items()))

    rows.append(
        (
            f"Review queue: `GET /reviews` (page of {_get(rv, 'page_size')}) at "
            f"{_get(rv, 'pending_reviews')} pending reviews, p50 / p95 "
            f"(goal p95 < {_get(rv, 'goal_p95_ms')} ms)",
            f"{_get(rv, 'list_ms', 'p50')} / {_get(rv, 'list_ms', 'p95')} ms "
            f"({'met' if rv.get('p95_under_goal') else 'NOT met'})",
        )
    )
    rows.append(
        (
            "Review: DynamoDB calls per list page / per verdict / per second verdict (409)",
            f"{per('list_page')} / {per('verdict')} / {per('second_verdict_409')}",
        )
    )
    rows.append(
        (
            "Review: verdict p50 / p95",
            f"{_get(rv, 'verdict_ms', 'p50')} / {_get(rv, 'verdict_ms', 'p95')} ms",
        )
    )
    return rows


def animations_rows(an: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if "error" in an:
        return rows
    for name, clip in (_get(an, "clips", default={}) or {}).items():
        lat = clip.get("latency_ms", {})

        def p(branch: str, lat: dict[str, Any] = lat) -> str:
            got = lat.get(branch, {})
            return f"{got.get('p50', '–')} / {got.get('p95', '–')}"

        flagged = clip.get("flagged") or {}
        found = ", ".join(f"{c} (frame {f})" for c, f in flagged.items()) or "nothing"
        rows.append(
            (
                f"Animations, {name} ({clip.get('frames_in_file')} frames in the file): frames "
                "per job / Rekognition calls per job",
                f"{clip.get('frames_per_job')} / {clip.get('rekognition_calls_per_job')} "
                f"(maxFrames {an.get('max_frames', '–')})",
            )
        )
        rows.append(
            (
                f"Animations, {name}: latency p50 / p95 ms: upload check; custom; text; "
                "Rekognition (stand-in)",
                f"{p('upload')}; {p('custom')}; {p('text')}; {p('rekognition')} "
                f"(slowest branch p50 {clip.get('slowest_branch_ms_p50')} ms); "
                f"{clip.get('decision')}: {found}",
            )
        )
    bomb = _get(an, "frame_bomb", default={}) or {}
    if bomb:
        rows.append(
            (
                f"Animations: a GIF of {bomb.get('frames'):,} tiny frames ({bomb.get('bytes'):,} B)",
                f"refused `{bomb.get('refused')}` in {bomb.get('refused_in_ms')} ms",
            )
        )
    return rows


def banks_rows(b: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if "error" in b:
        return rows
    rec = _get(b, "recall", default={}) or {}
    per = rec.get("per_transform", {})
    for mode in ("dhash", "pdq", "both"):
        rows.append(
            (
                f"Hash banks, {mode}: recall per transform ({rec.get('pictures')} distinct "
                f"pictures, distances {_get(b, 'distances')})",
                "; ".join(f"{t} {r[mode]['recall']}" for t, r in per.items())
                + f" — {_get(rec, 'transforms_meeting_recall', mode)} of {len(per)} >= 0.9, "
                f"{_get(rec, 'false_matches', mode)} false matches "
                f"({'goal met' if _get(b, 'meets_goals', mode, default=False) else 'goal NOT met'})",
            )
        )
    scale = _get(b, "scale", default={}) or {}
    for n in ("10000", "100000"):
        if n in scale:
            s = scale[n]
            rows.append(
                (
                    f"Hash banks: lookup at {int(n):,} entries",
                    f"p50 {s['lookup_ms_p50']} ms, p95 {s['lookup_ms_p95']} ms (goal < 50); "
                    f"hashing the picture first (PDQ and dHash, every variant) adds "
                    f"p95 {_get(scale, 'query_hash_ms_p95')} ms; arrays {s['arrays_mb']} MB, "
                    f"with ids {s['memory_mb']} MB",
                )
            )
    load = _get(b, "load", default={}) or {}
    moto = load.get("moto_scan", {})
    client = load.get("client")
    if isinstance(client, dict):
        met = "met" if client.get("total_ms", 1e9) < 1000 else "NOT met"
        rows.append(
            (
                f"Hash banks: bank load at {client.get('entries'):,} entries, the analyzer's "
                "own work without the network (goal < 1 s)",
                f"{client.get('total_ms')} ms ({met}): reading {client.get('pages')} Scan "
                f"pages {client.get('read_pages_ms')} ms, arrays {client.get('arrays_ms')} ms "
                "(botocore parsing and deserializing the same pages whole: "
                f"{client.get('botocore_parse_and_deserialize_ms')} ms)",
            )
        )
    rows.append(
        (
            "Hash banks: bank load (goal < 1 s at 100,000)",
            f"arrays from 100,000 items {load.get('build_100k_from_items_ms')} ms; parallel "
            f"Scan of {moto.get('entries')} items from in-process moto {moto.get('load_ms')} ms "
            "(moto's overhead: an upper bound)",
        )
    )
    return rows


# Benchmark name -> (section heading, its rows); the order of the page.
SECTIONS = {
    "throughput": ("Throughput", throughput_rows),
    "coldstart": ("Cold starts", coldstart_rows),
    "models": ("Models", models_rows),
    "evasion": ("Text evasions", evasion_rows),
    "cost": ("Cost", cost_rows),
    "chaos": ("Chaos", chaos_rows),
    "cache": ("Status cache", cache_rows),
    "edge_coldstart": ("Edge auth", edge_coldstart_rows),
    "spark_report": ("Analytics", spark_report_rows),
    "dashboard_load": ("Dashboard load", dashboard_load_rows),
    "review": ("Human review", review_rows),
    "animations": ("Animations", animations_rows),
    "banks": ("Hash banks", banks_rows),
}


# Benchmark name -> a table of its own after its rows (in its section, not the summary).
EXTRA_TABLES = {"cost": cost_modes_table}


def summary_rows(results: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """Every figure of `results` ({benchmark: its JSON}), in page order."""
    rows: list[tuple[str, str]] = []
    for name, (_, section_rows) in SECTIONS.items():
        if results.get(name):
            rows += section_rows(results[name])
    return rows


def _machine(machine: dict[str, Any]) -> str:
    load = machine.get("load_average")
    shared = f", load average {load[0]} (a shared machine)" if load else ""
    return (
        f"{machine.get('date')} on {machine.get('cpus')} CPUs ({machine.get('cpu')}), "
        f"{machine.get('memory_gib')} GiB, Python {machine.get('python')}{shared}"
    )


def _table(rows: list[tuple[str, str]]) -> list[str]:
    return ["| Figure | Value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)]


def markdown(results: dict[str, dict[str, Any]], machine: dict[str, Any]) -> str:
    """The summary table of one `make bench` run."""
    lines = [f"Measured {_machine(machine)} — `make bench` (quick versions).", ""]
    lines += _table(summary_rows(results))
    failed = [n for n, r in results.items() if r.get("_exit_code")]
    if failed:
        lines += ["", f"Benchmarks that exited non-zero: {', '.join(failed)}."]
    return "\n".join(lines) + "\n"


def load_recorded(directory: Path = RECORDED) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(the quick run, {name: full run}) as recorded."""
    quick_file = directory / "quick.json"
    quick = json.loads(quick_file.read_text()) if quick_file.exists() else None
    full = {p.stem: json.loads(p.read_text()) for p in sorted((directory / "full").glob("*.json"))}
    return quick, full


def page(quick: dict[str, Any] | None, full: dict[str, Any]) -> str:
    """docs/figures.md: the quick run's table, then each benchmark's section."""
    lines = [
        "# Figures",
        "",
        "<!-- generated by `make bench` / `python -m bench.record` (bench/figures.py) from",
        "     bench/recorded/*.json: edit nothing here, run the benchmark instead -->",
        "",
        "Every measured figure in these docs, each with the command that produced it. "
        "`make bench` runs the quick version of every benchmark in `bench/`; the full runs "
        "below were recorded with `python -m bench.record NAME ARGS...`. Each benchmark's "
        "JSON (with its machine and date) is in `bench/recorded/`.",
        "",
    ]
    if quick is None:
        lines += ["No `make bench` run has been recorded yet.", ""]
    else:
        lines += ["## Summary", "", markdown(quick["results"], quick["machine"])]
    for name, (heading, section_rows) in SECTIONS.items():
        runs = []
        if quick is not None and quick["results"].get(name):
            result = quick["results"][name]
            # A benchmark re-run alone (`run_all --only`) carries its own machine and date.
            machine = result.get("machine") or quick["machine"]
            runs.append(("`make bench`", machine, result))
        if name in full:
            doc = full[name]
            runs.append((f"`{doc['command']}`", doc["machine"], doc["result"]))
        if not runs:
            continue
        lines += [f"## {heading}", ""]
        for command, machine, result in runs:
            lines += [f"{command}, {_machine(machine)}:", ""]
            lines += _table(section_rows(result)) + [""]
            extra = EXTRA_TABLES.get(name)
            if extra is not None and (table := extra(result)):
                lines += [*table, ""]
    return "\n".join(lines).rstrip() + "\n"


def render(directory: Path = RECORDED, target: Path = PAGE) -> Path:
    quick, full = load_recorded(directory)
    target.write_text(page(quick, full))
    return target
