"""Talk to a running local cloud: its endpoints, outputs, control API, and tokens."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

# Where `python -m local up` keeps its state unless told otherwise.
DEFAULT_STATE_DIR = Path(__file__).resolve().parent.parent / ".local-cloud"


class NotRunning(RuntimeError):
    """No local cloud is running in the state directory."""


class LocalCloudClient:
    def __init__(self, state_dir: Path = DEFAULT_STATE_DIR) -> None:
        self.state_dir = Path(state_dir)
        state_file = self.state_dir / "state.json"
        if not state_file.exists():
            raise NotRunning(
                f"no local cloud state in {self.state_dir}; start one with `python -m local up`"
            )
        self.state = json.loads(state_file.read_text())
        if not self.state.get("ready"):
            raise NotRunning(f"the local cloud did not start: {self.state.get('error')}")
        if not process_alive(self.state["pid"]):
            raise NotRunning(f"the local cloud (pid {self.state['pid']}) is not running")
        self.outputs: dict[str, Any] = json.loads((self.state_dir / "outputs.json").read_text())
        self._clients: dict[str, Any] = {}

    @property
    def endpoint(self) -> str:
        return self.state["endpoint"]

    @property
    def api_url(self) -> str:
        return self.state["api_url"]

    @property
    def region(self) -> str:
        return self.state["region"]

    def client(self, service: str):
        if service not in self._clients:
            os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
            self._clients[service] = boto3.client(
                service,
                endpoint_url=self.endpoint,
                region_name=self.region,
                aws_access_key_id="local",
                aws_secret_access_key="local",
                config=Config(
                    retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=64
                ),
            )
        return self._clients[service]

    def control(self, action: str, body: dict | None = None, timeout: float = 60) -> Any:
        request = urllib.request.Request(
            f"{self.endpoint}/_local/{action}",
            data=json.dumps(body or {}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return json.loads(resp.read())

    def token(
        self, user: str = "demo-user", token_use: str = "id", groups: list[str] | None = None
    ) -> str:
        """A token of the local identity provider; `groups` become its `cognito:groups`."""
        body = {"user": user, "token_use": token_use, "groups": list(groups or [])}
        return self.control("token", body)["token"]


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists (it may belong to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start_cloud(
    state_dir: Path,
    settings: dict[str, Any] | None = None,
    options: list[str] | None = None,
    wait: float = 240,
) -> LocalCloudClient:
    """Start a local cloud in `state_dir` through the CLI and return a client for it."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    cmd = [sys.executable, "-m", "local", "--state-dir", str(state_dir), "up", "--wait", str(wait)]
    for key, value in (settings or {}).items():
        cmd += ["--set", f"{key}={json.dumps(value)}"]
    cmd += options or []
    result = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=wait + 60)
    if result.returncode != 0:
        raise NotRunning(f"the local cloud did not start:\n{result.stdout}{result.stderr}")
    return LocalCloudClient(state_dir)


def stop_cloud(state_dir: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [sys.executable, "-m", "local", "--state-dir", str(state_dir), "down"],
        cwd=root,
        capture_output=True,
        timeout=120,
    )
