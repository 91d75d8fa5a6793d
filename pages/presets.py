"""Presets: a project's frequent instructions with fixed answers, given without calling the model."""

import streamlit as st

from core.platform.db import open_session
from core.usecases import curation
from core.writing.presets import list_presets, match
from ui import auth, resources
from ui.actions import run_use_case
from ui.components import choose_project, source_label
from ui.forms import accepted, field
from ui.i18n import _, number
from ui.safe import md

user = auth.require_area("presets")
engine = resources.engine()
st.title(_("Preset answers"))
st.caption(_("A writer's instruction that matches a preset (compared without case, punctuation or extra spaces; "
           "or fuzzily, from a minimum similarity) is answered with the preset's text, without calling the model, "
           "and marked as a preset answer."))

project_id = choose_project("presets.project")

with st.expander(_("Add a preset"), expanded=False):
    with st.form("presets.add"):
        instruction = st.text_input(_("Instruction (as writers ask it)"), key=field("presets.add", "instruction"))
        answer = st.text_area(_("Answer"), height=120, key=field("presets.add", "answer"))
        similarity = st.number_input(_("Minimum similarity for a fuzzy match (0: exact match only; else 50–100)"),
                                     min_value=0.0, max_value=100.0, value=0.0, step=1.0,
                                     key=field("presets.add", "similarity"))
        if st.form_submit_button(_("Add preset"), type="primary") and run_use_case(
            curation.add_preset, user.id, project_id=project_id, instruction=instruction, answer=answer,
            min_similarity=similarity,
        ):
            accepted("presets.add")

with st.expander(_("Import from CSV (columns: instruction, answer, optional min_similarity)")):
    upload = st.file_uploader(_("CSV file"), type=["csv"], key="presets.upload")
    if upload is not None and st.button(_("Import"), key="presets.import"):
        result = run_use_case(curation.import_presets, user.id, project_id=project_id, filename=upload.name, content=upload.getvalue())
        if result:
            st.success(_("Imported: {created} new, {updated} updated.").format(created=result.value.created,
                                                                                 updated=result.value.updated))

probe = st.text_input(_("Try an instruction"), key="presets.probe", placeholder=_("e.g. What is the return policy?"))
if probe:
    with open_session(engine) as db:
        found = match(session=db, project_id=project_id, instruction=probe)
    if found is None:
        st.caption(_("No preset matches: the model would write the draft."))
    else:
        how = _("exact") if found.exact else _("similarity {value}").format(value=number(found.similarity, digits=0))
        st.success(_("Preset #{id} answers it ({how}).").format(id=found.preset_id, how=how))

with open_session(engine) as db:
    presets = list_presets(session=db, project_id=project_id)
st.subheader(_("Presets ({n})").format(n=number(len(presets))))
if not presets:
    st.info(_("This project has no preset yet. Add one, import a CSV, or make one from an approved draft on the Review page."))
for preset in presets:
    title = f"#{preset.id} · {md(preset.instruction[:80])}" + ("" if preset.enabled else _(" (off)"))
    with st.expander(_("{title} · used {n}×").format(title=title, n=number(preset.uses))):
        with st.form(f"presets.edit.{preset.id}"):
            new_instruction = st.text_input(_("Instruction"), value=preset.instruction)
            new_answer = st.text_area(_("Answer"), value=preset.answer, height=120)
            new_similarity = st.number_input(_("Minimum similarity (0: exact only)"), min_value=0.0, max_value=100.0,
                                             value=float(preset.min_similarity), step=1.0)
            enabled = st.checkbox(_("In use"), value=preset.enabled)
            if st.form_submit_button(_("Save")) and run_use_case(
                curation.update_preset, user.id, preset_id=preset.id, instruction=new_instruction, answer=new_answer,
                min_similarity=new_similarity, enabled=enabled,
            ):
                st.rerun()
        source = _("Source: {source}").format(source=md(source_label(preset.source)))
        if preset.source_draft_id:
            source += _(" (draft #{id})").format(id=preset.source_draft_id)
        st.caption(source)
        if st.button(_("Delete"), key=f"presets.delete.{preset.id}") and run_use_case(
            curation.delete_preset, user.id, preset_id=preset.id
        ):
            st.rerun()
