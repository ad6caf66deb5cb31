"""Statements of reasons (DSA Articles 17 and 24(5)) derived from a job's final decision.

A statement is never written by hand: `statement_for(job, source=..., config=...)` builds
it from the job record, with exactly the fields and values of the Transparency
Database API (`dsa_rules.py`), and `store` writes it once to the statements table (the
notifier is its one writer: it sees every job that became terminal or was reviewed).

Nothing in a statement identifies the uploader: `puid` is the job id; there is no user
id, no text read from the image, no moderator note; `decision_facts` is written from
the categories that fired (name, branch, score), never from the text they quote.

Which path decided (`automated_detection`, `automated_decision`):

| path                                          | detection | decision             |
|-----------------------------------------------|-----------|----------------------|
| the rules alone (no person looked)            | Yes       | FULLY automated      |
| a moderator confirmed the rules' decision     | Yes       | PARTIALLY automated  |
| a moderator decided otherwise than the rules  | Yes       | NOT automated        |
| a moderator decided on a notice (Article 16)  | No        | NOT automated        |
| an appeal's outcome (a person decided)        | Yes/No    | NOT automated        |
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from common import dsa_rules, jobs
from common.contract import (
    STATEMENTS_DAY_INDEX,
    STATEMENTS_JOB_INDEX,
    AppealField,
    AppealOutcome,
    Decision,
    JobAttr,
    NoticeField,
    NotificationEvent,
    StatementField,
)
from common.dsa_mappings import (
    DEFAULT_MAPPINGS,
    DEFAULT_WARN_VISIBILITY,
    GROUND_ILLEGAL,
    TERMS,
    CategoryMapping,
    rekognition_key,
)
from common.timeutil import iso


class Source(StrEnum):
    """Which decision a statement is about."""

    # The rules decided and no person looked.
    RULES = "rules"
    # A moderator's verdict on a job that went to review.
    REVIEW = "review"
    # A moderator's verdict on a job someone notified (Article 16).
    NOTICE = "notice"
    # An appeal's overturn that restricts (the notifier sees its `appeal_decided`).
    APPEAL = "appeal"


@dataclass(frozen=True)
class Redress:
    """How the uploader may contest a decision (Article 17(3)(f)), as configured text."""

    appeal_route: str | None = None  # e.g. "POST /jobs/{job_id}/appeal"
    appeal_window_days: int | None = None
    out_of_court: str = ""
    judicial: str = ""

    def as_dict(self, job_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.appeal_route:
            out["appeal"] = {
                "route": self.appeal_route.replace("{job_id}", job_id),
                "window_days": self.appeal_window_days,
            }
        out["out_of_court"] = self.out_of_court
        out["judicial"] = self.judicial
        return out


@dataclass(frozen=True)
class Config:
    """The stack's `moderation:dsa` settings as the functions read them."""

    mappings: Mapping[str, CategoryMapping] = field(default_factory=lambda: DEFAULT_MAPPINGS)
    territorial_scope: tuple[str, ...] = dsa_rules.COUNTRY_CODES
    # `warn` is a restriction (a label or a demotion) only where the operator says so.
    warn_restricts: bool = False
    warn_visibility: str = DEFAULT_WARN_VISIBILITY
    terms_url: str | None = None
    redress: Redress = field(default_factory=Redress)

    def mapping(self, category: str, source: str | None = None) -> CategoryMapping:
        if category in self.mappings:
            return self.mappings[category]
        if source == "rekognition":
            key = rekognition_key(category)
            if key is not None and key in self.mappings:
                return self.mappings[key]
        return self.mappings.get("*", DEFAULT_MAPPINGS["*"])

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Config:
        """From the `dsa` section the program bakes into a function's package."""
        mappings = dict(DEFAULT_MAPPINGS)
        for name, m in (doc.get(JobAttr.CATEGORIES) or {}).items():
            base = mappings.get(name, DEFAULT_MAPPINGS["*"])
            mappings[name] = CategoryMapping(
                category=m.get("category", base.category),
                visibility=m.get("visibility", base.visibility),
                ground=m.get("ground", base.ground),
                clause=m.get("clause", base.clause),
                explanation=m.get("explanation", base.explanation),
                specification=tuple(m.get("specification", base.specification)),
            )
        redress = doc.get("redress") or {}
        return cls(
            mappings=mappings,
            territorial_scope=tuple(doc.get("territorialScope", dsa_rules.COUNTRY_CODES)),
            warn_restricts=bool(doc.get("warnRestricts", False)),
            warn_visibility=str(doc.get("warnVisibility", DEFAULT_WARN_VISIBILITY)),
            terms_url=doc.get("termsUrl") or None,
            redress=Redress(
                appeal_route=redress.get("appealRoute") or None,
                appeal_window_days=redress.get("appealWindowDays"),
                out_of_court=str(redress.get("outOfCourt", "")),
                judicial=str(redress.get("judicial", "")),
            ),
        )


