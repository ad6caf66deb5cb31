"""The local cloud's FIFO topics deduplicate at the topic, as SNS does."""

import boto3
import pytest
from moto import mock_aws

from local.moto_patches import sns_fifo

REGION = "us-east-1"


@pytest.fixture
def clients(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(sns_fifo, "clock", lambda: now[0])
    sns_fifo.make_sns_fifo_dedup()
    with mock_aws():
        yield boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION), now


def standard_queue_on(sns, sqs, topic_arn):
    """A standard queue: it does not deduplicate, so what arrives is what the topic sent."""
    url = sqs.create_queue(QueueName="plain")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
    )
    return url


def received(sqs, url):
    out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return sorted(m["Body"] for m in out.get("Messages", []))


def test_a_repeated_deduplication_id_is_accepted_but_not_delivered(clients):
    sns, sqs, now = clients
    arn = sns.create_topic(
        Name="t.fifo", Attributes={"FifoTopic": "true", "FifoThroughputScope": "MessageGroup"}
    )["TopicArn"]
    url = standard_queue_on(sns, sqs, arn)
    first = sns.publish(
        TopicArn=arn, Message="a", MessageGroupId="j1", MessageDeduplicationId="j1.complete"
    )
    again = sns.publish(
        TopicArn=arn, Message="a", MessageGroupId="j1", MessageDeduplicationId="j1.complete"
    )
    assert again["MessageId"] == first["MessageId"]
    sns.publish(
        TopicArn=arn, Message="b", MessageGroupId="j2", MessageDeduplicationId="j2.complete"
    )
    assert received(sqs, url) == ["a", "b"]


def test_the_window_is_five_minutes(clients):
    sns, sqs, now = clients
    arn = sns.create_topic(Name="w.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    url = standard_queue_on(sns, sqs, arn)
    sns.publish(TopicArn=arn, Message="x", MessageGroupId="g", MessageDeduplicationId="d")
    now[0] += 299
    sns.publish(TopicArn=arn, Message="x", MessageGroupId="g", MessageDeduplicationId="d")
    now[0] += 2
    sns.publish(TopicArn=arn, Message="x", MessageGroupId="g", MessageDeduplicationId="d")
    assert received(sqs, url) == ["x", "x"]


def test_standard_topics_deliver_every_publish(clients):
    sns, sqs, _ = clients
    arn = sns.create_topic(Name="s")["TopicArn"]
    url = standard_queue_on(sns, sqs, arn)
    sns.publish(TopicArn=arn, Message="y")
    sns.publish(TopicArn=arn, Message="y")
    assert received(sqs, url) == ["y", "y"]
