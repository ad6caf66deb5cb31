"""Which stack the dashboard looks at, and boto3 clients for it.

Three ways to name a stack, one code path after that:
- the embedded local cloud (default): its state directory holds `outputs.json`
  (shaped like `pulumi stack output --json`) and `state.json` (where it listens);
- a file written by `pulumi stack output --json > outputs.json`;
- a Pulumi stack name, read with `pulumi stack output --json --stack NAME` when the
  Pulumi CLI is installed.
An AWS profile and region choose the credentials for the last two.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from lambdas.common.contract import Output
from local.client import DEFAULT_STATE_DIR, process_alive

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
KINDS = ("local", "outputs", "stack")
KIND_LABELS = {
    "local": "Local cloud",
    "outputs": "Outputs file (pulumi stack output --json)",
    "stack": "Pulumi stack",
}
DEFAULT_DEADLINE_SECONDS = 900

# Short timeouts and few retries: a dashboard should say "unreachable" quickly rather
# than hang a page for a minute of backoff.
CLIENT_CONFIG = Config(
    connect_timeout=3,
    read_timeout=20,
    retries={"mode": "standard", "max_attempts": 3},
    max_pool_connections=32,
)


class TargetUnavailable(RuntimeError):
    """The chosen stack cannot be opened; the message says why and what to do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(f"{message} {hint}".strip())
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class TargetSpec:
    """What the operator chose; hashable so it can key caches."""

    kind: str = "local"
    location: str = ""
    profile: str | None = None
    region: str | None = None

    def key(self) -> str:
        return json.dumps([self.kind, self.location, self.profile, self.region])

    def describe(self) -> str:
        where = self.location or (str(DEFAULT_STATE_DIR) if self.kind == "local" else "?")
        extra = "".join(
            f", {k} {v}" for k, v in (("profile", self.profile), ("region", self.region)) if v
        )
        return f"{KIND_LABELS.get(self.kind, self.kind)}: {where}{extra}"


@dataclass
class Target:
    spec: TargetSpec
    outputs: dict[str, Any]
    region: str
    endpoint_url: str | None = None
    local_state: dict[str, Any] | None = None
    local_registry: dict[str, Any] | None = None
    profile: str | None = None
    # Lambda's GetFunctionConfiguration per function name, filled by `load_lambda_config`.
    lambda_config: dict[str, dict[str, Any]] = field(default_factory=dict)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_local(self) -> bool:
        return self.spec.kind == "local"

    @property
    def features(self) -> dict[str, bool]:
        return {k: bool(v) for k, v in (self.outputs.get(Output.FEATURES) or {}).items()}

    @property
    def name(self) -> str:
        return str(self.outputs.get(Output.STACK) or self.spec.location or "stack")

    def client(self, service: str) -> Any:
        # Typed as Any: the service is a runtime string; callers name their client's service.
        if service not in self._clients:
            if self.endpoint_url:
                os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
                self._clients[service] = boto3.client(  # type: ignore[call-overload]  # stubs: literal service names only
                    service,
                    endpoint_url=self.endpoint_url,
                    region_name=self.region,
                    aws_access_key_id="local",
                    aws_secret_access_key="local",
                    config=CLIENT_CONFIG,
                )
            else:
                session = boto3.Session(profile_name=self.profile, region_name=self.region)
                self._clients[service] = session.client(service, config=CLIENT_CONFIG)  # type: ignore[call-overload]  # stubs: literal service names only
        return self._clients[service]

    def queues(self) -> dict[str, str]:
        """The stack's queues by role, as named in the outputs."""
        roles = {
            "processing": "processing_queue_url",
            "dlq": "dlq_url",
            "failure": "failure_queue_url",
        }
        return {role: self.outputs[key] for role, key in roles.items() if self.outputs.get(key)}

    def function_settings(self) -> dict[str, dict[str, Any]]:
        """Per logical function: name, memory, timeout and environment when known.

        Memory comes from the `function_memory` output. Timeouts and environment come
        from the local cloud's registry, or from Lambda's GetFunctionConfiguration on AWS
        (read lazily by `lambda_configuration`).
        """
        functions = self.outputs.get(Output.FUNCTIONS) or {}
        memory = self.outputs.get(Output.FUNCTION_MEMORY) or {}
        registry = (self.local_registry or {}).get("functions") or {}
        settings: dict[str, dict[str, Any]] = {}
        for logical, name in functions.items():
            entry: dict[str, Any] = {"name": name, "memory": memory.get(logical)}
            reg = registry.get(name) or self.lambda_config.get(name)
            if reg:
                entry.update(
                    timeout=reg.get("timeout"),
                    environment=reg.get("environment") or {},
                    architecture=reg.get("architecture"),
                )
                entry["memory"] = entry["memory"] or reg.get("memory")
            settings[logical] = entry
        return settings

    def job_deadline_seconds(self) -> tuple[int, str]:
        """The sweeper's deadline and where the figure came from."""
        if self.outputs.get(Output.JOB_DEADLINE_SECONDS):
            return int(self.outputs[Output.JOB_DEADLINE_SECONDS]), "stack output"
        sweeper = self.function_settings().get("sweeper", {})
        env = sweeper.get("environment") or {}
        if env.get("JOB_DEADLINE_SECONDS"):
            return int(env["JOB_DEADLINE_SECONDS"]), "sweeper environment"
        config = ((self.local_state or {}).get("options") or {}).get("config") or {}
        if config.get("jobDeadlineSeconds"):
            return int(config["jobDeadlineSeconds"]), "local cloud settings"
        return DEFAULT_DEADLINE_SECONDS, "default (moderation:jobDeadlineSeconds)"


