"""The daily moderation report: PySpark over the exporter's `jobs/dt=YYYY-MM-DD/` objects.

Runs unchanged on EMR Serverless (s3:// paths, spark-submit) and locally (file paths,
`python analytics/report.py ... --master local[2]`):

    report.py --input s3://BUCKET/jobs --output s3://BUCKET/reports \
              --run-date 2026-05-02T02:15:00Z --days 7

reads the `--days` days ending the day before the run date (or ending `--end-date`),
keeps one row per job (exports may repeat a job when a stream batch was re-cut), and
writes under `<output>/dt=<run date>/`: Parquet tables `daily`, `top_labels`,
`label_confidence`, `users`, `latency`, `failure_reasons`, and `summary.json`, whose
shape is the contract with the dashboard:

    {"generated_at", "start_date", "end_date", "rows",
     "daily": [{"date", "status", "decision", "jobs"}],
     "top_labels": [{"label", "count", "mean_confidence", "p50_confidence", "p90_confidence"}],
     "users": [{"user_id", "jobs", "rejected", "reviewed", "reject_rate", "review_rate"}],
     "latency_seconds": {"end_to_end": {"p50", "p95", "p99"},
                         "stages": {"<stage>": {"p50", "p95", "p99"}}},
     "failure_reasons": [{"reason", "count"}]}

Latency is over `complete` jobs (a failed job's time is its deadline or its retries).
Stages, where the record allows: `queued` (created -> the dispatcher's last claim),
`analysis` (claim -> the last analyzer's result), `decision` (last result ->
completed). Claim times come from the dispatch lease and have whole-second
precision, so `queued` and `analysis` are accurate to about a second.
Percentiles are Spark's `percentile_approx` (accuracy 10,000: rank error <= 0.01%).

This file is the EMR entry point on its own: it imports nothing from the project,
and keeps to Python 3.9 and Spark 3.5 APIs (EMR 7.x) as well as Spark 4 locally.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, timedelta, timezone

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    DoubleType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
)

UTC = timezone.utc  # noqa: UP017 - EMR 7.x runs Python 3.9, which has no datetime.UTC
TERMINAL = ("complete", "failed")
PERCENTILE_ACCURACY = 10000
DEFAULT_TOP = 20
MAX_FAILURE_REASONS = 50
STAGES = ("queued", "analysis", "decision")

LABEL = StructType(
    [
        StructField("name", StringType()),
        StructField("confidence", DoubleType()),
        StructField("parent", StringType()),
        StructField("top_level", StringType()),
    ]
)
# The exporter's row (lambdas/common/export.py). Explicit, so Spark never scans to infer it.
JOB_SCHEMA = StructType(
    [
        StructField("job_id", StringType()),
        StructField("user_id", StringType()),
        StructField("status", StringType()),
        StructField("decision", StringType()),
        StructField("reasons", ArrayType(StringType())),
        StructField("created_at", StringType()),
        StructField("updated_at", StringType()),
        StructField("completed_at", StringType()),
        StructField("content_type", StringType()),
        StructField("size_bytes", LongType()),
        StructField("attempts", LongType()),
        StructField(
            "rekognition_result",
            StructType(
                [
                    StructField("labels", ArrayType(LABEL)),
                    StructField("model_version", StringType()),
                    StructField("source", StringType()),
                ]
            ),
        ),
        StructField(
            "custom_result",
            StructType(
                [
                    StructField("flags", ArrayType(StringType())),
                    StructField("details", MapType(StringType(), StringType())),
                    StructField("scores", MapType(StringType(), DoubleType())),
                ]
            ),
        ),
        StructField("claimed_at", StringType()),
        StructField("analyzed_at", StringType()),
        StructField(
            "stream",
            StructType(
                [
                    StructField("event_id", StringType()),
                    StructField("sequence_number", StringType()),
                ]
            ),
        ),
        StructField("schema_version", LongType()),
    ]
)


# --- arguments and dates ----------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Daily moderation report")
    p.add_argument("--input", required=True, help="the exports root, e.g. s3://bucket/jobs")
    p.add_argument("--output", required=True, help="the reports root, e.g. s3://bucket/reports")
    p.add_argument(
        "--run-date",
        default=None,
        help="YYYY-MM-DD or an ISO timestamp (the schedule's time); default today (UTC)",
    )
    p.add_argument(
        "--end-date",
        default=None,
        help="last day reported, YYYY-MM-DD; default the day before the run date",
    )
    p.add_argument("--days", type=int, default=1, help="days reported, ending at --end-date")
    p.add_argument("--top-labels", type=int, default=DEFAULT_TOP)
    p.add_argument("--top-users", type=int, default=DEFAULT_TOP)
    p.add_argument("--master", default=None, help="e.g. local[2]; leave unset under spark-submit")
    p.add_argument("--shuffle-partitions", type=int, default=None)
    args = p.parse_args(argv)
    if args.days < 1:
        p.error("--days must be at least 1")
    return args


def to_date(text: str) -> date:
    """A date from YYYY-MM-DD or an ISO-8601 timestamp (its UTC date)."""
    text = text.strip()
    if len(text) == 10:
        return date.fromisoformat(text)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date()


def report_window(run_date: date, end_date: date | None, days: int) -> tuple[date, date]:
    end = end_date if end_date is not None else run_date - timedelta(days=1)
    return end - timedelta(days=days - 1), end


def dates_between(start: date, end: date) -> list[str]:
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- Spark -----------------------------------------------------------------------------------


def session(master: str | None = None, shuffle_partitions: int | None = None) -> SparkSession:
    builder = SparkSession.builder.appName("moderation-report")
    if master:
        builder = builder.master(master).config("spark.ui.enabled", "false")
        builder = builder.config("spark.ui.showConsoleProgress", "false")
        builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions or 4))
    elif shuffle_partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
    spark = builder.getOrCreate()
    configure(spark)
    return spark


def configure(spark: SparkSession) -> None:
    # Days are UTC days, and bad values become nulls (filtered) on Spark 3.5 and 4 alike.
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.ansi.enabled", "false")


def _hadoop_path(spark: SparkSession, path: str):
    jvm = spark.sparkContext._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    return hpath, hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


def path_exists(spark: SparkSession, path: str) -> bool:
    hpath, fs = _hadoop_path(spark, path)
    return bool(fs.exists(hpath))


def write_text(spark: SparkSession, path: str, text: str) -> None:
    """One file with an exact name, through Hadoop's FileSystem (s3:// on EMR, local paths here)."""
    hpath, fs = _hadoop_path(spark, path)
    out = fs.create(hpath, True)
    try:
        out.write(bytearray(text.encode("utf-8")))
    finally:
        out.close()


