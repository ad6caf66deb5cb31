"""The cost model: the reference design's worked example, free-tier arithmetic, tiers, what-ifs, measurements."""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pytest

from dashboard.data import cost


def test_seed_004_worked_example_exactly():
    out = cost.lambda_cost(1_000_000, 512, 200, "x86_64", free_tier=False)
    assert out["gb_seconds"] == pytest.approx(100_000)
    assert round(out["requests"], 2) == 0.20
    assert round(out["duration"], 2) == 1.67
    assert out["duration"] == pytest.approx(100_000 * 0.0000166667)
    assert round(out["total"], 2) == 1.87


def test_free_tier_arithmetic():
    # Entirely inside the free tier: 1M requests, 100,000 GB-s of 400,000.
    assert cost.lambda_cost(1_000_000, 512, 200, "x86_64", free_tier=True)["total"] == 0
    # 3M requests x 1 GB x 1 s = 3M GB-s: 2M billable requests, 2.6M billable GB-s.
    out = cost.lambda_cost(3_000_000, 1024, 1000, "x86_64", free_tier=True)
    assert out["requests"] == pytest.approx(2_000_000 * 0.20 / 1e6)
    assert out["duration"] == pytest.approx(2_600_000 * 0.0000166667)
    # arm64 is priced per GB-s at $0.0000133334
    arm = cost.lambda_cost(1_000_000, 512, 200, "arm64")
    assert arm["duration"] == pytest.approx(100_000 * 0.0000133334)


def test_tiered_prices():
    tiers = cost.PRICES.rekognition_image
    assert cost.tiered(500_000, tiers) == pytest.approx(500)
    assert cost.tiered(2_000_000, tiers) == pytest.approx(1000 + 800)
    assert cost.tiered(40_000_000, tiers) == pytest.approx(
        1000 + 4e6 * 0.0008 + 30e6 * 0.0006 + 5e6 * 0.00025
    )
    assert cost.tiered(0, tiers) == 0


def test_estimate_adds_up_and_scales():
    small = cost.estimate(cost.Workload(jobs_per_month=100_000))
    big = cost.estimate(cost.Workload(jobs_per_month=1_000_000))
    assert big.total == pytest.approx(sum(line.monthly for line in big.lines))
    assert sum(big.by_service().values()) == pytest.approx(big.total)
    # fixed items do not scale; the rest is linear in volume (Rekognition's first tier)
    assert big.fixed == pytest.approx(small.fixed)
    assert (big.total - big.fixed) == pytest.approx(10 * (small.total - small.fixed), rel=1e-9)
    assert big.per_1000_jobs == pytest.approx(big.total / 1000)
    services = set(big.by_service())
    assert {
        "Lambda",
        "SQS",
        "SNS",
        "DynamoDB",
        "S3",
        "API Gateway",
        "Rekognition",
        "CloudWatch",
    } <= services
    assert "ElastiCache" not in services and "EMR Serverless" not in services
    frame = big.frame()
    assert frame["per_1000_jobs"].sum() == pytest.approx(big.per_1000_jobs)
    json.dumps(big.as_dict())


def test_lambda_lines_match_the_per_function_formula():
    w = cost.Workload(jobs_per_month=1_000_000, architecture="x86_64")
    est = cost.estimate(w)
    upload = w.function("upload")
    expected = cost.lambda_cost(1_000_000, upload.memory_mb, upload.duration_ms, "x86_64")
    lines = [line for line in est.lines if line.item.startswith("upload ")]
    assert sum(line.monthly for line in lines) == pytest.approx(expected["total"])


def test_architecture_what_if_lowers_duration_cost():
    x86 = cost.estimate(cost.Workload(architecture="x86_64")).by_service()["Lambda"]
    arm = cost.estimate(cost.Workload(architecture="arm64")).by_service()["Lambda"]
    assert arm < x86


def test_memory_what_if():
    w = cost.Workload()
    same_time = w.with_memory("custom_analyzer", 512)
    assert same_time.function("custom_analyzer").memory_mb == 512
    assert (
        same_time.function("custom_analyzer").duration_ms
        == w.function("custom_analyzer").duration_ms
    )
    scaled = w.with_memory("custom_analyzer", 512, scale_duration=True)
    assert scaled.function("custom_analyzer").duration_ms == pytest.approx(
        w.function("custom_analyzer").duration_ms * 1024 / 512
    )

    # CPU-bound: half the memory, twice the time, the same GB-seconds
    def gbs(wl):
        return sum(
            line.quantity
            for line in cost.estimate(wl).lines
            if line.item.startswith("custom_analyzer duration")
        )

    assert gbs(scaled) == pytest.approx(gbs(w))
    assert gbs(same_time) == pytest.approx(gbs(w) / 2)


