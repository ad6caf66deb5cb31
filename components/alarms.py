"""Alarms an operator must hear about: one encrypted topic, and the alarms that publish to it.

`AlarmTopic` is the topic (customer managed key, the policy CloudWatch needs, optional
e-mail and HTTPS subscriptions); `AlarmSet` declares alarms with the conventions every
component shares (named `<prefix>-<what>`, ALARM and OK both notify, missing data is
not breaching) and collects their names for the dashboard.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import Component
from components.function import LambdaFunction


class AlarmTopic(Component):
    def __init__(
        self,
        name: str,
        prefix: str,
        email: str | None = None,
        https_endpoint: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, opts)
        account = aws.get_caller_identity_output().account_id
        # CloudWatch can publish to an encrypted topic only through a customer managed key
        # whose policy lets it use the key.
        key_policy = account.apply(
            lambda acct: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AccountAdmin",
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{acct}:root"},
                            # A key policy's resource is the key itself; "*" is how AWS
                            # requires it to be written.
                            "Action": "kms:*",
                            "Resource": "*",
                        },
                        {
                            "Sid": "CloudWatchAlarms",
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudwatch.amazonaws.com"},
                            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                            "Resource": "*",
                        },
                    ],
                }
            )
        )
        self.key = aws.kms.Key(
            self.child("key"),
            description=f"{prefix} alarm topic encryption",
            enable_key_rotation=True,
            deletion_window_in_days=7,
            policy=key_policy,
            opts=self.opts(),
        )
        self.topic = aws.sns.Topic(
            name, name=f"{prefix}-alarms", kms_master_key_id=self.key.arn, opts=self.opts()
        )
        aws.sns.TopicPolicy(
            self.child("policy"),
            arn=self.topic.arn,
            policy=pulumi.Output.all(self.topic.arn, account).apply(
                lambda a: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "CloudWatchPublishes",
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Action": "sns:Publish",
                                "Resource": a[0],
                                "Condition": {"StringEquals": {"aws:SourceAccount": a[1]}},
                            }
                        ],
                    }
                )
            ),
            opts=self.opts(),
        )
        if email:
            aws.sns.TopicSubscription(
                self.child("email"),
                topic=self.topic.arn,
                protocol="email",
                endpoint=email,
                opts=self.opts(),
            )
        if https_endpoint:
            aws.sns.TopicSubscription(
                self.child("https"),
                topic=self.topic.arn,
                protocol="https",
                endpoint=https_endpoint,
                opts=self.opts(),
            )
        self.arn = self.topic.arn
        self.register_outputs({"arn": self.topic.arn})


class AlarmSet:
    """Alarms of one component, all notifying `topic_arn`; `.names` for the stack outputs."""

    def __init__(self, owner: Component, prefix: str, topic_arn: pulumi.Input[str]) -> None:
        self.owner = owner
        self.prefix = prefix
        self.actions = [topic_arn]
        self.names: list[pulumi.Output[str]] = []

    def add(self, what: str, **kwargs: Any) -> aws.cloudwatch.MetricAlarm:
        """An alarm named `<prefix>-<what>` (logical name `<owner>-<what>`)."""
        res = aws.cloudwatch.MetricAlarm(
            self.owner.child(what),
            name=f"{self.prefix}-{what}",
            alarm_actions=self.actions,
            ok_actions=self.actions,
            treat_missing_data=kwargs.pop("treat_missing_data", "notBreaching"),
            opts=self.owner.opts(),
            **kwargs,
        )
        self.names.append(res.name)
        return res

    def above(
        self,
        what: str,
        description: str,
        namespace: str,
        metric: str,
        dimensions: dict[str, pulumi.Input[str]],
        *,
        statistic: str = "Sum",
        period: int = 300,
        evaluation_periods: int = 1,
        threshold: float = 0,
    ) -> aws.cloudwatch.MetricAlarm:
        """An alarm when `metric` exceeds `threshold` (by default: anything at all)."""
        return self.add(
            what,
            alarm_description=description,
            namespace=namespace,
            metric_name=metric,
            dimensions=dimensions,
            statistic=statistic,
            period=period,
            evaluation_periods=evaluation_periods,
            threshold=threshold,
            comparison_operator="GreaterThanThreshold",
        )

    def function_errors_and_throttles(self, functions: Iterable[LambdaFunction]) -> None:
        """Errors and throttles of each function, summed over five minutes."""
        for fn in functions:
            short = fn.logical_name.replace("_", "-")
            for metric, suffix, what in (
                ("Errors", "errors", "raised errors"),
                ("Throttles", "throttles", "was throttled"),
            ):
                self.above(
                    f"{short}-{suffix}",
                    f"{fn.logical_name} {what}.",
                    "AWS/Lambda",
                    metric,
                    {"FunctionName": fn.function.name},
                )
