"""Cost: the pipeline's monthly cost per service, per 1,000 jobs, and what-ifs."""

from __future__ import annotations

from dataclasses import replace

import plotly.express as px
import streamlit as st
from botocore.config import Config

from dashboard import loaders, ui
from dashboard.data import cost, throughput
from dashboard.data import workload as workload_model
from lambdas.common.contract import Metric, Output

tgt = ui.page(
    "Cost",
    "A plain-code model (dashboard/data/cost.py) over a dated price table, fed "
    "with measured per-job figures when there are any. Projections, not a bill.",
)
key, window = ui.key(), ui.window()
features = tgt.features
prices: cost.PriceTable = st.session_state.get("cost_prices", cost.PRICES)

# --- prices --------------------------------------------------------------------------------
p1, p2 = st.columns([3, 1])
refreshed = st.session_state.get("cost_prices_refreshed")
if refreshed:
    p1.success(f"Prices: {prices.source}.")
else:
    p1.info(
        f"Prices: the bundled table dated {prices.as_of} ({prices.region}). The AWS Price "
        "List API was not used."
    )
if tgt.is_local:
    p2.caption(
        "The Price List API is an AWS endpoint; the local cloud has none, so the "
        "bundled table is used."
    )
elif p2.button("Refresh Lambda prices from the AWS Price List API", key="cost_refresh_prices"):
    try:
        import boto3

        pricing = boto3.Session(profile_name=tgt.profile).client(
            "pricing",
            region_name="us-east-1",
            config=Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 1}),
        )
        table, names = cost.refresh_from_price_list(pricing, tgt.region)
        if names:
            st.session_state["cost_prices"] = table
            st.session_state["cost_prices_refreshed"] = names
            st.rerun()
        p2.warning(
            "The Price List API returned no Lambda prices for this region; the bundled table stays."
        )
    except Exception as exc:  # noqa: BLE001 - explained and logged; the bundled table stays
        ui.show_problem(ui.problem(exc, "the AWS Price List API"))

# --- measured figures ----------------------------------------------------------------------
loaded = ui.load(
    loaders.function_stats,
    key,
    window.total_seconds(),
    5000,
    tgt,
    what="reading Lambda metrics and REPORT lines",
)
job_series = ui.load(
    loaders.job_metrics, key, window.total_seconds(), tgt, what="reading the job metrics"
)
accepted = (
    throughput.totals(job_series).get(Metric.JOBS_ACCEPTED, 0) if job_series is not None else 0
)
summary = loaded[0].summary if loaded is not None else None
have_measurements = bool(accepted) and summary is not None and int(summary["reports"].sum()) > 0
reuse_data = ui.load(
    loaders.reuse_figures,
    key,
    window.total_seconds(),
    tgt,
    what="reading the verdict reuse metrics",
)
measured_reuse = reuse_data.reuse_share if reuse_data is not None else None
measured_skip = reuse_data.rekognition_skip_share if reuse_data is not None else None
reuse_on_stack = bool(tgt.outputs.get(Output.VERDICTS_TABLE))

# --- what-if controls ----------------------------------------------------------------------
st.subheader("Workload")
c = st.columns(4)
volumes = [
    1_000,
    10_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
]
jobs = c[0].select_slider(
    "Jobs per month", volumes, value=1_000_000, key="cost_jobs", format_func=lambda v: f"{v:,}"
)
arch_default = (
    "x86_64" if str(tgt.outputs.get(Output.ARCHITECTURE, "arm64")).startswith("x86") else "arm64"
)
arch = c[1].radio(
    "Architecture",
    cost.ARCHITECTURES,
    index=cost.ARCHITECTURES.index(arch_default),
    key="cost_arch",
    horizontal=True,
)
free_tier = c[2].checkbox("Apply the always-free tier", value=False, key="cost_free_tier")
use_measured = c[3].checkbox(
    "Use measured figures",
    value=have_measurements,
    disabled=not have_measurements,
    key="cost_measured",
    help=(
        f"Invocations per job, billed ms and memory from {int(accepted)} jobs accepted in the "
        f"last {ui.window_label()}"
        if have_measurements
        else "No jobs and REPORT lines in the window to measure from"
    ),
)

