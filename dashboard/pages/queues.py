"""Queues: depth now (SQS) and over time (CloudWatch AWS/SQS) for each of the stack's queues."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboard import loaders, ui
from dashboard.data.queues import ROLE_LABELS

tgt = ui.page(
    "Queues",
    "Visible (waiting), in flight (received, not yet deleted), delayed, and "
    "the age of the oldest message, for the processing queue, its dead-letter "
    "queue and the analyzers' failure queue.",
)
key, window = ui.key(), ui.window()

snapshot = ui.load(loaders.queue_snapshot, key, tgt, what="reading the queues")
history = ui.load(
    loaders.queue_history, key, window.total_seconds(), tgt, what="reading the queue metrics"
)
ui.updated("reading the queues")

if snapshot is not None:
    if snapshot.empty:
        st.info("The stack's outputs name no queues.")
    for _, q in snapshot.iterrows():
        st.markdown(f"#### {ROLE_LABELS.get(q['role'], q['role'])} · `{q['queue']}`")
        c = st.columns(5)
        c[0].metric("Visible", f"{q['visible']:,}")
        c[1].metric(
            "In flight",
            f"{q['in_flight']:,}",
            help="Received by a consumer (or a browsing operator) and not yet deleted",
        )
        c[2].metric("Delayed", f"{q['delayed']:,}")
        age = q["oldest_age_s"]
        c[3].metric(
            "Oldest message",
            ui.fmt_seconds(age) if age == age and age is not None else "–",
            help="CloudWatch ApproximateAgeOfOldestMessage, latest datapoint "
            "of the last 15 minutes",
        )
        details = (
            f"visibility {q['visibility_timeout_s']} s · retention {q['retention_s'] / 86400:.0f} d"
        )
        if q["max_receive_count"]:
            details += f" · to `{q['dead_letter_target']}` after {q['max_receive_count']} receives"
        c[4].caption(details)
        if q["role"] == "dlq" and q["visible"] + q["in_flight"]:
            st.warning(
                f"{q['visible'] + q['in_flight']} message(s) in the DLQ: inspect and "
                "redrive them on the Dead letters page."
            )
        if q["role"] == "failure" and q["visible"] + q["in_flight"]:
            st.info(
                "Failure records wait for the sweeper, which fails their jobs within a "
                "minute; records it cannot read stay here for an operator."
            )

st.subheader("History")
if history is not None:
    if history.empty:
        st.info(
            "No AWS/SQS datapoints in the window yet (CloudWatch publishes them every "
            "minute; the local cloud samples every few seconds)."
        )
    else:
        history["queue"] = history["role"].map(ROLE_LABELS)
        depth = history[history["metric"] != "ApproximateAgeOfOldestMessage"]
        age = history[history["metric"] == "ApproximateAgeOfOldestMessage"]
        for role, label in ROLE_LABELS.items():
            part = depth[depth["role"] == role]
            if part.empty:
                continue
            c1, c2 = st.columns(2)
            c1.plotly_chart(
                px.line(
                    part,
                    x="timestamp",
                    y="value",
                    color="label",
                    markers=True,
                    title=f"{label}: messages (max per period)",
                    labels={"value": "messages", "label": ""},
                ),
                key=f"depth_{role}",
            )
            part_age = age[age["role"] == role]
            if not part_age.empty:
                c2.plotly_chart(
                    px.line(
                        part_age,
                        x="timestamp",
                        y="value",
                        markers=True,
                        title=f"{label}: age of oldest message",
                        labels={"value": "seconds"},
                    ),
                    key=f"age_{role}",
                )
