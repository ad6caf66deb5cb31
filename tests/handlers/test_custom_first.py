"""custom-first: Rekognition only when the custom side is not already a reject; exactly-once
finalize, re-dispatch and duplicate reports still hold."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from common import analysis, dispatch, jobs
from common.analysis import BranchOutcome
from common.contract import Branch, Output
from common.decision import Rules
from common.timeutil import utcnow
from tests.support.helpers import RecordingLambda, job, put_job

RULES = Rules(min_confidence=50, reject_threshold=90, unsafe_categories=("Explicit", "Violence"))
ANALYZERS = {"rekognition": "rek-fn", "custom": "custom-fn", "text": "text-fn"}
CLEAN = {"signals": [{"category": "nsfw", "score": 0.01, "evidence": []}]}
NSFW = {"signals": [{"category": "nsfw", "score": 0.97, "evidence": []}]}
BLOCKLISTED = {"signals": [{"category": "blocklisted", "score": 1.0, "evidence": ["distance 0"]}]}
TEXT_CLEAN = {"signals": [], "text": ""}
TEXT_BLOCKED = {"signals": [{"category": "blocked_terms", "score": 1.0, "evidence": ["term x"]}]}
TEXT_LINK = {"signals": [{"category": "spam_link", "score": 0.99, "evidence": ["url http://a.b"]}]}
REK_CLEAN = {"labels": [], "model_version": "7.0"}
REK_EXPLICIT = {
    "labels": [{"name": "Explicit", "confidence": 97.0, "parent": "", "top_level": "Explicit"}],
    "model_version": "7.0",
}


def table(stack) -> str:
    return stack.exports[Output.JOBS_TABLE]


def pending_job(stack) -> str:
    job_id = str(uuid.uuid4())
    put_job(stack, job_id, "pending", utcnow())
    return job_id


def run_dispatch(stack, job_id, order, now=None):
    lam = RecordingLambda()
    out = dispatch.dispatch(
        stack.client("dynamodb"),
        lam,
        table(stack),
        dispatch.Message(job_id),
        dispatch.Plan(ANALYZERS, 30, order=order, rules=RULES),
        now or utcnow(),
    )
    return out, lam


def report(stack, job_id, branch, result, lam=None):
    follow_on = analysis.FollowOn(lam, "rek-fn") if lam is not None else None
    return analysis.complete_branch(
        stack.client("dynamodb"),
        table(stack),
        job_id,
        branch,
        result,
        RULES,
        utcnow,
        completion=analysis.Completion(follow_on=follow_on),
    )


def test_custom_first_dispatch_starts_only_the_custom_side(stack):
    job_id = pending_job(stack)
    out, lam = run_dispatch(stack, job_id, "custom-first")
    assert set(out.started) == {"custom", "text"}
    assert sorted(name for name, _ in lam.calls) == ["custom-fn", "text-fn"]
    assert job(stack, job_id)["branches"] == list(ANALYZERS), "the job still expects all three"


def test_parallel_dispatch_starts_every_branch(stack):
    out, lam = run_dispatch(stack, pending_job(stack), "parallel")
    assert set(out.started) == set(ANALYZERS) and len(lam.calls) == 3


@pytest.mark.parametrize(
    ("custom", "text"),
    [(BLOCKLISTED, TEXT_CLEAN), (CLEAN, TEXT_BLOCKED)],
    ids=["blocklist match", "blocked term"],
)
def test_a_decisive_reject_skips_rekognition(stack, custom, text):
    job_id = pending_job(stack)
    run_dispatch(stack, job_id, "custom-first")
    lam = RecordingLambda()
    assert report(stack, job_id, Branch.CUSTOM, custom, lam).outcome is BranchOutcome.WAITING
    last = report(stack, job_id, Branch.TEXT, text, lam)
    assert last.finalized and last.decision == "reject" and last.skipped_rekognition
    assert lam.calls == [], "Rekognition never invoked"
    final = job(stack, job_id)
    assert final["status"] == "complete" and final["decision"] == "reject"
    assert final["rekognition_result"]["skipped"] is True
    assert final["reasons"][-1] == analysis.SKIPPED_REASON


@pytest.mark.parametrize(
    ("custom", "text", "rekognition", "decision"),
    [
        (CLEAN, TEXT_CLEAN, REK_CLEAN, "approve"),
        (CLEAN, TEXT_CLEAN, REK_EXPLICIT, "reject"),  # Rekognition alone rejects
        (NSFW, TEXT_CLEAN, REK_EXPLICIT, "reject"),  # a model category needs Rekognition
        (NSFW, TEXT_CLEAN, REK_CLEAN, "review"),  # ...and without it is only a review
        (CLEAN, TEXT_LINK, REK_CLEAN, "review"),  # review is not decisive
    ],
)
def test_anything_but_a_decisive_reject_calls_rekognition(
    stack, custom, text, rekognition, decision
):
    job_id = pending_job(stack)
    run_dispatch(stack, job_id, "custom-first")
    lam = RecordingLambda()
    report(stack, job_id, Branch.CUSTOM, custom, lam)
    started = report(stack, job_id, Branch.TEXT, text, lam)
    assert started.outcome is BranchOutcome.STARTED_REKOGNITION
    assert lam.calls == [
        (
            "rek-fn",
            {
                "job_id": job_id,
                "image_key": job(stack, job_id)["image_key"],
                "image_etag": job(stack, job_id).get("image_etag"),
                "content_sha256": job(stack, job_id).get("content_sha256"),
                "content_type": "image/png",
            },
        )
    ]
    final = report(stack, job_id, Branch.REKOGNITION, rekognition)
    assert final.finalized and final.decision == decision
    # Same decision as the parallel order on the same results.
    parallel = pending_job(stack)
    run_dispatch(stack, parallel, "parallel")
    for branch, result in ((Branch.REKOGNITION, rekognition), (Branch.CUSTOM, custom)):
        report(stack, parallel, branch, result)
    assert report(stack, parallel, Branch.TEXT, text).decision == decision


def test_a_redispatched_job_resumes_where_custom_first_left_it(stack):
    """The branch that completed the custom side died before acting: the re-claim acts."""
    ddb = stack.client("dynamodb")
    decisive, undecided = pending_job(stack), pending_job(stack)
    for job_id, custom in ((decisive, BLOCKLISTED), (undecided, CLEAN)):
        run_dispatch(stack, job_id, "custom-first")
        for branch, result in ((Branch.CUSTOM, custom), (Branch.TEXT, TEXT_CLEAN)):
            jobs.record_result(ddb, table(stack), job_id, branch, result, utcnow())
    later = utcnow() + timedelta(seconds=31)  # past both claims' leases, however slow the setup
    out, lam = run_dispatch(stack, decisive, "custom-first", now=later)
    assert out.skipped_rekognition and lam.calls == []
    assert job(stack, decisive)["decision"] == "reject"
    out, lam = run_dispatch(stack, undecided, "custom-first", now=later)
    assert out.started == (Branch.REKOGNITION,) and [n for n, _ in lam.calls] == ["rek-fn"]


@pytest.mark.parametrize("order", ["parallel", "custom-first"])
def test_racing_reports_finalize_each_job_exactly_once_in_either_order(stack, order):
    """The custom side's branches of many jobs finish at the same instant, each reported
    twice (duplicate async deliveries); then Rekognition reports for every start."""
    job_ids = [pending_job(stack) for _ in range(60)]
    for job_id in job_ids:
        run_dispatch(stack, job_id, order)
    decisive = set(job_ids[::3])
    lam = RecordingLambda()  # records the starts of Rekognition (list appends are atomic)
    finalized = {j: 0 for j in job_ids}
    lock = threading.Lock()
    barriers = {j: threading.Barrier(4) for j in job_ids}

    def branch(job_id, name, result):
        barriers[job_id].wait()
        rep = report(stack, job_id, name, result, lam if order == "custom-first" else None)
        if rep.finalized:
            with lock:
                finalized[job_id] += 1

    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = [
            pool.submit(branch, j, b, r)
            for j in job_ids
            for b, r in [(Branch.CUSTOM, BLOCKLISTED if j in decisive else CLEAN)] * 2
            + [(Branch.TEXT, TEXT_CLEAN)] * 2
        ]
        for f in futures:
            f.result()
    starts = [payload["job_id"] for _, payload in lam.calls]
    if order == "parallel":
        assert starts == []
        starts = list(job_ids)  # the dispatcher started Rekognition with the others
    else:
        assert not decisive & set(starts), "a decisive reject never starts Rekognition"
        assert set(starts) == set(job_ids) - decisive
    for job_id in starts:
        if report(stack, job_id, Branch.REKOGNITION, REK_CLEAN).finalized:
            finalized[job_id] += 1
    for j in job_ids:
        final = job(stack, j)
        assert finalized[j] == 1, (j, finalized[j])
        assert final["status"] == "complete"
        assert final["decision"] == ("reject" if j in decisive else "approve")
        skipped = final["rekognition_result"].get("skipped", False)
        assert skipped is (order == "custom-first" and j in decisive)
