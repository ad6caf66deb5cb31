"""Combine the branches' results into one decision. Pure: no I/O.

Every signal has an effect; the decision is the most severe one
(reject > review > warn > approve); `info` only adds to the reasons and categories.

- Rekognition: an unsafe label at or above `reject_threshold` rejects; one between
  `min_confidence` and the threshold gives review unless the custom branch corroborates
  it (a blocklist match, or a model category that is its counterpart and fired), in
  which case the corroborating category's effect applies.
- A model category with a Rekognition counterpart (`nsfw` and the nudity categories)
  applies its effect only when Rekognition corroborates it (an unsafe counterpart label
  at or above `min_confidence`). When only the model sees it, the signals disagree:
  the effect is capped at review (a person looks), and below review it stays as it is.
- Deterministic categories (blocklisted, unusable, off_topic, spam_link, contact_info,
  blocked_terms, faces) apply their effect directly when their score reaches the
  category's threshold.

A label is unsafe when it, or its parent, or its top-level category is one of the
configured unsafe categories. Labels below the minimum confidence never count.
Each reason names the category, its score and its evidence; evidence that is text read
from the image (the text branch's URLs, e-mail addresses, phone numbers, terms) is
counted, not quoted: reasons travel in notifications and stored verdicts, and the text
itself stays in the job's `text_result`, for moderators.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from common.contract import Branch, Decision, FrameField


class Effect:
    """What a category does when it fires."""

    REJECT = "reject"
    REVIEW = "review"
    WARN = "warn"
    INFO = "info"


EFFECTS = (Effect.REJECT, Effect.REVIEW, Effect.WARN, Effect.INFO)
_SEVERITY = {Effect.INFO: 0, Effect.WARN: 1, Effect.REVIEW: 2, Effect.REJECT: 3}
_DECISION = {0: Decision.APPROVE, 1: Decision.WARN, 2: Decision.REVIEW, 3: Decision.REJECT}


@dataclass(frozen=True)
class CategoryRule:
    threshold: float
    effect: str


# Model categories -> the Rekognition categories (label, parent or top level) that see
# the same thing. Only these need corroboration; every other category is deterministic.
COUNTERPARTS: dict[str, tuple[str, ...]] = {
    "nsfw": (
        "Explicit",
        "Explicit Nudity",
        "Non-Explicit Nudity of Intimate parts and Kissing",
        "Non-Explicit Nudity",
        "Swimwear or Underwear",
        "Suggestive",
    ),
}

# The defaults a platform engineer would pick (docs/models.md says why).
DEFAULT_CATEGORIES: dict[str, CategoryRule] = {
    "nsfw": CategoryRule(0.8, Effect.REJECT),
    "blocklisted": CategoryRule(1.0, Effect.REJECT),
    "blocked_terms": CategoryRule(0.5, Effect.REJECT),
    "spam_link": CategoryRule(0.5, Effect.REVIEW),
    "contact_info": CategoryRule(0.5, Effect.REVIEW),
    "unusable": CategoryRule(1.0, Effect.WARN),
    "off_topic": CategoryRule(1.0, Effect.WARN),
    "faces": CategoryRule(0.5, Effect.INFO),
    # A match in a hash bank whose action is `review` (docs/banks.md).
    "bank_review": CategoryRule(1.0, Effect.REVIEW),
}


@dataclass(frozen=True)
class Rules:
    min_confidence: float = 50.0
    reject_threshold: float = 90.0
    unsafe_categories: tuple[str, ...] = ()
    categories: Mapping[str, CategoryRule] = field(default_factory=lambda: DEFAULT_CATEGORIES)

    def rule(self, category: str) -> CategoryRule | None:
        return self.categories.get(category)


@dataclass(frozen=True)
class Finding:
    """One category that fired, where it came from, and what it does."""

    category: str
    source: str  # rekognition, custom or text
    score: float
    effect: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "source": self.source,
            "score": round(self.score, 4),
            "effect": self.effect,
        }


@dataclass(frozen=True)
class Ruling:
    """What the decision rules make of a job's results: the decision, why, what was found."""

    decision: Decision
    reasons: list[str]
    findings: list[Finding]

    def categories(self) -> list[dict[str, Any]]:
        return [f.as_dict() for f in self.findings]


def _names(label: Mapping[str, Any]) -> set[str]:
    return {
        str(label.get("name", "") or ""),
        str(label.get("parent", "") or ""),
        str(label.get("top_level", "") or ""),
    } - {""}


def unsafe_labels(rekognition: Mapping[str, Any], rules: Rules) -> list[Mapping[str, Any]]:
    """Rekognition's labels that count: unsafe and at or above the minimum confidence."""
    return [
        lab
        for lab in rekognition.get("labels", []) or []
        if float(lab.get("confidence", 0)) >= rules.min_confidence
        and _names(lab) & set(rules.unsafe_categories)
    ]


