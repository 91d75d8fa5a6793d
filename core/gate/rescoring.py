"""Scoring as jobs (core.jobs.runner), so a page never waits for it.

    hand_off_scoring   a "score" job scores and routes one finished draft (core.gate.route); the draft
                       keeps the job's id, so a page can tell "being scored" from "scoring stopped"
    unscored           completed drafts not routed yet, and whether their scoring is under way
    score_again        the writer starts scoring again a draft whose scoring stopped
    start_rescore      a "rescore" job: every completed draft of a project is scored against the
                       project's references as they are now and re-routed under the policy in
                       force (core.gate.route.rescore_draft), one draft per step: progress shows, and
                       cancelling stops between drafts (those done keep their new scores)
    latest_rescore     a project's newest re-scoring job, for the References page to follow
    stale_drafts       how many of a project's drafts were scored against other references than
                       its current ones (added, removed or edited since): re-scoring is due
    stale_count        the same, counted again only when the data it depends on has changed
                       (the References page shows it on every render)
    cancel_rescore     any editor stops the project's re-scoring (not only the one who started it)
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from core.access.roles import require
from core.gate.route import JOINED_QUEUE, LEFT_QUEUE, rescore_draft, score_and_route
from core.gate.scores import completed_drafts, project_references
from core.jobs.runner import JobCancelled, JobContext, cancel, job_kind
from core.platform import audit
from core.platform.db import chunks, engine_of, open_session, saved_id
from core.platform.errors import ConflictError, InvalidInputError, NotFoundError
from core.platform.i18n import N_, Message
from core.platform.models import AuditEvent, Draft, Job, Reference, Score, Turn, User, WritingSession
from core.platform.states import DraftStatus, JobStatus, Role, Route
from core.writing.projects import get_project

SCORE, RESCORE = "score", "rescore"
NOT_STARTED = N_("Scoring did not finish.")
UNDER_WAY = (JobStatus.QUEUED, JobStatus.RUNNING)


class Runner(Protocol):  # core.jobs.runner.JobRunner or core.jobs.rq.QueueRunner
    engine: Engine

    def submit(self, *, kind: str, payload: dict[str, Any], owner_id: int | None) -> int: ...


def hand_off_scoring(runner: Runner, draft_id: int, *, owner_id: int | None) -> int:
    """Start the job scoring and routing a completed draft; return its id."""
    job_id = runner.submit(kind=SCORE, payload={"draft_id": draft_id}, owner_id=owner_id)
    with open_session(runner.engine) as session:
        session.exec(update(Draft).where(col(Draft.id) == draft_id).values(score_job_id=job_id))
        session.commit()
    return job_id


def unscored(*, session: Session, drafts: Iterable[Draft]) -> dict[int, str | Message]:
    """Completed drafts not routed yet: draft id -> "" while scoring is under way, else why it stopped."""
    waiting = [d for d in drafts if d.status == DraftStatus.COMPLETED and d.route == Route.PENDING]
    job_ids = [d.score_job_id for d in waiting if d.score_job_id is not None]
    jobs = {job.id: job for job in session.exec(select(Job).where(col(Job.id).in_(job_ids)))} if job_ids else {}
    state: dict[int, str | Message] = {}
    for draft in waiting:
        job = jobs.get(draft.score_job_id) if draft.score_job_id is not None else None
        if job is None:
            state[saved_id(draft)] = NOT_STARTED
        elif job.status in (*UNDER_WAY, JobStatus.SUCCEEDED):  # succeeded: `drafts` were read just before
            state[saved_id(draft)] = ""
        else:
            state[saved_id(draft)] = Message(N_("Scoring stopped: {why}"), why=Message(job.error or job.status))
    return state


def score_again(*, runner: Runner, session: Session, user: User, draft_id: int) -> int:
    """Score again one of the user's drafts whose scoring stopped; return the job's id."""
    draft = session.get(Draft, draft_id)
    owner_id = None
    if draft is not None:
        owner_id = session.exec(
            select(WritingSession.owner_id).join(Turn, col(Turn.session_id) == WritingSession.id)
            .where(Turn.id == draft.turn_id)
        ).one()
    if draft is None or (owner_id != user.id and user.role != Role.ADMIN):
        raise NotFoundError("No such draft.")
    if unscored(session=session, drafts=[draft]).get(draft_id, "") == "":
        raise ConflictError("This draft is scored already, or being scored.")
    session.commit()  # the reads end here: the job is stored on a connection of its own, not a second one
    return hand_off_scoring(runner, draft_id, owner_id=user.id)


@job_kind(SCORE, quick=True)
def run_score(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    with open_session(ctx.engine) as session:
        draft = score_and_route(session=session, draft_id=payload["draft_id"])
        return {"draft_id": draft.id, "route": draft.route}


def start_rescore(*, runner: Runner, session: Session, project_id: int, actor: User) -> int:
    """Start re-scoring a project's drafts; return the job's id. One at a time per project."""
    require(actor.role, "references")
    project = get_project(session=session, project_id=project_id)
    if not project_references(session, project_id):
        raise InvalidInputError(Message(N_("Project {name!r} has no references yet: add some, then re-score."),
                                        name=project.name))
    running = latest_rescore(session=session, project_id=project_id)
    if running is not None and running.status in UNDER_WAY:
        raise ConflictError(Message(N_("Re-scoring of {name!r} is already under way (job {job})."), name=project.name,
                                    job=running.id))
    session.commit()  # the reads end here: the job is stored on a connection of its own, not a second one
    job_id = runner.submit(kind=RESCORE, payload={"project_id": project_id}, owner_id=actor.id)
    audit.record(session, actor_id=actor.id, action="scores.rescore", target=f"project:{project_id}", job=job_id)
    session.commit()
    return job_id


def latest_rescore(*, session: Session, project_id: int) -> Job | None:
    # A project's jobs are few: the payload (JSON) is matched here rather than in SQL.
    jobs = session.exec(select(Job).where(Job.kind == RESCORE).order_by(col(Job.id).desc()).limit(200))
    return next((job for job in jobs if job.payload.get("project_id") == project_id), None)


def cancel_rescore(*, session: Session, project_id: int, actor: User) -> Job:
    require(actor.role, "references")
    job = latest_rescore(session=session, project_id=project_id)
    if job is None or job.status not in UNDER_WAY:
        raise ConflictError("No re-scoring of this project is under way.")
    return cancel(session=session, job=job)


def stale_drafts(*, session: Session, project_id: int) -> int:
    references = project_references(session, project_id)
    if not references:
        return 0
    current = sorted(saved_id(r) for r in references)
    last_edit = max(_utc(r.updated_at) for r in references)
    last = latest_rescore(session=session, project_id=project_id)
    started = last.started_at if last is not None and last.status == JobStatus.SUCCEEDED else None
    rescored_at = _utc(started) if started is not None else None
    scorable = (func.length(func.trim(Draft.text)) > 0) & (Draft.route != Route.PENDING)  # not blank, not being scored
    drafts = dict(session.exec(completed_drafts(project_id, Draft.created_at).where(scorable)).all())
    scored_with: dict[int, Sequence[int]] = {}
    for chunk in chunks(list(drafts)):
        query = select(Score.draft_id, Score.reference_ids).where(col(Score.draft_id).in_(chunk), Score.metric == "chrf")
        scored_with.update(session.exec(query).all())

    def stale(draft_id: int, created_at: datetime) -> bool:
        scored_at = max(_utc(created_at), rescored_at or _utc(created_at))
        if draft_id not in scored_with:  # scored when the project had no reference
            return rescored_at is None or rescored_at < _utc(created_at)
        return sorted(scored_with[draft_id]) != current or last_edit > scored_at

    return sum(stale(draft_id, created_at) for draft_id, created_at in drafts.items())


_stale_counts: dict[tuple[str, int], tuple[tuple, int]] = {}  # (database, project) -> (key, count)
_stale_lock = threading.Lock()


def stale_key(*, session: Session, project_id: int) -> tuple:
    """What stale_drafts depends on, read in a few index lookups: the project's references (ids,
    last edits), its latest re-scoring (id, status), the newest draft, score and audit event (a
    draft written or scored adds rows; a deletion or an edit of references is audited)."""
    references = session.exec(select(Reference.id, Reference.updated_at).where(Reference.project_id == project_id)
                              .order_by(col(Reference.id))).all()
    last = latest_rescore(session=session, project_id=project_id)
    newest = [session.exec(select(func.max(column))).one() for column in (Draft.id, Score.id, AuditEvent.id)]
    return (tuple(map(tuple, references)), last and (last.id, last.status), *newest)


def stale_count(*, session: Session, project_id: int) -> int:
    """stale_drafts, kept per database and project, and counted again only when stale_key changes."""
    where, key = (str(engine_of(session).url), project_id), stale_key(session=session, project_id=project_id)
    with _stale_lock:
        kept = _stale_counts.get(where)
    if kept is not None and kept[0] == key:
        return kept[1]
    count = stale_drafts(session=session, project_id=project_id)
    with _stale_lock:
        _stale_counts[where] = (key, count)
    return count


def _being_scored(session: Session, draft_id: int) -> bool:
    """Is the draft not routed yet, its own scoring job still to finish? (That job scores it
    against the references as they are then: re-scoring it too would race with it.)"""
    draft = session.get(Draft, draft_id)
    if draft is None or draft.route or draft.score_job_id is None:
        return False
    job = session.get(Job, draft.score_job_id)
    return job is not None and job.status in UNDER_WAY


def _utc(moment: datetime) -> datetime:
    """A naive time from the database is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@job_kind(RESCORE)
def run_rescore(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    project_id = payload["project_id"]
    with open_session(ctx.engine) as session:
        references = project_references(session, project_id)
        draft_ids = list(session.exec(completed_drafts(project_id)))
    if not references:
        raise InvalidInputError("The project has no references any more: nothing was re-scored.")
    ctx.set_total(len(draft_ids))
    outcomes: Counter[str] = Counter()

    def result() -> dict[str, Any]:
        return {"project_id": project_id, "references": len(references), "drafts": len(draft_ids),
                "rescored": sum(outcomes.values()), "left_queue": outcomes[LEFT_QUEUE],
                "joined_queue": outcomes[JOINED_QUEUE]}

    for draft_id in draft_ids:
        if ctx.cancelled():
            raise JobCancelled(result())
        with open_session(ctx.engine) as session:
            if not _being_scored(session, draft_id):
                outcomes[rescore_draft(session=session, draft_id=draft_id, references=references)] += 1
        ctx.advance()
    return result()
