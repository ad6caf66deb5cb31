"""One Lambda execution environment: a worker process hosting one function's handler.

The first invocation pays the cold start and its REPORT line carries an Init Duration;
later ones reuse it warm. The configured timeout kills the process and is reported as
Lambda reports it; memory above the configured size kills it too (the service's memory
watchdog calls `check_memory`).
"""

from __future__ import annotations

import json
import logging
import secrets
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from local.registry import FunctionDef
from local.runtime.telemetry import Telemetry, report_line

log = logging.getLogger("local.runtime.environment")
WORKER = Path(__file__).resolve().parent / "worker.py"
# Lambda's Init phase gets 10 s; one that runs over is retried by Lambda within the
# first invocation, under the function's timeout. Locally the same init is allowed to
# finish within max(10 s, the timeout) instead of being started again.
INIT_TIMEOUT = 10.0


def init_timeout(function_timeout: float) -> float:
    return max(INIT_TIMEOUT, float(function_timeout))


@dataclass
class Invocation:
    request_id: str
    ok: bool = False
    payload: Any = None
    error: dict | None = None
    duration_ms: float = 0.0
    init_ms: float | None = None
    throttled: bool = False
    max_memory_mb: int = 0
    api_calls: dict[str, int] = field(default_factory=dict)

    @property
    def function_error(self) -> bool:
        return not self.ok and not self.throttled


def _log_stream() -> str:
    return f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{secrets.token_hex(16)}"


def import_path(fn: FunctionDef) -> list[str]:
    """What a function imports from, as on Lambda: its code, then each layer's `python/`."""
    return [fn.code_dir, *(str(Path(layer) / "python") for layer in fn.layers)]


def worker_command(fn: FunctionDef) -> list[str]:
    """An isolated interpreter (`-I`: no PYTHON* variables, no user site; `-S`: no
    site-packages) that imports from exactly `import_path(fn)` and the standard library:
    nothing of the development venv, so a dependency the function's package and layers
    lack fails at init here as it does on AWS. `-B`: nothing is written into the code
    or layer directories (read-only on Lambda; a local layer's files are hard links into
    the venv, its bytecode included)."""
    return [sys.executable, "-I", "-S", "-B", "-u", str(WORKER), fn.handler, *import_path(fn)]


class InitFailed(RuntimeError):
    """The environment died or failed while importing the handler (Lambda's Init phase)."""

    def __init__(self, error: dict, init_ms: float) -> None:
        super().__init__(f"{error['errorType']}: {error['errorMessage']}")
        self.error = error
        self.init_ms = init_ms


