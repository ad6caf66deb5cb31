"""Streamlit plumbing shared by the pages: target selection, refresh, empty states.

Every page starts with `page(...)`, which draws the sidebar (which stack, time window,
refresh) and returns the target, or stops the page with an explanation when there is
no stack to look at. `load(...)` runs a cached loader and turns any AWS error into a
sentence instead of a stack trace. (The sidebar is drawn by the pages rather than by
app.py because Streamlit's AppTest drops what the entry script draws on reruns.)
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import streamlit as st

from dashboard import console
from dashboard.data.problems import Problem, explain
from dashboard.data.target import (
    KIND_LABELS,
    KINDS,
    Target,
    TargetSpec,
    TargetUnavailable,
    parse_args,
)
from lambdas.common.contract import JobAttr

log = logging.getLogger("dashboard")
T = TypeVar("T")
WINDOWS = {
    "15 minutes": timedelta(minutes=15),
    "1 hour": timedelta(hours=1),
    "6 hours": timedelta(hours=6),
    "24 hours": timedelta(hours=24),
    "7 days": timedelta(days=7),
}
REFRESH_INTERVALS = (15, 30, 60, 300)
HEALTH_COLORS = {
    "ok": "#2e7d32",
    "idle": "#78909c",
    "degraded": "#ef6c00",
    "attention": "#ef6c00",
    "failing": "#c62828",
}
CACHE_TTL = 10  # seconds; shorter than the shortest auto-refresh interval
STATUS_COLORS = {
    "complete": "#2e7d32",
    "failed": "#c62828",
    "analyzing": "#f9a825",
    "pending": "#90a4ae",
    "approve": "#2e7d32",
    "warn": "#f9a825",
    "reject": "#c62828",
    JobAttr.REVIEW: "#6a1b9a",
}


# --- target --------------------------------------------------------------------------------


@st.cache_resource(ttl=60, show_spinner=False)
def _resolve(key: str) -> Target:
    from dashboard.data.target import resolve

    kind, location, profile, region = json.loads(key)
    return resolve(TargetSpec(kind, location, profile, region))


# Widget state does not survive a page switch in a multipage app, so the sidebar's
# choices are kept under `keep_<key>` (plain session state, which does) and copied
# into each page's widget before it is drawn.


def _keep(key: str) -> None:
    st.session_state[f"keep_{key}"] = st.session_state[key]


def _persistent(key: str, default: Any) -> dict[str, Any]:
    """Arguments for a widget whose value outlives page switches."""
    ss = st.session_state
    if f"keep_{key}" not in ss:
        ss[f"keep_{key}"] = ss.get(key, default)
    ss[key] = ss[f"keep_{key}"]
    return {"key": key, "on_change": _keep, "args": (key,)}


def kept(key: str, default: Any = None) -> Any:
    return st.session_state.get(f"keep_{key}", st.session_state.get(key, default))


def _init_state() -> None:
    ss = st.session_state
    if "keep_target_kind" not in ss:
        spec = parse_args(sys.argv[1:])
        ss["keep_target_kind"] = ss.get("target_kind", spec.kind)
        ss.setdefault(f"keep_target_location_{spec.kind}", spec.location)
        ss.setdefault("keep_target_profile", ss.get("target_profile", spec.profile or ""))
        ss.setdefault("keep_target_region", ss.get("target_region", spec.region or ""))


def current_spec() -> TargetSpec:
    """What the operator chose: the sidebar's widgets, first filled from the command line.
    A signed-in console looks only at the stack named at launch."""
    if console.signed_in_mode():
        return parse_args(sys.argv[1:])
    _init_state()
    kind = kept("target_kind")
    location = (kept(f"target_location_{kind}") or "").strip()
    profile = (kept("target_profile") or "").strip() if kind != "local" else ""
    region = (kept("target_region") or "").strip() if kind != "local" else ""
    return TargetSpec(kind, location, profile or None, region or None)


def open_target() -> Target | None:
    """Open the chosen stack (cached); remember why when it cannot be opened."""
    spec = current_spec()
    st.session_state["target_spec"] = spec
    try:
        target = _resolve(spec.key())
    except TargetUnavailable as exc:
        st.session_state["target_problem"] = exc
        return None
    except Exception as exc:  # noqa: BLE001 - shown to the operator instead of a stack trace; logged
        st.session_state["target_problem"] = TargetUnavailable(
            str(problem(exc, "opening the stack"))
        )
        return None
    st.session_state.pop("target_problem", None)
    return target


def _sidebar_target() -> None:
    side = st.sidebar
    side.subheader("Stack")
    if console.signed_in_mode():
        return  # fixed at launch: the caption under this names it
    _init_state()
    kind = side.selectbox(
        "Look at",
        KINDS,
        format_func=lambda k: KIND_LABELS[k],
        **_persistent("target_kind", "local"),
    )
    label = {
        "local": "State directory",
        "outputs": "Outputs JSON file",
        "stack": "Pulumi stack name",
    }[kind]
    side.text_input(
        label,
        placeholder="default: .local-cloud" if kind == "local" else "",
        **_persistent(f"target_location_{kind}", ""),
    )
    if kind != "local":
        side.text_input(
            "AWS profile", placeholder="default credentials", **_persistent("target_profile", "")
        )
        side.text_input(
            "Region", placeholder="from the outputs", **_persistent("target_region", "")
        )


def page(title: str, subtitle: str = "") -> Target:
    """Start a page: the sidebar (stack, window, refresh), the title, and the target —
    or an explanation of why there is none, which ends the page."""
    _sidebar_target()
    tgt = open_target()
    # Served beyond the machine: only a signed-in visitor whose groups this page serves.
    console.gate(tgt.outputs if tgt is not None else None, sys._getframe(1).f_code.co_filename)
    console.sidebar()
    why = st.session_state.get("target_problem")
    if tgt is not None:
        st.sidebar.caption(
            f"**{tgt.name}** in {tgt.region}"
            + (f" · endpoint {tgt.endpoint_url}" if tgt.endpoint_url else "")
        )
    elif why is not None:
        st.sidebar.error(why.message)
    sidebar_refresh()
    header(title, subtitle)
    if tgt is not None:
        return tgt
    st.info("No stack to look at yet.", icon=":material/info:")
    if why is not None:
        st.markdown(f"**{why.message}**")
        if why.hint:
            st.markdown(why.hint)
    st.markdown(
        "Choose what to look at in the sidebar: the embedded local cloud "
        "(`python -m local up`), an outputs file from `pulumi stack output --json`, or a "
        "Pulumi stack name."
    )
    st.stop()
    raise RuntimeError("unreachable")  # st.stop() raises; this keeps type checkers honest


def key() -> str:
    return st.session_state["target_spec"].key()


# --- refresh -------------------------------------------------------------------------------


def sidebar_refresh() -> None:
    side = st.sidebar
    side.subheader("Data")
    side.selectbox("Time window", list(WINDOWS), **_persistent("window_label", "1 hour"))
    cols = side.columns([1, 1])
    if cols[0].button(
        "Refresh", icon=":material/refresh:", key="refresh_button", help="Read everything again now"
    ):
        st.cache_data.clear()
        _resolve.clear()
    auto = cols[1].toggle(
        "Auto", help="Re-read the page periodically", **_persistent("auto_refresh", False)
    )
    if auto:
        seconds = side.select_slider(
            "Every (seconds)", REFRESH_INTERVALS, **_persistent("auto_refresh_seconds", 30)
        )
        _ticker(seconds)
    side.caption(
        f"Reads are cached for {CACHE_TTL} s (jobs and REPORT lines for "
        f"{3 * CACHE_TTL} s, refreshed in the background). Page drawn at "
        f"{datetime.now(UTC):%H:%M:%S} UTC."
    )


def _ticker(seconds: int) -> None:
    st.session_state["_last_full_run"] = time.monotonic()

    @st.fragment(run_every=seconds)
    def tick() -> None:
        if time.monotonic() - st.session_state.get("_last_full_run", 0) >= seconds - 0.5:
            st.rerun()

    with st.sidebar:
        tick()


def window() -> timedelta:
    return WINDOWS[window_label()]


def window_label() -> str:
    return kept("window_label", "1 hour")


# --- loading -------------------------------------------------------------------------------


def load(
    loader: Callable[..., tuple[T, datetime]], *args: Any, what: str = "the data", **kwargs: Any
) -> T | None:
    """Run a cached loader; on failure explain it (no stack trace) and return None."""
    try:
        value, at = loader(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - every failure is explained on the page; logged
        show_problem(problem(exc, what))
        return None
    stamps = st.session_state.setdefault("_loaded_at", {})
    stamps[what] = at
    return value


def problem(exc: BaseException, what: str) -> Problem:
    """The operator's explanation of a failure; the full error goes to the server's log."""
    found = explain(exc, what)
    log.warning("%s failed (%s): %r", what, found.kind, exc)
    return found


def show_problem(found: Problem) -> None:
    icon = {
        "no_permission": ":material/lock:",
        "not_found": ":material/search_off:",
        "no_credentials": ":material/key_off:",
        "unreachable": ":material/cloud_off:",
        "throttled": ":material/hourglass_top:",
    }.get(found.kind, ":material/warning:")
    st.warning(f"{found.message} {found.hint}".strip(), icon=icon)


def updated(what: str, with_window: bool = True) -> None:
    at = st.session_state.get("_loaded_at", {}).get(what)
    if at is not None:
        age = (datetime.now(UTC) - at).total_seconds()
        text = f"Updated {at:%H:%M:%S} UTC ({age:.0f} s ago)"
        st.caption(text + (f" · window: {window_label()}" if with_window else ""))


def header(title: str, subtitle: str = "") -> None:
    st.title(title)
    if subtitle:
        st.caption(subtitle)


def health_style(status: str) -> str:
    return f"color: {HEALTH_COLORS.get(status, 'inherit')}; font-weight: 600"


def fmt_seconds(value: float | None) -> str:
    if value is None or value != value:
        return "–"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def fmt_usd(value: float) -> str:
    if abs(value) < 0.01 and value != 0:
        return f"${value:.4f}"
    return f"${value:,.2f}"


def empty_jobs_hint(tgt: Target) -> str:
    if tgt.is_local:
        return (
            "No jobs in this window yet. Put some load on the local cloud: "
            "`python -m local load 50 --poison 3`."
        )
    return f"No jobs in this window yet. Uploads go to `POST {tgt.outputs.get('api_url')}/jobs`."
