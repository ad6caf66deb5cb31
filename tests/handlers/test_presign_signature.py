"""Every URL the program presigns is Signature Version 4, in every region the docs name.

S3 refuses SigV2 for buckets created since June 2020, and botocore presigns with SigV2
in us-east-1 and the other regions that launched before 2014 unless the client asks for
`s3v4`. The presigned PUT of a large upload and the review queue's image URLs run here
through their handlers, in a stack built in each region; a new call site that presigns
must be listed (and exercised) here.
"""

from __future__ import annotations

import ast
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from moto import mock_aws

from common import analysis, jobs
from common.decision import Rules
from common.timeutil import utcnow
from local.tools import fixtures
from tests.support.helpers import accept
from tests.support.inprocess import api_event, build_stack
from tests.support.paths import ROOT

_REGION = re.compile(r"\b(?:us|eu|ap|sa|ca|me|af|il|mx)-(?:gov-)?[a-z]+-\d\b")
# Where a region a stack may run in is named: the docs, the example stack, the settings.
_NAMED_IN = [
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted(ROOT.glob("Pulumi*.yaml")),
    *sorted((ROOT / "components" / "settings").glob("*.py")),
]
# The regions in which botocore still presigns with SigV2 by default (those S3 served
# before SigV4-only regions began in 2014): each must be covered whatever the docs say.
SIGV2_DEFAULT_REGIONS = {
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "sa-east-1",
}


def named_regions() -> set[str]:
    found: set[str] = set()
    for path in _NAMED_IN:
        found |= set(_REGION.findall(path.read_text()))
    return found


REGIONS = sorted(named_regions() | SIGV2_DEFAULT_REGIONS)
RULES = Rules(min_confidence=50, reject_threshold=90, unsafe_categories=("Violence",))
MODERATE = {
    "labels": [{"name": "Violence", "confidence": 72.0, "parent": "", "top_level": "Violence"}],
    "model_version": "7.0",
}


def assert_sigv4(url: str, region: str) -> None:
    query = parse_qs(urlsplit(url).query)
    assert query.get("X-Amz-Algorithm") == ["AWS4-HMAC-SHA256"], url
    assert "X-Amz-Signature" in query, url
    credential = query["X-Amz-Credential"][0]
    assert credential.split("/")[2:4] == [region, "s3"], credential
    assert not {"AWSAccessKeyId", "Signature", "Expires"} & set(query), url


def test_the_docs_name_regions_and_the_deploy_region_is_among_them():
    named = named_regions()
    assert "us-east-1" in named and len(named) >= 2, named


@pytest.mark.parametrize("region", REGIONS)
def test_every_presigned_url_is_sigv4(region):
    with mock_aws():
        stack = build_stack(region=region)
        # The large-upload path: POST /jobs with a JSON body answers a presigned PUT.
        body = json.dumps({"content_type": "image/jpeg", "size_bytes": 6 * 1024 * 1024})
        resp = stack.invoke(
            "upload",
            api_event("POST", "/jobs", body=body, headers={"content-type": "application/json"}),
        )
        assert resp["statusCode"] == 202, resp
        assert_sigv4(json.loads(resp["body"])["upload"]["url"], region)

        # The review queue: each item carries a presigned GET of its original.
        job_id = accept(stack, fixtures.png(seed=5))
        ddb, table = stack.client("dynamodb"), stack.exports["jobs_table"]
        jobs.claim_for_analysis(ddb, table, job_id, utcnow(), 30)
        for branch, result in (("custom", {"signals": []}), ("rekognition", MODERATE)):
            analysis.complete_branch(ddb, table, job_id, branch, result, RULES, utcnow)
        resp = stack.invoke(
            "review",
            api_event("GET", "/reviews", claims={"cognito:groups": "[moderators]"}),
        )
        assert resp["statusCode"] == 200, resp
        (item,) = json.loads(resp["body"])["items"]
        assert_sigv4(item["image_url"], region)


def _presign_call_sites() -> list[tuple[str, str]]:
    """(file, receiver) of every presigning call in the program's own code."""
    sites = []
    for folder in ("lambdas", "components", "dashboard", "local", "bench", "analytics"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("generate_presigned_url", "generate_presigned_post")
                ):
                    rel = str(path.relative_to(ROOT))
                    sites.append((rel, ast.unparse(node.func.value)))
    return sites


def test_every_presigning_call_goes_through_the_sigv4_presigner():
    """A new presign path fails here until it signs with `s3_presigner` and is run above."""
    assert sorted(_presign_call_sites()) == [
        ("lambdas/common/uploads.py", "deps.presigner"),
        ("lambdas/review/handler.py", "s3_presigner()"),
    ]
