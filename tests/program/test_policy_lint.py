"""Every IAM policy the program declares, linted with parliament (offline, its bundled IAM data).

Identity policies (the functions' and service roles' inline policies), trust policies,
and resource policies (bucket, topic, key, VPC endpoint policies) of a default stack and
of one with every optional component. Each statement is linted on its own so a finding
names its policy and Sid; a finding fails the test unless ALLOWED lists it with a reason
(parliament's own ignore list does not match anything in 1.6.4). Trust policies have no
Resource, which parliament calls malformed: they are linted with `Resource: "*"` and the
RESOURCE_STAR that adds is dropped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest
from parliament import analyze_policy_string, enhance_finding

from tests.support.program import ProgramRun, run_program


@dataclass(frozen=True)
class Accepted:
    issue: str
    where: str  # regex over "<policy>#<Sid>"
    reason: str


ALLOWED = (
    Accepted(
        "RESOURCE_STAR",
        r".*-policy#(VpcNetworking)",
        "ENI management for a VPC function has no resource-level permissions: AWS requires *",
    ),
    Accepted(
        "RESOURCE_STAR",
        r"moderation-alarms-key#(AccountAdmin|CloudWatchAlarms)",
        "a key policy's Resource is the key itself; AWS requires it written as *",
    ),
    Accepted(
        "RESOURCE_MISMATCH",
        r"(moderation-notifier|analytics-exporter)-policy#ReadStream",
        "dynamodb:ListStreams takes no resource, but Lambda refuses to create a stream event "
        "source mapping unless the role may ListStreams on that stream: it stays scoped to it",
    ),
)


def policy_documents(run: ProgramRun) -> dict[str, dict]:
    """{name: policy document} of every IAM policy the program declares."""
    docs: dict[str, dict] = {}
    for typ, field in (
        ("aws:iam/rolePolicy:RolePolicy", "policy"),
        ("aws:s3/bucketPolicy:BucketPolicy", "policy"),
        ("aws:sns/topicPolicy:TopicPolicy", "policy"),
        ("aws:sqs/queuePolicy:QueuePolicy", "policy"),
        ("aws:kms/key:Key", "policy"),
        ("aws:ec2/vpcEndpoint:VpcEndpoint", "policy"),
    ):
        for r in run.of_type(typ):
            if r.inputs.get(field):
                docs[r.name] = json.loads(r.inputs[field])
    for role in run.of_type("aws:iam/role:Role"):
        docs[f"{role.name} (trust)"] = json.loads(role.inputs["assumeRolePolicy"])
    return docs


def findings(name: str, doc: dict) -> list[tuple[str, str, str]]:
    """(issue, "<policy>#<Sid>", detail) of every finding, statement by statement."""
    trust = name.endswith("(trust)")
    out = []
    statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
    for i, stmt in enumerate(statements):
        linted = {**stmt, "Resource": "*"} if trust and "Resource" not in stmt else stmt
        where = f"{name}#{stmt.get('Sid', i)}"
        text = json.dumps({"Version": "2012-10-17", "Statement": [linted]})
        for f in analyze_policy_string(text, filepath=where).findings:
            f = enhance_finding(f)
            if trust and f.issue == "RESOURCE_STAR":
                continue
            out.append((f.issue, where, f"{f.title}: {f.detail}"))
    return out


def accepted(issue: str, where: str) -> bool:
    return any(a.issue == issue and re.fullmatch(a.where, where) for a in ALLOWED)


@pytest.fixture(scope="module", params=["default", "every-component"])
def run(request, tmp_path_factory) -> ProgramRun:
    if request.param == "default":
        return run_program()
    from tests.support.edge import SigningKey

    jwks = tmp_path_factory.mktemp("lint-jwks") / "jwks.json"
    jwks.write_text(json.dumps({"keys": [SigningKey("lint").jwk()]}))
    return run_program(
        {
            "cachingEnabled": True,
            "analyticsEnabled": True,
            "edgeAuthEnabled": True,
            "edgeAuth": {"jwksFile": str(jwks)},
        }
    )


def test_every_declared_policy_passes_the_linter_or_is_accepted_with_a_reason(run):
    docs = policy_documents(run)
    assert any(n.endswith("(trust)") for n in docs) and any("-policy" in n for n in docs)
    reported = [
        f"{issue} at {where}: {detail}"
        for name, doc in docs.items()
        for issue, where, detail in findings(name, doc)
        if not accepted(issue, where)
    ]
    assert not reported, "\n".join(reported)


def test_the_linter_would_catch_a_wrong_policy():
    """The check is not vacuous: a wildcard, a typo and a mismatched resource are found."""
    bad = {
        "Statement": [
            {
                "Sid": "Typo",
                "Effect": "Allow",
                "Action": "s3:GetObjects",
                "Resource": "arn:aws:s3:::b/*",
            },
            {"Sid": "Star", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"},
            {
                "Sid": "Mismatch",
                "Effect": "Allow",
                "Action": "dynamodb:PutItem",
                "Resource": "arn:aws:s3:::b/*",
            },
        ]
    }
    issues = {issue for issue, _, _ in findings("bad-policy", bad)}
    assert {"UNKNOWN_ACTION", "RESOURCE_STAR", "RESOURCE_MISMATCH"} <= issues


def test_every_allowance_is_still_needed():
    """An allowance that no longer matches a finding is removed rather than kept around."""
    docs = {}
    for config in ({}, {"cachingEnabled": True, "analyticsEnabled": True}):
        docs.update(policy_documents(run_program(config)))
    found = {
        (issue, where) for name, doc in docs.items() for issue, where, _ in findings(name, doc)
    }
    for allowance in ALLOWED:
        assert any(
            issue == allowance.issue and re.fullmatch(allowance.where, where)
            for issue, where in found
        ), allowance