if accepted:
    monthly_rate = accepted * (30 * 86400) / window.total_seconds()
    st.caption(
        f"At the rate of the last {ui.window_label()} ({int(accepted):,} jobs accepted) "
        f"this stack would see about {monthly_rate:,.0f} jobs a month."
    )
cache_load = None
if features.get("caching"):
    with st.expander("Status cache (ElastiCache) what-if"):
        k1, k2, k3 = st.columns(3)
        nodes = ["serverless", *prices.elasticache_node_hour]
        node_type = k1.selectbox(
            "Node type",
            nodes,
            key="cost_cache_node",
            help="moderation:caching.nodeType (default serverless)",
        )
        engine = k2.radio("Engine", ["valkey", "redis"], key="cost_cache_engine", horizontal=True)
        data_gb = k3.number_input(
            "Data stored (GB)",
            0.0,
            100.0,
            0.1,
            step=0.1,
            key="cost_cache_gb",
            help="Serverless bills at least 0.1 GB (Valkey) / 1 GB (Redis)",
        )
    cache_load = cost.CacheLoad(node_type=node_type, engine=engine, data_gb=float(data_gb))
workload = workload_model.stack_workload(jobs, arch, tgt.outputs, features, cache_load)
if use_measured and have_measurements:
    # The measured invocations already reflect the window's reuse and skips: per analyzed job.
    workload = cost.measured(
        workload,
        summary,
        accepted,
        reuse_share=measured_reuse or 0.0,
        rekognition_skip_share=measured_skip or 0.0,
    )

with st.expander("Memory what-if per function"):
    scale = st.checkbox(
        "Assume CPU-bound code (duration scales inversely with memory up to 1,769 MB)",
        value=False,
        key="cost_scale_duration",
    )
    sizes = [128, 256, 384, 512, 768, 1024, 1536, 1769, 2048, 3008, 4096, 6144, 8192, 10240]
    cols = st.columns(4)
    for i, f in enumerate(workload.functions):
        options = sorted({*sizes, int(f.memory_mb)})
        chosen = cols[i % 4].select_slider(
            f.name, options, value=int(f.memory_mb), key=f"cost_mem_{f.name}"
        )
        if chosen != int(f.memory_mb):
            workload = workload.with_memory(f.name, float(chosen), scale)

with st.expander("Provisioned concurrency what-if (custom analyzer)"):
    provisioned = st.number_input(
        "Environments kept initialised (models loaded) on the custom analyzer's live alias",
        0,
        100,
        0,
        key="cost_provisioned",
        help="moderation:customProvisionedConcurrency (default 0: off). Billed per GB-second "
        "all month; invocations they serve are billed at a lower duration rate.",
    )
    if provisioned:
        workload = workload.with_provisioned("custom_analyzer", int(provisioned))

# --- calling Rekognition less ---------------------------------------------------------------
st.subheader("Calling Rekognition less")
if reuse_data is not None and measured_reuse is not None and reuse_data.reused:
    st.caption(
        f"Measured over the last {ui.window_label()}: {int(reuse_data.reused):,} of "
        f"{int(reuse_data.jobs):,} jobs completed from a stored verdict "
        f"({measured_reuse:.1%}, `VerdictsReused` / (`JobsDispatched` + `VerdictsReused`))."
    )
elif reuse_data is not None and reuse_data.jobs:
    st.caption(
        f"No reuse measured yet: none of the {int(reuse_data.jobs):,} jobs dispatched in the "
        f"last {ui.window_label()} matched a stored verdict."
    )
else:
    st.caption(f"No reuse measured yet: no job was dispatched in the last {ui.window_label()}.")
