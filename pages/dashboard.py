"""Dashboard: drafts, routing, reviews, scores and providers over the last days (editors and admins)."""

import streamlit as st

from core.gate.rules import REASON_LABELS
from core.platform.constants import METRIC_LABELS, METRICS
from core.platform.db import open_session
from core.platform.wording import count, plural
from core.review.dashboard import build_dashboard
from core.writing.projects import list_projects
from ui import auth, resources
from ui.charts import bars, lines
from ui.components import percent
from ui.second_review import agreement_panel

user = auth.require_area("dashboard")
engine = resources.engine()
st.title("Dashboard")

with open_session(engine) as db:
    projects = {p.id: p.name for p in list_projects(session=db)}
filters = st.columns(2)
days = filters[0].selectbox("Period", [7, 30, 90, 365], index=1, format_func=lambda d: f"last {d} days", key="dashboard.days")
project_id = filters[1].selectbox("Project", [None, *projects], format_func=lambda p: projects.get(p, "All projects"),
                                  key="dashboard.project")
with open_session(engine) as db:
    board = build_dashboard(session=db, days=days, project_id=project_id)
totals = board.totals

cards = st.columns(6)
cards[0].metric("Drafts", totals["drafts"])
cards[1].metric("Sent to review", percent(totals["review_share"]))
cards[2].metric("Decisions", totals["decisions"])
cards[3].metric("Approval rate", percent(totals["approval_rate"]))
minutes = totals["median_minutes_to_decision"]
cards[4].metric("Median time to decision", "–" if minutes is None else f"{minutes:.0f} min")
cards[5].metric("Tokens", f"{totals['tokens']:,}")

st.subheader("Drafts and routing")
left, right = st.columns(2)
with left:
    bars(board.drafts_per_day, "day", "drafts", "project", title="Drafts per day")
with right:
    bars(board.routes_per_day, "day", "drafts", "route", title="Where drafts went (share per day)", normalize=True)
bars([{**r, "reason": REASON_LABELS.get(r["reason"], r["reason"])} for r in board.reasons], "reason", "drafts",
     title="Why drafts went to review", x_type="N")

st.subheader("Reviews")
left, right = st.columns(2)
with left:
    bars(board.decisions_per_day, "day", "items", "verdict", title="Decisions per day")
with right:
    lines(board.decision_times, "day", ["median_minutes", "p90_minutes"], title="Minutes from flag to decision")
lines(board.approval_per_day, "day", ["approval_rate"], title="Approval rate", percent=True, height=180)

st.subheader("Scores")
metric = st.selectbox("Metric", list(METRICS), format_func=METRIC_LABELS.get, index=1, key="dashboard.metric")
trend = [r for r in board.score_trends if r["metric"] == METRIC_LABELS[metric]]
lines(trend, "day", ["mean"], color="project", title=f"Mean {METRIC_LABELS[metric]} per day and project")

st.subheader("Providers and models")
providers = [{**r, "provider · model": f"{r['provider']} · {r['model']}"} for r in board.providers]
left, right = st.columns(2)
with left:
    bars([{"provider · model": r["provider · model"], "kind": kind, "tokens": r[f"{kind}_tokens"]}
          for r in providers for kind in ("prompt", "completion")], "provider · model", "tokens", "kind",
         title="Tokens used", x_type="N")
with right:
    bars([{"provider · model": r["provider · model"], "figure": name, "ms": r[key]} for r in providers
          for name, key in (("median", "median_latency_ms"), ("p95", "p95_latency_ms")) if r[key] is not None],
         "provider · model", "ms", "figure", title="Latency (ms)", x_type="N", grouped=True)
if board.cache["answers"]:
    st.metric("Cache hit rate", percent(board.cache["hit_rate"]),
              help=f"{board.cache['hits']} of {count(board.cache['answers'], 'model answer')} came from the response cache")
if totals["preset_answers"]:
    st.caption(f"{count(totals['preset_answers'], 'draft')} {plural(totals['preset_answers'], 'was', 'were')} "
               "answered from presets (no model call).")

agreement_panel(engine, user, project_id)
