"""Two-tier status cache against a real local redis-server: hits, TTLs, isolation, outages."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections import Counter

import pytest
from moto import mock_aws

from common import disclosure, jobs, status, status_cache
from common.status_cache import (
    CircuitBreaker,
    Entry,
    LocalLru,
    RemoteCache,
    StatusCache,
    redis_connector,
)
from components.caching import STATUS_ACCESS_STRING
from local.mocks import LocalMocks
from local.moto_patches.atomic import make_dynamodb_atomic
from local.registry import Registry
from local.tools import fixtures
from local.twins import elasticache as cache_server
from local.twins.elasticache import CacheServer
from tests.support.config import BASE_CONFIG
from tests.support.helpers import accept
from tests.support.inprocess import InProcessStack, api_event

USER, PASSWORD = "status-function", "s" * 32


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with CacheServer(tmp_path_factory.mktemp("redis")) as srv:
        # The status function's user exactly as StatusCache declares it.
        srv.admin().execute_command(
            "ACL", "SETUSER", USER, "reset", *STATUS_ACCESS_STRING.split(), f">{PASSWORD}"
        )
        yield srv


@pytest.fixture(autouse=True)
def _empty(request):
    if "server" in request.fixturenames:
        request.getfixturevalue("server").admin().flushall()


class Metrics:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add_metric(self, name, unit, value):
        assert unit == "Count"
        self.counts[name] += value


class Table:
    """The jobs table as the loader sees it, counting reads (GetItem calls)."""

    def __init__(self) -> None:
        self.items: dict[str, dict] = {}
        self.reads = 0

    def put(self, status_: str, user: str = "alice", **extra) -> str:
        job_id = str(uuid.uuid4())
        self.items[job_id] = {"job_id": job_id, "user_id": user, "status": status_, **extra}
        return job_id

    def load(self, job_id: str):
        self.reads += 1
        item = self.items.get(job_id)
        return dict(item) if item else None


def remote_for(url: str, user: str = USER, password: str = PASSWORD) -> RemoteCache:
    return RemoteCache(redis_connector(url, lambda: (user, password)))


def environment(
    table: Table,
    remote: RemoteCache | None,
    *,
    active: float = 1.0,
    terminal: float = 3600,
    lru: int = 128,
    breaker: CircuitBreaker | None = None,
    clock=time.time,
) -> tuple[StatusCache, Metrics]:
    """One warm execution environment: its own LRU and metrics, a shared remote tier."""
    metrics = Metrics()
    cache = StatusCache(
        table.load,
        local=LocalLru(lru),
        remote=remote,
        terminal_ttl=terminal,
        active_ttl=active,
        metrics=metrics,
        breaker=breaker,
        clock=clock,
    )
    return cache, metrics


# --- hits, misses, TTLs ----------------------------------------------------------------


def test_miss_reads_the_table_once_then_the_local_tier_answers(server):
    table = Table()
    job_id = table.put("analyzing")
    cache, metrics = environment(table, remote_for(server.url))
    assert cache.get(job_id)["status"] == "analyzing"
    assert cache.get(job_id)["status"] == "analyzing"
    assert table.reads == 1
    assert metrics.counts == {"CacheMiss": 1, "CacheHitLocal": 1}


def test_another_environment_gets_a_remote_hit(server):
    table = Table()
    job_id = table.put("complete", decision="approve")
    a, ma = environment(table, remote_for(server.url))
    b, mb = environment(table, remote_for(server.url))
    assert a.get(job_id)["decision"] == "approve"
    assert b.get(job_id)["decision"] == "approve"
    assert b.get(job_id)["decision"] == "approve"
    assert table.reads == 1
    assert ma.counts == {"CacheMiss": 1}
    assert mb.counts == {"CacheHitRemote": 1, "CacheHitLocal": 1}


def test_entries_are_stored_with_their_tier_ttl_in_redis(server):
    table = Table()
    active = table.put("pending")
    done = table.put("failed", reasons=["deadline"])
    cache, _ = environment(table, remote_for(server.url), active=0.8, terminal=600)
    cache.get(active)
    cache.get(done)
    admin = server.admin()
    assert 0 < admin.pttl(f"status:job:{active}") <= 800
    assert 590_000 < admin.pttl(f"status:job:{done}") <= 600_000
    stored = json.loads(admin.get(f"status:job:{done}"))
    # The owner's view: the internal reason stays in the record.
    assert stored["job"]["reasons"] == [disclosure.FAILED_REASON]


def test_cached_record_holds_public_fields_only(server):
    table = Table()
    job_id = table.put("analyzing", dispatch_lease="internal", expires_at=2_000_000_000)
    done = table.put(
        "complete",
        decision="warn",
        categories=[{"category": "blocklisted", "score": 1.0, "effect": "warn"}],
        custom_result={"dhash": "00ff00ff00ff00ff", "blocklist_similarity": {"distance": 3}},
        reused_from="another-job",
    )
    cache, _ = environment(table, remote_for(server.url))
    assert "dispatch_lease" not in cache.get(job_id)
    stored = json.loads(server.admin().get(f"status:job:{job_id}"))
    assert "dispatch_lease" not in stored["job"] and "expires_at" not in stored["job"]
    cache.get(done)
    cached = server.admin().get(f"status:job:{done}").decode()
    assert "blocklisted" in cached
    for hidden in ("custom_result", "00ff00ff", "distance", "score", "another-job", "reused"):
        assert hidden not in cached, hidden


def test_non_terminal_status_is_never_staler_than_the_active_ttl_in_either_tier(server):
    table = Table()
    job_id = table.put("pending")
    a, _ = environment(table, remote_for(server.url), active=0.4)
    b, mb = environment(table, remote_for(server.url), active=0.4)
    t0 = time.time()
    assert a.get(job_id)["status"] == "pending"
    table.items[job_id]["status"] = "analyzing"
    changed = time.time()
    # Within the TTL both tiers may still answer the old status...
    seen_b = b.get(job_id)["status"]
    assert mb.counts["CacheHitRemote"] == 1 and seen_b == "pending"
    # ...and once it has passed since the read began, neither does.
    time.sleep(max(0.0, t0 + 0.4 - time.time()) + 0.02)
    assert a.get(job_id)["status"] == "analyzing"
    assert b.get(job_id)["status"] == "analyzing"
    assert time.time() - changed < 1.0


def test_terminal_jobs_stay_cached_for_the_terminal_ttl():
    now = [1000.0]
    table = Table()
    job_id = table.put("complete")
    cache, metrics = environment(table, None, active=1, terminal=60, clock=lambda: now[0])
    cache.get(job_id)
    now[0] += 59
    cache.get(job_id)
    assert table.reads == 1
    now[0] += 2
    cache.get(job_id)
    assert table.reads == 2
    assert metrics.counts == {"CacheMiss": 2, "CacheHitLocal": 1}


def test_local_tier_expires_active_jobs_and_respects_its_size():
    now = [0.0]
    table = Table()
    ids = [table.put("analyzing") for _ in range(3)]
    cache, _ = environment(table, None, active=1.0, lru=2, clock=lambda: now[0])
    for job_id in ids:
        cache.get(job_id)
    assert len(cache.local) == 2  # the oldest was evicted
    cache.get(ids[0])
    assert table.reads == 4
    now[0] += 1.0
    cache.get(ids[2])
    assert table.reads == 5


def test_terminal_ttl_never_outlives_the_items_expiry():
    assert status_cache.ttl_for({"status": "complete", "expires_at": 1030}, 3600, 1, now=1000) == 30
    assert status_cache.ttl_for({"status": "complete"}, 3600, 1, now=1000) == 3600
    assert status_cache.ttl_for({"status": "analyzing", "expires_at": 1030}, 3600, 1, now=1000) == 1


def test_expiry_counts_from_when_the_read_started(server):
    table = Table()
    job_id = table.put("analyzing")
    slow_started = []

    def slow_load(jid):
        slow_started.append(time.time())
        time.sleep(0.2)
        return table.load(jid)

    cache = StatusCache(
        slow_load,
        local=LocalLru(8),
        remote=remote_for(server.url),
        terminal_ttl=60,
        active_ttl=0.5,
        metrics=Metrics(),
    )
    cache.get(job_id)
    entry = cache.local.get(job_id, time.time())
    assert entry is not None
    assert entry.expires_at == pytest.approx(slow_started[0] + 0.5, abs=0.01)


def test_a_missing_job_is_not_cached(server):
    table = Table()
    cache, metrics = environment(table, remote_for(server.url))
    job_id = str(uuid.uuid4())
    assert cache.get(job_id) is None
    table.items[job_id] = {"job_id": job_id, "user_id": "alice", "status": "pending"}
    assert cache.get(job_id)["status"] == "pending"
    assert metrics.counts == {"CacheMiss": 2}


# --- isolation between users -----------------------------------------------------------


def test_a_cached_job_is_still_checked_against_the_caller(server):
    table = Table()
    job_id = table.put("complete", user="alice")
    a, ma = environment(table, remote_for(server.url))
    b, mb = environment(table, remote_for(server.url))
    assert status.job_for_caller(a.get, job_id, "alice")["user_id"] == "alice"
    # Same warm environment (local hit) and another one (remote hit): mallory gets nothing.
    assert status.job_for_caller(a.get, job_id, "mallory") is None
    assert status.job_for_caller(b.get, job_id, "mallory") is None
    assert ma.counts == {"CacheMiss": 1, "CacheHitLocal": 1}
    assert mb.counts == {"CacheHitRemote": 1}
    assert table.reads == 1


def test_the_status_user_cannot_touch_anything_but_status_keys(server):
    client = redis_connector(server.url, lambda: (USER, PASSWORD))()
    client.set("status:job:x", "1", px=1000)
    for command in (
        lambda: client.get("idempotency:x"),
        lambda: client.keys("*"),
        lambda: client.flushall(),
        lambda: client.config_get("*"),
    ):
        with pytest.raises(Exception, match="permission|no permissions"):
            command()


# --- outages ---------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_cache_degrades_to_the_table_with_a_cache_error():
    table = Table()
    job_id = table.put("analyzing")
    cache, metrics = environment(
        table,
        remote_for(f"redis://127.0.0.1:{closed_port()}"),
        lru=0,
        breaker=CircuitBreaker(threshold=3, cooldown=60),
    )
    for _ in range(10):
        assert cache.get(job_id)["status"] == "analyzing"
    assert table.reads == 10
    assert metrics.counts == {"CacheMiss": 10, "CacheError": 10}
    assert cache.breaker.is_open


def test_wrong_credentials_are_a_cache_error_not_a_failure(server):
    table = Table()
    job_id = table.put("complete")
    cache, metrics = environment(table, remote_for(server.url, password="wrong" * 8), lru=0)
    assert cache.get(job_id)["status"] == "complete"
    assert metrics.counts == {"CacheMiss": 1, "CacheError": 1}


def test_a_silent_cache_costs_one_short_timeout_then_the_breaker_skips_it():
    """A peer that accepts connections but never answers (a hung node, a black-holed route)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        table = Table()
        job_id = table.put("pending")
        cache, metrics = environment(
            table,
            remote_for(f"redis://127.0.0.1:{listener.getsockname()[1]}"),
            lru=0,
            breaker=CircuitBreaker(threshold=3, cooldown=60),
        )
        durations = []
        for _ in range(20):
            t = time.perf_counter()
            assert cache.get(job_id)["status"] == "pending"
            durations.append(time.perf_counter() - t)
        # Three requests pay the 0.25 s socket timeout; the other 17 skip the cache.
        assert all(d < 0.6 for d in durations[:3])
        assert max(durations[3:]) < 0.05
        assert metrics.counts == {"CacheMiss": 20, "CacheError": 20}
    finally:
        listener.close()


