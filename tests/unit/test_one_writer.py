"""One writer for the job record: only `lambdas/common/jobs.py` writes the jobs table.

Every DynamoDB write in product code (`put_item`, `update_item`, `delete_item`,
`batch_write_item`, `transact_write_items`, called or passed on) must be in `jobs.py`,
or in a module listed in `OTHER_TABLES` that writes another table and never names the
jobs table. A new transition goes into `jobs.py` (see docs/development.md).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.support.paths import ROOT

WRITES = frozenset(
    {"put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items"}
)
WRITER = "lambdas/common/jobs.py"
# Modules that write other tables: which one.
OTHER_TABLES = {
    "lambdas/common/verdicts.py": "the verdicts table",
    "lambdas/common/lease.py": "the sweeper's lease item in the idempotency table",
    "lambdas/common/quotas.py": "the upload usage table (per-user limits)",
    "lambdas/common/audit.py": "the audit table (entries and moderators' preferences)",
    "dashboard/data/wellbeing.py": "a moderator's preferences item in the audit table",
    "lambdas/common/banks.py": "the hash banks table",
    "lambdas/common/notices.py": "the notice usage table (per-user notice counts)",
    "lambdas/common/statements.py": "the statements-of-reasons table",
}
SCANNED = ("lambdas", "dashboard", "analytics", "components", "local", "scripts", "__main__.py")
SKIPPED = (
    # The AWS stand-ins implement these calls; they do not make them.
    "local/twins",
    "local/runtime",
    "local/moto_patches",
)


def writes(source: str) -> list[tuple[int, str]]:
    """(line, method) of each DynamoDB write the source calls or passes on."""
    return sorted(
        (node.lineno, node.attr)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and node.attr in WRITES
    )


def product_files() -> Iterator[Path]:
    for top in SCANNED:
        base = ROOT / top
        for path in [base] if base.is_file() else sorted(base.rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if not any(rel.startswith(s + "/") for s in SKIPPED):
                yield path


def test_only_jobs_py_writes_the_jobs_table():
    offences = []
    for path in product_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel == WRITER or rel in OTHER_TABLES:
            continue
        offences += [f"{rel}:{line}: {method}" for line, method in writes(path.read_text())]
    assert not offences, (
        "DynamoDB writes outside common/jobs.py (a job transition belongs there):\n"
        + "\n".join(offences)
    )


def test_the_modules_writing_other_tables_never_name_the_jobs_table():
    for rel in OTHER_TABLES:
        source = (ROOT / rel).read_text()
        assert writes(source), f"{rel} no longer writes; drop it from OTHER_TABLES"
        assert "JOBS_TABLE" not in source, rel


def test_the_scan_finds_a_write_called_or_passed_on():
    source = (
        "ddb.update_item(TableName=t)\n"
        "conditional(lambda: ddb.put_item(Item=i))\n"
        "client.delete_item(Key=k)\n"
        "ddb.get_item(Key=k); ddb.query()\n"
    )
    assert writes(source) == [(1, "update_item"), (2, "put_item"), (3, "delete_item")]


def test_the_writer_is_where_the_transitions_are():
    assert writes((ROOT / WRITER).read_text())
