"""Validation of the moderation-model settings: categories, terms, image limits, branches.

Split from `validate.py` (one function per concern there too): these are the settings
the model-backed analyzers read, each message naming the setting and the fix.
"""

from __future__ import annotations

from components.settings.fields import NAMESPACE
from components.settings.fields import set_cmd as _set_cmd
from components.settings.model import StackSettings
from components.settings.problems import Problems
from lambdas.common.contract import Function
from lambdas.common.decision import EFFECTS
from lambdas.common.images import MIN_SIDE

# Lambda allows up to 3,000 provisioned environments per region by default.
MAX_PROVISIONED = 3000
EXAMPLE_TERMS = "'[\"buy now\"]'"


def categories(s: StackSettings, p: Problems) -> None:
    """`customCategories`: each a threshold in 0..1 and one of the four effects."""
    for name, rule in s.custom_categories.items():
        key = f"customCategories.{name}"
        threshold, effect = rule.get("threshold"), rule.get("effect")
        ok = isinstance(threshold, int | float) and not isinstance(threshold, bool)
        p.need(
            ok and 0.0 <= float(threshold) <= 1.0,  # type: ignore[arg-type]
            f"{NAMESPACE}:{key}.threshold = {threshold!r} must be a score between 0 and 1 "
            f"(the category fires at or above it). Set it with "
            f"{_set_cmd(key + '.threshold', 0.8)}.",
        )
        p.need(
            effect in EFFECTS,
            f"{NAMESPACE}:{key}.effect = {effect!r} must be one of {', '.join(EFFECTS)}. "
            f"Set it with {_set_cmd(key + '.effect', 'review')}.",
        )
        unknown = sorted(set(rule) - {"threshold", "effect"})
        p.need(
            not unknown,
            f"{NAMESPACE}:{key} has unknown field(s) {', '.join(unknown)}: a category has only "
            f"threshold and effect. Remove them with `pulumi config rm --path "
            f"{NAMESPACE}:{key}.{unknown[0] if unknown else ''}`.",
        )


def blocked_terms(s: StackSettings, p: Problems) -> None:
    """`blockedTerms`: each must hold a letter or digit (the match ignores the rest)."""
    for term in s.blocked_terms:
        p.need(
            any(ch.isalnum() for ch in term),
            f"{NAMESPACE}:blockedTerms entry {term!r} has no letter or digit, so it would "
            "match nothing (spacing and punctuation are ignored). Remove it or set e.g. "
            f"{_set_cmd('blockedTerms', EXAMPLE_TERMS)}.",
        )


def image_limits(s: StackSettings, p: Problems) -> None:
    """`minImageSide` against the upload's refusal of images Rekognition cannot read."""
    p.need(
        s.min_image_side >= MIN_SIDE,
        f"{NAMESPACE}:minImageSide = {s.min_image_side} is below {MIN_SIDE} px: uploads with "
        f"a side under {MIN_SIDE} px are refused (Rekognition reads none), so `unusable` could "
        f"never see them. Set {_set_cmd('minImageSide', 100)}.",
    )


def provisioned(s: StackSettings, p: Problems) -> None:
    """Provisioned concurrency of the custom analyzer's alias."""
    reserved = s.functions[Function.CUSTOM_ANALYZER].reserved_concurrency
    n = s.custom_provisioned_concurrency
    p.need(
        0 <= n <= MAX_PROVISIONED,
        f"{NAMESPACE}:customProvisionedConcurrency = {n} must be 0 (off) to "
        f"{MAX_PROVISIONED}. Set it with {_set_cmd('customProvisionedConcurrency', 0)}.",
    )
    p.need(
        reserved is None or n <= reserved,
        f"{NAMESPACE}:customProvisionedConcurrency = {n} exceeds the custom analyzer's "
        f"reserved concurrency ({reserved}): Lambda refuses it. Lower it, or raise "
        f"{_set_cmd('functions.custom_analyzer.reservedConcurrency', n)}.",
    )
