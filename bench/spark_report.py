"""Benchmark: the Spark report over 1M synthetic jobs in local mode, and what it would cost on EMR.

    python bench/spark_report.py [--rows 1000000] [--days 7] [--cores 2]

1. Generates `--rows` terminal-job stream records (analytics/synthetic.py), runs
   them through the exporter's own code (lambdas/common/export.py) in batches of
   `--batch` and writes the objects it would PUT (`jobs/dt=.../part-*.jsonl.gz`).
2. Runs analytics/report.py's `run()` in local mode on `--cores` cores and times it.
3. Prints JSON: wall time and rows/s, the exporter's encoding rate, the S3 request
   counts and cost of the export layout, and an EMR Serverless estimate for the
   same job.

EMR estimate (a model, not a measurement): the local run's core-seconds
(wall x cores) are the work; on EMR it is spread over the report's workers
(2 vCPU / 4 GB each: the driver and `--emr-executors` executors) plus a fixed
start-up overhead, with EMR Serverless's one-minute minimum per worker. Prices are
the us-east-1 list prices below, kept here because the project's cost model (in
dashboard/data/) is not importable from this branch yet; check them against
https://aws.amazon.com/emr/pricing/ before budgeting with them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# EMR Serverless list prices, us-east-1, per hour. x86_64 since GA (2022-06-01);
# arm64 (Graviton2, 20% lower) since 2022-11-17. Storage beyond the 20 GB each worker
# gets free is not used by this job.
EMR_PRICES = {
    "as_of": "2022-11-17 (arm64 prices effective; as published through 2024)",
    "region": "us-east-1",
    "source": "https://aws.amazon.com/emr/pricing/ (EMR Serverless)",
    "arm64": {"vcpu_hour": 0.042094, "gb_hour": 0.004628},
    "x86_64": {"vcpu_hour": 0.052624, "gb_hour": 0.0057785},
}
S3_PRICES = {
    "as_of": "2024 (list price as published)",
    "put_per_1000": 0.005,
    "get_per_1000": 0.0004,
    "source": "https://aws.amazon.com/s3/pricing/ (S3 Standard, us-east-1)",
}
WORKER_VCPU, WORKER_GB = 2, 4  # components/analytics.py: the report's driver and executors
EMR_MIN_BILLED_SECONDS = 60
EMR_STARTUP_SECONDS = 30  # driver and executors coming up; an assumption, stated in the output


def _write_chunk(args: tuple[str, int, int, int, list[str], int]) -> dict:
    """Generate and export records [start, end) in batches; runs in a worker process."""
    from analytics import synthetic
    from common import export

    out, start, end, batch, days, seed = args
    encode_s, rows, objects = 0.0, 0, 0
    records = synthetic.random_records(end - start, days, seed=seed + start, first_seq=start + 1)
    pending: list[dict] = []

    def flush() -> None:
        nonlocal encode_s, rows, objects
        t0 = time.perf_counter()
        exported = [r for r in (export.export_row(x, 30) for x in pending) if r]
        digest = export.batch_digest(pending)
        bodies = {
            export.object_key(dt, digest, prefix=""): export.encode(r.line for r in group)
            for dt, group in export.group_rows(exported).items()
        }
        encode_s += time.perf_counter() - t0
        for key, body in bodies.items():
            path = Path(out) / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
        rows += len(exported)
        objects += len(bodies)
        pending.clear()

    for record in records:
        pending.append(record)
        if len(pending) == batch:
            flush()
    if pending:
        flush()
    return {"rows": rows, "objects": objects, "encode_seconds": encode_s}


def generate(out: Path, rows: int, batch: int, days: list[str], workers: int, seed: int) -> dict:
    step = -(-rows // workers)
    step = -(-step // batch) * batch  # chunk on batch boundaries
    chunks = [(str(out), s, min(s + step, rows), batch, days, seed) for s in range(0, rows, step)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(_write_chunk, chunks))
    wall = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in out.rglob("*.jsonl.gz"))
    encode_s = sum(p["encode_seconds"] for p in parts)
    exported = sum(p["rows"] for p in parts)
    return {
        "rows": exported,
        "objects": sum(p["objects"] for p in parts),
        "bytes": size,
        "bytes_per_row": round(size / max(exported, 1), 1),
        "wall_seconds": round(wall, 2),
        "exporter_rows_per_second_per_core": round(exported / max(encode_s, 1e-9)),
    }


def emr_estimate(local_seconds: float, local_cores: int, executors: int) -> dict:
    core_seconds = local_seconds * local_cores
    workers = 1 + executors
    run_seconds = max(
        EMR_MIN_BILLED_SECONDS, core_seconds / (executors * WORKER_VCPU) + EMR_STARTUP_SECONDS
    )
    vcpu_hours = workers * WORKER_VCPU * run_seconds / 3600
    gb_hours = workers * WORKER_GB * run_seconds / 3600

    def cost(arch: str) -> float:
        p = EMR_PRICES[arch]
        return round(vcpu_hours * p["vcpu_hour"] + gb_hours * p["gb_hour"], 4)

    return {
        "model": (
            f"work = local wall x {local_cores} cores; spread over {executors} executors of "
            f"{WORKER_VCPU} vCPU / {WORKER_GB} GB plus a same-sized driver; "
            f"+{EMR_STARTUP_SECONDS} s start-up; {EMR_MIN_BILLED_SECONDS} s minimum per worker"
        ),
        "work_core_seconds": round(core_seconds, 1),
        "workers": workers,
        "estimated_run_seconds": round(run_seconds, 1),
        "vcpu_hours": round(vcpu_hours, 4),
        "gb_hours": round(gb_hours, 4),
        "cost_usd_arm64": cost("arm64"),
        "cost_usd_x86_64": cost("x86_64"),
        "prices": EMR_PRICES,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--days", type=int, default=7, help="days the rows are spread over")
    p.add_argument("--batch", type=int, default=100, help="stream batch size (exportBatchSize)")
    p.add_argument("--cores", type=int, default=2, help="local[N] for Spark")
    p.add_argument("--driver-memory", default="3g")
    p.add_argument(
        "--emr-executors",
        type=int,
        default=7,
        help="executors assumed on EMR (the default stack allows 7)",
    )
    p.add_argument("--data-dir", default=None, help="keep (and reuse) the generated exports here")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args(argv)

    end = date(2026, 5, 7)
    days = [(end - timedelta(days=args.days - 1 - i)).isoformat() for i in range(args.days)]
    keep = args.data_dir is not None
    base = Path(args.data_dir) if keep else Path(tempfile.mkdtemp(prefix="bench-spark-report-"))
    exports = base / "jobs"
    marker = base / f"generated-{args.rows}-{args.batch}-{args.days}-{args.seed}.json"
    try:
        if keep and marker.exists():
            generation = json.loads(marker.read_text())
            generation["reused"] = True
        else:
            shutil.rmtree(exports, ignore_errors=True)
            generation = generate(
                exports, args.rows, args.batch, days, max(1, args.cores), args.seed
            )
            marker.write_text(json.dumps(generation))

        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        from pyspark.sql import SparkSession

        from analytics import report

        t0 = time.perf_counter()
        spark = (
            SparkSession.builder.appName("bench-spark-report")
            .master(f"local[{args.cores}]")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.memory", args.driver_memory)
            .config("spark.sql.shuffle.partitions", str(max(4, 2 * args.cores)))
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        load_before = os.getloadavg()[0]
        session_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        summary = report.run(
            spark,
            str(exports),
            str(base / "reports"),
            run_date=end + timedelta(days=1),
            days=args.days,
        )
        report_s = time.perf_counter() - t1
        spark.stop()
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)

    objects = generation["objects"]
    per_job_puts = generation["rows"]
    result = {
        "benchmark": "spark_report",
        "machine": {
            "cpus": os.cpu_count(),
            "spark_cores": args.cores,
            "python": platform.python_version(),
            "pyspark": __import__("pyspark").__version__,
            "load_average_1m_before": round(load_before, 2),
            "load_average_1m_after": round(os.getloadavg()[0], 2),
        },
        "input": {
            **generation,
            "note": "synthetic rows repeat a few shapes and compress "
            "better than real ones; bytes_per_row is a lower bound",
        },
        "report": {
            "rows_in_window": summary["rows"],
            "window": [summary["start_date"], summary["end_date"]],
            "session_start_seconds": round(session_s, 2),
            "wall_seconds": round(report_s, 2),
            "rows_per_second": round(generation["rows"] / report_s),
            "latency_p50_seconds": summary["latency_seconds"]["end_to_end"]["p50"],
        },
        "export_requests": {
            "batch_objects": objects,
            "batch_put_cost_usd": round(objects / 1000 * S3_PRICES["put_per_1000"], 4),
            "one_object_per_job_put_cost_usd": round(
                per_job_puts / 1000 * S3_PRICES["put_per_1000"], 2
            ),
            "report_get_cost_usd": round(objects / 1000 * S3_PRICES["get_per_1000"], 4),
            "prices": S3_PRICES,
        },
        "emr_serverless_estimate": emr_estimate(report_s, args.cores, args.emr_executors),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
