"""The rubric on the Thresholds page: the editors' checklist for a project, and the evidence per
rubric item (how drafts marked failed score against those marked passed).

session_state keys (owned here): "thresholds.<project id>.rubric" (the text box),
"thresholds.rubric_metric" (the score the evidence reads), "thresholds.rubric_flash",
"thresholds.rubric_saved".
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core.gate.rules import format_score
from core.platform.constants import METRIC_LABELS, METRICS
from core.platform.models import User
from core.review.rubric import RUBRIC_MAX_ITEMS
from core.usecases import gate, review
from ui.actions import run_use_case
from ui.i18n import _, ngettext
from ui.safe import md

FLASH_KEY = "thresholds.rubric_flash"
SAVED_KEY = "thresholds.rubric_saved"  # the project whose rubric was just saved: the box is filled again


def rubric_panel(user: User, project_id: int) -> list[str]:
    """The project's rubric, edited one item per line; the rubric in force is returned."""
    done = run_use_case(review.rubric_of, user, project_id=project_id)
    rubric = done.value if done else []
    st.subheader(_("Rubric"))
    if FLASH_KEY in st.session_state:
        st.success(st.session_state.pop(FLASH_KEY))
    st.caption(_("A short checklist reviewers mark pass or fail with each decision (optional, at most "
                 "{n} items, e.g. Accuracy, Tone, Safety; names may be in any language). Changing it leaves earlier "
                 "decisions' marks as they were.").format(n=RUBRIC_MAX_ITEMS))
    key = f"thresholds.{project_id}.rubric"
    if st.session_state.pop(SAVED_KEY, None) == project_id:
        st.session_state[key] = "\n".join(rubric)  # the box shows the names as saved (cleaned)
    st.session_state.setdefault(key, "\n".join(rubric))
    typed = st.text_area(_("Rubric items, one per line"), key=key, height=120)
    names = [line.strip() for line in typed.splitlines() if line.strip()]
    if names != rubric and st.button(_("Save the rubric"), key="thresholds.save_rubric"):
        saved = run_use_case(review.set_rubric, user.id, project_id=project_id, names=names)
        if saved:
            n = len(saved.value.rubric)
            st.session_state[FLASH_KEY] = (ngettext("Rubric saved: {n} item.", "Rubric saved: {n} items.", n).format(n=n)
                                           if n else _("Rubric removed: reviewers mark nothing from now on."))
            st.session_state[SAVED_KEY] = project_id
            st.rerun()
    return rubric


def rubric_evidence_panel(user: User, project_id: int) -> None:
    """Per rubric item: how many decisions marked it failed or passed, and their scores side by side."""
    st.subheader(_("Evidence per rubric item"))
    metric = st.selectbox(_("Score"), list(METRICS), format_func=METRIC_LABELS.get, index=1, key="thresholds.rubric_metric")
    done = run_use_case(gate.rubric_evidence, user, project_id=project_id, metric=metric)
    if done is None:
        return
    items = done.value
    if not any(e.failed or e.passed for e in items):
        st.info(_("No decision has marked the rubric yet.") if items else _("This project has no rubric yet."))
        return
    label = METRIC_LABELS[metric]
    earlier = _(" (earlier rubric)")
    st.dataframe(pd.DataFrame([
        {_("item"): e.name + ("" if e.on_rubric else earlier), _("marked failed"): e.failed,
         _("marked passed"): e.passed, _("{metric} median, failed").format(metric=label): _shown(metric, e.failed_median),
         _("{metric} median, passed").format(metric=label): _shown(metric, e.passed_median)}
        for e in items
    ]), hide_index=True)
    failed, passed = _("failed"), _("passed")
    frame = pd.DataFrame([{"item": e.name, "mark": mark, "score": value}
                          for e in items for mark, values in ((failed, e.failed_values), (passed, e.passed_values))
                          for value in values])
    if not frame.empty:
        chart = alt.Chart(frame).mark_boxplot().encode(
            x=alt.X("score:Q", title=label), y=alt.Y("mark:N", title=None),
            color=alt.Color("mark:N", title=_("mark"),
                            scale=alt.Scale(domain=[failed, passed], range=["#ff4b4b", "#21c354"])),
            row=alt.Row("item:N", title=None),
        )
        st.altair_chart(chart, width="stretch")
    st.caption(md(_("An item whose failures score no lower on {metric} than its passes is one {metric} does not "
                    "see: a threshold on it will not catch those failures.").format(metric=label)))


def _shown(metric: str, value: float | None) -> str:
    return "–" if value is None else format_score(metric, value)