def load_exports(spark: SparkSession, input_root: str, days: list[str]) -> DataFrame:
    """The exported rows of `days`; days with no objects are simply absent."""
    root = input_root.rstrip("/")
    paths = [f"{root}/dt={d}" for d in days]
    paths = [p for p in paths if path_exists(spark, p)]
    if not paths:
        return spark.createDataFrame([], JOB_SCHEMA)
    return spark.read.schema(JOB_SCHEMA).option("mode", "PERMISSIVE").json(paths)


def _ts(col: str):
    return F.to_timestamp(F.col(col))


def _seconds(later: str, earlier: str):
    return (F.expr(f"unix_micros({later})") - F.expr(f"unix_micros({earlier})")) / F.lit(1e6)


def prepare(rows: DataFrame, start: str, end: str) -> DataFrame:
    """One row per terminal job completed in [start, end], with parsed times and stage durations."""
    parsed = (
        rows.where(F.col("job_id").isNotNull() & F.col("status").isin(*TERMINAL))
        .withColumn("created_ts", _ts("created_at"))
        .withColumn("updated_ts", _ts("updated_at"))
        .withColumn("completed_ts", _ts("completed_at"))
        .withColumn("claimed_ts", _ts("claimed_at"))
        .withColumn("analyzed_ts", _ts("analyzed_at"))
        .withColumn("seq", F.col("stream.sequence_number"))
    )
    latest = Window.partitionBy("job_id").orderBy(
        F.col("updated_ts").desc_nulls_last(),
        F.length("seq").desc_nulls_last(),
        F.col("seq").desc_nulls_last(),
    )
    deduped = (
        parsed.withColumn("_rank", F.row_number().over(latest))
        .where(F.col("_rank") == 1)
        .drop("_rank", "seq")
    )
    dated = deduped.withColumn("date", F.to_date("completed_ts")).where(
        F.col("date").between(F.lit(start).cast("date"), F.lit(end).cast("date"))
    )
    complete = F.col("status") == F.lit("complete")

    def stage(later: str, earlier: str):
        return F.when(
            complete & F.col(later).isNotNull() & F.col(earlier).isNotNull(),
            F.greatest(F.lit(0.0), _seconds(later, earlier)),
        )

    return (
        dated.withColumn("end_to_end_s", F.when(complete, _seconds("completed_ts", "created_ts")))
        .withColumn("queued_s", stage("claimed_ts", "created_ts"))
        .withColumn("analysis_s", stage("analyzed_ts", "claimed_ts"))
        .withColumn("decision_s", stage("completed_ts", "analyzed_ts"))
    )


