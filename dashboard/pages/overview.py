"""Overview: jobs, throughput, latency, alarms, stage health, stuck jobs."""

from __future__ import annotations

from datetime import UTC, datetime

import plotly.express as px
import streamlit as st

from dashboard import loaders, ui
from dashboard.data import alarms as alarm_data
from dashboard.data import functions as fn_data
from dashboard.data import jobs as job_data
from dashboard.data import metrics, status_cache, throughput
from lambdas.common.contract import JobAttr, Metric, Output

tgt = ui.page(
    "Overview",
    "Jobs, throughput and latency over the window; what is alarming; the health of each stage.",
)
key, window = ui.key(), ui.window()

deadline, deadline_source = tgt.job_deadline_seconds()
with st.expander(f"Stuck means pending/analyzing for longer than {deadline} s ({deadline_source})"):
    deadline = int(
        st.number_input(
            "Job deadline (seconds)", min_value=10, value=deadline, step=60, key="overview_deadline"
        )
    )
    limit = int(
        st.number_input(
            "Jobs read per status",
            min_value=100,
            max_value=50_000,
            value=1000,
            step=500,
            key="overview_limit",
            help="Each status is one Query on the status GSI. Terminal jobs are read newest first "
            "inside the window, active jobs oldest first (so stuck ones are never cut off).",
        )
    )

overview = ui.load(
    loaders.jobs_overview,
    key,
    window.total_seconds(),
    deadline,
    limit,
    tgt,
    what="reading jobs from the status index",
)
job_series = ui.load(
    loaders.job_metrics, key, window.total_seconds(), tgt, what="reading the job metrics"
)
lambda_series = ui.load(
    loaders.lambda_series, key, window.total_seconds(), tgt, what="reading the Lambda metrics"
)
queue_table = ui.load(loaders.queue_snapshot, key, tgt, what="reading the queues")
alarm_table = ui.load(loaders.alarm_states, key, tgt, what="reading the alarms")
ui.updated("reading jobs from the status index")

# --- headline figures ----------------------------------------------------------------------
in_alarm = alarm_table[alarm_table["state"] == "ALARM"] if alarm_table is not None else None
row1, row2 = st.columns(4), st.columns(4)
if overview is not None:
    counts = overview.counts().set_index("status")
    latency = overview.latency()

    def count(status: str) -> str:
        n = int(counts.loc[status, "jobs"])
        return f"≥{n:,}" if counts.loc[status, "at_least"] else f"{n:,}"

    row1[0].metric("Complete", count("complete"), help="Created in the window")
    row1[1].metric("Failed", count("failed"), help="Created in the window")
    row1[2].metric(
        "In progress", f"{len(overview.active):,}", help="pending + analyzing, whenever created"
    )
    row1[3].metric(
        "Stuck", f"{len(overview.stuck):,}", help=f"pending/analyzing for more than {deadline} s"
    )
    for col, name in zip(row2, ("p50", "p95", "p99"), strict=False):
        col.metric(
            f"End-to-end {name}",
            ui.fmt_seconds(latency.get(name)),
            help="completed_at - created_at of the complete jobs created in the window",
        )
row3 = st.columns(4)
if job_series is not None:
    rate = throughput.finish_rate(job_series, datetime.now(UTC), metrics.choose_period(window))
    row2[3].metric(
        "Throughput",
        f"{rate.recent_per_min:.2f}/min",
        help=f"Jobs finished per minute over the last {rate.recent_minutes:.0f} min: "
        "JobsComplete + JobsFailed (EMF metrics of the notifier)",
    )
    row3[0].metric(
        "Throughput peak",
        f"{rate.peak_per_min:.2f}/min",
        help=f"The busiest {rate.period_seconds // 60}-minute period of the window"
        + (f", at {rate.peak_at:%H:%M} UTC" if rate.peak_at else ""),
    )
if Output.REVIEW_INDEX in tgt.outputs:
    review_stats = ui.load(loaders.review_stats, key, tgt, what="measuring the review queue")
    if review_stats is not None:
        backlog = review_stats.backlog
        row3[1].metric(
            "Awaiting review",
            f"≥{backlog:,}" if review_stats.at_least else f"{backlog:,}",
            help="Jobs waiting for a moderator (the Review page)",
        )
        row3[2].metric(
            "Oldest review waiting",
            ui.fmt_seconds(review_stats.oldest_age_seconds),
            help="The review-oldest-age alarm fires past moderation:review.maxAgeMinutes",
        )

# --- alarms and stage health ---------------------------------------------------------------
left, right = st.columns([1, 1])
with left:
    st.subheader("Alarms")
    if alarm_table is None:
        pass
    elif alarm_table.empty:
        st.info("The stack declares no alarms, or none could be found.")
    elif in_alarm is not None and in_alarm.empty:
        st.success(f"None of the {len(alarm_table)} alarms is in ALARM.")
    else:
        st.error(f"{len(in_alarm)} of {len(alarm_table)} alarms in ALARM")
        st.dataframe(in_alarm[["alarm", "reason", "since", "description"]], hide_index=True)
    if alarm_table is not None and not alarm_table.empty:
        with st.expander("Every alarm"):
            st.dataframe(
                alarm_table[["alarm", "state", "metric", "threshold", "since"]], hide_index=True
            )
with right:
    st.subheader("Stage health")
    if lambda_series is not None and queue_table is not None:
        totals = fn_data.metric_totals(lambda_series, tgt.outputs.get(Output.FUNCTIONS) or {})
        stuck = len(overview.stuck) if overview is not None else 0
        health = alarm_data.stage_health(totals, queue_table, stuck)
        st.dataframe(
            health.style.map(ui.health_style, subset=["status"]),
            hide_index=True,
            height=36 * (len(health) + 1) + 2,
        )

