"""What each audience may see of a job: the owner's view, and what leaves the record.

The job record keeps everything a moderator or operator needs (every branch's result,
the scored reasons, the reused verdict's source). Its owner sees less (`owner_view`):
the status, the decision, the categories that made it and one plain sentence per
category, and of a moderator's verdict the decision and its time. Never scores,
thresholds, hashes, blocklist distances, model versions, face boxes, the text read, or
whether the verdict was reused from another upload: each would help tune an image
until it slips under a rule.

`owner_view` is idempotent (a view of a view is the same view), so an entry cached in
an earlier shape is cut down again when it is served.

Text read from an image (e-mail addresses, phone numbers, URLs) is personal data: it
stays in the job's `text_result`, which moderators see, and out of logs
(`signal_summary`), notifications and stored verdicts (the rules' reasons never quote
it: `common.decision`) and analytics rows (`common.export`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from common.contract import AppealField, JobAttr, ReviewField, ReviewState, Status

# The job's attributes its owner sees (the status answer adds `content_url`).
OWNER_FIELDS = (
    JobAttr.JOB_ID,
    JobAttr.USER_ID,
    JobAttr.STATUS,
    JobAttr.CREATED_AT,
    JobAttr.UPDATED_AT,
    JobAttr.COMPLETED_AT,
    JobAttr.CONTENT_TYPE,
    JobAttr.SIZE_BYTES,
    JobAttr.DECISION,
    JobAttr.CATEGORIES,
    JobAttr.REASONS,
    JobAttr.REVIEW_STATE,
    JobAttr.REVIEW,
    AppealField.APPEAL,
)
# Of a moderator's verdict: the decision and when; not who gave it or their note.
OWNER_REVIEW_FIELDS = (ReviewField.DECISION, ReviewField.REVIEWED_AT)

# One plain sentence per category the stack's own rules know: the only wording an
# uploader ever reads about why. No numbers, no thresholds, no evidence.
OWNER_REASONS: dict[str, str] = {
    "nsfw": "The image may contain nudity or sexual content.",
    "blocklisted": "The image matches an image that is not allowed here.",
    "blocked_terms": "The image contains words that are not allowed here.",
    "spam_link": "The image contains a web address.",
    "contact_info": "The image contains contact details (an e-mail address or a phone number).",
    "unusable": "The image is too small, too narrow or unreadable.",
    "off_topic": "The image does not fit what this service is for.",
    "faces": "The image shows a face.",
    "bank_review": "The image resembles an image a moderator looks at before it is shown.",
}
# Rekognition's labels and any category a stack adds are named, not explained.
OTHER_REASON = "The image may contain content of the kind '{category}'."
FAILED_REASON = "The image could not be processed. Please upload it again."
AWAITING_REVIEW_REASON = "A moderator will look at the image."
REVIEWED_REASON = "A moderator has decided on the image."

_DIGITS = re.compile(r"[0-9]+")


def _plain(name: str) -> str:
    """A category name as the owner reads it: no digits (no threshold hides in a name)."""
    return " ".join(_DIGITS.sub(" ", name).split())


def owner_categories(categories: Iterable[Any] | None) -> list[str]:
    """The names of the categories that made the decision, in the rules' order, once each.

    From the record's findings (`{category, effect, score, source}`), those with an
    effect on the decision (`info` ones, such as a face on an approved photo, did not);
    from an owner view, its names.
    """
    names: dict[str, None] = {}
    for entry in categories or ():
        if isinstance(entry, Mapping):
            if entry.get("effect") == "info":
                continue
            entry = entry.get("category")
        if isinstance(entry, str) and _plain(entry):
            names.setdefault(_plain(entry))
    return list(names)


def owner_reason(category: str) -> str:
    """The plain sentence for one category (the single mapping from internal to owner)."""
    return OWNER_REASONS.get(category) or OTHER_REASON.format(category=_plain(category))


def owner_reasons(job: Mapping[str, Any], categories: list[str]) -> list[str]:
    """Why, in plain words: one sentence per category, then where a person stands."""
    if job.get(JobAttr.STATUS) == Status.FAILED:
        return [FAILED_REASON]
    reasons = [owner_reason(c) for c in categories]
    state = job.get(JobAttr.REVIEW_STATE)
    if state == ReviewState.PENDING:
        reasons.append(AWAITING_REVIEW_REASON)
    elif state == ReviewState.REVIEWED:
        reasons.append(REVIEWED_REASON)
    return reasons


def owner_review(review: Any) -> dict[str, Any] | None:
    """What the uploader sees of a verdict: the decision and when, not who or their note."""
    if not isinstance(review, Mapping):
        return None
    return {k: review[k] for k in OWNER_REVIEW_FIELDS if k in review}


# Of an appeal: its state and outcome and when; not who decided it nor their note.
OWNER_APPEAL_FIELDS = ("state", "outcome", "appealed_at", "decided_at")


def owner_appeal(job: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the uploader sees of their appeal (from the record's `appeal_state` and
    `appeal`, or from an owner view's `appeal`)."""
    appeal = job.get(AppealField.APPEAL)
    if not isinstance(appeal, Mapping):
        return None
    state = job.get(AppealField.STATE) or appeal.get("state")
    view = {"state": state, **appeal}
    return {k: view[k] for k in OWNER_APPEAL_FIELDS if view.get(k) is not None}


def owner_view(job: Mapping[str, Any]) -> dict[str, Any]:
    """The job as its owner sees it (see the module's docstring); idempotent."""
    view: dict[str, Any] = {k: job[k] for k in OWNER_FIELDS if k in job}
    terminal = job.get(JobAttr.STATUS) in (Status.COMPLETE, Status.FAILED)
    if terminal:
        categories = owner_categories(job.get(JobAttr.CATEGORIES))
        view[JobAttr.CATEGORIES] = categories
        view[JobAttr.REASONS] = owner_reasons(job, categories)
    else:
        view.pop(JobAttr.CATEGORIES, None)
        view.pop(JobAttr.REASONS, None)
    if AppealField.APPEAL in view:
        appeal = owner_appeal(job)
        if appeal is None:
            view.pop(AppealField.APPEAL)
        else:
            view[AppealField.APPEAL] = appeal
    if JobAttr.REVIEW in view:
        review = owner_review(view[JobAttr.REVIEW])
        if review is None:
            view.pop(JobAttr.REVIEW)
        else:
            view[JobAttr.REVIEW] = review
    return view


def signal_summary(signals: Iterable[Any]) -> list[dict[str, Any]]:
    """Signals as a log line may carry them: category, score and how much evidence, never
    the evidence itself (it can be text read from the image)."""
    out = []
    for sig in signals or ():
        if isinstance(sig, Mapping):
            out.append(
                {
                    "category": sig.get("category"),
                    "score": sig.get("score"),
                    "evidence_count": len(sig.get("evidence") or ()),
                }
            )
    return out