# --- which decisions restrict ------------------------------------------------------------


def restricts(decision: str | None, config: Config) -> bool:
    """A decision the uploader must be told the reasons for."""
    return decision == Decision.REJECT or (decision == Decision.WARN and config.warn_restricts)


def source_for(event: NotificationEvent, job: Mapping[str, Any]) -> Source | None:
    """Which statement a notification's job calls for, if its final decision restricts.

    `decided`: the rules' final decision (no person looked). `reviewed`: a moderator's
    verdict, on a notice when the job was queued by one. `awaiting_review` and `failed`
    decide nothing yet.
    """
    if event is NotificationEvent.DECIDED:
        return Source.RULES
    if event is NotificationEvent.REVIEWED:
        return Source.NOTICE if job.get(NoticeField.NOTICED) else Source.REVIEW
    if event is NotificationEvent.APPEAL_DECIDED:
        # An upheld restriction keeps its statement; an overturn that now restricts (an
        # approve the appeal turned into a reject) is a new decision with its own.
        appeal = job.get(AppealField.APPEAL) or {}
        return Source.APPEAL if appeal.get("outcome") == AppealOutcome.OVERTURN else None
    return None


# --- the statement ---------------------------------------------------------------------


def _severity(finding: Mapping[str, Any]) -> tuple[int, float]:
    order = {"reject": 3, JobAttr.REVIEW: 2, "warn": 1, "info": 0}
    score = float(finding.get("score") or 0)
    # Rekognition scores are 0-100, the models' 0-1: compare on one scale.
    if finding.get("source") == "rekognition":
        score /= 100.0
    return order.get(str(finding.get("effect")), 0), score