def failure_reason(col: str = "reason"):
    """A failure reason without its per-job detail: at most its first two ': ' parts."""
    parts = F.split(F.col(col), ": ")
    short = F.concat_ws(": ", F.slice(parts, 1, 2))
    return F.substring(short, 1, 160)


def _pcts(col: str, qs: tuple[float, ...]):
    return F.percentile_approx(F.col(col), list(qs), PERCENTILE_ACCURACY)


def build_tables(jobs: DataFrame) -> dict[str, DataFrame]:
    """Every report table, from the prepared jobs (one row each)."""
    daily = (
        jobs.groupBy(F.date_format("date", "yyyy-MM-dd").alias("date"), "status", "decision")
        .agg(F.count(F.lit(1)).alias("jobs"))
        .orderBy("date", "status", F.col("decision").asc_nulls_first())
    )
    labels = (
        jobs.select(F.explode_outer(F.col("rekognition_result.labels")).alias("l"))
        .where(F.col("l.name").isNotNull())
        .select(F.col("l.name").alias("label"), F.col("l.confidence").alias("confidence"))
    )
    top_labels = (
        labels.groupBy("label")
        .agg(
            F.count(F.lit(1)).alias("count"),
            F.avg("confidence").alias("mean_confidence"),
            _pcts("confidence", (0.5, 0.9)).alias("_p"),
        )
        .select(
            "label",
            "count",
            "mean_confidence",
            F.col("_p")[0].alias("p50_confidence"),
            F.col("_p")[1].alias("p90_confidence"),
        )
        .orderBy(F.col("count").desc(), "label")
    )
    bucket = F.least(F.floor(F.col("confidence") / 10) * 10, F.lit(90)).cast("int")
    label_confidence = (
        labels.groupBy("label", bucket.alias("confidence_from"))
        .agg(F.count(F.lit(1)).alias("count"))
        .withColumn("confidence_to", F.col("confidence_from") + 10)
        .orderBy("label", "confidence_from")
    )
    users = (
        jobs.groupBy("user_id")
        .agg(
            F.count(F.lit(1)).alias("jobs"),
            F.sum(F.when(F.col("decision") == "reject", 1).otherwise(0)).alias("rejected"),
            F.sum(F.when(F.col("decision") == "review", 1).otherwise(0)).alias("reviewed"),
        )
        .withColumn("reject_rate", F.col("rejected") / F.col("jobs"))
        .withColumn("review_rate", F.col("reviewed") / F.col("jobs"))
        .orderBy(
            F.col("rejected").desc(),
            F.col("reviewed").desc(),
            F.col("jobs").desc(),
            F.col("user_id").asc_nulls_last(),
        )
    )
    measures = [("end_to_end", "end_to_end_s")] + [(s, f"{s}_s") for s in STAGES]
    latency_row = jobs.agg(
        *[
            expr
            for name, col in measures
            for expr in (
                _pcts(col, (0.5, 0.95, 0.99)).alias(f"{name}_p"),
                F.count(F.col(col)).alias(f"{name}_n"),
            )
        ]
    )
    latency = latency_row.select(
        F.explode(
            F.array(
                *[
                    F.struct(
                        F.lit(name).alias("measure"),
                        F.col(f"{name}_n").alias("jobs"),
                        F.col(f"{name}_p")[0].alias("p50"),
                        F.col(f"{name}_p")[1].alias("p95"),
                        F.col(f"{name}_p")[2].alias("p99"),
                    )
                    for name, _ in measures
                ]
            )
        ).alias("m")
    ).select("m.*")
    failure_reasons = (
        jobs.where(F.col("status") == "failed")
        .select(F.coalesce(F.col("reasons")[0], F.lit("unknown")).alias("reason"))
        .select(failure_reason().alias("reason"))
        .groupBy("reason")
        .agg(F.count(F.lit(1)).alias("count"))
        .orderBy(F.col("count").desc(), "reason")
    )
    return {
        "daily": daily,
        "top_labels": top_labels,
        "label_confidence": label_confidence,
        "users": users,
        "latency": latency,
        "failure_reasons": failure_reasons,
    }


