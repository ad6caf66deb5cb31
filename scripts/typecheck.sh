#!/usr/bin/env bash
# mypy, strict (pyproject.toml), on the behaviour code, the components and the dashboard's
# data layer. Handler code imports `common` as it does in its Lambda code dir, so
# lambdas/common is checked from there; the rest from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
mypy=.venv/bin/mypy
(cd lambdas && "../$mypy" --config-file ../pyproject.toml --cache-dir ../.mypy_cache/lambdas -p common)
"$mypy" --cache-dir .mypy_cache/root --explicit-package-bases -p components -p dashboard.data
