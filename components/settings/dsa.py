"""`moderation:dsa`: statements of reasons, Transparency Database submission, notices.

The settings (a section of StackSettings) and their check, which names the setting and
the fix at preview. What each one means for the statements is in docs/statements.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from components.settings.fields import NAMESPACE, setting
from components.settings.fields import set_cmd as _set_cmd
from lambdas.common import dsa_rules
from lambdas.common.contract import APPEAL_ROUTE, JobAttr
from lambdas.common.dsa_mappings import DEFAULT_MAPPINGS, DEFAULT_WARN_VISIBILITY, GROUNDS

DEFAULT_API_URL = "https://transparency.dsa.ec.europa.eu/api/v1"
DEFAULT_OUT_OF_COURT = (
    "You may refer this decision to an out-of-court dispute settlement body certified under "
    "Article 21 of the Digital Services Act."
)
DEFAULT_JUDICIAL = (
    "You may bring this decision before the competent court of the Member State where you "
    "live; using our appeal or an out-of-court body does not take that right away."
)


def as_mappings(raw: Any) -> dict[str, dict[str, Any]]:
    """`moderation:dsa.categories`: `{moderation category: {category, visibility, ground,
    clause, explanation, specification}}`, each field over the built-in default's."""
    if isinstance(raw, str):
        raw = json.loads(raw)
    if not isinstance(raw, dict):
        raise ValueError("expected an object: {moderation category: {category, ground, ...}}")
    return {str(k): dict(v) if isinstance(v, dict) else v for k, v in raw.items()}


@dataclass(frozen=True)
class DsaSettings:
    statements: bool = setting(
        True,
        "write a statement of reasons (DSA Article 17) for every restricting decision; "
        "the owner reads it at `GET /jobs/{job_id}/statement`",
    )
    submit: bool = setting(
        False,
        "submit each statement once to the Transparency Database (Article 24(5)); needs "
        "`dsa.tokenSecret`",
    )
    api_url: str = setting(DEFAULT_API_URL, "the Transparency Database API's base URL")
    token_secret: str | None = setting(
        None,
        "name of the Secrets Manager secret holding the platform's API token (created by "
        "you; the submitter may read it and nothing else)",
    )
    territorial_scope: tuple[str, ...] = setting(
        dsa_rules.COUNTRY_CODES,
        "EU/EEA country codes where a restriction applies (default: all EU and EEA)",
        default_doc="all 30 EU and EEA countries",
    )
    warn_restricts: bool = setting(
        False,
        "`warn` labels or demotes the image on your service (then it gets a statement); "
        "false: `warn` is advice to the uploader only",
    )
    warn_visibility: str = setting(
        DEFAULT_WARN_VISIBILITY,
        "what `warn` does when it restricts: a `DECISION_VISIBILITY_*` key",
    )
    terms_url: str | None = setting(
        None, "URL of your terms and conditions (`decision_ground_reference_url`)"
    )
    categories: dict[str, dict[str, Any]] = setting(
        doc="moderation category -> {category, visibility, ground (`terms` or `illegal`), "
        "clause, explanation, specification}; over the defaults of docs/statements.md",
        default_factory=dict,
        parse=as_mappings,
        default_doc="docs/statements.md#categories",
    )
    out_of_court: str = setting(
        DEFAULT_OUT_OF_COURT, "the out-of-court redress text shown with a statement"
    )
    judicial: str = setting(DEFAULT_JUDICIAL, "the judicial redress text shown with a statement")
    notices: bool = setting(True, "`POST /jobs/{job_id}/notices` (Article 16)")
    notices_per_day: int = setting(20, "notices one user may send in a UTC day (1-1000)")

    def function_config(self, appeal_window_days: int) -> dict[str, Any]:
        """The `dsa` section baked into the packages that build or show statements
        (`statements.Config.from_dict` reads it). The appeal route and window are the
        stack's own appeals (`moderation:appeals.windowDays`), one setting for both."""
        return {
            JobAttr.CATEGORIES: self.categories,
            "territorialScope": list(self.territorial_scope),
            "warnRestricts": self.warn_restricts,
            "warnVisibility": self.warn_visibility,
            "termsUrl": self.terms_url,
            "redress": {
                "appealRoute": APPEAL_ROUTE,
                "appealWindowDays": appeal_window_days,
                "outOfCourt": self.out_of_court,
                "judicial": self.judicial,
            },
        }


_MAPPING_FIELDS = ("category", "visibility", "ground", "clause", "explanation", "specification")


