"""Make a stack destroyable: stop its EMR Serverless application first.

    python -m scripts.predestroy --stack dev [--profile P] [--region R] [--cancel-jobs]
    (make predestroy STACK=dev)

EMR Serverless deletes an application only while it is CREATED or STOPPED. With analytics
on, the report schedule starts the application (auto-start) and it stays STARTED until its
idle timeout stops it, so `pulumi destroy` in that window fails on the application
(`must be in one of the following statuses [CREATED, STOPPED]`) and leaves the stack half
deleted. This stops it and waits for STOPPED. AWS stops an application only when it has no
running or scheduled job runs: those are named, and cancelled with `--cancel-jobs` (a
report run is re-runnable: the next schedule writes it again).

The application id is the stack output `emr_application_id` (none: analytics is off and
there is nothing to do). Exit status 0 when the application can be deleted now.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from lambdas.common.contract import Output

ROOT = Path(__file__).resolve().parent.parent
# States from which AWS deletes the application (or it is already gone).
DELETABLE = frozenset({"CREATED", "STOPPED", "TERMINATED"})
# Job-run states that keep an application from stopping (all but the terminal ones).
ACTIVE_JOB_STATES = ["SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "QUEUED", "CANCELLING"]


class NotStopped(RuntimeError):
    """The application could not be brought to a state EMR Serverless deletes."""


def active_job_runs(emr: Any, application_id: str) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    for page in emr.get_paginator("list_job_runs").paginate(
        applicationId=application_id, states=ACTIVE_JOB_STATES
    ):
        runs += page.get("jobRuns", [])
    return runs


def _wait(check: Callable[[], bool], what: str, timeout: float, poll: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise NotStopped(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)


def state_of(emr: Any, application_id: str) -> str:
    return str(emr.get_application(applicationId=application_id)["application"]["state"])


def stop_application(
    emr: Any,
    application_id: str,
    cancel_jobs: bool = False,
    timeout: float = 900,
    poll: float = 10,
    say: Callable[[str], None] = print,
) -> str:
    """Bring the application to STOPPED (or leave it CREATED/STOPPED); return its state."""
    state = state_of(emr, application_id)
    if state in DELETABLE:
        say(f"application {application_id} is {state}: nothing to stop")
        return state
    runs = [r for r in active_job_runs(emr, application_id) if r["state"] != "CANCELLING"]
    if runs and not cancel_jobs:
        names = ", ".join(f"{r['id']} ({r['state']})" for r in runs)
        raise NotStopped(
            f"application {application_id} has job runs that keep it from stopping: {names}; "
            "wait for them, or pass --cancel-jobs (make predestroy ... CANCEL_JOBS=1)"
        )
    for run in runs:
        say(f"cancelling job run {run['id']} ({run['state']})")
        emr.cancel_job_run(applicationId=application_id, jobRunId=run["id"])
    _wait(lambda: not active_job_runs(emr, application_id), "job runs to end", timeout, poll)
    # STOPPING is on its way already; STARTING and STARTED are stopped.
    if state_of(emr, application_id) in ("STARTING", "STARTED"):
        say(f"stopping application {application_id}")
        emr.stop_application(applicationId=application_id)
    _wait(lambda: state_of(emr, application_id) in DELETABLE, "STOPPED", timeout, poll)
    final = state_of(emr, application_id)
    say(f"application {application_id} is {final}: `pulumi destroy` can delete it")
    return final


def application_id_of(stack: str) -> str | None:
    """The stack's `emr_application_id` output; None when analytics is off."""
    out = subprocess.run(
        ["pulumi", "stack", "output", "--json", "--stack", stack],
        capture_output=True,
        text=True,
        check=True,
    )
    value = json.loads(out.stdout or "{}").get(Output.EMR_APPLICATION_ID)
    return str(value) if value else None


def stack_region(stack: str) -> str | None:
    """The stack's `aws:region` (from `Pulumi.<stack>.yaml`), if it sets one."""
    path = ROOT / f"Pulumi.{stack}.yaml"
    if not path.exists():
        return None
    region = (yaml.safe_load(path.read_text()).get("config") or {}).get("aws:region")
    return str(region) if region else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="the Pulumi stack")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--region", default=None, help="default: the stack's aws:region")
    parser.add_argument("--application-id", default=None, help="default: the stack output")
    parser.add_argument("--cancel-jobs", action="store_true", help="cancel active report runs")
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args(argv)

    import boto3

    application_id = args.application_id or application_id_of(args.stack)
    if not application_id:
        print(f"stack {args.stack!r} has no EMR Serverless application: nothing to stop")
        return 0
    region = args.region or stack_region(args.stack)  # None: the profile's region
    emr = boto3.Session(profile_name=args.profile, region_name=region).client("emr-serverless")
    try:
        stop_application(emr, application_id, args.cancel_jobs, args.timeout)
    except NotStopped as exc:
        print(f"[FAIL] {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