def test_cache_that_dies_and_comes_back_is_used_again(tmp_path):
    table = Table()
    job_id = table.put("complete")
    srv = CacheServer(tmp_path / "a").start()
    port = srv.port
    remote = RemoteCache(redis_connector(srv.url))
    cache, metrics = environment(
        table, remote, lru=0, breaker=CircuitBreaker(threshold=1, cooldown=0.2)
    )
    try:
        cache.get(job_id)
        cache.get(job_id)
        assert metrics.counts == {"CacheMiss": 1, "CacheHitRemote": 1}
        srv.stop()
        assert cache.get(job_id)["status"] == "complete"
        assert cache.get(job_id)["status"] == "complete"  # breaker open: skipped
        assert metrics.counts["CacheError"] == 2
        srv = CacheServer(tmp_path / "b", port=port).start()
        time.sleep(0.25)
        cache.get(job_id)  # half-open trial: a miss on the fresh server, stored again
        cache.get(job_id)
        assert metrics.counts["CacheHitRemote"] == 2
        assert not cache.breaker.is_open
    finally:
        srv.stop()


def test_breaker_lets_one_trial_through_after_the_cooldown():
    now = [0.0]
    breaker = CircuitBreaker(threshold=2, cooldown=5, clock=lambda: now[0])
    breaker.failure()
    assert breaker.allow()
    breaker.failure()
    assert not breaker.allow()
    now[0] = 5.1
    assert breaker.allow()
    assert not breaker.allow()  # the trial is still running
    breaker.success()
    assert breaker.allow() and not breaker.is_open