def test_optional_components_add_their_lines():
    w = cost.Workload(
        jobs_per_month=1_000_000,
        caching=cost.CacheLoad(),
        edge=cost.EdgeLoad(),
        analytics=cost.AnalyticsLoad(),
    )
    est = cost.estimate(w)
    services = est.by_service()
    stored = next(line for line in est.lines if "data stored" in line.item)
    assert stored.quantity == pytest.approx(0.1 * cost.HOURS_PER_MONTH)  # Valkey minimum
    assert stored.monthly == pytest.approx(0.1 * 730 * 0.084)
    assert {"ElastiCache", "CloudFront", "EMR Serverless"} <= set(services)
    exporter = [line for line in est.lines if line.item.startswith("exporter")]
    assert exporter[0].quantity == pytest.approx(1_000_000 / 100)  # one invocation per batch
    reads = next(line for line in est.lines if line.item == "read request units")
    assert reads.monthly == 0  # the cache answers status reads
    node = cost.estimate(
        replace(w, caching=cost.CacheLoad(node_type="cache.t4g.micro", engine="valkey"))
    )
    line = next(line for line in node.lines if line.service == "ElastiCache")
    assert line.monthly == pytest.approx(730 * 0.016 * 0.8)


def test_free_tier_credits_are_separate_lines():
    w = cost.Workload(jobs_per_month=10_000)
    paid, free = cost.estimate(w), cost.estimate(w, free_tier=True)
    credits = [line for line in free.lines if line.item.startswith("free tier")]
    assert credits and all(line.monthly <= 0 for line in credits)
    assert free.total == pytest.approx(paid.total + sum(line.monthly for line in credits))
    assert free.by_service()["Lambda"] == pytest.approx(0, abs=1e-9)  # 10k jobs fit


def test_measured_figures_replace_the_defaults():
    summary = pd.DataFrame(
        [
            {
                "function": "upload",
                "invocations": 200,
                "reports": 200,
                "avg_billed_ms": 300.0,
                "memory_mb": 512,
            },
            {
                "function": "dispatcher",
                "invocations": 50,
                "reports": 50,
                "avg_billed_ms": 40.0,
                "memory_mb": 256,
            },
            {
                "function": "sweeper",
                "invocations": 60,
                "reports": 60,
                "avg_billed_ms": 20.0,
                "memory_mb": 256,
            },
            {
                "function": "status",
                "invocations": 400,
                "reports": 0,
                "avg_billed_ms": None,
                "memory_mb": 256,
            },
        ]
    )
    w = cost.measured(cost.Workload(), summary, jobs_in_window=200)
    assert w.function("upload").invocations_per_job == 1 and w.function("upload").measured
    assert w.function("upload").duration_ms == 300
    assert w.function("dispatcher").invocations_per_job == 0.25
    sweeper = w.function("sweeper")
    assert sweeper.fixed_per_month == 43_200 and sweeper.invocations_per_job == 0
    assert sweeper.duration_ms == 20
    assert not w.function("status").measured  # no REPORT lines: the default stays
    assert w.status_polls_per_job == 2
    assert cost.measured(cost.Workload(), summary, 0) == cost.Workload()


class StubPricing:
    """Price List API answers shaped like AWS's GetProducts (PriceList of JSON strings)."""

    def __init__(self, products):
        self.products = products
        self.calls = []

    def get_products(self, **kwargs):
        self.calls.append(kwargs)
        return {"PriceList": [json.dumps(p) for p in self.products], "FormatVersion": "aws_v1"}


def product(usage: str, price: str, begin: str = "0"):
    return {
        "product": {"attributes": {"usagetype": usage, "regionCode": "us-east-1"}},
        "terms": {
            "OnDemand": {
                "T": {
                    "priceDimensions": {"D": {"beginRange": begin, "pricePerUnit": {"USD": price}}}
                }
            }
        },
    }


