"""Check a real AWS account before the first `pulumi up`: what mocks cannot know.

    python -m scripts.preflight --stack dev [--profile P] [--region R]   (make preflight)

Reads the stack's settings from `Pulumi.<stack>.yaml` (and validates them as
`pulumi preview` would), then asks the account: whose credentials these are; whether
Lambda's unreserved concurrency stays at AWS's minimum of 100 after what the stack
reserves, and how many executions the account allows at all; whether Rekognition's
moderation API answers in the region; whether the Cognito hosted-UI domain prefix is
free; and the ElastiCache and EMR Serverless quotas the optional components need. Each
check prints pass, warn or fail with the fix; the exit status is 1 if any failed.
Read-only: the Rekognition probe sends an image too small to analyze, which AWS refuses
without processing (and without billing) it.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import BotoCoreError, ClientError

from components.edge_auth import default_domain_prefix
from components.settings import ConfigError, StackSettings, settings_from_mapping

ROOT = Path(__file__).resolve().parent.parent
MIN_UNRESERVED = 100  # Lambda keeps at least this much concurrency unreserved
LAMBDA_CONCURRENCY_QUOTA = ("lambda", "L-B99A9384")
# A new account may start with 10 concurrent executions; the pipeline needs room for a
# burst of uploads, dispatchers and three kinds of analyzers at once.
RECOMMENDED_CONCURRENCY = 100

PASS, WARN, FAIL = "pass", "warn", "fail"


@dataclass(frozen=True)
class Result:
    check: str
    outcome: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"[{self.outcome.upper():4}] {self.check}: {self.detail}"
        return f"{text}\n       fix: {self.fix}" if self.fix else text


Clients = Callable[[str], Any]


def stack_config(stack: str, root: Path = ROOT) -> dict[str, Any]:
    """The `moderation:` settings of `Pulumi.<stack>.yaml`, namespace stripped."""
    path = root / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist: create the stack with `pulumi stack init {stack}`"
        )
    raw = yaml.safe_load(path.read_text()).get("config") or {}
    return {k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith("moderation:")}


def check_settings(stack: str, config: dict[str, Any]) -> tuple[Result, StackSettings | None]:
    try:
        settings = settings_from_mapping(stack, config)
    except ConfigError as exc:
        return Result("settings", FAIL, str(exc), "fix the settings named above"), None
    return Result(
        "settings", PASS, f"stack {stack!r}: every setting valid, names within AWS limits"
    ), settings


def check_identity(clients: Clients) -> tuple[Result, str | None]:
    try:
        who = clients("sts").get_caller_identity()
    except (ClientError, BotoCoreError) as exc:
        return Result(
            "credentials", FAIL, str(exc), "configure AWS credentials (aws configure, AWS_PROFILE)"
        ), None
    return Result("credentials", PASS, f"account {who['Account']} as {who['Arn']}"), who["Account"]


def check_concurrency(clients: Clients, settings: StackSettings) -> list[Result]:
    reserved = sum(f.reserved_concurrency or 0 for f in settings.functions.values())
    limits = clients("lambda").get_account_settings()["AccountLimit"]
    total, unreserved = limits["ConcurrentExecutions"], limits["UnreservedConcurrentExecutions"]
    results = []
    left = unreserved - reserved
    if left < MIN_UNRESERVED:
        results.append(
            Result(
                "lambda reserved concurrency",
                FAIL,
                f"the stack reserves {reserved} of {unreserved} unreserved executions, leaving "
                f"{left}; Lambda refuses reservations below {MIN_UNRESERVED} unreserved",
                "remove reservedConcurrency from moderation:functions.*, or request a higher "
                f"concurrency quota (Service Quotas, {LAMBDA_CONCURRENCY_QUOTA[0]} "
                f"{LAMBDA_CONCURRENCY_QUOTA[1]})",
            )
        )
    else:
        results.append(
            Result(
                "lambda reserved concurrency", PASS, f"reserves {reserved}; {left} stay unreserved"
            )
        )
    if total < RECOMMENDED_CONCURRENCY:
        results.append(
            Result(
                "lambda concurrency quota",
                WARN,
                f"the account allows {total} concurrent executions: bursts will be throttled",
                "request at least 1000 in Service Quotas (lambda L-B99A9384); new accounts start low",
            )
        )
    else:
        results.append(Result("lambda concurrency quota", PASS, f"{total} concurrent executions"))
    return results


def _tiny_png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buf, "PNG")
    return buf.getvalue()


def check_rekognition(clients: Clients, region: str) -> Result:
    """An 8x8 image: an available API refuses it as invalid (not processed, not billed)."""
    try:
        clients("rekognition").detect_moderation_labels(Image={"Bytes": _tiny_png()})
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("InvalidParameterException", "InvalidImageFormatException"):
            return Result(
                "rekognition moderation", PASS, f"DetectModerationLabels answers in {region}"
            )
        if code in ("AccessDeniedException", "UnrecognizedClientException"):
            return Result(
                "rekognition moderation",
                WARN,
                f"could not probe it: {code} (the deploying identity needs no Rekognition access)",
                "run preflight with rekognition:DetectModerationLabels allowed to check the region",
            )
        return Result(
            "rekognition moderation",
            FAIL,
            f"{code}: {exc}",
            "deploy in a region with Rekognition moderation",
        )
    except BotoCoreError as exc:
        return Result(
            "rekognition moderation",
            FAIL,
            f"no Rekognition endpoint in {region}: {exc}",
            "deploy in a region that offers Rekognition content moderation (e.g. us-east-1, eu-west-1)",
        )
    return Result("rekognition moderation", PASS, f"DetectModerationLabels answers in {region}")


def check_cognito_domain(clients: Clients, settings: StackSettings, account: str) -> Result:
    prefix = settings.edge_auth.domain_prefix or default_domain_prefix(settings.prefix, account)
    found = (
        clients("cognito-idp").describe_user_pool_domain(Domain=prefix).get("DomainDescription")
        or {}
    )
    if not found:
        return Result("cognito domain prefix", PASS, f"{prefix!r} is free")
    pool = found.get("UserPoolId", "?")
    if pool.startswith(settings.prefix) or found.get("AWSAccountId") == account:
        return Result(
            "cognito domain prefix",
            WARN,
            f"{prefix!r} already belongs to pool {pool} in this account (this stack's, if redeploying)",
            "nothing, if that pool is this stack's; else set moderation:edgeAuth.domainPrefix",
        )
    return Result(
        "cognito domain prefix",
        FAIL,
        f"{prefix!r} is taken by another account's pool",
        "pulumi config set --path moderation:edgeAuth.domainPrefix <a free prefix>",
    )


def _quota(
    clients: Clients, service: str, match: Callable[[str], bool]
) -> tuple[str, float] | None:
    quotas = clients("service-quotas")
    kwargs: dict[str, Any] = {"ServiceCode": service}
    while True:
        page = quotas.list_service_quotas(**kwargs)
        for q in page.get("Quotas", []):
            if match(q["QuotaName"]):
                return q["QuotaName"], float(q["Value"])
        if not page.get("NextToken"):
            return None
        kwargs["NextToken"] = page["NextToken"]


def check_elasticache(clients: Clients, settings: StackSettings) -> Result:
    if settings.caching.node_type != "serverless":
        return Result("elasticache", PASS, "a node-based cache: no serverless quota involved")
    quota = _quota(
        clients, "elasticache", lambda n: "serverless" in n.lower() and "cache" in n.lower()
    )
    caches = clients("elasticache").describe_serverless_caches().get("ServerlessCaches", [])
    if quota is None:
        return Result(
            "elasticache",
            WARN,
            f"{len(caches)} serverless caches; quota not listed",
            "check the ElastiCache quotas in Service Quotas",
        )
    name, value = quota
    if len(caches) + 1 > value:
        return Result(
            "elasticache",
            FAIL,
            f"{len(caches)} of {value:.0f} ({name}) in use",
            f"request more '{name}' in Service Quotas",
        )
    return Result("elasticache", PASS, f"{len(caches)} of {value:.0f} serverless caches in use")


def check_emr(clients: Clients, settings: StackSettings) -> Result:
    quota = _quota(clients, "emr-serverless", lambda n: "vcpu" in n.lower())
    if quota is None:
        return Result(
            "emr serverless",
            WARN,
            "no vCPU quota listed",
            "check the EMR Serverless quotas in Service Quotas",
        )
    name, value = quota
    need = settings.analytics.max_vcpu
    if need > value:
        return Result(
            "emr serverless",
            FAIL,
            f"analytics.maxVcpu = {need} exceeds the account's {value:.0f} ({name})",
            f"lower moderation:analytics.maxVcpu or request more '{name}'",
        )
    return Result("emr serverless", PASS, f"maxVcpu {need} within {value:.0f} ({name})")


def run_checks(stack: str, config: dict[str, Any], clients: Clients, region: str) -> list[Result]:
    settings_result, settings = check_settings(stack, config)
    results = [settings_result]
    identity, account = check_identity(clients)
    results.append(identity)
    if settings is None or account is None:
        return results
    results += check_concurrency(clients, settings)
    results.append(check_rekognition(clients, region))
    if settings.edge_auth_enabled:
        results.append(check_cognito_domain(clients, settings, account))
    if settings.caching_enabled:
        results.append(check_elasticache(clients, settings))
    if settings.analytics_enabled:
        results.append(check_emr(clients, settings))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="the Pulumi stack (Pulumi.<stack>.yaml)")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--region", default=None)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    import boto3

    config = stack_config(args.stack)
    region = args.region or _stack_region(args.stack) or "us-east-1"
    session = boto3.Session(profile_name=args.profile, region_name=region)
    results = run_checks(args.stack, config, session.client, region)
    if args.json:
        print(json.dumps([r.__dict__ for r in results], indent=2))
    else:
        for r in results:
            print(r.line())
    return 1 if any(r.outcome == FAIL for r in results) else 0


def _stack_region(stack: str) -> str | None:
    raw = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text()).get("config") or {}
    region = raw.get("aws:region")
    return str(region) if region else None


if __name__ == "__main__":
    sys.exit(main())
