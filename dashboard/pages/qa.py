"""QA: a sample of decisions decided again, blind, by another moderator."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import access, images, loaders, ui, work
from dashboard.data import audit as audit_data
from dashboard.data import claims as claims_data
from lambdas.common import review as review_behaviour
from lambdas.common.audit import AuditAction
from lambdas.common.contract import VERDICTS, JobAttr, Output, WorkQueue
from lambdas.common.timeutil import utcnow

QUEUE = WorkQueue.QA
READ = 200

tgt = ui.page(
    "QA",
    "A share of the rules' decisions and of moderators' verdicts "
    "(moderation:review.qaSampleRate), decided again blind: claim one and decide it as if "
    "it were new; the decision under test and its reasons stay hidden until you have "
    "decided. You never check your own upload or your own verdict. Agreement is on the "
    "Calibration page.",
)
key = ui.key()
if Output.REVIEW_INDEX not in tgt.outputs:
    st.info("This stack has no review index, so no QA queue: `pulumi up` adds them.")
    st.stop()

me = work.moderator(tgt, key)
who = me.user
prefs = images.preference_toggle(tgt, who, me.signed_in)
group = tgt.outputs.get(Output.MODERATOR_GROUP, "moderators")

items = ui.load(loaders.work_queue, key, str(QUEUE), READ, tgt, what="reading the QA queue")
ui.updated("reading the QA queue", with_window=False)
c = st.columns(4)
if items is not None:
    c[0].metric("QA items waiting", f"≥{READ}" if len(items) >= READ else f"{len(items):,}")
work.timing_metrics(c[1:3], tgt, key, QUEUE)
st.caption(f"QA decisions from this page are recorded as **{who}**.")
work.show_result(QUEUE)
if items is None:
    st.stop()
if not items:
    st.success("No QA item is waiting.")
    st.stop()

now = utcnow()
st.subheader("Queue")
# Blind: the queue shows neither the decision under test nor who made it.
st.dataframe(
    pd.DataFrame(
        [
            {
                JobAttr.JOB_ID: j.get(JobAttr.JOB_ID),
                "waiting": ui.fmt_seconds(claims_data.waited(j, QUEUE, now)),
                "claim": work.claim_state(j, QUEUE, who),
            }
            for j in items
        ]
    ),
    hide_index=True,
)

claimed = work.claim_panel(tgt, QUEUE, who, "QA item")
if claimed is None:
    st.stop()
job_id = str(claimed[JobAttr.JOB_ID])
# What the API's claim shows a QA moderator: no decision, no reasons.
item = claims_data.view(claimed, QUEUE, utcnow(), who)

st.subheader(f"QA of job `{job_id}`")
left, right = st.columns([1, 1])
with left:
    work.image(tgt, key, item, prefs.shield_images)
with right:
    st.markdown("**Categories found**")
    st.text(", ".join(item.get(JobAttr.CATEGORIES) or []) or "none")
    blind = {k: v for k, v in claimed.items() if k.endswith("_result")}
    work.analyses(blind, job_id)

st.subheader("Your decision")
decision = st.radio(
    "Decision", list(VERDICTS), horizontal=True, index=None, key=f"qa_decision:{job_id}"
)
note = st.text_area(
    "Note (kept with the QA decision)",
    max_chars=review_behaviour.MAX_NOTE_CHARS,
    key=f"qa_note:{job_id}",
)
if st.button("Record QA decision…", key="qa_submit", disabled=decision is None):
    work.ask(QUEUE, job_id)
if decision is not None and work.confirm(
    QUEUE,
    job_id,
    f"Record **{decision}** as the QA decision on `{job_id}` as **{who}**? It is "
    "compared with the original and cannot be changed.",
):
    try:  # the API's own group rule, on the signed-in identity's claims
        moderator = access.may_record_verdict(me, group)
    except review_behaviour.Refused as refused:
        done = claims_data.Done(False, refused.message)
    else:
        done = claims_data.decide_qa(
            tgt.client("dynamodb"),
            tgt.outputs[Output.JOBS_TABLE],
            job_id,
            moderator,
            str(decision),
            note,
            utcnow(),
        )
    message = done.message
    if done.ok:
        checked = (done.job or {}).get("qa") or {}
        message += audit_data.note(
            tgt,
            who,
            AuditAction.QA_DECISION,
            [job_id],
            {JobAttr.DECISION: str(decision), "agrees": checked.get("agrees")},
        )
    work.remember(QUEUE, done.ok, message)
    loaders.forget_review_reads()
    st.rerun()
