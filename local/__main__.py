"""`python -m local COMMAND`: run the moderation stack on this machine.

up       start the local cloud in the background (writes .local-cloud/outputs.json)
status   what is running: functions, queues, faults, what is not emulated
load     send N uploads through the API and report what happened
chaos    the same with injected faults
token    print a bearer token for a local user (--group moderators: a moderator)
invoke   invoke a function by its logical name
hash     print the dHash of an image (for moderation:blocklistHashes)
moderate upload an image of your own through the API and print its decision
report   run the Spark report over the exported jobs (needs analyticsEnabled)
demo     up + a short load + the dashboard
down     stop the local cloud and remove its state
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from lambdas.common.contract import JobAttr

ROOT = Path(__file__).resolve().parent.parent


def _parse_set(values: list[str]) -> dict:
    config = {}
    for item in values or []:
        key, _, raw = item.partition("=")
        try:
            config[key] = json.loads(raw)
        except ValueError:
            config[key] = raw
    return config


def cmd_up(args) -> int:
    from local.client import LocalCloudClient, NotRunning

    state_dir = Path(args.state_dir)
    try:
        cloud = LocalCloudClient(state_dir)
    except NotRunning:
        cloud = None
    if cloud is not None:
        print(f"already running (pid {cloud.state['pid']}); `python -m local down` first")
        return 0
    if state_dir.exists():
        shutil.rmtree(state_dir)
    state_dir.mkdir(parents=True)
    log = open(state_dir / "cloud.log", "ab")
    cmd = [
        sys.executable,
        "-m",
        "local",
        "--state-dir",
        str(state_dir),
        "daemon",
        "--max-environments",
        str(args.max_environments),
        "--async-backoff",
        str(args.async_backoff),
        "--schedule-scale",
        str(args.schedule_scale),
        "--sample-interval",
        str(args.sample_interval),
        *(["--no-iam"] if args.no_iam else []),
    ]
    for item in args.set or []:
        cmd += ["--set", item]
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'lambdas'}"}
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + args.wait
    state_file = state_dir / "state.json"
    while time.monotonic() < deadline:
        if state_file.exists():
            state = json.loads(state_file.read_text())
            if not state.get("ready"):
                print(f"the local cloud failed to start:\n{state.get('error')}", file=sys.stderr)
                return 1
            _print_up(state)
            return 0
        if proc.poll() is not None:
            print((state_dir / "cloud.log").read_text()[-4000:], file=sys.stderr)
            return 1
        time.sleep(0.2)
    print(
        f"the local cloud did not become ready in {args.wait} s; see {state_dir / 'cloud.log'}",
        file=sys.stderr,
    )
    return 1


def _print_up(state: dict) -> None:
    print(f"local cloud running (pid {state['pid']})")
    print(f"  API:       {state['api_url']}  (JWT issuer {state['issuer']})")
    print(f"  endpoint:  {state['endpoint']}  (AWS_ENDPOINT_URL for boto3 and the AWS CLI)")
    print(f"  outputs:   {state['outputs_file']}")
    print(f"  logs:      {state['log_file']}")
    print("  token:     python -m local token --user demo-user")
    print("  moderator: python -m local token --user moderator-1 --group moderators")
    for name, what in state["stand_ins"].items():
        print(f"  {name}: {what}")
    if state["not_emulated"]:
        print("  not emulated (declared, given placeholder outputs, no local behaviour):")
        for item in state["not_emulated"]:
            print(f"    - {item['type']}  {item['name']}")
    for item in state["not_emulated_behaviour"]:
        print(f"  not emulated: {item}")


def cmd_daemon(args) -> int:
    from local.cloud import CloudOptions, run_daemon

    options = CloudOptions(
        state_dir=Path(args.state_dir),
        config=_parse_set(args.set),
        max_environments=args.max_environments,
        async_backoff=args.async_backoff,
        schedule_scale=args.schedule_scale,
        sample_interval=args.sample_interval,
        iam=not args.no_iam,
    )
    return run_daemon(options)


def cmd_down(args) -> int:
    state_dir = Path(args.state_dir)
    state_file = state_dir / "state.json"
    if state_file.exists():
        state = json.loads(state_file.read_text())
        pid = state.get("pid")
        if pid and _signal(pid, signal.SIGTERM):
            for _ in range(100):
                if not _signal(pid, 0):
                    break
                time.sleep(0.1)
            else:
                _signal(pid, signal.SIGKILL)
        if pid:
            _signal(-pid, signal.SIGKILL)  # the process group: any worker left behind
    if state_dir.exists():
        shutil.rmtree(state_dir)
        print(f"local cloud stopped; {state_dir} removed")
    else:
        print("no local cloud state")
    return 0


def _signal(pid: int, sig: int) -> bool:
    """Send `sig`; False when there is no such process (or group) any more."""
    try:
        if pid < 0:
            os.killpg(-pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def cmd_status(args) -> int:
    from local.client import LocalCloudClient

    cloud = LocalCloudClient(Path(args.state_dir))
    status = cloud.control("status")
    print(json.dumps({"api_url": cloud.api_url, "endpoint": cloud.endpoint, **status}, indent=2))
    return 0


def cmd_token(args) -> int:
    from local.client import LocalCloudClient

    print(LocalCloudClient(Path(args.state_dir)).token(args.user, args.token_use, args.group))
    return 0


def cmd_invoke(args) -> int:
    from local.client import LocalCloudClient

    cloud = LocalCloudClient(Path(args.state_dir))
    result = cloud.control(
        "invoke", {"function": args.function, "event": json.loads(args.event)}, timeout=960
    )
    print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


def cmd_hash(args) -> int:
    from common.images import dhash, open_image

    print(dhash(open_image(Path(args.image).read_bytes())))
    return 0


def cmd_moderate(args) -> int:
    """POST /jobs with a file, then GET /jobs/{id} until it is terminal: what a client does."""
    import requests

    from local.client import LocalCloudClient

    cloud = LocalCloudClient(Path(args.state_dir))
    path = Path(args.image)
    suffix = path.suffix.lower().lstrip(".")
    content_type = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png"}.get(
        suffix, f"image/{suffix}"
    )
    headers = {"Authorization": f"Bearer {cloud.token(args.user)}"}
    resp = requests.post(
        f"{cloud.api_url}/jobs",
        data=path.read_bytes(),
        headers={**headers, "Content-Type": content_type},
        timeout=30,
    )
    if resp.status_code != 202:
        print(json.dumps({"status_code": resp.status_code, **resp.json()}, indent=2))
        return 1
    job_id = resp.json()[JobAttr.JOB_ID]
    deadline = time.monotonic() + args.timeout
    job = resp.json()
    while job.get(JobAttr.STATUS) not in ("complete", "failed") and time.monotonic() < deadline:
        time.sleep(0.5)
        job = requests.get(f"{cloud.api_url}/jobs/{job_id}", headers=headers, timeout=10).json()
    shown = {
        k: job.get(k)
        for k in (
            JobAttr.JOB_ID,
            JobAttr.STATUS,
            JobAttr.DECISION,
            JobAttr.REASONS,
            JobAttr.CATEGORIES,
        )
    }
    text = (job.get(JobAttr.TEXT_RESULT) or {}).get("text")
    if text:
        shown["text_read"] = text
    shown["trace"] = "dashboard: Job trace page, this job id"
    print(json.dumps(shown, indent=2))
    return 0 if job.get(JobAttr.STATUS) == "complete" else 1


def cmd_load(args) -> int:
    from local.client import LocalCloudClient
    from local.tools.load import run_load

    cloud = LocalCloudClient(Path(args.state_dir))
    summary, details = run_load(
        cloud,
        args.count,
        rate=args.rate,
        concurrency=args.concurrency,
        poison=args.poison,
        users=args.users,
        seed=args.seed,
        timeout=args.timeout,
        poll_interval=getattr(args, "poll", None),
    )
    if details["status_polls"]:
        print(f"status polls: {details['status_polls']}", file=sys.stderr)
    print(json.dumps(summary.as_dict(), indent=2))
    return 0 if summary.unfinished == 0 and summary.duplicate_notifications == 0 else 1


def cmd_chaos(args) -> int:
    from local.client import LocalCloudClient
    from local.tools.chaos import run_chaos

    cloud = LocalCloudClient(Path(args.state_dir))
    report = run_chaos(cloud, args.count, rate=args.rate, seed=args.seed, timeout=args.timeout)
    print(json.dumps(report, indent=2))
    return 0 if report["passed"] else 1


def cmd_report(args) -> int:
    from datetime import date

    from local.client import LocalCloudClient
    from local.tools.report import AnalyticsNotEnabled, run_report

    cloud = LocalCloudClient(Path(args.state_dir))
    end = date.fromisoformat(args.end_date) if args.end_date else None
    try:
        result = run_report(cloud, days=args.days, end_date=end, top=args.top)
    except AnalyticsNotEnabled as exc:
        print(exc, file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


def cmd_demo(args) -> int:
    """The whole platform on this machine: up, a short load, a report, the dashboard."""
    args.set = list(DEMO_SETTINGS) + list(args.set or [])
    cmd_down(args)
    if cmd_up(args) != 0:
        return 1
    args.count, args.poison = args.count or 300, 5
    args.rate, args.concurrency, args.users, args.seed, args.timeout = 20.0, 8, 5, 7, 300.0
    args.poll = 1.0
    cmd_load(args)
    _review_work(args)
    _review_hint(args)
    _statements_summary(args)
    if shutil.which("java"):
        args.days, args.end_date, args.top = 1, None, 10
        print("running the analytics report (Spark, local mode) ...", file=sys.stderr)
        if cmd_report(args) != 0:
            print("the report did not run; the Analytics page will say so", file=sys.stderr)
    else:
        print(
            "no Java runtime: skipping the Spark report (`make system-deps` installs one)",
            file=sys.stderr,
        )
    app = ROOT / "dashboard" / "app.py"
    if args.no_dashboard:
        print(f"outputs: {Path(args.state_dir) / 'outputs.json'}; stop with `make down`")
        return 0
    print("your own image: `python -m local moderate IMAGE` prints its decision and reasons")
    print("dashboard: http://127.0.0.1:8501  (Ctrl-C quits it; `make down` stops the cloud)")
    return subprocess.call(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(app),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--server.address",
            "127.0.0.1",
            "--",
            "--local",
            str(args.state_dir),
        ],
        cwd=ROOT,
    )


def _review_work(args) -> None:
    """Moderators claim and decide, uploaders appeal, QA checks: data for Calibration."""
    from local.client import LocalCloudClient
    from local.tools import review_work

    work = review_work.run(LocalCloudClient(Path(args.state_dir)))
    print(
        f"moderators: {work.verdicts} verdict(s), {work.appeals} appeal(s) filed and "
        f"{work.appeals_decided} decided, {work.qa_decided} QA decision(s)"
        + (f"; refused: {', '.join(work.refused)}" if work.refused else ""),
        file=sys.stderr,
    )


def _review_hint(args) -> None:
    """How many of the demo's jobs wait for a moderator, and where to decide them."""
    from datetime import UTC, datetime

    from lambdas.common.contract import Output
    from lambdas.common.review import queue_stats
    from local.client import LocalCloudClient

    cloud = LocalCloudClient(Path(args.state_dir))
    stats = queue_stats(
        cloud.client("dynamodb"), cloud.outputs[Output.JOBS_TABLE], datetime.now(UTC)
    )
    more = "+" if stats.at_least else ""
    print(
        f"{stats.backlog}{more} job(s) await review: decide them on the dashboard's Review "
        "page, or through the API with a moderator's token "
        "(python -m local token --user moderator-1 --group moderators)",
        file=sys.stderr,
    )


