"""The AWS cost of 1M jobs: this design, measured on the local cloud, next to the reference design.

This design's figures are measured from a local run: invocations, billed
duration and memory per function (REPORT lines and the environments' counters),
every AWS API call each function made (counted in the execution environments),
and DynamoDB write units computed from the items the run actually wrote.

The reference design is the code of the course notes' "Content moderation pipeline" section
(docs/reference-design.md)
as written: 128 MB x86 functions, the upload writes S3/DynamoDB/SQS, the
dispatcher invokes both analyzers and then sets `analyzing`, each analyzer writes
its result, reads the item back (GetItem, strongly consistent), claims with a
conditional write and the claimer writes the decision and publishes to SNS. Its
durations are this run's, except the custom analyzer, whose CPU-bound work runs
at the 128 MB CPU share (Lambda's CPU follows memory), and it has no notifier,
sweeper, status index, alarms or KMS key. Both are priced with the dashboard's
cost model and the same per-job Rekognition, S3, SQS, SNS and status-poll usage.

    python -m bench.cost [--jobs 1000] [--rate 10] [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import replace
from decimal import Decimal
from typing import Any

from bench.localcloud import FAST, fresh_cloud
from bench.machine import describe
from dashboard.data.cost import FunctionLoad, Workload, estimate
from lambdas.common.contract import Output
from local.tools.load import run_load

MILLION = 1_000_000
SEED_MEMORY_MB = 128


# --- DynamoDB item sizes (AWS's rules: name bytes + value bytes) -----------------------------


def attribute_size(value: Any) -> int:
    if value is None:
        return 1
    if isinstance(value, bool):
        return 1
    if isinstance(value, (int, float, Decimal)):
        digits = len(str(abs(value)).replace(".", "").lstrip("0")) or 1
        return 1 + math.ceil(digits / 2)
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, dict):
        return 3 + sum(len(k.encode()) + attribute_size(v) + 1 for k, v in value.items())
    if isinstance(value, (list, tuple, set)):
        return 3 + sum(attribute_size(v) + 1 for v in value)
    return len(str(value).encode())


def item_size(item: dict) -> int:
    return sum(len(k.encode()) + attribute_size(v) for k, v in item.items())


def wru(before: dict | None, after: dict) -> int:
    """Write units of one write: the larger of the item before and after, per KB."""
    size = max(item_size(before or {}), item_size(after))
    return max(1, math.ceil(size / 1024))


def this_design_write_units(job: dict) -> tuple[int, int]:
    """(table WRU, status-index WRU) of one completed job, replaying its 3 + N writes."""
    results = [f"{b}_result" for b in job.get("branches") or ("rekognition", "custom")]
    final_only = ("decision", "reasons", "categories", "completed_at")
    created = {
        k: v
        for k, v in job.items()
        if k not in (*results, *final_only, "branches", "dispatch_lease")
    }
    created["status"] = "pending"
    claimed = {**created, "status": "analyzing", "dispatch_lease": 1764000000}
    if job.get("branches"):
        claimed["branches"] = job["branches"]
    table = wru(None, created) + wru(created, claimed)
    before = claimed
    for attribute in results:
        after = {**before, attribute: job[attribute]}
        table += wru(before, after)
        before = after
    final = {k: v for k, v in job.items() if k != "dispatch_lease"}
    table += wru(before, final)
    # The status index projects user_id, decision and completed_at: creation puts an
    # entry; each status change (claim, finalize) deletes one and puts one; the result
    # writes change nothing it holds.
    index = 1 + 2 + 2
    return table, index


def reference_design_units(job: dict) -> tuple[int, float]:
    """(WRU, RRU) of the reference design's writes and strongly consistent reads for the same job."""
    base = {k: job[k] for k in ("job_id", "user_id", "created_at")}
    created = {**base, "status": "pending"}
    analyzing = {**created, "status": "analyzing"}
    rek = {
        **analyzing,
        "rekognition_result": json.dumps(job["rekognition_result"]["labels"]),
        "rekognition_at": job["updated_at"],
    }
    both = {
        **rek,
        "custom_result": json.dumps(job["custom_result"].get("categories", [])),
        "custom_at": job["updated_at"],
    }
    claimed = {**both, "status": "finalizing", "finalized_at": job["completed_at"]}
    final = {
        **claimed,
        "status": "complete",
        "decision": json.dumps(job.get("decision")),
        "completed_at": job["completed_at"],
    }
    writes = (
        wru(None, created)
        + wru(created, analyzing)
        + wru(analyzing, rek)
        + wru(rek, both)
        + wru(both, claimed)
        + wru(claimed, final)
    )
    reads = 2 * max(1, math.ceil(item_size(both) / 4096))  # two consistent GetItems
    return writes, float(reads)


