"""Audit log: every console and moderator action — who, what, which ids, when (operators)."""

from __future__ import annotations

import streamlit as st

from dashboard import loaders, ui
from dashboard.data import audit

DAYS = (1, 7, 30, 90)
LIMIT = 1000

tgt = ui.page(
    "Audit log",
    "Every verdict (from this console or the review API), dead-letter redrive and delete, "
    "newest first: who acted, on which ids, when. Entries are written once and never changed.",
)
key = ui.key()
if audit.table_of(tgt.outputs) is None:
    st.info(
        "This stack has no audit log: its outputs name no `audit_table` (it was deployed "
        "before the audit log). `pulumi up` adds it."
    )
    st.stop()
days = st.select_slider("Days", DAYS, value=7, key="audit_days")
log = ui.load(loaders.audit_log, key, days, LIMIT, tgt, what="reading the audit log")
ui.updated("reading the audit log", with_window=False)
if log is not None:
    if log.empty:
        st.info(f"No action recorded in the last {days} day(s).")
    else:
        actions = sorted(set(log["action"]))
        chosen = st.multiselect("Actions", actions, default=actions, key="audit_actions")
        shown = log[log["action"].isin(chosen)]
        st.caption(
            f"{len(shown):,} entries" + (f" (the newest {LIMIT})" if len(log) >= LIMIT else "")
        )
        # Every column is text the console wrote or ids; shown as plain cells, no links.
        st.dataframe(shown, hide_index=True, width="stretch")
