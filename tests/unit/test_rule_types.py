"""The rules every analyzer and the dispatcher read pull in no third-party code.

The dispatcher's and the Rekognition analyzer's layers hold neither Pillow nor ONNX
Runtime; `common.rules` once imported the custom analysis (Pillow at module level) and,
through it, the model base (onnxruntime), so both functions crashed at import on AWS.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"

PROBE = r"""
import importlib, json, sys
sys.path.insert(0, sys.argv[1])
importlib.import_module(sys.argv[2])
foreign = sorted(
    name.split(".")[0] for name in sys.modules
    if name.split(".")[0] not in (*sys.stdlib_module_names, "common", "__main__")
)
print(json.dumps(sorted(set(foreign))))
"""


@pytest.mark.parametrize(
    "module", ["common.rules", "common.decision", "common.rule_types", "common.function_config"]
)
def test_the_rule_modules_import_the_standard_library_only(module):
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", PROBE, str(LAMBDAS), module],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [], f"{module} pulls in third-party code"


def test_the_analysis_modules_still_offer_their_rule_types():
    from common import custom_analysis, rule_types, text_analysis

    assert custom_analysis.CustomRules is rule_types.CustomRules
    assert text_analysis.TextRules is rule_types.TextRules
