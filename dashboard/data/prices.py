"""AWS list prices (us-east-1) the cost model uses, dated, and their refresh from the Price List API.

`PRICES.as_of` says when the table was read; a `PriceTable` refreshed from the Price
List API (`refresh_from_price_list`) replaces the Lambda figures and says so in its
`source`, so the Cost page always shows where its prices came from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

HOURS_PER_MONTH = 730
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
ARCHITECTURES = ("arm64", "x86_64")
INF = float("inf")


@dataclass(frozen=True)
class PriceTable:
    """List prices (USD) for us-east-1. Tiers are ((units up to, price per unit), ...)."""

    as_of: str = "2025-06-01"
    region: str = "us-east-1"
    source: str = "bundled price table (aws.amazon.com/<service>/pricing, us-east-1)"
    # Lambda
    lambda_request: float = 0.20 / 1e6
    lambda_gb_second: dict[str, float] = field(
        default_factory=lambda: {"x86_64": 0.0000166667, "arm64": 0.0000133334}
    )
    lambda_free_requests: float = 1_000_000
    lambda_free_gb_seconds: float = 400_000
    # Provisioned concurrency: the configured environments, per GB-second while enabled,
    # and the duration of invocations they serve (cheaper than on-demand duration).
    lambda_provisioned_gb_second: dict[str, float] = field(
        default_factory=lambda: {"x86_64": 0.0000041667, "arm64": 0.0000033334}
    )
    lambda_provisioned_duration_gb_second: dict[str, float] = field(
        default_factory=lambda: {"x86_64": 0.0000097222, "arm64": 0.0000077778}
    )
    # SQS (standard queue; one request per 64 KB chunk)
    sqs_request: float = 0.40 / 1e6
    sqs_free_requests: float = 1_000_000
    # SNS standard topic (publish; deliveries to SQS and Lambda are free)
    sns_publish: float = 0.50 / 1e6
    sns_free_publishes: float = 1_000_000
    # SNS FIFO topic: publishes and their payload, and each delivery to an SQS queue
    # (no free tier is assumed for FIFO topics)
    sns_fifo_publish: float = 0.30 / 1e6
    sns_fifo_publish_gb: float = 0.017
    sns_fifo_sqs_delivery: float = 0.01 / 1e6
    sns_fifo_sqs_delivery_gb: float = 0.001
    # DynamoDB on-demand (prices of 2024-11-01)
    ddb_write_unit: float = 0.625 / 1e6
    ddb_read_unit: float = 0.125 / 1e6
    ddb_storage_gb_month: float = 0.25
    ddb_free_storage_gb: float = 25
    ddb_pitr_gb_month: float = 0.20
    # S3 Standard
    s3_put: float = 0.005 / 1000
    s3_get: float = 0.0004 / 1000
    s3_storage_gb_month: float = 0.023
    # API Gateway HTTP API
    apigw_http_request: tuple[tuple[float, float], ...] = ((300e6, 1.00 / 1e6), (INF, 0.90 / 1e6))
    # Rekognition Image, group 2 APIs (DetectModerationLabels), per image per month
    rekognition_image: tuple[tuple[float, float], ...] = (
        (1e6, 0.001),
        (5e6, 0.0008),
        (35e6, 0.0006),
        (INF, 0.00025),
    )
    # CloudWatch
    logs_ingest_gb: float = 0.50
    logs_storage_gb_month: float = 0.03
    logs_free_gb: float = 5
    metric_month: float = 0.30
    metrics_free: float = 10
    alarm_month: float = 0.10
    alarms_free: float = 10
    # ElastiCache: serverless (data stored per GB-hour, per million ECPU, minimum GB stored)
    elasticache_serverless: dict[str, tuple[float, float, float]] = field(
        default_factory=lambda: {
            "valkey": (0.084, 0.0023 / 1e6, 0.1),
            "redis": (0.125, 0.0034 / 1e6, 1.0),
        }
    )
    # ElastiCache node-based, on-demand per node-hour (Redis OSS; Valkey is 20% less)
    elasticache_node_hour: dict[str, float] = field(
        default_factory=lambda: {
            "cache.t4g.micro": 0.016,
            "cache.t4g.small": 0.032,
            "cache.t4g.medium": 0.065,
            "cache.m7g.large": 0.158,
            "cache.r7g.large": 0.219,
        }
    )
    elasticache_valkey_node_discount: float = 0.20
    # CloudFront (US/EU) and Lambda@Edge
    cloudfront_gb: float = 0.085
    cloudfront_https_request: float = 0.01 / 10_000
    cloudfront_free_gb: float = 1024
    cloudfront_free_requests: float = 10_000_000
    edge_request: float = 0.60 / 1e6
    edge_gb_second: float = 0.00005001
    # EMR Serverless per architecture: (per vCPU-hour, per GB-hour)
    emr_serverless: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {"x86_64": (0.052624, 0.0057785), "arm64": (0.042094, 0.004628)}
    )
    # X-Ray and KMS
    xray_trace: float = 5.00 / 1e6
    xray_free_traces: float = 100_000
    kms_key_month: float = 1.00
    kms_request: float = 0.03 / 10_000
    kms_free_requests: float = 20_000

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe: unbounded tiers are written as the string "inf"."""

        def safe(value: Any) -> Any:
            if isinstance(value, float) and value == INF:
                return "inf"
            if isinstance(value, (list, tuple)):
                return [safe(v) for v in value]
            if isinstance(value, dict):
                return {k: safe(v) for k, v in value.items()}
            return value

        return {k: safe(v) for k, v in self.__dict__.items()}


