"""Calibration: how people's decisions compare with the rules', and what thresholds would do.

Pure functions over job records (as the jobs table holds them), plus one reader
(`read_decided`) of the records people decided: the review index's `reviewed`
partition, the appeal index's `decided` and the QA index's `decided` partitions, each
one Query bounded by `limit`, newest first.

Three sources of a person's call on a job:
- a verdict (`review`): the rules sent it to review (or `warn` to the queue), a
  moderator approved or rejected;
- a QA decision (`qa`): blind, by another moderator; `agrees` is stored with it;
- an appeal (`appeal`): upheld or overturned by a moderator who did not decide it.

The rules' call and a person's are compared as *flag* (`reject`, `review`) or *pass*
(`approve`, `warn`: the image is published): a person overruled the rules when their
call differs. Scores are the analyses' own (`review.categories_and_scores`: every label
confidence and model score, fired or not), keyed `<analysis>:<name>` and put on a 0-1
scale (Rekognition's 0-100 confidences are divided by 100).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from lambdas.common.contract import (
    APPEAL_INDEX,
    QA_INDEX,
    REVIEW_INDEX,
    AppealField,
    AppealOutcome,
    AppealState,
    Decision,
    JobAttr,
    QaField,
    QaState,
    ReviewState,
)
from lambdas.common.review import categories_and_scores
from lambdas.common.timeutil import parse_iso

FLAG = "flag"
PASS = "pass"
RULES = "rules"  # who made an automatic decision
NONE = "(none)"
# A band's width on the 0-1 score scale.
BAND = 0.1
# Thresholds tried when suggesting one (0.05 steps).
CANDIDATES = tuple(round(0.05 * i, 2) for i in range(1, 20))
_SEVERITY = {Decision.APPROVE: 0, Decision.WARN: 1, Decision.REVIEW: 2, Decision.REJECT: 3}
_BY_SEVERITY = {v: k for k, v in _SEVERITY.items()}


def call_of(decision: Any) -> str | None:
    """`flag` or `pass` for a decision; None for anything else."""
    if decision in (Decision.REJECT, Decision.REVIEW):
        return FLAG
    if decision in (Decision.APPROVE, Decision.WARN):
        return PASS
    return None


def scale(value: float) -> float:
    """A score on 0-1 (confidences in percent become fractions)."""
    return value / 100.0 if value > 1.0 else value


def scores(job: Mapping[str, Any]) -> dict[str, float]:
    _, found = categories_and_scores(job)
    return {k: scale(v) for k, v in found.items()}


def band_of(score: float, width: float = BAND) -> str:
    low = min(int(score / width), int(round(1 / width)) - 1) * width
    return f"{low:.1f}-{low + width:.1f}"


def rules_decision(job: Mapping[str, Any]) -> str | None:
    """What the rules decided: kept as `automatic_decision` once a verdict replaced it,
    `decision_before` of an appeal of the rules' decision, else the decision."""
    if job.get(JobAttr.AUTOMATIC_DECISION):
        return str(job[JobAttr.AUTOMATIC_DECISION])
    appeal = job.get(AppealField.APPEAL) or {}
    if appeal.get("decision_before") and not job.get(JobAttr.REVIEW):
        return str(appeal["decision_before"])
    value = job.get(JobAttr.DECISION)
    return str(value) if value else None


@dataclass(frozen=True)
class Ruling:
    """One person's call on a job next to what it re-examined."""

    source: str  # verdict | qa | appeal
    person: str | None  # who decided now
    decided_by: str  # whose decision was re-examined: a moderator, or RULES
    original: str | None  # that decision
    call: str  # the person's call: flag | pass
    overruled: bool


def rulings(job: Mapping[str, Any]) -> list[Ruling]:
    """Every person's call on the job, each against the decision it re-examined."""
    out: list[Ruling] = []
    review = job.get(JobAttr.REVIEW) or {}
    automatic = job.get(JobAttr.AUTOMATIC_DECISION)
    if job.get(JobAttr.REVIEW_STATE) == ReviewState.REVIEWED and review.get(JobAttr.DECISION):
        call = call_of(review[JobAttr.DECISION])
        if call is not None:
            out.append(
                Ruling(
                    "verdict",
                    review.get("reviewer"),
                    RULES,
                    automatic,
                    call,
                    call != call_of(automatic),
                )
            )
    qa = job.get(QaField.QA) or {}
    if job.get(QaField.STATE) == QaState.DECIDED and qa.get(JobAttr.DECISION):
        call = call_of(qa[JobAttr.DECISION])
        if call is not None:
            out.append(
                Ruling(
                    "qa",
                    qa.get("reviewer"),
                    str(qa.get("original_reviewer") or RULES),
                    qa.get("original"),
                    call,
                    not bool(qa.get("agrees")),
                )
            )
    appeal = job.get(AppealField.APPEAL) or {}
    if job.get(AppealField.STATE) == AppealState.DECIDED and appeal.get("outcome"):
        before = appeal.get("decision_before")
        after = appeal.get("decision_after") or before
        call = call_of(after)
        if call is not None:
            out.append(
                Ruling(
                    "appeal",
                    appeal.get("decided_by"),
                    str(review.get("reviewer") or RULES),
                    before,
                    call,
                    appeal.get("outcome") == AppealOutcome.OVERTURN,
                )
            )
    return out


