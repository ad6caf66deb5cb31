"""Banks: the hash banks, their entries, quarantined entries, import and export."""

from __future__ import annotations

import streamlit as st

from dashboard import loaders, ui
from dashboard.data import audit as audit_data
from dashboard.data import banks as banks_data
from lambdas.common.audit import AuditAction
from lambdas.common.banks import BankError
from lambdas.common.contract import Output

tgt = ui.page(
    "Banks",
    "Hash banks: PDQ and dHash lists every upload is matched against (docs/banks.md). A "
    "change applies to jobs created 30 s later. Changes go through the /banks API's own "
    "code with you as the author.",
)
key = ui.key()
if Output.BANKS_TABLE not in tgt.outputs:
    st.info("This stack has no hash banks table: `pulumi up` adds it.")
    st.stop()
who = loaders.actor(tgt)
table = banks_data.table_of(tgt)
st.caption(
    f"Operators group: **{tgt.outputs.get(Output.OPERATOR_GROUP, 'operators')}** "
    f"(moderation:banks.operatorGroup). Changes from this page are recorded as **{who}**."
)

frame = banks_data.banks_frame(table)
c = st.columns(3)
c[0].metric("Banks", len(frame))
c[1].metric("Entries", int(frame["entries"].sum()) if not frame.empty else 0)
c[2].metric("Quarantined entries", int(frame["quarantined"].sum()) if not frame.empty else 0)
if frame.empty:
    st.info("No bank yet: create one below.")
else:
    st.dataframe(frame, hide_index=True)

held = banks_data.quarantined(table)
if not held.empty:
    st.subheader("Quarantined")
    st.warning(
        "These entries matched far above their usual rate and were disabled (the "
        "bank-entry-quarantined alarm). Re-enable one when its matches are right."
    )
    for _, row in held.iterrows():
        cols = st.columns([4, 1])
        cols[0].markdown(f"`{row['bank']}` · `{row['entry_id']}`")
        if cols[1].button("Re-enable", key=f"banks_reenable:{row['bank']}:{row['entry_id']}"):
            banks_data.set_entry(table, row["bank"], row["entry_id"], True, who)
            audit_data.note(
                tgt,
                who,
                AuditAction.BANK_CHANGE,
                [row["entry_id"]],
                {"bank": row["bank"], "change": "re-enable entry"},
            )
            st.rerun()

st.subheader("Create or change a bank")
with st.form("banks_save"):
    cols = st.columns([3, 2, 1, 1, 1])
    name = cols[0].text_input("Bank", key="banks_name")
    action = cols[1].selectbox("Action", banks_data.ACTIONS, key="banks_action")
    pdq_bits = cols[2].number_input("PDQ bits", 0, 64, 31, key="banks_pdq")
    dhash_bits = cols[3].number_input("dHash bits", 0, 32, 8, key="banks_dhash")
    enabled = cols[4].checkbox("Enabled", True, key="banks_enabled")
    if st.form_submit_button("Save"):
        try:
            banks_data.save_bank(table, name, action, int(pdq_bits), int(dhash_bits), enabled, who)
            logged = audit_data.note(
                tgt,
                who,
                AuditAction.BANK_CHANGE,
                [name],
                {"change": "save bank", "action": action, "enabled": enabled},
            )
            st.success(f"Saved bank `{name}`.{logged}")
        except BankError as exc:
            st.error(exc.message)

if not frame.empty:
    st.subheader("Entries")
    bank = st.selectbox("Bank", frame["bank"].tolist(), key="banks_pick")
    entries, more = banks_data.entries_frame(table, bank)
    if more:
        st.caption("The first 500 entries are shown.")
    st.dataframe(entries, hide_index=True)
    cols = st.columns([3, 1])
    entry_id = cols[0].text_input("Entry id to delete", key="banks_delete_id")
    if cols[1].button("Delete", key="banks_delete", disabled=not entry_id):
        ok = banks_data.delete_entry(table, bank, entry_id)
        logged = (
            audit_data.note(
                tgt, who, AuditAction.BANK_CHANGE, [entry_id], {"bank": bank, "change": "delete"}
            )
            if ok
            else ""
        )
        (st.success if ok else st.error)(f"Deleted.{logged}" if ok else "No such entry.")
    st.download_button(
        "Export PDQ (HMA CSV layout)",
        banks_data.export_csv(table, bank),
        file_name=f"{bank}.HASH_PDQ.csv",
        mime="text/csv",
        key="banks_export",
    )
    upload = st.file_uploader("Import a CSV (HMA layout or one hash a line)", key="banks_import")
    source = st.text_input("Source of the list", "import", key="banks_import_source")
    if upload is not None and st.button("Import", key="banks_import_go"):
        try:
            count = banks_data.import_csv(
                table, bank, upload.getvalue().decode("utf-8"), "pdq", source, who
            )
            logged = audit_data.note(
                tgt,
                who,
                AuditAction.BANK_CHANGE,
                [bank],
                {"change": "import", "entries": count, "source": source},
            )
            st.success(f"Imported {count} entries into `{bank}`.{logged}")
        except (BankError, UnicodeDecodeError) as exc:
            st.error(getattr(exc, "message", str(exc)))
