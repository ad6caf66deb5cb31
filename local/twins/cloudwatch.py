"""CloudWatch Logs groups and metric alarms created in moto."""

from __future__ import annotations

from typing import Any

from local.twins.common import MockCloud, suffix


def log_group(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    group = inputs.get("name") or f"{name}-{suffix(name)}"
    logs = m.client("logs")
    logs.create_log_group(logGroupName=group)
    if inputs.get("retentionInDays"):
        logs.put_retention_policy(
            logGroupName=group, retentionInDays=int(inputs["retentionInDays"])
        )
    return group, {**inputs, "name": group, "arn": m.arn("logs", f"log-group:{group}")}


def alarm(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    alarm = inputs.get("name") or f"{name}-{suffix(name)}"
    kwargs: dict[str, Any] = {
        "AlarmName": alarm,
        "AlarmDescription": inputs.get("alarmDescription", ""),
        "ActionsEnabled": True,
        "AlarmActions": list(inputs.get("alarmActions") or []),
        "OKActions": list(inputs.get("okActions") or []),
        "MetricName": inputs["metricName"],
        "Namespace": inputs["namespace"],
        "Statistic": inputs["statistic"],
        "Dimensions": [
            {"Name": k, "Value": v} for k, v in (inputs.get("dimensions") or {}).items()
        ],
        "Period": int(inputs["period"]),
        "EvaluationPeriods": int(inputs["evaluationPeriods"]),
        "Threshold": float(inputs["threshold"]),
        "ComparisonOperator": inputs["comparisonOperator"],
        "TreatMissingData": inputs.get("treatMissingData", "missing"),
    }
    m.client("cloudwatch").put_metric_alarm(**kwargs)
    return alarm, {**inputs, "name": alarm, "arn": m.arn("cloudwatch", f"alarm:{alarm}")}


HANDLERS = {
    "aws:cloudwatch/logGroup:LogGroup": log_group,
    "aws:cloudwatch/metricAlarm:MetricAlarm": alarm,
}