def load_lambda_config(target: Target) -> list[str]:
    """Read timeout, memory, architecture and environment of each function from Lambda.

    The local cloud's registry already has them; on AWS this needs
    lambda:GetFunctionConfiguration. Returns the functions that could not be read.
    """
    if target.local_registry is not None:
        return []
    missing = []
    for name in (target.outputs.get(Output.FUNCTIONS) or {}).values():
        if name in target.lambda_config:
            continue
        try:
            cfg = target.client("lambda").get_function_configuration(FunctionName=name)
        except Exception as exc:  # noqa: BLE001 - optional detail; logged, callers list what is missing
            log.warning("GetFunctionConfiguration %s failed: %s", name, exc)
            missing.append(name)
            continue
        target.lambda_config[name] = {
            "timeout": cfg.get("Timeout"),
            "memory": cfg.get("MemorySize"),
            "architecture": (cfg.get("Architectures") or ["x86_64"])[0],
            "environment": (cfg.get("Environment") or {}).get("Variables") or {},
        }
    return missing


# --- resolving a spec ---------------------------------------------------------------------


def local_target(spec: TargetSpec) -> Target:
    state_dir = Path(spec.location or DEFAULT_STATE_DIR)
    state_file = state_dir / "state.json"
    if not state_file.exists():
        raise TargetUnavailable(
            f"No local cloud in {state_dir}.",
            "Start one with `python -m local up` (or `make demo`), or choose a deployed stack "
            "in the sidebar.",
        )
    state = json.loads(state_file.read_text())
    if not state.get("ready"):
        raise TargetUnavailable(
            f"The local cloud in {state_dir} did not start: {state.get('error')}.",
            "See its cloud.log, then `python -m local down` and `python -m local up`.",
        )
    pid = state.get("pid")
    if pid and not process_alive(int(pid)):
        raise TargetUnavailable(
            f"The local cloud recorded in {state_dir} (pid {pid}) is not running.",
            "Start it again with `python -m local down && python -m local up`.",
        )
    outputs = json.loads((state_dir / "outputs.json").read_text())
    registry_file = state_dir / "registry.json"
    registry = json.loads(registry_file.read_text()) if registry_file.exists() else None
    return Target(
        spec=spec,
        outputs=outputs,
        region=state.get("region") or outputs.get(Output.REGION, "us-east-1"),
        endpoint_url=state["endpoint"],
        local_state=state,
        local_registry=registry,
    )


def outputs_target(spec: TargetSpec) -> Target:
    if not spec.location:
        raise TargetUnavailable(
            "No outputs file given.",
            "Write one with `pulumi stack output --json > outputs.json` and enter its path.",
        )
    path = Path(spec.location).expanduser()
    if not path.is_file():
        raise TargetUnavailable(
            f"Outputs file {path} does not exist.",
            "Write it with `pulumi stack output --json > outputs.json` in the project directory.",
        )
    try:
        outputs = json.loads(path.read_text())
    except ValueError as exc:
        raise TargetUnavailable(
            f"{path} is not JSON ({exc}).", "It must be the output of `pulumi stack output --json`."
        ) from exc
    return _aws_target(spec, outputs, str(path))


