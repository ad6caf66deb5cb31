"""The stack's CloudWatch alarms and the health of each pipeline stage."""

from __future__ import annotations

from typing import Any, cast

import pandas as pd

from dashboard.data.queues import ROLE_LABELS

ALARM_COLUMNS = [
    "alarm",
    "state",
    "reason",
    "since",
    "metric",
    "namespace",
    "threshold",
    "description",
]
# The order a job goes through the pipeline; the overview lists stages this way.
STAGES = (
    "upload",
    "dispatcher",
    "rekognition_analyzer",
    "custom_analyzer",
    "notifier",
    "sweeper",
    "status",
)


def alarms(cloudwatch: Any, names: list[str]) -> pd.DataFrame:
    """The named alarms with their state (DescribeAlarms, 100 names per call)."""
    found = []
    for i in range(0, len(names), 100):
        kwargs = {"AlarmNames": names[i : i + 100], "MaxRecords": 100}
        while True:
            out = cloudwatch.describe_alarms(**kwargs)
            found.extend(out.get("MetricAlarms", []))
            if not out.get("NextToken"):
                break
            kwargs["NextToken"] = out["NextToken"]
    rows = [
        {
            "alarm": a["AlarmName"],
            "state": a.get("StateValue"),
            "reason": a.get("StateReason"),
            "since": a.get("StateUpdatedTimestamp"),
            "metric": a.get("MetricName"),
            "namespace": a.get("Namespace"),
            "threshold": a.get("Threshold"),
            "description": a.get("AlarmDescription"),
        }
        for a in found
    ]
    df = pd.DataFrame(rows, columns=ALARM_COLUMNS)
    order = {"ALARM": 0, "INSUFFICIENT_DATA": 1, "OK": 2}
    return df.sort_values("state", key=lambda s: s.map(order).fillna(3), ignore_index=True)


def stage_health(totals: pd.DataFrame, queues: pd.DataFrame, stuck: int) -> pd.DataFrame:
    """One row per stage (functions, then queues) with a status and the reason for it."""
    rows = []
    by_fn = totals.set_index("function") if not totals.empty else pd.DataFrame()
    ordered = [s for s in STAGES if s in by_fn.index] + [s for s in by_fn.index if s not in STAGES]
    for fn in ordered:
        # One row per function: `.loc` of one label is that row, a Series.
        t = cast(pd.Series, by_fn.loc[fn])
        inv, err, thr = int(t["invocations"]), int(t["errors"]), int(t["throttles"])
        errors = f"{err} error{'' if err == 1 else 's'} in {inv} invocations"
        if thr:
            status, why = "degraded", f"{thr} throttled"
        elif inv and err / inv > 0.05:
            status, why = "failing", f"{errors} ({err / inv:.0%})"
        elif err:
            status, why = "degraded", errors
        elif inv:
            status, why = "ok", f"{inv} invocations, no errors"
        else:
            status, why = "idle", "no invocations in the window"
        rows.append({"stage": fn, "kind": "function", "status": status, "detail": why})
    for _, q in queues.iterrows():
        role = q["role"]
        age = q.get("oldest_age_s")
        waiting = int(q["visible"]) + int(q["in_flight"])
        if role in ("dlq", "failure"):
            status = "attention" if waiting else "ok"
            why = f"{waiting} message(s) waiting" if waiting else "empty"
        else:
            status = "degraded" if (age is not None and pd.notna(age) and age > 300) else "ok"
            why = f"{int(q['visible'])} visible, {int(q['in_flight'])} in flight"
            if age is not None and pd.notna(age):
                why += f", oldest {age:.0f} s"
        rows.append(
            {
                "stage": f"queue: {ROLE_LABELS.get(role, role)}",
                "kind": "queue",
                "status": status,
                "detail": why,
            }
        )
    rows.append(
        {
            "stage": "jobs past the deadline",
            "kind": "jobs",
            "status": "attention" if stuck else "ok",
            "detail": f"{stuck} stuck (pending/analyzing past the deadline)",
        }
    )
    return pd.DataFrame(rows, columns=["stage", "kind", "status", "detail"])