def person_call(job: Mapping[str, Any]) -> str | None:
    """A person's last word on the job (appeal, then verdict, then QA), if any."""
    by_source = {r.source: r.call for r in rulings(job)}
    for source in ("appeal", "verdict", "qa"):
        if source in by_source:
            return by_source[source]
    return None


def _categories(job: Mapping[str, Any]) -> list[str]:
    names = []
    for entry in job.get(JobAttr.CATEGORIES) or []:
        if isinstance(entry, Mapping) and entry.get("effect") != "info" and entry.get("category"):
            names.append(str(entry["category"]))
    return sorted(set(names)) or [NONE]


def _rate(agreed: int, total: int) -> float | None:
    return round(agreed / total, 4) if total else None


def qa_agreement(
    records: Iterable[Mapping[str, Any]], by: str = "category"
) -> list[dict[str, Any]]:
    """QA agreement per `category` (of the job's findings) or per `moderator` (whose
    decision was checked: a reviewer, or `rules`): checked, agreed, agreement."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for job in records:
        for r in rulings(job):
            if r.source != "qa":
                continue
            keys = _categories(job) if by == "category" else [r.decided_by]
            for k in keys:
                counts[k][0] += 1
                counts[k][1] += 0 if r.overruled else 1
    return [
        {by: k, "checked": n, "agreed": a, "agreement": _rate(a, n)}
        for k, (n, a) in sorted(counts.items())
    ]


def moderator_agreement(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per moderator: how often QA agreed with their verdicts and appeals upheld them."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for job in records:
        for r in rulings(job):
            if r.decided_by == RULES or r.source == "verdict":
                continue
            c = counts[r.decided_by]
            i = 0 if r.source == "qa" else 2
            c[i] += 1
            c[i + 1] += 0 if r.overruled else 1
    return [
        {
            "moderator": who,
            "qa_checked": c[0],
            "qa_agreement": _rate(c[1], c[0]),
            "appeals": c[2],
            "upheld": _rate(c[3], c[2]),
        }
        for who, c in sorted(counts.items())
    ]


def overrules(records: Iterable[Mapping[str, Any]], width: float = BAND) -> list[dict[str, Any]]:
    """For each score (`<analysis>:<name>`) and band: how many of the rules' decisions a
    person looked at (verdicts, QA of automatic decisions, appeals of them) and how
    often they overruled the rules."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for job in records:
        against_rules = [r for r in rulings(job) if r.decided_by == RULES]
        if not against_rules:
            continue
        overruled = any(r.overruled for r in against_rules)
        for name, value in scores(job).items():
            c = counts[(name, band_of(value, width))]
            c[0] += 1
            c[1] += int(overruled)
    return [
        {"score": name, "band": band, "decisions": n, "overruled": o, "rate": _rate(o, n)}
        for (name, band), (n, o) in sorted(counts.items())
    ]


