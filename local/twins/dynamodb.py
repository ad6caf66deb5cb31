"""DynamoDB tables (keys, indexes, TTL, streams, recovery) created in moto."""

from __future__ import annotations

from typing import Any

from local.twins.common import MockCloud, suffix, tags


def table(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    ddb = m.client("dynamodb")
    table = inputs.get("name") or f"{name}-{suffix(name)}"
    keys = [{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}]
    if inputs.get("rangeKey"):
        keys.append({"AttributeName": inputs["rangeKey"], "KeyType": "RANGE"})
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeySchema": keys,
        "AttributeDefinitions": [
            {"AttributeName": a["name"], "AttributeType": a["type"]}
            for a in inputs.get("attributes", [])
        ],
        "BillingMode": inputs.get("billingMode", "PAY_PER_REQUEST"),
    }
    gsis = []
    for gsi in inputs.get("globalSecondaryIndexes", []) or []:
        schema = [{"AttributeName": gsi["hashKey"], "KeyType": "HASH"}]
        if gsi.get("rangeKey"):
            schema.append({"AttributeName": gsi["rangeKey"], "KeyType": "RANGE"})
        projection: dict[str, Any] = {"ProjectionType": gsi.get("projectionType", "ALL")}
        if gsi.get("nonKeyAttributes"):
            projection["NonKeyAttributes"] = list(gsi["nonKeyAttributes"])
        gsis.append({"IndexName": gsi["name"], "KeySchema": schema, "Projection": projection})
    if gsis:
        kwargs["GlobalSecondaryIndexes"] = gsis
    if inputs.get("streamEnabled"):
        kwargs["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": inputs.get("streamViewType", "NEW_AND_OLD_IMAGES"),
        }
    if (inputs.get("serverSideEncryption") or {}).get("enabled"):
        kwargs["SSESpecification"] = {"Enabled": True, "SSEType": "KMS"}
    if tags(inputs):
        kwargs["Tags"] = tags(inputs)
    desc = ddb.create_table(**kwargs)["TableDescription"]
    ttl = inputs.get("ttl") or {}
    if ttl.get("enabled"):
        ddb.update_time_to_live(
            TableName=table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["attributeName"]},
        )
    if (inputs.get("pointInTimeRecovery") or {}).get("enabled"):
        ddb.update_continuous_backups(
            TableName=table,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    out = {**inputs, "name": table, "arn": desc["TableArn"]}
    if desc.get("LatestStreamArn"):
        out["streamArn"] = desc["LatestStreamArn"]
        out["streamLabel"] = desc.get("LatestStreamLabel", "")
        m.registry.stream_arn_to_table[desc["LatestStreamArn"]] = table
    return table, out


def table_item(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    """One item put as declared (its `item` is DynamoDB's attribute-value JSON)."""
    import json

    item = json.loads(inputs["item"])
    m.client("dynamodb").put_item(TableName=inputs["tableName"], Item=item)
    keys = [item[inputs["hashKey"]]] + (
        [item[inputs["rangeKey"]]] if inputs.get("rangeKey") else []
    )
    ident = "|".join(next(iter(k.values())) for k in keys)
    return f"{inputs['tableName']}|{ident}", dict(inputs)


HANDLERS = {
    "aws:dynamodb/table:Table": table,
    "aws:dynamodb/tableItem:TableItem": table_item,
}