def test_local_lru_is_safe_under_threads():
    lru = LocalLru(50)
    errors = []

    def work(n):
        try:
            for i in range(2000):
                key = f"k{(i * n) % 80}"
                lru.put(key, Entry({"i": i}, expires_at=10.0), now=0.0)
                lru.get(key, now=0.0)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(lru) <= 50


# --- the status function, as the program wires it ---------------------------------------


@pytest.fixture
def program_server(tmp_path):
    """A server of its own: the program's users replace `default` and the status user."""
    with CacheServer(tmp_path / "redis") as srv:
        yield srv


@pytest.fixture
def cached_stack(program_server):
    """The program with caching on, materialized in moto, its cache the real redis-server."""
    server = program_server
    with mock_aws():
        make_dynamodb_atomic()
        registry = Registry()
        stack = InProcessStack(registry=registry, exports={})
        handlers = cache_server.mock_handlers(server.admin_url, stack.client, registry)
        mocks = LocalMocks(stack.client, registry, extra_handlers=handlers)
        from local import program

        stack.exports = program.run(mocks, {**BASE_CONFIG, "cachingEnabled": True}, "test")
        cache_server.localize(registry, server.url)
        yield stack


def emf_metrics(out: str) -> Counter:
    counts: Counter[str] = Counter()
    for line in out.splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        aws = doc.get("_aws") if isinstance(doc, dict) else None
        if not aws:
            continue
        for directive in aws["CloudWatchMetrics"]:
            # In-process, all handlers share one Metrics object (its `service` is whichever
            # function imported it first); the local cloud test checks service=status.
            assert directive["Namespace"] == "Moderation"
            assert directive["Dimensions"] == [["service"]]
            for metric in directive["Metrics"]:
                value = doc[metric["Name"]]
                counts[metric["Name"]] += sum(value) if isinstance(value, list) else value
    return counts


