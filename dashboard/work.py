"""Working through claims, on the Review, Appeals and QA pages alike.

`timing_metrics(...)` draws a queue's time to claim and time to decide; `claim_panel(...)`
draws "Claim next" (how many), the moderator's claimed items with the time left on each,
"Release", and returns the claimed item picked to work on. Claims are the API's own
(`dashboard/data/claims.py` over `lambdas/common/claims.py`), with the console's identity.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from common import claims
from common.contract import WorkQueue
from dashboard import console, images, loaders, ui
from dashboard.data import claims as work
from dashboard.data import review as review_data
from dashboard.data.target import Target
from lambdas.common.contract import JobAttr, Output
from lambdas.common.timeutil import utcnow

RESULT = "work_result:{queue}"  # what the last claim, release or decision did


def show_result(queue: str) -> None:
    """The outcome of the last action on this queue's page, once."""
    result = st.session_state.pop(RESULT.format(queue=queue), None)
    if result is not None:
        (st.success if result["ok"] else st.error)(result["message"])


def remember(queue: str, ok: bool, message: str) -> None:
    st.session_state[RESULT.format(queue=queue)] = {"ok": ok, "message": message}


def timing_metrics(columns: list[Any], tgt: Target, key: str, queue: str) -> None:
    """Time to claim and time to decide (medians, 90th percentile in the help) over the
    queue's most recently decided items, from their timestamps."""
    found = ui.load(loaders.claim_timings, key, str(queue), tgt, what="measuring claim times")
    if found is None:
        return
    columns[0].metric(
        "Time to claim",
        ui.fmt_seconds(found.claim_median),
        help=f"Median from entering the queue to a moderator's claim (90th percentile "
        f"{ui.fmt_seconds(found.claim_p90)}) over the {found.decided} most recently "
        f"decided items, {found.claimed} of them claimed (ReviewTimeToClaimSeconds)",
    )
    columns[1].metric(
        "Time to decide",
        ui.fmt_seconds(found.decide_median),
        help=f"Median from the claim to the claimant's decision (90th percentile "
        f"{ui.fmt_seconds(found.decide_p90)}) (ReviewTimeToDecideSeconds)",
    )


def claim_state(job: dict[str, Any], queue: str, me: str) -> str:
    """How a queued item stands: free, or whose claim and for how long still."""
    now = utcnow()
    held = work.holder(job, WorkQueue(queue), now)
    if held is None:
        return "free"
    left = ui.fmt_seconds(work.seconds_left(job, WorkQueue(queue), now))
    return f"you ({left} left)" if held == me else f"another moderator ({left} left)"


def claim_panel(tgt: Target, queue: str, me: str, noun: str) -> dict[str, Any] | None:
    """Claim next / your claims / release; returns the claimed record picked, or None."""
    ddb, table = tgt.client("dynamodb"), tgt.outputs[Output.JOBS_TABLE]
    minutes = work.claim_minutes(tgt.outputs)
    st.subheader("Your claims")
    c = st.columns([1, 1, 4])
    count = c[0].number_input(
        "How many", 1, work.MAX_COUNT, 1, key=f"{queue}_claim_count", label_visibility="collapsed"
    )
    if c[1].button("Claim next", key=f"{queue}_claim", type="primary"):
        got = work.claim(ddb, table, WorkQueue(queue), me, utcnow(), minutes, int(count))
        if got:
            remember(
                queue,
                True,
                f"Claimed {len(got)} {noun}(s) for {minutes} minutes: "
                + ", ".join(str(g.job.get(JobAttr.JOB_ID)) for g in got),
            )
        else:
            remember(queue, False, f"No {noun} is free to claim (or all left are yours to skip).")
        loaders.forget_review_reads()
        st.rerun()
    c[2].caption(
        f"A claim holds an item for you for {minutes} minutes (moderation:review.claimMinutes): "
        "no one else can decide it meanwhile; past it, it is back in the queue."
    )
    now = utcnow()
    held = work.mine(ddb, table, WorkQueue(queue), me, now)
    if not held:
        st.info(f"You hold no claim. **Claim next** to take the oldest {noun} waiting.")
        return None
    rows = [
        {
            JobAttr.JOB_ID: j.get(JobAttr.JOB_ID),
            "waited": ui.fmt_seconds(claims.waited(j, WorkQueue(queue), now)),
            "time left": ui.fmt_seconds(work.seconds_left(j, WorkQueue(queue), now)),
        }
        for j in held
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    labels = {r[JobAttr.JOB_ID]: f"{r[JobAttr.JOB_ID]} · {r['time left']} left" for r in rows}
    job_id = st.selectbox(
        f"Claimed {noun} to work on", list(labels), format_func=labels.get, key=f"{queue}_pick"
    )
    st.caption(f"Your claim on {job_id}: {labels[job_id].rsplit(' · ', 1)[-1]}")
    if st.button("Release", key=f"{queue}_release", help=f"Give the {noun} back to the queue"):
        done = work.release(ddb, table, str(job_id), WorkQueue(queue), me, utcnow())
        remember(queue, done.ok, done.message)
        loaders.forget_review_reads()
        st.rerun()
    return next((j for j in held if j.get(JobAttr.JOB_ID) == job_id), None)


def image(tgt: Target, key: str, job: dict[str, Any], shield_images: bool) -> None:
    """The job's image, blurred and grey until revealed (as on Review)."""
    image_key = job.get(JobAttr.IMAGE_KEY)
    if not image_key:
        st.warning("The record names no image.")
        return
    data = ui.load(loaders.review_image, key, image_key, tgt, what="reading the image")
    if data is not None:
        images.show(
            data, str(image_key), f"{image_key} ({job.get(JobAttr.CONTENT_TYPE)})", shield_images
        )


def analyses(job: dict[str, Any], job_id: str) -> None:
    """What each analysis saw, laid out by shape; text read from the image as plain text."""
    for section in review_data.result_sections(job):
        st.markdown(f"**{section.branch}**")
        for name, table in section.tables.items():
            st.caption(name)
            st.dataframe(table, hide_index=True)
        if section.scores:
            st.dataframe(
                pd.DataFrame(
                    sorted(section.scores.items(), key=lambda kv: -kv[1]),
                    columns=["score", "value"],
                ),
                hide_index=True,
            )
        for name, text in section.texts.items():
            st.text_area(name, text, disabled=True, key=f"text:{job_id}:{section.branch}:{name}")
        if section.values:
            st.json(section.values, expanded=False)


def confirm(queue: str, job_id: str, question: str) -> bool:
    """Two steps: the page's submit button stores a pending choice; this asks and returns
    True once confirmed (Cancel forgets it)."""
    pending = st.session_state.get(f"{queue}_pending")
    if pending != job_id:
        return False
    st.warning(question)
    yes, no = st.columns([1, 6])
    if yes.button("Confirm", key=f"{queue}_confirm", type="primary"):
        st.session_state.pop(f"{queue}_pending", None)
        return True
    if no.button("Cancel", key=f"{queue}_cancel"):
        st.session_state.pop(f"{queue}_pending", None)
        st.rerun()
    return False


def ask(queue: str, job_id: str) -> None:
    st.session_state[f"{queue}_pending"] = job_id


def moderator(tgt: Target, key: str) -> Any:
    """Who acts: the signed-in identity, or (local) the machine's operator."""
    me = console.signed_in()
    if me is None:
        operator = ui.load(loaders.operator, key, tgt, what="finding out who you are")
        if operator is None:
            st.stop()
        me = console.identity(operator)
    return me
