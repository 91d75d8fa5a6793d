"""The dashboard's figures: drafts, routing, reviews, scores, providers, over the last N days.

The database aggregates (GROUP BY the UTC day, project, status, route, provider...): the
drafts of the period come back as a few hundred groups, not one row each, and the mean
scores as one row per day, project and metric. Only what a median needs is read row by row
(minutes to a decision, provider latencies: small numbers, no text). Each figure is a list
of flat dicts, ready for a chart.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Text, and_, cast
from sqlmodel import Session, col, func, select

from core.gate.policies import PRESET_PROVIDER
from core.platform import constants
from core.platform.models import Draft, Project, ReviewItem, Score, Turn, WritingSession, utcnow
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
    period = _period(session, since, project_id)
    drafts = _drafts(session, period)
    decided = _decisions(session, since, project_id)
    return Dashboard(
        days=days,
        totals=_totals(drafts, decided),
        drafts_per_day=_count_rows(drafts, ("day", "project"), "drafts"),
        routes_per_day=_count_rows(drafts, ("day", "route"), "drafts"),
        reasons=_reasons(drafts),
        decisions_per_day=_count_rows(decided, ("day", "verdict"), "items"),
        decision_times=_decision_times(decided),
        approval_per_day=_approval(decided),
        score_trends=_score_trends(session, period),
        providers=_providers(drafts, _latencies(session, period)),
        cache=_cache(drafts),
    )


def utc_day(session: Session, column: Any) -> Any:
    """SQL: the UTC date of a stored time (SQLite keeps UTC text; PostgreSQL a timestamptz)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)


def _iso(day: Any) -> str:
    return day if isinstance(day, str) else day.isoformat()


@dataclass(frozen=True)
class Period:
    since: datetime
    project_id: int | None
    # the smallest draft and turn ids of the period's drafts (None: no draft): every draft of the
    # period, its turn and its scores are at or above them, which lets the database read those
    # tables by a range of their index instead of hashing them whole
    first_draft_id: int | None
    first_turn_id: int | None


def _period(session: Session, since: datetime, project_id: int | None) -> Period:
    first = session.exec(select(func.min(Draft.id), func.min(Draft.turn_id)).where(col(Draft.created_at) >= since)).one()
    return Period(since, project_id, *first)


def _in_period(query: Any, period: Period) -> Any:
    """The drafts of the period (and of the project), joined to their session for its project."""
    query = (
        query.join(Turn, col(Turn.id) == Draft.turn_id)
        .join(WritingSession, col(WritingSession.id) == Turn.session_id)
        .where(col(Draft.created_at) >= period.since, col(Draft.id) >= (period.first_draft_id or 0),
               col(Turn.id) >= (period.first_turn_id or 0))
    )
    return query if period.project_id is None else query.where(WritingSession.project_id == period.project_id)


def _drafts(session: Session, period: Period) -> Rows:
    """The period's drafts in groups of the same day, project, status, route, reasons, provider,
    model and cache use; each group's `n` drafts and their tokens."""
    day, reasons = utc_day(session, Draft.created_at), cast(Draft.route_reasons, Text)
    keys = (day, WritingSession.project_id, Draft.status, Draft.route, reasons, Draft.provider, Draft.model, Draft.cache_hit)
    if period.first_draft_id is None:
        return []
    query = _in_period(
        select(  # type: ignore[call-overload]  # sqlmodel's select() is typed for at most 4 columns
            *keys, func.count(), func.sum(Draft.prompt_tokens), func.sum(Draft.completion_tokens)),
        period).group_by(*keys)
    names = {p.id: p.name for p in session.exec(select(Project))}
    rows = []
    for (created, project, status, route, listed, provider, model, cache_hit, n, prompt, completion) in session.exec(query):
        if status != DraftStatus.COMPLETED:
            label = status
        elif provider == PRESET_PROVIDER:
            label = PRESET_ANSWER
        else:
            label = ROUTE_LABELS.get(route, NOT_ROUTED)
        rows.append({
            "day": _iso(created), "status": status, "route": label, "reasons": json.loads(listed or "[]"),
            "provider": provider or "?", "model": model or "?", "n": n, "prompt_tokens": prompt or 0,
            "completion_tokens": completion or 0, "project": names.get(project, str(project)), "cache_hit": bool(cache_hit),
        })
    return rows


def _latencies(session: Session, period: Period) -> dict[tuple[str, str], list[int]]:
    """(provider, model) -> the latencies of the period's model answers (no preset, no zero)."""
    if period.first_draft_id is None:
        return {}
    query = _in_period(select(Draft.provider, Draft.model, Draft.latency_ms), period).where(
        Draft.status == DraftStatus.COMPLETED, Draft.provider != PRESET_PROVIDER, col(Draft.latency_ms) > 0)
    latencies: dict[tuple[str, str], list[int]] = defaultdict(list)
    for provider, model, latency in session.exec(query):
        latencies[(provider or "?", model or "?")].append(latency)
    return latencies