def get(stack, job_id, user):
    resp = stack.invoke(
        "status", api_event("GET", f"/jobs/{job_id}", user=user, path_params={"job_id": job_id})
    )
    return resp["statusCode"], json.loads(resp["body"])


def test_status_function_reads_through_the_cache_with_its_own_restricted_user(
    cached_stack, program_server, capsys
):
    server = program_server
    fn = cached_stack.function("status")
    assert fn.environment["CACHE_ENDPOINT"] == server.url
    assert fn.environment["POWERTOOLS_SERVICE_NAME"] == "status"
    job_id = accept(cached_stack, fixtures.png(seed=21), user="alice")
    capsys.readouterr()
    # Each in-process invoke is a fresh environment (empty LRU): miss, then remote hits.
    assert get(cached_stack, job_id, "alice")[0] == 200
    assert get(cached_stack, job_id, "alice")[1]["status"] == "pending"
    assert get(cached_stack, job_id, "mallory") == (
        404,
        {"error": "not_found", "message": "no such job"},
    )
    counts = emf_metrics(capsys.readouterr().out)
    assert counts == {"CacheMiss": 1, "CacheHitRemote": 2}
    # The entry was written by the declared user (the program switched `default` off), which
    # logged in with the generated password the function read from Secrets Manager.
    admin = server.admin()
    assert json.loads(admin.get(f"status:job:{job_id}"))["job"]["user_id"] == "alice"
    default = admin.acl_getuser("default")
    assert "off" in default["flags"]
    status_user = admin.acl_getuser("status-function")
    assert "on" in status_user["flags"]
    assert status_user["keys"] == ["~status:job:*"]
    assert set(status_user["commands"]) == {"+get", "+set"}  # and nothing else
    with pytest.raises(Exception, match="authenticated|WRONGPASS|NOAUTH"):
        redis_connector(server.url)().get("status:job:x")


def test_status_function_answers_from_dynamodb_when_the_cache_is_gone(cached_stack, capsys):
    job_id = accept(cached_stack, fixtures.png(seed=22), user="alice")
    fn = cached_stack.function("status")
    fn.environment["CACHE_ENDPOINT"] = f"redis://127.0.0.1:{closed_port()}"
    capsys.readouterr()
    code, body = get(cached_stack, job_id, "alice")
    assert code == 200 and body["job_id"] == job_id
    assert emf_metrics(capsys.readouterr().out) == {"CacheMiss": 1, "CacheError": 1}
    assert jobs.get_job(cached_stack.client("dynamodb"), cached_stack.exports["jobs_table"], job_id)
