"""References: projects and their reference texts; add, edit, delete, import CSV or JSONL."""

import streamlit as st

from core.db import open_session
from core.errors import DraftgateError
from core.projects import (
    add_reference, create_project, delete_reference, import_references, list_projects, list_references,
    update_reference,
)
from ui import auth, resources

user = auth.require_area("references")
engine = resources.engine()
st.title("References")


def run(action, **kwargs):
    try:
        with open_session(engine) as db:
            return action(session=db, **kwargs) or True
    except DraftgateError as err:
        st.error(str(err))
        return None


with st.expander("New project"):
    with st.form("references.new_project", clear_on_submit=True):
        name = st.text_input("Name", max_chars=200)
        description = st.text_input("Description")
        if st.form_submit_button("Create project") and run(create_project, name=name, description=description, actor_id=user.id):
            st.rerun()

with open_session(engine) as db:
    projects = {p.id: p.name for p in list_projects(session=db)}
if not projects:
    st.info("Create a first project above.")
    st.stop()
project_id = st.selectbox("Project", list(projects), format_func=projects.get, key="references.project")

with st.form("references.add", clear_on_submit=True):
    text = st.text_area("New reference text", height=100)
    if st.form_submit_button("Add reference") and run(add_reference, project_id=project_id, text=text, actor_id=user.id):
        st.rerun()

upload = st.file_uploader(
    "Import references: CSV with a 'text' column, or JSONL with a 'text' field per line (all rows or none)",
    type=["csv", "jsonl"], key="references.upload",
)
if upload is not None and st.button("Import file", key="references.import"):
    imported = run(import_references, project_id=project_id, filename=upload.name, content=upload.getvalue(), actor_id=user.id)
    if imported is not None:
        st.success(f"Imported {len(imported)} references from {upload.name}.")

with open_session(engine) as db:
    references = list_references(session=db, project_id=project_id)
st.subheader(f"{len(references)} references")
for reference in references:
    with st.expander(f"#{reference.id} · {reference.language} · {reference.source} · {reference.text[:60]}"):
        edited = st.text_area("Text", value=reference.text, key=f"references.text.{reference.id}", height=100)
        save, remove = st.columns(2)
        if save.button("Save", key=f"references.save.{reference.id}") and run(
            update_reference, reference_id=reference.id, text=edited, actor_id=user.id
        ):
            st.rerun()
        if remove.button("Delete", key=f"references.delete.{reference.id}") and run(
            delete_reference, reference_id=reference.id, actor_id=user.id
        ):
            st.rerun()
