"""Preflight against moto: the account checks a first `pulumi up` depends on.

STS, Cognito and the IAM side come from moto. moto does not implement Lambda's
GetAccountSettings, Service Quotas for Lambda, ElastiCache or EMR Serverless,
ElastiCache's DescribeServerlessCaches or Rekognition's DetectModerationLabels; for those
the tests answer with botocore's Stubber in the shapes AWS documents.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from moto import mock_aws

from scripts import preflight
from tests.support.config import BASE_CONFIG

REAL_ISSUER = {
    "jwtIssuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ab12Cd34E",
    "jwtAudience": "4h2kq9app1client2id3",
    "dependencyLayer": "build",
}


class Account:
    """Clients for preflight: moto where it answers, stubs where moto has nothing."""

    def __init__(self, concurrency: int = 1000, unreserved: int = 1000, quotas=None, caches=0):
        self.moto = {}
        self.stubbed = {}
        lam = boto3.client("lambda", region_name="us-east-1")
        stub = Stubber(lam)
        stub.add_response(
            "get_account_settings",
            {
                "AccountLimit": {
                    "ConcurrentExecutions": concurrency,
                    "UnreservedConcurrentExecutions": unreserved,
                    "TotalCodeSize": 80530636800,
                    "CodeSizeUnzipped": 262144000,
                    "CodeSizeZipped": 52428800,
                },
                "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": 0},
            },
        )
        stub.activate()
        self.stubbed["lambda"] = (lam, stub)
        self.rekognition_error = "InvalidParameterException"
        self.quotas = quotas or {}
        self.caches = caches

    def __call__(self, service: str):
        if service in self.stubbed:
            return self.stubbed[service][0]
        if service == "rekognition":
            return self._rekognition()
        if service == "service-quotas":
            if "service-quotas" not in self.moto:
                self.moto["service-quotas"] = self._quotas()  # answers in the checks' order
            return self.moto["service-quotas"]
        if service == "elasticache":
            return self._elasticache()
        return self.moto.setdefault(service, boto3.client(service, region_name="us-east-1"))

    def _rekognition(self):
        client = boto3.client("rekognition", region_name="us-east-1")
        stub = Stubber(client)
        if self.rekognition_error == "endpoint":

            def refuse(**_):
                raise EndpointConnectionError(
                    endpoint_url="https://rekognition.xx-none-1.amazonaws.com"
                )

            client.detect_moderation_labels = refuse
            return client
        stub.add_client_error(
            "detect_moderation_labels", self.rekognition_error, "Request has invalid image format"
        )
        stub.activate()
        return client

    def _quotas(self):
        client = boto3.client("service-quotas", region_name="us-east-1")
        stub = Stubber(client)
        for service, (name, value) in self.quotas.items():
            stub.add_response(
                "list_service_quotas",
                {
                    "Quotas": [
                        {
                            "ServiceCode": service,
                            "QuotaName": name,
                            "QuotaCode": "L-1",
                            "Value": value,
                        }
                    ]
                },
                {"ServiceCode": service},
            )
        stub.activate()
        return client

    def _elasticache(self):
        client = boto3.client("elasticache", region_name="us-east-1")
        stub = Stubber(client)
        stub.add_response(
            "describe_serverless_caches",
            {"ServerlessCaches": [{"ServerlessCacheName": f"c{i}"} for i in range(self.caches)]},
        )
        stub.activate()
        return client


def outcomes(results) -> dict[str, str]:
    return {r.check: r.outcome for r in results}


@pytest.fixture
def aws():
    with mock_aws():
        yield


def test_a_default_stack_on_a_healthy_account_passes(aws):
    results = preflight.run_checks("dev", {**BASE_CONFIG, **REAL_ISSUER}, Account(), "us-east-1")
    assert set(outcomes(results).values()) == {"pass"}, [r.line() for r in results]
    assert "account 123456789012" in results[1].detail


def test_a_reservation_that_leaves_under_100_unreserved_fails_with_the_fix(aws):
    config = {**BASE_CONFIG, **REAL_ISSUER, "functions": {"sweeper": {"reservedConcurrency": 1}}}
    results = preflight.run_checks(
        "dev", config, Account(concurrency=100, unreserved=100), "us-east-1"
    )
    failed = [r for r in results if r.check == "lambda reserved concurrency"][0]
    assert failed.outcome == "fail" and "leaving 99" in failed.detail
    assert "reservedConcurrency" in failed.fix


def test_a_new_accounts_low_concurrency_quota_is_a_warning(aws):
    results = preflight.run_checks(
        "dev", {**BASE_CONFIG, **REAL_ISSUER}, Account(concurrency=10, unreserved=10), "us-east-1"
    )
    assert outcomes(results)["lambda concurrency quota"] == "warn"


def test_a_region_without_rekognition_fails(aws):
    account = Account()
    account.rekognition_error = "endpoint"
    results = preflight.run_checks("dev", {**BASE_CONFIG, **REAL_ISSUER}, account, "xx-none-1")
    assert outcomes(results)["rekognition moderation"] == "fail"


def test_settings_and_stack_name_problems_fail_before_any_call(aws):
    results = preflight.run_checks(
        "Dev_Stack", {**BASE_CONFIG, **REAL_ISSUER}, Account(), "us-east-1"
    )
    assert results[0].outcome == "fail" and "lowercase letters" in results[0].detail
    placeholder = preflight.run_checks(
        "dev",
        BASE_CONFIG
        | {"jwtIssuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE"},
        Account(),
        "us-east-1",
    )
    assert placeholder[0].outcome == "fail"


def test_the_cognito_domain_prefix_must_be_free(aws, tmp_path):
    import json

    from tests.support.edge import SigningKey

    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [SigningKey("pf").jwk()]}))
    config = {
        **BASE_CONFIG,
        "edgeAuthEnabled": True,
        "edgeAuth": {"jwksFile": str(jwks), "domainPrefix": "moderation-login"},
    }
    free = preflight.run_checks("dev", config, Account(), "us-east-1")
    assert outcomes(free)["cognito domain prefix"] == "pass"
    idp = boto3.client("cognito-idp", region_name="us-east-1")
    pool = idp.create_user_pool(PoolName="someone-elses")["UserPool"]["Id"]
    idp.create_user_pool_domain(Domain="moderation-login", UserPoolId=pool)
    taken = preflight.run_checks("dev", config, Account(), "us-east-1")
    result = [r for r in taken if r.check == "cognito domain prefix"][0]
    assert result.outcome in ("warn", "fail") and "moderation-login" in result.detail


def test_optional_components_check_their_quotas(aws):
    config = {**BASE_CONFIG, **REAL_ISSUER, "cachingEnabled": True, "analyticsEnabled": True}
    quotas = {
        "elasticache": ("Serverless caches per Region", 2.0),
        "emr-serverless": ("Max concurrent vCPUs per account", 8.0),
    }
    results = preflight.run_checks("dev", config, Account(quotas=quotas, caches=2), "us-east-1")
    assert outcomes(results)["elasticache"] == "fail"
    emr = [r for r in results if r.check == "emr serverless"][0]
    assert emr.outcome == "fail" and "maxVcpu = 16" in emr.detail
