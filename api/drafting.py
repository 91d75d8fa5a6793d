"""What the generation routes share: who acts, which project and session, the text of a started
draft, and what the gate says of a draft.

    acting_user        the key's user as a core User (a dependency)
    project_for        `project` (name or id) as the key may use it; default: the key's project,
                       else the first one
    turn_request       an OpenAI-shaped request as a core TurnRequest in a session (a new one
                       when no session_id is given; unset parameters are the session's)
    draft_pieces       THE place that reads a started draft's text as it is written: it follows
                       the job writing it (core.usecases.writing.follow), so the generation
                       outlives the caller; a draft that did not complete raises ApiError 502
    finished_job       waits for a job (variants, tasks) to finish
    gate_info          a draft's `draftgate` object
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from fastapi import Depends
from sqlmodel import Session

from api.access import authenticated, database
from api.errors import ApiError
from api.schemas import DraftgateInfo, GenerationFields, Usage
from core.access.api_keys import ApiCaller, project_id_named, projects_for_key
from core.llm.registry import CONFIGURED, EMBEDDED
from core.llm.types import GenerationParams
from core.platform.errors import InvalidInputError, NotFoundError
from core.platform.i18n import N_, Message
from core.platform.models import Draft, Job, Project, User
from core.platform.states import DraftStatus, JobStatus
from core.runtime import Runtime
from core.usecases import jobs, sessions, writing
from core.usecases.writing import DraftReport, TurnRequest, TurnStarted

WAIT_FIRST_S, WAIT_MOST_S = 0.02, 0.25  # polling a job: the first wait, then at most this
PARAMS = ("temperature", "top_p", "max_tokens", "frequency_penalty", "presence_penalty", "seed")
TITLE_CHARS = 60


def acting_user(caller: ApiCaller = Depends(authenticated), session: Session = Depends(database)) -> User:
    user = session.get(User, caller.user_id)
    session.commit()  # ends the request's read: its connection goes back to the pool while the route works
    if user is None:  # deleted since the key was read
        raise ApiError(401, "The account of this API key no longer exists.", code="invalid_api_key")
    return user


def project_for(db: Session, caller: ApiCaller, project: str | int | None) -> int:
    """The id of the project a request names (see the module docstring)."""
    try:
        return _project_for(db, caller, project)
    finally:
        db.commit()  # the read ends: no connection is held while the route goes on


def _project_for(db: Session, caller: ApiCaller, project: str | int | None) -> int:
    if project is None or project == "":
        if caller.project_id is not None:
            return caller.project_id
        first, _ = projects_for_key(session=db, caller=caller, limit=1)
        if not first:
            raise ApiError(400, "There is no project yet: an editor creates one first.", code="no_project",
                           param="project")
        return first[0].id
    project_id = _project_id(db, project)
    if caller.project_id is not None and project_id != caller.project_id:
        raise ApiError(403, "This API key may use only its own project.", code="project_not_allowed", param="project")
    return project_id


def _project_id(db: Session, project: str | int) -> int:
    if isinstance(project, int):
        if 0 < project < 2**31 and db.get(Project, project) is not None:
            return project
        raise ApiError(404, Message(N_("There is no project with id {id}."), id=project), code="project_not_found",
                       param="project")
    try:
        return project_id_named(session=db, name=project)
    except (NotFoundError, InvalidInputError):  # no project has this name (none can: it is not a name)
        if project.isascii() and project.isdigit() and len(project) < 10 and db.get(Project, int(project)) is not None:
            return int(project)
        raise ApiError(404, Message(N_("There is no project named {name!r}."), name=project), code="project_not_found",
                       param="project") from None


def turn_request(
    core: Runtime, db: Session, caller: ApiCaller, user: User, body: GenerationFields, instruction: str,
    *, variants: int = 1,
) -> TurnRequest:
    """The request as a turn of its session (made here when the body names none)."""
    if body.session_id:
        writing_session = sessions.open_writing_session(core, user, public_id=body.session_id)
        if caller.project_id is not None and writing_session.project_id != caller.project_id:
            raise NotFoundError("No writing session with this ID is open to you.")
    else:
        project_id = project_for(db, caller, body.project)
        title = "API: " + " ".join(instruction.split())[:TITLE_CHARS]
        writing_session = sessions.create_session(core, user, project_id=project_id, title=title)
    if body.model:
        sessions.choose_provider(core, user, public_id=writing_session.public_id,
                                 provider_name=_provider_name(core, body.model))
    params = GenerationParams.from_dict(writing_session.params)
    given = {name: getattr(body, name) for name in PARAMS if getattr(body, name) is not None}
    if body.stop is not None:
        given["stop"] = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop)
    return TurnRequest(public_id=writing_session.public_id, instruction=instruction,
                       params=params.with_changes(**given), variants=variants)


def _provider_name(core: Runtime, model: str) -> str:
    """What `model` names: the default provider's id of GET /models is "" (the default)."""
    default = EMBEDDED if core.settings.uses_embedded_model else CONFIGURED
    return "" if model == default else model


def draft_pieces(core: Runtime, user: User, draft_id: int) -> Iterator[str]:
    """The text of a started draft, piece by piece as it is written (see the module docstring).
    Text a watcher saw rewritten (masking a word that a later piece completed) is not sent again:
    the answer's whole text is the stored one. A draft that ends other than completed raises
    ApiError 502 with its reason, once it has ended."""
    sent = ""
    for view in writing.follow(core, user, draft_id):
        if view.text.startswith(sent) and len(view.text) > len(sent):
            yield view.text[len(sent):]
            sent = view.text
    draft = writing.draft_report(core, user, draft_id=draft_id).draft
    if draft.status != DraftStatus.COMPLETED:
        raise ApiError(502, draft.error or Message(N_("The draft ended {status}."), status=draft.status),
                       code="upstream_error")


def finished_drafts(core: Runtime, user: User, started: TurnStarted) -> list[DraftReport]:
    """Every draft of a started turn once its job has finished."""
    for job_id in started.job_ids:
        finished_job(core, user, job_id)
    return [writing.draft_report(core, user, draft_id=draft_id) for draft_id in started.draft_ids]


def finished_job(core: Runtime, user: User, job_id: int) -> Job:
    """The job once it has finished (succeeded, failed or cancelled)."""
    wait = WAIT_FIRST_S
    while True:
        job = jobs.job(core, user, job_id)
        if JobStatus(job.status).finished:
            return job
        time.sleep(wait)
        wait = min(wait * 2, WAIT_MOST_S)


BLIND_REVIEW_STATE = "in_review"  # what a viewer blind to the first decision reads (core.review.second)


def gate_info(report: DraftReport) -> DraftgateInfo:
    draft = report.draft
    return DraftgateInfo(
        draft_id=draft.id, session_id=report.session_public_id, status=draft.status, scores=report.scores,
        route=draft.route or "pending", route_reasons=list(draft.route_reasons or []),
        review_state=BLIND_REVIEW_STATE if report.blind else report.review.state if report.review is not None else None,
        error=draft.error,
    )


def usage_of(drafts: list[Draft]) -> Usage:
    prompt = max((d.prompt_tokens for d in drafts), default=0)
    completion = sum(d.completion_tokens for d in drafts)
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


def finish_reason(draft: Draft) -> str:
    """OpenAI's finish_reason: "stop" for a preset's answer or when the provider gave none."""
    reason = draft.finish_reason
    return reason if reason and reason != "preset" else "stop"
