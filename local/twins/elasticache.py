"""The status cache on this machine: a real `redis-server` on loopback, and its mock handlers.

`CacheServer` runs Debian's `redis-server` on a free loopback port with its files in
the state directory and no persistence. `mock_handlers` turns the ElastiCache
resources StatusCache declares into that server: users become ACL users with the
declared access string and password (so a status function that needs a command its
user may not run fails here as it would on AWS), the cache resources answer with the
server's address, and the credentials secret is stored in the local endpoint's
Secrets Manager. The VPC, subnets, security groups and VPC endpoints stay "not
emulated": there is no VPC on one machine. TLS is not emulated either: the server is
plain TCP on loopback, and `localize` says so where it rewrites the endpoint.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import string
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ADMIN_USER = "local-admin"
# The marker Pulumi wraps secret values in when it hands them to mocks.
SECRET_MARKER = "4dabf18193072939515e22adb298388d"


class CacheServerError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def caching_requested(config: dict[str, Any]) -> bool:
    """Whether a stack config (`moderation:` keys, namespace stripped) turns the cache on."""
    value = config.get("cachingEnabled", False)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


class CacheServer:
    """A `redis-server` process on 127.0.0.1 with an admin user for the local cloud only.

    The `default` user starts as a fresh ElastiCache node's does (on, no password) until
    the program's users replace it; `local-admin` is what the mock handlers configure
    the server with, and it never reaches a function.
    """

    def __init__(
        self, data_dir: Path, port: int | None = None, binary: str = "redis-server"
    ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.binary = binary
        self.admin_password = secrets.token_hex(24)
        self.proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return "127.0.0.1"

    @property
    def url(self) -> str:
        """Where clients connect (no credentials)."""
        return f"redis://{self.address}:{self.port}"

    @property
    def admin_url(self) -> str:
        return f"redis://{ADMIN_USER}:{self.admin_password}@{self.address}:{self.port}"

    def start(self, timeout: float = 10.0) -> CacheServer:
        import redis

        exe = shutil.which(self.binary)
        if exe is None:
            raise CacheServerError(
                f"{self.binary} is not installed; the status cache needs it locally. "
                "Install it with `make system-deps` (Debian: apt-get install redis-server) "
                "or turn the cache off with --set cachingEnabled=false."
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / "redis.conf"
        conf.write_text(
            "\n".join(
                [
                    "bind 127.0.0.1",
                    f"port {self.port}",
                    "protected-mode yes",
                    "daemonize no",
                    'save ""',
                    "appendonly no",
                    f"dir {self.data_dir}",
                    f"logfile {self.data_dir / 'redis.log'}",
                    # The working set of a status cache; evict by TTL nearness when full.
                    "maxmemory 256mb",
                    "maxmemory-policy volatile-ttl",
                    f"user {ADMIN_USER} on >{self.admin_password} ~* &* +@all",
                    "",
                ]
            )
        )
        conf.chmod(0o600)
        self.proc = subprocess.Popen(
            [exe, str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise CacheServerError(
                    f"redis-server exited ({self.proc.returncode}): {err.strip()}"
                )
            try:
                if self.admin().ping():
                    return self
            except (redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError):
                pass  # still booting; retried until the deadline
            time.sleep(0.05)
        self.stop()
        raise CacheServerError(f"redis-server did not answer on port {self.port} in {timeout} s")

    def admin(self):
        import redis

        return redis.Redis.from_url(self.admin_url, socket_timeout=2, socket_connect_timeout=2)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None

    def __enter__(self) -> CacheServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# --- Pulumi mock handlers ------------------------------------------------------------------


def unsecret(value: Any) -> Any:
    """Unwrap Pulumi's secret marker (mocks receive secrets as {sig: ..., "value": ...})."""
    if isinstance(value, dict):
        if SECRET_MARKER in value:
            return unsecret(value.get("value"))
        return {k: unsecret(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unsecret(v) for v in value]
    return value


def _password(length: int, special: bool) -> str:
    alphabet = string.ascii_letters + string.digits + ("!#$%&*()-_=+[]{}<>:?" if special else "")
    return "".join(secrets.choice(alphabet) for _ in range(length))


def mock_handlers(
    admin_url: str,
    clients: Callable[[str], Any],
    registry: Any,
    region: str = "us-east-1",
    account: str = "123456789012",
) -> dict[str, Callable[[str, dict], tuple[str, dict]]]:
    """`{resource type: handler}` for `LocalMocks(extra_handlers=...)`."""
    import redis

    admin = redis.Redis.from_url(admin_url, socket_timeout=5, socket_connect_timeout=5)
    parts = urlsplit(admin_url)
    address, port = parts.hostname, parts.port

    def note(typ: str, name: str, why: str) -> None:
        registry.recorded_only.append({"type": typ, "name": name, "why": why})

    def arn(service: str, resource: str) -> str:
        return f"arn:aws:{service}:{region}:{account}:{resource}"

    def random_password(name: str, inputs: dict) -> tuple[str, dict]:
        length = int(inputs.get("length") or 16)
        special = bool(inputs.get("special", True))
        return name, {**inputs, "result": _password(length, special)}

    def secret(name: str, inputs: dict) -> tuple[str, dict]:
        out = clients("secretsmanager").create_secret(
            Name=inputs.get("name") or name, Description=inputs.get("description", "")
        )
        return out["ARN"], {**inputs, "arn": out["ARN"], "name": out["Name"]}

    def secret_version(name: str, inputs: dict) -> tuple[str, dict]:
        value = unsecret(inputs.get("secretString"))
        out = clients("secretsmanager").put_secret_value(
            SecretId=inputs["secretId"], SecretString=value
        )
        return f"{out['ARN']}|{out['VersionId']}", {
            **inputs,
            "arn": out["ARN"],
            "versionId": out["VersionId"],
        }

    def user(name: str, inputs: dict) -> tuple[str, dict]:
        plain = unsecret(inputs)
        mode = plain.get("authenticationMode") or {}
        passwords = list(mode.get("passwords") or plain.get("passwords") or [])
        rules = ["reset", *plain["accessString"].split()]
        rules += [f">{p}" for p in passwords if p]
        if mode.get("type") == "no-password-required" or plain.get("noPasswordRequired"):
            rules.append("nopass")
        admin.execute_command("ACL", "SETUSER", plain["userName"], *rules)
        return plain["userId"], {**inputs, "arn": arn("elasticache", f"user:{plain['userId']}")}

    def user_group(name: str, inputs: dict) -> tuple[str, dict]:
        note(
            "aws:elasticache/userGroup:UserGroup",
            name,
            "one local server: its users are the ACL users of that server",
        )
        gid = inputs["userGroupId"]
        return gid, {**inputs, "arn": arn("elasticache", f"usergroup:{gid}")}

    def serverless_cache(name: str, inputs: dict) -> tuple[str, dict]:
        note(
            "aws:elasticache/serverlessCache:ServerlessCache",
            name,
            f"a local redis-server on {address}:{port}; usage limits, TLS and snapshots "
            "are not emulated",
        )
        cache = inputs.get("name") or name
        endpoint = [{"address": address, "port": port}]
        return cache, {
            **inputs,
            "arn": arn("elasticache", f"serverlesscache:{cache}"),
            "endpoints": endpoint,
            "readerEndpoints": endpoint,
            "status": "available",
        }

    def replication_group(name: str, inputs: dict) -> tuple[str, dict]:
        token = unsecret(inputs.get("authToken"))
        rules = ["reset", "on", "~*", "&*", "+@all"]
        rules += [f">{token}"] if token else ["nopass"]
        admin.execute_command("ACL", "SETUSER", "default", *rules)
        note(
            "aws:elasticache/replicationGroup:ReplicationGroup",
            name,
            f"a single local redis-server on {address}:{port}; replicas, failover and TLS "
            "are not emulated",
        )
        gid = inputs.get("replicationGroupId") or name
        return gid, {
            **inputs,
            "arn": arn("elasticache", f"replicationgroup:{gid}"),
            "primaryEndpointAddress": address,
            "readerEndpointAddress": address,
            "port": port,
        }

    return {
        "random:index/randomPassword:RandomPassword": random_password,
        "aws:secretsmanager/secret:Secret": secret,
        "aws:secretsmanager/secretVersion:SecretVersion": secret_version,
        "aws:elasticache/user:User": user,
        "aws:elasticache/userGroup:UserGroup": user_group,
        "aws:elasticache/serverlessCache:ServerlessCache": serverless_cache,
        "aws:elasticache/replicationGroup:ReplicationGroup": replication_group,
    }


def localize(registry: Any, cache_url: str) -> None:
    """Point functions at the plain loopback server: the local cloud has no TLS.

    The program declares `rediss://` (TLS, as ElastiCache requires); the local server
    speaks plain TCP on loopback, so the scheme is rewritten and the change listed.
    """
    local = urlsplit(cache_url)
    target = f"{local.hostname}:{local.port}"
    for fn in registry.functions.values():
        endpoint = fn.environment.get("CACHE_ENDPOINT", "")
        if endpoint == f"rediss://{target}":
            fn.environment["CACHE_ENDPOINT"] = f"redis://{target}"
            registry.recorded_only.append(
                {
                    "type": "aws:lambda/function:Function",
                    "name": f"{fn.logical}: CACHE_ENDPOINT",
                    "why": "TLS to the cache not emulated: rediss:// became redis:// on loopback",
                }
            )
