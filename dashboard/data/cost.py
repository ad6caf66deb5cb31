"""The cost model of the pipeline: a dated price table and plain arithmetic over a workload.

Importable without Streamlit (the Cost page draws it; `bench/` computes the cost of a
million jobs with it). Prices come from `prices.py`. The reference design's worked
example is reproduced exactly:

    >>> round(lambda_cost(1_000_000, 512, 200, "x86_64")["total"], 2)
    1.87

Verdict reuse and custom-first (docs/cost.md#calling-rekognition-less) enter as shares
of the workload: `reuse_share` of the jobs run no analyzer and call Rekognition not at
all, `rekognition_skip_share` of the analyzed ones skip only Rekognition; the lookup and
the write they cost are DynamoDB lines of their own.

The "free tier" option applies the always-free monthly allowances only (Lambda, SQS,
SNS, DynamoDB storage, CloudWatch, CloudFront, X-Ray, KMS requests), not the 12-month
new-account offers (S3, API Gateway, Rekognition), which a production account no
longer has.

It is longer than most modules because `estimate` prices one job end to end, one line
per billed item, in one place: a reader checks a job's cost against AWS's price pages
without jumping between files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd

from dashboard.data.prices import (
    ARCHITECTURES,
    HOURS_PER_MONTH,
    INF,
    PRICES,
    SECONDS_PER_MONTH,
    PriceTable,
    refresh_from_price_list,
    tiered,
)
from dashboard.data.workload import (
    ANALYZER_FUNCTIONS,
    DEFAULT_FUNCTIONS,
    REKOGNITION_FUNCTION,
    AnalyticsLoad,
    CacheLoad,
    EdgeLoad,
    FunctionLoad,
    Workload,
    _check_share,
    measured,
)

# The workload's names stay importable from here (the Cost page, bench/cost.py).
__all__ = [
    "ANALYZER_FUNCTIONS",
    "DEFAULT_FUNCTIONS",
    "REKOGNITION_FUNCTION",
    "AnalyticsLoad",
    "CacheLoad",
    "EdgeLoad",
    "FunctionLoad",
    "Workload",
    "measured",
    "ARCHITECTURES",
    "HOURS_PER_MONTH",
    "INF",
    "PRICES",
    "SECONDS_PER_MONTH",
    "PriceTable",
    "refresh_from_price_list",
    "tiered",
]


def lambda_cost(
    requests: float,
    memory_mb: float,
    duration_ms: float,
    architecture: str = "x86_64",
    free_tier: bool = False,
    prices: PriceTable = PRICES,
) -> dict[str, float]:
    """One function's monthly cost: requests plus GB-seconds (1 GB = 1024 MB)."""
    gb_seconds = requests * (memory_mb / 1024) * (duration_ms / 1000)
    billable_requests = max(0.0, requests - prices.lambda_free_requests) if free_tier else requests
    billable_gbs = max(0.0, gb_seconds - prices.lambda_free_gb_seconds) if free_tier else gb_seconds
    request_cost = billable_requests * prices.lambda_request
    duration_cost = billable_gbs * prices.lambda_gb_second[architecture]
    return {
        "requests": request_cost,
        "duration": duration_cost,
        "total": request_cost + duration_cost,
        "gb_seconds": gb_seconds,
    }


# --- estimating ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CostLine:
    service: str
    item: str
    quantity: float
    unit: str
    unit_price: float
    monthly: float
    fixed: bool = False  # does not scale with the number of jobs
    note: str = ""


class _AddLine(Protocol):
    """`estimate`'s `add`: one cost line, `quantity * unit_price` unless `monthly` is given."""

    def __call__(
        self,
        service: str,
        item: str,
        quantity: float,
        unit: str,
        unit_price: float,
        fixed: bool = False,
        note: str = "",
        monthly: float | None = None,
    ) -> None: ...


# `estimate`'s `free`: (service, item, used, allowance, unit, unit_price), a free-tier credit.
_FreeLine = Callable[[str, str, float, float, str, float], None]


