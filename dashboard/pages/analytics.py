"""Analytics: the latest daily Spark report from the results bucket."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboard import loaders, ui
from dashboard.data.analytics import AnalyticsUnavailable
from lambdas.common.contract import Output

tgt = ui.page(
    "Analytics",
    "The daily report of the Spark job (EMR Serverless) over the exported "
    "jobs: reports/dt=YYYY-MM-DD/summary.json in the results bucket.",
)
key = ui.key()

if not tgt.outputs.get(Output.RESULTS_BUCKET):
    enabled = tgt.features.get("analytics")
    st.info(
        (
            "Analytics is enabled in the stack's features but the outputs have no "
            "`results_bucket`: re-export the outputs after `pulumi up`."
        )
        if enabled
        else (
            "Analytics is disabled for this stack, so there is no report to show. Enable it with "
            "`pulumi config set moderation:analyticsEnabled true` and `pulumi up`; the Spark job "
            "then writes one report a day."
        ),
        icon=":material/toggle_off:",
    )
    st.stop()

day = st.session_state.get("analytics_day")
try:
    report, at = loaders.analytics_report(key, day, tgt)
except AnalyticsUnavailable as exc:
    st.info(
        str(exc),
        icon=":material/hourglass_empty:" if exc.kind == "no_report" else ":material/warning:",
    )
    st.stop()
except Exception as exc:  # noqa: BLE001 - explained on the page; logged
    ui.show_problem(ui.problem(exc, "reading the analytics report"))
    st.stop()

st.caption(
    f"s3://{tgt.outputs['results_bucket']}/{report.key} · generated "
    f"{report.generated_at or '?'} · read {at:%H:%M:%S} UTC"
)
if len(report.days_available) > 1:
    st.selectbox("Report of", list(reversed(report.days_available)), key="analytics_day")
for problem in report.problems:
    st.warning(f"The report does not match the expected schema: {problem}.")

raw = report.raw
c = st.columns(4)
c[0].metric("Jobs in the report", f"{int(raw.get('rows') or 0):,}")
c[1].metric("Period", f"{raw.get('start_date', '?')} → {raw.get('end_date', '?')}")
e2e = (raw.get("latency_seconds") or {}).get("end_to_end") or {}
c[2].metric(
    "End-to-end p50 / p95", f"{ui.fmt_seconds(e2e.get('p50'))} / {ui.fmt_seconds(e2e.get('p95'))}"
)
c[3].metric("End-to-end p99", ui.fmt_seconds(e2e.get("p99")))

daily = report.tables["daily"]
if not daily.empty and {"date", "jobs"} <= set(daily.columns):
    c1, c2 = st.columns(2)
    c1.plotly_chart(
        px.bar(
            daily,
            x="date",
            y="jobs",
            color="status",
            color_discrete_map=ui.STATUS_COLORS,
            title="Jobs per day by status",
        ),
        key="daily_status",
    )
    c2.plotly_chart(
        px.bar(
            daily.dropna(subset=["decision"]),
            x="date",
            y="jobs",
            color="decision",
            color_discrete_map=ui.STATUS_COLORS,
            title="Jobs per day by decision",
        ),
        key="daily_decision",
    )
else:
    st.info("The report has no daily rows.")

c1, c2 = st.columns(2)
labels = report.tables["top_labels"]
if not labels.empty:
    c1.plotly_chart(
        px.bar(
            labels.head(20),
            x="count",
            y="label",
            orientation="h",
            hover_data=["mean_confidence", "p50_confidence", "p90_confidence"],
            title="Top moderation labels",
        ),
        key="labels",
    )
else:
    c1.info("No moderation labels in the period.")
reasons = report.tables["failure_reasons"]
if not reasons.empty:
    c2.plotly_chart(
        px.bar(reasons, x="count", y="reason", orientation="h", title="Failure reasons"),
        key="reasons",
    )
else:
    c2.success("No failed job in the period.")

st.subheader("Latency by stage (seconds)")
st.dataframe(report.latency, hide_index=True)
st.subheader("Users")
users = report.tables["users"]
if users.empty:
    st.info("No per-user rows in the report.")
else:
    st.dataframe(
        users.sort_values("jobs", ascending=False),
        hide_index=True,
        column_config={
            "reject_rate": st.column_config.NumberColumn(format="percent"),
            "review_rate": st.column_config.NumberColumn(format="percent"),
        },
    )
