"""Verdict reuse: identical bytes under the same rules and models complete from the stored
verdict without any analyzer; anything else that could change the decision is analyzed."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import timedelta

from common import analysis, disclosure, dispatch, review, verdicts
from common.contract import REKOGNITION_VERSION_KEY, Branch, Output
from common.decision import Rules
from common.timeutil import utcnow
from local.tools import fixtures
from tests.support.helpers import RecordingLambda, accept, job
from tests.support.inprocess import (
    drain,
    notifications,
    sqs_event,
    stream_records,
    subscribe_queue,
)

RULES = Rules(min_confidence=50, reject_threshold=90, unsafe_categories=("Explicit", "Violence"))
ANALYZERS = {"rekognition": "rek-fn", "custom": "custom-fn", "text": "text-fn"}
REK_V1 = {"labels": [], "model_version": "7.0"}
REK_EXPLICIT = {
    "labels": [{"name": "Explicit", "confidence": 97.0, "parent": "", "top_level": "Explicit"}],
    "model_version": "7.0",
}
CLEAN = {"signals": [{"category": "nsfw", "score": 0.01, "evidence": []}]}
TEXT_CLEAN = {"signals": [], "text": ""}
BLOCKLISTED = {"signals": [{"category": "blocklisted", "score": 1.0, "evidence": ["distance 0"]}]}


def config(stack, digest: str = "rules-1") -> verdicts.ReuseConfig:
    return verdicts.ReuseConfig(stack.exports[Output.VERDICTS_TABLE], digest, 30)


def table(stack) -> str:
    return stack.exports[Output.JOBS_TABLE]


def upload(stack, data: bytes, user: str = "user-1") -> tuple[str, str]:
    return accept(stack, data, user=user), hashlib.sha256(data).hexdigest()


def run_dispatch(stack, job_id, sha, reuse, now=None, order="parallel"):
    lam = RecordingLambda()
    plan = dispatch.Plan(ANALYZERS, 30, order=order, reuse=reuse, rules=RULES)
    out = dispatch.dispatch(
        stack.client("dynamodb"),
        lam,
        table(stack),
        dispatch.Message(job_id, sha),
        plan,
        now or utcnow(),
    )
    return out, lam


def analyze(stack, job_id, reuse, rekognition=REK_V1, custom=CLEAN, now=None):
    """Every branch reports (the dispatcher already claimed the job)."""
    reports = []
    for branch, result in ((Branch.CUSTOM, custom), (Branch.TEXT, TEXT_CLEAN)):
        reports.append(report(stack, job_id, branch, result, reuse, now))
    reports.append(report(stack, job_id, Branch.REKOGNITION, rekognition, reuse, now))
    return reports


def report(stack, job_id, branch, result, reuse, now=None):
    return analysis.complete_branch(
        stack.client("dynamodb"),
        table(stack),
        job_id,
        branch,
        result,
        RULES,
        lambda: now or utcnow(),
        completion=analysis.Completion(reuse=reuse),
    )


def rekognition_version(stack, version: str) -> None:
    verdicts.note_rekognition_version(
        stack.client("dynamodb"), stack.exports[Output.VERDICTS_TABLE], version, utcnow()
    )


def decided(stack, data: bytes, reuse, rekognition=REK_V1, user="user-1") -> str:
    """Upload, dispatch and analyze one image: the job that stores its verdict."""
    job_id, sha = upload(stack, data, user)
    out, lam = run_dispatch(stack, job_id, sha, reuse)
    assert not out.reused and len(lam.calls) == 3
    assert analyze(stack, job_id, reuse, rekognition)[-1].verdict_stored
    return job_id


def test_identical_bytes_complete_from_the_stored_verdict_without_any_analyzer(stack):
    reuse = config(stack)
    rekognition_version(stack, "7.0")
    data = fixtures.png(seed=11)
    first = decided(stack, data, reuse, REK_EXPLICIT)
    second, sha = upload(stack, data, user="user-2")
    out, lam = run_dispatch(stack, second, sha, reuse)
    assert out.reused and out.reused_from == first and lam.calls == []
    original, reused = job(stack, first), job(stack, second)
    assert reused["status"] == "complete" and reused["decision"] == original["decision"] == "reject"
    assert reused["reasons"][0].startswith("reused: the verdict on identical image bytes")
    assert reused["reasons"][1:] == original["reasons"]
    assert reused["categories"] == original["categories"]
    assert reused["reused_from"] == first and reused["user_id"] == "user-2"
    assert not any(k.endswith("_result") for k in reused), "no analyzer ran"
    # The owner sees the decision, not that the verdict was reused nor whose job it came from.
    view = disclosure.owner_view(reused)
    assert view["decision"] == "reject" and view["categories"] == ["Explicit"]
    assert "verdict_reused" not in view and "reused_from" not in view
    assert first not in json.dumps(view) and "reused" not in json.dumps(view)
    # The stored verdict keeps what the decision needs and nothing about the uploader.
    item = stack.client("dynamodb").get_item(
        TableName=reuse.table, Key={"verdict_key": {"S": verdicts.key(sha, reuse.digest)}}
    )["Item"]
    assert "user_id" not in item and "user-1" not in json.dumps(item)
    assert item["decided_by"]["S"] == "rules" and item["rekognition_model_version"]["S"] == "7.0"


def test_the_content_hash_is_recorded_at_upload_and_rides_in_the_message(stack):
    data = fixtures.png(seed=12)
    job_id = accept(stack, data)
    assert job(stack, job_id)["content_sha256"] == hashlib.sha256(data).hexdigest()
    (message,) = drain(stack.client("sqs"), stack.exports[Output.PROCESSING_QUEUE_URL])
    body = json.loads(message["Body"])
    assert body == {"job_id": job_id, "content_sha256": hashlib.sha256(data).hexdigest()}


def test_different_bytes_are_analyzed(stack):
    reuse = config(stack)
    rekognition_version(stack, "7.0")
    decided(stack, fixtures.png(seed=13), reuse)
    other, sha = upload(stack, fixtures.png(seed=14))
    out, lam = run_dispatch(stack, other, sha, reuse)
    assert not out.reused and len(lam.calls) == 3


def test_changed_rules_or_models_mean_a_new_digest_and_a_new_analysis(stack):
    rekognition_version(stack, "7.0")
    data = fixtures.png(seed=15)
    decided(stack, data, config(stack, "rules-1"))
    again, sha = upload(stack, data)
    out, lam = run_dispatch(stack, again, sha, config(stack, "rules-2"))
    assert not out.reused and len(lam.calls) == 3


def test_a_new_rekognition_model_version_means_a_new_analysis(stack):
    reuse = config(stack)
    rekognition_version(stack, "7.0")
    data = fixtures.png(seed=16)
    decided(stack, data, reuse)
    rekognition_version(stack, "8.0")  # Rekognition answered with a newer model
    again, sha = upload(stack, data)
    out, lam = run_dispatch(stack, again, sha, reuse)
    assert not out.reused and len(lam.calls) == 3
    # Its finalizer replaces the outdated verdict; the next repeat reuses the new one.
    assert analyze(stack, again, reuse, {"labels": [], "model_version": "8.0"})[-1].verdict_stored
    third, sha = upload(stack, data)
    assert run_dispatch(stack, third, sha, reuse)[0].reused_from == again


def test_without_a_known_rekognition_version_nothing_that_needed_it_is_reused(stack):
    reuse = config(stack)
    data = fixtures.png(seed=17)
    decided(stack, data, reuse)  # no meta item: the version in force is unknown
    again, sha = upload(stack, data)
    assert not run_dispatch(stack, again, sha, reuse)[0].reused


def test_an_expired_verdict_is_not_reused(stack):
    reuse = config(stack)
    rekognition_version(stack, "7.0")
    data = fixtures.png(seed=18)
    decided(stack, data, reuse)
    later = utcnow() + timedelta(days=31)
    again, sha = upload(stack, data)
    out, lam = run_dispatch(stack, again, sha, reuse, now=later)
    assert not out.reused and len(lam.calls) == 3
    # The expired item is replaced by the new analysis' verdict.
    assert analyze(stack, again, reuse, now=later)[-1].verdict_stored


def test_reuse_off_never_looks_up(stack):
    rekognition_version(stack, "7.0")
    data = fixtures.png(seed=19)
    decided(stack, data, config(stack))
    again, sha = upload(stack, data)
    out, lam = run_dispatch(stack, again, sha, None)
    assert not out.reused and len(lam.calls) == 3
    assert "verdict_key" not in job(stack, again)


def test_two_identical_uploads_racing_store_one_verdict_and_decide_alike(stack):
    reuse = config(stack)
    rekognition_version(stack, "7.0")
    data = fixtures.png(seed=20)
    pairs = [upload(stack, data, user=f"user-{i}") for i in range(2)]
    for job_id, sha in pairs:  # both look up before either has a verdict
        assert not run_dispatch(stack, job_id, sha, reuse)[0].reused
    barrier = threading.Barrier(2)
    stored = []

    def finish(job_id):
        barrier.wait()
        stored.append(analyze(stack, job_id, reuse, REK_EXPLICIT)[-1].verdict_stored)

    threads = [threading.Thread(target=finish, args=(j,)) for j, _ in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(stored) == [False, True], "one verdict stored"
    assert {job(stack, j)["decision"] for j, _ in pairs} == {"reject"}
    items = stack.client("dynamodb").scan(TableName=reuse.table)["Items"]
    assert len([i for i in items if i["verdict_key"]["S"] != REKOGNITION_VERSION_KEY]) == 1


def test_a_reused_job_is_notified_exactly_once(stack):
    reuse = config(stack)
    rekognition_version(stack, "7.0")
    data = fixtures.png(seed=21)
    decided(stack, data, reuse)
    topic_queue = subscribe_queue(stack)
    again, sha = upload(stack, data)
    run_dispatch(stack, again, sha, reuse)
    run_dispatch(stack, again, sha, reuse)  # a redelivered message: a no-op
    records = stream_records(stack)
    assert stack.invoke("notifier", {"Records": records}) == {"batchItemFailures": []}
    sent = [m for m in notifications(stack, topic_queue) if m["job_id"] == again]
    assert len(sent) == 1
    assert sent[0]["verdict_reused"] is True and sent[0]["event"] == "decided"


def test_a_moderators_verdict_takes_precedence_for_the_same_bytes(stack):
    reuse = config(stack)
    rekognition_version(stack, "7.0")
    data = fixtures.png(seed=22)
    moderate = {
        "labels": [{"name": "Violence", "confidence": 72.0, "parent": "", "top_level": "Violence"}],
        "model_version": "7.0",
    }
    first = decided(stack, data, reuse, moderate)
    assert job(stack, first)["decision"] == "review"
    # A repeat before anyone looked: the same automatic verdict, queued for review too.
    queued, sha = upload(stack, data)
    assert run_dispatch(stack, queued, sha, reuse)[0].reused
    assert job(stack, queued)["review_state"] == "pending"
    review.record_verdict(
        stack.client("dynamodb"),
        table(stack),
        first,
        review.ModeratorVerdict("approve", "a harmless film still"),
        "mod-1",
        utcnow(),
        verdict_store=(reuse.table, reuse.ttl_days),
    )
    later, sha = upload(stack, data)
    out, lam = run_dispatch(stack, later, sha, reuse)
    assert out.reused and lam.calls == []
    reused = job(stack, later)
    assert reused["decision"] == "approve" and "review_state" not in reused
    assert reused["reasons"][0].startswith("reused: a moderator's verdict")
    # The rules' verdict for the same bytes never replaces the person's.
    other, sha = upload(stack, data)
    run_dispatch(stack, other, sha, None)
    assert not analyze(stack, other, reuse, moderate)[-1].verdict_stored


def test_the_dispatcher_reuses_through_its_declared_environment(stack):
    """The program's wiring: the upload's message, the digest and the table in the env."""
    data = fixtures.png(seed=23)
    url = stack.exports[Output.PROCESSING_QUEUE_URL]
    sqs = stack.client("sqs")
    with stack.environment("dispatcher") as fn:
        digest = fn.environment["VERDICT_DIGEST"]
    assert len(digest) == 64
    rekognition_version(stack, "7.0")
    first = accept(stack, data)
    drain(sqs, url)
    reuse = verdicts.ReuseConfig(stack.exports[Output.VERDICTS_TABLE], digest, 30)
    run_dispatch(stack, first, hashlib.sha256(data).hexdigest(), reuse)
    analyze(stack, first, reuse)
    second = accept(stack, data, user="user-2")
    (message,) = drain(sqs, url)
    lam = RecordingLambda()

    def no_analyzers(module):
        module.client = lambda service: lam if service == "lambda" else stack.client(service)

    out = stack.invoke("dispatcher", sqs_event([message["Body"]]), patch=no_analyzers)
    assert out == {"batchItemFailures": []}
    assert lam.calls == [] and job(stack, second)["reused_from"] == first


def test_a_bank_change_stops_reuse_of_verdicts_analysed_before_it(stack):
    """An image approved before it was banked is analysed again (and matched), not reused;
    a verdict from a job created the bank cache time after the change is reused again."""
    import boto3

    from common import banks
    from common.timeutil import iso

    banks_table = stack.exports[Output.BANKS_TABLE]
    reuse = verdicts.ReuseConfig(stack.exports[Output.VERDICTS_TABLE], "rules-1", 30, banks_table)
    rekognition_version(stack, "7.0")
    data = fixtures.png(seed=31)
    decided(stack, data, reuse)
    again, sha = upload(stack, data)
    assert run_dispatch(stack, again, sha, reuse)[0].reused, "no bank change yet: reused"

    table_resource = boto3.resource("dynamodb", region_name="us-east-1").Table(banks_table)
    entry = banks.new_entry({"dhash": "00ff00ff00ff00ff"}, "mod-1", None, "test", 0)
    banks.add_entry(table_resource, "later-banked", entry)
    changed = utcnow()
    after, sha = upload(stack, data)
    out, lam = run_dispatch(stack, after, sha, reuse)
    assert not out.reused and len(lam.calls) == 3, "analysed again, with today's banks"
    # Its verdict does not replace the stored one (created within the cache time of it)...
    assert not analyze(stack, after, reuse)[-1].verdict_stored
    # ...but a job created later than that refreshes it, and reuse resumes.
    later = {"job_id": "later-job", "created_at": iso(changed + timedelta(seconds=31))}
    ddb = stack.client("dynamodb")
    key = verdicts.key(sha, reuse.digest)
    assert verdicts.store(ddb, reuse.table, key, later, "approve", [], [], 30, utcnow())
    found = verdicts.lookup(ddb, reuse.table, sha, reuse.digest, utcnow(), banks_table)
    assert found is not None and found.source_job_id == "later-job"
    # A moderator's verdict counts from when it was given.
    verdicts.store_moderator(
        ddb, reuse.table, key, "m", "reject", changed - timedelta(seconds=1), 30
    )
    assert verdicts.lookup(ddb, reuse.table, sha, reuse.digest, utcnow(), banks_table) is None
    verdicts.store_moderator(ddb, reuse.table, key, "m", "reject", utcnow(), 30)
    assert verdicts.lookup(ddb, reuse.table, sha, reuse.digest, utcnow(), banks_table)
