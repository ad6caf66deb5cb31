"""What each moderation category means in a statement of reasons: the defaults.

A trust-and-safety lead's defaults (docs/statements.md says why each maps where it
does): every category is a breach of the terms and conditions; which are illegal, and
where, is the operator's legal call (`moderation:dsa.categories`). Standard library
only, so the program's settings check imports it too.
"""

from __future__ import annotations

from dataclasses import dataclass

GROUND_TERMS = "terms"
GROUND_ILLEGAL = "illegal"
GROUNDS = (GROUND_TERMS, GROUND_ILLEGAL)


@dataclass(frozen=True)
class CategoryMapping:
    """What one moderation category means in a statement."""

    category: str  # STATEMENT_CATEGORY_*
    visibility: str = "DECISION_VISIBILITY_CONTENT_REMOVED"  # what a reject does
    ground: str = GROUND_TERMS
    # The terms-and-conditions clause (ground `terms`) or the law (ground `illegal`).
    clause: str = ""
    explanation: str = ""
    specification: tuple[str, ...] = ()  # KEYWORD_*


# Defaults a trust-and-safety lead would accept: every one is a breach of the terms and
# conditions (which categories are illegal, and where, is the operator's legal call);
# docs/statements.md says why each category maps where it does.
TERMS = "the platform's terms and conditions"
DEFAULT_MAPPINGS: dict[str, CategoryMapping] = {
    "nsfw": CategoryMapping(
        "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
        clause=f"{TERMS}: nudity and sexual content",
        explanation="The image shows nudity or sexual content, which the terms do not allow.",
        specification=("KEYWORD_NUDITY",),
    ),
    "blocklisted": CategoryMapping(
        "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
        clause=f"{TERMS}: images the platform has already removed",
        explanation="The image matches one the platform removed before.",
    ),
    "blocked_terms": CategoryMapping(
        "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        clause=f"{TERMS}: abusive or hateful language",
        explanation="The image shows words the terms do not allow.",
    ),
    "spam_link": CategoryMapping(
        "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
        clause=f"{TERMS}: spam and platform manipulation",
        explanation="The image advertises a web address, which the terms treat as spam.",
    ),
    "contact_info": CategoryMapping(
        "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
        clause=f"{TERMS}: personal contact details",
        explanation="The image shows contact details, which the terms do not allow.",
    ),
    "unusable": CategoryMapping(
        "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
        clause=f"{TERMS}: image quality requirements",
        explanation="The image is too small or too elongated to be shown as uploaded.",
    ),
    "off_topic": CategoryMapping(
        "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
        clause=f"{TERMS}: content off the service's subject",
        explanation="The image is off the service's subject.",
    ),
    # Rekognition's labels, by what their names say (`rekognition_key`).
    "rekognition:nudity": CategoryMapping(
        "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
        clause=f"{TERMS}: nudity and sexual content",
        explanation="The image shows nudity or sexual content, which the terms do not allow.",
        specification=("KEYWORD_NUDITY",),
    ),
    "rekognition:violence": CategoryMapping(
        "STATEMENT_CATEGORY_VIOLENCE",
        clause=f"{TERMS}: violent or disturbing content",
        explanation="The image shows violence or disturbing content.",
    ),
    "rekognition:hate": CategoryMapping(
        "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        clause=f"{TERMS}: hate symbols",
        explanation="The image shows a hate symbol.",
    ),
    "rekognition:products": CategoryMapping(
        "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
        clause=f"{TERMS}: drugs, tobacco, alcohol, weapons and gambling",
        explanation="The image shows goods the terms do not allow to be promoted.",
        specification=("KEYWORD_PROHIBITED_PRODUCTS",),
    ),
    "rekognition:self_harm": CategoryMapping(
        "STATEMENT_CATEGORY_SELF_HARM",
        clause=f"{TERMS}: self-harm",
        explanation="The image shows self-harm.",
    ),
    # Anything else (a category the operator added, or one given by a notice).
    "*": CategoryMapping(
        "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
        clause=TERMS,
        explanation="The image breaks the terms and conditions.",
    ),
}
# Words in a Rekognition label name -> its mapping key (the first that matches).
_REKOGNITION_WORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("self", "harm"), "rekognition:self_harm"),
    (("hate", "nazi", "extremist"), "rekognition:hate"),
    (("nud", "explicit", "sexual", "suggestive", "swimwear", "underwear", "kissing"),
     "rekognition:nudity"),
    (("violen", "gore", "blood", "weapon", "disturbing", "corpse", "emaciated", "crash"),
     "rekognition:violence"),
    (("drug", "tobacco", "smok", "alcohol", "drink", "gambl", "pill"), "rekognition:products"),
)  # fmt: skip

DEFAULT_WARN_VISIBILITY = "DECISION_VISIBILITY_CONTENT_LABELLED"


def rekognition_key(label: str) -> str | None:
    """The mapping key of a Rekognition label, by what its name says."""
    name = label.lower()
    for words, key in _REKOGNITION_WORDS:
        if any(w in name for w in words):
            return key
    return None
