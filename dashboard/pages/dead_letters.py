"""Dead letters: look at DLQ messages, inspect one with its job, redrive or delete them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import streamlit as st

from dashboard import loaders, ui
from dashboard.data import audit as audit_data
from dashboard.data import dlq
from dashboard.data.queues import ROLE_LABELS, queue_name
from lambdas.common.audit import AuditAction
from lambdas.common.contract import JobAttr

tgt = ui.page(
    "Dead letters",
    "Messages the pipeline gave up on. Look, inspect, then redrive them "
    "to the processing queue or delete them — every change asks first.",
)
key = ui.key()
queues = tgt.queues()
choices = [r for r in ("dlq", "failure") if r in queues]
if not choices:
    st.info("The stack's outputs name no dead-letter or failure queue.")
    st.stop()

role = st.radio(
    "Queue",
    choices,
    format_func=lambda r: f"{ROLE_LABELS[r]} · {queue_name(queues[r])}",
    horizontal=True,
    key="dl_queue",
)
url = queues[role]
source_url = queues.get("processing") if role == "dlq" else None

# --- depth ---------------------------------------------------------------------------------
attrs = ui.load(loaders.queue_attributes, key, url, tgt, what="reading the queue")
if attrs is not None:
    c = st.columns(4)
    c[0].metric("Visible", int(attrs.get("ApproximateNumberOfMessages", 0)))
    in_flight = int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0))
    c[1].metric(
        "In flight",
        in_flight,
        help="Received and not yet deleted or released: by someone browsing, a redrive "
        "in progress, or (failure queue) the sweeper. They reappear when their "
        "visibility timeout ends.",
    )
    c[2].metric("Delayed", int(attrs.get("ApproximateNumberOfMessagesDelayed", 0)))
    c[3].metric("Retention", f"{int(attrs.get('MessageRetentionPeriod', 0)) / 86400:.0f} days")
    ui.updated("reading the queue", with_window=False)
    if in_flight:
        st.caption(
            f"{in_flight} message(s) are in flight and cannot be shown until they are released."
        )
if role == "failure":
    st.info(
        "These are Lambda on-failure records of the analyzers (async retries exhausted). "
        "The sweeper reads them every minute and fails their jobs; records it cannot read "
        "stay here. They have no source queue to redrive to; delete them once handled."
    )

# --- browsing ------------------------------------------------------------------------------
st.subheader("Messages")
c1, c2, c3 = st.columns([1, 1, 2])
max_messages = int(c1.number_input("Look at up to", 1, 500, 50, step=10, key="dl_max"))
visibility = int(
    c2.number_input(
        "Hold while reading (s)",
        5,
        120,
        20,
        key="dl_visibility",
        help="Receiving hides a message for this long; the page hands "
        "each one back (visibility 0) as soon as it has read it.",
    )
)
c3.write("")
if c3.button("Look at messages", icon=":material/visibility:", key="dl_peek_button"):
    try:
        result, messages = loaders.peek_messages(tgt, url, max_messages, visibility)
        st.session_state["dl_peek"] = {
            "role": role,
            "result": result,
            "messages": messages,
            "at": datetime.now(UTC),
        }
        for stale in ("dl_select", "dl_inspect", "dl_result"):
            st.session_state.pop(stale, None)
    except Exception as exc:  # noqa: BLE001 - explained on the page; logged
        ui.show_problem(ui.problem(exc, "receiving messages"))
    loaders.queue_attributes.clear()

peeked = st.session_state.get("dl_peek")
if peeked and peeked["role"] != role:
    peeked = None
if peeked:
    result, messages = peeked["result"], peeked["messages"]
    note = (
        f"Read {len(messages)} distinct message(s) at {peeked['at']:%H:%M:%S} UTC and handed "
        f"{result.released} back (visible again)."
    )
    if result.duplicate_receipts:
        note += f" {result.duplicate_receipts} repeated receipt(s) of the same message merged."
    if result.in_flight_before:
        note += f" {result.in_flight_before} were in flight and could not be shown."
    if result.truncated:
        note += f" More are waiting: raise 'Look at up to' (was {max_messages})."
    if result.release_failed:
        note += (
            f" {result.release_failed} could not be handed back and stay hidden for up to "
            f"{result.visibility_timeout} s."
        )
    st.caption(note + " Each look adds one to a message's receive count.")
    if messages.empty:
        st.success(
            "The queue is empty."
            if not result.in_flight_before
            else "No visible message right now."
        )
    else:
        table = messages[
            [
                "message_id",
                "job_id",
                "job_status",
                "job_decision",
                "sent_at",
                "first_receive_at",
                "receive_count",
                "source_queue",
            ]
        ]
        when = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")
        st.dataframe(
            table,
            hide_index=True,
            key="dl_table",
            column_config={
                "sent_at": when,
                "first_receive_at": when,
                "receive_count": st.column_config.NumberColumn("receives"),
                "source_queue": st.column_config.TextColumn("moved from"),
            },
        )
        ids = messages["message_id"].tolist()
        labels = {
            r["message_id"]: f"{r['message_id'][:8]}… · job {r[JobAttr.JOB_ID] or '(no job id)'}"
            for _, r in messages.iterrows()
        }
        selected = st.multiselect("Select messages", ids, format_func=labels.get, key="dl_select")

        inspect = st.selectbox("Inspect", ids, format_func=labels.get, key="dl_inspect")
        row = messages[messages["message_id"] == inspect].iloc[0]
        i1, i2 = st.columns(2)
        with i1:
            st.markdown("**Body**")
            try:
                st.json(json.loads(row["body"]))
            except ValueError:
                st.code(row["body"] or "(empty)", language=None)
                st.caption(
                    "Not JSON: the dispatcher cannot read this message (a poison "
                    "message). Redriving it will land it here again; delete it."
                )
            st.markdown("**Attributes**")
            st.json(json.loads(row["attributes"]))
            if row["message_attributes"] != "{}":
                st.markdown("**Message attributes**")
                st.json(json.loads(row["message_attributes"]))
        with i2:
            st.markdown("**Job**")
            if not row[JobAttr.JOB_ID]:
                st.info("The body names no job.")
            elif not row["job_found"]:
                st.warning(
                    f"Job `{row[JobAttr.JOB_ID]}` is not in the jobs table (never created, or "
                    "expired): redriving it cannot complete anything."
                )
            else:
                st.markdown(
                    f"`{row[JobAttr.JOB_ID]}` is **{row['job_status']}**"
                    + (f", decision **{row['job_decision']}**" if row["job_decision"] else "")
                )
                if row["job_reasons"]:
                    st.text(row["job_reasons"])  # may quote what was read: plain text
                if row["job_status"] in ("complete", "failed"):
                    st.caption("The job is already terminal: a redriven message is a no-op.")
                st.caption("Full timeline: Job trace page.")

        # --- actions ---------------------------------------------------------------------
        a = st.columns(3)
        can_redrive = source_url is not None
        if a[0].button(
            f"Redrive selected ({len(selected)})",
            key="dl_redrive_selected",
            disabled=not (can_redrive and selected),
        ):
            st.session_state["dl_pending"] = {
                "action": "redrive",
                "role": role,
                "ids": list(selected),
            }
        if a[1].button("Redrive all", key="dl_redrive_all", disabled=not can_redrive):
            st.session_state["dl_pending"] = {"action": "redrive", "role": role, "ids": None}
        if a[2].button(
            f"Delete selected ({len(selected)})",
            key="dl_delete_selected",
            type="primary",
            disabled=not selected,
        ):
            st.session_state["dl_pending"] = {
                "action": "delete",
                "role": role,
                "ids": list(selected),
            }
elif not peeked:
    st.caption(
        "Nothing is received until you press 'Look at messages': receiving hides "
        "messages from other consumers for a moment."
    )

# --- confirmation --------------------------------------------------------------------------
pending = st.session_state.get("dl_pending")
if pending and pending["role"] == role:
    count = "every message" if pending["ids"] is None else f"{len(pending['ids'])} message(s)"
    if pending["action"] == "redrive":
        st.warning(
            f"Redrive {count} from `{queue_name(url)}` to `{queue_name(source_url)}`? "
            "Each message is sent to the source queue first and deleted here only after "
            "the source accepted it.",
            icon=":material/undo:",
        )
    else:
        st.error(
            f"Delete {count} from `{queue_name(url)}`? This cannot be undone.",
            icon=":material/delete:",
        )
    b1, b2 = st.columns([1, 5])
    if b1.button("Confirm", key="dl_confirm", type="primary"):
        sqs = tgt.client("sqs")
        try:
            if pending["action"] == "redrive":
                report = dlq.redrive(sqs, url, source_url, pending["ids"])
            else:
                report = dlq.delete(sqs, url, pending["ids"])
            st.session_state["dl_result"] = report
            st.session_state["dl_audit"] = audit_data.note(
                tgt,
                loaders.actor(tgt),
                AuditAction.REDRIVE if pending["action"] == "redrive" else AuditAction.DELETE,
                pending["ids"],
                {
                    "queue": queue_name(url),
                    "summary": report.summary(),
                    **({"to": queue_name(source_url)} if pending["action"] == "redrive" else {}),
                },
            )
        except Exception as exc:  # noqa: BLE001 - explained after the rerun; logged
            st.session_state["dl_error"] = ui.problem(exc, f"the {pending['action']}")
        for stale in ("dl_pending", "dl_peek", "dl_select", "dl_inspect"):
            st.session_state.pop(stale, None)
        loaders.queue_attributes.clear()
        st.rerun()
    if b2.button("Cancel", key="dl_cancel"):
        st.session_state.pop("dl_pending", None)
        st.rerun()

error = st.session_state.pop("dl_error", None)
if error is not None:
    ui.show_problem(error)
report = st.session_state.get("dl_result")
if report is not None:
    text = f"{report.action.capitalize()}: {report.summary()}." + st.session_state.get(
        "dl_audit", ""
    )
    (st.error if report.failed or report.errors else st.success)(text)
    for error in report.errors[:10]:
        st.caption(error)
    if st.button("Dismiss", key="dl_dismiss"):
        st.session_state.pop("dl_result", None)
        st.rerun()
