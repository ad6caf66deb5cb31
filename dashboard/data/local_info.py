"""What the embedded local cloud runs, what it stands in for, and what it does not emulate."""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pandas as pd


@dataclass
class LocalCloudInfo:
    emulated: pd.DataFrame  # resource type, count, example names
    not_emulated: pd.DataFrame  # declared resources with no local twin
    recorded_only: pd.DataFrame  # accepted, recorded, no behaviour (and why)
    behaviour: list[str]  # AWS behaviour not reproduced locally
    stand_ins: dict[str, str]  # AWS APIs answered by a stand-in
    unsupported_schedules: list[str]
    options: dict[str, Any]
    endpoint: str
    api_url: str
    started_at: float | None


def describe(state: dict[str, Any], registry: dict[str, Any] | None) -> LocalCloudInfo:
    resources = (registry or {}).get("resources") or []
    not_emulated = state.get("not_emulated") or []
    skip = {(r["type"], r["name"]) for r in not_emulated}
    counts: Counter[str] = Counter()
    names: dict[str, list[str]] = {}
    for r in resources:
        if (r["type"], r["name"]) in skip:
            continue
        counts[r["type"]] += 1
        names.setdefault(r["type"], []).append(r["name"])
    emulated = pd.DataFrame(
        [
            {"type": t, "count": n, "names": ", ".join(names[t][:4]) + (" …" if n > 4 else "")}
            for t, n in sorted(counts.items())
        ],
        columns=["type", "count", "names"],
    )
    return LocalCloudInfo(
        emulated=emulated,
        not_emulated=pd.DataFrame(not_emulated, columns=["type", "name"]),
        recorded_only=pd.DataFrame(
            state.get("recorded_only") or [], columns=["type", "name", "why"]
        ),
        behaviour=list(state.get("not_emulated_behaviour") or []),
        stand_ins=dict(state.get("stand_ins") or {}),
        unsupported_schedules=list(state.get("unsupported_schedules") or []),
        options=dict(state.get("options") or {}),
        endpoint=state.get("endpoint", ""),
        api_url=state.get("api_url", ""),
        started_at=state.get("started_at"),
    )


def runtime_status(endpoint: str, timeout: float = 3.0) -> dict[str, Any]:
    """The running cloud's own view: execution environments, async queue, faults."""
    request = urllib.request.Request(
        f"{endpoint}/_local/status",
        data=b"{}",
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        status: dict[str, Any] = json.loads(resp.read())
        return status


ENVIRONMENT_COLUMNS = [
    "function",
    "name",
    "busy",
    "idle",
    "capacity",
    "reserved_concurrency",
    "cold_starts",
    "memory_mb",
]


def environments(status: dict[str, Any]) -> pd.DataFrame:
    """One row per function: its execution environments now, and whatever else the running
    cloud reports about them (newer versions add figures such as peak memory)."""
    rows = [{"function": k, **v} for k, v in (status.get("functions") or {}).items()]
    df = pd.DataFrame(rows)
    first = [c for c in ENVIRONMENT_COLUMNS if c in df.columns]
    return (
        df[first + [c for c in df.columns if c not in first]]
        if rows
        else pd.DataFrame(columns=ENVIRONMENT_COLUMNS)
    )


def active_faults(status: dict[str, Any]) -> dict[str, float]:
    """Fault-injection rates that are switched on (chaos runs), by name."""
    plan = (status.get("faults") or {}).get("plan") or {}
    return {k: v for k, v in plan.items() if k.endswith("_rate") and v}


def injected_faults(status: dict[str, Any]) -> dict[str, int]:
    return dict((status.get("faults") or {}).get("injected") or {})
