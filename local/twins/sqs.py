"""SQS queues, redrive and queue policies created in moto."""

from __future__ import annotations

from local.twins.common import MockCloud, attr, suffix


def queue(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    queue = inputs.get("name") or f"{name}-{suffix(name)}"
    attrs = {
        "VisibilityTimeout": inputs.get("visibilityTimeoutSeconds"),
        "MessageRetentionPeriod": inputs.get("messageRetentionSeconds"),
        "ReceiveMessageWaitTimeSeconds": inputs.get("receiveWaitTimeSeconds"),
        "DelaySeconds": inputs.get("delaySeconds"),
        "RedrivePolicy": inputs.get("redrivePolicy"),
        "SqsManagedSseEnabled": inputs.get("sqsManagedSseEnabled"),
        "KmsMasterKeyId": inputs.get("kmsMasterKeyId"),
        "FifoQueue": inputs.get("fifoQueue"),
    }
    attributes = {k: attr(v) for k, v in attrs.items() if v is not None}
    url = m.client("sqs").create_queue(QueueName=queue, Attributes=attributes)["QueueUrl"]
    arn = m.arn("sqs", queue)
    m.registry.queue_arn_to_url[arn] = url
    return url, {**inputs, "name": queue, "url": url, "arn": arn}


def redrive_allow(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    m.client("sqs").set_queue_attributes(
        QueueUrl=inputs["queueUrl"],
        Attributes={"RedriveAllowPolicy": inputs["redriveAllowPolicy"]},
    )
    return inputs["queueUrl"], inputs


def queue_policy(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    m.client("sqs").set_queue_attributes(
        QueueUrl=inputs["queueUrl"], Attributes={"Policy": inputs["policy"]}
    )
    return inputs["queueUrl"], inputs


HANDLERS = {
    "aws:sqs/queue:Queue": queue,
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": redrive_allow,
    "aws:sqs/queuePolicy:QueuePolicy": queue_policy,
}