PRICES = PriceTable()


def tiered(quantity: float, tiers: Iterable[tuple[float, float]]) -> float:
    """Cost of `quantity` units under cumulative tiers ((up to, unit price), ...)."""
    cost, lower = 0.0, 0.0
    for upper, price in tiers:
        if quantity <= lower:
            break
        cost += (min(quantity, upper) - lower) * price
        lower = upper
    return cost


# --- AWS Price List API --------------------------------------------------------------------

_LAMBDA_USAGE = {
    ("duration", "x86_64"): "Lambda-GB-Second",
    ("duration", "arm64"): "Lambda-GB-Second-ARM",
    ("requests", "x86_64"): "Request",
    ("requests", "arm64"): "Request-ARM",
}


def _first_tier_price(product: dict[str, Any]) -> float | None:
    for term in (product.get("terms", {}).get("OnDemand") or {}).values():
        for dim in (term.get("priceDimensions") or {}).values():
            if str(dim.get("beginRange", "0")) in ("0", "0.0"):
                usd = (dim.get("pricePerUnit") or {}).get("USD")
                if usd is not None:
                    return float(usd)
    return None


def refresh_from_price_list(
    pricing: Any, region: str = "us-east-1", base: PriceTable = PRICES
) -> tuple[PriceTable, list[str]]:
    """Lambda request and GB-second prices per architecture from the Price List API.

    `pricing` is a boto3 `pricing` client (its endpoint lives in us-east-1). Returns the
    table (unchanged where nothing was found) and the names of the refreshed prices.
    """
    found: dict[tuple[str, str], float] = {}
    kwargs: dict[str, Any] = {
        "ServiceCode": "AWSLambda",
        "Filters": [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}],
        "FormatVersion": "aws_v1",
    }
    while True:
        out = pricing.get_products(**kwargs)
        for raw in out.get("PriceList", []):
            product = json.loads(raw) if isinstance(raw, str) else raw
            usage = (product.get("product", {}).get("attributes") or {}).get("usagetype", "")
            for key, name in _LAMBDA_USAGE.items():
                # us-east-1 usage types have no prefix; others start with one like USW2-.
                if (
                    re.fullmatch(rf"(?:[A-Z]{{2,3}}\d-)?{re.escape(name)}", usage)
                    and key not in found
                ):
                    price = _first_tier_price(product)
                    if price is not None:
                        found[key] = price
        if not out.get("NextToken"):
            break
        kwargs["NextToken"] = out["NextToken"]
    if not found:
        return base, []
    gbs = dict(base.lambda_gb_second)
    for (kind, arch), price in found.items():
        if kind == "duration":
            gbs[arch] = price
    request = found.get(("requests", "x86_64"), base.lambda_request)
    refreshed = [f"lambda {kind} {arch}" for kind, arch in sorted(found)]
    table = replace(
        base,
        lambda_gb_second=gbs,
        lambda_request=request,
        source=f"AWS Price List API for Lambda ({', '.join(refreshed)}); "
        f"other services from the bundled table of {base.as_of}",
    )
    return table, refreshed
