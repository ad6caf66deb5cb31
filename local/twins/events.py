"""EventBridge rules and targets: created in moto, and recorded for the scheduler."""

from __future__ import annotations

from local.registry import (
    ScheduleDef,
)
from local.twins.common import MockCloud, suffix


def event_rule(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    rule = inputs.get("name") or f"{name}-{suffix(name)}"
    arn = m.client("events").put_rule(
        Name=rule,
        ScheduleExpression=inputs.get("scheduleExpression"),
        State="ENABLED",
        Description=inputs.get("description", ""),
    )["RuleArn"]
    m.registry.schedules.append(
        ScheduleDef(rule=rule, expression=inputs.get("scheduleExpression") or "")
    )
    return rule, {**inputs, "name": rule, "arn": arn}


def event_target(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    target_id = inputs.get("targetId") or f"{name}-{suffix(name)}"
    m.client("events").put_targets(
        Rule=inputs["rule"], Targets=[{"Id": target_id, "Arn": inputs["arn"]}]
    )
    for sched in m.registry.schedules:
        if sched.rule == inputs["rule"] and ":function:" in inputs["arn"]:
            sched.functions.append(m.registry.function_by_ref(inputs["arn"]).name)
    return target_id, {**inputs, "targetId": target_id}


HANDLERS = {
    "aws:cloudwatch/eventRule:EventRule": event_rule,
    "aws:cloudwatch/eventTarget:EventTarget": event_target,
}
