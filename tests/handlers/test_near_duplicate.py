"""Near-duplicate reuse (custom-first): a re-encoded repeat reuses the Rekognition labels of
an analysed image within the PDQ distance; the custom and text results are its own."""

from __future__ import annotations

import hashlib

import pytest

from common import analysis, verdicts
from common.contract import REKOGNITION_VERSION_KEY, Branch, Output
from common.decision import Rules
from common.timeutil import utcnow
from local.tools import fixtures
from tests.handlers.test_verdict_reuse import ANALYZERS, REK_EXPLICIT, rekognition_version
from tests.support.helpers import RecordingLambda, accept, job

pytestmark = pytest.mark.handlers

RULES = Rules(min_confidence=50, reject_threshold=90, unsafe_categories=("Explicit", "Violence"))
PDQ = "f" * 16 + "0" * 16 + "a5" * 8 + "3c" * 8  # 64 hex digits
TEXT_CLEAN = {"signals": [], "text": ""}


def flip(pdq_hex: str, bits: int) -> str:
    """`pdq_hex` with its lowest `bits` bits flipped, spread over the slices (one a slice
    first, so a lookup must find it through a slice that still agrees)."""
    value = int(pdq_hex, 16)
    positions = [16 * (i % 16) + i // 16 for i in range(bits)]
    for p in positions:
        value ^= 1 << p
    return f"{value:064x}"


def custom(pdq_hex: str, quality: int = 100, **extra) -> dict:
    return {
        "signals": [{"category": "nsfw", "score": 0.01, "evidence": []}],
        "pdq": pdq_hex,
        "pdq_quality": quality,
        **extra,
    }


def config(stack, distance: int | None = 8) -> verdicts.ReuseConfig:
    return verdicts.ReuseConfig(
        stack.exports[Output.VERDICTS_TABLE], "rules-1", 30, near_distance=distance
    )


def claimed(stack, seed: int, reuse) -> tuple[str, str]:
    """An uploaded, dispatched (custom-first) job: (job id, its sha256)."""
    from common import dispatch

    data = fixtures.png(seed=seed)
    job_id = accept(stack, data)
    sha = hashlib.sha256(data).hexdigest()
    plan = dispatch.Plan(ANALYZERS, 30, order="custom-first", reuse=reuse, rules=RULES)
    out = dispatch.dispatch(
        stack.client("dynamodb"),
        RecordingLambda(),
        stack.exports[Output.JOBS_TABLE],
        dispatch.Message(job_id, sha),
        plan,
        utcnow(),
    )
    assert not out.reused
    return job_id, sha


def report(stack, job_id, branch, result, reuse, lam):
    completion = analysis.Completion(reuse=reuse, follow_on=analysis.FollowOn(lam, "rek-fn"))
    return analysis.complete_branch(
        stack.client("dynamodb"),
        stack.exports[Output.JOBS_TABLE],
        job_id,
        branch,
        result,
        RULES,
        utcnow,
        completion=completion,
    )


def custom_side(stack, job_id, pdq_result, reuse):
    """The text and custom branches report; (the last report, the follow-on Lambda)."""
    lam = RecordingLambda()
    report(stack, job_id, Branch.TEXT, TEXT_CLEAN, reuse, lam)
    return report(stack, job_id, Branch.CUSTOM, pdq_result, reuse, lam), lam


def analysed(stack, seed, pdq_hex, reuse, labels=REK_EXPLICIT) -> str:
    """A job analysed in full (Rekognition called) and filed in the index."""
    job_id, _ = claimed(stack, seed, reuse)
    out, lam = custom_side(stack, job_id, custom(pdq_hex), reuse)
    assert out.outcome == analysis.BranchOutcome.STARTED_REKOGNITION and len(lam.calls) == 1
    final = report(stack, job_id, Branch.REKOGNITION, labels, reuse, RecordingLambda())
    assert final.finalized
    return job_id


def test_a_re_encoded_repeat_reuses_the_labels_and_runs_its_own_custom_side(stack):
    reuse = config(stack)
    rekognition_version(stack, "7.0")
    first = analysed(stack, 401, PDQ, reuse)
    second, _ = claimed(stack, 402, reuse)
    out, lam = custom_side(stack, second, custom(flip(PDQ, 7)), reuse)
    assert lam.calls == [], "Rekognition not called"
    assert out.finalized and out.decision == "reject" and out.near_duplicate_reused
    record = job(stack, second)
    rek = record["rekognition_result"]
    assert rek["near_duplicate_of"] == first and rek["near_duplicate_distance"] == 7
    assert rek["labels"] == job(stack, first)["rekognition_result"]["labels"]
    assert record["custom_result"]["pdq"] == flip(PDQ, 7), "its own custom result"
    assert any("near-duplicate" in r for r in record["reasons"])
    # The owner's view says nothing of it.
    from common import disclosure

    assert "near" not in str(disclosure.owner_view(record))
    # A reused result is not filed again (no drift from copy to copy).
    items = stack.client("dynamodb").scan(TableName=reuse.table)["Items"]
    results = [i for i in items if i["verdict_key"]["S"].startswith("ndr#")]
    assert len(results) == 1


@pytest.mark.parametrize(
    "case",
    ["too_far", "moderator_verdict", "animation", "low_quality", "new_rekognition", "off"],
)
def test_no_reuse_when_anything_says_otherwise(stack, case):
    reuse = config(stack, None if case == "off" else 8)
    rekognition_version(stack, "7.0")
    first = analysed(stack, 411, PDQ, config(stack))
    result = custom(flip(PDQ, 3))
    if case == "too_far":
        result = custom(flip(PDQ, 9))
    elif case == "animation":
        result = custom(flip(PDQ, 3), frames={"count": 3, "analyzed": [0, 2], "policy": "analyze"})
    elif case == "low_quality":
        result = custom(flip(PDQ, 3), quality=30)
    elif case == "new_rekognition":
        rekognition_version(stack, "8.0")
    elif case == "moderator_verdict":  # e.g. an appeal overturned it
        sha = job(stack, first)["content_sha256"]
        key = verdicts.key(sha, reuse.digest)
        verdicts.store_moderator(
            stack.client("dynamodb"), reuse.table, key, first, "approve", utcnow(), 30
        )
    second, _ = claimed(stack, 412, reuse)
    out, lam = custom_side(stack, second, result, reuse)
    assert out.outcome == analysis.BranchOutcome.STARTED_REKOGNITION, case
    assert [name for name, _ in lam.calls] == ["rek-fn"]


def test_the_index_finds_every_image_within_fifteen_bits():
    """Pigeonhole over 16 slices: any hash within 15 bits shares a slice key; 16 may not."""
    from common import near_index

    keys = set(near_index.slice_keys(PDQ, "d"))
    for bits in range(16):
        assert keys & set(near_index.slice_keys(flip(PDQ, bits), "d")), bits
    assert not keys & set(near_index.slice_keys(flip(PDQ, 16), "d"))
    far = near_index.candidates(
        [{"verdict_key": "k", "a" * 64: f"{flip(PDQ, 9)} 9999999999"}], PDQ, 8, 0, "verdict_key"
    )
    assert far == []
    expired = near_index.candidates(
        [{"verdict_key": "k", "a" * 64: f"{PDQ} 10"}], PDQ, 8, 11, "verdict_key"
    )
    assert expired == []


def test_the_rekognition_version_item_is_read_with_the_slices(stack):
    """One BatchGetItem for the slices and the version: counted on the client."""
    reuse = config(stack)
    rekognition_version(stack, "7.0")
    analysed(stack, 421, PDQ, reuse)
    ddb = stack.client("dynamodb")
    calls = []
    original = ddb.batch_get_item

    def counting(**kw):
        calls.append(kw)
        return original(**kw)

    ddb.batch_get_item = counting
    found = verdicts.find_near(ddb, reuse.table, reuse.digest, flip(PDQ, 2), 8, utcnow())
    assert found is not None and found.distance == 2
    keys = [k["verdict_key"]["S"] for k in calls[0]["RequestItems"][reuse.table]["Keys"]]
    assert REKOGNITION_VERSION_KEY in keys and len(keys) == 17
    assert len(calls) == 2


def test_a_full_slice_item_does_not_stop_filing_or_finding(stack):
    """A slice value shared by thousands of images fills its 400 KB item: the image is
    filed under its other 15 slices and is still found through them."""
    from common import near_index

    reuse = config(stack)
    rekognition_version(stack, "7.0")
    ddb = stack.client("dynamodb")
    crowded = near_index.slice_keys(PDQ, reuse.digest)[0]
    # The item made exactly as large as DynamoDB (400 KB) allows: no room for one more.
    low, high = 0, 409_600
    while low < high:
        size = (low + high + 1) // 2
        try:
            ddb.put_item(
                TableName=reuse.table,
                Item={"verdict_key": {"S": crowded}, "pad": {"S": "x" * size}},
            )
            low = size
        except ddb.exceptions.ClientError:
            high = size - 1
    ddb.put_item(
        TableName=reuse.table, Item={"verdict_key": {"S": crowded}, "pad": {"S": "x" * low}}
    )
    first = analysed(stack, 431, PDQ, reuse)  # filed (15 of 16 slices) without an error
    sha = job(stack, first)["content_sha256"]

    def filed(key: str) -> bool:
        item = ddb.get_item(TableName=reuse.table, Key={"verdict_key": {"S": key}})["Item"]
        return sha in item

    keys = near_index.slice_keys(PDQ, reuse.digest)
    assert not filed(keys[0]) and all(filed(k) for k in keys[1:])
    found = verdicts.find_near(ddb, reuse.table, reuse.digest, flip(PDQ, 3), 8, utcnow())
    assert found is not None and found.source_job_id == first
