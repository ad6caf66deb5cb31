"""Every error code an API function can answer is in openapi.yaml's error enum.

The API's refusals are raised in one of three forms, `Rejection(status, code, ...)`,
`Refused(status, code, ...)` and `http.error(status, code, ...)`; each literal code in
the functions' code is found here and must be documented, so a new refusal cannot reach
clients undocumented (the schemathesis run against the local cloud finds those it can
reach; this finds the rest).
"""

from __future__ import annotations

import ast

import yaml

from tests.support.paths import ROOT

SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text())
DOCUMENTED = set(SPEC["components"]["schemas"]["Error"]["properties"]["error"]["enum"])
RAISERS = {"Rejection", "Refused", "error"}


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def raised_codes() -> dict[str, str]:
    """code -> where it is first raised, for every literal error code in lambdas/."""
    codes: dict[str, str] = {}
    for path in sorted((ROOT / "lambdas").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and _name(node.func) in RAISERS):
                continue
            if len(node.args) < 2 or not isinstance(node.args[0], ast.Constant):
                continue
            code = node.args[1]
            if isinstance(node.args[0].value, int) and isinstance(code, ast.Constant):
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                codes.setdefault(str(code.value), where)
    return codes


def test_the_scan_finds_the_refusals():
    codes = raised_codes()
    assert {"not_an_image", "image_too_small", "already_reviewed", "unavailable"} <= set(codes)


def test_every_raised_error_code_is_documented():
    undocumented = {c: where for c, where in raised_codes().items() if c not in DOCUMENTED}
    assert not undocumented, f"add these to openapi.yaml's Error enum: {undocumented}"
