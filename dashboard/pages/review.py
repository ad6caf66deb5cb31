"""Review: the jobs the rules sent to a person, claimed oldest first; the verdicts."""

from __future__ import annotations

import streamlit as st

from dashboard import access, console, images, loaders, ui, work
from dashboard.data import audit as audit_data
from dashboard.data import review as review_data
from lambdas.common import review as review_behaviour
from lambdas.common.audit import AuditAction
from lambdas.common.contract import VERDICTS, JobAttr, Output, WorkQueue
from lambdas.common.timeutil import utcnow

QUEUE_READ = 200
PENDING = "review_pending"  # a verdict waiting for its confirmation
RESULT = "review_result"  # what the last confirmed verdict did

tgt = ui.page(
    "Review",
    "Jobs the rules could not decide, oldest first: claim the next ones (no other moderator "
    "can decide them while you hold them), look at the image and what each analysis saw, "
    "then approve or reject. Claims and verdicts go through the review API's own code, with "
    "you as the moderator.",
)
key = ui.key()
if Output.REVIEW_INDEX not in tgt.outputs:
    st.info(
        "This stack has no review queue: its outputs name no `review_index` (it was deployed "
        "before human review). `pulumi up` adds the index, the review API and this page's data."
    )
    st.stop()

# Signed in: the reviewer is the signed-in identity (its `sub`, as the API records it).
# Local: the machine's operator, who names the app user ids they upload with (no one
# decides their own upload).
me = console.signed_in()
if me is None:
    operator = ui.load(loaders.operator, key, tgt, what="finding out who you are")
    if operator is None:
        st.stop()
    me = console.identity(operator)
    app_ids = st.text_input(
        "Your app user ids (token `sub`, comma-separated)",
        key="review_app_user_ids",
        help="Jobs uploaded by you are marked in the queue and a verdict on them is refused "
        "(403 own_upload in the API): another moderator decides them.",
    )
else:
    app_ids = ""
who = me.user
identities = review_data.operator_identities(who, app_ids)
prefs = images.preference_toggle(tgt, who, me.signed_in)
group = tgt.outputs.get(Output.MODERATOR_GROUP, "moderators")
max_age = tgt.outputs.get(Output.REVIEW_MAX_AGE_MINUTES)

# --- the queue's figures ---------------------------------------------------------------------
stats = ui.load(loaders.review_stats, key, tgt, what="measuring the review queue")
c = st.columns(4)
if stats is not None:
    c[0].metric(
        "Awaiting review",
        f"≥{stats.backlog:,}" if stats.at_least else f"{stats.backlog:,}",
        help="Jobs in the review index's pending partition (one bounded Query, as the sweeper)",
    )
    c[1].metric("Oldest waiting", ui.fmt_seconds(stats.oldest_age_seconds))
c[2].metric(
    "Alarm after",
    f"{max_age} min" if max_age else "–",
    help="moderation:review.maxAgeMinutes: the review-oldest-age alarm",
)
c[3].metric("API moderators", group, help="moderation:review.moderatorGroup (cognito:groups)")
work.timing_metrics(st.columns(4), tgt, key, WorkQueue.REVIEW)
st.caption(f"Verdicts from this page are recorded as **{who}**.")

result = st.session_state.pop(RESULT, None)
if result is not None:
    (st.success if result["ok"] else st.error)(result["message"])
work.show_result(WorkQueue.REVIEW)

queue = ui.load(
    loaders.review_queue, key, QUEUE_READ, identities, tgt, what="reading the review queue"
)
ui.updated("reading the review queue", with_window=False)
if queue is None:
    st.stop()
if queue.table.empty:
    st.success("No job is waiting for review.")
else:
    st.subheader("Queue")
    if queue.truncated:
        st.caption(f"The {QUEUE_READ} oldest are shown; more are waiting.")
    shown = queue.table.copy()
    shown["waiting"] = shown["age_seconds"].map(ui.fmt_seconds)
    shown["claim"] = [
        work.claim_state(queue.record(j) or {}, WorkQueue.REVIEW, who)
        for j in shown[JobAttr.JOB_ID]
    ]
    st.dataframe(
        shown[
            [
                "job_id",
                "waiting",
                "claim",
                "decision",
                "reasons",
                "categories",
                "user_id",
                "own_upload",
            ]
        ],
        hide_index=True,
    )