# --- the run ----------------------------------------------------------------------------------


def measure(jobs: int, rate: float) -> dict:
    with fresh_cloud(FAST) as cloud:
        run_load(cloud, 20, rate=10, progress=False, timeout=120, seed=1)  # warm environments
        cloud.control("reset-stats")
        summary, details = run_load(cloud, jobs, rate=rate, progress=False, timeout=600, seed=5)
        status = cloud.control("status")
        from common import jobs as job_store

        ddb, table = cloud.client("dynamodb"), cloud.outputs[Output.JOBS_TABLE]
        sample = [job_store.get_job(ddb, table, j, True) for j in details["job_ids"][:100]]
    done = [j for j in sample if j and j.get("status") == "complete"]
    return {
        "summary": summary.as_dict(),
        "functions": status["functions"],
        "jobs": done,
        "accepted": summary.accepted,
    }


def per_job_calls(functions: dict, jobs: int) -> dict[str, float]:
    calls: dict[str, float] = {}
    for fn in functions.values():
        for key, n in fn["api_calls"].items():
            calls[key] = calls.get(key, 0) + n / jobs
    return {k: round(v, 3) for k, v in sorted(calls.items())}


def workloads(m: dict) -> tuple[Workload, Workload, dict]:
    jobs = m["accepted"]
    fns = m["functions"]
    calls = per_job_calls(fns, jobs)
    units = [this_design_write_units(j) for j in m["jobs"]]
    table_wru = sum(u[0] for u in units) / len(units)
    index_wru = sum(u[1] for u in units) / len(units)
    reference_units = [reference_design_units(j) for j in m["jobs"]]
    reference_wru = sum(u[0] for u in reference_units) / len(reference_units)
    reference_rru = sum(u[1] for u in reference_units) / len(reference_units)

    def load(name: str) -> FunctionLoad:
        f = fns[name]
        billed = f["billed_ms"] / max(f["invocations"], 1)
        return FunctionLoad(name, f["invocations"] / jobs, billed, f["memory_mb"], measured=True)

    ours_functions = [
        load(n)
        for n in (
            "upload",
            "dispatcher",
            "rekognition_analyzer",
            "custom_analyzer",
            "text_analyzer",
            "notifier",
        )
        if n in fns
    ]
    ours_functions.append(FunctionLoad("status", 1.0, load("upload").duration_ms / 4, 256))
    ours_functions.append(FunctionLoad("sweeper", 0.0, 150, 256, fixed_per_month=30 * 24 * 60))
    s3_gets = calls.get("s3:GetObject", 0) + calls.get("rekognition:DetectModerationLabels", 0)
    ours = Workload(
        jobs_per_month=MILLION,
        architecture="arm64",
        functions=tuple(ours_functions),
        status_polls_per_job=1.0,
        ddb_wru_per_job=table_wru,
        ddb_gsi_wru_per_job=index_wru,
        s3_puts_per_job=calls.get("s3:PutObject", 1.0),
        s3_gets_per_job=s3_gets,
        sns_publishes_per_job=calls.get("sns:Publish", 1.0),
        rekognition_images_per_job=calls.get("rekognition:DetectModerationLabels", 1.0),
    )

    custom = load("custom_analyzer")
    cpu_share = min(custom.memory_mb, 1769) / SEED_MEMORY_MB
    reference_functions = (
        replace(load("upload"), memory_mb=SEED_MEMORY_MB),
        replace(load("dispatcher"), memory_mb=SEED_MEMORY_MB),
        replace(load("rekognition_analyzer"), memory_mb=SEED_MEMORY_MB),
        replace(custom, memory_mb=SEED_MEMORY_MB, duration_ms=custom.duration_ms * cpu_share),
        FunctionLoad("status", 1.0, load("upload").duration_ms / 4, SEED_MEMORY_MB),
    )
    reference = replace(
        ours,
        architecture="x86_64",
        functions=reference_functions,
        ddb_wru_per_job=reference_wru,
        ddb_gsi_wru_per_job=0.0,
        alarms=0,
        kms_keys=0,
        custom_metrics=0,
        xray_traces_per_job=0.0,
        pitr=False,
        sns_fifo=False,  # a standard topic
        sqs_fixed_requests=5 * 3 * 60 * 24 * 30,  # the dispatcher's idle long polls only
        notes=("the reference design as written",),
    )
    extra = {
        "this_design_calls_per_job": calls,
        "this_design_dynamodb_calls_per_job": round(
            sum(v for k, v in calls.items() if k.startswith("dynamodb:")), 2
        ),
        "reference_design_dynamodb_calls_per_job": 8,
        "table_wru_per_job": round(table_wru, 2),
        "index_wru_per_job": round(index_wru, 2),
        "reference_wru_per_job": round(reference_wru, 2),
        "reference_strong_rru_per_job": round(reference_rru, 2),
    }
    return ours, reference, extra


