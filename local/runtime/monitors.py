"""What AWS does on a clock: schedules, SQS queue metrics, and alarm evaluation."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from datetime import UTC, datetime

from local.registry import ScheduleDef
from local.runtime.telemetry import Telemetry, alarm_state

log = logging.getLogger("local.runtime.monitors")
_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def rate_seconds(expression: str) -> float | None:
    match = _RATE.match(expression.strip())
    if not match:
        return None
    return int(match.group(1)) * _UNIT[match.group(2)]


class Scheduler:
    """EventBridge rules with rate() schedules invoke their Lambda targets asynchronously."""

    def __init__(
        self, schedules: list[ScheduleDef], lambdas, region: str, time_scale: float = 1.0
    ) -> None:
        self.entries = []
        self.unsupported: list[str] = []
        for sched in schedules:
            seconds = rate_seconds(sched.expression)
            if seconds is None:
                self.unsupported.append(f"{sched.rule}: {sched.expression}")
                continue
            self.entries.append((sched, seconds * time_scale))
        self.lambdas = lambdas
        self.region = region
        self.fired: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="scheduler")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def fire(self, sched: ScheduleDef) -> None:
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": [f"arn:aws:events:{self.region}:123456789012:rule/{sched.rule}"],
            "detail": {},
        }
        for fn in sched.functions:
            self.lambdas.invoke_async(fn, event)
        self.fired[sched.rule] = self.fired.get(sched.rule, 0) + 1

    def _loop(self) -> None:
        due = {s.rule: time.monotonic() + period for s, period in self.entries}
        while not self._stop.wait(0.5):
            for sched, period in self.entries:
                if time.monotonic() >= due[sched.rule]:
                    due[sched.rule] = time.monotonic() + period
                    self.fire(sched)


def queue_depths(queue_name: str, region: str = "us-east-1") -> dict[str, float]:
    """Visible, in-flight, delayed and age of oldest message, read from moto's queue state.

    SQS's GetQueueAttributes has no age-of-oldest figure; CloudWatch computes it from
    the queue. The local cloud does the same from moto's in-process state.
    """
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[DEFAULT_ACCOUNT_ID][region].queues.get(queue_name)
    if queue is None:
        return {}
    now_ms = time.time() * 1000
    messages = list(queue._messages)
    visible = [m for m in messages if m.visible and not m.delayed]
    oldest = min((int(m.sent_timestamp) for m in messages), default=None)
    return {
        "ApproximateNumberOfMessagesVisible": float(len(visible)),
        "ApproximateNumberOfMessagesNotVisible": float(sum(1 for m in messages if not m.visible)),
        "ApproximateNumberOfMessagesDelayed": float(sum(1 for m in messages if m.delayed)),
        "ApproximateAgeOfOldestMessage": max(0.0, (now_ms - oldest) / 1000) if oldest else 0.0,
    }


class Sampler:
    """Every `interval` seconds: AWS/SQS metrics per declared queue, then alarm evaluation."""

    def __init__(
        self,
        telemetry: Telemetry,
        queue_names: list[str],
        cloudwatch,
        sns,
        region: str,
        lambdas=None,
        interval: float = 10.0,
        alarm_interval: float = 30.0,
    ) -> None:
        self.telemetry = telemetry
        self.queue_names = queue_names
        self.cloudwatch = cloudwatch
        self.sns = sns
        self.region = region
        self.lambdas = lambdas
        self.interval = interval
        self.alarm_interval = alarm_interval
        self.latest: dict[str, dict[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="sampler")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def sample(self) -> None:
        for name in self.queue_names:
            depths = queue_depths(name, self.region)
            self.latest[name] = depths
            for metric, value in depths.items():
                unit = "Seconds" if metric.startswith("ApproximateAge") else "Count"
                self.telemetry.metric("AWS/SQS", metric, value, unit, {"QueueName": name})
        if self.lambdas is not None:
            for pool in self.lambdas.pools.values():
                self.telemetry.metric(
                    "AWS/Lambda",
                    "ConcurrentExecutions",
                    pool.busy,
                    "Count",
                    {"FunctionName": pool.fn.name},
                )

    def evaluate_alarms(self) -> None:
        self.telemetry.flush()
        now = datetime.now(UTC)
        for alarm in self.cloudwatch.describe_alarms().get("MetricAlarms", []):
            result = alarm_state(self.cloudwatch, alarm, now)
            if result is None:
                continue
            state, reason = result
            if state == alarm.get("StateValue"):
                continue
            self.cloudwatch.set_alarm_state(
                AlarmName=alarm["AlarmName"], StateValue=state, StateReason=reason
            )
            actions = (
                alarm.get("AlarmActions", []) if state == "ALARM" else alarm.get("OKActions", [])
            )
            for arn in actions:
                if ":sns:" in arn:
                    self.sns.publish(
                        TopicArn=arn,
                        Message=json.dumps(
                            {
                                "AlarmName": alarm["AlarmName"],
                                "NewStateValue": state,
                                "NewStateReason": reason,
                                "StateChangeTime": now.isoformat(),
                            }
                        ),
                    )

    def _loop(self) -> None:
        last_alarm = 0.0
        while not self._stop.wait(self.interval):
            try:
                self.sample()
                if time.monotonic() - last_alarm >= self.alarm_interval:
                    last_alarm = time.monotonic()
                    self.evaluate_alarms()
            except Exception:  # noqa: BLE001 - sampling must not stop; logged
                log.exception("sampling failed")
