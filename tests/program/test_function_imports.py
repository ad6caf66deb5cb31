"""Every function's handler imports from exactly what Lambda would give it.

The program is run with every optional component on and its layers built for this
machine (`dependencyLayer: host`, the layer the local cloud runs: the same requirements,
SDK and trim as the Lambda layer). Each declared function's handler is then imported in
a clean interpreter (`python -I -S`: no site-packages, no PYTHON* variables) whose path is
its code package and its declared layers only, with its declared environment: a module a
handler reaches that its package and layers lack fails here, in seconds, instead of at
the first invocation on AWS. Each client the function's code makes (the services its
layer keeps the models of) is created too.

It failed on the code before `common/rule_types.py`: the dispatcher with
`No module named 'PIL'`, the Rekognition analyzer with `No module named 'onnxruntime'`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from components import packaging
from tests.support.program import REGION, run_program

# Every optional component on, so every function the program can declare is here.
ALL_COMPONENTS = {
    "dependencyLayer": "host",
    "cachingEnabled": True,
    "analyticsEnabled": True,
    "edgeAuthEnabled": True,
    "textAnalysisEnabled": True,
    "dsa": {"submit": True, "tokenSecret": "dsa-token"},
}

IMPORTER = r"""
import importlib, json, os, sys
spec = json.loads(sys.argv[1])
sys.path[:] = spec["path"] + sys.path
module, _, attr = spec["handler"].rpartition(".")
handler = getattr(importlib.import_module(module), attr)
assert callable(handler), spec["handler"]
if spec["services"]:
    import boto3
    for service in spec["services"]:
        boto3.client(service, region_name=os.environ["AWS_REGION"])
site = [p for p in sys.path if "site-packages" in p and p not in spec["path"]]
print(json.dumps({"ok": True, "site": site}))
"""


@pytest.fixture(scope="module")
def declared(tmp_path_factory):
    from tests.support.edge import SigningKey

    jwks = tmp_path_factory.mktemp("imports-jwks") / "jwks.json"
    jwks.write_text(json.dumps({"keys": [SigningKey("imports").jwk()]}))
    return run_program({**ALL_COMPONENTS, "edgeAuth": {"jwksFile": str(jwks)}})


def functions(run) -> dict[str, dict]:
    out = {}
    for fn in run.of_type("aws:lambda/function:Function"):
        env = dict((fn.inputs.get("environment") or {}).get("variables") or {})
        logical = env.get("POWERTOOLS_SERVICE_NAME") or fn.inputs["handler"].split(".")[0]
        layers = [
            Path(run.by_output("arn", arn).inputs["code"].path) / "python"
            for arn in fn.inputs.get("layers") or []
        ]
        out[logical] = {
            "code": Path(fn.inputs["code"].path),
            "handler": fn.inputs["handler"],
            "layers": layers,
            "environment": env,
        }
    return out


def import_in_clean_interpreter(fn: dict, services: list[str]) -> subprocess.CompletedProcess:
    env = {
        # What Lambda sets besides the function's own variables (credentials are fake:
        # creating a client makes no request).
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "import-test",
        "AWS_SECRET_ACCESS_KEY": "import-test",
        "AWS_SESSION_TOKEN": "import-test",
        "AWS_LAMBDA_FUNCTION_NAME": fn["handler"].split(".")[0],
        "LAMBDA_TASK_ROOT": str(fn["code"]),
        **{k: str(v) for k, v in fn["environment"].items()},
    }
    spec = {
        "path": [str(fn["code"]), *map(str, fn["layers"])],
        "handler": fn["handler"],
        "services": services,
    }
    return subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", IMPORTER, json.dumps(spec)],
        cwd=fn["code"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


EXPECTED = {
    "upload",
    "status",
    "dispatcher",
    "rekognition_analyzer",
    "custom_analyzer",
    "text_analyzer",
    "sweeper",
    "notifier",
    "review",
    "banks",
    "exporter",
    "edge_auth",
    "notices",
    "dsa_submitter",
}


def test_the_program_declares_every_function_with_its_layer(declared):
    fns = functions(declared)
    assert set(fns) == EXPECTED
    for name, fn in fns.items():
        if name == "edge_auth":
            assert not fn["layers"], "Lambda@Edge allows no layers: it vendors its imports"
        else:
            (layer,) = fn["layers"]
            assert (layer / "botocore").is_dir() and (layer / "boto3").is_dir(), name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_handler_imports_from_its_package_and_layer_only(declared, name):
    fn = functions(declared)[name]
    services = [] if name == "edge_auth" else packaging.function_services(name)
    result = import_in_clean_interpreter(fn, services)
    assert result.returncode == 0, f"{name} fails at import:\n{result.stderr[-3000:]}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"ok": True, "site": []}