def _completed(job: Mapping[str, Any]) -> datetime | None:
    value = job.get(JobAttr.COMPLETED_AT)
    try:
        return parse_iso(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _matches(score_name: str, category: str) -> bool:
    return score_name.split(":", 1)[-1].lower() == category.lower()


def hypothetical(job: Mapping[str, Any], score_name: str, threshold: float, effect: str) -> str:
    """The rules' decision had `score_name` fired at `threshold` with `effect`: the most
    severe of that and the job's other findings (the recorded ones)."""
    severity = 0
    for entry in job.get(JobAttr.CATEGORIES) or []:
        if not isinstance(entry, Mapping) or _matches(score_name, str(entry.get("category"))):
            continue
        effect_of = str(entry.get("effect"))
        if effect_of in tuple(Decision):
            severity = max(severity, _SEVERITY[Decision(effect_of)])
    value = scores(job).get(score_name)
    if value is not None and value >= threshold:
        severity = max(severity, _SEVERITY[Decision(effect)])
    return str(_BY_SEVERITY[severity])


def what_if(
    records: Iterable[Mapping[str, Any]],
    score_name: str,
    threshold: float,
    effect: str = Decision.REJECT,
    since: datetime | None = None,
) -> dict[str, Any]:
    """What `score_name` at `threshold` (with `effect`) would have done to the jobs that
    carry the score, completed since `since`: the review load and the rejects then and
    now, and the overturns: rejects a person passed (appeal, verdict or QA)."""
    now_counts = {JobAttr.REVIEW: 0, "reject": 0, "overturns": 0}
    then = {JobAttr.REVIEW: 0, "reject": 0, "overturns": 0}
    jobs_seen = 0
    for job in records:
        when = _completed(job)
        if since is not None and (when is None or when < since):
            continue
        if score_name not in scores(job):
            continue
        jobs_seen += 1
        person = person_call(job)
        current = rules_decision(job)
        new = hypothetical(job, score_name, threshold, effect)
        for counts, decision in ((now_counts, current), (then, new)):
            if decision == Decision.REVIEW:
                counts[JobAttr.REVIEW] += 1
            if decision == Decision.REJECT:
                counts["reject"] += 1
                counts["overturns"] += int(person == PASS)
    return {
        "score": score_name,
        "threshold": threshold,
        "effect": effect,
        "jobs": jobs_seen,
        "current": now_counts,
        "with_threshold": then,
    }


def score_names(records: Iterable[Mapping[str, Any]]) -> list[str]:
    names: set[str] = set()
    for job in records:
        names.update(scores(job))
    return sorted(names)


def suggest_thresholds(
    records: Iterable[Mapping[str, Any]],
    max_overturn_rate: float = 0.05,
    min_review_yield: float = 0.2,
    min_support: int = 5,
) -> list[dict[str, Any]]:
    """Per score, from the jobs a person decided: `reject_at`, the lowest threshold at which
    people flagged at least 1 - `max_overturn_rate` of the jobs scoring at or above it;
    `review_at`, the lowest at which at least `min_review_yield` were flagged (below it,
    sending jobs to review mostly wastes moderators' time). None where fewer than
    `min_support` decided jobs score that high."""
    decided = [(scores(j), call) for j in records if (call := person_call(j)) is not None]
    out = []
    for name in sorted({n for s, _ in decided for n in s}):
        reject_at = review_at = None
        support = 0
        for t in CANDIDATES:
            calls = [c for s, c in decided if s.get(name, -1.0) >= t]
            if len(calls) < min_support:
                break
            flagged = sum(c == FLAG for c in calls) / len(calls)
            if review_at is None and flagged >= min_review_yield:
                review_at = t
            if reject_at is None and flagged >= 1 - max_overturn_rate:
                reject_at, support = t, len(calls)
        out.append(
            {
                "score": name,
                "review_at": review_at,
                "reject_at": reject_at,
                "support": support,
                "decided": sum(1 for s, _ in decided if name in s),
            }
        )
    return out


# --- the reader ------------------------------------------------------------------------------

_PARTITIONS = (
    (REVIEW_INDEX, "review_state", ReviewState.REVIEWED),
    (APPEAL_INDEX, AppealField.STATE, AppealState.DECIDED),
    (QA_INDEX, QaField.STATE, QaState.DECIDED),
)


_de = TypeDeserializer()


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, set, tuple)):
        return [_plain(v) for v in value]
    return value


def _deserialize(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(_de.deserialize(v)) for k, v in raw.items()}


def read_decided(ddb: Any, table: str, limit: int = 500) -> list[dict[str, Any]]:
    """The most recent jobs people decided (verdicts, appeals, QA), each once: one Query
    per partition, newest first, at most `limit` entries each (the indexes project every
    attribute, so no further read is needed)."""
    found: dict[str, dict[str, Any]] = {}
    for index, attribute, state in _PARTITIONS:
        kwargs: dict[str, Any] = {
            "TableName": table,
            "IndexName": index,
            "KeyConditionExpression": "#k = :v",
            "ExpressionAttributeNames": {"#k": str(attribute)},
            "ExpressionAttributeValues": {":v": {"S": str(state)}},
            "ScanIndexForward": False,
            "Limit": min(limit, 500),
        }
        read = 0
        while read < limit:
            page = ddb.query(**kwargs)
            for raw in page.get("Items", []):
                job = _deserialize(raw)
                found[str(job.get(JobAttr.JOB_ID))] = job
                read += 1
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return list(found.values())
