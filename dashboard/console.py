"""The console's door: sign-in when served beyond the machine, the visitor's identity,
and which pages their groups open (the rules are in `dashboard/access.py`).

`gate()` runs first on every script run (app.py). In the local mode it lets everyone in
as the machine's operator; in the signed-in mode it refuses to draw anything until
`st.user` is a signed-in identity, and the target (stack, profile, region) is the one
named at launch: the sidebar shows it and offers no choice.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard.access import (
    ConsoleRefused,
    Identity,
    LaunchOptions,
    Role,
    check_servable,
    local_identity,
    parse_launch,
    sign_in_required,
    signed_in_identity,
)
from lambdas.common.contract import Output

IDENTITY = "console_identity"
# The pages moderators use (url path = file stem, `_` as `-`); every other page is the
# operators', except the shared ones both roles open.
MODERATOR_PAGES = frozenset({"review", "appeals", "qa"})
SHARED_PAGES = frozenset({"calibration"})


def _name(page: str) -> str:
    return Path(page).stem.replace("_", "-")


def role_of(page: str) -> Role:
    """The role a page serves, by its file (`pages/review.py`) or url path (`review`);
    a shared page (`roles_of`) is listed as the operators'."""
    return Role.MODERATOR if _name(page) in MODERATOR_PAGES else Role.OPERATOR


def roles_of(page: str) -> frozenset[Role]:
    """Every role that may open the page."""
    if _name(page) in SHARED_PAGES:
        return frozenset(Role)
    return frozenset({role_of(page)})


def may_open(page: str, who: Identity | None = None) -> bool:
    """Whether `who` (default: this session's signed-in identity; None in the local mode,
    where everyone may) may open the page."""
    who = who if who is not None else signed_in()
    return who is None or bool(who.roles & roles_of(page))


def launch_options() -> LaunchOptions:
    return parse_launch(sys.argv[1:])


def bind_address() -> str | None:
    value = st.get_option("server.address")
    return str(value) if value else None


def signed_in_mode() -> bool:
    return sign_in_required(bind_address(), launch_options())


def _auth_section() -> dict[str, Any] | None:
    try:
        if not st.secrets.load_if_toml_exists() or "auth" not in st.secrets:
            return None
        return dict(st.secrets["auth"])
    except (FileNotFoundError, KeyError):
        return None


def gate(outputs: dict[str, Any] | None, page_file: str | None = None) -> Identity | None:
    """Let the visitor in or stop the run. Returns the signed-in identity, or None in the
    local mode (the page finds the operator itself: `identity(...)`).

    app.py calls it before registering pages; every page calls it again (through
    `ui.page`) with its own file, so a page runs only for a signed-in visitor whose groups
    it serves, however it was reached."""
    options = launch_options()
    address = bind_address()
    if not sign_in_required(address, options):
        st.session_state.pop(IDENTITY, None)
        return None
    try:
        check_servable(address, options, _auth_section())
    except ConsoleRefused as refused:
        st.error(str(refused), icon=":material/lock:")
        st.stop()
    user = st.user
    if not user.is_logged_in:
        st.title("Moderation console")
        st.info("Sign in to use the console.", icon=":material/login:")
        if st.button("Sign in", key="console_sign_in", type="primary"):
            st.login()
        st.stop()
    moderators = str((outputs or {}).get(Output.MODERATOR_GROUP) or "moderators")
    try:
        who = signed_in_identity(user.to_dict(), moderators, options.operators_group)
    except ConsoleRefused as refused:
        st.error(f"Your sign-in cannot be used: {refused}.")
        if st.button("Sign out", key="console_sign_out_refused"):
            st.logout()
        st.stop()
    st.session_state[IDENTITY] = who
    if who.roles and page_file is not None and not may_open(page_file, who):
        st.error(
            f"This page is for {role_of(page_file)}s; you are signed in as {who.display} "
            f"({', '.join(sorted(who.roles))}).",
            icon=":material/block:",
        )
        st.stop()
    if not who.roles:
        st.title("Moderation console")
        st.warning(
            f"You are signed in as {who.display}, but in neither the moderators' group "
            f"(`{moderators}`) nor the operators' group (`{options.operators_group}`). "
            "Ask an administrator to add you to one.",
            icon=":material/block:",
        )
        if st.button("Sign out", key="console_sign_out_none"):
            st.logout()
        st.stop()
    return who


def signed_in() -> Identity | None:
    """The signed-in identity of this session (None in the local mode)."""
    found = st.session_state.get(IDENTITY)
    return found if isinstance(found, Identity) and signed_in_mode() else None


def identity(operator: str) -> Identity:
    """Who acts: the signed-in identity, or (local mode) the machine's `operator`."""
    return signed_in() or local_identity(operator)


def allowed(role: Role) -> bool:
    who = signed_in()
    return who is None or who.can(role)


def sidebar() -> None:
    """Who is signed in, and the way out (drawn by every page: see ui.page)."""
    who = signed_in()
    if who is None:
        return
    side = st.sidebar
    roles = ", ".join(sorted(who.roles)) or "no role"
    side.text(f"Signed in as {who.display} ({roles})")
    if side.button("Sign out", key="console_sign_out"):
        st.logout()
