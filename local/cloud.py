"""The local cloud process: endpoint, program materialization, and the Lambda runtime around it.

`python -m local up` starts this in the background; it writes `state.json` (where
everything listens) and `outputs.json` (shaped like `pulumi stack output --json`) to
its state directory, and `python -m local down` stops it and removes the directory.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from lambdas.common.contract import Output
from local import moto_patches
from local.client import DEFAULT_STATE_DIR
from local.moto_patches import iam_auth
from local.registry import Registry
from local.runtime.endpoint import Endpoint
from local.runtime.event_sources import DirectQueue, S3Trigger, SqsEventSource, StreamEventSource
from local.runtime.faults import FaultPlan, Faults
from local.runtime.gateway import Gateway
from local.runtime.lambda_service import LambdaService, base_environment, role_credentials
from local.runtime.monitors import Sampler, Scheduler
from local.runtime.telemetry import Telemetry
from local.twins import edge as edge_twins
from local.twins import transparency
from local.twins.cdn import start_cdn
from local.twins.elasticache import CacheServer, caching_requested
from local.twins.idp import CLIENT_ID, LocalIdentityProvider

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("local.cloud")

STAND_INS = {
    "rekognition:DetectModerationLabels": (
        "stand-in: nsfwjs MobileNetV2 (ONNX) mapped onto Rekognition's taxonomy, a weaker "
        "model than Rekognition and not the custom branch's; Rekognition's input limits and "
        "error codes; a PNG's moderation-labels text chunk overrides it (load fixtures)"
    ),
    "dsa:TransparencyDatabase": (
        "stand-in: the DSA Transparency Database API's statements, statement and "
        "existing-puid endpoints on loopback (local/twins/transparency.py), validating with "
        "the API's rules and refusing a used puid; not the Commission's service"
    ),
}
# The local stand-in's platform token, kept in the local Secrets Manager as `dsa.tokenSecret`.
TRANSPARENCY_TOKEN = "local-platform-token"
TRANSPARENCY_SECRET = "dsa-token"
NOT_EMULATED_BEHAVIOUR = [
    "X-Ray tracing (functions run with POWERTOOLS_TRACE_DISABLED=true)",
    (
        "IAM: policy conditions, NotResource, resource policies (bucket, queue, topic, key "
        "policies, Lambda permissions), session policies and permission boundaries are not "
        "evaluated; identity policies of each function's role are (iam_auth)"
    ),
    "TLS (the endpoint and gateway are loopback HTTP)",
    "KMS encryption of stored data (keys are created; data is not encrypted at rest)",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def blocklisted_fixture_hash() -> str:
    from common.images import dhash, open_image
    from local.tools import fixtures

    return dhash(open_image(fixtures.png(seed=fixtures.BLOCKLISTED_SEED)))


@dataclass
class CloudOptions:
    state_dir: Path = DEFAULT_STATE_DIR
    region: str = "us-east-1"
    stack: str = "local"
    config: dict[str, Any] = field(default_factory=dict)
    max_environments: int = 3
    idle_seconds: float = 300.0
    async_backoff: float = 1.0
    schedule_scale: float = 1.0
    sample_interval: float = 10.0
    # Each function runs with its role's credentials and every request it makes is
    # authorized against the role's policy (local/moto_patches/iam_auth.py).
    iam: bool = True

    def stack_config(self, issuer: str) -> dict[str, Any]:
        return {
            # Each function runs from its own layer, built for this machine (packaging.py).
            "dependencyLayer": "host",
            "forceDestroy": True,
            "jwtIssuer": issuer,
            "jwtAudience": [CLIENT_ID],
            "blocklistHashes": [blocklisted_fixture_hash()],
            **self.config,
        }


class LocalCloud:
    def __init__(self, options: CloudOptions) -> None:
        self.options = options
        self.state_dir = options.state_dir
        self.faults = Faults()
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.components: list[Any] = []

    # --- clients to our own endpoint ------------------------------------------------------

    def client(self, service: str):
        with self._lock:
            if service not in self._clients:
                self._clients[service] = boto3.client(
                    service,
                    endpoint_url=self.endpoint.url,
                    region_name=self.options.region,
                    aws_access_key_id="local",
                    aws_secret_access_key="local",
                    config=Config(
                        retries={"mode": "standard", "max_attempts": 5},
                        max_pool_connections=64,
                    ),
                )
            return self._clients[service]

    def send_to_queue(self, queue_arn: str, body: str) -> None:
        url = self.registry.queue_arn_to_url.get(queue_arn)
        if url is None:
            raise KeyError(f"destination {queue_arn} is not a queue of this stack")
        self.client("sqs").send_message(QueueUrl=url, MessageBody=body)

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> dict[str, Any]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        moto_patches.install_all()
        iam_auth.install()
        self.endpoint = Endpoint(self, lambda: self.client("s3"))
        self.endpoint.start()
        gateway_port = free_port()
        gateway_url = f"http://127.0.0.1:{gateway_port}"
        self.idp = LocalIdentityProvider(self.state_dir / "idp-key.pem", f"{gateway_url}/idp")
        # Edge auth: the local CDN plays the CloudFront distribution on this port.
        cdn_port = free_port()

        config = self.options.stack_config(self.idp.issuer)
        config = edge_twins.local_settings(config, self.idp, self.state_dir)
        # Statements of reasons are submitted to the local Transparency Database stand-in.
        self.transparency = transparency.serve(TRANSPARENCY_TOKEN)
        config["dsa"] = {
            "submit": True,
            "tokenSecret": TRANSPARENCY_SECRET,
            "apiUrl": self.transparency.url,
            **(config.get("dsa") or {}),
        }
        materialize_env = {**os.environ, "PYTHONPATH": str(ROOT)}
        # Status cache: a real redis-server, started before the program declares the cache.
        self.cache = None
        if caching_requested(config):
            self.cache = CacheServer(self.state_dir / "cache").start()
            materialize_env["LOCAL_CACHE_URL"] = self.cache.admin_url
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "local.materialize",
                "--endpoint",
                self.endpoint.url,
                "--gateway",
                gateway_url,
                "--region",
                self.options.region,
                "--stack",
                self.options.stack,
                "--config",
                json.dumps(config),
                "--out",
                str(self.state_dir),
                "--cdn",
                f"127.0.0.1:{cdn_port}",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=materialize_env,
        )
        if result.returncode != 0:
            raise RuntimeError(result.stderr.strip() or "materializing the program failed")
        self.registry = Registry.load(self.state_dir / "registry.json")
        self.outputs = json.loads((self.state_dir / "outputs.json").read_text())

        if Output.STATEMENTS_TABLE in self.outputs:
            self.client("secretsmanager").create_secret(
                Name=TRANSPARENCY_SECRET, SecretString=TRANSPARENCY_TOKEN
            )
        self.telemetry = Telemetry(self.client, region=self.options.region)
        self.telemetry.start()
        self.lambdas = LambdaService(
            self.registry,
            self.telemetry,
            base_environment(self.endpoint.url, self.options.region),
            self.send_to_queue,
            max_environments=self.options.max_environments,
            idle_seconds=self.options.idle_seconds,
            async_backoff=self.options.async_backoff,
            faults=self.faults,
            credentials=(
                role_credentials(self.client("sts"), self.registry.functions.values())
                if self.options.iam
                else None
            ),
        )
        self.lambdas.start()

        # Edge auth (only if declared): the local IdP plays the stack's user pool, and the
        # local CDN runs the viewer-request function in front of the content bucket.
        self.cdn = start_cdn(
            self.registry, self.lambdas, self.client("s3"), self.state_dir, cdn_port
        )
        if self.cdn is not None:
            self.idp.act_as(self.outputs[Output.USER_POOL_ISSUER])

        self.sources: list[Any] = []
        for mapping in self.registry.mappings:
            if ":sqs:" in mapping.source_arn:
                url = self.registry.queue_arn_to_url[mapping.source_arn]
                self.sources.append(
                    SqsEventSource(
                        mapping,
                        url,
                        self.lambdas,
                        DirectQueue(url, self.options.region),
                        self.faults,
                        self.options.region,
                    )
                )
            elif "/stream/" in mapping.source_arn:
                self.sources.append(
                    StreamEventSource(
                        mapping, self.lambdas, self.send_to_queue, self.options.region
                    )
                )
        for trigger in self.registry.s3_triggers:
            self.sources.append(S3Trigger(trigger, self.lambdas, self.client("sqs")))
        for source in self.sources:
            source.start()

        stage = self.registry.stage_settings
        self.gateway = Gateway(
            self.registry.routes,
            self.lambdas,
            self.idp,
            self.telemetry,
            stage.get("access_log_group"),
            stage.get("access_log_format"),
            gateway_port,
        )
        self.gateway.start()
        self.scheduler = Scheduler(
            self.registry.schedules, self.lambdas, self.options.region, self.options.schedule_scale
        )
        self.scheduler.start()
        queue_names = [url.rsplit("/", 1)[1] for url in self.registry.queue_arn_to_url.values()]
        self.sampler = Sampler(
            self.telemetry,
            queue_names,
            self.client("cloudwatch"),
            self.client("sns"),
            self.options.region,
            self.lambdas,
            interval=self.options.sample_interval,
        )
        self.sampler.start()
        self.components = [*self.sources, self.scheduler, self.sampler, self.gateway]
        if self.cdn is not None:
            self.components.append(self.cdn)

        # From here on, every request signed with a function's credentials is authorized.
        iam_auth.enforce(self.options.iam)
        state = self.describe()
        (self.state_dir / "state.json").write_text(json.dumps(state, indent=2))
        return state

    def describe(self) -> dict[str, Any]:
        return {
            "ready": True,
            "pid": os.getpid(),
            "endpoint": self.endpoint.url,
            "gateway": self.gateway.url,
            "api_url": self.outputs.get(Output.API_URL),
            "issuer": self.idp.issuer,
            "client_id": self.idp.client_id,
            "region": self.options.region,
            "stack": self.options.stack,
            "state_dir": str(self.state_dir),
            "outputs_file": str(self.state_dir / "outputs.json"),
            "log_file": str(self.state_dir / "cloud.log"),
            "options": {k: v for k, v in asdict(self.options).items() if k != "state_dir"},
            "not_emulated": self.registry.not_emulated,
            "recorded_only": self.registry.recorded_only,
            "not_emulated_behaviour": NOT_EMULATED_BEHAVIOUR,
            "stand_ins": STAND_INS,
            "cache": self.cache.url if self.cache else None,
            "transparency_url": self.transparency.url,
            "unsupported_schedules": self.scheduler.unsupported,
            "started_at": time.time(),
            **(self.cdn.describe() if getattr(self, "cdn", None) else {}),
        }

    def stop(self) -> None:
        for component in self.components:
            try:
                component.stop()
            except Exception:  # noqa: BLE001 - stopping continues past one component's failure; logged
                log.exception("stopping %s failed", component)
        if hasattr(self, "lambdas"):
            self.lambdas.stop()
        if hasattr(self, "telemetry"):
            self.telemetry.stop()
        if getattr(self, "cache", None) is not None:
            self.cache.stop()
        if getattr(self, "transparency", None) is not None:
            self.transparency.stop()
        self.endpoint.stop()

    # --- control API (/_local/*) -----------------------------------------------------------

    def control(self, action: str, body: dict) -> Any:
        if action == "status":
            return self.status()
        if action == "token":
            return {
                "token": self.idp.token(
                    body.get("user", "demo-user"),
                    body.get("token_use", "id"),
                    int(body.get("ttl", 3600)),
                    groups=[str(g) for g in body.get("groups") or []],
                )
            }
        if action == "faults":
            if body:
                self.faults.set_plan(FaultPlan(**body))
            return self.faults.snapshot()
        if action == "clear-faults":
            self.faults.clear()
            return self.faults.snapshot()
        if action == "invoke":
            fn = self.outputs[Output.FUNCTIONS].get(body["function"], body["function"])
            inv = self.lambdas.invoke(fn, body.get("event", {}), wait=True)
            return {
                "ok": inv.ok,
                "payload": inv.payload,
                "error": inv.error,
                "duration_ms": inv.duration_ms,
                "throttled": inv.throttled,
            }
        if action == "run-schedules":
            for sched, _ in self.scheduler.entries:
                self.scheduler.fire(sched)
            return {"fired": [s.rule for s, _ in self.scheduler.entries]}
        if action == "kill-worker":
            fn = self.outputs[Output.FUNCTIONS].get(body["function"], body["function"])
            return {"killed": self.lambdas.pool(fn).kill_busy_worker()}
        if action == "flush":
            self.telemetry.flush()
            self.sampler.sample()
            self.telemetry.flush()
            return {"flushed": True}
        if action == "endpoint-stats":
            return {
                k: {
                    "count": v[0],
                    "mean_ms": round(1000 * v[1] / max(v[0], 1), 2),
                    "max_ms": round(1000 * v[2], 1),
                }
                for k, v in sorted(self.endpoint.app.request_stats.items())
            }
        if action == "reset-stats":
            self.endpoint.app.request_stats.clear()
            for pool in self.lambdas.pools.values():
                pool.reset_stats()
            return {"reset": True}
        if action == "transparency":
            # The stand-in's state; `fail_after_store`: the next create calls store, then 500.
            twin = self.transparency.twin
            if body.get("fail_after_store"):
                twin.fail_after_store(int(body["fail_after_store"]))
            return {
                "statements": sorted(twin.statements),
                "calls": [list(c) for c in twin.calls],
            }
        if action == "evaluate-alarms":
            self.sampler.evaluate_alarms()
            return {"evaluated": True}
        raise KeyError(action)

    def status(self) -> dict[str, Any]:
        pools = {
            pool.fn.logical: {
                "name": pool.fn.name,
                "busy": pool.busy,
                "idle": len(pool._idle),
                "capacity": pool.capacity,
                "reserved_concurrency": pool.reserved,
                "cold_starts": pool.cold_starts,
                "memory_mb": pool.fn.memory,
                **pool.stats,
            }
            for pool in self.lambdas.pools.values()
        }
        return {
            "functions": pools,
            "queues": self.sampler.latest,
            "async_pending": self.lambdas.pending_async(),
            "stream_lag": {
                s.mapping.function: s.lag for s in self.sources if isinstance(s, StreamEventSource)
            },
            "schedules_fired": self.scheduler.fired,
            "faults": self.faults.snapshot(),
            "not_emulated": self.registry.not_emulated,
            "stand_ins": STAND_INS,
        }


def run_daemon(options: CloudOptions) -> int:
    """Foreground entry of the background process: start, serve until signalled, stop."""
    options.state_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    cloud = LocalCloud(options)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        state = cloud.start()
    except Exception as exc:  # noqa: BLE001 - reported through state.json to the CLI that waits
        log.exception("local cloud failed to start")
        (options.state_dir / "state.json").write_text(
            json.dumps({"ready": False, "error": str(exc)})
        )
        try:
            cloud.stop()
        except Exception:  # noqa: BLE001 - best effort after a failed start; logged
            log.exception("cleanup after a failed start also failed")
        return 1
    log.info("local cloud ready: %s", json.dumps({k: state[k] for k in ("endpoint", "api_url")}))
    stop.wait()
    log.info("stopping")
    cloud.stop()
    return 0
