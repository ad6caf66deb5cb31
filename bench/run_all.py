"""`make bench`: run the quick version of every benchmark and record the figures.

Each benchmark runs in its own process and prints one JSON document. The run is
recorded in `bench/recorded/quick.json` (with the date and the machine) and
docs/figures.md is re-rendered from everything recorded (bench/figures.py).

    python -m bench.run_all [--only throughput,chaos]   # --only: print, record nothing
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from bench import figures
from bench.machine import describe

ROOT = Path(__file__).resolve().parent.parent

# name -> (module, quick arguments)
BENCHMARKS = {
    "throughput": ("bench.throughput", ["--quick"]),
    "coldstart": ("bench.coldstart", ["--quick"]),
    "models": ("bench.models", ["--quick"]),
    "evasion": ("bench.evasion", ["--quick"]),
    "banks": ("bench.banks", ["--quick"]),
    "cost": ("bench.cost", ["--quick"]),
    "chaos": ("bench.chaos", ["--quick"]),
    "cache": ("bench.cache", ["--quick"]),
    "edge_coldstart": ("bench.edge_coldstart", []),
    "dashboard_load": ("bench.dashboard_load", []),  # 100,000 jobs: the target's scale
    "review": ("bench.review", ["--quick"]),
    "animations": ("bench.animations", ["--quick"]),
    "spark_report": ("bench.spark_report", ["--rows", "200000"]),
}


def run_one(module: str, args: list[str]) -> dict:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True
    )
    elapsed = round(time.monotonic() - started, 1)
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        result = {"error": (proc.stderr or proc.stdout)[-2000:]}
    result["_exit_code"] = proc.returncode
    result["_seconds"] = elapsed
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="")
    args = parser.parse_args(argv)
    names = [n for n in BENCHMARKS if not args.only or n in args.only.split(",")]
    machine = describe()
    results: dict[str, dict] = {}
    for name in names:
        module, quick = BENCHMARKS[name]
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results[name] = run_one(module, quick)
        print(
            f"  {name}: exit {results[name]['_exit_code']} in {results[name]['_seconds']} s",
            file=sys.stderr,
            flush=True,
        )
    recorded = figures.RECORDED / "quick.json"
    if args.only and recorded.is_file():
        # Re-run some: their results replace the recorded ones (each carries its machine).
        merged = json.loads(recorded.read_text())
        merged["results"].update(results)
        recorded.write_text(json.dumps(merged, indent=2) + "\n")
        print(f"wrote {figures.render()}", file=sys.stderr)
    elif not args.only:
        figures.RECORDED.mkdir(parents=True, exist_ok=True)
        recorded.write_text(json.dumps({"machine": machine, "results": results}, indent=2) + "\n")
        print(f"wrote {figures.render()}", file=sys.stderr)
    print(figures.markdown(results, machine))
    return 1 if any(r.get("_exit_code") for r in results.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