def stack_target(
    spec: TargetSpec,
    run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run,
    which: Callable[[str], str | None] = shutil.which,
) -> Target:
    if not spec.location:
        raise TargetUnavailable("No stack name given.", "Enter the Pulumi stack name, e.g. `dev`.")
    cli = which("pulumi")
    if cli is None:
        raise TargetUnavailable(
            "The Pulumi CLI is not installed on this machine (no `pulumi` on PATH), so the "
            f"outputs of stack `{spec.location}` cannot be read here.",
            "Install it (https://www.pulumi.com/docs/install/), or run "
            f"`pulumi stack output --json --stack {spec.location} > outputs.json` where it is "
            "installed and open that file instead.",
        )
    env = dict(os.environ)
    if spec.profile:
        env["AWS_PROFILE"] = spec.profile
    try:
        result = run(
            [cli, "stack", "output", "--json", "--stack", spec.location],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
    except subprocess.TimeoutExpired as exc:
        raise TargetUnavailable(
            f"`pulumi stack output --stack {spec.location}` did not answer in 120 s.",
            "Check `pulumi whoami` and your network.",
        ) from exc
    if result.returncode != 0:
        raise TargetUnavailable(
            f"`pulumi stack output --json --stack {spec.location}` failed: "
            f"{(result.stderr or result.stdout).strip()[:400]}",
            "Check the stack name (`pulumi stack ls`) and that you are logged in (`pulumi whoami`).",
        )
    try:
        outputs = json.loads(result.stdout)
    except ValueError as exc:
        raise TargetUnavailable(
            f"The Pulumi CLI printed something that is not JSON: {exc}"
        ) from exc
    return _aws_target(spec, outputs, f"stack {spec.location}")


def _aws_target(spec: TargetSpec, outputs: dict[str, Any], source: str) -> Target:
    if not isinstance(outputs, dict) or "jobs_table" not in outputs:
        raise TargetUnavailable(
            f"The outputs from {source} are not this project's (no `jobs_table`).",
            "Export them from the moderation stack: `pulumi stack output --json`.",
        )
    region = (
        spec.region
        or outputs.get(Output.REGION)
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or "us-east-1"
    )
    return Target(spec=spec, outputs=outputs, region=region, profile=spec.profile or None)


def resolve(spec: TargetSpec, **kwargs: Any) -> Target:
    if spec.kind == "local":
        return local_target(spec)
    if spec.kind == "outputs":
        return outputs_target(spec)
    if spec.kind == "stack":
        return stack_target(spec, **kwargs)
    raise TargetUnavailable(
        f"Unknown target kind {spec.kind!r}.", f"Use one of {', '.join(KINDS)}."
    )


# --- command line -------------------------------------------------------------------------


def parse_args(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> TargetSpec:
    """The target from `streamlit run dashboard/app.py -- [--local DIR | --outputs FILE |
    --stack NAME] [--profile P] [--region R]`, falling back to DASHBOARD_* variables."""
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--local", metavar="STATE_DIR")
    group.add_argument("--outputs", metavar="FILE")
    group.add_argument("--stack", metavar="NAME")
    parser.add_argument("--profile")
    parser.add_argument("--region")
    args, _ = parser.parse_known_args(list(argv))
    profile = args.profile or environ.get("DASHBOARD_PROFILE") or None
    region = args.region or environ.get("DASHBOARD_REGION") or None
    if args.outputs:
        return TargetSpec("outputs", args.outputs, profile, region)
    if args.stack:
        return TargetSpec("stack", args.stack, profile, region)
    if args.local:
        return TargetSpec("local", args.local, profile, region)
    if environ.get("DASHBOARD_OUTPUTS"):
        return TargetSpec("outputs", environ["DASHBOARD_OUTPUTS"], profile, region)
    if environ.get("DASHBOARD_STACK"):
        return TargetSpec("stack", environ["DASHBOARD_STACK"], profile, region)
    return TargetSpec(
        "local", environ.get("DASHBOARD_LOCAL_STATE") or str(DEFAULT_STATE_DIR), profile, region
    )
