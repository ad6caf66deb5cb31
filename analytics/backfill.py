"""Re-export terminal jobs from the jobs table itself, for what the stream cannot replay.

Two cases: turning analytics on for a stack that already has jobs (the stream keeps
24 hours, so the exporter starts there), and a batch the exporter gave up on (its
coordinates are in the exporter's failure queue; once the stream has dropped the
records, the table still has the jobs until their TTL).

    python -m analytics.backfill --table moderation-dev-jobs --bucket <results_bucket> \
        [--since 2026-04-01] [--endpoint-url http://127.0.0.1:PORT]

Rows go through the exporter's own code, one object per scanned page and date,
keyed by the page's job ids, so rerunning writes the same objects again. A job
exported by both the stream and a backfill is counted once by the report (one row
per job_id). Backfilled rows carry no claim or last-result time (those come from
the stream's old image), so they count in every figure except the stage latencies.
The scan reads the whole table: on demand, about 1 read request unit per 4 KB.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from common import export
from lambdas.common.contract import JobAttr


def backfill(
    ddb,
    s3,
    table: str,
    bucket: str,
    since: str | None = None,
    page_size: int = 500,
) -> dict[str, Any]:
    """Export every terminal job (completed on or after `since`, if given); return counts."""
    kwargs: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "#s IN (:complete, :failed)",
        "ExpressionAttributeNames": {"#s": JobAttr.STATUS},
        "ExpressionAttributeValues": {":complete": {"S": "complete"}, ":failed": {"S": "failed"}},
        "PaginationConfig": {"PageSize": page_size},
    }
    if since:
        kwargs["FilterExpression"] += f" AND {JobAttr.COMPLETED_AT} >= :since"
        kwargs["ExpressionAttributeValues"][":since"] = {"S": since}
    scanned = exported = objects = unreadable = 0
    for page in ddb.get_paginator("scan").paginate(**kwargs):
        items = page.get("Items", [])
        scanned += page.get("ScannedCount", 0)
        records = [
            {
                "eventName": "INSERT",
                "eventID": f"backfill:{item.get(JobAttr.JOB_ID, {}).get('S', '')}",
                "dynamodb": {"NewImage": item},
            }
            for item in items
        ]
        rows = []
        for record in records:
            try:
                row = export.export_row(record)
            except export.MalformedRecord:
                unreadable += 1
                continue
            if row is not None:
                rows.append(row)
        written = export.write_rows(s3, bucket, rows, export.batch_digest(records))
        exported += sum(written.values())
        objects += len(written)
    return {"scanned": scanned, "exported": exported, "objects": objects, "unreadable": unreadable}


def main(argv: list[str] | None = None) -> int:
    import boto3

    p = argparse.ArgumentParser(description="Re-export terminal jobs from the jobs table")
    p.add_argument("--table", required=True)
    p.add_argument("--bucket", required=True, help="the stack's results_bucket output")
    p.add_argument("--since", default=None, help="only jobs completed on or after this (ISO date)")
    p.add_argument("--endpoint-url", default=None, help="e.g. the local cloud's endpoint")
    args = p.parse_args(argv)
    kw = {"endpoint_url": args.endpoint_url} if args.endpoint_url else {}
    result = backfill(
        boto3.client("dynamodb", **kw),
        boto3.client("s3", **kw),
        args.table,
        args.bucket,
        args.since,
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
