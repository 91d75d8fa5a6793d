"""The dashboard's figures per project and UTC day, summarized once and kept up to date.

    live_figures(session, start, end)  a DailySummary per project and day of the drafts created and
                                       the items decided in [start, end), computed from the drafts,
                                       scores and review items by GROUP BY (nothing is stored)
    figures_since(session, since)      the same from `since` on, read from the stored summaries:
                                       a day whose data changed since it was summarized (its
                                       SummaryDay version moved) is summarized again first, and the
                                       day `since` falls in, which the period cuts, is computed live
    rebuild(engine)                    mark every day with data and summarize it again (`python -m
                                       core summaries --rebuild`)

Triggers in the database (migration 0012) move a day's version in the same transaction as any
change of its drafts, scores or decisions, whichever code makes it. Summarizing a day reads it
first and then, in a short transaction of its own, stores the figures only if the version it
read is still the day's: a change that lands meanwhile leaves the day to be summarized again.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Text, and_, cast, delete, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from core.gate.policies import PRESET_PROVIDER
from core.platform import constants
from core.platform.db import open_session
from core.platform.errors import DatabaseBusyError
from core.platform.models import DailySummary, Draft, ReviewItem, Score, SummaryDay, Turn, WritingSession
from core.platform.states import DraftStatus, ReviewState
from core.review.items import VERDICTS

EDITED_APPROVAL = "approved (edited)"
ONE_DAY = timedelta(days=1)


def utc_day(session: Session, column: Any) -> Any:
    """SQL: the UTC date of a stored time (SQLite keeps UTC text; PostgreSQL a timestamptz)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)


def iso_day(day: Any) -> str:
    """A day as utc_day() returns it (SQLite: text; PostgreSQL: a date), as ISO text."""
    return day if isinstance(day, str) else day.isoformat()