def _num(value, digits: int):
    return None if value is None else round(float(value), digits)


def summarize(
    tables: dict[str, DataFrame],
    rows: int,
    start: str,
    end: str,
    top_labels: int = DEFAULT_TOP,
    top_users: int = DEFAULT_TOP,
) -> dict:
    """The dashboard's `summary.json` (the contract in this module's docstring)."""
    latency = {r["measure"]: r for r in tables["latency"].collect()}

    def pcts(measure: str) -> dict:
        r = latency.get(measure)
        return {k: (_num(r[k], 3) if r is not None else None) for k in ("p50", "p95", "p99")}

    return {
        "generated_at": utc_now_iso(),
        "start_date": start,
        "end_date": end,
        "rows": int(rows),
        "daily": [
            {
                "date": r["date"],
                "status": r["status"],
                "decision": r["decision"],
                "jobs": int(r["jobs"]),
            }
            for r in tables["daily"].collect()
        ],
        "top_labels": [
            {
                "label": r["label"],
                "count": int(r["count"]),
                "mean_confidence": _num(r["mean_confidence"], 3),
                "p50_confidence": _num(r["p50_confidence"], 3),
                "p90_confidence": _num(r["p90_confidence"], 3),
            }
            for r in tables["top_labels"].limit(top_labels).collect()
        ],
        "users": [
            {
                "user_id": r["user_id"],
                "jobs": int(r["jobs"]),
                "rejected": int(r["rejected"]),
                "reviewed": int(r["reviewed"]),
                "reject_rate": _num(r["reject_rate"], 4),
                "review_rate": _num(r["review_rate"], 4),
            }
            for r in tables["users"].limit(top_users).collect()
        ],
        "latency_seconds": {
            "end_to_end": pcts("end_to_end"),
            "stages": {stage: pcts(stage) for stage in STAGES},
        },
        "failure_reasons": [
            {"reason": r["reason"], "count": int(r["count"])}
            for r in tables["failure_reasons"].limit(MAX_FAILURE_REASONS).collect()
        ],
    }


def run(
    spark: SparkSession,
    input_root: str,
    output_root: str,
    run_date: date,
    end_date: date | None = None,
    days: int = 1,
    top_labels: int = DEFAULT_TOP,
    top_users: int = DEFAULT_TOP,
) -> dict:
    """Read, aggregate, write the tables and `summary.json`; return the summary."""
    configure(spark)
    start, end = report_window(run_date, end_date, days)
    start_s, end_s = start.isoformat(), end.isoformat()
    jobs = prepare(load_exports(spark, input_root, dates_between(start, end)), start_s, end_s)
    jobs = jobs.persist()
    try:
        rows = jobs.count()
        # Each table is both collected (summary) and written (Parquet): compute it once.
        tables = {name: df.persist() for name, df in build_tables(jobs).items()}
        try:
            summary = summarize(tables, rows, start_s, end_s, top_labels, top_users)
            out = f"{output_root.rstrip('/')}/dt={run_date.isoformat()}"
            for name, df in tables.items():
                df.coalesce(1).write.mode("overwrite").parquet(f"{out}/{name}")
            write_text(spark, f"{out}/summary.json", json.dumps(summary, indent=2) + "\n")
        finally:
            for df in tables.values():
                df.unpersist()
        return summary
    finally:
        jobs.unpersist()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    run_date = to_date(args.run_date) if args.run_date else datetime.now(UTC).date()
    end_date = to_date(args.end_date) if args.end_date else None
    spark = session(args.master, args.shuffle_partitions)
    summary = run(
        spark,
        args.input,
        args.output,
        run_date,
        end_date,
        args.days,
        args.top_labels,
        args.top_users,
    )
    print(json.dumps({k: summary[k] for k in ("start_date", "end_date", "rows")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
