"""Appeals: uploaders asked for another look; a moderator claims one, upholds or overturns."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import access, images, loaders, ui, work
from dashboard.data import audit as audit_data
from dashboard.data import claims as claims_data
from dashboard.data import review as review_data
from lambdas.common import review as review_behaviour
from lambdas.common.audit import AuditAction
from lambdas.common.contract import AppealOutcome, JobAttr, Output, WorkQueue
from lambdas.common.timeutil import utcnow

QUEUE = WorkQueue.APPEAL
READ = 200

tgt = ui.page(
    "Appeals",
    "Uploaders' appeals of a reject, a warn or a moderator's verdict, oldest first: claim "
    "one, read the uploader's message, look again, then uphold or overturn. An overturn "
    "changes the job's decision (and the stored verdict for the same bytes); the uploader "
    "is notified either way. You cannot decide the appeal of your own upload or of a job "
    "you reviewed.",
)
key = ui.key()
if Output.REVIEW_INDEX not in tgt.outputs:
    st.info("This stack has no review index, so no appeal queue: `pulumi up` adds them.")
    st.stop()

me = work.moderator(tgt, key)
who = me.user
prefs = images.preference_toggle(tgt, who, me.signed_in)
group = tgt.outputs.get(Output.MODERATOR_GROUP, "moderators")

items = ui.load(loaders.work_queue, key, str(QUEUE), READ, tgt, what="reading the appeal queue")
ui.updated("reading the appeal queue", with_window=False)
c = st.columns(4)
if items is not None:
    c[0].metric("Appeals waiting", f"≥{READ}" if len(items) >= READ else f"{len(items):,}")
work.timing_metrics(c[1:3], tgt, key, QUEUE)
st.caption(f"Appeal decisions from this page are recorded as **{who}**.")
work.show_result(QUEUE)
if items is None:
    st.stop()
if not items:
    st.success("No appeal is waiting.")
    st.stop()

now = utcnow()
st.subheader("Queue")
st.dataframe(
    pd.DataFrame(
        [
            {
                JobAttr.JOB_ID: j.get(JobAttr.JOB_ID),
                "waiting": ui.fmt_seconds(claims_data.waited(j, QUEUE, now)),
                "claim": work.claim_state(j, QUEUE, who),
                "decision appealed": (j.get("appeal") or {}).get("decision_before"),
                "decided by": "a moderator" if j.get(JobAttr.REVIEW) else "the rules",
            }
            for j in items
        ]
    ),
    hide_index=True,
)

claimed = work.claim_panel(tgt, QUEUE, who, "appeal")
if claimed is None:
    st.stop()
job_id = str(claimed[JobAttr.JOB_ID])
item = claims_data.view(claimed, QUEUE, utcnow(), who)
appeal = item.get("appeal") or {}

st.subheader(f"Appeal of job `{job_id}`")
left, right = st.columns([1, 1])
with left:
    work.image(tgt, key, claimed, prefs.shield_images)
with right:
    st.markdown(f"**Decision appealed:** `{appeal.get('decision_before')}`")
    verdict = claimed.get(JobAttr.REVIEW) or {}
    if verdict:
        st.caption(f"A moderator's verdict ({verdict.get('reviewed_at')}); the rules said")
        st.text(str(claimed.get(JobAttr.AUTOMATIC_DECISION)))
    st.markdown("**The uploader's message**")
    # The uploader's words: plain text, never Markdown or a link.
    st.text(str(appeal.get("message") or ""))
    st.caption(f"Appealed at {appeal.get('appealed_at')}")
    st.markdown("**Reasons of the rules**")
    for reason in item.get(JobAttr.REASONS) or []:
        st.text(f"• {reason}")
    work.analyses(claimed, job_id)

st.subheader("Outcome")
outcome = st.radio(
    "Outcome",
    list(AppealOutcome),
    horizontal=True,
    index=None,
    key=f"appeal_outcome:{job_id}",
    help="uphold keeps the decision; overturn makes a reject or warn an approve, "
    "an approve a reject",
)
note = st.text_area(
    "Note (kept with the appeal, not shown to the uploader)",
    max_chars=review_behaviour.MAX_NOTE_CHARS,
    key=f"appeal_note:{job_id}",
)
if st.button("Record outcome…", key="appeal_submit", disabled=outcome is None):
    work.ask(QUEUE, job_id)
if outcome is not None and work.confirm(
    QUEUE,
    job_id,
    f"Record **{outcome}** for the appeal of `{job_id}` as **{who}**? The uploader is "
    "notified; an appeal is decided once.",
):
    try:  # the API's own group rule, on the signed-in identity's claims
        moderator = access.may_record_verdict(me, group)
    except review_behaviour.Refused as refused:
        done = claims_data.Done(False, refused.message)
    else:
        done = claims_data.decide_appeal(
            tgt.client("dynamodb"),
            tgt.outputs[Output.JOBS_TABLE],
            job_id,
            moderator,
            str(outcome),
            note,
            utcnow(),
            verdict_store=review_data.verdict_store(tgt.outputs),
        )
    message = done.message
    if done.ok:
        message += audit_data.note(
            tgt,
            who,
            AuditAction.APPEAL_DECISION,
            [job_id],
            {"outcome": str(outcome), JobAttr.DECISION: (done.job or {}).get(JobAttr.DECISION)},
        )
    work.remember(QUEUE, done.ok, message)
    loaders.forget_review_reads()
    st.rerun()
