"""SNS topics, topic policies and subscriptions created in moto."""

from __future__ import annotations

from local.twins.common import MockCloud, suffix


def topic(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    topic = inputs.get("name") or f"{name}-{suffix(name)}"
    attributes = {}
    if inputs.get("kmsMasterKeyId"):
        attributes["KmsMasterKeyId"] = inputs["kmsMasterKeyId"]
    if inputs.get("fifoTopic"):
        # moto keeps attribute values as given, so only true flags are passed: a
        # "false" string would read as true.
        attributes["FifoTopic"] = "true"
        if inputs.get("contentBasedDeduplication"):
            attributes["ContentBasedDeduplication"] = "true"
        if inputs.get("fifoThroughputScope"):
            attributes["FifoThroughputScope"] = inputs["fifoThroughputScope"]
    arn = m.client("sns").create_topic(Name=topic, Attributes=attributes)["TopicArn"]
    return arn, {**inputs, "name": topic, "arn": arn}


def topic_policy(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    m.client("sns").set_topic_attributes(
        TopicArn=inputs["arn"], AttributeName="Policy", AttributeValue=inputs["policy"]
    )
    return inputs["arn"], inputs


def subscription(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    out = m.client("sns").subscribe(
        TopicArn=inputs["topic"],
        Protocol=inputs["protocol"],
        Endpoint=inputs["endpoint"],
        Attributes={"RawMessageDelivery": str(bool(inputs.get("rawMessageDelivery"))).lower()},
    )
    return out["SubscriptionArn"], {**inputs, "arn": out["SubscriptionArn"]}


HANDLERS = {
    "aws:sns/topic:Topic": topic,
    "aws:sns/topicPolicy:TopicPolicy": topic_policy,
    "aws:sns/topicSubscription:TopicSubscription": subscription,
}
