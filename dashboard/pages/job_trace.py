"""Job trace: one job's record and a waterfall of every invocation and log line about it."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from dashboard import console, images, loaders, ui
from dashboard.data import analysis
from lambdas.common.contract import JobAttr, ReviewField

tgt = ui.page(
    "Job trace",
    "Search a job id, or pick a recent or failed job: its record, decision "
    "and reasons, and every function invocation and log line for it across "
    "the stack's log groups.",
)
key = ui.key()
_me = console.signed_in()
_who = _me.user if _me else ui.load(loaders.operator, key, tgt, what="finding out who you are")
trace_prefs = images.preferences(tgt, _who or "operator", _me is not None)

c1, c2 = st.columns([2, 3])
typed = c1.text_input("Job id", key="trace_job_id", placeholder="e.g. 3f2a…").strip()
picked = None
if typed:
    # The recent-jobs picker costs one status-index Query per status: only read it when
    # it is the way the job is being chosen.
    c2.caption("Tracing the id typed here; clear it to pick from the most recent jobs.")
else:
    recent = ui.load(
        loaders.recent_jobs,
        key,
        ("failed", "complete", "analyzing", "pending"),
        20,
        tgt,
        what="reading recent jobs",
    )
    if recent is not None and not recent.empty:

        def describe(r) -> str:
            decision = r[JobAttr.DECISION] if pd.notna(r[JobAttr.DECISION]) else ""
            created = (
                f"{r[JobAttr.CREATED_AT]:%H:%M:%S}" if pd.notna(r[JobAttr.CREATED_AT]) else "?"
            )
            return f"{r[JobAttr.STATUS]:<9} {decision:<8} {created} {r[JobAttr.JOB_ID]}"

        info = {r[JobAttr.JOB_ID]: describe(r) for _, r in recent.iterrows()}
        picked = (
            c2.selectbox(
                "…or a recent one (newest 20 of each status)",
                ["", *recent[JobAttr.JOB_ID].tolist()],
                format_func=lambda j: info.get(j, "—"),
                key="trace_pick",
            )
            or None
        )
    elif recent is not None:
        c2.info(ui.empty_jobs_hint(tgt))
job_id = typed or picked
if not job_id:
    st.stop()

trace = ui.load(loaders.job_trace, key, job_id, tgt, what="tracing the job")
if trace is None:
    st.stop()
ui.updated("tracing the job", with_window=False)
if not trace.found:
    st.warning(
        f"No job `{job_id}` in `{tgt.outputs['jobs_table']}` and no log line mentions it "
        f"in the last 24 hours. Check the id (jobs expire after their retention period)."
    )
    st.stop()

job = trace.job
st.subheader(f"Job `{job_id}`")
if job is None:
    st.warning(
        "The job is not in the jobs table (expired, or never created), but log lines "
        "mention it: they are shown below."
    )
else:
    c = st.columns(4)
    c[0].metric("Status", job.get(JobAttr.STATUS, "?"))
    c[1].metric("Decision", job.get(JobAttr.DECISION) or "–")
    created, completed = job.get(JobAttr.CREATED_AT), job.get(JobAttr.COMPLETED_AT)
    if created and completed:
        seconds = (pd.Timestamp(completed) - pd.Timestamp(created)).total_seconds()
        c[2].metric("End to end", ui.fmt_seconds(seconds))
    c[3].metric("Dispatch attempts", job.get(JobAttr.ATTEMPTS, 0))
    # Reasons and notes may quote what was read from the image: plain text, never Markdown.
    for reason in job.get(JobAttr.REASONS) or []:
        st.text(f"• {reason}")
    if job.get(JobAttr.REUSED_FROM):
        st.info(
            f"**Verdict reused** from job `{job[JobAttr.REUSED_FROM]}` (identical bytes, same rules "
            "and models): no analyzer ran for this job. Trace that job to see what the "
            "models saw.",
            icon=":material/recycling:",
        )
    verdict = job.get(JobAttr.REVIEW) or {}
    if verdict:
        st.info("**Reviewed**", icon=":material/gavel:")
        st.text(
            f"{verdict.get(ReviewField.DECISION)} by {verdict.get('reviewer')} at "
            f"{verdict.get('reviewed_at')} (via {verdict.get('via')}); the rules had decided "
            f"{job.get(JobAttr.AUTOMATIC_DECISION)}."
            + (f" Note: {verdict['note']}" if verdict.get("note") else "")
        )
    elif job.get(JobAttr.REVIEW_STATE) == "pending":
        st.info("Awaiting a moderator's verdict (the Review page).", icon=":material/gavel:")
    view = analysis.analysis_view(job)
    if not view.empty:
        st.subheader("What the models saw")
        left, right = st.columns([3, 2])
        with left:
            if job.get(JobAttr.IMAGE_KEY):
                try:
                    image = loaders.annotated_image(key, job[JobAttr.IMAGE_KEY], job, tgt)
                    images.show(
                        image,
                        f"trace:{job[JobAttr.IMAGE_KEY]}",
                        f"{len(view.faces)} face box(es) in blue, "
                        f"{len(view.ocr_lines)} OCR line(s) in red",
                        trace_prefs.shield_images,
                    )
                except Exception as exc:  # noqa: BLE001 - said on the page, never a trace
                    st.info(
                        f"The original could not be read from the upload bucket ({exc}). "
                        "Originals expire after `uploadExpiryDays`; reading needs "
                        "`s3:GetObject` on `uploads/*` (docs/dashboard.md)."
                    )
        with right:
            if not view.signals.empty:
                st.dataframe(
                    view.signals,
                    hide_index=True,
                    column_config={"score": st.column_config.NumberColumn(format="%.3f")},
                )
            for label in view.labels:
                st.text(
                    f"rekognition: {label.get('name')} ({float(label.get('confidence', 0)):.1f}%)"
                )
            if view.text:
                st.text_area(
                    "Text read (OCR)" + (", truncated" if view.text_truncated else ""),
                    view.text,
                    height=120,
                    disabled=True,
                )
            if view.models:
                st.caption(
                    "Models: " + ", ".join(f"{k} {v}" for k, v in sorted(view.models.items()))
                )
            if view.timings_ms:
                st.caption(
                    "Inference: "
                    + ", ".join(f"{k} {v:.0f} ms" for k, v in sorted(view.timings_ms.items()))
                )
    with st.expander("Record"):
        st.json(job)

invocations, lines = trace.invocations, trace.lines
st.subheader("Waterfall")
if invocations.empty:
    st.info(
        "No invocation found for this job in the log groups "
        f"({trace.window[0]:%Y-%m-%d %H:%M} – {trace.window[1]:%H:%M} UTC). Log lines reach "
        "CloudWatch a few seconds after they are written."
    )
else:
    bars = invocations.assign(
        start_kind=invocations["cold_start"].map({True: "cold start", False: "warm"})
    )
    fig = px.timeline(
        bars,
        x_start="start",
        x_end="end",
        y="function",
        color="start_kind",
        hover_data=[
            "request_id",
            "duration_ms",
            "billed_ms",
            "init_ms",
            "gap_before_ms",
            "other_jobs",
        ],
        color_discrete_map={"cold start": "#1565c0", "warm": "#90caf9"},
        labels={"start_kind": "invocation"},
    )
    fig.update_yaxes(autorange="reversed")
    marks = lines[lines["kind"].isin(["log", "text"]) & lines["about_job"].astype(bool)]
    if not marks.empty:
        fig.add_trace(
            go.Scatter(
                x=marks["time"],
                y=marks["function"],
                mode="markers",
                name="log line",
                marker={
                    "symbol": "line-ns-open",
                    "size": 14,
                    "color": [
                        "#c62828" if lv in ("ERROR", "CRITICAL") else "#263238"
                        for lv in marks["level"]
                    ],
                },
                text=marks["message"],
                hovertemplate="%{x}<br>%{text}<extra></extra>",
            )
        )
    for _, m in trace.milestones().iterrows():
        fig.add_vline(x=m["time"].timestamp() * 1000, line_dash="dot", line_color="#888")
        fig.add_annotation(
            x=m["time"],
            y=1.02,
            yref="paper",
            text=m["milestone"],
            showarrow=False,
            font={"size": 10},
        )
    fig.update_layout(
        height=120 + 40 * invocations["function"].nunique(),
        title="Invocations (bars) and log lines (ticks)",
    )
    st.plotly_chart(fig, key="waterfall")
    table = invocations.copy()
    table["start"] = table["start"].dt.strftime("%H:%M:%S.%f").str[:-3]
    table["end"] = table["end"].dt.strftime("%H:%M:%S.%f").str[:-3]
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "gap_before_ms": st.column_config.NumberColumn(
                "gap before (ms)",
                format="%.0f",
                help="Time since the previous invocation ended: queue wait, async hand-off",
            ),
            "other_jobs": st.column_config.NumberColumn("other jobs in the batch"),
        },
    )
    batched = invocations[invocations["other_jobs"] > 0]
    if not batched.empty:
        st.caption(
            "Some invocations handled a batch (SQS or stream records): their duration "
            "covers other jobs too."
        )

st.subheader("Log lines")
if lines.empty:
    st.info("No log line mentions this job.")
else:
    others = int((~lines["about_job"].astype(bool)).sum())
    if others:
        st.caption(
            f"{others} line(s) of the same invocations are about other jobs of a batch; "
            "they are listed with `about_job` false."
        )
    shown = lines[
        ["time", "function", "kind", "level", "message", "about_job", "request_id"]
    ].copy()
    shown["time"] = shown["time"].dt.strftime("%H:%M:%S.%f").str[:-3]
    st.dataframe(shown, hide_index=True)
    st.caption(
        f"Searched {len(trace.groups_searched)} log groups between "
        f"{trace.window[0]:%H:%M:%S} and {trace.window[1]:%H:%M:%S} UTC."
    )

# --- Notices and statements of reasons (DSA; docs/statements.md) -------------------------
if job.get("noticed") or tgt.outputs.get("statements_table"):
    from dashboard.data import notices as dsa_view

    st.subheader("Notices and statements of reasons")
    n1, n2 = st.columns(2)
    shown_notices = dsa_view.notices_of(job)
    n1.caption(f"{len(shown_notices)} notice(s) (Article 16)")
    if not shown_notices.empty:
        n1.dataframe(shown_notices, hide_index=True)
    if tgt.outputs.get("statements_table"):
        shown_statements = dsa_view.statements_of(
            tgt.client("dynamodb"), tgt.outputs["statements_table"], job_id
        )
        n2.caption(f"{len(shown_statements)} statement(s) of reasons")
        if not shown_statements.empty:
            n2.dataframe(shown_statements, hide_index=True)