def _decisions(session: Session, since: datetime, project_id: int | None) -> Rows:
    edited = and_(col(ReviewItem.edited_text).is_not(None), col(ReviewItem.edited_text) != "")
    query = select(ReviewItem.state, ReviewItem.created_at, ReviewItem.decided_at, edited).where(
        col(ReviewItem.decided_at) >= since, col(ReviewItem.state).in_(VERDICTS)
    )
    if project_id is not None:
        query = query.where(ReviewItem.project_id == project_id)
    return [
        {"day": _utc(decided).date().isoformat(),
         "verdict": EDITED_APPROVAL if state == ReviewState.APPROVED and was_edited else state,
         "minutes": (_utc(decided) - _utc(created)).total_seconds() / 60}
        for state, created, decided, was_edited in session.exec(query) if decided is not None
    ]


def _utc(moment: datetime) -> datetime:
    """A naive time from the database is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _totals(drafts: Rows, decided: Rows) -> dict:
    routed = sum(d["n"] for d in drafts if d["route"] in ROUTE_LABELS.values())
    approved = sum(d["verdict"] != ReviewState.REJECTED for d in decided)
    minutes = [d["minutes"] for d in decided]
    return {
        "drafts": sum(d["n"] for d in drafts),
        "review_share": sum(d["n"] for d in drafts if d["route"] == TO_REVIEW) / routed if routed else None,
        "decisions": len(decided),
        "approval_rate": approved / len(decided) if decided else None,
        "median_minutes_to_decision": statistics.median(minutes) if minutes else None,
        "tokens": sum(d["prompt_tokens"] + d["completion_tokens"] for d in drafts),
        "preset_answers": sum(d["n"] for d in drafts if d["route"] == PRESET_ANSWER),
    }


def _count_rows(rows: Rows, keys: tuple[str, ...], name: str) -> Rows:
    counts: Counter[tuple] = Counter()
    for row in rows:
        counts[tuple(row[k] for k in keys)] += row.get("n", 1)
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


def _reasons(drafts: Rows) -> Rows:
    counts: Counter[str] = Counter()
    for d in drafts:
        if d["route"] == TO_REVIEW:
            for reason in d["reasons"]:
                counts[reason] += d["n"]
    return [{"reason": reason, "drafts": n} for reason, n in counts.most_common()]


def _score_trends(session: Session, period: Period) -> Rows:
    """Mean score per day, project and metric of the period's completed drafts (GROUP BY)."""
    if period.first_draft_id is None:
        return []
    day = utc_day(session, Draft.created_at)
    keys = (day, WritingSession.project_id, Score.metric)
    query = _in_period(select(*keys, func.avg(Score.value)).join(Score, col(Score.draft_id) == Draft.id), period)
    query = query.where(Draft.status == DraftStatus.COMPLETED, col(Score.draft_id) >= period.first_draft_id,
                        col(Score.value).is_not(None),
                        col(Score.metric).in_(constants.METRICS)).group_by(*keys)
    names = {p.id: p.name for p in session.exec(select(Project))}
    means = sorted(((_iso(created), names.get(project, str(project)), metric), float(mean))
                   for created, project, metric, mean in session.exec(query))
    return [{"day": day, "project": project, "metric": constants.METRIC_LABELS[metric],
             "mean": mean, "scaled_mean": mean / constants.METRIC_MAX[metric]}
            for (day, project, metric), mean in means]


def _providers(drafts: Rows, latencies: dict[tuple[str, str], list[int]]) -> Rows:
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for d in drafts:
        if d["status"] == DraftStatus.COMPLETED and d["provider"] != PRESET_PROVIDER:
            groups[(d["provider"], d["model"])].append(d)
    rows = []
    for (provider, model), items in sorted(groups.items()):
        measured = latencies.get((provider, model), [])
        rows.append({
            "provider": provider, "model": model, "drafts": sum(d["n"] for d in items),
            "prompt_tokens": sum(d["prompt_tokens"] for d in items),
            "completion_tokens": sum(d["completion_tokens"] for d in items),
            "median_latency_ms": statistics.median(measured) if measured else None,
            "p95_latency_ms": _percentile(measured, 0.95) if measured else None,
        })
    return rows


def _cache(drafts: Rows) -> dict:
    answers = [d for d in drafts if d["status"] == DraftStatus.COMPLETED and d["provider"] != PRESET_PROVIDER]
    hits, total = sum(d["n"] for d in answers if d["cache_hit"]), sum(d["n"] for d in answers)
    return {"hits": hits, "answers": total, "hit_rate": hits / total if total else None}


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]
