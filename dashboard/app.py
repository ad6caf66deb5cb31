"""Operations dashboard of the moderation pipeline.

    streamlit run dashboard/app.py                          # the local cloud in .local-cloud
    streamlit run dashboard/app.py -- --local STATE_DIR     # another local cloud
    streamlit run dashboard/app.py -- --outputs outputs.json [--profile P] [--region R]
    streamlit run dashboard/app.py -- --stack dev           # needs the Pulumi CLI

The same choices are in the sidebar. Environment fallbacks: DASHBOARD_LOCAL_STATE,
DASHBOARD_OUTPUTS, DASHBOARD_STACK, DASHBOARD_PROFILE, DASHBOARD_REGION.

`python -m dashboard` launches it bound to 127.0.0.1; served beyond the machine it
requires sign-in, shows each visitor the pages of their groups and looks only at the
stack named at launch (dashboard/console.py, docs/dashboard.md).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import console, ui

PAGES = Path(__file__).resolve().parent / "pages"

st.set_page_config(page_title="Moderation operations", page_icon=":material/shield:", layout="wide")

target = ui.open_target()
console.gate(target.outputs if target is not None else None)

pages = {
    "Pipeline": [
        st.Page(PAGES / "overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page(PAGES / "review.py", title="Review", icon=":material/gavel:", url_path="review"),
        st.Page(
            PAGES / "appeals.py", title="Appeals", icon=":material/balance:", url_path="appeals"
        ),
        st.Page(PAGES / "qa.py", title="QA", icon=":material/fact_check:", url_path="qa"),
        st.Page(
            PAGES / "calibration.py",
            title="Calibration",
            icon=":material/tune:",
            url_path="calibration",
        ),
        st.Page(PAGES / "banks.py", title="Banks", icon=":material/fingerprint:", url_path="banks"),
        st.Page(PAGES / "queues.py", title="Queues", icon=":material/inbox:", url_path="queues"),
        st.Page(
            PAGES / "dead_letters.py",
            title="Dead letters",
            icon=":material/report:",
            url_path="dead-letters",
        ),
        st.Page(PAGES / "lambdas.py", title="Lambdas", icon=":material/bolt:", url_path="lambdas"),
        st.Page(
            PAGES / "job_trace.py",
            title="Job trace",
            icon=":material/timeline:",
            url_path="job-trace",
        ),
        st.Page(
            PAGES / "audit_log.py",
            title="Audit log",
            icon=":material/history:",
            url_path="audit-log",
        ),
    ],
    "Planning": [
        st.Page(PAGES / "cost.py", title="Cost", icon=":material/payments:", url_path="cost"),
        st.Page(
            PAGES / "analytics.py",
            title="Analytics",
            icon=":material/analytics:",
            url_path="analytics",
        ),
    ],
}
if target is None or target.is_local:
    pages["Planning"].append(
        st.Page(
            PAGES / "local_cloud.py",
            title="Local cloud",
            icon=":material/computer:",
            url_path="local-cloud",
        )
    )

# Pages follow the visitor's groups (all of them in the local mode): moderators review,
# decide appeals and QA; operators run the pipeline; both read calibration. A page left out cannot be opened, not even by its URL.
for section, entries in pages.items():
    pages[section] = [p for p in entries if console.may_open(p.url_path or "")]
st.navigation({k: v for k, v in pages.items() if v}).run()
