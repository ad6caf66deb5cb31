"""Who may use the console, and as whom it acts.

Two modes, chosen at launch (`python -m dashboard`, docs/dashboard.md):
- **local**: served on a loopback address (127.0.0.1, the default) without sign-in, as
  before: the person at the machine is both moderator and operator, recorded as
  `local:<login name>` on the local cloud or as the AWS caller identity's ARN;
- **signed in**: served beyond the machine (any other bind address, or
  `--require-sign-in`), every visitor signs in through Streamlit's OIDC (`st.login`,
  the `[auth]` section of `.streamlit/secrets.toml`) and acts as that identity: the
  recorded reviewer is the ID token's `sub` (with the stack's Cognito pool, the same
  `sub` the API records), and pages and actions follow the `cognito:groups` claim —
  moderators (the stack's `moderator_group` output) review; operators (`--operators-group`,
  default `operators`) run the pipeline pages, dead letters and the audit log.

The functions here are plain: the Streamlit glue in `app.py` passes them what
`st.get_option`, `st.secrets` and `st.user` hold.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from lambdas.common import review as review_rules
from lambdas.common.contract import GROUPS_CLAIM

DEFAULT_OPERATORS_GROUP = "operators"
DEFAULT_MODERATORS_GROUP = "moderators"
OPERATORS_GROUP_ENV = "DASHBOARD_OPERATORS_GROUP"
REQUIRE_SIGN_IN_ENV = "DASHBOARD_REQUIRE_SIGN_IN"
# What `[auth]` must name for st.login (the shared settings and one unnamed provider).
AUTH_KEYS = ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")


class Role(StrEnum):
    MODERATOR = "moderator"
    OPERATOR = "operator"


class ConsoleRefused(RuntimeError):
    """The console cannot be served this way; the message names the fix."""


def is_loopback(address: str | None) -> bool:
    """True for an address only this machine reaches. None or "" is Streamlit's
    default of every interface, so it is not."""
    if not address:
        return False
    if address.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it resolves to something other machines may reach


@dataclass(frozen=True)
class LaunchOptions:
    """The console's own launch options (after `--` on `streamlit run`, or `python -m
    dashboard`); the target's options are read by `dashboard.data.target.parse_args`."""

    operators_group: str = DEFAULT_OPERATORS_GROUP
    require_sign_in: bool = False


def parse_launch(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> LaunchOptions:
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--operators-group")
    parser.add_argument("--require-sign-in", action="store_true")
    args, _ = parser.parse_known_args(list(argv))
    group = args.operators_group or environ.get(OPERATORS_GROUP_ENV) or DEFAULT_OPERATORS_GROUP
    forced = args.require_sign_in or environ.get(REQUIRE_SIGN_IN_ENV, "") in ("1", "true")
    return LaunchOptions(group, forced)


def sign_in_required(address: str | None, options: LaunchOptions) -> bool:
    return options.require_sign_in or not is_loopback(address)


def auth_problems(auth: Mapping[str, Any] | None) -> list[str]:
    """What the `[auth]` secrets section lacks for st.login with one provider (or with
    named `[auth.<provider>]` sections, each of which must hold the provider keys)."""
    if not auth:
        return ["there is no [auth] section in .streamlit/secrets.toml"]
    missing = [k for k in ("redirect_uri", "cookie_secret") if not auth.get(k)]
    providers = {k: v for k, v in auth.items() if isinstance(v, Mapping)}
    if providers:
        for name, section in providers.items():
            missing += [f"{k} (in [auth.{name}])" for k in AUTH_KEYS[2:] if not section.get(k)]
    else:
        missing += [k for k in AUTH_KEYS[2:] if not auth.get(k)]
    problems = [f"[auth] has no {k}" for k in missing]
    uri = str(auth.get("redirect_uri") or "")
    if uri and not uri.endswith("/oauth2callback"):
        problems.append("[auth] redirect_uri must end with /oauth2callback")
    return problems


def check_servable(
    address: str | None, options: LaunchOptions, auth: Mapping[str, Any] | None
) -> None:
    """Refuse to serve beyond the machine without sign-in configured."""
    if not sign_in_required(address, options):
        return
    problems = auth_problems(auth)
    if problems:
        where = f"on {address}" if address else "on every network interface"
        raise ConsoleRefused(
            f"The console would be served {where} without sign-in: {'; '.join(problems)}. "
            "Either bind it to this machine only (`python -m dashboard`, which binds "
            "127.0.0.1; or `--server.address 127.0.0.1`), or configure OIDC sign-in in "
            ".streamlit/secrets.toml as docs/dashboard.md shows (an [auth] section with "
            "redirect_uri, cookie_secret, client_id, client_secret and server_metadata_url)."
        )


@dataclass(frozen=True)
class Identity:
    """Who is using the console and what they may do."""

    user: str  # recorded as the reviewer and in the audit log
    roles: frozenset[Role]
    signed_in: bool
    display: str = ""  # a name or email to greet them with
    claims: Mapping[str, Any] | None = None

    def can(self, role: Role) -> bool:
        return role in self.roles


def local_identity(operator: str) -> Identity:
    """The person at the machine (no sign-in): every role, as the dashboard's operator."""
    return Identity(operator, frozenset(Role), signed_in=False, display=operator)


def signed_in_identity(
    claims: Mapping[str, Any], moderator_group: str, operators_group: str
) -> Identity:
    """The signed-in visitor: their `sub` and the roles their `cognito:groups` grant."""
    user = str(claims.get("sub") or "")
    if not user:
        raise ConsoleRefused("the identity token names no subject (sub)")
    groups = review_rules.parse_groups(claims.get(GROUPS_CLAIM))
    roles = set()
    if moderator_group in groups:
        roles.add(Role.MODERATOR)
    if operators_group in groups:
        roles.add(Role.OPERATOR)
    display = str(claims.get("email") or claims.get("name") or user)
    return Identity(user, frozenset(roles), signed_in=True, display=display, claims=claims)


def may_record_verdict(identity: Identity, moderator_group: str) -> str:
    """The reviewer to record, under the API's own group rule (`review.authorize`):
    a signed-in identity must be in the moderator group. Raises `review.Refused`."""
    if not identity.signed_in:
        return identity.user
    claims = dict(identity.claims or {})
    return review_rules.authorize(claims, moderator_group)