def _utc(moment: datetime) -> datetime:
    """A naive time from the database is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# -- computed from the drafts -----------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime | None  # None: no end
    project_id: int | None
    # the smallest and largest draft and turn ids of the period's drafts (None: no draft): every
    # draft of the period, its turn and its scores are between them, which lets the database read
    # those tables by a range of their index instead of hashing them whole
    first_draft_id: int | None
    first_turn_id: int | None
    last_draft_id: int | None
    last_turn_id: int | None


def _created_in(start: datetime, end: datetime | None) -> Any:
    created = col(Draft.created_at) >= start
    return created if end is None else and_(created, col(Draft.created_at) < end)


def _period(session: Session, start: datetime, end: datetime | None, project_id: int | None) -> Period:
    bounds: list[Any] = [func.min(Draft.id), func.min(Draft.turn_id), func.max(Draft.id), func.max(Draft.turn_id)]
    return Period(start, end, project_id, *session.exec(select(*bounds).where(_created_in(start, end))).one())


def _in_period(query: Any, period: Period) -> Any:
    """The drafts of the period (and of the project), joined to their session for its project."""
    query = (
        query.join(Turn, col(Turn.id) == Draft.turn_id)
        .join(WritingSession, col(WritingSession.id) == Turn.session_id)
        .where(_created_in(period.start, period.end),
               col(Draft.id).between(period.first_draft_id or 0, period.last_draft_id or 0),
               col(Turn.id).between(period.first_turn_id or 0, period.last_turn_id or 0))
    )
    return query if period.project_id is None else query.where(WritingSession.project_id == period.project_id)


Figures = dict[tuple[int, str], DailySummary]


def live_figures(session: Session, start: datetime, end: datetime | None = None,
                 project_id: int | None = None) -> list[DailySummary]:
    """A DailySummary (not stored) per project and UTC day with drafts created or items decided in
    [start, end) (no end: up to the newest), of one project or of all."""
    period = _period(session, start, end, project_id)
    figures: Figures = {}

    def of(project: int, day: Any) -> DailySummary:
        key = (project, iso_day(day))
        if key not in figures:
            figures[key] = DailySummary(project_id=project, day=key[1], drafts=[], latencies=[], scores=[],
                                        decisions=[])
        return figures[key]

    if period.first_draft_id is not None:
        _add_drafts(session, period, of)
        _add_latencies(session, period, of)
        _add_scores(session, period, of)
    _add_decisions(session, period, of)
    return [figures[key] for key in sorted(figures)]


def _add_drafts(session: Session, period: Period, of: Any) -> None:
    """The drafts in groups of the same day, project, status, route, reasons, provider, model and
    cache use: [status, route, reasons, provider, model, cache_hit, drafts, prompt tokens, completion tokens]."""
    day, reasons = utc_day(session, Draft.created_at), cast(Draft.route_reasons, Text)
    keys: list[Any] = [day, WritingSession.project_id, Draft.status, Draft.route, reasons, Draft.provider, Draft.model,
                       Draft.cache_hit]
    counts: list[Any] = [func.count(), func.sum(Draft.prompt_tokens), func.sum(Draft.completion_tokens)]
    query = _in_period(select(*keys, *counts), period).group_by(*keys)
    for created, project, status, route, listed, provider, model, cache_hit, n, prompt, completion in session.exec(query):
        of(project, created).drafts.append([status, route, json.loads(listed or "[]"), provider, model, bool(cache_hit),
                                            n, prompt or 0, completion or 0])


def _add_latencies(session: Session, period: Period, of: Any) -> None:
    """The latencies of the model answers (no preset, no zero): [provider, model, [ms, ...]]."""
    day = utc_day(session, Draft.created_at)
    columns: list[Any] = [day, WritingSession.project_id, Draft.provider, Draft.model, Draft.latency_ms]
    query = _in_period(select(*columns), period).where(
        Draft.status == DraftStatus.COMPLETED, Draft.provider != PRESET_PROVIDER, col(Draft.latency_ms) > 0)
    grouped: dict[tuple, list[int]] = defaultdict(list)
    for created, project, provider, model, latency in session.exec(query):
        grouped[(project, iso_day(created), provider, model)].append(latency)
    for (project, created, provider, model), values in sorted(grouped.items()):
        of(project, created).latencies.append([provider, model, sorted(values)])


def _add_scores(session: Session, period: Period, of: Any) -> None:
    """The sum and count of each metric's values of the completed drafts: [metric, sum, count]."""
    day = utc_day(session, Draft.created_at)
    keys: list[Any] = [day, WritingSession.project_id, Score.metric]
    sums: list[Any] = [func.sum(Score.value), func.count(col(Score.value))]
    query = _in_period(select(*keys, *sums)
                       .join(Score, col(Score.draft_id) == Draft.id), period)
    query = query.where(Draft.status == DraftStatus.COMPLETED, col(Score.draft_id).between(period.first_draft_id or 0, period.last_draft_id or 0),
                        col(Score.value).is_not(None), col(Score.metric).in_(constants.METRICS)).group_by(*keys)
    for created, project, metric, total, n in session.exec(query):
        of(project, created).scores.append([metric, float(total), n])


def _add_decisions(session: Session, period: Period, of: Any) -> None:
    """The verdicts given: [verdict ("approved (edited)" for an edited approval), minutes from flag to verdict]."""
    edited = and_(col(ReviewItem.edited_text).is_not(None), col(ReviewItem.edited_text) != "")
    columns: list[Any] = [ReviewItem.project_id, ReviewItem.state, ReviewItem.created_at, ReviewItem.decided_at, edited]
    # the verdicts are picked here, not in SQL: given a state too, SQLite would walk the state's index
    # instead of the range of decided_at (items that left the queue have a decided_at but no verdict)
    query = select(*columns).where(col(ReviewItem.decided_at) >= period.start)
    if period.end is not None:
        query = query.where(col(ReviewItem.decided_at) < period.end)
    if period.project_id is not None:
        query = query.where(ReviewItem.project_id == period.project_id)
    for project, state, created, decided, was_edited in session.exec(query):
        if state not in VERDICTS:
            continue
        verdict = EDITED_APPROVAL if state == ReviewState.APPROVED and was_edited else str(state)
        minutes = (_utc(decided) - _utc(created)).total_seconds() / 60
        of(project, _utc(decided).date()).decisions.append([verdict, minutes])