@dataclass
class Estimate:
    workload: Workload
    prices: PriceTable
    free_tier: bool
    lines: list[CostLine]

    @property
    def total(self) -> float:
        return sum(line.monthly for line in self.lines)

    @property
    def fixed(self) -> float:
        return sum(line.monthly for line in self.lines if line.fixed)

    @property
    def per_1000_jobs(self) -> float:
        jobs = self.workload.jobs_per_month
        return self.total / jobs * 1000 if jobs else 0.0

    @property
    def variable_per_1000_jobs(self) -> float:
        jobs = self.workload.jobs_per_month
        return (self.total - self.fixed) / jobs * 1000 if jobs else 0.0

    def by_service(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for line in self.lines:
            out[line.service] = out.get(line.service, 0.0) + line.monthly
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def frame(self) -> pd.DataFrame:
        import pandas as pd

        rows = [line.__dict__ for line in self.lines]
        df = pd.DataFrame(rows, columns=list(CostLine.__dataclass_fields__))
        jobs = self.workload.jobs_per_month
        df["per_1000_jobs"] = df["monthly"] / jobs * 1000 if jobs else 0.0
        return df

    def as_dict(self) -> dict[str, Any]:
        return {
            "jobs_per_month": self.workload.jobs_per_month,
            "architecture": self.workload.architecture,
            "free_tier": self.free_tier,
            "prices_as_of": self.prices.as_of,
            "prices_source": self.prices.source,
            "total_usd": round(self.total, 4),
            "per_1000_jobs_usd": round(self.per_1000_jobs, 6),
            "fixed_usd": round(self.fixed, 4),
            "by_service_usd": {k: round(v, 4) for k, v in self.by_service().items()},
        }


def estimate(workload: Workload, prices: PriceTable = PRICES, free_tier: bool = False) -> Estimate:
    w, p = workload, prices
    jobs = w.jobs_per_month
    lines: list[CostLine] = []

    def add(
        service: str,
        item: str,
        quantity: float,
        unit: str,
        unit_price: float,
        fixed: bool = False,
        note: str = "",
        monthly: float | None = None,
    ) -> None:
        cost = quantity * unit_price if monthly is None else monthly
        lines.append(CostLine(service, item, quantity, unit, unit_price, cost, fixed, note))

    def free(
        service: str, item: str, used: float, allowance: float, unit: str, unit_price: float
    ) -> None:
        if free_tier and used > 0 and allowance > 0:
            credit = min(used, allowance)
            add(
                service,
                f"free tier: {item}",
                -credit,
                unit,
                unit_price,
                note=f"always-free {allowance:,.0f} {unit}/month",
            )

    # Lambda
    total_requests = total_gbs = 0.0
    gbs_price = p.lambda_gb_second[w.architecture]
    reuse = w.effective_reuse_share
    analyzed = jobs * (1.0 - reuse)
    skip = w.rekognition_skip_share
    _check_share("rekognition_skip_share", skip)
    frames = w.frames_per_job
    for f in w.functions:
        invocations = f.invocations_per_job * jobs * w.analyzed_share(f.name) + f.fixed_per_month
        # An animation's frames run in the same invocation: a longer one, not more of them.
        per_frame = f.name in ANALYZER_FUNCTIONS and not f.measured
        duration_ms = f.duration_ms * (frames if per_frame else 1.0)
        gbs = invocations * (f.memory_mb / 1024) * (duration_ms / 1000)
        total_requests += invocations
        fixed = f.invocations_per_job == 0
        note = "measured" if f.measured else "default"
        add("Lambda", f"{f.name} requests", invocations, "requests", p.lambda_request, fixed, note)
        if f.provisioned_concurrency > 0:
            # The free tier does not apply to a function with provisioned concurrency.
            _provisioned_lines(f, gbs, w.architecture, p, add)
            continue
        total_gbs += gbs
        add(
            "Lambda",
            f"{f.name} duration ({f.memory_mb:.0f} MB x {duration_ms:.0f} ms, {w.architecture})",
            gbs,
            "GB-s",
            gbs_price,
            fixed,
            note,
        )
    free("Lambda", "requests", total_requests, p.lambda_free_requests, "requests", p.lambda_request)
    free("Lambda", "GB-seconds", total_gbs, p.lambda_free_gb_seconds, "GB-s", gbs_price)

    # API Gateway HTTP API: the upload plus status polls
    api_requests = jobs * (1 + w.status_polls_per_job)
    add(
        "API Gateway",
        "HTTP API requests",
        api_requests,
        "requests",
        tiered(api_requests, p.apigw_http_request) / api_requests if api_requests else 0.0,
    )

    # SQS
    sqs_variable = jobs * (1 + 2 / max(w.sqs_batch, 1))
    add("SQS", "send + batched receive/delete", sqs_variable, "requests", p.sqs_request)
    add(
        "SQS",
        "idle long polling and failure-queue reads",
        w.sqs_fixed_requests,
        "requests",
        p.sqs_request,
        fixed=True,
    )
    free(
        "SQS",
        "requests",
        sqs_variable + w.sqs_fixed_requests,
        p.sqs_free_requests,
        "requests",
        p.sqs_request,
    )

    # SNS
    publishes = jobs * w.sns_publishes_per_job
    if w.sns_fifo:
        gb = publishes * w.sns_message_kb / 1024 / 1024
        add(
            "SNS",
            "FIFO publishes (one per terminal job)",
            publishes,
            "requests",
            p.sns_fifo_publish,
        )
        add("SNS", "FIFO publish payload", gb, "GB", p.sns_fifo_publish_gb)
        deliveries = publishes * w.sns_subscriptions
        add(
            "SNS",
            "FIFO deliveries to SQS subscribers",
            deliveries,
            "messages",
            p.sns_fifo_sqs_delivery,
        )
        add(
            "SNS",
            "FIFO delivery payload",
            gb * w.sns_subscriptions,
            "GB",
            p.sns_fifo_sqs_delivery_gb,
        )
    else:
        add("SNS", "publishes (one per terminal job)", publishes, "requests", p.sns_publish)
        free("SNS", "publishes", publishes, p.sns_free_publishes, "requests", p.sns_publish)

    # DynamoDB
    reused_note = f"{reuse:.0%} of jobs reused a verdict: two writes each" if reuse else ""
    add(
        "DynamoDB",
        "write request units (jobs table)",
        analyzed * w.ddb_wru_per_job + (jobs - analyzed) * w.reused_ddb_wru_per_job,
        "WRU",
        p.ddb_write_unit,
        note=reused_note,
    )
    add(
        "DynamoDB",
        "write request units (status GSI)",
        analyzed * w.ddb_gsi_wru_per_job + (jobs - analyzed) * w.reused_ddb_gsi_wru_per_job,
        "WRU",
        p.ddb_write_unit,
        note=reused_note,
    )
    verdicts_gb = 0.0
    if w.verdict_reuse:
        add(
            "DynamoDB",
            "verdict lookups (verdicts table, every job)",
            jobs * w.verdict_lookup_rru_per_job,
            "RRU",
            p.ddb_read_unit,
            note="one BatchGetItem: the verdict and the Rekognition model version",
        )
        add(
            "DynamoDB",
            "verdict writes (verdicts table, analyzed jobs)",
            analyzed * w.verdict_wru_per_analyzed_job,
            "WRU",
            p.ddb_write_unit,
        )
        verdicts_gb = analyzed * (w.verdict_ttl_days / 30) * w.verdict_item_kb / 1024 / 1024
        add(
            "DynamoDB",
            "storage (verdicts kept for their TTL)",
            verdicts_gb,
            "GB-month",
            p.ddb_storage_gb_month,
            note="no point-in-time recovery: the pipeline rebuilds verdicts itself",
        )
    rru = jobs * w.status_polls_per_job * 0.5  # eventually consistent read of <= 4 KB
    if w.caching is not None:
        rru = 0.0
        note = "status reads served by the cache are counted on the ElastiCache line"
    else:
        note = "status polls, eventually consistent"
    add("DynamoDB", "read request units", rru, "RRU", p.ddb_read_unit, note=note)
    stored_gb = jobs * (w.job_retention_days / 30) * w.ddb_item_kb / 1024 / 1024
    add(
        "DynamoDB",
        "storage (jobs kept for their TTL)",
        stored_gb,
        "GB-month",
        p.ddb_storage_gb_month,
    )
    free(
        "DynamoDB",
        "storage",
        stored_gb + verdicts_gb,
        p.ddb_free_storage_gb,
        "GB-month",
        p.ddb_storage_gb_month,
    )
    if w.pitr:
        add("DynamoDB", "point-in-time recovery", stored_gb, "GB-month", p.ddb_pitr_gb_month)

    # S3
    add("S3", "PUT (originals)", jobs * w.s3_puts_per_job, "requests", p.s3_put)
    # Rekognition's own read of the object goes with the call custom-first skips.
    gets = analyzed * max(0.0, w.s3_gets_per_job - skip * w.rekognition_images_per_job)
    add("S3", "GET (analyzers)", gets, "requests", p.s3_get)
    s3_gb = jobs * (min(w.upload_expiry_days, 30) / 30) * w.image_mb / 1024
    add("S3", "storage (originals until expiry)", s3_gb, "GB-month", p.s3_storage_gb_month)

    # Rekognition
    images = analyzed * (1.0 - skip) * w.rekognition_images_per_job * frames
    saved = [
        f"{w.animated_share:.0%} animated x {w.frames_per_animated_job:g} frames, "
        f"one call each ({frames:.2f} per job)"
        if w.animated_share
        else "",
        f"{reuse:.0%} of jobs reused a verdict" if reuse else "",
        f"custom-first skipped {skip:.0%} of analyzed jobs" if skip else "",
    ]
    add(
        "Rekognition",
        "DetectModerationLabels images",
        images,
        "images",
        tiered(images, p.rekognition_image) / images if images else 0.0,
        note="; ".join(["tiered per month", *(n for n in saved if n)]),
    )

    # CloudWatch
    log_gb = jobs * w.log_kb_per_job / 1024 / 1024
    add("CloudWatch", "log ingestion", log_gb, "GB", p.logs_ingest_gb)
    free("CloudWatch", "log data", log_gb, p.logs_free_gb, "GB", p.logs_ingest_gb)
    add(
        "CloudWatch",
        "log storage (retention)",
        log_gb * w.log_retention_days / 30,
        "GB-month",
        p.logs_storage_gb_month,
    )
    add(
        "CloudWatch",
        "custom metrics (EMF)",
        w.custom_metrics,
        "metrics",
        p.metric_month,
        fixed=True,
    )
    free("CloudWatch", "metrics", w.custom_metrics, p.metrics_free, "metrics", p.metric_month)
    add("CloudWatch", "alarms", w.alarms, "alarms", p.alarm_month, fixed=True)
    free("CloudWatch", "alarms", w.alarms, p.alarms_free, "alarms", p.alarm_month)

    # X-Ray, KMS
    traces = jobs * w.xray_traces_per_job
    add("X-Ray", "traces recorded", traces, "traces", p.xray_trace)
    free("X-Ray", "traces", traces, p.xray_free_traces, "traces", p.xray_trace)
    add(
        "KMS",
        "customer managed keys (alarm topic)",
        w.kms_keys,
        "keys",
        p.kms_key_month,
        fixed=True,
    )

    if w.caching is not None:
        _cache_lines(w, p, add)
    if w.edge is not None:
        _edge_lines(w, p, add, free)
    if w.analytics is not None:
        _analytics_lines(w, p, add)
    return Estimate(w, p, free_tier, lines)


def _provisioned_lines(
    f: FunctionLoad, gbs: float, architecture: str, p: PriceTable, add: _AddLine
) -> None:
    """Provisioned environments all month, the duration they serve at their lower rate,
    and what exceeds their capacity at the on-demand rate."""
    capacity = f.provisioned_concurrency * (f.memory_mb / 1024) * SECONDS_PER_MONTH
    add(
        "Lambda",
        f"{f.name} provisioned concurrency ({f.provisioned_concurrency} x {f.memory_mb:.0f} MB)",
        capacity,
        "GB-s",
        p.lambda_provisioned_gb_second[architecture],
        fixed=True,
        note="billed while enabled, used or not",
    )
    served = min(gbs, capacity)
    add(
        "Lambda",
        f"{f.name} duration on provisioned environments ({architecture})",
        served,
        "GB-s",
        p.lambda_provisioned_duration_gb_second[architecture],
    )
    if gbs > served:
        add(
            "Lambda",
            f"{f.name} duration beyond the provisioned environments ({architecture})",
            gbs - served,
            "GB-s",
            p.lambda_gb_second[architecture],
            note="spill-over at the on-demand rate",
        )


def _cache_lines(w: Workload, p: PriceTable, add: _AddLine) -> None:
    c = w.caching
    assert c is not None
    if c.node_type == "serverless":
        gb_hour, ecpu, minimum = p.elasticache_serverless.get(
            c.engine, p.elasticache_serverless["redis"]
        )
        stored = max(c.data_gb, minimum)
        add(
            "ElastiCache",
            f"serverless {c.engine}: data stored",
            stored * HOURS_PER_MONTH,
            "GB-hours",
            gb_hour,
            fixed=True,
            note=f"minimum {minimum} GB billed",
        )
        add(
            "ElastiCache",
            f"serverless {c.engine}: ECPU",
            w.jobs_per_month * c.ecpu_per_job,
            "ECPU",
            ecpu,
        )
    else:
        hourly = p.elasticache_node_hour.get(c.node_type)
        if hourly is None:
            add(
                "ElastiCache",
                f"{c.node_type}: no price in the table",
                0,
                "node-hours",
                0.0,
                fixed=True,
                note="add the node type to PriceTable.elasticache_node_hour",
            )
            return
        if c.engine == "valkey":
            hourly *= 1 - p.elasticache_valkey_node_discount
        add(
            "ElastiCache",
            f"{c.node_type} ({c.engine}) node",
            HOURS_PER_MONTH,
            "node-hours",
            hourly,
            fixed=True,
        )


def _edge_lines(w: Workload, p: PriceTable, add: _AddLine, free: _FreeLine) -> None:
    e = w.edge
    assert e is not None
    views = w.jobs_per_month * e.views_per_job
    gb = views * w.image_mb / 1024
    add("CloudFront", "HTTPS requests", views, "requests", p.cloudfront_https_request)
    free(
        "CloudFront",
        "requests",
        views,
        p.cloudfront_free_requests,
        "requests",
        p.cloudfront_https_request,
    )
    add("CloudFront", "data transfer out", gb, "GB", p.cloudfront_gb)
    free("CloudFront", "data transfer", gb, p.cloudfront_free_gb, "GB", p.cloudfront_gb)
    add("CloudFront", "Lambda@Edge requests (JWT check)", views, "requests", p.edge_request)
    add(
        "CloudFront",
        "Lambda@Edge duration",
        views * (e.edge_memory_mb / 1024) * e.edge_ms / 1000,
        "GB-s",
        p.edge_gb_second,
    )


def _analytics_lines(w: Workload, p: PriceTable, add: _AddLine) -> None:
    a = w.analytics
    assert a is not None
    vcpu_price, gb_price = p.emr_serverless[a.architecture]
    add(
        "EMR Serverless",
        f"vCPU-hours ({a.architecture})",
        a.runs_per_month * a.vcpu_hours_per_run,
        "vCPU-hours",
        vcpu_price,
        fixed=True,
    )
    add(
        "EMR Serverless",
        f"GB-hours ({a.architecture})",
        a.runs_per_month * a.gb_hours_per_run,
        "GB-hours",
        gb_price,
        fixed=True,
    )
    exports = w.jobs_per_month / max(a.export_batch, 1)
    add("S3", "PUT (analytics export objects)", exports, "requests", p.s3_put)
    add("Lambda", "exporter requests (stream batches)", exports, "requests", p.lambda_request)
    add(
        "Lambda",
        f"exporter duration ({a.exporter_memory_mb:.0f} MB x {a.exporter_ms:.0f} ms)",
        exports * (a.exporter_memory_mb / 1024) * a.exporter_ms / 1000,
        "GB-s",
        p.lambda_gb_second[w.architecture],
    )
