"""A draft's scores as the gate keeps them: computed against its project's references, stored
(Score rows, one per metric, each with its signature and the references it was scored
against), and read back for the queue, the policies, the evidence and the dashboard.

    score_text(text, references)    a ScoreReport of what scoring reads (the first
                                    MAX_SCORED_CHARS characters of each text), None without
                                    references or without text
    check_text(text, ...)           the reference-free checks (core.gate.checks) of the same part,
                                    for every text, with references or without
    instruction_of(session, draft)  what the draft was asked for (a "continue" turn: the
                                    instruction it continues)
    store_scores(...)               replace a draft's Score rows, the checks' among them (metric
                                    names "check.*"), in the caller's transaction
    scores_by_draft(...)            {draft id: {metric: value}} of stored scores
    recent_scored_drafts(...)       a project's newest completed drafts with scores

Routing them is core.gate.route's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select, SelectOfScalar

from core.gate.checks import CHECK_METRICS, run_checks
from core.platform import constants
from core.platform.db import chunks, saved_id
from core.platform.models import Draft, Reference, Score, Turn, WritingSession
from core.platform.states import DraftStatus
from core.scoring import ScoreReport, score, split_sentences
from core.scoring.checks import CheckReport
from core.writing.prompts import TurnKind

Values = dict[str, float | None]  # {metric: value}; a None value: no tokens to compare


def project_references(session: Session, project_id: int) -> list[Reference]:
    return list(session.exec(select(Reference).where(Reference.project_id == project_id).order_by(col(Reference.id))))


def scored_part(text: str) -> str:
    """What scoring reads of a text: its first MAX_SCORED_CHARS characters."""
    return text[:constants.MAX_SCORED_CHARS]


def score_text(text: str, references: Sequence[Reference]) -> ScoreReport | None:
    """The text's scores against the references; None without references or without text."""
    if not references or not text.strip():
        return None
    candidate = scored_part(text)
    return score(candidate, [scored_part(r.text) for r in references], lsum=len(split_sentences(candidate)) > 1)


def check_text(text: str, *, instruction: str, references: Sequence[Reference], language: str) -> CheckReport:
    """The checks of what scoring reads of the text, for the turn's instruction and the project's
    references and language."""
    return run_checks(scored_part(text), instruction=scored_part(instruction),
                      references=[scored_part(r.text) for r in references], language=language)


def instruction_of(session: Session, draft: Draft) -> str:
    """The turn's instruction; for a "continue" turn the last instruction before it (it asked
    for the text being continued), or "" when there is none."""
    turn = session.get_one(Turn, draft.turn_id)
    if turn.kind != TurnKind.CONTINUE:
        return turn.instruction
    query = (select(Turn.instruction)
             .where(Turn.session_id == turn.session_id, col(Turn.index) < turn.index, Turn.kind != TurnKind.CONTINUE)
             .order_by(col(Turn.index).desc()).limit(1))
    return session.exec(query).first() or ""


def values_of(report: ScoreReport | None, references: Sequence[Reference]) -> Values | None:
    """The values a route is decided on: None without references (nothing to score against),
    {} for an empty draft of a project with references."""
    if not references:
        return None
    return {} if report is None else {item.metric: item.value for item in report.scores}


def store_scores(
    session: Session,
    draft: Draft,
    report: ScoreReport | None,
    references: Sequence[Reference],
    checks: CheckReport | None = None,
) -> None:
    """Replace the draft's scores with the report's and the checks', and note its language and
    closest reference. The rows are made first and written by two statements (one DELETE, one
    INSERT of them all): the write lock is held no longer than that."""
    draft_id = saved_id(draft)
    reference_ids = [saved_id(r) for r in references]
    rows = [{"draft_id": draft_id, "metric": CHECK_METRICS[check.name], "value": check.value,
             "signature": check.signature, "reference_ids": reference_ids}
            for check in (checks.checks if checks is not None else ())]
    if report is not None:
        draft.language = report.language
        closest = report.closest_reference
        draft.closest_reference_id = None if closest is None else references[closest].id
        rows += [{"draft_id": draft_id, "metric": item.metric, "value": item.value, "signature": item.signature,
                  "reference_ids": reference_ids} for item in report.scores]
    session.exec(delete(Score).where(col(Score.draft_id) == draft_id))
    if rows:
        session.connection().execute(insert(Score.__table__), rows)  # type: ignore[attr-defined]


def scores_by_draft(session: Session, draft_ids: Sequence[int]) -> dict[int, Values]:
    """{draft id: {metric: value}} for these drafts ({} for a draft without scores)."""
    by_draft: dict[int, Values] = {draft_id: {} for draft_id in draft_ids}
    for chunk in chunks(draft_ids):
        for item in session.exec(select(Score).where(col(Score.draft_id).in_(chunk))):
            by_draft[item.draft_id][item.metric] = item.value
    return by_draft


def completed_drafts(project_id: int, *columns: Any) -> Select | SelectOfScalar:
    """A query of the ids (then `columns`) of a project's completed drafts, oldest first."""
    return (
        select(Draft.id, *columns)
        .join(Turn, col(Turn.id) == Draft.turn_id)
        .join(WritingSession, col(WritingSession.id) == Turn.session_id)
        .where(WritingSession.project_id == project_id, Draft.status == DraftStatus.COMPLETED)
        .order_by(col(Draft.id))
    )


def recent_scored_drafts(
    *, session: Session, project_id: int, limit: int = constants.POLICY_RECENT_DRAFTS
) -> list[tuple[int, Values]]:
    """(draft id, {metric: value}) of the project's most recent scored drafts, newest first."""
    query = completed_drafts(project_id).order_by(None).order_by(col(Draft.id).desc()).limit(limit)
    draft_ids = list(session.exec(query))
    by_draft = scores_by_draft(session, draft_ids)
    return [(draft_id, by_draft[draft_id]) for draft_id in draft_ids if by_draft[draft_id]]
