"""Lambdas: invocations, errors, throttles, durations, cold starts, memory and sizing hints."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from dashboard import loaders, ui

tgt = ui.page(
    "Lambdas",
    "Counts from CloudWatch (AWS/Lambda); durations, cold starts, billed time "
    "and memory from the REPORT line of each invocation.",
)
key, window = ui.key(), ui.window()
report_limit = int(
    st.sidebar.number_input(
        "REPORT lines per function",
        100,
        50_000,
        5000,
        step=1000,
        key="lambda_report_limit",
        help="The most recent lines of the window are read; percentiles are over these.",
    )
)

loaded = ui.load(
    loaders.function_stats,
    key,
    window.total_seconds(),
    report_limit,
    tgt,
    what="reading Lambda metrics and REPORT lines",
)
if loaded is None:
    st.stop()
stats, missing_config = loaded
ui.updated("reading Lambda metrics and REPORT lines")
summary = stats.summary
if missing_config:
    st.caption(
        f"Timeouts unknown for {', '.join(missing_config)} "
        "(lambda:GetFunctionConfiguration was refused or failed)."
    )
sampled = [f for f, more in stats.truncated.items() if more]
if sampled:
    st.caption(
        f"More than {report_limit:,} REPORT lines in the window for "
        f"{', '.join(sampled)}: their figures cover the most recent {report_limit:,}."
    )

if summary["invocations"].sum() == 0 and summary["reports"].sum() == 0:
    st.info("No invocation in the window yet. " + ui.empty_jobs_hint(tgt))

totals = st.columns(4)
totals[0].metric("Invocations", f"{int(summary['invocations'].sum()):,}")
totals[1].metric("Errors", f"{int(summary['errors'].sum()):,}")
totals[2].metric("Throttles", f"{int(summary['throttles'].sum()):,}")
totals[3].metric(
    "Cold starts",
    f"{int(summary['cold_starts'].sum()):,}",
    help="REPORT lines carrying an Init Duration",
)

ms = {
    name: st.column_config.NumberColumn(label, format="%.0f")
    for name, label in (
        ("p50_ms", "p50 ms"),
        ("p95_ms", "p95 ms"),
        ("p99_ms", "p99 ms"),
        ("max_ms", "max ms"),
        ("avg_billed_ms", "avg billed ms"),
        ("init_p50_ms", "init p50 ms"),
        ("init_max_ms", "init max ms"),
    )
}
st.subheader("Traffic, errors, cold starts")
st.dataframe(
    summary[
        [
            "function",
            "invocations",
            "errors",
            "error_rate",
            "throttles",
            "concurrency_max",
            "cold_starts",
            "init_p50_ms",
            "init_max_ms",
        ]
    ],
    hide_index=True,
    column_config={
        **ms,
        "error_rate": st.column_config.NumberColumn("error rate", format="percent"),
        "concurrency_max": st.column_config.NumberColumn("max concurrency"),
        "cold_starts": st.column_config.NumberColumn("cold starts"),
    },
)
st.subheader("Duration and memory")
st.dataframe(
    summary[
        [
            "function",
            "reports",
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "max_ms",
            "avg_billed_ms",
            "timeout_s",
            "memory_mb",
            "max_memory_used_mb",
            "memory_used_pct",
        ]
    ],
    hide_index=True,
    column_config={
        **ms,
        "reports": st.column_config.NumberColumn("REPORT lines"),
        "timeout_s": st.column_config.NumberColumn("timeout s"),
        "memory_mb": st.column_config.NumberColumn("memory MB"),
        "max_memory_used_mb": st.column_config.NumberColumn("max used MB"),
        "memory_used_pct": st.column_config.ProgressColumn(
            "memory used", format="%.0f%%", min_value=0, max_value=100
        ),
    },
)
st.subheader("Models")
st.caption(
    "A model function's Init Duration (above) is mostly its model load: the models load "
    "once per execution environment. Inference per image is the ModelInferenceMs metric "
    "the functions write (namespace Moderation, dimensions service and model)."
)
inference = ui.load(
    loaders.model_inference, key, window.total_seconds(), tgt, what="reading model metrics"
)
if inference is not None:
    st.dataframe(
        inference,
        hide_index=True,
        column_config={
            "avg_ms": st.column_config.NumberColumn("avg ms per image", format="%.1f"),
            "max_ms": st.column_config.NumberColumn("max ms", format="%.1f"),
            "loads": st.column_config.NumberColumn("model loads (cold starts)"),
            "avg_load_ms": st.column_config.NumberColumn("avg load ms", format="%.0f"),
        },
    )
st.subheader("Right-sizing")
for _, row in summary.iterrows():
    st.markdown(
        f"- **{row['function']}** ({row['memory_mb']:.0f} MB): {row['hint']}"
        if row["memory_mb"] == row["memory_mb"] and row["memory_mb"] is not None
        else f"- **{row['function']}**: {row['hint']}"
    )
st.caption(
    "Lambda allocates CPU in proportion to memory (one vCPU at 1,769 MB): after a "
    "change, compare billed duration, and price it on the Cost page's memory what-if."
)

c1, c2 = st.columns(2)
durations = summary.dropna(subset=["p50_ms"])
if not durations.empty:
    long = durations.melt(
        id_vars="function",
        value_vars=["p50_ms", "p95_ms", "p99_ms", "max_ms"],
        var_name="statistic",
        value_name="ms",
    )
    c1.plotly_chart(
        px.bar(
            long,
            x="function",
            y="ms",
            color="statistic",
            barmode="group",
            title="Duration percentiles (REPORT lines)",
        ),
        key="durations",
    )
    memory = go.Figure()
    memory.add_bar(
        x=durations["function"],
        y=durations["memory_mb"],
        name="configured MB",
        marker_color="#b0bec5",
    )
    memory.add_bar(
        x=durations["function"],
        y=durations["max_memory_used_mb"],
        name="max used MB",
        marker_color="#1565c0",
    )
    memory.update_layout(barmode="overlay", title="Memory: configured vs max used")
    c2.plotly_chart(memory, key="memory")

series = stats.series
if not series.empty:
    st.subheader("Over time")
    c1, c2 = st.columns(2)
    counts = series[series["metric"].isin(["Invocations", "Errors", "Throttles"])]
    span = [series["timestamp"].max() - window, series["timestamp"].max()]
    c1.plotly_chart(
        px.line(
            counts,
            x="timestamp",
            y="value",
            color="key",
            line_dash="metric",
            markers=True,
            range_x=span,
            title="Invocations, errors, throttles per period",
            labels={"key": "function", "value": "count"},
        ),
        key="counts",
    )
    duration = series[(series["metric"] == "Duration") & (series["stat"] == "Maximum")]
    c2.plotly_chart(
        px.line(
            duration,
            x="timestamp",
            y="value",
            color="key",
            markers=True,
            range_x=span,
            title="Maximum duration per period (ms)",
            labels={"key": "function", "value": "ms"},
        ),
        key="duration_series",
    )

reports = stats.reports
cold = reports[reports["cold_start"].astype(bool)] if not reports.empty else reports
if not reports.empty:
    st.subheader("Cold starts and durations")
    c1, c2 = st.columns(2)
    if not cold.empty:
        c1.plotly_chart(
            px.strip(
                cold,
                x="function",
                y="init_ms",
                title=f"Init Duration of {len(cold)} cold starts",
                labels={"init_ms": "Init Duration (ms)"},
            ),
            key="cold",
        )
    else:
        c1.info("No cold start in the window.")
    chosen = c2.selectbox(
        "Duration distribution of", sorted(reports["function"].unique()), key="lambda_hist_fn"
    )
    part = reports[reports["function"] == chosen]
    c2.plotly_chart(
        px.histogram(
            part,
            x="duration_ms",
            color="cold_start",
            nbins=40,
            title=f"{chosen}: {len(part)} invocations",
            labels={"duration_ms": "duration (ms)"},
        ),
        key="hist",
    )
