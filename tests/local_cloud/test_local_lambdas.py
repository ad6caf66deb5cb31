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
