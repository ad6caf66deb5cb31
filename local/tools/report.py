"""`python -m local report`: the EMR report's Spark job, run on this machine over the local cloud.

EMR Serverless is not emulated; the same `analytics/report.py` runs with local
PySpark instead. This downloads the exporter's `jobs/dt=.../` objects for the window
from the local results bucket, runs the script in local mode (`local[2]`), and
uploads `reports/dt=<run date>/` (Parquet tables and `summary.json`) back to the
bucket, so the dashboard reads the local cloud and AWS the same way.

EventBridge Scheduler schedules are not run locally (the schedule is declared and
listed as not emulated): run this command when you want a report. Unlike the
scheduled run, which reports the complete days before its run date, the local
report ends today by default, so jobs you just sent are in it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from lambdas.common.contract import Output
from local.client import LocalCloudClient

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "analytics" / "report.py"
EXPORT_PREFIX = "jobs/"
REPORT_PREFIX = "reports/"


class AnalyticsNotEnabled(RuntimeError):
    pass


def _download_day(s3, bucket: str, day: str, target: Path) -> int:
    count = 0
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=f"{EXPORT_PREFIX}dt={day}/"):
        for obj in page.get("Contents", []):
            path = target / obj["Key"][len(EXPORT_PREFIX) :]
            path.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, obj["Key"], str(path))
            count += 1
    return count


def _upload_tree(s3, bucket: str, local_dir: Path, prefix: str) -> list[str]:
    """Upload a report directory, leaving out Hadoop's local checksum files (`.*.crc`)."""
    keys = []
    for path in sorted(local_dir.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        key = prefix + path.relative_to(local_dir).as_posix()
        content_type = "application/json" if path.suffix == ".json" else "application/octet-stream"
        s3.upload_file(str(path), bucket, key, ExtraArgs={"ContentType": content_type})
        keys.append(key)
    return keys


def _clear_prefix(s3, bucket: str, prefix: str) -> None:
    """A rerun replaces the day's report, as Spark's overwrite does on S3."""
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if objects:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})


def run_report(
    cloud: LocalCloudClient,
    days: int = 1,
    end_date: date | None = None,
    run_date: date | None = None,
    top: int = 20,
    timeout: float = 900.0,
) -> dict[str, Any]:
    """Run the report for the `days` days ending `end_date` (default today); return what it did."""
    bucket = cloud.outputs.get(Output.RESULTS_BUCKET)
    if not bucket:
        raise AnalyticsNotEnabled(
            "this local cloud has no results bucket: start it with "
            "`python -m local up --set analyticsEnabled=true`"
        )
    if days < 1:
        raise ValueError("days must be at least 1")
    today = datetime.now(UTC).date()
    run_date = run_date or today
    end = end_date or run_date
    start = end - timedelta(days=days - 1)
    window = [(start + timedelta(days=i)).isoformat() for i in range(days)]
    s3 = cloud.client("s3")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="moderation-report-") as tmp:
        work = Path(tmp)
        objects = sum(_download_day(s3, bucket, day, work / "jobs") for day in window)
        cmd = [
            sys.executable,
            str(SCRIPT),
            "--input",
            str(work / "jobs"),
            "--output",
            str(work / "reports"),
            "--run-date",
            run_date.isoformat(),
            "--end-date",
            end.isoformat(),
            "--days",
            str(days),
            "--top-labels",
            str(top),
            "--top-users",
            str(top),
            "--master",
            "local[2]",
        ]
        env = {
            **os.environ,
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
        }
        result = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise RuntimeError(f"the Spark report failed:\n{result.stderr[-4000:]}")
        out = work / "reports" / f"dt={run_date.isoformat()}"
        prefix = f"{REPORT_PREFIX}dt={run_date.isoformat()}/"
        _clear_prefix(s3, bucket, prefix)
        keys = _upload_tree(s3, bucket, out, prefix)
        summary = json.loads((out / "summary.json").read_text())
    return {
        "bucket": bucket,
        "summary_key": f"{prefix}summary.json",
        "objects_read": objects,
        "objects_written": len(keys),
        "wall_seconds": round(time.monotonic() - started, 2),
        "note": "EMR Serverless and the report schedule are not emulated: local PySpark ran the same script",
        "summary": summary,
    }
