"""The Banks page's data layer on in-process moto: banks, quarantine, CSV, a job's image."""

from __future__ import annotations

from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from dashboard.data import banks as banks_data
from lambdas.common import banks
from lambdas.common.banks import BankError
from lambdas.common.originals import original_key
from local.tools.safe_images import encoded, grace_hopper


@pytest.fixture
def target():
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="t-banks",
            KeySchema=[
                {"AttributeName": "bank", "KeyType": "HASH"},
                {"AttributeName": "entry_id", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "bank", "AttributeType": "S"},
                {"AttributeName": "entry_id", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="uploads")
        yield SimpleNamespace(
            outputs={"banks_table": "t-banks", "upload_bucket": "uploads"},
            endpoint_url=None,
            region="us-east-1",
            profile=None,
            s3=s3,
        )


def test_an_operator_saves_a_bank_adds_a_job_and_re_enables_a_quarantined_entry(target):
    table = banks_data.table_of(target)
    banks_data.save_bank(table, "bad", "reject", 31, 8, True, "op")
    with pytest.raises(BankError):
        banks_data.save_bank(table, "bad", "nuke", 31, 8, True, "op")
    target.s3.put_object(Bucket="uploads", Key=original_key("j1"), Body=encoded(grace_hopper()))
    entry = banks_data.add_job(table, target.s3, "uploads", "bad", "j1", "seen", "op")
    assert entry["source"] == "job:j1" and len(entry["pdq"]) == 64
    with pytest.raises(BankError):
        banks_data.add_job(table, target.s3, "uploads", "nope", "j1", "", "op")
    frame = banks_data.banks_frame(table)
    assert frame.to_dict("records") == [
        {
            "bank": "bad",
            "action": "reject",
            "enabled": True,
            "pdq": 31,
            "dhash": 8,
            "entries": 1,
            "quarantined": 0,
        }
    ]
    table.update_item(
        Key={"bank": "bad", "entry_id": entry["entry_id"]},
        UpdateExpression="SET enabled = :f, quarantined_at = :t",
        ExpressionAttributeValues={":f": False, ":t": "2026-01-01T00:00:00+00:00"},
    )
    assert banks_data.quarantined(table).to_dict("records") == [
        {"bank": "bad", "entry_id": entry["entry_id"]}
    ]
    assert banks_data.set_entry(table, "bad", entry["entry_id"], True, "op")
    assert banks_data.quarantined(table).empty


def test_export_then_import_round_trips(target):
    table = banks_data.table_of(target)
    banks_data.save_bank(table, "a", "reject", 31, 8, True, "op")
    banks_data.save_bank(table, "b", "review", 31, 8, True, "op")
    hashes = [f"{i:064x}" for i in range(1, 4)]
    assert banks_data.import_csv(table, "a", "\n".join(hashes), "pdq", "partner", "op") == 3
    text = banks_data.export_csv(table, "a")
    assert banks_data.import_csv(table, "b", text, "pdq", "copy", "op") == 3
    entries, more = banks_data.entries_frame(table, "b")
    assert not more and sorted(entries["pdq"]) == hashes
    assert all(s.startswith("copy:") for s in entries["source"])
    assert banks.load_banks(table)[1].size == 3
