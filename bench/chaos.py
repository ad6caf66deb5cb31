"""Chaos: jobs under injected faults; asserts and prints the pipeline's invariants.

Runs on a fresh local cloud with short timeouts and a job deadline longer than the
run (so the DLQ redrive after the faults can still complete what died during them).
Exits non-zero when an invariant fails.

    python -m bench.chaos [--jobs 10000] [--rate 20] [--quick]
"""

from __future__ import annotations

import argparse
import json

from bench.localcloud import FAST, fresh_cloud
from bench.machine import describe
from local.tools.chaos import run_chaos


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--quick", action="store_true", help="300 jobs")
    args = parser.parse_args(argv)
    jobs = 300 if args.quick else args.jobs
    settings = {**FAST, "jobDeadlineSeconds": 7200}
    options = ["--async-backoff", "0.5", "--schedule-scale", "0.2", "--sample-interval", "5"]
    with fresh_cloud(settings, options) as cloud:
        report = run_chaos(
            cloud, jobs, rate=args.rate, seed=args.seed, timeout=max(600.0, jobs / 5)
        )
    report = {"benchmark": "chaos", "machine": describe(), **report}
    print(json.dumps(report, indent=2))
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
