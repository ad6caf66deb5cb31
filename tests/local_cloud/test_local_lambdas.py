"""Execution environments: an Init failure is an invocation error, retried, never dropped."""

from __future__ import annotations

import json
import time
from pathlib import Path

from local.registry import AsyncConfigDef, FunctionDef, Registry
from local.runtime.lambda_service import FunctionPool, LambdaService, base_environment


class Sink:
    """Telemetry that keeps what the environments write, for assertions."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.metrics: list[tuple[str, float]] = []

    def log(self, group, stream, message, timestamp_ms=None) -> None:
        self.lines.append(message)

    def emf(self, line: str) -> bool:
        return False

    def metric(self, namespace, name, value, unit="Count", dimensions=None, timestamp=None) -> None:
        self.metrics.append((name, value))


def function(tmp_path: Path, body: str, name: str = "broken") -> FunctionDef:
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "handler.py").write_text(body)
    return FunctionDef(
        logical=name,
        name=f"local-{name}",
        arn=f"arn:aws:lambda:us-east-1:123456789012:function:local-{name}",
        handler=f"{name}.handler.handler",
        runtime="python3.12",
        code_dir=str(tmp_path),
        memory=256,
        timeout=5,
        reserved_concurrency=None,
        environment={},
        architecture="arm64",
        log_group=f"/aws/lambda/local-{name}",
    )


def test_an_import_error_fails_the_invocation_like_lambda(tmp_path):
    fn = function(
        tmp_path, "raise ImportError('no model file')\n\ndef handler(e, c):\n    return 1\n"
    )
    sink = Sink()
    pool = FunctionPool(fn, base_environment("http://127.0.0.1:9", "us-east-1"), sink, 2, 60)
    inv = pool.invoke({"x": 1})
    assert not inv.ok and not inv.throttled
    assert inv.error["errorType"] == "ImportError"
    assert "no model file" in inv.error["errorMessage"]
    assert any(line.startswith("INIT_REPORT") and "Status: error" in line for line in sink.lines)
    assert ("Errors", 1) in sink.metrics
    assert pool.busy == 0, "the failed environment frees its slot"


def test_an_async_event_whose_environment_cannot_start_reaches_the_destination(tmp_path):
    fn = function(tmp_path, "import os\nos._exit(3)\n")
    registry = Registry(functions={fn.name: fn})
    registry.async_configs[fn.name] = AsyncConfigDef(fn.name, max_retries=2, on_failure_arn="arn:q")
    sent: list[tuple[str, str]] = []
    service = LambdaService(
        registry,
        Sink(),
        base_environment("http://127.0.0.1:9", "us-east-1"),
        lambda arn, body: sent.append((arn, body)),
        async_backoff=0.05,
        async_workers=2,
    )
    service.start()
    try:
        service.invoke_async(fn.name, {"job_id": "j-1"})
        deadline = time.monotonic() + 60
        while not sent and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        service.stop()
    ((arn, body),) = sent
    record = json.loads(body)
    assert arn == "arn:q"
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"] == {"job_id": "j-1"}
    assert record["responsePayload"]["errorType"] == "Runtime.ExitError"


def test_a_module_only_the_development_venv_has_fails_at_init_as_on_aws(tmp_path):
    """The worker imports from the function's package and layers only (`python -I -S`)."""
    fn = function(tmp_path, "import PIL\n\ndef handler(e, c):\n    return PIL.__name__\n")
    sink = Sink()
    pool = FunctionPool(fn, base_environment("http://127.0.0.1:9", "us-east-1"), sink, 1, 60)
    inv = pool.invoke({})
    assert not inv.ok
    assert inv.error["errorType"] == "ModuleNotFoundError"
    assert "No module named 'PIL'" in inv.error["errorMessage"]


def test_a_function_imports_what_its_layer_holds(tmp_path):
    from components import packaging

    body = (
        "import sys\nimport PIL\nimport boto3\n\n"
        "def handler(e, c):\n"
        "    return {'pil': PIL.__file__, 'boto3': boto3.__file__, 'path': sys.path}\n"
    )
    fn = function(tmp_path, body, name="layered")
    layer = packaging.build_host_layer(packaging.layer_requirements("upload"), ["s3"])
    fn.layers = [str(layer)]
    pool = FunctionPool(fn, base_environment("http://127.0.0.1:9", "us-east-1"), Sink(), 1, 60)
    inv = pool.invoke({})
    assert inv.ok, inv.error
    assert inv.payload["pil"].startswith(str(layer / "python"))
    assert inv.payload["boto3"].startswith(str(layer / "python"))
    assert inv.payload["path"][:2] == [str(tmp_path), str(layer / "python")]
    assert not any("site-packages" in p for p in inv.payload["path"])