STORAGE_LINES = (
    "storage (originals until expiry)",
    "storage (jobs kept for their TTL)",
    "point-in-time recovery",
)


def month_n_storage(
    workload: Workload, months: int, image_days: float | None, job_days: float | None
) -> dict[str, float]:
    """S3 and DynamoDB storage in month `months` of steady traffic.

    A design that expires nothing (`None`) keeps every image and job it ever stored;
    this one expires originals after uploadExpiryDays and job records after their TTL.
    """
    from dashboard.data.cost import PRICES

    def kept(days: float | None) -> float:
        return months if days is None else min(months, days / 30)

    images_gb = workload.jobs_per_month * kept(image_days) * workload.image_mb / 1024
    items_gb = workload.jobs_per_month * kept(job_days) * workload.ddb_item_kb / 1024 / 1024
    ddb = items_gb * PRICES.ddb_storage_gb_month + (
        items_gb * PRICES.ddb_pitr_gb_month if workload.pitr else 0.0
    )
    return {
        "S3": images_gb * PRICES.s3_storage_gb_month,
        "DynamoDB": ddb,
        "images_gb": round(images_gb),
        "items_gb": round(items_gb, 1),
    }


def priced(workload: Workload, extra_read_units: float = 0.0) -> dict:
    est = estimate(workload)
    by_service = est.by_service()
    if extra_read_units:
        from dashboard.data.cost import PRICES

        by_service["DynamoDB"] += extra_read_units * MILLION * PRICES.ddb_read_unit
    total = sum(by_service.values())
    pipeline = total - by_service.get("Rekognition", 0.0)
    storage = sum(line.monthly for line in est.lines if line.item in STORAGE_LINES)
    return {
        "total_usd": round(total, 2),
        "pipeline_usd": round(pipeline, 2),
        "pipeline_without_storage_usd": round(pipeline - storage, 2),
        "by_service_usd": {
            k: round(v, 2) for k, v in sorted(by_service.items(), key=lambda kv: -kv[1])
        },
        "lambda": [
            {
                "function": f.name,
                "invocations_per_job": round(f.invocations_per_job, 3),
                "billed_ms": round(f.duration_ms, 1),
                "memory_mb": f.memory_mb,
            }
            for f in workload.functions
        ],
        "prices_as_of": est.prices.as_of,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true", help="300 jobs")
    args = parser.parse_args(argv)
    m = measure(300 if args.quick else args.jobs, args.rate)
    ours, reference, extra = workloads(m)
    this = priced(ours)
    this["dynamodb_calls_per_job"] = extra["this_design_dynamodb_calls_per_job"]
    reference_priced = priced(reference, extra_read_units=extra["reference_strong_rru_per_job"])
    reference_priced["dynamodb_calls_per_job"] = extra["reference_design_dynamodb_calls_per_job"]
    # Like for like: this design without what the reference design has no counterpart for
    # (the status index the sweeper queries, the sweeper, alarms, custom metrics, the
    # alarm topic's key, tracing, point-in-time recovery), so both pay for the same
    # functionality.
    core = replace(
        ours,
        functions=tuple(f for f in ours.functions if f.name != "sweeper"),
        ddb_gsi_wru_per_job=0.0,
        alarms=0,
        custom_metrics=0,
        kms_keys=0,
        pitr=False,
        xray_traces_per_job=0.0,
        sqs_fixed_requests=reference.sqs_fixed_requests,
    )
    like_for_like = priced(core)
    # Month 12: the reference design expires nothing; this one deletes originals after
    # uploadExpiryDays (30) and job records after jobRetentionDays (90).
    ours_storage = month_n_storage(ours, 12, image_days=30, job_days=90)
    reference_storage = month_n_storage(reference, 12, image_days=None, job_days=None)
    month12 = {
        "this_design_pipeline_usd": round(
            this["pipeline_without_storage_usd"] + ours_storage["S3"] + ours_storage["DynamoDB"], 2
        ),
        "reference_design_pipeline_usd": round(
            reference_priced["pipeline_without_storage_usd"]
            + reference_storage["S3"]
            + reference_storage["DynamoDB"],
            2,
        ),
        "this_design_storage": ours_storage,
        "reference_design_storage": reference_storage,
    }
    month12["saving_percent"] = round(
        100 * (1 - month12["this_design_pipeline_usd"] / month12["reference_design_pipeline_usd"]),
        1,
    )
    report = {
        "benchmark": "cost",
        "machine": describe(),
        "jobs_measured": m["accepted"],
        "jobs_per_month_priced": MILLION,
        "this_design": this,
        "reference_design": reference_priced,
        "pipeline_saving_percent": round(
            100 * (1 - this["pipeline_usd"] / reference_priced["pipeline_usd"]), 1
        ),
        "this_design_like_for_like": like_for_like,
        "like_for_like_saving_percent": round(
            100 * (1 - like_for_like["pipeline_usd"] / reference_priced["pipeline_usd"]), 1
        ),
        "what_the_difference_buys": {
            k: round(
                this["by_service_usd"].get(k, 0) - like_for_like["by_service_usd"].get(k, 0), 2
            )
            for k in this["by_service_usd"]
            if abs(this["by_service_usd"].get(k, 0) - like_for_like["by_service_usd"].get(k, 0))
            >= 0.01
        },
        "total_saving_percent": round(
            100 * (1 - this["total_usd"] / reference_priced["total_usd"]), 1
        ),
        "month_12": month12,
        "targets": {
            "pipeline_cost_20_percent_below_reference_month_1": this["pipeline_usd"]
            <= 0.8 * reference_priced["pipeline_usd"],
            "pipeline_cost_20_percent_below_reference_month_12": month12["saving_percent"] >= 20,
            "dynamodb_calls_per_job_at_most_5": extra["this_design_dynamodb_calls_per_job"] <= 5,
        },
        "measured": extra,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
