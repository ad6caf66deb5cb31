"""Execute `__main__.py` under a set of Pulumi mocks and return its exports."""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import pulumi

ROOT = Path(__file__).resolve().parent.parent
MAIN = ROOT / "__main__.py"


def _config_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def run(
    mocks: pulumi.runtime.Mocks,
    config: dict[str, Any],
    stack: str,
    project: str = "moderation",
) -> dict[str, Any]:
    """Run the program once; `config` keys are `moderation:` settings without the namespace.

    Raises whatever the program raises (a ConfigError for bad settings), exactly as
    `pulumi preview` would show it.
    """
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False)
    pulumi.runtime.set_all_config(
        {f"{project}:{k}": _config_value(v) for k, v in config.items() if v is not None}
    )
    exports: dict[str, Any] = {}

    @pulumi.runtime.test
    def program():
        runpy.run_path(str(MAIN), run_name="__main__")
        root = pulumi.runtime.get_root_resource()
        outputs = dict(root.outputs)
        root.outputs.clear()
        return pulumi.Output.from_input(outputs).apply(exports.update)

    program()
    return exports
