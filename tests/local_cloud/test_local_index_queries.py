"""The local cloud's fast index queries answer exactly what moto's own would."""

import random

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models.table import Table

from local.moto_patches import index_queries
from local.moto_patches.index_queries import make_index_queries_fast

STATUSES = ("pending", "analyzing", "complete", "failed")


@pytest.fixture
def ddb():
    make_index_queries_fast()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="jobs",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "job_id", "AttributeType": "S"},
                {"AttributeName": "status", "AttributeType": "S"},
                {"AttributeName": "created_at", "AttributeType": "S"},
                {"AttributeName": "user_id", "AttributeType": "S"},
                {"AttributeName": "size", "AttributeType": "N"},
            ],
            KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "status-created",
                    "Projection": {"ProjectionType": "ALL"},
                    "KeySchema": [
                        {"AttributeName": "status", "KeyType": "HASH"},
                        {"AttributeName": "created_at", "KeyType": "RANGE"},
                    ],
                },
                {
                    "IndexName": "user-size",
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                    "KeySchema": [
                        {"AttributeName": "user_id", "KeyType": "HASH"},
                        {"AttributeName": "size", "KeyType": "RANGE"},
                    ],
                },
                {
                    "IndexName": "by-user",
                    "Projection": {"ProjectionType": "ALL"},
                    "KeySchema": [{"AttributeName": "user_id", "KeyType": "HASH"}],
                },
            ],
        )
        rng = random.Random(5)
        for i in range(600):
            item = {
                "job_id": {"S": f"j{i:04d}"},
                "status": {"S": rng.choice(STATUSES)},
                "user_id": {"S": f"u{rng.randrange(4)}"},
                "pad": {"S": "x" * rng.randrange(3000)},
            }
            if rng.random() > 0.1:  # some items are not in the status index
                item["created_at"] = {
                    "S": f"2026-11-26T{rng.randrange(24):02d}:{rng.randrange(60):02d}Z"
                }
            if rng.random() > 0.2:
                item["size"] = {"N": str(rng.randrange(-50, 5000))}
            client.put_item(TableName="jobs", Item=item)
        yield client


def every_page(client, **kwargs):
    pages = []
    while True:
        out = client.query(TableName="jobs", **kwargs)
        pages.append((out["Items"], out.get("LastEvaluatedKey"), out["Count"]))
        if "LastEvaluatedKey" not in out:
            return pages
        kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]


QUERIES = [
    {
        "IndexName": "status-created",
        "KeyConditionExpression": "#s = :s",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":s": {"S": "complete"}},
    },
    {
        "IndexName": "status-created",
        "KeyConditionExpression": "#s = :s AND created_at > :t",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":s": {"S": "failed"}, ":t": {"S": "2026-11-26T12:00Z"}},
        "ScanIndexForward": False,
        "Limit": 7,
    },
    {
        "IndexName": "status-created",
        "KeyConditionExpression": "#s = :s AND created_at BETWEEN :a AND :b",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {
            ":s": {"S": "pending"},
            ":a": {"S": "2026-11-26T03"},
            ":b": {"S": "2026-11-26T19"},
        },
    },
    {
        "IndexName": "status-created",
        "KeyConditionExpression": "#s = :s AND begins_with(created_at, :p)",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":s": {"S": "analyzing"}, ":p": {"S": "2026-11-26T1"}},
        "FilterExpression": "attribute_exists(user_id)",
    },
    {
        "IndexName": "user-size",
        "KeyConditionExpression": "user_id = :u AND #n <= :n",
        "ExpressionAttributeNames": {"#n": "size"},
        "ExpressionAttributeValues": {":u": {"S": "u1"}, ":n": {"N": "900"}},
        "Limit": 25,
    },
    {
        "IndexName": "status-created",
        "KeyConditionExpression": "#s = :s",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":s": {"S": "complete"}},
        "ScanIndexForward": False,
        "Limit": 20,
    },
    {
        "IndexName": "status-created",
        "KeyConditionExpression": "#s = :s AND created_at >= :t",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":s": {"S": "complete"}, ":t": {"S": "2026-11-26T06"}},
        "Limit": 3,
        "ProjectionExpression": "job_id, created_at",
    },
    {
        "IndexName": "by-user",
        "KeyConditionExpression": "user_id = :u",
        "ExpressionAttributeValues": {":u": {"S": "u2"}},
    },
    {
        "IndexName": "status-created",
        "KeyConditionExpression": "#s = :s AND created_at < :t",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":s": {"S": "nothing"}, ":t": {"S": "2027"}},
    },
]


@pytest.mark.parametrize("query", QUERIES, ids=range(len(QUERIES)))
def test_same_items_order_and_pages_as_moto(ddb, monkeypatch, query):
    used = []

    def spy(*args):
        subset = real_candidates(*args)
        used.append(subset is not None)
        return subset

    real_candidates = index_queries.candidates
    monkeypatch.setattr(index_queries, "candidates", spy)
    fast = every_page(ddb, **query)
    assert used and all(used), "the fast path answered"
    monkeypatch.setattr(Table, "query", Table.query.__wrapped__)
    reference = every_page(ddb, **query)
    assert fast == reference
    assert sum(p[2] for p in fast) > 0 or query["ExpressionAttributeValues"][":s"]["S"] == "nothing"


def test_a_query_on_another_attribute_gets_moto_s_own_error(ddb):
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError):
        ddb.query(
            TableName="jobs",
            IndexName="status-created",
            KeyConditionExpression="user_id = :u",
            ExpressionAttributeValues={":u": {"S": "u1"}},
        )


def test_a_write_is_seen_by_the_next_query(ddb):
    def complete_ids():
        return {
            i["job_id"]["S"]
            for p in every_page(
                ddb,
                IndexName="status-created",
                KeyConditionExpression="#s = :s",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":s": {"S": "complete"}},
            )
            for i in p[0]
        }

    before = complete_ids()
    ddb.put_item(
        TableName="jobs",
        Item={
            "job_id": {"S": "new"},
            "status": {"S": "complete"},
            "created_at": {"S": "2026-11-26T23:59Z"},
        },
    )
    moved = next(iter(before))
    ddb.update_item(
        TableName="jobs",
        Key={"job_id": {"S": moved}},
        UpdateExpression="SET #s = :f",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":f": {"S": "failed"}},
    )
    gone = sorted(before - {moved})[0]
    ddb.delete_item(TableName="jobs", Key={"job_id": {"S": gone}})
    assert complete_ids() == (before | {"new"}) - {moved, gone}


def test_a_page_after_a_start_key_whose_item_is_gone_matches_moto(ddb, monkeypatch):
    query = {
        "IndexName": "status-created",
        "KeyConditionExpression": "#s = :s",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":s": {"S": "complete"}},
        "Limit": 10,
    }
    first = ddb.query(TableName="jobs", **query)
    start = first["LastEvaluatedKey"]
    # the item the cursor points at leaves the partition before the next page is read
    ddb.update_item(
        TableName="jobs",
        Key={"job_id": start["job_id"]},
        UpdateExpression="SET #s = :f",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":f": {"S": "failed"}},
    )
    fast = ddb.query(TableName="jobs", ExclusiveStartKey=start, **query)
    monkeypatch.setattr(Table, "query", Table.query.__wrapped__)
    reference = ddb.query(TableName="jobs", ExclusiveStartKey=start, **query)
    assert fast["Items"] == reference["Items"] and len(fast["Items"]) == 10
    assert fast.get("LastEvaluatedKey") == reference.get("LastEvaluatedKey")
