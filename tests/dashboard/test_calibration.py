"""Calibration and QA agreement: pure functions over job records as the table holds them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dashboard.data import calibration as cal

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def record(
    job_id: str,
    nsfw: float,
    decision: str,
    *,
    verdict: str | None = None,
    reviewer: str = "mod-r",
    qa: dict | None = None,
    appeal: str | None = None,
    days_ago: int = 1,
) -> dict:
    """A complete job whose custom analysis scored `nsfw`; the rules decided `decision`."""
    effect = {"reject": "reject", "review": "review"}.get(decision)
    job = {
        "job_id": job_id,
        "status": "complete",
        "decision": decision,
        "completed_at": (NOW - timedelta(days=days_ago)).isoformat(),
        "custom_result": {"signals": [{"category": "nsfw", "score": nsfw}], "scores": {}},
        "rekognition_result": {"labels": []},
        "categories": (
            [{"category": "nsfw", "effect": effect, "score": nsfw, "source": "custom"}]
            if effect
            else []
        ),
    }
    if verdict is not None:
        job.update(
            review_state="reviewed",
            automatic_decision=decision,
            decision=verdict,
            review={"decision": verdict, "reviewer": reviewer},
        )
    if qa is not None:
        job.update(qa_state="decided", qa=qa)
    if appeal is not None:
        before = job["decision"]
        after = ("approve" if before != "approve" else "reject") if appeal == "overturn" else before
        job.update(
            appeal_state="decided",
            decision=after,
            appeal={
                "outcome": appeal,
                "decision_before": before,
                "decision_after": after,
                "decided_by": "mod-x",
            },
        )
    return job


def test_rulings_compare_each_persons_call_with_what_it_reexamined():
    (verdict,) = cal.rulings(record("a", 0.6, "review", verdict="approve"))
    assert (verdict.source, verdict.decided_by, verdict.call, verdict.overruled) == (
        "verdict",
        "rules",
        "pass",
        True,
    )
    (confirmed,) = cal.rulings(record("b", 0.6, "review", verdict="reject"))
    assert confirmed.overruled is False
    checked = record(
        "c",
        0.9,
        "reject",
        qa={"original": "reject", "decision": "reject", "agrees": True, "reviewer": "mod-q"},
    )
    assert [(r.source, r.person, r.overruled) for r in cal.rulings(checked)] == [
        ("qa", "mod-q", False)
    ]
    overturned = record("d", 0.95, "reject", appeal="overturn")
    (appealed,) = cal.rulings(overturned)
    assert (appealed.source, appealed.decided_by, appealed.overruled) == ("appeal", "rules", True)
    assert cal.person_call(overturned) == "pass" and cal.rules_decision(overturned) == "reject"
    assert cal.rulings(record("e", 0.1, "approve")) == []


def test_qa_agreement_per_category_and_per_moderator():
    records = [
        record("1", 0.9, "reject", qa={"original": "reject", "decision": "reject", "agrees": True}),
        record(
            "2", 0.9, "reject", qa={"original": "reject", "decision": "approve", "agrees": False}
        ),
        record(
            "3",
            0.6,
            "review",
            verdict="approve",
            reviewer="mod-r",
            qa={
                "original": "approve",
                "original_reviewer": "mod-r",
                "decision": "approve",
                "agrees": True,
            },
        ),
        record("4", 0.1, "approve"),
    ]
    by_category = {r["category"]: r for r in cal.qa_agreement(records, by="category")}
    assert by_category["nsfw"] == {
        "category": "nsfw",
        "checked": 3,
        "agreed": 2,
        "agreement": 0.6667,
    }
    by_moderator = {r["moderator"]: r for r in cal.qa_agreement(records, by="moderator")}
    assert by_moderator["rules"]["agreement"] == 0.5 and by_moderator["mod-r"]["agreement"] == 1.0
    (mod,) = cal.moderator_agreement(records)
    assert mod == {
        "moderator": "mod-r",
        "qa_checked": 1,
        "qa_agreement": 1.0,
        "appeals": 0,
        "upheld": None,
    }


def test_overrules_per_score_band():
    records = [
        record("1", 0.55, "review", verdict="approve"),
        record("2", 0.58, "review", verdict="approve"),
        record("3", 0.52, "review", verdict="reject"),
        record("4", 0.95, "reject", appeal="uphold"),
        record("5", 0.2, "approve"),  # no person looked: not counted
    ]
    rows = {(r["score"], r["band"]): r for r in cal.overrules(records)}
    assert rows[("custom:nsfw", "0.5-0.6")] == {
        "score": "custom:nsfw",
        "band": "0.5-0.6",
        "decisions": 3,
        "overruled": 2,
        "rate": 0.6667,
    }
    assert rows[("custom:nsfw", "0.9-1.0")]["overruled"] == 0
    assert ("custom:nsfw", "0.2-0.3") not in rows
    assert cal.band_of(1.0) == "0.9-1.0" and cal.band_of(0.0) == "0.0-0.1"
    assert cal.scale(72.0) == 0.72


def test_what_a_threshold_would_have_done_over_the_window():
    records = [
        record("1", 0.55, "review", verdict="approve"),
        record("2", 0.65, "review", verdict="reject"),
        record("3", 0.92, "reject"),
        record("4", 0.95, "reject", appeal="overturn"),
        record("5", 0.3, "approve"),
        record("6", 0.99, "reject", days_ago=40),  # outside the window
    ]
    out = cal.what_if(records, "custom:nsfw", 0.6, "reject", since=NOW - timedelta(days=30))
    assert out["jobs"] == 5
    assert out["current"] == {"review": 2, "reject": 2, "overturns": 1}
    # At 0.6 the 0.65 job would have been rejected (a person rejected it too); the 0.55 one
    # approved (its nsfw finding would not have fired).
    assert out["with_threshold"] == {"review": 0, "reject": 3, "overturns": 1}
    assert cal.hypothetical(records[0], "custom:nsfw", 0.6, "reject") == "approve"
    assert cal.what_if(records, "custom:nsfw", 0.5, "review")["with_threshold"]["review"] == 5


def test_suggested_thresholds_follow_what_people_decided():
    records = [record(f"a{i}", 0.42 + 0.01 * i, "review", verdict="approve") for i in range(6)]
    records += [record(f"b{i}", 0.72 + 0.01 * i, "review", verdict="reject") for i in range(6)]
    (row,) = cal.suggest_thresholds(records, min_support=5)
    assert row["score"] == "custom:nsfw" and row["decided"] == 12
    # From 0.5 up every decided job was rejected by a person.
    assert row["reject_at"] == 0.5 and row["support"] == 6
    assert row["review_at"] == 0.05
    few = cal.suggest_thresholds(records[:3] + records[-1:], min_support=5)
    assert few[0]["reject_at"] is None and few[0]["review_at"] is None