class ExecutionEnvironment:
    """One worker process hosting one function."""

    def __init__(self, fn: FunctionDef, base_env: dict[str, str], telemetry: Telemetry) -> None:
        self.fn = fn
        self.telemetry = telemetry
        self.stream = _log_stream()
        self.cold = True
        self._pending: dict[str, dict] = {}
        self._cv = threading.Condition()
        self._rid: str | None = None
        env = {
            **base_env,
            **fn.environment,
            "AWS_LAMBDA_FUNCTION_NAME": fn.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": fn.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": self.stream,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.runtime}",
            "LAMBDA_TASK_ROOT": fn.code_dir,
            "_HANDLER": fn.handler,
            # X-Ray is not emulated locally: tracing is off in local environments.
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            worker_command(fn),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=fn.code_dir,
        )
        self._reader = threading.Thread(target=self._read, daemon=True, name=f"env-{fn.name}")
        self._reader.start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        ready = self._wait("ready", init_timeout(fn.timeout))
        self.init_ms = (time.perf_counter() - started) * 1000
        if ready is None or ready.get("t") != "ready":
            self.kill()
            if ready is None:
                err = {
                    "errorType": "Runtime.InitTimeout",
                    "errorMessage": f"init did not finish in {init_timeout(fn.timeout):.0f} s",
                }
            elif ready.get("t") == "init_error":
                err = {
                    "errorType": ready.get("errorType") or "Runtime.InitError",
                    "errorMessage": ready.get("errorMessage") or "",
                    "stackTrace": ready.get("stackTrace", []),
                }
            else:
                err = {
                    "errorType": "Runtime.ExitError",
                    "errorMessage": f"Runtime exited during init: exit status {self.proc.returncode}",
                }
            self._log(
                f"INIT_REPORT Init Duration: {self.init_ms:.2f} ms\tPhase: init\tStatus: error"
            )
            self._log(f"[ERROR] {err['errorType']}: {err['errorMessage']}")
            raise InitFailed(err, self.init_ms)
        self.last_used = time.monotonic()
        self.invoking = False
        self.oom = False
        self.peak_rss_mb = 0.0

    def check_memory(self) -> None:
        """Called by the service's memory watchdog: a busy environment over its size is killed."""
        if not self.invoking:
            return
        rss = self.rss_mb()
        self.peak_rss_mb = max(self.peak_rss_mb, rss)
        if rss > self.fn.memory:
            self.oom = True
            self.proc.kill()

    # --- process I/O ---------------------------------------------------------------------

    def _log(self, line: str) -> None:
        self.telemetry.log(self.fn.log_group, self.stream, line)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                frame = json.loads(raw)
            except ValueError:
                continue
            kind = frame.get("t")
            if kind == "log":
                line = frame["line"]
                if not self.telemetry.emf(line):
                    self._log(line)
                continue
            with self._cv:
                self._pending[frame.get("rid") or kind] = frame
                self._cv.notify_all()
        with self._cv:
            self._pending["__exit__"] = {"t": "exit"}
            self._cv.notify_all()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self._log(raw.decode(errors="replace").rstrip("\n"))

    def _wait(self, key: str, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        with self._cv:
            while key not in self._pending and "__exit__" not in self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cv.wait(left)
            if key in self._pending:
                return self._pending.pop(key)
            # The process exited; an init error frame may have arrived first.
            return self._pending.pop("init_error", None) or self._pending.get("__exit__")

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def rss_mb(self) -> float:
        try:
            return psutil.Process(self.proc.pid).memory_info().rss / (1024 * 1024)
        except psutil.Error:
            return 0.0

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.warning("worker %s did not exit", self.proc.pid)
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                if pipe:
                    pipe.close()
            except OSError:
                log.debug("closing a worker pipe failed", exc_info=True)

    # --- invoke --------------------------------------------------------------------------

    def invoke(self, event: Any, fault: dict | None = None) -> Invocation:
        rid = str(uuid.uuid4())
        inv = Invocation(request_id=rid)
        init = self.init_ms if self.cold else None
        self.cold = False
        inv.init_ms = init
        self._log(f"START RequestId: {rid} Version: $LATEST")
        frame = {
            "t": "invoke",
            "rid": rid,
            "event": event,
            "timeout": self.fn.timeout,
            "arn": self.fn.arn,
            "fault": fault or {},
        }
        started = time.perf_counter()
        self.oom = False
        self.invoking = True
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write((json.dumps(frame, default=str) + "\n").encode())
            self.proc.stdin.flush()
            result = self._wait(rid, self.fn.timeout)
        except (BrokenPipeError, OSError):
            result = {"t": "exit"}
        finally:
            self.invoking = False
        elapsed = (time.perf_counter() - started) * 1000
        max_mem = int(max(self.peak_rss_mb, (result or {}).get("max_rss_mb", 0)))
        inv.max_memory_mb = max(max_mem, 1)
        inv.api_calls = (result or {}).get("calls") or {}

        if result is None:
            self.kill()
            inv.duration_ms = self.fn.timeout * 1000.0
            message = f"Task timed out after {self.fn.timeout:.2f} seconds"
            self._log(f"{stamp()} {rid} {message}")
            inv.error = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"RequestId: {rid} Error: {message}",
            }
        elif result.get("t") == "exit":
            self.kill()
            inv.duration_ms = elapsed
            if self.oom:
                detail = "Runtime exited with error: signal: killed (Runtime.OutOfMemory)"
                inv.error = {
                    "errorType": "Runtime.OutOfMemory",
                    "errorMessage": f"RequestId: {rid} Error: {detail}",
                }
            else:
                detail = f"Runtime exited with error: exit status {self.proc.returncode}"
                inv.error = {
                    "errorType": "Runtime.ExitError",
                    "errorMessage": f"RequestId: {rid} Error: {detail}",
                }
            self._log(f"{stamp()} {rid} {detail}")
        elif result.get("t") == "error":
            inv.duration_ms = result["duration_ms"]
            inv.error = {
                "errorMessage": result["errorMessage"],
                "errorType": result["errorType"],
                "requestId": rid,
                "stackTrace": result.get("stackTrace", []),
            }
            self._log(
                f"[ERROR] {result['errorType']}: {result['errorMessage']}\n"
                + "\n".join(result.get("stackTrace", [])[-6:])
            )
        else:
            inv.ok = True
            inv.payload = result.get("payload")
            inv.duration_ms = result["duration_ms"]

        self._log(f"END RequestId: {rid}")
        self._log(report_line(rid, inv.duration_ms, self.fn.memory, max(max_mem, 1), init))
        self.last_used = time.monotonic()
        return inv


def stamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
