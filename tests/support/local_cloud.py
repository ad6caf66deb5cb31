"""A local cloud for tests: the real program with short timeouts, so redelivery, retries
and the sweeper happen within seconds rather than minutes. The model analyzers keep 30 s:
their cold start loads models, and on two shared cores several environments start at
once (an init may run up to the timeout, as Lambda allows); the dispatcher 5 s, so the
CPU those cold starts take cannot time it out and send healthy jobs to the DLQ."""

from __future__ import annotations

from pathlib import Path
from typing import Any

LOCAL_TEST_SETTINGS: dict[str, Any] = {
    "functions": {
        "dispatcher": {"timeout": 5},
        "rekognition_analyzer": {"timeout": 10},
        "custom_analyzer": {"timeout": 30},
        "text_analyzer": {"timeout": 30},
        # A reservation, so throttling can be tested (stacks reserve nothing by default).
        "sweeper": {"timeout": 3, "reservedConcurrency": 1},
    },
    "jobDeadlineSeconds": 120,
    # Within the short deadline: 60 s + twice the slowest analyzer (30 s) <= 120 s.
    "presignExpirySeconds": 60,
    # Enforced, but above what the tests' few users send (tests/handlers/test_quotas.py
    # tests the limits themselves).
    "quota": {"uploadsPerMinute": 1000, "uploadsPerDay": 10000},
}
LOCAL_TEST_OPTIONS = ["--schedule-scale", "0.1", "--async-backoff", "0.5", "--sample-interval", "2"]


def start_local_cloud(
    state_dir: Path, settings: dict[str, Any] | None = None, options: list[str] | None = None
) -> Any:
    """Start a local cloud in `state_dir` with the test settings; return a client for it."""
    from local.client import start_cloud

    return start_cloud(
        state_dir,
        {**LOCAL_TEST_SETTINGS, **(settings or {})},
        LOCAL_TEST_OPTIONS if options is None else options,
    )


def stop_local_cloud(state_dir: Path) -> None:
    from local.client import stop_cloud

    stop_cloud(state_dir)