def _check_mapping(name: str, m: Any, problems: list[str]) -> None:
    key = f"{NAMESPACE}:dsa.categories.{name}"
    if not isinstance(m, dict):
        problems.append(f"{key} must be an object with {', '.join(_MAPPING_FIELDS)}.")
        return
    unknown = sorted(set(m) - set(_MAPPING_FIELDS))
    if unknown:
        problems.append(f"{key} has unknown fields {unknown}: use {', '.join(_MAPPING_FIELDS)}.")
    base = DEFAULT_MAPPINGS.get(name, DEFAULT_MAPPINGS["*"])
    category = m.get("category", base.category)
    if category not in dsa_rules.CATEGORIES:
        problems.append(
            f"{key}.category = {category!r} is not a Transparency Database category. Use one "
            f"of {', '.join(dsa_rules.CATEGORIES)}."
        )
    visibility = m.get("visibility", base.visibility)
    if visibility not in dsa_rules.DECISION_VISIBILITIES or visibility.endswith("_OTHER"):
        problems.append(
            f"{key}.visibility = {visibility!r} is not a visibility restriction the stack "
            f"can state. Use one of {', '.join(dsa_rules.DECISION_VISIBILITIES[:-1])}."
        )
    ground = m.get("ground", base.ground)
    if ground not in GROUNDS:
        problems.append(f"{key}.ground = {ground!r}: use `terms` or `illegal`.")
    for text, limit in (("clause", 500), ("explanation", 2000)):
        value = m.get(text, getattr(base, text))
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            what = "the law relied on" if ground == "illegal" else "the terms' clause"
            problems.append(
                f"{key}.{text} must be 1-{limit} characters ({what}). Set it with "
                f"{_set_cmd(f'dsa.categories.{name}.{text}', 'TEXT')}."
            )
    if ground == "illegal" and "clause" not in m:
        problems.append(
            f"{key} is marked illegal but names no law: set {key}.clause to the legal ground "
            "relied on (e.g. the national provision); the stack cannot choose it for you."
        )
    spec = m.get("specification", base.specification)
    if not isinstance(spec, (list, tuple)) or any(k not in dsa_rules.KEYWORDS for k in spec):
        problems.append(f"{key}.specification must be a list of KEYWORD_* keys of the API.")


def check(d: DsaSettings) -> list[str]:
    """Every problem with `moderation:dsa`, each naming the setting and the fix."""
    problems: list[str] = []
    bad = [c for c in d.territorial_scope if c not in dsa_rules.COUNTRY_CODES]
    if bad or not d.territorial_scope:
        problems.append(
            f"{NAMESPACE}:dsa.territorialScope has {bad or 'no countries'}: use EU/EEA "
            f"country codes ({', '.join(dsa_rules.COUNTRY_CODES)}). Set it with "
            f"{_set_cmd('dsa.territorialScope', 'DE,AT')}."
        )
    if d.warn_visibility not in dsa_rules.DECISION_VISIBILITIES or d.warn_visibility.endswith(
        "_OTHER"
    ):
        problems.append(
            f"{NAMESPACE}:dsa.warnVisibility = {d.warn_visibility!r}: use one of "
            f"{', '.join(dsa_rules.DECISION_VISIBILITIES[:-1])}. Set it with "
            f"{_set_cmd('dsa.warnVisibility', DEFAULT_WARN_VISIBILITY)}."
        )
    for name, m in d.categories.items():
        _check_mapping(name, m, problems)
    if d.submit and not d.statements:
        problems.append(
            f"{NAMESPACE}:dsa.submit needs statements: set {_set_cmd('dsa.statements', 'true')}."
        )
    if d.submit and not d.token_secret:
        problems.append(
            f"{NAMESPACE}:dsa.submit is on but {NAMESPACE}:dsa.tokenSecret is not set: create "
            "a Secrets Manager secret holding the platform's API token, then "
            f"{_set_cmd('dsa.tokenSecret', 'NAME')}."
        )
    if not d.api_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        problems.append(
            f"{NAMESPACE}:dsa.apiUrl = {d.api_url!r} must be an https URL. Set it with "
            f"{_set_cmd('dsa.apiUrl', DEFAULT_API_URL)}."
        )
    if not 1 <= d.notices_per_day <= 1000:
        problems.append(
            f"{NAMESPACE}:dsa.noticesPerDay = {d.notices_per_day} is outside 1-1000. Set it "
            f"with {_set_cmd('dsa.noticesPerDay', 20)}."
        )
    for text in ("out_of_court", "judicial"):
        if not getattr(d, text).strip():
            problems.append(f"{NAMESPACE}:dsa.{text}: the redress text may not be empty.")
    return problems
