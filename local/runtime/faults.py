"""Fault injection for chaos runs: what can go wrong on AWS, on demand and reproducibly.

A plan sets rates per kind of fault; the local cloud consults it on every
invocation, delivery and DynamoDB request. Every injected fault is counted so a
chaos report can say what the pipeline survived.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field


@dataclass
class FaultPlan:
    # Per-invocation probabilities, for the functions named (empty = every function).
    error_rate: float = 0.0  # the handler raises a transient error before running
    crash_before_rate: float = 0.0  # the environment dies before the handler runs
    crash_after_rate: float = 0.0  # the environment dies after the handler's side effects
    hang_rate: float = 0.0  # the invocation runs past its timeout
    functions: list[str] = field(default_factory=list)
    # Delivery duplication.
    duplicate_sqs_rate: float = 0.0
    duplicate_async_rate: float = 0.0
    # DynamoDB answers ProvisionedThroughputExceededException at this rate until the time given.
    dynamodb_throttle_rate: float = 0.0
    dynamodb_throttle_seconds: float = 0.0
    seed: int = 1


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.plan = FaultPlan()
        self._rng = random.Random(1)
        self._throttle_until = 0.0
        self.counts: Counter[str] = Counter()

    def set_plan(self, plan: FaultPlan) -> None:
        with self._lock:
            self.plan = plan
            self._rng = random.Random(plan.seed)
            self._throttle_until = (
                time.monotonic() + plan.dynamodb_throttle_seconds
                if plan.dynamodb_throttle_rate
                else 0.0
            )

    def clear(self) -> None:
        self.set_plan(FaultPlan())

    def _hit(self, rate: float) -> bool:
        return rate > 0 and self._rng.random() < rate

    def _applies(self, logical: str) -> bool:
        return not self.plan.functions or logical in self.plan.functions

    def for_invocation(self, logical: str) -> dict | None:
        with self._lock:
            if not self._applies(logical):
                return None
            p = self.plan
            for kind, rate, fault in (
                ("error", p.error_rate, {"kind": "error", "when": "before"}),
                ("crash_before", p.crash_before_rate, {"kind": "crash", "when": "before"}),
                ("crash_after", p.crash_after_rate, {"kind": "crash", "when": "after"}),
                ("hang", p.hang_rate, {"kind": "hang", "when": "before"}),
            ):
                if self._hit(rate):
                    self.counts[f"{kind}:{logical}"] += 1
                    return fault
        return None

    def duplicate_sqs(self) -> bool:
        with self._lock:
            hit = self._hit(self.plan.duplicate_sqs_rate)
            if hit:
                self.counts["duplicate_sqs"] += 1
            return hit

    def duplicate_async(self, logical: str) -> bool:
        with self._lock:
            hit = self._applies(logical) and self._hit(self.plan.duplicate_async_rate)
            if hit:
                self.counts["duplicate_async"] += 1
            return hit

    def throttle_dynamodb(self) -> bool:
        with self._lock:
            if time.monotonic() >= self._throttle_until:
                return False
            hit = self._hit(self.plan.dynamodb_throttle_rate)
            if hit:
                self.counts["dynamodb_throttle"] += 1
            return hit

    def snapshot(self) -> dict:
        with self._lock:
            return {"plan": asdict(self.plan), "injected": dict(self.counts)}
