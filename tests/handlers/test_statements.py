"""Statements of reasons on in-process moto: the notifier writes them once, the owner reads them.

Jobs are decided the way the pipeline decides them (claim, both analyzers, the finalize
write); the notifier runs over the jobs table's real stream records; every statement it
stores is checked with the Transparency Database's rules (lambdas/common/dsa_rules.py).
"""

from __future__ import annotations

import json
import uuid

from common import analysis, dsa_rules, jobs
from common.contract import STATEMENT_ROUTE
from common.decision import Rules
from common.timeutil import utcnow
from tests.support.helpers import job, put_job
from tests.support.inprocess import api_event, stream_records

RULES = Rules(min_confidence=50, reject_threshold=90, unsafe_categories=("Violence", "Explicit"))
EXPLICIT = {
    "labels": [
        {"name": "Explicit Nudity", "confidence": 97.0, "parent": "", "top_level": "Explicit"}
    ],
    "model_version": "7.0",
}
CLEAN_REK = {"labels": []}
CLEAN = {"signals": [], "scores": {"contrast": 0.4}}
READ = {"signals": [], "text": "call me on +44 20 7946 0958 tonight", "lines": []}


def decided(stack, rekognition, user="owner-1", text=None) -> str:
    job_id = str(uuid.uuid4())
    put_job(stack, job_id, "pending", utcnow(), user_id=user)
    ddb = stack.client("dynamodb")
    table = stack.exports["jobs_table"]
    jobs.claim_for_analysis(ddb, table, job_id, utcnow(), 30)
    branches = [("custom", CLEAN), ("rekognition", rekognition)]
    if text is not None:
        branches.insert(0, ("text", text))
    for branch, result in branches:
        analysis.complete_branch(ddb, table, job_id, branch, result, RULES, utcnow)
    return job_id


def stored(stack) -> list[dict]:
    out = stack.client("dynamodb").scan(TableName=stack.exports["statements_table"])
    return [jobs.deserialize(i) for i in out["Items"]]


def statement_request(stack, job_id, user):
    event = api_event(
        "GET",
        f"/jobs/{job_id}/statement",
        user=user,
        path_params={"job_id": job_id},
        route_key=STATEMENT_ROUTE,
    )
    out = stack.invoke("status", event)
    return out["statusCode"], json.loads(out["body"])


def test_a_reject_gets_one_valid_statement_and_a_replay_writes_no_other(stack):
    rejected = decided(stack, EXPLICIT)
    approved = decided(stack, CLEAN_REK)
    assert job(stack, rejected)["decision"] == "reject"
    assert job(stack, approved)["decision"] == "approve"
    records = stream_records(stack)
    assert stack.invoke("notifier", {"Records": records}) == {"batchItemFailures": []}
    items = stored(stack)
    assert [i["puid"] for i in items] == [rejected]
    statement = items[0]["statement"]
    assert dsa_rules.validate(statement, strict=True) == []
    assert statement["automated_decision"] == "AUTOMATED_DECISION_FULLY"
    assert statement["source_type"] == "SOURCE_VOLUNTARY"
    assert "owner-1" not in json.dumps(items[0])
    # The stream batch retried whole: the statement is already there, nothing else is written.
    assert stack.invoke("notifier", {"Records": records}) == {"batchItemFailures": []}
    assert len(stored(stack)) == 1


def test_the_owner_reads_the_statement_with_redress_and_no_one_else_does(stack):
    rejected = decided(stack, EXPLICIT, text=READ)
    approved = decided(stack, CLEAN_REK)
    assert "7946" in job(stack, rejected)["text_result"]["text"]
    stack.invoke("notifier", {"Records": stream_records(stack)})
    status, body = statement_request(stack, rejected, "owner-1")
    assert status == 200
    assert body["statement"]["puid"] == rejected
    assert dsa_rules.validate(body["statement"], strict=True) == []
    assert "7946" not in json.dumps(body)  # the text read stays on the job record
    assert body["redress"]["out_of_court"] and body["redress"]["judicial"]
    # The stack's own appeal route and window (moderation:appeals.windowDays).
    assert body["redress"]["appeal"] == {
        "route": f"POST /jobs/{rejected}/appeal",
        "window_days": 14,
    }
    assert statement_request(stack, rejected, "someone-else") == (
        404,
        {"error": "not_found", "message": "no such job"},
    )
    status, body = statement_request(stack, approved, "owner-1")
    assert (status, body["error"]) == (404, "no_statement")
    status, body = statement_request(stack, "not-a-uuid", "owner-1")
    assert (status, body["error"]) == (404, "not_found")


def test_operators_export_a_period_as_json_lines(stack, tmp_path, capsys):
    from datetime import date, timedelta

    from scripts import export_statements

    rejected = decided(stack, EXPLICIT)
    stack.invoke("notifier", {"Records": stream_records(stack)})
    today = date.fromisoformat(stored(stack)[0]["day"])
    out = tmp_path / "statements.jsonl"
    table = ["--table", stack.exports["statements_table"]]
    args = [*table, "--from", str(today), "--to"]
    assert export_statements.main([*args, str(today), "--out", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["puid"] for line in lines] == [rejected]
    assert dsa_rules.validate(lines[0]["statement"], strict=True) == []
    earlier = str(today - timedelta(days=3))
    assert (
        export_statements.main([*table, "--from", earlier, "--to", earlier, "--out", str(out)]) == 0
    )
    assert out.read_text() == ""
