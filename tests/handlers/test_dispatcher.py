"""Dispatcher: claim before fan-out, redelivery is a no-op, partial batch failures."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from common import dispatch, jobs
from common.timeutil import utcnow
from local.tools import fixtures
from tests.support.helpers import RecordingLambda, accept, job
from tests.support.inprocess import sqs_event

ANALYZERS = {"rekognition": "rek-fn", "custom": "custom-fn"}


def run_dispatch(stack, job_id, lam, now=None, lease=30):
    return dispatch.dispatch(
        stack.client("dynamodb"),
        lam,
        stack.exports["jobs_table"],
        dispatch.Message(job_id),
        dispatch.Plan(ANALYZERS, lease),
        now or utcnow(),
    )


def test_claims_before_invoking_both_analyzers(stack):
    job_id = accept(stack, fixtures.png(seed=1))
    seen_status = []

    class Checking(RecordingLambda):
        def invoke(self, **kw):
            seen_status.append(job(stack, job_id)["status"])
            return super().invoke(**kw)

    lam = Checking()
    assert run_dispatch(stack, job_id, lam).started
    assert seen_status == ["analyzing", "analyzing"], "analyzing is set before any analyzer starts"
    assert sorted(c[0] for c in lam.calls) == ["custom-fn", "rek-fn"]
    item = job(stack, job_id)
    assert lam.calls[0][1] == {
        "job_id": job_id,
        "image_key": f"uploads/{job_id}/original",
        # What the image must still be when the analyzer reads it (common/originals.py).
        "image_etag": item["image_etag"],
        "content_sha256": item["content_sha256"],
        "content_type": "image/png",
    }
    assert item["image_etag"] and item["content_sha256"]
    assert job(stack, job_id)["attempts"] == 1


def test_redelivered_message_does_not_invoke_again(stack):
    job_id = accept(stack, fixtures.png(seed=2))
    lam = RecordingLambda()
    run_dispatch(stack, job_id, lam)
    # While the claim is held, a duplicate is handed back to SQS (not acknowledged).
    for _ in range(3):
        with pytest.raises(dispatch.ClaimHeld):
            run_dispatch(stack, job_id, lam)
    assert len(lam.calls) == 2
    # Once the analyzers reported, a redelivery is an acknowledged no-op.
    ddb, table = stack.client("dynamodb"), stack.exports["jobs_table"]
    jobs.record_result(ddb, table, job_id, "rekognition", {"labels": []}, utcnow())
    jobs.record_result(ddb, table, job_id, "custom", {"flags": []}, utcnow())
    assert run_dispatch(stack, job_id, lam).duplicate
    assert len(lam.calls) == 2


def test_a_duplicate_delivery_cannot_strand_a_job_whose_claimer_died(stack):
    """Two deliveries of one message: the claimer dies after one invoke; the duplicate,
    arriving within the lease, must not be acknowledged, so SQS offers it again."""
    from datetime import timedelta

    job_id = accept(stack, fixtures.png(seed=5))
    lam = RecordingLambda(fail_on={"custom-fn"})
    with pytest.raises(RuntimeError):
        run_dispatch(stack, job_id, lam)  # claimed, rekognition invoked, then died
    with pytest.raises(dispatch.ClaimHeld):
        run_dispatch(stack, job_id, RecordingLambda())  # the duplicate: not acknowledged
    retry = RecordingLambda()
    later = utcnow() + timedelta(seconds=60)  # SQS redelivers after the visibility timeout
    assert run_dispatch(stack, job_id, retry, now=later).started
    assert {c[0] for c in retry.calls} == {"rek-fn", "custom-fn"}


def test_redelivery_after_the_lease_restarts_missing_analyzers_only(stack):
    """A dispatcher that died between claim and invoke must not strand the job."""
    job_id = accept(stack, fixtures.png(seed=3))
    lam = RecordingLambda(fail_on={"custom-fn"})
    with pytest.raises(RuntimeError):  # the message is reported failed; SQS redelivers it
        run_dispatch(stack, job_id, lam)
    assert job(stack, job_id)["status"] == "analyzing"
    ddb, table = stack.client("dynamodb"), stack.exports["jobs_table"]
    jobs.record_result(ddb, table, job_id, "rekognition", {"labels": []}, utcnow())

    retry = RecordingLambda()
    # Inside the lease: a concurrent duplicate, handed back to SQS.
    with pytest.raises(dispatch.ClaimHeld):
        run_dispatch(stack, job_id, retry)
    from datetime import timedelta

    later = utcnow() + timedelta(seconds=31)
    assert run_dispatch(stack, job_id, retry, now=later).started
    assert [c[0] for c in retry.calls] == ["custom-fn"]
    assert job(stack, job_id)["attempts"] == 2


def test_terminal_jobs_are_never_redispatched(stack):
    job_id = accept(stack, fixtures.png(seed=4))
    ddb, table = stack.client("dynamodb"), stack.exports["jobs_table"]
    jobs.fail_job(ddb, table, job_id, "test", utcnow())
    from datetime import timedelta

    lam = RecordingLambda()
    assert run_dispatch(stack, job_id, lam, now=utcnow() + timedelta(hours=1)).duplicate
    assert lam.calls == []


def test_batch_reports_only_the_failed_messages(stack):
    good = [accept(stack, fixtures.png(seed=10 + i)) for i in range(3)]
    bodies = [
        json.dumps({"job_id": good[0]}),
        "this is not json",
        json.dumps({"job_id": good[1]}),
        json.dumps({"no_job": True}),
        json.dumps({"job_id": "00000000-0000-0000-0000-000000000000"}),  # unknown job
        json.dumps({"job_id": good[2]}),
    ]
    lam = RecordingLambda()

    def patch(module):
        import common.clients

        real = common.clients.client
        module.client = lambda svc: lam if svc == "lambda" else real(svc)

    result = stack.invoke("dispatcher", sqs_event(bodies), patch=patch)
    assert result == {
        "batchItemFailures": [
            {"itemIdentifier": "m-1"},
            {"itemIdentifier": "m-3"},
            {"itemIdentifier": "m-4"},
        ]
    }
    # Three branches (rekognition, custom, text) for each of the three good jobs.
    assert len(lam.calls) == 9
    assert all(job(stack, j)["status"] == "analyzing" for j in good)
    assert {tuple(job(stack, j)["branches"]) for j in good} == {("rekognition", "custom", "text")}


def test_the_claim_records_the_branches_and_a_reclaim_keeps_them(stack):
    """An in-flight job keeps the branches its claim recorded when the stack changes."""
    job_id = accept(stack, fixtures.png(seed=30))
    lam = RecordingLambda()
    three = {**ANALYZERS, "text": "text-fn"}
    ddb, table = stack.client("dynamodb"), stack.exports["jobs_table"]
    started = dispatch.dispatch(
        ddb, lam, table, dispatch.Message(job_id), dispatch.Plan(three, 30), utcnow()
    ).started
    assert sorted(started) == ["custom", "rekognition", "text"]
    assert job(stack, job_id)["branches"] == ["rekognition", "custom", "text"]
    jobs.record_result(ddb, table, job_id, "rekognition", {"labels": []}, utcnow())
    # The lease has run out, and the stack now has only two branches: the re-claim keeps
    # the job's three and invokes the missing custom branch (text is no longer deployed).
    later = utcnow() + timedelta(seconds=120)
    again = dispatch.dispatch(
        ddb, lam, table, dispatch.Message(job_id), dispatch.Plan(ANALYZERS, 30), later
    )
    assert again.started == ("custom",)
    assert job(stack, job_id)["branches"] == ["rekognition", "custom", "text"]
    assert jobs.missing_results(job(stack, job_id)) == ["custom", "text"]


def test_a_job_claimed_before_branches_were_recorded_expects_the_first_two():
    assert jobs.expected_branches({"job_id": "j"}) == ("rekognition", "custom")
    assert jobs.missing_results({"custom_result": {}}) == ["rekognition"]


def test_parse_message_rejects_poison():
    for body in ("", "[]", "{}", '{"job_id": 5}', "nope"):
        try:
            dispatch.parse_message(body)
        except dispatch.PoisonMessage:
            continue
        raise AssertionError(body)
    assert dispatch.parse_message('{"job_id": "a"}') == dispatch.Message("a")
    sha = "ab" * 32
    message = json.dumps({"job_id": "a", "content_sha256": sha})
    assert dispatch.parse_message(message) == dispatch.Message("a", sha)
    # A malformed hash is not trusted for reuse; the job is still dispatched.
    assert dispatch.parse_message('{"job_id": "a", "content_sha256": "x"}').content_sha256 is None