def _statements_summary(args, wait_seconds: float = 120.0) -> None:
    """The demo's statements of reasons: each checked with the Transparency Database's
    rules, and how many the local stand-in holds (each submitted once)."""
    import time

    from lambdas.common import dsa_rules, jobs
    from lambdas.common.contract import Output
    from local.client import LocalCloudClient

    cloud = LocalCloudClient(Path(args.state_dir))
    table = cloud.outputs.get(Output.STATEMENTS_TABLE)
    if not table:
        return
    ddb = cloud.client("dynamodb")
    items = []
    for page in ddb.get_paginator("scan").paginate(TableName=table):
        items += [jobs.deserialize(i) or {} for i in page.get("Items", [])]
    puids = {str(i.get("puid")) for i in items}
    invalid = [
        i["puid"] for i in items if dsa_rules.validate(i.get("statement") or {}, strict=True)
    ]
    deadline = time.monotonic() + wait_seconds
    while True:
        held = cloud.control("transparency", {})["statements"]
        if puids <= set(held) or time.monotonic() > deadline:
            break
        time.sleep(2)
    print(
        f"{len(items)} statement(s) of reasons, {len(invalid)} invalid; "
        f"{len(puids & set(held))} submitted to the local Transparency Database stand-in, "
        "which refuses a puid used before (GET /jobs/{job_id}/statement shows the owner "
        "theirs; python -m scripts.export_statements exports a period)",
        file=sys.stderr,
    )


