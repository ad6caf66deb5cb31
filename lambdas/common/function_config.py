"""The rule configuration baked into a function's package (`function_config.json`).

Lambda allows 4 KB of environment per function, which a blocklist of a few hundred
hashes or a term list exceeds; so the program writes each analyzer's rules into its
package at build time (components/packaging.py) and the function reads them once per
execution environment. The file is part of the package digest: a rule change deploys a
new package.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

from common.contract import FUNCTION_CONFIG_FILE


class MissingConfig(RuntimeError):
    """The package has no configuration file: it was not built by the program."""


def config_path() -> Path:
    """`$LAMBDA_TASK_ROOT/function_config.json` (Lambda, the local cloud and the in-process
    tests all set the variable to the function's package)."""
    root = os.environ.get("LAMBDA_TASK_ROOT")
    if not root:
        raise MissingConfig("LAMBDA_TASK_ROOT is not set: cannot find the function's rules")
    return Path(root) / FUNCTION_CONFIG_FILE


@functools.cache
def load() -> dict[str, Any]:
    path = config_path()
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise MissingConfig(f"{path} is missing: the package was not built by the program") from exc
    if not isinstance(doc, dict):
        raise MissingConfig(f"{path} does not hold a JSON object")
    return doc


def section(name: str) -> dict[str, Any]:
    value = load().get(name)
    if not isinstance(value, dict):
        raise MissingConfig(f"{config_path()} has no `{name}` section")
    return value