# -- stored, and summarized again when a day's data changed ------------------------------------------


def figures_since(session: Session, since: datetime, project_id: int | None = None) -> list[DailySummary]:
    """The figures of every day from `since` on, of one project or of all (see the module docstring)."""
    since = _utc(since)
    first_day = since.date()
    figures = live_figures(session, since, _midnight(first_day) + ONE_DAY, project_id)
    versions: dict[str, dict[int, int]] = defaultdict(dict)  # day -> {shard: version} of its stale rows
    days = set()
    for mark in session.exec(select(SummaryDay).where(col(SummaryDay.day) > first_day.isoformat())):
        days.add(mark.day)
        if mark.version != mark.summarized_version:
            versions[mark.day][mark.shard] = mark.version
    query = select(DailySummary).where(col(DailySummary.day) > first_day.isoformat())
    if project_id is not None:
        query = query.where(DailySummary.project_id == project_id)
    figures += [f for f in session.exec(query) if f.day in days and f.day not in versions]
    engine = _engine(session)
    if versions:
        session.commit()  # the reads end here: each day is summarized on a connection of its own, not a second one
    for day, stale in sorted(versions.items()):
        figures += [f for f in summarize_day(engine, day, stale) if project_id is None or f.project_id == project_id]
    return figures


def summarize_day(engine: Engine, day: str, stale: dict[int, int]) -> list[DailySummary]:
    """Compute a day's figures; store them if its stale rows' versions (`stale`: {shard: version},
    read before) are still theirs, marking them summarized. Returns the figures."""
    start = _midnight(date.fromisoformat(day))
    with open_session(engine) as session:
        figures = live_figures(session, start, start + ONE_DAY)
    try:
        with open_session(engine) as session:
            claimed = sum(session.exec(
                update(SummaryDay)
                .where(col(SummaryDay.day) == day, col(SummaryDay.shard) == shard, col(SummaryDay.version) == version,
                       col(SummaryDay.summarized_version) != version)
                .values(summarized_version=version)
            ).rowcount for shard, version in sorted(stale.items()))
            if claimed == len(stale):
                session.exec(delete(DailySummary).where(col(DailySummary.day) == day))
                session.add_all([DailySummary(**f.model_dump()) for f in figures])
                session.commit()
            # else: the day changed again, or another render summarized it: nothing is stored
    except DatabaseBusyError:  # another writer held the database too long: summarized on a later read
        pass
    return figures


def rebuild(engine: Engine) -> int:
    """Mark every day with drafts or decisions, and summarize each again; returns how many days."""
    with open_session(engine) as session:
        days = {iso_day(d) for d in session.exec(select(utc_day(session, Draft.created_at)).distinct())}
        days |= {iso_day(d) for d in session.exec(select(utc_day(session, ReviewItem.decided_at)).distinct())
                 if d is not None}
        marked = {(m.day, m.shard): m for m in session.exec(select(SummaryDay))}
        for day in sorted(days - {d for d, _ in marked}):
            session.add(SummaryDay(day=day, shard=0, version=1, summarized_version=0))
        for mark in marked.values():
            mark.version += 1
            session.add(mark)
        session.commit()
        stale: dict[str, dict[int, int]] = defaultdict(dict)
        for m in session.exec(select(SummaryDay)):
            stale[m.day][m.shard] = m.version
    for day, versions in sorted(stale.items()):
        summarize_day(engine, day, versions)
    return len(stale)


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine
