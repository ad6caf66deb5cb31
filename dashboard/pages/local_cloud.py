"""Local cloud: what the embedded local cloud emulates, stands in for, and does not emulate."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from dashboard import loaders, ui
from dashboard.data import local_info

tgt = ui.page(
    "Local cloud",
    "The same Pulumi program, run on this machine: moto for the AWS "
    "APIs, worker processes for the Lambda functions. Nothing is silently "
    "faked: what has no local twin is listed here.",
)
if not tgt.is_local:
    st.info("The dashboard is looking at a deployed stack, not the local cloud.")
    st.stop()

info = local_info.describe(tgt.local_state or {}, tgt.local_registry)
c = st.columns(3)
c[0].metric("AWS endpoint", info.endpoint)
c[1].metric("API", info.api_url)
if info.started_at:
    started = datetime.fromtimestamp(info.started_at, tz=UTC)
    c[2].metric("Running since", f"{started:%Y-%m-%d %H:%M} UTC")
st.caption(
    "boto3 and the AWS CLI reach it with AWS_ENDPOINT_URL set to the endpoint; "
    "`python -m local token` prints a bearer token for the API."
)

st.subheader("Not emulated")
if info.not_emulated.empty:
    st.success("Every declared resource has a local twin.")
else:
    st.warning(
        f"{len(info.not_emulated)} declared resource(s) have no local twin: they get "
        "placeholder outputs so the program completes, and do nothing."
    )
    st.dataframe(info.not_emulated, hide_index=True)
for item in info.behaviour:
    st.markdown(f"- {item}")
for item in info.unsupported_schedules:
    st.markdown(f"- schedule not run locally: `{item}`")

st.subheader("Stand-ins")
if not info.stand_ins:
    st.caption("None.")
for api, what in info.stand_ins.items():
    st.markdown(f"- **{api}** — {what}")

st.subheader("Recorded only")
st.caption("Accepted and recorded, with nothing to run locally.")
st.dataframe(info.recorded_only, hide_index=True)

st.subheader("Emulated resources")
st.dataframe(info.emulated, hide_index=True)

st.subheader("Runtime")
try:
    status, at = loaders.local_runtime(ui.key(), info.endpoint)
except Exception as exc:  # noqa: BLE001 - explained on the page; logged
    ui.show_problem(ui.problem(exc, "asking the local cloud for its status"))
else:
    st.caption(f"Execution environments at {at:%H:%M:%S} UTC")
    st.dataframe(local_info.environments(status), hide_index=True)
    r = st.columns(3)
    r[0].metric("Async events pending", status.get("async_pending", 0))
    lag = status.get("stream_lag") or {}
    r[1].metric("Stream lag (records)", sum(v or 0 for v in lag.values()))
    active = local_info.active_faults(status)
    r[2].metric(
        "Fault injection",
        "on" if active else "off",
        help="Chaos runs (`python -m local chaos`) switch it on",
    )
    if active:
        st.warning(
            "Faults are being injected: " + ", ".join(f"{k} {v:g}" for k, v in active.items())
        )
    injected = local_info.injected_faults(status)
    if injected:
        st.caption("Injected so far: " + ", ".join(f"{k} {v}" for k, v in injected.items()))
with st.expander("Options the local cloud was started with"):
    st.json(info.options)