# --- jobs over time ------------------------------------------------------------------------
st.subheader("Jobs over time")
if overview is not None:
    in_window = overview.in_window
    truncated = [s for s, more in overview.truncated.items() if more]
    if truncated:
        st.caption(
            f"Read limit reached for {', '.join(truncated)}: the charts cover the "
            f"{limit:,} most recent jobs of each; the throughput chart (CloudWatch) is "
            "exact."
        )
    if in_window.empty:
        st.info(ui.empty_jobs_hint(tgt))
    else:
        freq = job_data.bucket_for(window)
        span = [overview.window_start, overview.now]
        c1, c2 = st.columns(2)
        by_status = job_data.over_time(in_window, "status", freq)
        c1.plotly_chart(
            px.bar(
                by_status,
                x="time",
                y="jobs",
                color="status",
                color_discrete_map=ui.STATUS_COLORS,
                range_x=span,
                title=f"Jobs created per {freq}, by status",
            ),
            key="by_status",
        )
        by_decision = job_data.over_time(in_window, "decision", freq)
        if by_decision.empty:
            c2.info("No complete job in the window yet, so no decisions.")
        else:
            c2.plotly_chart(
                px.bar(
                    by_decision,
                    x="time",
                    y="jobs",
                    color="decision",
                    color_discrete_map=ui.STATUS_COLORS,
                    range_x=span,
                    title=f"Decisions per {freq} (complete jobs)",
                ),
                key="by_decision",
            )

c1, c2 = st.columns(2)
if job_series is not None:
    if job_series.empty:
        c1.info("No job metrics (namespace Moderation) in the window yet.")
    else:
        shown = job_series[
            job_series["key"].isin([Metric.JOBS_ACCEPTED, Metric.JOBS_COMPLETE, Metric.JOBS_FAILED])
        ]
        now = shown["timestamp"].max()
        c1.plotly_chart(
            px.line(
                shown,
                x="timestamp",
                y="value",
                color="key",
                markers=True,
                range_x=[now - window, now],
                title="Throughput: jobs per period (CloudWatch EMF)",
                labels={"value": "jobs", "key": "metric"},
            ),
            key="throughput",
        )
if overview is not None:
    done = overview.in_window[overview.in_window[JobAttr.STATUS] == "complete"]
    if not done.empty:
        latency = overview.latency()
        fig = px.histogram(
            done,
            x="latency_s",
            nbins=40,
            title=f"End-to-end latency of {latency['n']:,} complete jobs",
            labels={"latency_s": "seconds from created to completed"},
        )
        for name in ("p50", "p95", "p99"):
            fig.add_vline(x=latency[name], line_dash="dash", annotation_text=name)
        c2.plotly_chart(fig, key="latency")
        c2.caption(
            " · ".join(f"{k} {ui.fmt_seconds(latency[k])}" for k in ("p50", "p95", "p99", "max"))
        )

# --- stuck jobs ----------------------------------------------------------------------------
st.subheader("Stuck jobs")
if overview is not None:
    stuck = overview.stuck
    if stuck.empty:
        st.success(f"No job has been pending or analyzing for more than {deadline} s.")
    else:
        st.warning(
            f"{len(stuck)} job(s) pending/analyzing past the {deadline} s deadline. "
            "The sweeper fails them on its next run; if the count stays, check the "
            "sweeper's errors on the Lambdas page."
        )
        st.dataframe(stuck[["job_id", "status", "created_at", "age_s", "user_id"]], hide_index=True)

# --- upload quotas ----------------------------------------------------------------------------
if Output.USAGE_TABLE in tgt.outputs:
    st.subheader("Upload quotas")
    heavy = ui.load(loaders.near_quota, key, 20, tgt, what="reading the upload quotas")
    if heavy is not None:
        near = heavy[heavy["near"]]
        if heavy.empty:
            st.info("No uploads yet today (UTC).")
        elif near.empty:
            st.success("No user is near their daily upload quota.")
        else:
            st.warning(
                f"{len(near)} user(s) have used 80% or more of their daily upload quota; "
                "at 100% their uploads are refused (429) until midnight UTC."
            )
        if not heavy.empty:
            st.caption("Today's heaviest uploaders (moderation:quota.uploadsPerDay).")
            st.dataframe(heavy, hide_index=True)

# --- status cache --------------------------------------------------------------------------
if tgt.features.get("caching"):
    st.subheader("Status cache")
    figures = ui.load(
        loaders.cache_figures,
        key,
        window.total_seconds(),
        tgt,
        what="reading the status cache metrics",
    )
    if figures is not None:
        c = st.columns(4)
        ratio = figures.hit_ratio
        c[0].metric("Hit ratio", f"{ratio:.1%}" if ratio is not None else "–")
        c[1].metric(
            "DynamoDB reads saved",
            f"{figures.reads_saved:,}",
            help="Every hit (local LRU or ElastiCache) is a GetItem not made",
        )
        c[2].metric("Hits local / remote", f"{figures.hit_local:,} / {figures.hit_remote:,}")
        c[3].metric("Misses / errors", f"{figures.miss:,} / {figures.error:,}")
        ratio_series = status_cache.hit_ratio_over_time(figures.series)
        if not ratio_series.empty:
            st.plotly_chart(
                px.line(
                    ratio_series,
                    x="timestamp",
                    y="hit_ratio",
                    title="Hit ratio per period",
                    range_y=[0, 1],
                ),
                key="cache_ratio",
            )
        elif figures.lookups == 0:
            st.info(
                "No status lookups in the window yet (metrics CacheHitLocal, CacheHitRemote, "
                "CacheMiss, CacheError in namespace Moderation, service=status)."
            )
