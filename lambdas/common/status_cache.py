"""Cache-aside for job status reads: an in-process LRU, then Redis/Valkey, then DynamoDB.

Why the rules are what they are:
- `complete` and `failed` are final, so a terminal job is cached for
  `terminal_ttl` (capped by the item's own `expires_at`) — except a job awaiting a
  moderator's verdict or the decision of its appeal, whose decision will still change:
  it is cached as active. (An entry cached before its owner appealed shows the appeal
  once it expires: the review function that records the appeal has no cache access.)
- Any other status may change at any moment, so it is cached for `active_ttl` only,
  counted from the moment the DynamoDB read *started*. Both tiers expire an entry
  at that same instant, so no answer is ever staler than `active_ttl`, however many
  tiers it passed through.
- What is cached is the owner's view of the job (`common.disclosure.owner_view`: no
  scores, hashes, model versions or text read from the image), never the record;
  `common.status.job_for_caller` checks its `user_id` against the caller after every
  read, cached or not, so the cache cannot leak one user's job to another.
- A missing job is not cached: ids are server-made UUIDs, a 404 is rare, and caching
  it would hide a job created a moment later.
- The cache is an optimisation, never a dependency: every Redis error (short socket
  timeouts) falls back to DynamoDB and counts a `CacheError`; after a few
  consecutive errors a circuit breaker skips Redis for a while, so a dead cache
  adds no latency to every request.

Metrics (EMF, namespace Moderation, the function's `service` dimension), one of the
first three per lookup: `CacheHitLocal`, `CacheHitRemote`, `CacheMiss` (the read went
to DynamoDB), plus `CacheError` when the Redis tier failed or was skipped by the open
breaker.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from common import disclosure, env
from common.contract import (
    TERMINAL_STATUSES,
    AppealField,
    AppealState,
    Env,
    JobAttr,
    Metric,
    ReviewState,
)

log = logging.getLogger(__name__)

KEY_PREFIX = "status:job:"
HIT_LOCAL = Metric.CACHE_HIT_LOCAL
HIT_REMOTE = Metric.CACHE_HIT_REMOTE
MISS = Metric.CACHE_MISS
ERROR = Metric.CACHE_ERROR
METRIC_NAMES = (HIT_LOCAL, HIT_REMOTE, MISS, ERROR)

# Inside one VPC a cache round trip takes well under a millisecond: anything slower is
# an outage, and the caller is better served by DynamoDB.
SOCKET_TIMEOUT_SECONDS = 0.25
CONNECT_TIMEOUT_SECONDS = 0.25


class MetricSink(Protocol):
    def add_metric(self, name: str, unit: Any, value: float) -> None: ...


class RemoteCacheError(RuntimeError):
    """The remote tier could not answer; the caller falls back to DynamoDB."""


@dataclass(frozen=True)
class Entry:
    """A cached job and the wall-clock time (epoch s) after which it must not be served."""

    job: dict[str, Any]
    expires_at: float


def appeal_pending(job: dict[str, Any]) -> bool:
    """A pending appeal (the record's `appeal_state`, or an owner view's `appeal.state`):
    the decision may still change, so the job is cached as active."""
    appeal = job.get("appeal")
    state = job.get(AppealField.STATE) or (
        appeal.get("state") if isinstance(appeal, dict) else None
    )
    return state == AppealState.PENDING


def ttl_for(job: dict[str, Any], terminal_ttl: float, active_ttl: float, now: float) -> float:
    """How long (s) a job read at `now` may be served from a cache."""
    if (
        job.get(JobAttr.STATUS) in TERMINAL_STATUSES
        and job.get(JobAttr.REVIEW_STATE) != ReviewState.PENDING
        and not appeal_pending(job)
    ):
        ttl = terminal_ttl
        expires = job.get(JobAttr.EXPIRES_AT)
        if isinstance(expires, (int, float)):
            # DynamoDB's TTL deletes the item then; the cache should not outlive it.
            ttl = min(ttl, float(expires) - now)
        return ttl
    return active_ttl


class LocalLru:
    """A bounded LRU of entries with absolute expiry times; safe to share between threads."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[str, Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, now: float) -> Entry | None:
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                return None
            if entry.expires_at <= now:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return entry

    def put(self, key: str, entry: Entry, now: float) -> None:
        if self.max_entries <= 0 or entry.expires_at <= now:
            return
        with self._lock:
            self._items[key] = entry
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class CircuitBreaker:
    """Closed -> open after `threshold` consecutive failures -> one trial after `cooldown` s."""

    def __init__(
        self, threshold: int = 3, cooldown: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.clock = clock
        self._failures = 0
        self._open_until = 0.0
        self._trial_running = False
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self._failures >= self.threshold

    def allow(self) -> bool:
        with self._lock:
            if self._failures < self.threshold:
                return True
            if self.clock() < self._open_until or self._trial_running:
                return False
            self._trial_running = True  # half-open: exactly one request probes the cache
            return True

    def success(self) -> None:
        with self._lock:
            self._failures = 0
            self._trial_running = False

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            self._trial_running = False
            if self._failures >= self.threshold:
                self._open_until = self.clock() + self.cooldown


class RemoteCache:
    """Job entries in Redis/Valkey as JSON with a server-side expiry.

    `connect` builds the client lazily (it may read the password from Secrets
    Manager), so a cache that is down at cold start is retried later rather than
    failing the environment's init.
    """

    def __init__(self, connect: Callable[[], Any]) -> None:
        self._connect = connect
        self._client: Any = None
        self._lock = threading.Lock()

    def _redis(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._connect()
        return self._client

    def _failed(self, what: str, exc: Exception) -> RemoteCacheError:
        # Reconnect (and re-read the credentials, which may have been rotated) next time.
        self._client = None
        return RemoteCacheError(f"cache {what} failed: {exc!r}")

    def get(self, job_id: str) -> Entry | None:
        try:
            raw = self._redis().get(KEY_PREFIX + job_id)
        except Exception as exc:  # noqa: BLE001 - any client/network/auth failure means "no cache"; reported by the caller
            raise self._failed("GET", exc) from exc
        if raw is None:
            return None
        try:
            doc = json.loads(raw)
            return Entry(job=doc["job"], expires_at=float(doc["expires_at"]))  # not a job attribute
        except (ValueError, KeyError, TypeError) as exc:
            raise RemoteCacheError(f"unreadable cache entry for {job_id}: {exc!r}") from exc

    def put(self, job_id: str, entry: Entry, now: float) -> None:
        ttl_ms = int((entry.expires_at - now) * 1000)
        if ttl_ms <= 0:
            return
        payload = json.dumps(
            {"job": entry.job, "expires_at": entry.expires_at},  # not a job attribute
            separators=(",", ":"),
        )
        try:
            self._redis().set(KEY_PREFIX + job_id, payload, px=ttl_ms)
        except Exception as exc:  # noqa: BLE001 - as in get(): the caller counts and logs it
            raise self._failed("SET", exc) from exc


class StatusCache:
    """Read a job through the local LRU and the remote cache; `load` reads DynamoDB."""

    def __init__(
        self,
        load: Callable[[str], dict[str, Any] | None],
        *,
        local: LocalLru,
        remote: RemoteCache | None,
        terminal_ttl: float,
        active_ttl: float,
        metrics: MetricSink,
        breaker: CircuitBreaker | None = None,
        clock: Callable[[], float] = time.time,
        logger: Any = log,
    ) -> None:
        self.load_from_table = load
        self.local = local
        self.remote = remote
        self.terminal_ttl = terminal_ttl
        self.active_ttl = active_ttl
        self.metrics = metrics
        self.breaker = breaker or CircuitBreaker()
        self.clock = clock
        self.log = logger

    def _count(self, name: str) -> None:
        self.metrics.add_metric(name=name, unit="Count", value=1)

    def _remote_failed(self, exc: Exception) -> None:
        self.breaker.failure()
        self._count(ERROR)
        self.log.warning("status cache unavailable, reading DynamoDB: %s", exc)

    def get(self, job_id: str) -> dict[str, Any] | None:
        """The cached or freshly read job (the owner's view), or None if there is none."""
        entry = self.local.get(job_id, self.clock())
        if entry is not None:
            self._count(HIT_LOCAL)
            return entry.job

        remote_ok = False
        if self.remote is not None:
            if not self.breaker.allow():
                self._count(ERROR)  # breaker open: the tier is down and this request skips it
            else:
                try:
                    entry = self.remote.get(job_id)
                    self.breaker.success()
                    remote_ok = True
                except RemoteCacheError as exc:
                    self._remote_failed(exc)
                if entry is not None and entry.expires_at > self.clock():
                    self.local.put(job_id, entry, self.clock())
                    self._count(HIT_REMOTE)
                    return entry.job

        self._count(MISS)
        # Expiry counts from before the read: whatever the read returns was current then.
        read_started = self.clock()
        job = self.load_from_table(job_id)
        if job is None:
            return None
        ttl = ttl_for(job, self.terminal_ttl, self.active_ttl, read_started)
        entry = Entry(job=disclosure.owner_view(job), expires_at=read_started + ttl)
        now = self.clock()
        self.local.put(job_id, entry, now)
        if remote_ok and self.remote is not None:
            try:
                self.remote.put(job_id, entry, now)
            except RemoteCacheError as exc:
                self._remote_failed(exc)
        return entry.job


# --- wiring from the environment -------------------------------------------------------


def credentials_from_secret(secrets_client: Any, secret_arn: str) -> tuple[str | None, str]:
    """(username, password) from the secret StatusCache writes: `{"username", "password"}`."""
    doc = json.loads(secrets_client.get_secret_value(SecretId=secret_arn)["SecretString"])
    return doc.get("username") or None, doc["password"]


def redis_connector(
    url: str,
    credentials: Callable[[], tuple[str | None, str]] | None = None,
    socket_timeout: float = SOCKET_TIMEOUT_SECONDS,
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
) -> Callable[[], Any]:
    """A factory for the Redis client; `redis` is imported only when the cache is on."""

    def connect() -> Any:
        # The dependency ships only with the cache (StatusCache adds it to the layer).
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        username, password = credentials() if credentials else (None, None)
        return redis.Redis.from_url(
            url,
            username=username,
            password=password,
            socket_timeout=socket_timeout,
            socket_connect_timeout=connect_timeout,
            # One attempt: a retry would only double the time before DynamoDB answers.
            retry=Retry(NoBackoff(), 0),
            # No CLIENT SETINFO on connect: the status user may run GET and SET only.
            driver_info=None,
            health_check_interval=0,
        )

    return connect


def from_environment(
    load: Callable[[str], dict[str, Any] | None],
    metrics: MetricSink,
    secrets_client: Callable[[], Any],
    logger: Any = log,
) -> StatusCache | None:
    """The status cache configured by StatusCache's environment variables, or None without one.

    CACHE_ENDPOINT (`rediss://host:port`), CACHE_SECRET_ARN (credentials, read when the
    first connection is made: once per execution environment unless the cache fails),
    CACHE_TERMINAL_TTL_SECONDS, CACHE_ACTIVE_TTL_SECONDS, CACHE_LOCAL_LRU_SIZE.
    """
    url = env.optional(Env.CACHE_ENDPOINT)
    if not url:
        return None
    secret_arn = env.optional(Env.CACHE_SECRET_ARN)
    credentials = (
        (lambda: credentials_from_secret(secrets_client(), secret_arn)) if secret_arn else None
    )
    return StatusCache(
        load,
        local=LocalLru(env.integer(Env.CACHE_LOCAL_LRU_SIZE, 1024)),
        remote=RemoteCache(redis_connector(url, credentials)),
        terminal_ttl=env.number(Env.CACHE_TERMINAL_TTL_SECONDS, 3600.0),
        active_ttl=env.number(Env.CACHE_ACTIVE_TTL_SECONDS, 1.0),
        metrics=metrics,
        logger=logger,
    )
