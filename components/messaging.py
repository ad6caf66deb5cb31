"""The pipeline's queues and its notification topic.

`ProcessingQueues`: the processing queue with its dead-letter queue (redrive allowed
only back to the source) and the analyzers' failure queue. `NotificationTopic`: one
message per terminal job; FIFO by default so a replayed notifier batch is dropped by SNS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import Component

# SQS's longest retention: failure records wait for the sweeper or an operator.
MAX_RETENTION_SECONDS = 1_209_600


@dataclass
class ProcessingQueuesArgs:
    prefix: str
    visibility_timeout_seconds: int
    queue_retention_seconds: int
    dlq_retention_seconds: int
    max_receive_count: int


class ProcessingQueues(Component):
    def __init__(
        self, name: str, args: ProcessingQueuesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, opts)
        self.dlq = aws.sqs.Queue(
            self.child("dlq"),
            name=f"{args.prefix}-processing-dlq",
            message_retention_seconds=args.dlq_retention_seconds,
            sqs_managed_sse_enabled=True,
            receive_wait_time_seconds=20,
            opts=self.opts(),
        )
        self.queue = aws.sqs.Queue(
            self.child("processing"),
            name=f"{args.prefix}-processing",
            visibility_timeout_seconds=args.visibility_timeout_seconds,
            message_retention_seconds=args.queue_retention_seconds,
            receive_wait_time_seconds=20,
            sqs_managed_sse_enabled=True,
            redrive_policy=self.dlq.arn.apply(
                lambda arn: json.dumps(
                    {"deadLetterTargetArn": arn, "maxReceiveCount": args.max_receive_count}
                )
            ),
            opts=self.opts(),
        )
        aws.sqs.RedriveAllowPolicy(
            self.child("dlq-allow"),
            queue_url=self.dlq.url,
            redrive_allow_policy=self.queue.arn.apply(
                lambda arn: json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [arn]})
            ),
            opts=self.opts(),
        )
        self.failure_queue = aws.sqs.Queue(
            self.child("analysis-failures"),
            name=f"{args.prefix}-analysis-failures",
            message_retention_seconds=MAX_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            receive_wait_time_seconds=20,
            opts=self.opts(),
        )
        self.register_outputs(
            {
                "processing_queue_url": self.queue.url,
                "dlq_url": self.dlq.url,
                "failure_queue_url": self.failure_queue.url,
            }
        )


class NotificationTopic(Component):
    """The notifier publishes at least once (a crash after a publish replays its batch).

    A FIFO topic drops a second publish with the same deduplication id (job id and
    status) within five minutes, so subscribers get one message per job. Dedup scope is
    the message group (the job), which lifts the per-topic throughput limit.
    """

    def __init__(
        self, name: str, prefix: str, fifo: bool, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, opts)
        self.topic = aws.sns.Topic(
            name,
            name=f"{prefix}-notifications.fifo" if fifo else f"{prefix}-notifications",
            kms_master_key_id="alias/aws/sns",
            fifo_topic=True if fifo else None,
            content_based_deduplication=False if fifo else None,
            fifo_throughput_scope="MessageGroup" if fifo else None,
            opts=self.opts(),
        )
        self.arn = self.topic.arn
        self.register_outputs({"arn": self.topic.arn})