def test_price_list_refresh_updates_lambda_and_says_so():
    stub = StubPricing(
        [
            product("Lambda-GB-Second", "0.0000170000"),
            product("Lambda-GB-Second", "0.0000150000", begin="6000000000"),
            product("Lambda-GB-Second-ARM", "0.0000130000"),
            product("Request", "0.0000002100"),
            product("Lambda-Edge-Request", "0.0000006000"),
            product("Lambda-Provisioned-GB-Second", "0.0000041667"),
        ]
    )
    table, names = cost.refresh_from_price_list(stub, "us-east-1")
    assert stub.calls[0]["ServiceCode"] == "AWSLambda"
    assert table.lambda_gb_second == {"x86_64": 0.000017, "arm64": 0.000013}
    assert table.lambda_request == pytest.approx(0.00000021)
    assert "Price List API" in table.source and table.as_of == cost.PRICES.as_of
    assert names == ["lambda duration arm64", "lambda duration x86_64", "lambda requests x86_64"]
    unchanged, none = cost.refresh_from_price_list(StubPricing([]), "us-east-1")
    assert unchanged is cost.PRICES and none == []
    assert json.dumps(cost.PRICES.as_dict())


def test_one_million_jobs_is_importable_from_bench():
    """bench/ computes the cost of 1M jobs with exactly this call."""
    from dashboard.data.cost import Workload, estimate

    est = estimate(Workload(jobs_per_month=1_000_000))
    assert est.as_dict()["jobs_per_month"] == 1_000_000
    assert 100 < est.total < 10_000  # Rekognition alone is $1,000


def test_notification_topic_fifo_vs_standard():
    def sns(workload, free_tier=False):
        return sum(
            line.monthly
            for line in cost.estimate(workload, free_tier=free_tier).lines
            if line.service == "SNS"
        )

    fifo = cost.Workload(jobs_per_month=1_000_000, sns_fifo=True, sns_message_kb=1024 / 1000)
    # 1M publishes at $0.30/M, 1M deliveries to one SQS queue at $0.01/M, ~1 GB each way.
    assert sns(fifo) == pytest.approx(0.30 + 0.01 + 0.017 * 1000 / 1024 + 0.001 * 1000 / 1024)
    assert sns(fifo, free_tier=True) == sns(fifo)  # no free tier assumed for FIFO
    standard = replace(fifo, sns_fifo=False)
    assert sns(standard) == pytest.approx(0.50)
    assert sns(standard, free_tier=True) == pytest.approx(0.0)


Workload, estimate = cost.Workload, cost.estimate


def test_provisioned_concurrency_is_a_fixed_line_and_lowers_the_duration_rate():
    base = Workload(jobs_per_month=1_000_000, architecture="arm64")
    with_pc = base.with_provisioned("custom_analyzer", 2)
    plain, pc = estimate(base), estimate(with_pc)
    lines = {line.item: line for line in pc.lines}
    capacity = lines["custom_analyzer provisioned concurrency (2 x 1024 MB)"]
    assert capacity.fixed and capacity.quantity == 2 * 1.0 * cost.SECONDS_PER_MONTH
    assert capacity.monthly == pytest.approx(2 * cost.SECONDS_PER_MONTH * 0.0000033334)
    served = lines["custom_analyzer duration on provisioned environments (arm64)"]
    custom = base.function("custom_analyzer")
    gbs = 1_000_000 * custom.memory_mb / 1024 * custom.duration_ms / 1000
    assert served.quantity == pytest.approx(gbs)
    assert served.monthly == pytest.approx(gbs * 0.0000077778)
    assert not any("beyond" in item for item in lines)
    # Idle capacity costs more than it saves at this volume.
    assert pc.total > plain.total


def test_provisioned_capacity_spills_over_at_the_on_demand_rate():
    w = Workload(jobs_per_month=100_000_000, architecture="arm64").with_provisioned(
        "custom_analyzer", 1
    )
    lines = {line.item: line for line in estimate(w).lines}
    spill = lines["custom_analyzer duration beyond the provisioned environments (arm64)"]
    assert spill.quantity > 0 and spill.unit_price == 0.0000133334


# --- calling Rekognition less: verdict reuse and custom-first ---------------------------------


def line(est, item: str):
    return next(x for x in est.lines if x.item == item)


def rekognition(est) -> float:
    return est.by_service()["Rekognition"]


def requests(est, function: str) -> float:
    return line(est, f"{function} requests").quantity


