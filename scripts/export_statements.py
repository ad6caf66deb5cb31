"""Export a period's statements of reasons as JSON lines (DSA; docs/statements.md).

    python -m scripts.export_statements --outputs OUTPUTS.json --from 2026-05-01 --to 2026-05-31
    python -m scripts.export_statements --table NAME [--endpoint-url URL] --from D --to D

One line per statement whose decision applied on a day in the period (inclusive):
`{puid, job_id, source, created_at, statement}`, the statement exactly as the
Transparency Database takes it (no personal data). `--outputs` reads the statements
table from a stack outputs file (`pulumi stack output --json`, or the local cloud's).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from lambdas.common.contract import Output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--outputs", type=Path, help="a stack outputs JSON file")
    where.add_argument("--table", help="the statements table's name")
    parser.add_argument("--from", dest="start", required=True, type=date.fromisoformat)
    parser.add_argument("--to", dest="end", required=True, type=date.fromisoformat)
    parser.add_argument("--region", default=None)
    parser.add_argument("--profile", default=None)
    parser.add_argument("--endpoint-url", default=None, help="e.g. the local cloud's")
    parser.add_argument("--out", type=Path, default=None, help="default: standard output")
    args = parser.parse_args(argv)
    if args.end < args.start:
        parser.error("--to is before --from")
    table = args.table
    region = args.region
    if args.outputs is not None:
        outputs = json.loads(args.outputs.read_text())
        table = outputs.get(Output.STATEMENTS_TABLE)
        region = region or outputs.get(Output.REGION)
        if not table:
            print("the stack has no statements table (moderation:dsa.statements is off)",
                  file=sys.stderr)  # fmt: skip
            return 1

    import boto3

    from lambdas.common import statements

    ddb = boto3.Session(profile_name=args.profile, region_name=region).client(
        "dynamodb", endpoint_url=args.endpoint_url
    )
    out = args.out.open("w") if args.out else sys.stdout
    try:
        count = 0
        for line in statements.export_period(ddb, str(table), args.start, args.end):
            out.write(json.dumps(line, sort_keys=True, default=str) + "\n")
            count += 1
    finally:
        if args.out:
            out.close()
    print(f"{count} statements exported", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
