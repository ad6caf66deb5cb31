"""Showing user images in the console: blurred and greyscale until revealed, one at a time.

`show(...)` sends the browser the shielded bytes (dashboard/data/wellbeing.py) unless the
moderator revealed that image (a click) or turned shielding off in their preferences.
`preference_toggle(...)` draws that preference and keeps it for the identity.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard.data import wellbeing
from dashboard.data.audit import table_of

REVEALED = "wellbeing_revealed"  # image ids revealed in this session
PREFS = "wellbeing_prefs"  # (identity, Preferences) read once per session


@st.cache_data(max_entries=64, show_spinner=False)
def _shielded(data: bytes) -> bytes:
    return wellbeing.shield(data)


def _store(target: Any, signed_in: bool) -> Any:
    table = table_of(target.outputs)
    if signed_in and table:
        return wellbeing.TablePreferences(target.client("dynamodb"), table)
    return wellbeing.FilePreferences(wellbeing.default_preferences_file())


def preferences(target: Any, identity: str, signed_in: bool) -> wellbeing.Preferences:
    kept = st.session_state.get(PREFS)
    if isinstance(kept, tuple) and kept[0] == identity:
        prefs: wellbeing.Preferences = kept[1]
        return prefs
    prefs = _store(target, signed_in).get(identity)
    st.session_state[PREFS] = (identity, prefs)
    return prefs


def preference_toggle(target: Any, identity: str, signed_in: bool) -> wellbeing.Preferences:
    """The moderator's 'blur images' preference, saved for them when changed."""
    current = preferences(target, identity, signed_in)

    def save() -> None:
        prefs = wellbeing.Preferences(shield_images=bool(st.session_state["wellbeing_shield"]))
        _store(target, signed_in).put(identity, prefs)
        st.session_state[PREFS] = (identity, prefs)

    st.session_state.setdefault("wellbeing_shield", current.shield_images)
    st.toggle(
        "Blur and grey images until I reveal them",
        key="wellbeing_shield",
        on_change=save,
        help="Kept for you: "
        + ("in the stack's audit table." if signed_in else "in a file on this machine."),
    )
    return preferences(target, identity, signed_in)


def show(data: bytes, image_id: str, caption: str, shield_images: bool = True) -> None:
    """The image, shielded unless revealed; a button reveals or shields it again."""
    revealed: set[str] = st.session_state.setdefault(REVEALED, set())
    if not shield_images:
        st.image(data, caption=caption)
        return
    if image_id in revealed:
        st.image(data, caption=caption)
        if st.button("Blur again", key=f"shield:{image_id}", icon=":material/blur_on:"):
            revealed.discard(image_id)
            st.rerun()
    else:
        st.image(_shielded(data), caption=f"{caption} · blurred", width=SHIELD_WIDTH)
        if st.button("Reveal image", key=f"reveal:{image_id}", icon=":material/visibility:"):
            revealed.add(image_id)
            st.rerun()


SHIELD_WIDTH = 384
