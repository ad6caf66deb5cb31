"""What the program declared, as the local cloud's runtime needs it.

The mocks fill a Registry while `__main__.py` runs; the runtime (Lambda workers,
pollers, gateway, scheduler) reads only this, so it runs exactly what was declared.
The registry is saved as JSON in the state directory so other processes (the CLI,
the dashboard, tests) see the same stack.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class FunctionDef:
    logical: str
    name: str
    arn: str
    handler: str
    runtime: str
    code_dir: str
    memory: int
    timeout: int
    reserved_concurrency: int | None
    environment: dict[str, str]
    architecture: str
    log_group: str
    tracing: str = "PassThrough"
    # The execution role: the local cloud runs the function with credentials of this role.
    role_arn: str = ""
    # Its layers' directories, in order (each holds `python/`, as Lambda's /opt does).
    layers: list[str] = field(default_factory=list)


@dataclass
class MappingDef:
    uuid: str
    source_arn: str
    function: str
    batch_size: int
    batching_window: int
    report_batch_item_failures: bool
    starting_position: str | None = None
    filters: list[str] = field(default_factory=list)
    bisect_on_error: bool = False
    max_retries: int | None = None
    on_failure_arn: str | None = None
    max_concurrency: int | None = None


@dataclass
class AsyncConfigDef:
    function: str
    max_retries: int = 2
    max_event_age: int = 21600
    on_failure_arn: str | None = None
    on_success_arn: str | None = None


@dataclass
class RouteDef:
    route_key: str
    function: str
    authorization_type: str
    issuer: str | None = None
    audiences: list[str] = field(default_factory=list)
    throttle_rate: float | None = None
    throttle_burst: int | None = None


@dataclass
class ScheduleDef:
    rule: str
    expression: str
    functions: list[str] = field(default_factory=list)


@dataclass
class S3TriggerDef:
    bucket: str
    function: str
    events: list[str]
    prefix: str = ""
    suffix: str = ""
    queue_url: str = ""


@dataclass
class Registry:
    resources: list[dict[str, Any]] = field(default_factory=list)
    not_emulated: list[dict[str, str]] = field(default_factory=list)
    recorded_only: list[dict[str, str]] = field(default_factory=list)
    functions: dict[str, FunctionDef] = field(default_factory=dict)
    # Layer version ARN -> the directory its code was archived from.
    layers: dict[str, str] = field(default_factory=dict)
    mappings: list[MappingDef] = field(default_factory=list)
    async_configs: dict[str, AsyncConfigDef] = field(default_factory=dict)
    routes: list[RouteDef] = field(default_factory=list)
    schedules: list[ScheduleDef] = field(default_factory=list)
    s3_triggers: list[S3TriggerDef] = field(default_factory=list)
    # Cross-references filled while resources are declared.
    authorizers: dict[str, dict[str, Any]] = field(default_factory=dict)
    integrations: dict[str, str] = field(default_factory=dict)
    stage_settings: dict[str, Any] = field(default_factory=dict)
    queue_arn_to_url: dict[str, str] = field(default_factory=dict)
    stream_arn_to_table: dict[str, str] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

    def function_by_ref(self, ref: str) -> FunctionDef:
        """A function from its name or ARN (qualified or not)."""
        name = ref.split(":function:")[-1].split(":")[0] if ":function:" in ref else ref
        return self.functions[name]

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1, sort_keys=True, default=str))

    @classmethod
    def load(cls, path: Path) -> Registry:
        raw = json.loads(path.read_text())
        reg = cls(**{k: v for k, v in raw.items() if k not in _NESTED})
        reg.functions = {k: FunctionDef(**v) for k, v in raw["functions"].items()}
        reg.mappings = [MappingDef(**m) for m in raw["mappings"]]
        reg.async_configs = {k: AsyncConfigDef(**v) for k, v in raw["async_configs"].items()}
        reg.routes = [RouteDef(**r) for r in raw["routes"]]
        reg.schedules = [ScheduleDef(**s) for s in raw["schedules"]]
        reg.s3_triggers = [S3TriggerDef(**t) for t in raw["s3_triggers"]]
        return reg


_NESTED = {"functions", "mappings", "async_configs", "routes", "schedules", "s3_triggers"}
