"""One Lambda execution environment: a process that imports a handler once and serves invocations.

Started by the local cloud as `python -I -S local/runtime/worker.py HANDLER CODE_DIR [LAYER...]`
(`environment.worker_command`): it imports from the function's code directory, its layers'
`python/` directories and the standard library only, and itself needs nothing else. Speaks JSON
lines with its parent: invocations arrive on stdin; log lines, results and errors go
back on the original stdout, which the handler cannot reach (its `print` and logging
output is captured and framed as log lines of the current request).
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import json
import os
import resource
import sys
import threading
import time
import traceback

_out_lock = threading.Lock()


def _send(channel, frame: dict) -> None:
    data = (json.dumps(frame, separators=(",", ":"), default=str) + "\n").encode()
    with _out_lock:
        channel.write(data)
        channel.flush()


class _Capture(io.TextIOBase):
    """Stands in for sys.stdout/sys.stderr: each line becomes a log frame of the current request."""

    def __init__(self, channel, state: dict) -> None:
        self.channel = channel
        self.state = state
        self.buffer_text = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.buffer_text += text
        while "\n" in self.buffer_text:
            line, self.buffer_text = self.buffer_text.split("\n", 1)
            _send(self.channel, {"t": "log", "rid": self.state.get("rid"), "line": line})
        return len(text)

    def flush(self) -> None:
        if self.buffer_text:
            _send(
                self.channel, {"t": "log", "rid": self.state.get("rid"), "line": self.buffer_text}
            )
            self.buffer_text = ""


def _max_rss_mb() -> int:
    """Peak resident memory of this environment.

    VmHWM belongs to the current address space, so it starts fresh at exec; getrusage's
    ru_maxrss would carry over the parent's peak from before the fork.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # not Linux
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


class _Context:
    def __init__(self, frame: dict) -> None:
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.invoked_function_arn = frame.get("arn", "")
        self.aws_request_id = frame["rid"]
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline = time.time() + float(frame.get("timeout", 3))

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


class InjectedFault(RuntimeError):
    """A fault the local cloud's chaos mode asked this invocation to suffer."""


def _apply_fault(fault: dict, when: str) -> None:
    """Chaos hooks: fail, hang past the timeout, or crash before or after the handler's work."""
    if fault.get("when", "before") != when:
        return
    kind = fault.get("kind")
    if kind == "error":
        raise InjectedFault(fault.get("message", "injected transient error"))
    if kind == "hang":
        time.sleep(float(fault.get("seconds", 3600)))
    if kind == "crash":
        sys.stdout.flush()
        os._exit(137)


def _count_aws_calls() -> dict[str, int]:
    """Count every AWS API call the function makes, by service and operation.

    Registered on boto3's default session before the handler is imported, so every
    client the handler creates inherits it. The cost benchmark reads these counts. A
    function without the SDK in its package (Lambda@Edge's) makes no calls to count.
    """
    counts: dict[str, int] = {}
    if importlib.util.find_spec("boto3") is None:
        return counts
    import boto3

    def count(model, **_kwargs) -> None:
        key = f"{model.service_model.service_name}:{model.name}"
        counts[key] = counts.get(key, 0) + 1

    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register("before-call", count)
    return counts


def _drain(counts: dict[str, int]) -> dict[str, int]:
    out = dict(counts)
    counts.clear()
    return out


def main() -> None:
    handler_spec, code_dir, layers = sys.argv[1], sys.argv[2], sys.argv[3:]
    # The protocol channel is a private copy of stdout; fd 1 then points at stderr so
    # nothing the handler writes at the C level can corrupt the protocol.
    channel = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    state: dict = {"rid": None}
    sys.stdout = _Capture(channel, state)
    sys.stderr = _Capture(channel, state)
    if not (sys.flags.isolated and sys.flags.no_site):
        _send(
            channel,
            {
                "t": "init_error",
                "errorType": "Runtime.InvalidEntrypoint",
                "errorMessage": "the worker must run as `python -I -S` (no site-packages)",
            },
        )
        sys.exit(1)
    # As on Lambda: the function's code, then its layers, then the standard library (which
    # is all `-I -S` leaves on the path). A module missing from the package and its layers
    # fails here as it would on AWS.
    sys.path[:] = [code_dir, *layers, *sys.path]
    os.chdir(code_dir)

    calls = _count_aws_calls()
    module_name, _, attr = handler_spec.rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), attr)
    except Exception as exc:  # noqa: BLE001 - an init failure is reported like Lambda does
        _send(
            channel,
            {
                "t": "init_error",
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_exc().splitlines(),
            },
        )
        sys.exit(1)
    _send(channel, {"t": "ready", "max_rss_mb": _max_rss_mb()})

    for raw in sys.stdin.buffer:
        frame = json.loads(raw)
        if frame.get("t") != "invoke":
            continue
        state["rid"] = frame["rid"]
        started = time.perf_counter()
        fault = frame.get("fault") or {}
        try:
            _apply_fault(fault, "before")
            result = handler(frame["event"], _Context(frame))
            _apply_fault(fault, "after")
            sys.stdout.flush()
            sys.stderr.flush()
            _send(
                channel,
                {
                    "t": "result",
                    "rid": frame["rid"],
                    "payload": result,
                    "duration_ms": (time.perf_counter() - started) * 1000,
                    "max_rss_mb": _max_rss_mb(),
                    "calls": _drain(calls),
                },
            )
        except Exception as exc:  # noqa: BLE001 - the runtime reports handler errors, it does not die
            sys.stdout.flush()
            sys.stderr.flush()
            _send(
                channel,
                {
                    "t": "error",
                    "rid": frame["rid"],
                    "errorType": type(exc).__name__,
                    "errorMessage": str(exc),
                    "stackTrace": traceback.format_exc().splitlines(),
                    "duration_ms": (time.perf_counter() - started) * 1000,
                    "max_rss_mb": _max_rss_mb(),
                    "calls": _drain(calls),
                },
            )
        finally:
            state["rid"] = None


if __name__ == "__main__":
    main()