claimed = None if queue.table.empty else work.claim_panel(tgt, WorkQueue.REVIEW, who, "job")
if claimed is not None:
    job_id = str(claimed[JobAttr.JOB_ID])
    job = claimed
    st.subheader(f"Job `{job_id}`")
    left, right = st.columns([1, 1])
    with left:
        image_key = job.get(JobAttr.IMAGE_KEY)
        image = (
            ui.load(loaders.review_image, key, image_key, tgt, what="reading the image")
            if image_key
            else None
        )
        if image is not None:
            images.show(
                image,
                str(image_key),
                f"{image_key} ({job.get(JobAttr.CONTENT_TYPE)})",
                prefs.shield_images,
            )
        elif not image_key:
            st.warning("The record names no image.")
    with right:
        st.markdown(f"**Decision of the rules:** `{job.get(JobAttr.DECISION)}`")
        # Reasons may quote what was read from the image: plain text, never Markdown.
        for reason in job.get(JobAttr.REASONS) or []:
            st.text(f"• {reason}")
        work.analyses(job, job_id)

    # --- reject and add to a hash bank (dashboard/data/banks.py) -----------------------------
    if Output.BANKS_TABLE in tgt.outputs:
        with st.expander("Reject and add to a bank"):
            from dashboard.data import banks as banks_data
            from lambdas.common.banks import BankError

            bank_table = banks_data.table_of(tgt)
            bank_names = banks_data.banks_frame(bank_table)["bank"].tolist()
            to_bank = st.selectbox("Bank", bank_names, key=f"review_bank:{job_id}")
            why = st.text_input("Reason (kept with the entry)", key=f"review_bank_why:{job_id}")
            if st.button(
                "Add to the bank, then reject…", key="review_bank_go", disabled=not to_bank
            ):
                try:
                    banks_data.add_job(
                        bank_table,
                        tgt.client("s3"),
                        tgt.outputs[Output.UPLOAD_BUCKET],
                        to_bank,
                        job_id,
                        why,
                        who,
                    )
                    audit_data.note(
                        tgt,
                        who,
                        AuditAction.BANK_CHANGE,
                        [job_id],
                        {"bank": to_bank, "change": "add the job's image"},
                    )
                    st.session_state[PENDING] = {
                        JobAttr.JOB_ID: job_id,
                        JobAttr.DECISION: "reject",
                        "note": why,
                    }
                except (BankError, ValueError) as exc:
                    st.error(getattr(exc, "message", str(exc)))

    st.subheader("Verdict")
    own = review_behaviour.is_own_upload(job, identities)
    if own:
        st.warning("This is your own upload: another moderator must decide it.")
    # Keyed by job: a choice made for one job never carries over to the next.
    decision = st.radio(
        "Decision", list(VERDICTS), horizontal=True, key=f"review_decision:{job_id}", index=None
    )
    note = st.text_area(
        "Note (kept with the verdict, not shown to the uploader)",
        max_chars=review_data.MAX_NOTE_CHARS,
        key=f"review_note:{job_id}",
    )
    if st.button("Record verdict…", key="review_submit", disabled=decision is None or own):
        st.session_state[PENDING] = {
            JobAttr.JOB_ID: job_id,
            JobAttr.DECISION: decision,
            "note": note,
        }
    pending = st.session_state.get(PENDING)
    if pending is not None and pending[JobAttr.JOB_ID] == job_id:
        st.warning(
            f"Record **{pending[JobAttr.DECISION]}** for job `{job_id}` as **{who}**? "
            "The job's decision becomes yours and the uploader is notified; a verdict "
            "cannot be changed."
        )
        yes, no = st.columns([1, 6])
        if yes.button("Confirm", key="review_confirm", type="primary"):
            try:  # the API's own group rule, on the signed-in identity's claims
                reviewer = access.may_record_verdict(me, group)
            except review_behaviour.Refused as refused:
                outcome = review_data.Outcome(False, refused.message)
            else:
                outcome = review_data.submit(
                    tgt.client("dynamodb"),
                    tgt.outputs[Output.JOBS_TABLE],
                    job_id,
                    pending[JobAttr.DECISION],
                    pending["note"],
                    reviewer,
                    utcnow(),
                    verdict_store=review_data.verdict_store(tgt.outputs),
                    identities=identities,
                    qa_rate=review_data.qa_rate(tgt.outputs),
                )
            message = outcome.message
            if outcome.ok:
                message += audit_data.note(
                    tgt,
                    who,
                    AuditAction.VERDICT,
                    [job_id],
                    {
                        JobAttr.DECISION: pending[JobAttr.DECISION],
                        JobAttr.AUTOMATIC_DECISION: (outcome.job or {}).get(
                            JobAttr.AUTOMATIC_DECISION
                        ),
                    },
                )
            st.session_state.pop(PENDING, None)
            st.session_state[RESULT] = {"ok": outcome.ok, "message": message}
            loaders.forget_review_reads()
            st.rerun()
        if no.button("Cancel", key="review_cancel"):
            st.session_state.pop(PENDING, None)
            st.rerun()

# --- the audit list ----------------------------------------------------------------------------
st.subheader("Recent verdicts")
verdicts = ui.load(loaders.recent_verdicts, key, 50, tgt, what="reading recent verdicts")
if verdicts is not None:
    if verdicts.empty:
        st.info("No verdict recorded yet.")
    else:
        st.dataframe(verdicts, hide_index=True)
