"""Dashboard: drafts, routing, reviews, scores and providers over the last days (editors and admins)."""

import streamlit as st

from core.platform.constants import METRIC_LABELS, METRICS
from core.platform.db import open_session
from core.review.dashboard import build_dashboard
from core.writing.projects import list_projects
from ui import auth, resources
from ui.agreement import agreement_panel
from ui.charts import bars, lines
from ui.components import percent, reason_label
from ui.i18n import N_, _, ngettext, number
from ui.second_review import share_panel

# The values core.review.dashboard names routes, verdicts and token kinds by, as the legends show them.
VALUE_NAMES = {
    "accepted": N_("accepted"), "needs review": N_("needs review"), "not routed": N_("not routed"),
    "preset answer": N_("preset answer"), "approved": N_("approved"), "rejected": N_("rejected"),
    "approved (edited)": N_("approved (edited)"), "prompt": N_("prompt"), "completion": N_("completion"),
    "median": N_("median"), "p95": N_("p95"),
}


def value_name(value: str) -> str:
    return _(VALUE_NAMES[value]) if value in VALUE_NAMES else value


def named(rows: list[dict], field: str) -> list[dict]:
    return [{**row, field: value_name(row[field])} for row in rows]


user = auth.require_area("dashboard")
engine = resources.engine()
st.title(_("Dashboard"))

with open_session(engine) as db:
    projects = {p.id: p.name for p in list_projects(session=db)}
filters = st.columns(2)
periods = {d: ngettext("last {n} day", "last {n} days", d).format(n=number(d)) for d in (7, 30, 90, 365)}
days = filters[0].selectbox(_("Period"), list(periods), index=1, format_func=periods.get, key="dashboard.days")
project_names = {None: _("All projects"), **projects}  # made in the run: AppTest formats outside it
project_id = filters[1].selectbox(_("Project"), list(project_names), format_func=project_names.get,
                                  key="dashboard.project")
with open_session(engine) as db:
    board = build_dashboard(session=db, days=days, project_id=project_id)
totals = board.totals

cards = st.columns(6)
cards[0].metric(_("Drafts"), number(totals["drafts"]))
cards[1].metric(_("Sent to review"), percent(totals["review_share"]))
cards[2].metric(_("Decisions"), number(totals["decisions"]))
cards[3].metric(_("Approval rate"), percent(totals["approval_rate"]))
minutes = totals["median_minutes_to_decision"]
cards[4].metric(_("Median time to decision"),
                "–" if minutes is None else _("{n} min").format(n=number(round(minutes))))
cards[5].metric(_("Tokens"), number(totals["tokens"]))

st.subheader(_("Drafts and routing"))
left, right = st.columns(2)
with left:
    bars(board.drafts_per_day, "day", "drafts", "project", title=_("Drafts per day"))
with right:
    bars(named(board.routes_per_day, "route"), "day", "drafts", "route", title=_("Where drafts went (share per day)"),
         normalize=True)
bars([{**r, "reason": reason_label(r["reason"])} for r in board.reasons], "reason", "drafts",
     title=_("Why drafts went to review"), x_type="N")

st.subheader(_("Reviews"))
left, right = st.columns(2)
with left:
    bars(named(board.decisions_per_day, "verdict"), "day", "items", "verdict", title=_("Decisions per day"))
with right:
    lines(board.decision_times, "day", ["median_minutes", "p90_minutes"], title=_("Minutes from flag to decision"))
lines(board.approval_per_day, "day", ["approval_rate"], title=_("Approval rate"), percent=True, height=180)

st.subheader(_("Scores"))
metric = st.selectbox(_("Metric"), list(METRICS), format_func=METRIC_LABELS.get, index=1, key="dashboard.metric")
trend = [r for r in board.score_trends if r["metric"] == METRIC_LABELS[metric]]
lines(trend, "day", ["mean"], color="project",
      title=_("Mean {metric} per day and project").format(metric=METRIC_LABELS[metric]))

st.subheader(_("Providers and models"))
providers = [{**r, "provider · model": f"{r['provider']} · {r['model']}"} for r in board.providers]
left, right = st.columns(2)
with left:
    bars([{"provider · model": r["provider · model"], "kind": value_name(kind), "tokens": r[f"{kind}_tokens"]}
          for r in providers for kind in ("prompt", "completion")], "provider · model", "tokens", "kind",
         title=_("Tokens used"), x_type="N")
with right:
    bars([{"provider · model": r["provider · model"], "figure": value_name(name), "ms": r[key]} for r in providers
          for name, key in (("median", "median_latency_ms"), ("p95", "p95_latency_ms")) if r[key] is not None],
         "provider · model", "ms", "figure", title=_("Latency (ms)"), x_type="N", grouped=True)
if board.cache["answers"]:
    answers = board.cache["answers"]
    st.metric(_("Cache hit rate"), percent(board.cache["hit_rate"]),
              help=ngettext("{hits} of {n} model answer came from the response cache",
                            "{hits} of {n} model answers came from the response cache", answers).format(
                  hits=number(board.cache["hits"]), n=number(answers)))
if totals["preset_answers"]:
    presets = totals["preset_answers"]
    st.caption(ngettext("{n} draft was answered from presets (no model call).",
                        "{n} drafts were answered from presets (no model call).", presets).format(n=number(presets)))

agreement_panel(user, project_id, days)
share_panel(engine, user)
