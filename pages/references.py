"""References: projects and their reference texts; add, edit, delete, import CSV or JSONL."""

import streamlit as st

from core.platform.db import open_session
from core.usecases import curation
from core.writing.projects import list_references
from ui import auth, resources
from ui.actions import run_use_case
from ui.components import choose_project, source_label
from ui.forms import accepted, field
from ui.i18n import N_, _, ngettext, number
from ui.rescore import rescore_panel
from ui.safe import md

user = auth.require_area("references")
engine = resources.engine()
st.title(_("References"))


with st.expander(_("New project")):
    with st.form("references.new_project"):
        name = st.text_input(_("Name"), max_chars=200, key=field("references.new_project", "name"))
        description = st.text_input(_("Description"), key=field("references.new_project", "description"))
        if st.form_submit_button(_("Create project")) and run_use_case(curation.create_project, user.id, name=name, description=description):
            accepted("references.new_project")

project_id = choose_project("references.project", none_yet=N_("Create a first project above."))

with st.form("references.add"):
    text = st.text_area(_("New reference text"), height=100, key=field("references.add", "text"))
    if st.form_submit_button(_("Add reference")) and run_use_case(curation.add_reference, user.id, project_id=project_id, text=text):
        accepted("references.add")

upload = st.file_uploader(
    _("Import references: CSV with a 'text' column, or JSONL with a 'text' field per line (all rows or none)"),
    type=["csv", "jsonl"], key="references.upload",
)
if upload is not None and st.button(_("Import file"), key="references.import"):
    imported = run_use_case(curation.import_references, user.id, project_id=project_id, filename=upload.name, content=upload.getvalue())
    if imported is not None:
        n = len(imported.value)
        st.success(ngettext("Imported {n} reference from {file}.", "Imported {n} references from {file}.", n).format(
            n=number(n), file=md(upload.name)))

with open_session(engine) as db:
    references = list_references(session=db, project_id=project_id)
rescore_panel(user, project_id)
st.subheader(ngettext("{n} reference", "{n} references", len(references)).format(n=number(len(references))))
for reference in references:
    with st.expander(f"#{reference.id} · {reference.language} · {md(source_label(reference.source))} · {md(reference.text[:60])}"):
        edited = st.text_area(_("Text"), value=reference.text, key=f"references.text.{reference.id}", height=100)
        save, remove = st.columns(2)
        if save.button(_("Save"), key=f"references.save.{reference.id}") and run_use_case(
            curation.update_reference, user.id, reference_id=reference.id, text=edited
        ):
            st.rerun()
        if remove.button(_("Delete"), key=f"references.delete.{reference.id}") and run_use_case(
            curation.delete_reference, user.id, reference_id=reference.id
        ):
            st.rerun()