def signals(result: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """A branch result's signals: `[{category, score, evidence}]`."""
    return list((result or {}).get("signals", []) or [])


def fired(signal: Mapping[str, Any], rules: Rules) -> bool:
    rule = rules.rule(str(signal.get("category")))
    return rule is not None and float(signal.get("score", 0)) >= rule.threshold


# Branches whose evidence is text read from the image: personal data, never quoted.
READ_TEXT_SOURCES: frozenset[str] = frozenset({Branch.TEXT})


def _evidence(signal: Mapping[str, Any], source: str) -> str:
    evidence = [str(e) for e in signal.get("evidence", []) or [] if str(e)]
    if not evidence:
        return ""
    if source in READ_TEXT_SOURCES:
        # Which frame of an animation fired is no personal data: moderators see it.
        n = len(evidence)
        frame = signal.get(FrameField.FRAME)
        where = f" of frame {frame}" if frame is not None else ""
        return f": {n} match{'es' if n != 1 else ''} in the text read{where}"
    return f": {'; '.join(evidence[:3])}"


def _describe_label(lab: Mapping[str, Any]) -> str:
    return f"rekognition: {lab['name']} ({float(lab['confidence']):.1f}%)"


def _cap(effect: str, cap: str) -> str:
    return effect if _SEVERITY[effect] <= _SEVERITY[cap] else cap


def decide(results: Mapping[str, Mapping[str, Any] | None], rules: Rules) -> Ruling:
    """The verdict from every branch's result (`{branch: result}`; a missing one is empty)."""
    rekognition = results.get(Branch.REKOGNITION) or {}
    labels = unsafe_labels(rekognition, rules)
    findings: list[Finding] = []
    corroborated: set[int] = set()

    for source in (Branch.CUSTOM, Branch.TEXT):
        for sig in signals(results.get(source)):
            if not fired(sig, rules):
                continue
            category = str(sig["category"])
            rule = rules.categories[category]
            score = float(sig.get("score", 0))
            text = f"{source}: {category} {score:.2f} >= {rule.threshold:g}{_evidence(sig, source)}"
            counterparts = COUNTERPARTS.get(category)
            if counterparts is None:
                findings.append(Finding(category, source, score, rule.effect, text))
                if category == "blocklisted":
                    # A known-bad image corroborates whatever Rekognition sees.
                    corroborated |= {id(lab) for lab in labels}
                continue
            seen = [lab for lab in labels if _names(lab) & set(counterparts)]
            if seen:
                corroborated |= {id(lab) for lab in seen}
                names = ", ".join(str(lab["name"]) for lab in seen)
                findings.append(
                    Finding(
                        category,
                        source,
                        score,
                        rule.effect,
                        f"{text} (rekognition agrees: {names})",
                    )
                )
            else:
                effect = _cap(rule.effect, Effect.REVIEW)
                findings.append(
                    Finding(
                        category,
                        source,
                        score,
                        effect,
                        f"{text}; signals disagree: rekognition sees nothing of it",
                    )
                )

    for lab in labels:
        confidence = float(lab["confidence"])
        if confidence >= rules.reject_threshold:
            findings.append(
                Finding(
                    str(lab["name"]), "rekognition", confidence, Effect.REJECT, _describe_label(lab)
                )
            )
        elif id(lab) not in corroborated:
            findings.append(
                Finding(
                    str(lab["name"]),
                    "rekognition",
                    confidence,
                    Effect.REVIEW,
                    f"{_describe_label(lab)}; signals disagree: only rekognition sees this, "
                    "below the reject threshold",
                )
            )
        else:
            findings.append(
                Finding(
                    str(lab["name"]),
                    "rekognition",
                    confidence,
                    Effect.INFO,
                    f"{_describe_label(lab)}, corroborated by the custom branch",
                )
            )

    severity = max((_SEVERITY[f.effect] for f in findings), default=0)
    findings.sort(key=lambda f: (-_SEVERITY[f.effect], f.source, f.category))
    reasons = [f"{f.reason} -> {f.effect}" for f in findings]
    return Ruling(_DECISION[severity], reasons, findings)


def custom_rejects(custom: Mapping[str, Any] | None, rules: Rules) -> bool:
    """Whether the custom result alone already makes the decision a reject.

    True when a category that needs no corroboration fired with effect `reject` (a
    blocklist match): nothing another branch reports can lower the most severe effect.
    A model category with a Rekognition counterpart never decides alone.
    """
    for sig in signals(custom):
        category = str(sig.get("category"))
        rule = rules.rule(category)
        if (
            rule is not None
            and category not in COUNTERPARTS
            and rule.effect == Effect.REJECT
            and fired(sig, rules)
        ):
            return True
    return False
