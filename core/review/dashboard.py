"""The dashboard's figures: drafts, routing, reviews, scores, providers, over the last N days.

They are assembled from per-project, per-day figures (core.review.daily): the drafts in groups of
the same status, route, reasons, provider, model and cache use, the latencies of model answers,
score sums and counts per metric, the decisions. Those are stored per day and summarized again
only when a day's data changed, so a page reads about one row per project and day of the period
however many drafts it holds. Each figure is a list of flat dicts, ready for a chart.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import itemgetter

from sqlmodel import Session, select

from core.gate.policies import PRESET_PROVIDER
from core.platform import constants
from core.platform.models import DailySummary, Project, utcnow
from core.platform.states import DraftStatus, ReviewState, Route
from core.review import daily

Rows = list[dict]
# How the charts name where a completed draft went, and an approval after an edit.
ROUTE_LABELS = {Route.ACCEPTED: "accepted", Route.NEEDS_REVIEW: "needs review"}
TO_REVIEW, NOT_ROUTED, PRESET_ANSWER = ROUTE_LABELS[Route.NEEDS_REVIEW], "not routed", "preset answer"
EDITED_APPROVAL = daily.EDITED_APPROVAL


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
    *, session: Session, days: int = 30, project_id: int | None = None, now: datetime | None = None,
    summaries: bool = True,
) -> Dashboard:
    """The figures of the last `days` days; `summaries` False: computed from the drafts alone
    (the same figures, slower: what the stored daily summaries are tested against)."""
    now = now or utcnow()
    since = now - timedelta(days=days)
    figures = (daily.figures_since(session, since, project_id) if summaries
               else daily.live_figures(session, since, None, project_id))
    names = {p.id: p.name for p in session.exec(select(Project))}
    drafts = _drafts(figures, names)
    decided = [{"day": f.day, "verdict": verdict, "minutes": minutes} for f in figures for verdict, minutes in f.decisions]
    return Dashboard(
        days=days,
        totals=_totals(drafts, decided),
        drafts_per_day=_count_rows(drafts, ("day", "project"), "drafts"),
        routes_per_day=_count_rows(drafts, ("day", "route"), "drafts"),
        reasons=_reasons(drafts),
        decisions_per_day=_count_rows(decided, ("day", "verdict"), "items"),
        decision_times=_decision_times(decided),
        approval_per_day=_approval(decided),
        score_trends=_score_trends(figures, names),
        providers=_providers(drafts, _latencies(figures)),
        cache=_cache(drafts),
    )


def _drafts(figures: list[DailySummary], names: dict[int | None, str]) -> Rows:
    """The period's drafts in groups of the same day, project, status, route, reasons, provider,
    model and cache use; each group's `n` drafts and their tokens."""
    rows = []
    for f in figures:
        for status, route, reasons, provider, model, cache_hit, n, prompt, completion in f.drafts:
            if status != DraftStatus.COMPLETED:
                label = status
            elif provider == PRESET_PROVIDER:
                label = PRESET_ANSWER
            else:
                label = ROUTE_LABELS.get(route, NOT_ROUTED)
            rows.append({
                "day": f.day, "status": status, "route": label, "reasons": reasons,
                "provider": provider or "?", "model": model or "?", "n": n, "prompt_tokens": prompt,
                "completion_tokens": completion, "project": names.get(f.project_id, str(f.project_id)),
                "cache_hit": cache_hit,
            })
    return rows


def _latencies(figures: list[DailySummary]) -> dict[tuple[str, str], list[int]]:
    """(provider, model) -> the latencies of the period's model answers (no preset, no zero)."""
    latencies: dict[tuple[str, str], list[int]] = defaultdict(list)
    for f in figures:
        for provider, model, values in f.latencies:
            latencies[(provider or "?", model or "?")].extend(values)
    return latencies


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
    key_of = itemgetter(*keys)  # a tuple for two keys or more
    for row in rows:
        counts[key_of(row)] += row.get("n", 1)
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


def _score_trends(figures: list[DailySummary], names: dict[int | None, str]) -> Rows:
    """Mean score per day, project and metric of the period's completed drafts."""
    means = sorted(((f.day, names.get(f.project_id, str(f.project_id)), metric), total / n)
                   for f in figures for metric, total, n in f.scores if n)
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
