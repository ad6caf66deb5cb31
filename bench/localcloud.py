"""A fresh local cloud for one benchmark, and the memory it uses."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import psutil

from local.client import LocalCloudClient, start_cloud, stop_cloud

# Short timeouts so retries and redelivery happen within a benchmark's run.
FAST = {
    "functions": {
        "dispatcher": {"timeout": 5},
        "rekognition_analyzer": {"timeout": 8},
        # The model functions' cold start loads models: several at once on two cores.
        "custom_analyzer": {"timeout": 30},
        "text_analyzer": {"timeout": 30},
        "upload": {"timeout": 6},
    },
}


# The load tool stands in for many users with five tokens: per-user limits at their
# highest, so a benchmark measures the pipeline, not the quota (still one write each).
LOAD_QUOTA = {"uploadsPerMinute": 1000, "uploadsPerDay": 10000}


@contextlib.contextmanager
def fresh_cloud(settings: dict | None = None, options: list[str] | None = None):
    with tempfile.TemporaryDirectory(prefix="bench-cloud-") as tmp:
        state = Path(tmp) / "state"
        cloud = start_cloud(state, {"quota": LOAD_QUOTA, **(settings or {})}, options)
        try:
            yield cloud
        finally:
            stop_cloud(state)


def memory_mb(cloud: LocalCloudClient) -> dict[str, float]:
    """Resident memory of the local cloud: its process and every execution environment.

    PSS (proportional set size) shares pages between processes fairly, so the total is
    what the machine actually spends; RSS would count shared libraries many times.
    """
    root = psutil.Process(cloud.state["pid"])
    procs = [root, *root.children(recursive=True)]
    rss = pss = 0.0
    for proc in procs:
        try:
            info = proc.memory_full_info()
        except psutil.Error:
            continue
        rss += info.rss
        pss += getattr(info, "pss", info.rss)
    return {
        "processes": len(procs),
        "rss_mb": round(rss / 2**20, 1),
        "pss_mb": round(pss / 2**20, 1),
    }
