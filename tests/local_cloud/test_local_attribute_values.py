"""DynamoDB responses with copied AttributeValues are byte for byte what moto's serializer writes."""

import base64
import random

import boto3
import pytest
from moto import mock_aws
from moto.core.serialize import BaseJSONSerializer

from local.moto_patches import attribute_values
from local.moto_patches.attribute_values import make_attribute_values_fast, wire_copy


def attribute(rng: random.Random, depth: int = 0):
    kinds = ["S", "N", "BOOL", "NULL", "SS", "NS", "B", "BS"] + (
        ["M", "L"] * 2 if depth < 3 else []
    )
    kind = rng.choice(kinds)
    if kind == "S":
        return {"S": rng.choice(["", "x", "é ✓ 🙂", "a" * rng.randrange(50), "12"])}
    if kind == "N":
        return {"N": rng.choice(["0", "-1.5", "1e10", "3.14159", str(rng.randrange(10**12))])}
    if kind == "BOOL":
        return {"BOOL": rng.random() < 0.5}
    if kind == "NULL":
        return {"NULL": True}
    if kind == "SS":
        return {"SS": sorted({f"s{rng.randrange(9)}" for _ in range(3)})}
    if kind == "NS":
        return {"NS": sorted({str(rng.randrange(99)) for _ in range(3)})}
    if kind == "B":
        return {"B": bytes(rng.randrange(256) for _ in range(8))}
    if kind == "BS":
        return {"BS": [bytes([i, rng.randrange(256)]) for i in range(2)]}
    if kind == "M":
        return {"M": {f"k{i}": attribute(rng, depth + 1) for i in range(rng.randrange(4))}}
    return {"L": [attribute(rng, depth + 1) for _ in range(rng.randrange(4))]}


@pytest.fixture
def ddb():
    make_attribute_values_fast()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "id", "AttributeType": "S"},
                {"AttributeName": "g", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-g",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        rng = random.Random(3)
        for i in range(60):
            item = {"id": {"S": f"i{i}"}, "g": {"S": "all"}}
            item.update({f"a{n}": attribute(rng) for n in range(rng.randrange(1, 8))})
            client.put_item(TableName="t", Item=item)
        yield client


def bodies(client, calls) -> list[bytes]:
    captured: list[bytes] = []

    def keep(response_dict, **_):
        captured.append(response_dict["body"])

    client.meta.events.register("before-parse.dynamodb.*", keep)
    try:
        for call in calls:
            call()
    finally:
        client.meta.events.unregister("before-parse.dynamodb.*", keep)
    return captured


def test_responses_are_the_bytes_moto_s_serializer_writes(ddb, monkeypatch):
    copied = []

    def counting(value):
        out = wire_copy(value)
        copied.append(out is not None)
        return out

    monkeypatch.setattr(attribute_values, "wire_copy", counting)
    calls = [
        lambda: ddb.scan(TableName="t"),
        lambda: ddb.query(
            TableName="t",
            IndexName="by-g",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "all"}},
        ),
        lambda: ddb.get_item(TableName="t", Key={"id": {"S": "i7"}}),
        lambda: ddb.batch_get_item(
            RequestItems={"t": {"Keys": [{"id": {"S": f"i{n}"}} for n in range(0, 60, 7)]}}
        ),
    ]
    fast = bodies(ddb, calls)
    assert sum(copied) > 200 and not all(copied), "both paths were taken"
    patched = BaseJSONSerializer._serialize_type_structure
    monkeypatch.setattr(BaseJSONSerializer, "_serialize_type_structure", patched.__wrapped__)
    reference = bodies(ddb, calls)
    assert len(fast) == len(reference) == len(calls)
    for got, want in zip(fast, reference, strict=True):
        assert got == want


def test_binary_and_unexpected_values_take_moto_s_own_path():
    assert wire_copy({"B": b"x"}) is None
    assert wire_copy({"M": {"a": {"BS": [b"x"]}}}) is None
    assert wire_copy({"L": [{"S": "a"}, {"B": base64.b64encode(b"x")}]}) is None
    assert wire_copy({"S": 5}) is None and wire_copy({"S": "a", "N": "1"}) is None
    assert wire_copy({"M": {"a": {"L": [{"N": "1"}, {"NULL": True}]}}}) == {
        "M": {"a": {"L": [{"N": "1"}, {"NULL": True}]}}
    }
