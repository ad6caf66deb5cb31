"""The audit log on in-process moto: one writer, read newest first by day, and the review
API's verdicts in it; the dashboard's actions through the same writer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from common import audit
from dashboard.data import audit as audit_data
from tests.handlers.test_review import awaiting, verdict

NOW = datetime(2026, 12, 7, 19, 50, tzinfo=UTC)


def audit_table(stack) -> str:
    return stack.exports["audit_table"]


def test_entries_are_read_newest_first_across_days_and_bounded(stack):
    ddb, table = stack.client("dynamodb"), audit_table(stack)
    for n, at in enumerate([NOW - timedelta(days=1, hours=2), NOW - timedelta(hours=3), NOW]):
        audit.record(
            ddb, table, f"actor-{n}", audit.AuditAction.REDRIVE, [f"m-{n}"], at, "dashboard"
        )
    found = audit.recent(ddb, table, NOW, days=7)
    assert [e["actor"] for e in found] == ["actor-2", "actor-1", "actor-0"]
    assert found[0]["ids"] == ["m-2"] and found[0]["via"] == "dashboard"
    assert [e["actor"] for e in audit.recent(ddb, table, NOW, days=1)] == ["actor-2", "actor-1"]
    assert len(audit.recent(ddb, table, NOW, days=7, limit=2)) == 2


def test_an_entry_names_every_id_up_to_a_bound_and_all_when_unnamed(stack):
    ddb, table = stack.client("dynamodb"), audit_table(stack)
    many = [f"id-{i}" for i in range(audit.MAX_IDS + 5)]
    audit.record(ddb, table, "op", audit.AuditAction.DELETE, many, NOW, "dashboard")
    audit.record(
        ddb, table, "op", audit.AuditAction.REDRIVE, None, NOW, "dashboard", {"queue": "dlq"}
    )
    entries = audit.recent(ddb, table, NOW, days=1)
    (redrive,) = [e for e in entries if e["action"] == "redrive"]
    (delete,) = [e for e in entries if e["action"] == "delete"]
    assert (
        redrive["all"] is True and redrive["ids"] == [] and redrive["details"] == {"queue": "dlq"}
    )
    assert delete["id_count"] == audit.MAX_IDS + 5 and len(delete["ids"]) == audit.MAX_IDS


def test_an_entry_is_never_overwritten(stack):
    ddb, table = stack.client("dynamodb"), audit_table(stack)
    item = audit.record(ddb, table, "op", audit.AuditAction.DELETE, ["m"], NOW, "dashboard")
    with pytest.raises(ClientError) as err:
        ddb.put_item(
            TableName=table,
            Item={"day": {"S": item["day"]}, "entry": {"S": item["entry"]}, "actor": {"S": "x"}},
            ConditionExpression="attribute_not_exists(#e)",
            ExpressionAttributeNames={"#e": "entry"},
        )
    assert err.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    with pytest.raises(ValueError):
        audit.entry("", audit.AuditAction.DELETE, ["m"], NOW, "dashboard")


def test_a_verdict_through_the_api_is_in_the_audit_log(stack):
    (job_id,) = awaiting(stack)
    status, body = verdict(stack, job_id, "reject", "policy 4.2", user="mod-7")
    assert status == 200, body
    entries = audit.recent(stack.client("dynamodb"), audit_table(stack), datetime.now(UTC), days=1)
    mine = [e for e in entries if e["ids"] == [job_id]]
    assert len(mine) == 1, entries
    (entry,) = mine
    assert (entry["actor"], entry["action"], entry["via"]) == ("mod-7", "verdict", "api")
    assert entry["details"]["decision"] == "reject"
    assert "policy 4.2" not in str(entry), "the note stays with the job"


def test_a_refused_verdict_is_not_audited(stack):
    (job_id,) = awaiting(stack)
    assert verdict(stack, job_id, "approve", user="mod-1")[0] == 200
    assert verdict(stack, job_id, "reject", user="mod-2")[0] == 409
    entries = audit.recent(stack.client("dynamodb"), audit_table(stack), datetime.now(UTC), days=1)
    assert [e["actor"] for e in entries if e["ids"] == [job_id]] == ["mod-1"]


def test_the_dashboard_writes_through_the_same_writer_and_reads_a_table(stack):
    ddb = stack.client("dynamodb")
    outputs = {"audit_table": audit_table(stack)}
    assert audit_data.record(
        ddb, outputs, "local:alice", audit.AuditAction.DELETE, ["m-1", "m-2"], NOW
    )
    assert not audit_data.record(ddb, {}, "local:alice", audit.AuditAction.DELETE, ["m"], NOW)
    frame = audit_data.recent(ddb, audit_table(stack), NOW, 1, 100)
    row = frame.iloc[0]
    assert (row["actor"], row["action"], row["via"], row["ids"]) == (
        "local:alice",
        "delete",
        "dashboard",
        "m-1, m-2",
    )


def test_signed_in_preferences_live_beside_the_log_and_never_in_its_reads(stack):
    from dashboard.data.wellbeing import Preferences, TablePreferences

    ddb, table = stack.client("dynamodb"), audit_table(stack)
    prefs = TablePreferences(ddb, table)
    assert prefs.get("sub-1").shield_images is True, "the default protects"
    prefs.put("sub-1", Preferences(shield_images=False))
    assert prefs.get("sub-1").shield_images is False
    assert prefs.get("sub-2").shield_images is True
    assert audit.recent(ddb, table, NOW, days=90) == []


def test_the_banks_api_audits_each_change_it_made_and_no_read_or_refusal(stack):
    import json

    from tests.support.inprocess import api_event

    def banks(method, route, bank, body=None, groups="[operators]"):
        event = api_event(
            method,
            route.split(" ", 1)[1].replace("{bank}", bank),
            user="op-7",
            body=json.dumps(body) if body is not None else None,
            claims={"cognito:groups": groups},
            path_params={"bank": bank},
            route_key=route,
        )
        return stack.invoke("banks", event)["statusCode"]

    assert banks("PUT", "PUT /banks/{bank}", "known-bad", {"action": "reject"}) == 200
    assert banks("GET", "GET /banks/{bank}/entries", "known-bad") == 200
    refused = banks("PUT", "PUT /banks/{bank}", "other", {"action": "reject"}, "[moderators]")
    assert refused == 403
    entries = audit.recent(stack.client("dynamodb"), audit_table(stack), datetime.now(UTC), 1)
    changes = [e for e in entries if e["action"] == audit.AuditAction.BANK_CHANGE]
    assert [(e["actor"], e["ids"], e["via"]) for e in changes] == [
        ("op-7", ["known-bad"], audit.VIA_API)
    ]
    assert changes[0]["details"]["route"] == "PUT /banks/{bank}"
