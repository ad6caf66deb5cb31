"""Record a full run of one benchmark: `python -m bench.record chaos --jobs 10000 --rate 20`.

Runs `bench.<NAME>` with the given arguments, stores its JSON with the command, the date
and the machine in `bench/recorded/full/<NAME>.json`, and re-renders docs/figures.md.
"""

from __future__ import annotations

import json
import shlex
import sys

from bench import figures
from bench.machine import describe
from bench.run_all import BENCHMARKS, run_one


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in BENCHMARKS:
        print(f"usage: python -m bench.record NAME [ARGS...]; NAME in {sorted(BENCHMARKS)}")
        return 2
    name, rest = args[0], args[1:]
    module = BENCHMARKS[name][0]
    result = run_one(module, rest)
    doc = {
        "command": shlex.join(["python", "-m", module, *rest]),
        "machine": describe(),
        "result": result,
    }
    target = figures.RECORDED / "full" / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {target} and {figures.render()}", file=sys.stderr)
    print(json.dumps(result, indent=2))
    return int(result.get("_exit_code") or 0)


if __name__ == "__main__":
    raise SystemExit(main())
