"""Calibration: QA agreement, where people overrule the rules, and what thresholds would do."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboard import ui
from dashboard.data import calibration as cal
from dashboard.data.target import Target
from lambdas.common.contract import Decision, Output
from lambdas.common.timeutil import utcnow

READ = 500  # entries read per partition (reviewed, appeals decided, QA decided)
WINDOWS = {"7 days": 7, "30 days": 30, "90 days": 90}


@st.cache_data(ttl=60, show_spinner="Reading the jobs people decided…")
def decided(key: str, limit: int, _target: Target):
    t = _target
    return cal.read_decided(t.client("dynamodb"), t.outputs[Output.JOBS_TABLE], limit), utcnow()


tgt = ui.page(
    "Calibration",
    "How people's decisions compare with the rules': QA agreement (blind re-decisions by "
    "another moderator), how often a person overruled the rules per score band, and what "
    "a threshold would have done to the review load, rejects and overturns.",
)
key = ui.key()
if Output.REVIEW_INDEX not in tgt.outputs:
    st.info("This stack has no review index: nothing has been decided by a person.")
    st.stop()

records = ui.load(decided, key, READ, tgt, what="reading the jobs people decided")
ui.updated("reading the jobs people decided", with_window=False)
if records is None:
    st.stop()
if not records:
    st.info(
        "No verdict, QA decision or appeal yet. QA needs `moderation:review.qaSampleRate` "
        "above 0; appeals come from uploaders (`POST /jobs/{job_id}/appeal`). The local "
        "demo (`python -m local demo`) makes some."
    )
    st.stop()
st.caption(f"{len(records):,} jobs decided by a person (the newest {READ} of each kind)")

# --- QA agreement ------------------------------------------------------------------------------
st.subheader("QA agreement")
c = st.columns(2)
by_category = pd.DataFrame(cal.qa_agreement(records, by="category"))
by_moderator = pd.DataFrame(cal.moderator_agreement(records))
with c[0]:
    st.caption("Per category of the job's findings")
    if by_category.empty:
        st.write("No QA decision yet.")
    else:
        st.dataframe(by_category, hide_index=True)
with c[1]:
    st.caption("Per moderator whose decisions were checked (QA) or appealed")
    if by_moderator.empty:
        st.write("No moderator's decision was checked or appealed yet.")
    else:
        st.dataframe(by_moderator, hide_index=True)
rules_rows = [r for r in cal.qa_agreement(records, by="moderator") if r["moderator"] == cal.RULES]
if rules_rows:
    st.metric(
        "QA agreement with the rules' automatic decisions",
        f"{100 * (rules_rows[0]['agreement'] or 0):.0f}%",
        help=f"{rules_rows[0]['checked']} automatic decisions checked blind",
    )

# --- overrules by score band -------------------------------------------------------------------
st.subheader("Where people overrule the rules")
overrules = pd.DataFrame(cal.overrules(records))
if overrules.empty:
    st.write("No person has re-examined a decision of the rules yet.")
else:
    st.dataframe(overrules, hide_index=True)

# --- what a threshold would do ------------------------------------------------------------------
st.subheader("What a threshold would have done")
names = cal.score_names(records)
if names:
    c = st.columns(4)
    score = c[0].selectbox("Score", names, key="calibration_score")
    threshold = c[1].slider("Threshold", 0.05, 0.95, 0.5, 0.05, key="calibration_threshold")
    effect = c[2].selectbox("Effect", [Decision.REJECT, Decision.REVIEW], key="calibration_effect")
    window = c[3].selectbox("Window", list(WINDOWS), index=1, key="calibration_window")
    since = utcnow() - timedelta(days=WINDOWS[window])
    out = cal.what_if(records, score, threshold, effect, since)
    st.dataframe(
        pd.DataFrame(
            [
                {"rules": "as decided", **out["current"]},
                {"rules": f"{score} at {threshold:.2f} -> {effect}", **out["with_threshold"]},
            ]
        ),
        hide_index=True,
    )
    st.caption(
        f"{out['jobs']} decided jobs carrying the score in the window. Overturns: rejects a "
        "person passed (an appeal overturned, a verdict or QA approved)."
    )

st.subheader("Suggested thresholds")
suggested = pd.DataFrame(cal.suggest_thresholds(records))
if suggested.empty:
    st.write("Not enough decided jobs yet.")
else:
    st.caption(
        "`reject_at`: the lowest threshold at which people flagged at least 95% of the jobs "
        "scoring at or above it; `review_at`: the lowest at which at least 20% were flagged. "
        "Empty where fewer than 5 decided jobs score that high."
    )
    st.dataframe(suggested, hide_index=True)
