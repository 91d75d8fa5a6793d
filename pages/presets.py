"""Presets: a project's frequent instructions with fixed answers, given without calling the model."""

import streamlit as st

from core.platform.db import open_session
from core.usecases import curation
from core.writing.presets import list_presets, match
from ui import auth, resources
from ui.actions import run_use_case
from ui.components import choose_project
from ui.forms import accepted, field
from ui.safe import md

user = auth.require_area("presets")
engine = resources.engine()
st.title("Preset answers")
st.caption("A writer's instruction that matches a preset (compared without case, punctuation or extra spaces; "
           "or fuzzily, from a minimum similarity) is answered with the preset's text, without calling the model, "
           "and marked as a preset answer.")

project_id = choose_project("presets.project")

with st.expander("Add a preset", expanded=False):
    with st.form("presets.add"):
        instruction = st.text_input("Instruction (as writers ask it)", key=field("presets.add", "instruction"))
        answer = st.text_area("Answer", height=120, key=field("presets.add", "answer"))
        similarity = st.number_input("Minimum similarity for a fuzzy match (0: exact match only; else 50–100)",
                                     min_value=0.0, max_value=100.0, value=0.0, step=1.0,
                                     key=field("presets.add", "similarity"))
        if st.form_submit_button("Add preset", type="primary") and run_use_case(
            curation.add_preset, user.id, project_id=project_id, instruction=instruction, answer=answer,
            min_similarity=similarity,
        ):
            accepted("presets.add")

with st.expander("Import from CSV (columns: instruction, answer, optional min_similarity)"):
    upload = st.file_uploader("CSV file", type=["csv"], key="presets.upload")
    if upload is not None and st.button("Import", key="presets.import"):
        result = run_use_case(curation.import_presets, user.id, project_id=project_id, filename=upload.name, content=upload.getvalue())
        if result:
            st.success(f"Imported: {result.value.created} new, {result.value.updated} updated.")

probe = st.text_input("Try an instruction", key="presets.probe", placeholder="e.g. What is the return policy?")
if probe:
    with open_session(engine) as db:
        found = match(session=db, project_id=project_id, instruction=probe)
    if found is None:
        st.caption("No preset matches: the model would write the draft.")
    else:
        st.success(f"Preset #{found.preset_id} answers it ({'exact' if found.exact else f'similarity {found.similarity:.0f}'}).")

with open_session(engine) as db:
    presets = list_presets(session=db, project_id=project_id)
st.subheader(f"Presets ({len(presets)})")
if not presets:
    st.info("This project has no preset yet. Add one, import a CSV, or make one from an approved draft on the Review page.")
for preset in presets:
    title = f"#{preset.id} · {md(preset.instruction[:80])}" + ("" if preset.enabled else " (off)")
    with st.expander(f"{title} · used {preset.uses}×"):
        with st.form(f"presets.edit.{preset.id}"):
            new_instruction = st.text_input("Instruction", value=preset.instruction)
            new_answer = st.text_area("Answer", value=preset.answer, height=120)
            new_similarity = st.number_input("Minimum similarity (0: exact only)", min_value=0.0, max_value=100.0,
                                             value=float(preset.min_similarity), step=1.0)
            enabled = st.checkbox("In use", value=preset.enabled)
            if st.form_submit_button("Save") and run_use_case(
                curation.update_preset, user.id, preset_id=preset.id, instruction=new_instruction, answer=new_answer,
                min_similarity=new_similarity, enabled=enabled,
            ):
                st.rerun()
        st.caption(f"Source: {md(preset.source)}" + (f" (draft #{preset.source_draft_id})" if preset.source_draft_id else ""))
        if st.button("Delete", key=f"presets.delete.{preset.id}") and run_use_case(
            curation.delete_preset, user.id, preset_id=preset.id
        ):
            st.rerun()