def test_reuse_scales_rekognition_with_the_share_of_analyzed_jobs():
    jobs = 1_000_000
    plain = estimate(Workload(jobs_per_month=jobs, verdict_reuse=False))
    reused = estimate(Workload(jobs_per_month=jobs, reuse_share=0.25))
    assert rekognition(plain) == pytest.approx(1000.0)
    assert rekognition(reused) == pytest.approx(750.0)
    images = line(reused, "DetectModerationLabels images")
    assert images.quantity == pytest.approx(750_000)
    assert "25% of jobs reused a verdict" in images.note
    # A share without verdict reuse enabled saves nothing: no lookup, no reuse.
    off = estimate(Workload(jobs_per_month=jobs, verdict_reuse=False, reuse_share=0.25))
    assert rekognition(off) == pytest.approx(1000.0)
    assert not any(x.item.startswith("verdict") for x in off.lines)


def test_reuse_respects_rekognition_tiers():
    # 2M jobs, a quarter reused: 1.5M images, the first 1M at $0.001 and 0.5M at $0.0008,
    # not three quarters of 2M images' price (1000 + 800) * 0.75 = 1350.
    reused = estimate(Workload(jobs_per_month=2_000_000, reuse_share=0.25))
    assert rekognition(reused) == pytest.approx(1000 + 500_000 * 0.0008)
    assert rekognition(reused) != pytest.approx(0.75 * (1000 + 800))
    # 8M jobs, half reused and a tenth of the rest skipped: 3.6M images.
    both = estimate(Workload(jobs_per_month=8_000_000, reuse_share=0.5, rekognition_skip_share=0.1))
    assert line(both, "DetectModerationLabels images").quantity == pytest.approx(3_600_000)
    assert rekognition(both) == pytest.approx(1000 + 2_600_000 * 0.0008)


def test_reused_jobs_skip_the_three_analyzers_and_skipped_ones_rekognition_only():
    base = Workload(jobs_per_month=1_000_000)
    est = estimate(replace(base, reuse_share=0.2, rekognition_skip_share=0.1))
    for name in ("custom_analyzer", "text_analyzer"):
        per_job = base.function(name).invocations_per_job
        assert requests(est, name) == pytest.approx(1_000_000 * per_job * 0.8)
    assert requests(est, "rekognition_analyzer") == pytest.approx(1_000_000 * 0.8 * 0.9)
    # The upload, the dispatcher and the notifier still handle every job.
    for name in ("upload", "dispatcher", "notifier", "status"):
        assert requests(est, name) == pytest.approx(requests(estimate(base), name))
    # The analyzers' duration follows their invocations.
    custom = base.function("custom_analyzer")
    gbs = 1_000_000 * 0.8 * custom.memory_mb / 1024 * custom.duration_ms / 1000
    assert line(
        est, f"custom_analyzer duration ({custom.memory_mb:.0f} MB x 150 ms, arm64)"
    ).quantity == pytest.approx(gbs)
    # S3: the analyzers' two reads per analyzed job, less Rekognition's on skipped ones.
    assert line(est, "GET (analyzers)").quantity == pytest.approx(1_000_000 * 0.8 * (2 - 0.1))


def test_verdict_reuse_adds_one_lookup_read_per_job_and_one_write_per_analyzed_job():
    jobs = 1_000_000
    on = estimate(Workload(jobs_per_month=jobs, reuse_share=0.3))
    lookup = line(on, "verdict lookups (verdicts table, every job)")
    write = line(on, "verdict writes (verdicts table, analyzed jobs)")
    assert lookup.quantity == pytest.approx(jobs * 1.0) and lookup.unit == "RRU"
    assert lookup.monthly == pytest.approx(jobs * 0.125 / 1e6)
    assert write.quantity == pytest.approx(jobs * 0.7) and write.unit == "WRU"
    assert write.monthly == pytest.approx(jobs * 0.7 * 0.625 / 1e6)
    # The jobs table: 5 WRU per analyzed job, 2 per reused one; its index 5 and 3.
    table = line(on, "write request units (jobs table)")
    index = line(on, "write request units (status GSI)")
    assert table.quantity == pytest.approx(jobs * (0.7 * 5 + 0.3 * 2))
    assert index.quantity == pytest.approx(jobs * (0.7 * 5 + 0.3 * 3))
    # Nothing repeats: reuse costs exactly the lookup, the write and the items stored.
    off = estimate(Workload(jobs_per_month=jobs, verdict_reuse=False))
    none_reused = estimate(Workload(jobs_per_month=jobs))
    stored = line(none_reused, "storage (verdicts kept for their TTL)")
    assert stored.quantity == pytest.approx(jobs * 0.5 / 1024 / 1024)
    extra = none_reused.by_service()["DynamoDB"] - off.by_service()["DynamoDB"]
    assert extra == pytest.approx(jobs * (0.125 + 0.625) / 1e6 + stored.monthly)
    assert none_reused.total - off.total == pytest.approx(extra)


