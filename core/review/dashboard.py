"""The dashboard's figures: drafts, routing, reviews, scores, providers, over the last N days.

Everything is aggregated here in Python from plain rows (portable across SQLite and
PostgreSQL date functions), over at most DASHBOARD_MAX_DRAFTS drafts, newest first. Days
are UTC dates. Each figure is a list of flat dicts, ready for a chart.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from core.gate.policies import PRESET_PROVIDER
from core.gate.scores import scores_by_draft
from core.platform import constants
from core.platform.models import Draft, Project, ReviewItem, Turn, WritingSession, utcnow
from core.platform.states import DraftStatus, ReviewState, Route
from core.review.items import VERDICTS

Rows = list[dict]
# How the charts name where a completed draft went, and an approval after an edit.
ROUTE_LABELS = {Route.ACCEPTED: "accepted", Route.NEEDS_REVIEW: "needs review"}
TO_REVIEW, NOT_ROUTED, PRESET_ANSWER = ROUTE_LABELS[Route.NEEDS_REVIEW], "not routed", "preset answer"
EDITED_APPROVAL = "approved (edited)"


@dataclass(frozen=True)
class Dashboard:
    days: int
    totals: dict = field(default_factory=dict)
    drafts_per_day: Rows = field(default_factory=list)  # day, project, drafts
    routes_per_day: Rows = field(default_factory=list)  # day, route, drafts
    reasons: Rows = field(default_factory=list)  # reason, drafts
    decisions_per_day: Rows = field(default_factory=list)  # day, verdict, items
    decision_times: Rows = field(default_factory=list)  # day, median_minutes, p90_minutes
    approval_per_day: Rows = field(default_factory=list)  # day, approved, rejected, approval_rate
    score_trends: Rows = field(default_factory=list)  # day, project, metric, mean
    providers: Rows = field(default_factory=list)  # provider, model, drafts, tokens, latency
    cache: dict = field(default_factory=dict)  # hits, answers (model answers), hit_rate


def build_dashboard(
    *, session: Session, days: int = 30, project_id: int | None = None, now: datetime | None = None
) -> Dashboard:
    now = now or utcnow()
    since = now - timedelta(days=days)
    drafts = _drafts(session, since, project_id)
    decided = _decisions(session, since, project_id)
    return Dashboard(
        days=days,
        totals=_totals(drafts, decided),
        drafts_per_day=_count_rows(drafts, ("day", "project"), "drafts"),
        routes_per_day=_count_rows(drafts, ("day", "route"), "drafts"),
        reasons=[{"reason": reason, "drafts": n} for reason, n in
                 Counter(r for d in drafts if d["route"] == TO_REVIEW for r in d["reasons"]).most_common()],
        decisions_per_day=_count_rows(decided, ("day", "verdict"), "items"),
        decision_times=_decision_times(decided),
        approval_per_day=_approval(decided),
        score_trends=_score_trends(session, drafts),
        providers=_providers(drafts),
        cache=_cache(drafts),
    )


def _drafts(session: Session, since: datetime, project_id: int | None) -> Rows:
    columns = [Draft.id, Draft.created_at, Draft.status, Draft.route, Draft.route_reasons, Draft.provider, Draft.model,
               Draft.prompt_tokens, Draft.completion_tokens, Draft.latency_ms, WritingSession.project_id, Draft.cache_hit]
    query = (
        select(*columns)
        .join(Turn, col(Turn.id) == Draft.turn_id)
        .join(WritingSession, col(WritingSession.id) == Turn.session_id)
        .where(col(Draft.created_at) >= since)
        .order_by(col(Draft.id).desc())
        .limit(constants.DASHBOARD_MAX_DRAFTS)
    )
    if project_id is not None:
        query = query.where(WritingSession.project_id == project_id)
    names = {p.id: p.name for p in session.exec(select(Project))}
    rows = []
    for row in session.exec(query):
        (draft_id, created, status, route, reasons, provider, model, prompt, completion, latency, project, cache_hit) = row
        if status != DraftStatus.COMPLETED:
            label = status
        elif provider == PRESET_PROVIDER:
            label = PRESET_ANSWER
        else:
            label = ROUTE_LABELS.get(route, NOT_ROUTED)
        rows.append({
            "id": draft_id, "day": created.date().isoformat(), "status": status, "route": label,
            "reasons": list(reasons or []), "provider": provider or "?", "model": model or "?",
            "prompt_tokens": prompt, "completion_tokens": completion, "latency_ms": latency,
            "project": names.get(project, str(project)), "cache_hit": bool(cache_hit),
        })
    return rows


def _decisions(session: Session, since: datetime, project_id: int | None) -> Rows:
    query = select(ReviewItem.state, ReviewItem.created_at, ReviewItem.decided_at, ReviewItem.edited_text).where(
        col(ReviewItem.decided_at) >= since, col(ReviewItem.state).in_(VERDICTS)
    )
    if project_id is not None:
        query = query.where(ReviewItem.project_id == project_id)
    return [
        {"day": decided.date().isoformat(),
         "verdict": EDITED_APPROVAL if state == ReviewState.APPROVED and edited else state,
         "minutes": (decided - created).total_seconds() / 60}
        for state, created, decided, edited in session.exec(query)
    ]


def _totals(drafts: Rows, decided: Rows) -> dict:
    routed = [d for d in drafts if d["route"] in ROUTE_LABELS.values()]
    approved = sum(d["verdict"] != ReviewState.REJECTED for d in decided)
    minutes = [d["minutes"] for d in decided]
    return {
        "drafts": len(drafts),
        "review_share": sum(d["route"] == TO_REVIEW for d in routed) / len(routed) if routed else None,
        "decisions": len(decided),
        "approval_rate": approved / len(decided) if decided else None,
        "median_minutes_to_decision": statistics.median(minutes) if minutes else None,
        "tokens": sum(d["prompt_tokens"] + d["completion_tokens"] for d in drafts),
        "preset_answers": sum(d["route"] == PRESET_ANSWER for d in drafts),
    }


def _count_rows(rows: Rows, keys: tuple[str, ...], name: str) -> Rows:
    counts = Counter(tuple(row[k] for k in keys) for row in rows)
    return [{**dict(zip(keys, key)), name: n} for key, n in sorted(counts.items())]


def _decision_times(decided: Rows) -> Rows:
    by_day: dict[str, list[float]] = defaultdict(list)
    for row in decided:
        by_day[row["day"]].append(row["minutes"])
    return [{"day": day, "median_minutes": statistics.median(v), "p90_minutes": _percentile(v, 0.9)}
            for day, v in sorted(by_day.items())]


def _approval(decided: Rows) -> Rows:
    approved, rejected = ReviewState.APPROVED, ReviewState.REJECTED
    by_day: dict[str, Counter] = defaultdict(Counter)
    for row in decided:
        by_day[row["day"]][rejected if row["verdict"] == rejected else approved] += 1
    return [{"day": day, approved.value: c[approved], rejected.value: c[rejected],
             "approval_rate": c[approved] / (c[approved] + c[rejected])} for day, c in sorted(by_day.items())]


def _score_trends(session: Session, drafts: Rows) -> Rows:
    by_id = {d["id"]: d for d in drafts if d["status"] == DraftStatus.COMPLETED}
    ids = list(by_id)
    sums: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for draft_id, values in scores_by_draft(session, ids).items():
        draft = by_id[draft_id]
        for metric, value in values.items():
            if value is not None and metric in constants.METRICS:
                sums[(draft["day"], draft["project"], metric)].append(value)
    return [{"day": day, "project": project, "metric": constants.METRIC_LABELS[metric],
             "mean": statistics.fmean(v), "scaled_mean": statistics.fmean(v) / constants.METRIC_MAX[metric]}
            for (day, project, metric), v in sorted(sums.items())]


def _providers(drafts: Rows) -> Rows:
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for d in drafts:
        if d["status"] == DraftStatus.COMPLETED and d["provider"] != PRESET_PROVIDER:
            groups[(d["provider"], d["model"])].append(d)
    rows = []
    for (provider, model), items in sorted(groups.items()):
        latencies = [d["latency_ms"] for d in items if d["latency_ms"]]
        rows.append({
            "provider": provider, "model": model, "drafts": len(items),
            "prompt_tokens": sum(d["prompt_tokens"] for d in items),
            "completion_tokens": sum(d["completion_tokens"] for d in items),
            "median_latency_ms": statistics.median(latencies) if latencies else None,
            "p95_latency_ms": _percentile(latencies, 0.95) if latencies else None,
        })
    return rows


def _cache(drafts: Rows) -> dict:
    answers = [d for d in drafts if d["status"] == DraftStatus.COMPLETED and d["provider"] != PRESET_PROVIDER]
    hits = sum(bool(d["cache_hit"]) for d in answers)
    return {"hits": hits, "answers": len(answers), "hit_rate": hits / len(answers) if answers else None}


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]
