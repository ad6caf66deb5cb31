"""The job record's attribute names are spelled once, in `lambdas/common/contract.py`.

Product code names a job attribute through `JobAttr` (or `Branch.result_attribute`),
never as a string literal: a literal equal to an attribute name used as a dict key, a
subscript, the first argument of `get`/`pop`/`setdefault`, the left of `in`, a value of
`ExpressionAttributeNames`, or a word of a DynamoDB expression (`UpdateExpression`,
`ConditionExpression`, `KeyConditionExpression`, ...) fails this test with its file and
line. Tests may keep literals.

A literal that only happens to share a name with a job attribute (an HTTP status, a
function-config section) says so on its line with `# not a job attribute`, or is listed
in `ALLOWED` below with the reason.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from lambdas.common.contract import JobAttr
from tests.support.paths import ROOT

ATTRIBUTES = frozenset(str(a) for a in JobAttr)
PRAGMA = "not a job attribute"
SCANNED = ("lambdas", "dashboard", "analytics", "bench", "components", "local", "scripts")
SKIPPED = {
    # Where the names are defined.
    "lambdas/common/contract.py": "the definition",
    # The EMR entry point imports nothing from the project (it reads exported rows).
    "analytics/report.py": "standalone Spark job",
    # AWS stand-ins speak the services' own field names (`status` of a distribution, ...).
    "local/runtime": "service stand-ins",
    "local/twins": "service stand-ins",
    # The upload usage table's own item (its writer and the Overview's reader): not the
    # jobs table, whatever names the two share.
    "lambdas/common/quotas.py": "the usage table",
    "dashboard/data/quotas.py": "the usage table",
}
# (file, literal): why the literal there is not a job attribute.
ALLOWED = {
    ("lambdas/common/rules.py", "decision"): "the function config's section",
    ("lambdas/common/rules.py", "categories"): "the function config's section",
    ("components/pipeline_functions.py", "decision"): "the function config's section",
    ("components/buckets.py", "status"): "an S3 lifecycle rule's status",
    ("components/http_api.py", "status"): "the API access log's field",
    ("dashboard/data/alarms.py", "status"): "an alarm row's state",
    ("bench/figures.py", "review"): "the bench.review benchmark",
    ("bench/run_all.py", "review"): "the bench.review benchmark",
    ("bench/animations.py", "decision"): "a benchmark row's field",
    ("bench/figures.py", "decision"): "a benchmark row's field",
    ("lambdas/common/notices.py", "expires_at"): "the notice usage table's item",
}
_KEY_METHODS = {"get", "pop", "setdefault"}
_WORD = re.compile(r"(?<![#:\w])([A-Za-z_][A-Za-z0-9_]*)")
# A string that reads as a DynamoDB expression wherever it is built: a `:value`
# placeholder next to an operator, or one of the expression functions.
_PLACEHOLDER = re.compile(r"(?<![\w/%]):[a-z_]\w*(?![\w.])")
_EXPRESSION = re.compile(
    r"\b(SET|REMOVE|attribute_exists|attribute_not_exists|if_not_exists)\b|[=<>]"
)


def _strings(node: ast.AST) -> Iterator[ast.Constant]:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            yield sub


def literals(source: str) -> list[tuple[int, str, str]]:
    """(line, name, where) of each job attribute spelled as a literal in `source`."""
    found: list[tuple[int, str, str]] = []

    def key(node: ast.AST | None, where: str) -> None:
        if isinstance(node, ast.Constant) and node.value in ATTRIBUTES:
            found.append((node.lineno, str(node.value), where))

    def expression(node: ast.AST, where: str) -> None:
        for s in _strings(node):
            for word in _WORD.findall(s.value):
                if word in ATTRIBUTES:
                    found.append((s.lineno, word, where))

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if _EXPRESSION.search(text) and (
                _PLACEHOLDER.search(text) or "attribute_" in text or "exists(" in text
            ):
                expression(node, "expression")
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.slice, ast.Constant)
                    and str(target.slice.value).startswith("#")
                ):
                    key(node.value, "expression attribute name")
        if isinstance(node, ast.Compare) and isinstance(node.ops[0], (ast.In, ast.NotIn)):
            key(node.left, "membership test")
        if isinstance(node, ast.Subscript):
            key(node.slice, "subscript")
        elif isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values, strict=True):
                key(k, "dict key")
                if isinstance(k, ast.Constant) and str(k.value).startswith("#"):
                    key(v, "expression attribute name")
                if isinstance(k, ast.Constant) and str(k.value).endswith("Expression"):
                    expression(v, str(k.value))
                elif isinstance(k, ast.Constant) and k.value == "ExpressionAttributeNames":
                    for name in v.values if isinstance(v, ast.Dict) else ():
                        key(name, "ExpressionAttributeNames value")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in _KEY_METHODS and node.args:
                key(node.args[0], f"{func.attr}() argument")
            for kw in node.keywords:
                if kw.arg == "ExpressionAttributeNames" and isinstance(kw.value, ast.Dict):
                    for v in kw.value.values:
                        key(v, "ExpressionAttributeNames value")
                elif kw.arg and kw.arg.endswith("Expression"):
                    expression(kw.value, kw.arg)
    lines = source.splitlines()
    # One finding per name and line: the first way it was found.
    first: dict[tuple[int, str], str] = {}
    for line, name, where in found:
        if PRAGMA not in lines[line - 1]:
            first.setdefault((line, name), where)
    return sorted((line, name, where) for (line, name), where in first.items())


def product_files() -> Iterator[Path]:
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if not any(rel == s or rel.startswith(s + "/") for s in SKIPPED):
                yield path


def test_no_job_attribute_is_spelled_as_a_literal_outside_the_contract():
    offences = []
    for path in product_files():
        rel = path.relative_to(ROOT).as_posix()
        for line, name, where in literals(path.read_text()):
            if (rel, name) not in ALLOWED:
                offences.append(f"{rel}:{line}: {name!r} ({where}); use JobAttr")
    assert not offences, "job attributes spelled as literals:\n" + "\n".join(offences)


@pytest.mark.parametrize(
    "source, expected",
    [
        ('job.get("completed_at")', [(1, "completed_at")]),
        ('job["review_state"]', [(1, "review_state")]),
        ('if "review" in view: pass', [(1, "review")]),
        ('{"status": s}', [(1, "status")]),
        (
            'ddb.update_item(UpdateExpression="SET #s = :s, verdict_key = :k")',
            [(1, "verdict_key")],
        ),
        ('update = "SET #s = :s"\nupdate += ", decision = :d"', [(2, "decision")]),
        ('cond = "attribute_not_exists(job_id)"', [(1, "job_id")]),
        ('{"KeyConditionExpression": "review_state = :r"}', [(1, "review_state")]),
        ('f"{when:%H:%M} status = decision"', []),
        ('f"{NS}:caching.ttl must be >= 1 (how stale a status may be)"', []),
        ('kw = {"ExpressionAttributeNames": {"#s": "status"}}', [(1, "status")]),
        (
            'names = {"#s": "status"}\nnames["#c"] = "created_at"',
            [(1, "status"), (2, "created_at")],
        ),
        (
            'q(KeyConditionExpression=f"{x} AND created_at < :c")',
            [(1, "created_at")],
        ),
        (
            'u(ExpressionAttributeNames={"#s": "status"})',
            [(1, "status")],
        ),
        ('{"status": 403}  # not a job attribute: HTTP', []),
        ('job.get(JobAttr.STATUS); {"note": 1}; x["dispatch"]', []),
    ],
)
def test_the_scan_finds_a_new_literal(source, expected):
    assert [(line, name) for line, name, _ in literals(source)] == expected


def test_the_allow_list_names_files_that_exist():
    for rel, _ in ALLOWED:
        assert (ROOT / rel).is_file(), rel