def test_verdict_writes_follow_the_analyzed_jobs_and_their_write_units():
    # Verdicts of 1.5 KB: 2 WRU per write, for the 60% of jobs analyzed.
    est = estimate(
        Workload(jobs_per_month=1_000_000, reuse_share=0.4, verdict_wru_per_analyzed_job=2.0)
    )
    write = line(est, "verdict writes (verdicts table, analyzed jobs)")
    assert write.quantity == pytest.approx(1_200_000)
    assert write.monthly == pytest.approx(1_200_000 * 0.625 / 1e6)


def test_shares_outside_zero_to_one_are_refused():
    with pytest.raises(ValueError, match="reuse_share"):
        estimate(Workload(reuse_share=1.2))
    with pytest.raises(ValueError, match="rekognition_skip_share"):
        estimate(Workload(rekognition_skip_share=-0.1))


def test_measured_analyzer_invocations_are_per_analyzed_job():
    """Measured over a window where 40 of 200 jobs were reused and 16 of the 160 analyzed
    skipped Rekognition: the analyzers ran 160 times and Rekognition's 144 times."""
    summary = pd.DataFrame(
        [
            {
                "function": name,
                "invocations": n,
                "reports": n,
                "avg_billed_ms": 100.0,
                "memory_mb": 512,
            }
            for name, n in (
                ("upload", 200),
                ("custom_analyzer", 160),
                ("text_analyzer", 160),
                ("rekognition_analyzer", 144),
            )
        ]
    )
    w = cost.measured(
        Workload(jobs_per_month=200), summary, 200, reuse_share=0.2, rekognition_skip_share=0.1
    )
    assert w.reuse_share == 0.2 and w.rekognition_skip_share == 0.1
    assert w.function("upload").invocations_per_job == 1.0
    assert w.function("custom_analyzer").invocations_per_job == pytest.approx(1.0)
    assert w.function("rekognition_analyzer").invocations_per_job == pytest.approx(1.0)
    # Priced at the measured shares, the estimate gives back the measured invocations...
    est = estimate(w)
    assert requests(est, "custom_analyzer") == pytest.approx(160)
    assert requests(est, "rekognition_analyzer") == pytest.approx(144)
    # ...and without reuse, every job would have run them.
    assert requests(estimate(replace(w, verdict_reuse=False)), "custom_analyzer") == 200


def test_animated_jobs_pay_one_rekognition_call_per_frame_and_longer_analyzers():
    still = cost.Workload(jobs_per_month=1_000_000)
    animated = replace(still, animated_share=0.25, frames_per_animated_job=8)
    assert animated.frames_per_job == pytest.approx(1 + 0.25 * 7)

    def line(est, service, prefix):
        return next(x for x in est.lines if x.service == service and x.item.startswith(prefix))

    base, anim = cost.estimate(still), cost.estimate(animated)
    calls = line(anim, "Rekognition", "DetectModerationLabels")
    assert calls.quantity == pytest.approx(2.75 * line(base, "Rekognition", "Detect").quantity)
    assert "25% animated x 8 frames" in calls.note
    for fn in ("custom_analyzer", "text_analyzer", "rekognition_analyzer"):
        longer = line(anim, "Lambda", f"{fn} duration").quantity
        assert longer == pytest.approx(2.75 * line(base, "Lambda", f"{fn} duration").quantity)
        # Frames share one invocation: no more requests.
        assert (
            line(anim, "Lambda", f"{fn} requests").quantity
            == line(base, "Lambda", f"{fn} requests").quantity
        )
    assert line(anim, "Lambda", "upload duration").quantity == pytest.approx(
        line(base, "Lambda", "upload duration").quantity
    )
    with pytest.raises(ValueError, match="animated_share"):
        cost.estimate(replace(still, animated_share=1.5))
