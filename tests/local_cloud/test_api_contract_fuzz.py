"""openapi.yaml, tested by an independent fuzzer against the local cloud's API over HTTP.

Schemathesis generates requests from the spec alone (valid ones, and invalid ones: wrong
types, missing or malformed parameters and bodies) for every operation and sends each
through the local gateway (JWT authorizer, routes, throttles) to the functions, as a
user, as a moderator, without a token and with a token nobody signed. Every response
must pass its conformance checks: no 5xx, a status code the operation documents, the
documented content type, headers and body schema. The authenticated calls also run its
`ignored_auth` check (a 2xx with a token must become a 401 without it).

Bounded for two cores: EXAMPLES cases per operation, four identities each (about
40 s on the shared local cloud, which starts once per session).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks as openapi_checks

from lambdas.common.contract import BANKS_ROUTES, NOTICE_ROUTE, STATEMENT_ROUTE
from local.tools import fixtures
from tests.support.paths import ROOT

pytestmark = pytest.mark.local_cloud

SCHEMA = schemathesis.openapi.from_path(ROOT / "openapi.yaml")
OPERATIONS = {op.ok().label: op.ok() for op in SCHEMA.get_all_operations()}
CONFORMANCE = [
    not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
]
EXAMPLES = 40
AUTHENTIC = ("user", "moderator")
MODERATORS = "moderators"  # review.moderatorGroup's default, which the test stack keeps
# Not a JWT the identity provider signed: the authorizer refuses it before any function.
UNSIGNED = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJtYWxsb3J5In0."
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture(scope="module")
def identities(local_cloud) -> dict[str, str | None]:
    return {
        "user": local_cloud.token("fuzz-user"),
        "moderator": local_cloud.token("fuzz-moderator", groups=[MODERATORS]),
        "anonymous": None,
        "unsigned": UNSIGNED,
    }


def bearer(token: str | None) -> dict[str, str] | None:
    return {"Authorization": f"Bearer {token}"} if token else None


def test_the_spec_has_the_operations_the_api_routes():
    assert set(OPERATIONS) == {
        "POST /jobs",
        "GET /jobs/{job_id}",
        "GET /reviews",
        "POST /jobs/{job_id}/review",
        "POST /reviews/claim",
        "POST /reviews/{job_id}/release",
        "POST /jobs/{job_id}/appeal",
        "POST /jobs/{job_id}/appeal/decision",
        "POST /jobs/{job_id}/qa",
        STATEMENT_ROUTE,
        NOTICE_ROUTE,
        *BANKS_ROUTES,
    }


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_every_response_conforms_to_the_spec(local_cloud, identities, label):
    operation = OPERATIONS[label]
    seen: Counter[tuple[str, int]] = Counter()
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @FUZZ
    @given(case=cases)
    def fuzz(case: Any) -> None:
        for who, token in identities.items():
            checks = CONFORMANCE + ([openapi_checks.ignored_auth] if who in AUTHENTIC else [])
            response = case.call_and_validate(
                base_url=local_cloud.api_url, headers=bearer(token), checks=checks
            )
            seen[who, response.status_code] += 1

    fuzz()
    # Without a verified token the gateway answers every request itself.
    for who in ("anonymous", "unsigned"):
        assert {status for (w, status) in seen if w == who} == {401}, seen
    # Signed-in callers reach the functions (their answers, not the authorizer's).
    for who in AUTHENTIC:
        assert any(w == who and status != 401 for (w, status) in seen), seen
    if label == "GET /reviews":
        assert seen["moderator", 200] > 0 and seen["user", 403] > 0, seen


def test_a_job_read_back_conforms_to_the_spec(local_cloud, identities):
    """The fuzzer's job ids are random (404); the 200 of a job that exists, checked too."""
    headers = {**(bearer(identities["user"]) or {}), "content-type": "image/png"}
    created = requests.post(
        f"{local_cloud.api_url}/jobs", data=fixtures.png(seed=11), headers=headers, timeout=60
    )
    assert created.status_code == 202, created.text
    job_id = json.loads(created.text)["job_id"]
    case = OPERATIONS["GET /jobs/{job_id}"].Case(path_parameters={"job_id": job_id})
    for who, status in (("user", 200), ("moderator", 404), ("anonymous", 401)):
        response = case.call_and_validate(
            base_url=local_cloud.api_url, headers=bearer(identities[who]), checks=CONFORMANCE
        )
        assert response.status_code == status, (who, response.text)
