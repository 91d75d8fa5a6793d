"""Thresholds: per project and metric, with the score distributions and the review load they cause."""

import altair as alt
import pandas as pd
import streamlit as st

from core.constants import METRIC_LABELS, METRIC_MAX, METRICS
from core.db import open_session
from core.errors import DraftgateError
from core.policies import current_policy, policy_history, preview_policy, recent_scores, save_policy
from core.projects import list_projects
from ui import auth, resources

user = auth.require_area("thresholds")
engine = resources.engine()
st.title("Thresholds")

with open_session(engine) as db:
    projects = {p.id: p.name for p in list_projects(session=db)}
if not projects:
    st.info("No project yet: create one on the References page.")
    st.stop()
project_id = st.selectbox("Project", list(projects), format_func=projects.get, key="thresholds.project")
with open_session(engine) as db:
    policy = current_policy(session=db, project_id=project_id)
    rows = recent_scores(session=db, project_id=project_id)
    history = policy_history(session=db, project_id=project_id)
st.caption(f"Policy in force: version {policy.version}" + (" (defaults)" if policy.version == 0 else ""))

new_thresholds: dict[str, float | None] = {}
scores = pd.DataFrame(rows, columns=list(METRICS))
for metric in METRICS:
    label, current = METRIC_LABELS[metric], policy.thresholds.get(metric)
    key = f"thresholds.{project_id}.{metric}"
    left, right = st.columns([1, 2])
    enabled = left.checkbox(f"Route on {label}", value=current is not None, key=key + ".on")
    value = left.number_input(
        f"{label} threshold (0–{METRIC_MAX[metric]:g})", min_value=0.0, max_value=METRIC_MAX[metric],
        value=float(current if current is not None else METRIC_MAX[metric] / 4),
        step=METRIC_MAX[metric] / 100, key=key + ".value", disabled=not enabled,
    )
    new_thresholds[metric] = float(value) if enabled else None
    values = scores[[metric]].dropna()
    if values.empty:
        right.caption(f"No {label} scores yet.")
        continue
    histogram = alt.Chart(values).mark_bar().encode(
        x=alt.X(f"{metric}:Q", bin=alt.Bin(maxbins=20, extent=[0, METRIC_MAX[metric]]), title=label,
                scale=alt.Scale(domain=[0, METRIC_MAX[metric]])), y=alt.Y("count()", title="drafts")
    )
    layers = [histogram]
    if enabled:
        layers.append(alt.Chart(pd.DataFrame({"t": [value]})).mark_rule(color="red", strokeWidth=2).encode(x="t:Q"))
    right.altair_chart(alt.layer(*layers).properties(height=140), use_container_width=True)

with open_session(engine) as db:
    preview = preview_policy(session=db, project_id=project_id, thresholds=new_thresholds)
st.metric(
    f"Of the last {preview.drafts_considered} scored drafts, sent to review",
    preview.to_review_with_new, delta=preview.to_review_with_new - preview.to_review_now, delta_color="inverse",
    help=f"{preview.to_review_now} with the policy in force",
)
note = st.text_input("Note for this change (optional)", key="thresholds.note")
if st.button("Save as new version", type="primary", key="thresholds.save"):
    try:
        with open_session(engine) as db:
            saved = save_policy(session=db, project_id=project_id, thresholds=new_thresholds, author_id=user.id, note=note)
    except DraftgateError as err:
        st.error(str(err))
    else:
        st.success(f"Saved version {saved.version}.")
        st.rerun()

if history:
    st.subheader("Versions")
    st.dataframe(
        pd.DataFrame(
            [{"version": p.version, "saved": p.created_at, "note": p.note,
              **{METRIC_LABELS[m]: p.thresholds.get(m) for m in METRICS}} for p in history]
        ),
        hide_index=True,
    )