if not reuse_on_stack:
    st.caption(
        "Verdict reuse is off on this stack (`moderation:verdictReuse.enabled`); the what-if "
        "shows what it would save."
    )
r1, r2 = st.columns(2)
whatif_reuse = (
    r1.slider(
        "Repeat share (what-if): jobs whose image was decided before",
        0,
        100,
        round(100 * (measured_reuse or 0.0)),
        format="%d%%",
        key="cost_reuse_share",
        help="Byte-identical uploads under the same rules and model versions: they run no "
        "analyzer and call Rekognition not at all.",
    )
    / 100
)
whatif_skip = (
    r2.slider(
        "Custom-first (what-if): analyzed jobs rejected before Rekognition",
        0,
        100,
        round(100 * (measured_skip or 0.0)),
        format="%d%%",
        key="cost_skip_share",
        help="moderation:analysisOrder = custom-first: Rekognition is called only when the "
        "custom and text results are not already a reject (blocklist, blocked terms).",
    )
    / 100
)
st.markdown("**Animated uploads** (docs/cost.md#animations)")
a1, a2 = st.columns(2)
whatif_animated = (
    a1.slider(
        "Animated share (what-if): analyzed jobs that are GIF, APNG or animated WebP",
        0,
        100,
        0,
        format="%d%%",
        key="cost_animated_share",
        help="moderation:animation.policy = analyze: each sampled frame is one billed "
        "Rekognition call and one more run of the custom and text models.",
    )
    / 100
)
whatif_frames = a2.slider(
    "Frames per animated job (what-if)",
    1,
    30,
    8,
    key="cost_frames_per_animated_job",
    help="moderation:animation.maxFrames (8 by default); a shorter clip sends all its frames. "
    "first-frame-only: 1.",
)
workload = workload_model.with_animations(workload, whatif_animated, whatif_frames)
if whatif_animated:
    st.caption(
        f"Rekognition calls per analyzed job: {workload.frames_per_job:.2f} "
        f"({whatif_animated:.0%} x {whatif_frames} frames + the rest x 1)."
    )
no_reuse = cost.estimate(replace(workload, verdict_reuse=False), prices, free_tier)
at_measured = (
    cost.estimate(
        replace(workload, verdict_reuse=True, reuse_share=measured_reuse), prices, free_tier
    )
    if measured_reuse
    else None
)
workload = workload_model.with_reuse(workload, reuse_on_stack, whatif_reuse, whatif_skip)
estimate = cost.estimate(workload, prices, free_tier)
baseline = cost.estimate(replace(workload, architecture=arch_default), prices, free_tier)


def per_job(est: cost.Estimate) -> str:
    jobs_priced = est.workload.jobs_per_month
    return f"${est.total / jobs_priced:.5f}" if jobs_priced else "–"


def versus(est: cost.Estimate) -> str | None:
    if not no_reuse.total:
        return None
    return f"{100 * (est.total / no_reuse.total - 1):+.1f}% vs no reuse"


m = st.columns(3)
m[0].metric("Per job without reuse", per_job(no_reuse))
if at_measured is not None:
    m[1].metric(
        f"Per job at the measured repeat share ({measured_reuse:.1%})",
        per_job(at_measured),
        delta=versus(at_measured),
        delta_color="inverse",
    )
else:
    m[1].metric("Per job at the measured repeat share", "no reuse measured yet")
m[2].metric(
    f"Per job at the what-if ({whatif_reuse:.0%} repeats, {whatif_skip:.0%} skipped)",
    per_job(estimate),
    delta=versus(estimate),
    delta_color="inverse",
)
st.caption(
    "A reused job runs no analyzer and no Rekognition call and writes its job twice; with "
    "reuse on every job pays one verdict lookup (a BatchGetItem) and every analyzed job one "
    "verdict write. The projection below uses the what-if. docs/cost.md#calling-rekognition-less"
)