# Every optional component on: the status cache (a local redis-server, polled by the
# load), edge auth (the local CDN serves approved images to signed-in users) and
# analytics (the exporter runs, then a Spark report). A 5 s dispatcher timeout makes
# the visibility timeout 30 s, so the poison messages reach the DLQ within two
# minutes; jobs stuck longer than 3 minutes are failed by the sweeper (the shortest
# deadline a 60 s presigned URL allows with the 60 s model analyzers: 60 + 2 x 60).
# The load stands in for many users with five tokens, so per-user limits are at their
# highest.
DEMO_SETTINGS = (
    'quota={"uploadsPerMinute": 1000, "uploadsPerDay": 10000}',
    "cachingEnabled=true",
    "edgeAuthEnabled=true",
    "analyticsEnabled=true",
    "jobDeadlineSeconds=180",
    "presignExpirySeconds=60",
    'functions={"dispatcher": {"timeout": 5}}',
    # A fifth of the decisions go to QA, so the Calibration page has agreement to show.
    'review={"qaSampleRate": 0.2}',
)


def main(argv: list[str] | None = None) -> int:
    from local.client import DEFAULT_STATE_DIR

    parser = argparse.ArgumentParser(
        prog="python -m local",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--state-dir", default=str(DEFAULT_STATE_DIR))
    sub = parser.add_subparsers(dest="command", required=True)

    def cloud_options(p) -> None:
        p.add_argument(
            "--set",
            action="append",
            metavar="KEY=VALUE",
            help="a moderation: stack setting for the local stack (JSON value)",
        )
        p.add_argument(
            "--max-environments",
            type=int,
            default=3,
            help="execution environments per function (default 3)",
        )
        p.add_argument(
            "--async-backoff",
            type=float,
            default=1.0,
            help="seconds before async retry n is n x this (AWS: about 60)",
        )
        p.add_argument(
            "--schedule-scale",
            type=float,
            default=1.0,
            help="multiply schedule periods (0.1 runs the sweeper every 6 s)",
        )
        p.add_argument("--sample-interval", type=float, default=10.0)
        p.add_argument(
            "--no-iam",
            action="store_true",
            help="do not authorize the functions' requests against their roles' policies",
        )
        p.add_argument("--wait", type=float, default=180.0)

    p = sub.add_parser("up")
    cloud_options(p)
    p.set_defaults(fn=cmd_up)
    p = sub.add_parser("daemon", help=argparse.SUPPRESS)
    cloud_options(p)
    p.set_defaults(fn=cmd_daemon)
    sub.add_parser("down").set_defaults(fn=cmd_down)
    sub.add_parser("status").set_defaults(fn=cmd_status)
    p = sub.add_parser("token")
    p.add_argument("--user", default="demo-user")
    p.add_argument("--token-use", default="id", choices=["id", "access"])
    p.add_argument(
        "--group",
        action="append",
        default=[],
        metavar="GROUP",
        help="a Cognito group of the user (repeatable), e.g. moderators for the review API",
    )
    p.set_defaults(fn=cmd_token)
    p = sub.add_parser("invoke")
    p.add_argument("function")
    p.add_argument("--event", default="{}")
    p.set_defaults(fn=cmd_invoke)
    p = sub.add_parser("hash")
    p.add_argument("image")
    p.set_defaults(fn=cmd_hash)
    p = sub.add_parser("moderate")
    p.add_argument("image")
    p.add_argument("--user", default="demo-user")
    p.add_argument("--timeout", type=float, default=120.0)
    p.set_defaults(fn=cmd_moderate)
    p = sub.add_parser("load")
    p.add_argument("count", type=int)
    p.add_argument("--rate", type=float, default=20.0)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--poison", type=int, default=0)
    p.add_argument("--users", type=int, default=5)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--timeout", type=float, default=300.0)
    p.add_argument(
        "--poll",
        type=float,
        default=None,
        metavar="SECONDS",
        help="also poll GET /jobs/{id} for unfinished jobs every SECONDS",
    )
    p.set_defaults(fn=cmd_load)
    p = sub.add_parser("chaos")
    p.add_argument("count", type=int)
    p.add_argument("--rate", type=float, default=20.0)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--timeout", type=float, default=900.0)
    p.set_defaults(fn=cmd_chaos)
    p = sub.add_parser("report", help="the Spark report over the local results bucket")
    p.add_argument("--days", type=int, default=1, help="days reported, ending --end-date")
    p.add_argument("--end-date", default=None, help="YYYY-MM-DD, default today (UTC)")
    p.add_argument("--top", type=int, default=20, help="labels and users in the summary")
    p.set_defaults(fn=cmd_report)
    p = sub.add_parser("demo")
    cloud_options(p)
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--no-dashboard", action="store_true")
    p.set_defaults(fn=cmd_demo)

    args = parser.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
