"""The DSA Transparency Database's statement-of-reasons rules, written down once.

Source: the `digital-services-act/transparency-database` repository at commit
69e80a0bc8eb3cbfbe8246e898194c3bdf490a4b (2026-06-24):
- `app/Http/Requests/StatementStoreRequest.php` (`rules()`): the fields, which are
  required and when, their lengths and date formats;
- `app/Models/Statement.php`: the enum keys (`DECISION_VISIBILITIES`, `CATEGORIES`, ...);
- `app/Services/EuropeanCountriesService.php` (`EUROPEAN_COUNTRY_CODES`) and
  `app/Services/EuropeanLanguagesService.php` (`ALL_LANGUAGES`);
- `app/Http/Controllers/Api/v1/StatementMultipleAPIController.php` and
  `app/Services/GroupedSubmissionsService.php`: `POST /api/v1/statements` takes
  `{"statements": [...]}` with 1-100 statements, answers 422 with errors keyed
  `statement_<index>` and creates none of them when any is invalid;
- `resources/markdown/api-documentation.md`: the endpoints (`POST statement`,
  `POST statements`, `GET statement/existing-puid/{puid}`: 302 found, 404 not found)
  and the 422 answer to a puid the platform already used.

`validate(statement)` returns every rule a statement breaks, in the API's terms; the
statements this stack writes are checked with it (tests), and the local twin of the API
(`local/twins/transparency.py`) refuses with it what the real one refuses. Nothing here
imports beyond the standard library, so every function package can carry it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any
from urllib.parse import urlparse

from common.contract import JobAttr

SOURCE_REPOSITORY = "digital-services-act/transparency-database"
SOURCE_COMMIT = "69e80a0bc8eb3cbfbe8246e898194c3bdf490a4b"

# --- enums (keys, as the API takes them) ----------------------------------------------

DECISION_VISIBILITIES = (
    "DECISION_VISIBILITY_CONTENT_REMOVED",
    "DECISION_VISIBILITY_CONTENT_DISABLED",
    "DECISION_VISIBILITY_CONTENT_DEMOTED",
    "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_LABELLED",
    "DECISION_VISIBILITY_OTHER",
)
DECISION_MONETARIES = (
    "DECISION_MONETARY_SUSPENSION",
    "DECISION_MONETARY_TERMINATION",
    "DECISION_MONETARY_OTHER",
)
DECISION_PROVISIONS = (
    "DECISION_PROVISION_PARTIAL_SUSPENSION",
    "DECISION_PROVISION_TOTAL_SUSPENSION",
    "DECISION_PROVISION_PARTIAL_TERMINATION",
    "DECISION_PROVISION_TOTAL_TERMINATION",
)
DECISION_ACCOUNTS = ("DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED")
ACCOUNT_TYPES = ("ACCOUNT_TYPE_BUSINESS", "ACCOUNT_TYPE_PRIVATE")
GROUND_ILLEGAL = "DECISION_GROUND_ILLEGAL_CONTENT"
GROUND_INCOMPATIBLE = "DECISION_GROUND_INCOMPATIBLE_CONTENT"
DECISION_GROUNDS = (GROUND_ILLEGAL, GROUND_INCOMPATIBLE)
YES_NO = ("Yes", "No")
CONTENT_TYPES = (
    "CONTENT_TYPE_APP",
    "CONTENT_TYPE_AUDIO",
    "CONTENT_TYPE_IMAGE",
    "CONTENT_TYPE_PRODUCT",
    "CONTENT_TYPE_SYNTHETIC_MEDIA",
    "CONTENT_TYPE_TEXT",
    "CONTENT_TYPE_VIDEO",
    "CONTENT_TYPE_OTHER",
)
CATEGORIES = (
    "STATEMENT_CATEGORY_ANIMAL_WELFARE",
    "STATEMENT_CATEGORY_CONSUMER_INFORMATION",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
    "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
    "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
    "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
    "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
    "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
    "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
    "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    "STATEMENT_CATEGORY_SELF_HARM",
    "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
    "STATEMENT_CATEGORY_VIOLENCE",
)
KEYWORDS = (
    "KEYWORD_ADULT_SEXUAL_MATERIAL", "KEYWORD_AGE_SPECIFIC_RESTRICTIONS",
    "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS", "KEYWORD_ANIMAL_HARM",
    "KEYWORD_BIOMETRIC_DATA_BREACH", "KEYWORD_BULLYING_AGAINST_GIRLS",
    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL", "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE",
    "KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS", "KEYWORD_COORDINATED_HARM",
    "KEYWORD_COPYRIGHT_INFRINGEMENT", "KEYWORD_CYBER_BULLYING_INTIMIDATION",
    "KEYWORD_CYBER_HARASSMENT", "KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN",
    "KEYWORD_CYBER_INCITEMENT", "KEYWORD_CYBER_STALKING", "KEYWORD_CYBER_STALKING_AGAINST_WOMEN",
    "KEYWORD_DATA_FALSIFICATION", "KEYWORD_DEFAMATION", "KEYWORD_DESIGN_INFRINGEMENT",
    "KEYWORD_DISCRIMINATION", "KEYWORD_FEMALE_GENDERED_DISINFORMATION",
    "KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT", "KEYWORD_GEOGRAPHICAL_REQUIREMENTS",
    "KEYWORD_GOODS_SERVICES_NOT_PERMITTED", "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS",
    "KEYWORD_HATE_SPEECH", "KEYWORD_HIDDEN_ADVERTISEMENT", "KEYWORD_HUMAN_EXPLOITATION",
    "KEYWORD_HUMAN_TRAFFICKING", "KEYWORD_ILLEGAL_ORGANIZATIONS",
    "KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING", "KEYWORD_INAUTHENTIC_ACCOUNTS",
    "KEYWORD_INAUTHENTIC_LISTINGS", "KEYWORD_INAUTHENTIC_USER_REVIEWS",
    "KEYWORD_INCITEMENT_AGAINST_WOMEN", "KEYWORD_INCITEMENT_VIOLENCE_HATRED",
    "KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS", "KEYWORD_LANGUAGE_REQUIREMENTS",
    "KEYWORD_MISINFORMATION_DISINFORMATION", "KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS",
    "KEYWORD_MISLEADING_INFO_GOODS_SERVICES", "KEYWORD_MISSING_PROCESSING_GROUND",
    "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING", "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN",
    "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE",
    "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN", "KEYWORD_NONCOMPLIANCE_PRICING",
    "KEYWORD_NUDITY", "KEYWORD_PATENT_INFRINGEMENT", "KEYWORD_PHISHING",
    "KEYWORD_PROHIBITED_PRODUCTS", "KEYWORD_PYRAMID_SCHEMES", "KEYWORD_RIGHT_TO_BE_FORGOTTEN",
    "KEYWORD_RISK_ENVIRONMENTAL_DAMAGE", "KEYWORD_RISK_PUBLIC_HEALTH", "KEYWORD_SELF_MUTILATION",
    "KEYWORD_STALKING", "KEYWORD_SUICIDE", "KEYWORD_TERRORIST_CONTENT",
    "KEYWORD_TRADE_SECRET_INFRINGEMENT", "KEYWORD_TRADEMARK_INFRINGEMENT",
    "KEYWORD_TRAFFICKING_WOMEN_GIRLS", "KEYWORD_UNLAWFUL_SALE_ANIMALS", "KEYWORD_UNSAFE_CHALLENGES",
    "KEYWORD_UNSAFE_PRODUCTS", "KEYWORD_VIOLATION_EU_LAW", "KEYWORD_VIOLATION_NATIONAL_LAW",
    "KEYWORD_OTHER",
)  # fmt: skip
SOURCE_ARTICLE_16 = "SOURCE_ARTICLE_16"
SOURCE_VOLUNTARY = "SOURCE_VOLUNTARY"
SOURCE_TYPES = (
    SOURCE_ARTICLE_16,
    "SOURCE_TRUSTED_FLAGGER",
    "SOURCE_TYPE_OTHER_NOTIFICATION",
    SOURCE_VOLUNTARY,
)
AUTOMATED_DETECTIONS = YES_NO
AUTOMATED_DECISION_FULLY = "AUTOMATED_DECISION_FULLY"
AUTOMATED_DECISION_PARTIALLY = "AUTOMATED_DECISION_PARTIALLY"
AUTOMATED_DECISION_NOT_AUTOMATED = "AUTOMATED_DECISION_NOT_AUTOMATED"
AUTOMATED_DECISIONS = (
    AUTOMATED_DECISION_FULLY,
    AUTOMATED_DECISION_PARTIALLY,
    AUTOMATED_DECISION_NOT_AUTOMATED,
)
# EU and EEA countries (EuropeanCountriesService::EUROPEAN_COUNTRY_CODES).
COUNTRY_CODES = (
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
    "IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
)  # fmt: skip
# EU member states only (EuropeanCountriesService::EUROPEAN_UNION_COUNTRY_CODES).
EU_COUNTRY_CODES = tuple(c for c in COUNTRY_CODES if c not in ("IS", "LI", "NO"))
# ISO 639-1, upper case (EuropeanLanguagesService::ALL_LANGUAGES keys).
LANGUAGES = frozenset(
    "AB AA AF AK SQ AM AR AN HY AS AV AE AY AZ BM BA EU BE BN BH BI BS BR BG MY CA KM CH CE NY "
    "ZH CU CV KW CO CR HR CS DA DV NL DZ EN EO ET EE FO FJ FI FR FF GD GL LG KA DE KI EL KL GN "
    "GU HT HA HE HZ HI HO HU IS IO IG ID IA IE IU IK GA IT JA JV KN KR KS KK RW KV KG KO KJ KU "
    "KY LO LA LV LB LI LN LT LU MK MG MS ML MT GV MI MR MH RO MN NA NV ND NG NE SE NO NB NN II "
    "OC OJ OR OM OS PI PA PS FA PL PT QU RM RN RU SM SG SA SC SR SN SD SI SK SL SO ST NR ES SU "
    "SW SS SV TL TY TG TA TT TE TH BO TI TO TS TN TR TK TW UG UK UR UZ VE VI VO WA CY FY WO XH "
    "YI YO ZA ZU".split()
)

# --- fields -----------------------------------------------------------------------------

# Every field the store request validates (anything else is dropped by the API).
FIELDS = (
    "content_id",
    "decision_visibility",
    "decision_visibility_other",
    "decision_monetary",
    "decision_monetary_other",
    "decision_provision",
    "decision_account",
    "account_type",
    "category_specification",
    "category_specification_other",
    "decision_ground",
    "decision_ground_reference_url",
    "illegal_content_legal_ground",
    "illegal_content_explanation",
    "incompatible_content_ground",
    "incompatible_content_explanation",
    "incompatible_content_illegal",
    "content_type",
    "content_type_other",
    "category",
    "category_addition",
    "territorial_scope",
    "content_language",
    "content_date",
    "application_date",
    "end_date_account_restriction",
    "end_date_monetary_restriction",
    "end_date_service_restriction",
    "end_date_visibility_restriction",
    "decision_facts",
    "source_type",
    "source_identity",
    "automated_detection",
    "automated_decision",
    "puid",
)
RESTRICTIONS = (
    "decision_visibility",
    "decision_monetary",
    "decision_provision",
    "decision_account",
)
# `max:N` of each text field.
MAX_LENGTHS: dict[str, int] = {
    "decision_visibility_other": 500,
    "decision_monetary_other": 500,
    "category_specification_other": 500,
    "decision_ground_reference_url": 500,
    "illegal_content_legal_ground": 500,
    "illegal_content_explanation": 2000,
    "incompatible_content_ground": 500,
    "incompatible_content_explanation": 2000,
    "content_type_other": 500,
    "decision_facts": 5000,
    "source_identity": 500,
    "puid": 500,
}
# `date_format:Y-m-d` fields and their `after_or_equal` / `before_or_equal` bounds.
DATE_FORMAT = "%Y-%m-%d"
DATE_BOUNDS: dict[str, tuple[date | None, date]] = {
    "content_date": (date(2000, 1, 1), date(2038, 1, 1)),
    "application_date": (date(2020, 1, 1), date(2038, 1, 1)),
    "end_date_account_restriction": (None, date(2038, 1, 1)),
    "end_date_monetary_restriction": (None, date(2038, 1, 1)),
    "end_date_service_restriction": (None, date(2038, 1, 1)),
    "end_date_visibility_restriction": (None, date(2038, 1, 1)),
}
PUID_PATTERN = re.compile(r"[a-zA-Z0-9_-]+")
EAN13 = re.compile(r"[0-9]{13}")
# The multiple-statements endpoint: `between:1,100`.
MAX_BATCH = 100


def _present(value: Any) -> bool:
    """Laravel's `required`: not null, not an empty string, not an empty list."""
    return value is not None and value != "" and value != [] and value != ()