# --- results -------------------------------------------------------------------------------
st.subheader(f"Projection at {jobs:,.0f} jobs per month")
k = st.columns(4)
k[0].metric(
    "Monthly",
    ui.fmt_usd(estimate.total),
    delta=None
    if arch == arch_default
    else f"{ui.fmt_usd(estimate.total - baseline.total)} vs {arch_default}",
    delta_color="inverse",
)
k[1].metric("Per 1,000 jobs", ui.fmt_usd(estimate.per_1000_jobs))
k[2].metric(
    "Variable per 1,000 jobs",
    ui.fmt_usd(estimate.variable_per_1000_jobs),
    help="Without the fixed monthly items (alarms, key, idle polling, schedules)",
)
k[3].metric("Fixed per month", ui.fmt_usd(estimate.fixed))

frame = estimate.frame()
by_service = frame.groupby("service", as_index=False).agg(
    monthly=("monthly", "sum"), per_1000_jobs=("per_1000_jobs", "sum")
)
by_service = by_service.sort_values("monthly", ascending=False, ignore_index=True)
by_service["share"] = by_service["monthly"] / estimate.total if estimate.total else 0.0
c1, c2 = st.columns([3, 2])
shown = by_service[by_service["monthly"] > 0]
chart = px.bar(
    shown,
    x="monthly",
    y="service",
    orientation="h",
    log_x=True,
    text=shown["monthly"].map(ui.fmt_usd),
    title="Monthly cost by service (USD, log scale)",
    labels={"monthly": "USD"},
)
chart.update_yaxes(autorange="reversed")
c1.plotly_chart(chart, key="by_service")
c2.dataframe(
    by_service,
    hide_index=True,
    column_config={
        "monthly": st.column_config.NumberColumn("USD / month", format="$%.2f"),
        "per_1000_jobs": st.column_config.NumberColumn("USD / 1,000 jobs", format="$%.4f"),
        "share": st.column_config.ProgressColumn(
            "share", format="percent", min_value=0, max_value=1
        ),
    },
)
st.markdown("**Every line**")
st.dataframe(
    frame[
        ["service", "item", "quantity", "unit", "unit_price", "monthly", "per_1000_jobs", "note"]
    ],
    hide_index=True,
    column_config={
        "quantity": st.column_config.NumberColumn(format="%.4g"),
        "unit_price": st.column_config.NumberColumn("unit price", format="%.4g"),
        "monthly": st.column_config.NumberColumn("USD / month", format="$%.4f"),
        "per_1000_jobs": st.column_config.NumberColumn("USD / 1,000 jobs", format="$%.5f"),
    },
)
if workload.notes:
    st.caption(" · ".join(workload.notes))
if features.get("caching"):
    st.caption(
        "Caching is enabled: the ElastiCache lines are included and status reads are "
        "counted there instead of DynamoDB."
    )
st.caption(
    "Not modelled: data transfer out of API Gateway, Cognito monthly active users, "
    "NAT or VPC endpoints, and support plans."
)

# --- the reference design's worked example -------------------------------------------------------------
with st.expander("Check: the reference design's worked example"):
    example = cost.lambda_cost(1_000_000, 512, 200, "x86_64", free_tier=False, prices=prices)
    st.markdown(
        f"1,000,000 requests x 512 MB x 200 ms on x86_64, no free tier: requests "
        f"**{ui.fmt_usd(example['requests'])}** + duration "
        f"({example['gb_seconds']:,.0f} GB-s at ${prices.lambda_gb_second['x86_64']}/GB-s) "
        f"**{ui.fmt_usd(example['duration'])}** = **{ui.fmt_usd(example['total'])}**"
    )
    free = cost.lambda_cost(1_000_000, 512, 200, "x86_64", free_tier=True, prices=prices)
    st.markdown(
        f"With the free tier (1M requests and 400,000 GB-s a month): "
        f"**{ui.fmt_usd(free['total'])}**."
    )

with st.expander("Price table"):
    st.caption(f"{prices.source}; as of {prices.as_of}")
    st.json(prices.as_dict())
