"""Jobs-table stream -> terminal jobs as gzip JSON Lines in the results bucket.

Each record becomes a row (or is skipped when it is not a terminal job); a record
that cannot be read is reported alone in `batchItemFailures` by its sequence number.
The good rows of the batch are then written with one PUT per completion date; a
failed PUT fails the invocation, so Lambda retries (and bisects) the batch.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
)

from common import env, export
from common.clients import client
from common.contract import Env, Metric
from common.observability import logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records") or []
    lease = env.optional(Env.DISPATCH_LEASE_SECONDS)
    lease_seconds = int(lease) if lease else None
    rows: list[export.ExportRow] = []

    def record_handler(record: DynamoDBRecord) -> str:
        row = export.export_row(record.raw_event, lease_seconds)
        if row is None:
            return "skipped"
        rows.append(row)
        return row.job_id

    with processor(records=records, handler=record_handler, lambda_context=context):
        processor.process()

    written = export.write_rows(
        client("s3"),
        env.require(Env.RESULTS_BUCKET),
        rows,
        export.batch_digest(records),
        env.optional(Env.EXPORT_PREFIX, export.PREFIX),
    )
    response = processor.response()
    failed = len(response.get("batchItemFailures", []))
    logger.info(
        "batch exported",
        extra={"records": len(records), "rows": len(rows), "failed": failed, "objects": written},
    )
    metrics.add_metric(name=Metric.JOBS_EXPORTED, unit="Count", value=sum(written.values()))
    metrics.add_metric(name=Metric.EXPORT_OBJECTS, unit="Count", value=len(written))
    if failed:
        metrics.add_metric(name=Metric.UNREADABLE_STREAM_RECORDS, unit="Count", value=failed)
    return response
