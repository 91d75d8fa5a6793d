"""Thresholds: per project, a versioned policy set from the reviewers' evidence, previewed before it applies;
the project's review rubric and the evidence per rubric item."""

import pandas as pd
import streamlit as st

from core.gate.checks import CHECK_LABELS, CHECK_METRICS, NO_REFERENCE, with_check_defaults
from core.gate.evidence import labeled_drafts
from core.gate.policies import current_policy, policy_history
from core.gate.route import preview_policy
from core.platform.constants import METRIC_LABELS, METRICS
from core.platform.db import open_session
from core.platform.errors import DraftgateError
from core.writing.projects import get_project
from ui import auth, resources
from ui.components import choose_project
from ui.i18n import _, error_text, ngettext, number, when
from ui.rubric import rubric_evidence_panel, rubric_panel
from ui.safe import md
from ui.thresholds import FLASH_KEY, apply_panel, evidence_panel, language_panel, policy_form, rule_name

user = auth.require_area("thresholds")
engine = resources.engine()
st.title(_("Thresholds"))
if FLASH_KEY in st.session_state:
    st.success(st.session_state.pop(FLASH_KEY))

project_id = choose_project("thresholds.project")
agreed_only = st.sidebar.toggle(
    _("Evidence: agreed verdicts only"), key="thresholds.agreed_only",
    help=_("Count a verdict only where a blind second reviewer agreed with it (the project's second review "
           "share, Dashboard); the other drafts count as not reviewed."))
with open_session(engine) as db:
    policy = current_policy(session=db, project_id=project_id)
    language = get_project(session=db, project_id=project_id).language
    rows = labeled_drafts(session=db, project_id=project_id, agreed_only=agreed_only)
    history = policy_history(session=db, project_id=project_id)
st.caption(_("Policy in force: version {version}{defaults} · {rule}").format(
    version=number(policy.version), defaults=_(" (defaults)") if policy.version == 0 else "", rule=rule_name(policy.rule)))

language_panel(user, project_id, language)
spec = policy_form(project_id, policy)
try:
    with open_session(engine) as db:
        preview = preview_policy(session=db, project_id=project_id, thresholds=spec.thresholds, rule=spec.rule,
                                 weights=spec.weights, composite_threshold=spec.composite_threshold)
except DraftgateError as err:
    st.error(md(error_text(err)))
else:
    st.metric(
        ngettext("Of the last {n} scored draft, sent to review", "Of the last {n} scored drafts, sent to review",
                 preview.drafts_considered).format(n=number(preview.drafts_considered)),
        preview.to_review_with_new, delta=preview.to_review_with_new - preview.to_review_now, delta_color="inverse",
        help=_("{n} with the policy in force").format(n=number(preview.to_review_now)),
    )
apply_panel(user, project_id, policy, spec)
evidence_panel(project_id, rows, spec)
rubric_evidence_panel(user, project_id)
rubric_panel(user, project_id)

if history:
    st.subheader(_("Versions"))
    st.dataframe(
        pd.DataFrame(
            [{_("version"): p.version, _("saved"): when(p.created_at, length="short"), _("rule"): rule_name(p.rule), _("note"): p.note,
              **{METRIC_LABELS[m]: p.thresholds.get(m) for m in METRICS},
              _("weights"): ", ".join(f"{METRIC_LABELS[m]}×{number(w)}" for m, w in (p.weights or {}).items()),
              _("composite"): p.composite_threshold,
              **{_("check: {label}").format(label=_(CHECK_LABELS[name])): with_check_defaults(p.thresholds).get(metric)
                 for name, metric in CHECK_METRICS.items()},
              _("no reference: to review"): with_check_defaults(p.thresholds).get(NO_REFERENCE) is not None}
             for p in history]
        ),
        hide_index=True,
    )
