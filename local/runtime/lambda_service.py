"""The Lambda service: pools of execution environments, concurrency, sync and async invokes.

Each environment (`environment.py`) is a worker process (`worker.py`) that imports the
handler once. Reserved concurrency caps environments and turns the excess into
throttles. Async
invocations go through an event queue per function with the configured retries,
backoff, maximum event age and on-failure destination.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil

from local.registry import AsyncConfigDef, FunctionDef, Registry
from local.runtime.environment import (
    WORKER,
    ExecutionEnvironment,
    InitFailed,
    Invocation,
    stamp,
)
from local.runtime.telemetry import Telemetry

log = logging.getLogger("local.lambdas")


class FunctionPool:
    """The execution environments of one function, capped by reserved concurrency."""

    def __init__(
        self,
        fn: FunctionDef,
        base_env: dict[str, str],
        telemetry: Telemetry,
        max_environments: int,
        idle_seconds: float,
    ) -> None:
        self.fn = fn
        self.base_env = base_env
        self.telemetry = telemetry
        self.reserved = fn.reserved_concurrency
        self.capacity = max(1, min(max_environments, self.reserved or max_environments))
        self.idle_seconds = idle_seconds
        self._idle: list[ExecutionEnvironment] = []
        self.active: set[ExecutionEnvironment] = set()
        self._busy = 0
        self._cv = threading.Condition()
        self.cold_starts = 0
        self.reset_stats()

    def reset_stats(self) -> None:
        self.stats: dict[str, Any] = {
            "invocations": 0,
            "errors": 0,
            "throttles": 0,
            "billed_ms": 0,
            "api_calls": {},
        }

    @property
    def busy(self) -> int:
        return self._busy

    def _acquire(self, wait: bool) -> ExecutionEnvironment | None:
        with self._cv:
            while True:
                if self.reserved is not None and self._busy >= self.reserved:
                    if not wait:
                        return None
                if self._idle:
                    env = self._idle.pop()
                    if env.alive:
                        self._busy += 1
                        return env
                    continue
                if self._busy < self.capacity:
                    self._busy += 1
                    break
                if not wait:
                    return None
                self._cv.wait(1.0)
        try:
            env = ExecutionEnvironment(self.fn, self.base_env, self.telemetry)
            self.cold_starts += 1
            return env
        except Exception:
            with self._cv:
                self._busy -= 1
                self._cv.notify()
            raise

    def _release(self, env: ExecutionEnvironment) -> None:
        with self._cv:
            self._busy -= 1
            if env.alive:
                self._idle.append(env)
            self._cv.notify()

    def invoke(self, event: Any, wait: bool = True, fault: dict | None = None) -> Invocation:
        """Run one invocation. Over reserved concurrency it is throttled, not queued.

        An environment that fails to start fails the invocation the way Lambda reports
        it (an Init error), so the caller's retry rules apply: nothing is dropped.
        """
        dims = {"FunctionName": self.fn.name}
        try:
            env = self._acquire(wait=wait and self.reserved is None)
        except InitFailed as exc:
            self.telemetry.metric("AWS/Lambda", "Invocations", 1, "Count", dims)
            self.telemetry.metric("AWS/Lambda", "Errors", 1, "Count", dims)
            with self._cv:
                self.stats["invocations"] += 1
                self.stats["errors"] += 1
            return Invocation(request_id=str(uuid.uuid4()), error=exc.error, init_ms=exc.init_ms)
        if env is None:
            self.stats["throttles"] += 1
            self.telemetry.metric(
                "AWS/Lambda", "Throttles", 1, "Count", {"FunctionName": self.fn.name}
            )
            return Invocation(
                request_id=str(uuid.uuid4()),
                throttled=True,
                error={
                    "errorType": "TooManyRequestsException",
                    "errorMessage": "Rate Exceeded.",
                    "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
                },
            )
        self.telemetry.metric("AWS/Lambda", "ConcurrentExecutions", self._busy, "Count", dims)
        self.active.add(env)
        try:
            inv = env.invoke(event, fault)
        finally:
            self.active.discard(env)
            self._release(env)
        self.telemetry.metric("AWS/Lambda", "Invocations", 1, "Count", dims)
        self.telemetry.metric("AWS/Lambda", "Duration", inv.duration_ms, "Milliseconds", dims)
        self.telemetry.metric("AWS/Lambda", "Errors", 0 if inv.ok else 1, "Count", dims)
        with self._cv:
            self.stats["invocations"] += 1
            self.stats["errors"] += 0 if inv.ok else 1
            self.stats["billed_ms"] += max(1, int(-(-inv.duration_ms // 1)))
            for key, n in inv.api_calls.items():
                self.stats["api_calls"][key] = self.stats["api_calls"].get(key, 0) + n
        return inv

    def reap_idle(self) -> int:
        """Stop environments idle longer than `idle_seconds`, as Lambda recycles them."""
        now = time.monotonic()
        stopped = 0
        with self._cv:
            keep = []
            for env in self._idle:
                if now - env.last_used > self.idle_seconds or not env.alive:
                    env.kill()
                    stopped += 1
                else:
                    keep.append(env)
            self._idle = keep
        return stopped

    def kill_busy_worker(self) -> bool:
        """Chaos: kill one environment in the middle of an invocation."""
        for proc in psutil.Process().children():
            try:
                cmd = proc.cmdline()
            except psutil.Error:
                continue
            if str(WORKER) in cmd and self.fn.code_dir in cmd:
                idle_pids = {e.proc.pid for e in self._idle}
                if proc.pid not in idle_pids:
                    proc.kill()
                    return True
        return False

    def shutdown(self) -> None:
        with self._cv:
            for env in self._idle:
                env.kill()
            self._idle = []


@dataclass(order=True)
class _AsyncEvent:
    ready_at: float
    seq: int
    function: str = field(compare=False)
    payload: Any = field(compare=False)
    first_seen: float = field(compare=False)
    attempts: int = field(compare=False, default=0)
    request_id: str = field(compare=False, default_factory=lambda: str(uuid.uuid4()))


class LambdaService:
    """All functions of the stack: sync invoke, the async event queue, destinations."""

    def __init__(
        self,
        registry: Registry,
        telemetry: Telemetry,
        base_env: dict[str, str],
        send_to_queue: Callable[[str, str], None],
        max_environments: int = 3,
        idle_seconds: float = 300.0,
        async_backoff: float = 1.0,
        async_workers: int = 12,
        faults: Any = None,
        credentials: dict[str, dict[str, str]] | None = None,
    ) -> None:
        """`credentials`: per function name, the AWS_* variables of its role's session."""
        self.registry = registry
        self.telemetry = telemetry
        self.send_to_queue = send_to_queue
        self.async_backoff = async_backoff
        self.faults = faults
        self.pools = {
            name: FunctionPool(
                fn,
                {**base_env, **(credentials or {}).get(name, {})},
                telemetry,
                max_environments,
                idle_seconds,
            )
            for name, fn in registry.functions.items()
        }
        self._heap: list[_AsyncEvent] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._stop = threading.Event()
        self.async_in_flight = 0
        self._threads = [
            threading.Thread(target=self._async_loop, daemon=True, name=f"async-{i}")
            for i in range(async_workers)
        ]
        self._reaper = threading.Thread(target=self._reap_loop, daemon=True, name="reaper")
        self._watchdog = threading.Thread(target=self._memory_loop, daemon=True, name="memory")

    def start(self) -> None:
        for t in self._threads:
            t.start()
        self._reaper.start()
        self._watchdog.start()

    def stop(self) -> None:
        self._stop.set()
        with self._cv:
            self._cv.notify_all()
        for pool in self.pools.values():
            pool.shutdown()

    def pool(self, ref: str) -> FunctionPool:
        return self.pools[self.registry.function_by_ref(ref).name]

    # --- sync ----------------------------------------------------------------------------

    def invoke(self, ref: str, event: Any, wait: bool = True) -> Invocation:
        pool = self.pool(ref)
        fault = self.faults.for_invocation(pool.fn.logical) if self.faults else None
        return pool.invoke(event, wait=wait, fault=fault)

    # --- async ---------------------------------------------------------------------------

    def invoke_async(self, ref: str, payload: Any) -> str:
        fn = self.registry.function_by_ref(ref)
        copies = 2 if self.faults and self.faults.duplicate_async(fn.logical) else 1
        event = None
        for _ in range(copies):
            event = _AsyncEvent(time.monotonic(), next(self._seq), fn.name, payload, time.time())
            self._push(event)
        return event.request_id if event else ""

    def _push(self, event: _AsyncEvent) -> None:
        with self._cv:
            heapq.heappush(self._heap, event)
            self._cv.notify()

    def pending_async(self) -> int:
        with self._cv:
            return len(self._heap) + self.async_in_flight

    def _async_loop(self) -> None:
        while not self._stop.is_set():
            with self._cv:
                while not self._stop.is_set():
                    if self._heap and self._heap[0].ready_at <= time.monotonic():
                        event = heapq.heappop(self._heap)
                        self.async_in_flight += 1
                        break
                    timeout = (self._heap[0].ready_at - time.monotonic()) if self._heap else 1.0
                    self._cv.wait(max(0.01, min(timeout, 1.0)))
                else:
                    return
            try:
                self._run_async(event)
            except Exception as exc:  # noqa: BLE001 - the event is retried, never dropped; logged
                log.exception("async event for %s failed to run", event.function)
                failure = Invocation(
                    request_id=event.request_id,
                    error={"errorType": "Runtime.Unknown", "errorMessage": str(exc)},
                )
                self._after_attempt(event, failure)
            finally:
                with self._cv:
                    self.async_in_flight -= 1

    def _run_async(self, event: _AsyncEvent) -> None:
        config = self.registry.async_configs.get(event.function) or AsyncConfigDef(event.function)
        age = time.time() - event.first_seen
        if age > config.max_event_age:
            self._destination(event, config, None, "EventAgeExceeded")
            return
        pool = self.pools[event.function]
        fault = self.faults.for_invocation(pool.fn.logical) if self.faults else None
        inv = pool.invoke(event.payload, wait=pool.reserved is None, fault=fault)
        if inv.throttled:
            # Throttled async events are retried (without using an attempt) until max age.
            event.ready_at = time.monotonic() + min(5.0, self.async_backoff)
            self._push(event)
            return
        self._after_attempt(event, inv)

    def _after_attempt(self, event: _AsyncEvent, inv: Invocation) -> None:
        """Count the attempt; on failure retry with backoff, then the on-failure destination."""
        config = self.registry.async_configs.get(event.function) or AsyncConfigDef(event.function)
        event.attempts += 1
        if inv.ok:
            return
        if event.attempts <= config.max_retries:
            event.ready_at = time.monotonic() + self.async_backoff * event.attempts
            self._push(event)
            return
        self._destination(event, config, inv, "RetriesExhausted")

    def _destination(
        self, event: _AsyncEvent, config: AsyncConfigDef, inv: Invocation | None, condition: str
    ) -> None:
        fn = self.registry.functions[event.function]
        record = {
            "version": "1.0",
            "timestamp": stamp(),
            "requestContext": {
                "requestId": event.request_id,
                "functionArn": f"{fn.arn}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": event.attempts,
            },
            "requestPayload": event.payload,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": (inv.error if inv else None) or {},
        }
        if config.on_failure_arn:
            self.send_to_queue(config.on_failure_arn, json.dumps(record))
        else:
            log.warning("async event for %s dropped after %s: no destination", fn.name, condition)

    def _memory_loop(self) -> None:
        """One watchdog for every busy environment: over its memory size, it is killed."""
        while not self._stop.wait(0.1):
            for pool in self.pools.values():
                for env in list(pool.active):
                    env.check_memory()

    def _reap_loop(self) -> None:
        while not self._stop.wait(10.0):
            for pool in self.pools.values():
                pool.reap_idle()


def role_credentials(sts: Any, functions: Any) -> dict[str, dict[str, str]]:
    """Each function's own role session, as Lambda gives it: the AWS_* variables.

    With IAM enforced (local/moto_patches/iam_auth.py) every request a function makes is
    authorized against its role's policy, so a missing permission fails locally as on AWS.
    """
    out: dict[str, dict[str, str]] = {}
    for fn in functions:
        if not fn.role_arn:
            continue
        creds = sts.assume_role(RoleArn=fn.role_arn, RoleSessionName=fn.name[:64])["Credentials"]
        out[fn.name] = {
            "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
            "AWS_SESSION_TOKEN": creds["SessionToken"],
        }
    return out


def base_environment(endpoint: str, region: str) -> dict[str, str]:
    """What every local execution environment sees besides the function's own variables."""
    # Nothing that names the development venv: a worker imports from its package only.
    keep = ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "SYSTEMROOT")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        AWS_REGION=region,
        AWS_DEFAULT_REGION=region,
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",
        AWS_SESSION_TOKEN="local",
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
    )
    return env