def _findings(job: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = [f for f in (job.get(JobAttr.CATEGORIES) or []) if isinstance(f, Mapping)]
    return sorted((f for f in found if f.get("effect") != "info"), key=_severity, reverse=True)


def _day(timestamp: Any) -> str | None:
    return str(timestamp)[:10] if timestamp else None


def _facts(
    job: Mapping[str, Any], findings: list[Mapping[str, Any]], source: Source, decision: str
) -> str:
    """What was found and who decided, from the categories only (never the text read)."""
    parts = []
    if findings:
        described = []
        for f in findings[:10]:
            score = float(f.get("score") or 0)
            shown = f"{score:.0f}%" if f.get("source") == "rekognition" else f"{score:.2f}"
            described.append(f"{f.get('category')} ({f.get('source')}, score {shown})")
        parts.append("Automated analysis of the image found: " + "; ".join(described) + ".")
    if source is Source.NOTICE:
        category = (job.get(NoticeField.LATEST) or {}).get("category")
        parts.append(
            "A user notified the image"
            + (f" as {category}" if category else "")
            + "; a moderator reviewed it."
        )
    elif source is Source.REVIEW:
        parts.append(
            f"The automated decision was {job.get(JobAttr.AUTOMATIC_DECISION)}; a moderator reviewed "
            "the image."
        )
    elif source is Source.APPEAL:
        parts.append("The uploader appealed; a moderator decided the appeal.")
    else:
        parts.append("No person reviewed the decision before it applied.")
    action = "restricted" if decision == Decision.WARN else "removed"
    parts.append(f"Decision: {decision}; the image was {action}.")
    return " ".join(parts)[: dsa_rules.MAX_LENGTHS["decision_facts"]]


def _automation(job: Mapping[str, Any], source: Source, decision: str) -> tuple[str, str]:
    if source is Source.RULES:
        return "Yes", dsa_rules.AUTOMATED_DECISION_FULLY
    detected = "Yes" if _findings(job) else "No"
    if source is Source.REVIEW and job.get(JobAttr.AUTOMATIC_DECISION) == decision:
        return detected, dsa_rules.AUTOMATED_DECISION_PARTIALLY
    if source is Source.NOTICE:
        return "No", dsa_rules.AUTOMATED_DECISION_NOT_AUTOMATED
    return detected, dsa_rules.AUTOMATED_DECISION_NOT_AUTOMATED


def _decided_at(job: Mapping[str, Any], source: Source, decided_at: str | None) -> str | None:
    if decided_at:
        return decided_at
    if source in (Source.REVIEW, Source.NOTICE):
        return (job.get(JobAttr.REVIEW) or {}).get("reviewed_at") or job.get(JobAttr.UPDATED_AT)
    if source is Source.APPEAL:
        return (job.get(AppealField.APPEAL) or {}).get("decided_at") or job.get(JobAttr.UPDATED_AT)
    return job.get(JobAttr.COMPLETED_AT) or job.get(JobAttr.UPDATED_AT)


def statement_for(
    job: Mapping[str, Any],
    *,
    source: Source | str,
    config: Config,
    decision: str | None = None,
    decided_at: str | None = None,
    puid: str | None = None,
    language: str | None = None,
) -> dict[str, Any]:
    """The statement of reasons for `job`'s restricting decision, as the API takes it.

    `decision` defaults to the job's; `decided_at` (ISO-8601) to when that decision was
    recorded; `puid` to the job id (the appeals code passes `<job id>-appeal`: one puid
    per decision); `language` to none (`identify_language` fills it from the text read).
    Raises ValueError for a decision that restricts nothing.
    """
    source = Source(source)
    decision = str(decision or job.get(JobAttr.DECISION) or "")
    if not restricts(decision, config):
        raise ValueError(f"decision {decision!r} restricts nothing: no statement of reasons")
    findings = _findings(job)
    notice = job.get(NoticeField.LATEST) or {}
    if findings:
        top = config.mapping(str(findings[0].get("category")), findings[0].get("source"))
    elif notice.get("category"):
        top = config.mapping(f"notice:{notice['category']}")
        if top is config.mapping("*"):
            top = CategoryMapping(
                str(notice["category"]), clause=TERMS, explanation=top.explanation
            )
    else:
        top = config.mapping("*")
    others = []
    for f in findings[1:]:
        cat = config.mapping(str(f.get("category")), f.get("source")).category
        if cat != top.category and cat not in others:
            others.append(cat)
    visibility = config.warn_visibility if decision == Decision.WARN else top.visibility
    detection, automated = _automation(job, source, decision)
    statement: dict[str, Any] = {
        "decision_visibility": [visibility],
        "decision_ground": (
            dsa_rules.GROUND_ILLEGAL
            if top.ground == GROUND_ILLEGAL
            else dsa_rules.GROUND_INCOMPATIBLE
        ),
        JobAttr.CONTENT_TYPE: ["CONTENT_TYPE_IMAGE"],
        "category": top.category,
        "territorial_scope": list(config.territorial_scope),
        "content_date": _day(job.get(JobAttr.CREATED_AT)),
        "application_date": _day(_decided_at(job, source, decided_at)),
        "decision_facts": _facts(job, findings, source, decision),
        "source_type": (
            dsa_rules.SOURCE_ARTICLE_16 if source is Source.NOTICE else dsa_rules.SOURCE_VOLUNTARY
        ),
        "automated_detection": detection,
        "automated_decision": automated,
        "puid": puid or str(job[JobAttr.JOB_ID]),
    }
    if top.ground == GROUND_ILLEGAL:
        statement["illegal_content_legal_ground"] = top.clause
        statement["illegal_content_explanation"] = top.explanation
    else:
        statement["incompatible_content_ground"] = top.clause
        statement["incompatible_content_explanation"] = top.explanation
        statement["incompatible_content_illegal"] = "No"
    if others:
        statement["category_addition"] = others
    if top.specification:
        statement["category_specification"] = list(top.specification)
    if config.terms_url:
        statement["decision_ground_reference_url"] = config.terms_url
    if language:
        statement["content_language"] = language
    return statement


def text_read(job: Mapping[str, Any]) -> str | None:
    text = (job.get(JobAttr.TEXT_RESULT) or {}).get("text")
    return text if isinstance(text, str) and text.strip() else None


def identify_language(job: Mapping[str, Any]) -> str | None:
    """`content_language` from the text the OCR branch read, when it read any."""
    text = text_read(job)
    if text is None:
        return None
    from common import language

    found: str | None = language.identify(text)
    return found


# --- the statements table -----------------------------------------------------------------


def record_for(
    job: Mapping[str, Any], statement: Mapping[str, Any], source: Source, now: datetime
) -> dict[str, Any]:
    """The item kept for a statement: keyed by puid; the job id and day for the indexes."""
    return {
        StatementField.PUID: statement["puid"],
        StatementField.JOB_ID: str(job[JobAttr.JOB_ID]),
        StatementField.SOURCE: str(source),
        StatementField.DAY: str(statement["application_date"]),
        StatementField.CREATED_AT: iso(now),
        StatementField.STATEMENT: dict(statement),
    }


def store(ddb: Any, table: str, record: Mapping[str, Any]) -> bool:
    """Write a statement once: False when its puid is already there (a replayed record)."""
    try:
        ddb.put_item(
            TableName=table,
            Item=jobs.serialize(dict(record)),
            ConditionExpression="attribute_not_exists(puid)",
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def puid_for(job: Mapping[str, Any], source: Source) -> str:
    """One puid per restricting decision: the job id for the job's first one; a later one
    on the same job (a notice's verdict after a `warn` label, an appeal's outcome) gets
    `<job id>-<source>` (the API refuses a puid used before)."""
    if source is Source.APPEAL:
        return f"{job[JobAttr.JOB_ID]}-appeal"
    if source is Source.NOTICE and job.get(JobAttr.AUTOMATIC_DECISION) == Decision.WARN:
        return f"{job[JobAttr.JOB_ID]}-notice"
    return str(job[JobAttr.JOB_ID])


def record_decision(
    ddb: Any,
    table: str,
    event: NotificationEvent,
    job: Mapping[str, Any],
    config: Config,
    now: datetime,
) -> dict[str, Any] | None:
    """The notifier's step: build and store the statement this job event calls for.

    Returns the statement written (None when the decision restricts nothing, or when a
    replay finds it already stored).
    """
    source = source_for(event, job)
    if source is None or not restricts(job.get(JobAttr.DECISION), config):
        return None
    statement = statement_for(
        job,
        source=source,
        config=config,
        puid=puid_for(job, source),
        language=identify_language(job),
    )
    errors = dsa_rules.validate(statement, strict=True)
    if errors:
        # A mapping the settings let through but the API would refuse: fail loudly (the
        # stream record is retried, then lands in the notifier's failure destination).
        raise ValueError(f"statement for {job[JobAttr.JOB_ID]} is invalid: {'; '.join(errors)}")
    return statement if store(ddb, table, record_for(job, statement, source, now)) else None


def for_job(ddb: Any, table: str, job_id: str) -> list[dict[str, Any]]:
    """Every statement about one job, oldest first (the job-id index)."""
    out = ddb.query(
        TableName=table,
        IndexName=STATEMENTS_JOB_INDEX,
        KeyConditionExpression=f"{StatementField.JOB_ID} = :j",
        ExpressionAttributeValues={":j": {"S": job_id}},
    )
    items = [jobs.deserialize(i) or {} for i in out.get("Items", [])]
    return sorted(items, key=lambda i: str(i.get(StatementField.CREATED_AT)))


def owner_view(
    job: Mapping[str, Any], items: list[dict[str, Any]], config: Config
) -> dict[str, Any]:
    """`GET /jobs/{job_id}/statement`: the job's statements (latest first) and how to
    contest them (Article 17(3)(f)): the appeal route and window when the stack has
    appeals, the out-of-court and judicial routes as the operator wrote them."""
    ordered = sorted(items, key=lambda i: str(i.get(StatementField.CREATED_AT)), reverse=True)
    return {
        JobAttr.JOB_ID: job[JobAttr.JOB_ID],
        "statement": ordered[0][StatementField.STATEMENT] if ordered else None,
        "statements": [
            {
                "source": i.get(StatementField.SOURCE),
                JobAttr.CREATED_AT: i.get(StatementField.CREATED_AT),
                "statement": i.get(StatementField.STATEMENT),
            }
            for i in ordered
        ],
        "redress": config.redress.as_dict(str(job[JobAttr.JOB_ID])),
    }


def export_period(ddb: Any, table: str, start: date, end: date) -> Iterator[dict[str, Any]]:
    """Every statement whose decision applied from `start` to `end` (inclusive), one day of
    the day index at a time, each day's in the order they were written: what operators
    export as JSON lines (`python -m scripts.export_statements`)."""
    day = start
    while day <= end:
        kwargs: dict[str, Any] = {
            "TableName": table,
            "IndexName": STATEMENTS_DAY_INDEX,
            "KeyConditionExpression": "#d = :d",
            "ExpressionAttributeNames": {"#d": "day"},
            "ExpressionAttributeValues": {":d": {"S": day.isoformat()}},
        }
        while True:
            out = ddb.query(**kwargs)
            for raw in out.get("Items", []):
                item = jobs.deserialize(raw) or {}
                yield {
                    "puid": item.get(StatementField.PUID),
                    JobAttr.JOB_ID: item.get(StatementField.JOB_ID),
                    "source": item.get(StatementField.SOURCE),
                    JobAttr.CREATED_AT: item.get(StatementField.CREATED_AT),
                    "statement": item.get(StatementField.STATEMENT),
                }
            if not out.get("LastEvaluatedKey"):
                break
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]
        day += timedelta(days=1)