def _date(value: Any) -> date | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _is_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlparse(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _one_of(errors: list[str], s: Mapping[str, Any], name: str, allowed: Any) -> None:
    value = s.get(name)
    if _present(value) and value not in allowed:
        errors.append(f"{name}: {value!r} is not one of the allowed values")


def _list_of(errors: list[str], s: Mapping[str, Any], name: str, allowed: Any) -> None:
    value = s.get(name)
    if value is None:
        return
    if not isinstance(value, list):
        errors.append(f"{name}: must be an array")
        return
    bad = [v for v in value if v not in allowed]
    if bad:
        errors.append(f"{name}: {bad!r} not among the allowed values")


def validate(s: Mapping[str, Any], *, strict: bool = False) -> list[str]:
    """Every rule of `StatementStoreRequest::rules()` that `s` breaks ([] when valid).

    `strict`: also refuse fields the API does not know (the API drops them silently; this
    stack's own statements must not carry any, so a misspelt field fails its tests).
    """
    errors: list[str] = []
    if strict:
        unknown = sorted(set(s) - set(FIELDS))
        if unknown:
            errors.append(f"unknown fields: {', '.join(unknown)}")
    # Required, unconditionally.
    for name in (
        "decision_ground",
        "content_type",
        "category",
        "content_date",
        "application_date",
        "decision_facts",
        "source_type",
        "automated_detection",
        "automated_decision",
        "puid",
    ):
        if not _present(s.get(name)):
            errors.append(f"{name}: required")
    # At least one restriction (`required_without_all` on each of the four).
    if not any(_present(s.get(r)) for r in RESTRICTIONS):
        errors.append(
            "decision_visibility: required when none of decision_monetary, "
            "decision_provision, decision_account is present"
        )
    _list_of(errors, s, "decision_visibility", DECISION_VISIBILITIES)
    _one_of(errors, s, "decision_monetary", DECISION_MONETARIES)
    _one_of(errors, s, "decision_provision", DECISION_PROVISIONS)
    _one_of(errors, s, "decision_account", DECISION_ACCOUNTS)
    _one_of(errors, s, "account_type", ACCOUNT_TYPES)
    _list_of(errors, s, "category_specification", KEYWORDS)
    _one_of(errors, s, "decision_ground", DECISION_GROUNDS)
    _list_of(errors, s, "content_type", CONTENT_TYPES)
    _one_of(errors, s, "category", CATEGORIES)
    if "category_addition" in s:
        _list_of(errors, s, "category_addition", CATEGORIES)
    _list_of(errors, s, "territorial_scope", COUNTRY_CODES)
    _one_of(errors, s, "content_language", LANGUAGES)
    _one_of(errors, s, "source_type", SOURCE_TYPES)
    _one_of(errors, s, "automated_detection", AUTOMATED_DETECTIONS)
    _one_of(errors, s, "automated_decision", AUTOMATED_DECISIONS)
    # Required-if: the "other" texts and the ground's explanation.
    visibility = s.get("decision_visibility") or []
    if isinstance(visibility, list) and "DECISION_VISIBILITY_OTHER" in visibility:
        if not _present(s.get("decision_visibility_other")):
            errors.append("decision_visibility_other: required when decision_visibility is other")
    if s.get("decision_monetary") == "DECISION_MONETARY_OTHER":
        if not _present(s.get("decision_monetary_other")):
            errors.append("decision_monetary_other: required when decision_monetary is other")
    content_types = s.get(JobAttr.CONTENT_TYPE) or []
    if isinstance(content_types, list) and "CONTENT_TYPE_OTHER" in content_types:
        if not _present(s.get("content_type_other")):
            errors.append("content_type_other: required when content_type is other")
    ground = s.get("decision_ground")
    if ground == GROUND_ILLEGAL:
        for name in ("illegal_content_legal_ground", "illegal_content_explanation"):
            if not _present(s.get(name)):
                errors.append(f"{name}: required when decision_ground is illegal content")
    if ground == GROUND_INCOMPATIBLE:
        for name in ("incompatible_content_ground", "incompatible_content_explanation"):
            if not _present(s.get(name)):
                errors.append(f"{name}: required when decision_ground is incompatible content")
        _one_of(errors, s, "incompatible_content_illegal", YES_NO)
    # Lengths.
    for name, limit in MAX_LENGTHS.items():
        value = s.get(name)
        if isinstance(value, str) and len(value) > limit:
            errors.append(f"{name}: longer than {limit} characters")
    # Formats.
    for name, (low, high) in DATE_BOUNDS.items():
        value = s.get(name)
        if not _present(value):
            continue
        day = _date(value)
        if day is None:
            errors.append(f"{name}: does not match the format YYYY-MM-DD")
        elif (low is not None and day < low) or day > high:
            errors.append(f"{name}: {value} is outside {low or '-'}..{high}")
    puid = s.get("puid")
    if _present(puid) and not (isinstance(puid, str) and PUID_PATTERN.fullmatch(puid)):
        errors.append("puid: only a-z, A-Z, 0-9, '-' and '_' are allowed")
    url = s.get("decision_ground_reference_url")
    if _present(url) and not _is_url(url):
        errors.append("decision_ground_reference_url: not a URL")
    content_id = s.get("content_id")
    if content_id is not None:
        if not isinstance(content_id, dict):
            errors.append("content_id: must be an object")
        elif "EAN-13" in content_id and not EAN13.fullmatch(str(content_id["EAN-13"])):
            errors.append("content_id.EAN-13: must be 13 digits")
    return errors


def validate_batch(body: Any, *, strict: bool = False) -> dict[str, list[str]]:
    """The multiple-statements endpoint's check: errors keyed `statements` or
    `statement_<index>` ({} when every statement is valid)."""
    statements = body.get("statements") if isinstance(body, Mapping) else None
    if not isinstance(statements, list) or not 1 <= len(statements) <= MAX_BATCH:
        return {"statements": [f"must be an array of 1-{MAX_BATCH} statements"]}
    errors: dict[str, list[str]] = {}
    for index, statement in enumerate(statements):
        found = (
            validate(statement, strict=strict)
            if isinstance(statement, Mapping)
            else ["must be an object"]
        )
        if found:
            errors[f"statement_{index}"] = found
    return errors
