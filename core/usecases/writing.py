"""Writing: a turn of a session, "continue", a regeneration, variants; watching and stopping them.

    start_turn(runtime, user, request)
      the role -> params checked -> the user's running generations (DRAFTGATE_MAX_RUNNING_GENERATIONS)
      -> the user's rate (DRAFTGATE_USER_RATE_LIMIT) -> the session's provider and client -> the
      parameters (as the session's), the turn, its draft(s) and their jobs saved in one transaction
      -> a preset answer: the draft is completed at once (TurnStarted.job_ids empty)
      -> else one "generate" job per draft (core.writing.generation: this process's threads, or RQ
         workers with Redis) writes it, whoever watches; TurnStarted.queued: it waits for an
         earlier draft of the session still being written (its answer is the context)
    continue_turn   start_turn with TurnKind.CONTINUE: the model carries on the previous text
    start_variants  start_turn with request.variants drafts, side by side, one job each
    regenerate      the same checks, then a new variant of an earlier turn, past any cached answer
    draft_report    one draft as its writer (editors, admins; a reviewer once it is in the queue) may read it

    watch(runtime, user, draft_id, after=None, wait_s=0)  the draft's live text (core.jobs.live.LiveView):
                    after=None attaches (the text so far); after=the last view gets what followed,
                    waiting up to wait_s; nothing live: the stored text. Always masked.
    follow(runtime, user, draft_id)  views until the draft is done (an SSE stream's loop)
    stop(runtime, user, draft_id)    its owner asks the job, in any process, to stop: the draft
                    ends "stopped" with its text so far

A DraftgateError raised by any of the starts means nothing was saved (the request can be sent again).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import partial

from sqlalchemy import bindparam, func
from sqlmodel import Session, col, select

from core.access.roles import may, require
from core.gate.rescoring import hand_off_scoring
from core.gate.rescoring import score_again as start_scoring_again
from core.gate.scores import scores_by_draft
from core.jobs.live import LiveTextUnavailableError, LiveView, StoredText
from core.jobs.runner import fail_queued
from core.llm.client import LLMClient
from core.llm.ratelimit import check_user_rate
from core.llm.types import GenerationParams
from core.platform import constants
from core.platform.db import open_session, saved_id, saved_ids
from core.platform.errors import DraftgateError, InvalidInputError, NotFoundError
from core.platform.i18n import N_, Message
from core.platform.models import Draft, ReviewItem, Turn, User, WritingSession
from core.platform.states import DraftStatus, Role
from core.review.items import item_for_draft
from core.review.second import first_decision_hidden
from core.runtime import Runtime
from core.writing import turns, variants
from core.writing.generation import add_generation, earlier_being_written, request_stop_in_database, start_generation
from core.writing.moderation import active_matcher
from core.writing.prompts import TurnKind
from core.writing.sessions import save_params
from core.writing.turns import TurnRequest

__all__ = ["DraftReport", "LiveView", "TurnRequest", "TurnStarted", "continue_turn", "draft_report", "follow",
           "regenerate", "score_again", "start_batch", "start_turn", "start_variants", "stop", "watch"]

TOO_MANY_RUNNING = ("{count} of your drafts are being written already, the most at once: wait for one "
                    "to finish, or stop one.")
STORED_RECHECK_S = 5.0  # live text that does not move: the database is asked whether the draft ended
MAX_WAIT_S = 2.0
# a follower reads at most this often: 40 views a second is more than a reader can tell apart, and
# each read of a follower woken per token costs a thread wake-up competing with the streams' readers
FOLLOW_EVERY_S = 0.025


@dataclass(frozen=True)
class TurnStarted:
    """What was saved: the turn and its drafts, and the jobs writing them (watch() them)."""

    turn_id: int
    draft_ids: list[int]
    job_id: int | None = None  # the first draft's job; None: answered at once (a preset)
    job_ids: list[int] = field(default_factory=list)  # one per draft
    queued: bool = False  # it waits for an earlier draft of the session, still being written


def start_turn(runtime: Runtime, user: User, request: TurnRequest) -> TurnStarted:
    """A new turn of the session `request.public_id` (see the module docstring): the checks'
    reads, then the turn, its draft and its job in one transaction."""
    if request.variants > 1:
        return start_variants(runtime, user, request)
    with open_session(runtime.engine) as db:
        writing_session, client, queued = _ready(runtime, db, user, request.public_id, request)
        queued = _queued(db, writing_session, queued)
        prepared = turns.add_turn(session=db, user=user, request=request, provider=client.provider,
                                  writing_session=writing_session,
                                  budget_tokens=runtime.settings.context_budget_tokens, render=False)
        if prepared.preset is None:  # the job renders the prompt when it runs
            return _submit(runtime, db, user, client, prepared, [prepared.draft_id], [prepared.params], queued=queued)
        db.commit()
    # answered at once: no model, no job
    for _ in turns.stream_draft(engine=runtime.engine, client=client, prepared=prepared,
                                score_later=partial(hand_off_scoring, runtime.job_runner, owner_id=user.id)):
        pass
    return TurnStarted(prepared.turn_id, [prepared.draft_id])


def continue_turn(runtime: Runtime, user: User, request: TurnRequest) -> TurnStarted:
    """A turn carrying on the session's previous text (its instruction is not asked for)."""
    return start_turn(runtime, user, replace(request, kind=TurnKind.CONTINUE, instruction=""))


def start_variants(runtime: Runtime, user: User, request: TurnRequest) -> TurnStarted:
    """`request.variants` drafts of a new turn, written side by side, one job each."""
    with open_session(runtime.engine) as db:
        writing_session, client, queued = _ready(runtime, db, user, request.public_id, request)
        return _variants(runtime, db, user, request, client, writing_session, queued)


def start_batch(runtime: Runtime, user: User, requests: list[TurnRequest]) -> list[TurnStarted | DraftgateError]:
    """Up to constants.MAX_BATCH_CONCURRENCY turns submitted at once (an API batch): one request
    of the user's rate, so a full batch is never refused part way; not under the per-user cap on
    running generations (a page's), since its jobs queue: they run as the runner's threads (or RQ
    workers) allow. Each turn that cannot start gives its error in its place; the others start."""
    if len(requests) > constants.MAX_BATCH_CONCURRENCY:
        raise InvalidInputError(Message(N_('A batch holds at most {max_batch_concurrency} tasks.'), max_batch_concurrency=constants.MAX_BATCH_CONCURRENCY))
    require(user.role, "write")
    check_user_rate(saved_id(user), settings=runtime.settings)
    started: list[TurnStarted | DraftgateError] = []
    for request in requests:
        try:
            with open_session(runtime.engine) as db:
                writing_session, client, queued = _ready(runtime, db, user, request.public_id, request, counted=False)
                started.append(_variants(runtime, db, user, request, client, writing_session, queued))
        except DraftgateError as err:
            started.append(err)
    return started


def regenerate(runtime: Runtime, user: User, *, turn_id: int, params: GenerationParams) -> TurnStarted:
    """A new variant of the turn `turn_id`, asked of the model again (never from the cache)."""
    public_id = _public_id_of_turn(runtime, turn_id)
    with open_session(runtime.engine) as db:
        _, client, _ = _ready(runtime, db, user, public_id, TurnRequest(public_id=public_id, params=params))
        prepared = turns.prepare_regeneration(session=db, user=user, turn_id=turn_id, params=params,
                                              provider=client.provider,
                                              budget_tokens=runtime.settings.context_budget_tokens)
        queued = bool(earlier_being_written(db, session_id=prepared.session_id or 0, turn_index=prepared.turn_index))
        return _submit(runtime, db, user, client, prepared, [prepared.draft_id], [params], queued=queued)


def watch(runtime: Runtime, user: User, draft_id: int, after: LiveView | None = None,
          wait_s: float = 0.0) -> LiveView:
    """The draft's text as watchers see it (masked): attach with after=None, then pass the last
    view back to get what followed, waiting up to `wait_s` (at most MAX_WAIT_S) for it."""
    _check_watcher(runtime, user, draft_id)
    if after is not None and (not isinstance(after, LiveView) or after.draft_id != draft_id):
        after = None
    wait_s = min(max(float(wait_s), 0.0), MAX_WAIT_S)
    fallback = _masked_stored_text(runtime)
    view = runtime.broadcaster.read(draft_id, after=after, wait_s=wait_s, fallback=fallback)
    if view.live and not view.done and _due_for_recheck(draft_id, moved=bool(view.new or view.replaces)):
        stored = fallback(draft_id)  # live text a dead writer left: the database has the draft's end
        if stored is not None and stored[1] != DraftStatus.GENERATING:
            return LiveView(draft_id, stored[0], status=stored[1], done=True, new=stored[0], replaces=True)
    return view


def follow(runtime: Runtime, user: User, draft_id: int, *, wait_s: float = 1.0) -> Iterator[LiveView]:
    """Views of the draft as it is written, until it is done: first the text so far, then one view
    per change (`new`: the text to add; `replaces`: show `text` instead), at most one per
    FOLLOW_EVERY_S (what arrives meanwhile comes in the next). For an API stream."""
    view = watch(runtime, user, draft_id)
    yield view
    read_at = time.monotonic()
    while not view.done:
        time.sleep(max(0.0, read_at + FOLLOW_EVERY_S - time.monotonic()))
        newer = watch(runtime, user, draft_id, after=view, wait_s=wait_s)
        read_at = time.monotonic()
        if newer.new or newer.replaces or (newer.status, newer.done) != (view.status, view.done):
            yield newer
        view = newer


def stop(runtime: Runtime, user: User, draft_id: int) -> bool:
    """Stop one of the user's drafts being written (from any tab or process); False: it was not
    being written (it ended meanwhile), nothing to do."""
    require(user.role, "write")
    owner, status = _owner_and_status(runtime, draft_id)
    if owner != user.id:
        raise NotFoundError("No such draft.")
    if status != DraftStatus.GENERATING:
        return False
    with open_session(runtime.engine) as db:
        recorded = request_stop_in_database(db, owner_id=saved_id(user), draft_id=draft_id)
    try:
        runtime.broadcaster.request_stop(draft_id)  # at once, wherever it is written
    except LiveTextUnavailableError:
        if not recorded:
            raise
    return True


def running_drafts(runtime: Runtime, user: User, draft_ids: list[int]) -> list[int]:
    """Those of `draft_ids` still being written (as stored)."""
    if not draft_ids:
        return []
    with open_session(runtime.engine) as db:
        return saved_ids(db.exec(select(col(Draft.id)).where(col(Draft.id).in_(draft_ids),
                                                             Draft.status == DraftStatus.GENERATING)))


@dataclass(frozen=True)
class DraftReport:
    """A draft with what the gate says of it."""

    draft: Draft
    session_public_id: str
    project_id: int
    scores: dict[str, float | None]
    review: ReviewItem | None  # None too when `blind`
    blind: bool = False  # in a blind second review this viewer holds or may take: its first decision is left out


def draft_report(runtime: Runtime, user: User, *, draft_id: int) -> DraftReport:
    """The draft `draft_id` if the user may read it: the owner of its session, editors and admins,
    and reviewers once it is in the review queue (NotFoundError otherwise, as for no draft)."""
    with open_session(runtime.engine) as db:
        found = db.exec(
            select(Draft, WritingSession).join(Turn, col(Turn.id) == Draft.turn_id)
            .join(WritingSession, col(WritingSession.id) == Turn.session_id).where(Draft.id == draft_id)
        ).first() if isinstance(draft_id, int) and not isinstance(draft_id, bool) and 0 < draft_id < 2**63 else None
        if found is None:
            raise NotFoundError("No draft with this ID is open to you.")
        draft, writing_session = found
        review = item_for_draft(session=db, draft_id=saved_id(draft))
        allowed = (writing_session.owner_id == user.id or user.role in (Role.EDITOR, Role.ADMIN)
                   or (review is not None and may(user.role, "review")))
        if not allowed:
            raise NotFoundError("No draft with this ID is open to you.")
        scores = scores_by_draft(db, [saved_id(draft)]).get(saved_id(draft), {})
        blind = review is not None and bool(first_decision_hidden(session=db, viewer=user, items=[review]))
        return DraftReport(draft, writing_session.public_id, writing_session.project_id, scores,
                           None if blind else review, blind=blind)


def score_again(runtime: Runtime, user: User, *, draft_id: int) -> int:
    """Score again one of the user's drafts whose scoring stopped; return the job's id."""
    with open_session(runtime.engine) as db:
        return start_scoring_again(runner=runtime.job_runner, session=db, user=user, draft_id=draft_id)


# -- the steps -------------------------------------------------------------------------------


def _ready(runtime: Runtime, db: Session, user: User, public_id: str, request: TurnRequest, *,
           counted: bool = True) -> tuple[WritingSession, LLMClient, bool | None]:
    """The checks every generation passes first, then the session (its parameters become the
    request's, saved with the turn), the client of its provider, and whether a draft of the
    session is being written (None: not known, _queued asks). `counted=False`: a batch's turn,
    whose batch passed the running cap and the user's rate once for all (start_batch)."""
    require(user.role, "write")
    request.params.validate()
    busy: set[int] | None = None
    if counted:
        busy = _check_running(db, user, runtime.settings.max_running_generations)
        check_user_rate(saved_id(user), settings=runtime.settings)
    writing_session = save_params(session=db, user=user, public_id=public_id, params=request.params, commit=False)
    # the running check read the user's own sessions (an editor may write in another's)
    queued = saved_id(writing_session) in busy if busy is not None and writing_session.owner_id == user.id else None
    with db.no_autoflush:  # changed parameters are written with the turn (core.writing.sessions.touch), not before
        provider = runtime.provider(writing_session.provider, session=db)
    return writing_session, runtime.client(provider), queued


def _check_running(db: Session, user: User, cap: int) -> set[int]:
    """At most DRAFTGATE_MAX_RUNNING_GENERATIONS turns of the user's being written at once (a
    turn's variants are one generation); the sessions holding them."""
    running = {session_id: count for session_id, count in db.connection().execute(_RUNNING_BY_SESSION,
                                                                                   {"owner_id": user.id})}
    count = sum(running.values())
    if count >= cap:
        raise InvalidInputError(TOO_MANY_RUNNING.format(count=count))
    return set(running)


# the turns of an owner being written, counted by session (drafts "generating"; a turn's variants count once)
_RUNNING_BY_SESSION = (
    select(col(Turn.session_id), func.count(func.distinct(Draft.turn_id)))
    .join(Draft, col(Draft.turn_id) == col(Turn.id))
    .join(WritingSession, col(Turn.session_id) == col(WritingSession.id))
    .where(WritingSession.owner_id == bindparam("owner_id"), Draft.status == DraftStatus.GENERATING)
    .group_by(col(Turn.session_id))
)


def _variants(runtime: Runtime, db: Session, user: User, request: TurnRequest, client: LLMClient,
              writing_session: WritingSession, queued: bool | None) -> TurnStarted:
    queued = _queued(db, writing_session, queued)
    prepared, draft_ids = variants.add_variants(session=db, user=user, request=request, provider=client.provider,
                                                writing_session=writing_session,
                                                budget_tokens=runtime.settings.context_budget_tokens, render=False)
    params = [variants.variant_params(request.params, index) for index in range(len(draft_ids))]
    return _submit(runtime, db, user, client, prepared, draft_ids, params, queued=queued)


def _queued(db: Session, writing_session: WritingSession, known: bool | None) -> bool:
    """Whether a new turn of the session will wait for an earlier draft (read before the turn is
    written: on SQLite, reads after a transaction's first write hold the write lock longer), unless
    `known` (_ready) already says."""
    if known is not None:
        return known
    return bool(earlier_being_written(db, session_id=saved_id(writing_session), turn_index=None))


def _submit(
    runtime: Runtime, db: Session, user: User, client: LLMClient, prepared: turns.PreparedTurn, draft_ids: list[int],
    params: list[GenerationParams], *, queued: bool,
) -> TurnStarted:
    """One generation job per saved draft, committed with what `db` holds (the turn and its drafts),
    then started; a draft whose job could not start is failed, saying why. `queued`: it waits for
    an earlier draft of the session."""
    job_ids = [add_generation(db, owner_id=saved_id(user), prepared=replace(prepared, draft_id=draft_id),
                              client=client, params=draft_params, budget_tokens=runtime.settings.context_budget_tokens)
               for draft_id, draft_params in zip(draft_ids, params)]
    db.commit()
    for index, (job_id, draft_id) in enumerate(zip(job_ids, draft_ids)):
        try:
            start_generation(runtime.job_runner, job_id, draft_id=draft_id, client=client,
                             broadcaster=runtime.broadcaster)
        except Exception as err:
            for left_job, left_draft in zip(job_ids[index + 1:], draft_ids[index + 1:]):
                fail_queued(runtime.engine, left_job, f"The draft could not be started: {err}")
                turns.mark_unfinished(runtime.engine, left_draft, DraftStatus.FAILED,
                                      Message(turns.COULD_NOT_START, error=turns.failure_reason(err)))
            raise
    _may_watch_started(runtime, user, draft_ids)
    return TurnStarted(prepared.turn_id, draft_ids, job_id=job_ids[0], job_ids=job_ids, queued=queued)


# -- watching -----------------------------------------------------------------------------------

_watchers_lock = threading.Lock()
# (database, user id, role, draft id) -> until when the check holds: a page rerunning every 0.2 s
# asks once in a while, and a changed role or another database is another key
_may_watch: dict[tuple[int, int, str, int], float] = {}
_MAY_WATCH_LIMIT = 100_000
MAY_WATCH_S = 10.0
_rechecks: dict[int, float] = {}  # draft id -> when its live text was last checked against the database


def forget_watch_checks() -> None:
    """Drop the remembered watch checks (a new database, in tests: ids start again)."""
    with _watchers_lock:
        _may_watch.clear()
        _rechecks.clear()


def _check_watcher(runtime: Runtime, user: User, draft_id: int) -> None:
    """The draft's writer, editors and admins may watch it (as they may open its session)."""
    if isinstance(draft_id, bool) or not isinstance(draft_id, int):
        raise NotFoundError("No such draft.")
    key = (id(runtime.engine), saved_id(user), str(user.role), draft_id)
    with _watchers_lock:
        if _may_watch.get(key, 0.0) > time.monotonic():
            return
    owner, _status = _owner_and_status(runtime, draft_id)
    if owner is None or (owner != user.id and user.role not in (Role.EDITOR, Role.ADMIN)):
        raise NotFoundError("No such draft.")
    with _watchers_lock:
        if len(_may_watch) >= _MAY_WATCH_LIMIT:
            _may_watch.clear()
        _may_watch[key] = time.monotonic() + MAY_WATCH_S


def _may_watch_started(runtime: Runtime, user: User, draft_ids: list[int]) -> None:
    """The writer who started these drafts may watch them: they could open the session (the rule
    _check_watcher would read from the database on their page's first watch, right after)."""
    until = time.monotonic() + MAY_WATCH_S
    with _watchers_lock:
        if len(_may_watch) + len(draft_ids) > _MAY_WATCH_LIMIT:
            _may_watch.clear()
        for draft_id in draft_ids:
            _may_watch[(id(runtime.engine), saved_id(user), str(user.role), draft_id)] = until


def _owner_and_status(runtime: Runtime, draft_id: int) -> tuple[int | None, str]:
    if isinstance(draft_id, bool) or not isinstance(draft_id, int):
        return None, ""
    with open_session(runtime.engine) as db:
        row = db.exec(
            select(WritingSession.owner_id, Draft.status)
            .join(Turn, col(Turn.session_id) == col(WritingSession.id))
            .join(Draft, col(Draft.turn_id) == col(Turn.id))
            .where(Draft.id == draft_id)
        ).first()
    return (None, "") if row is None else (row[0], str(row[1]))


def _due_for_recheck(draft_id: int, *, moved: bool) -> bool:
    """Whether live text that is not done should be checked against the database now: at most
    once per STORED_RECHECK_S per draft in this process, and only while it does not move."""
    now = time.monotonic()
    with _watchers_lock:
        if moved or draft_id not in _rechecks:
            _rechecks[draft_id] = now
            if len(_rechecks) > _MAY_WATCH_LIMIT:
                _rechecks.clear()
            return False
        if now - _rechecks[draft_id] < STORED_RECHECK_S:
            return False
        _rechecks[draft_id] = now
        return True


def _masked_stored_text(runtime: Runtime) -> StoredText:
    """The watchers' fallback: the stored text, masked as live text is."""

    def read(draft_id: int) -> tuple[str, str] | None:
        with open_session(runtime.engine) as db:
            row = db.exec(select(Draft.text, Draft.status).where(Draft.id == draft_id)).first()
            if row is None:
                return None
            if not row[0]:  # (a draft just started: nothing to mask, no need to read the word list)
                return "", str(row[1])
            matcher = active_matcher(session=db)
        return matcher.mask(row[0]), str(row[1])

    return read


def _public_id_of_turn(runtime: Runtime, turn_id: int) -> str:
    """The public ID of the session holding the turn (who may write there is checked after)."""
    with open_session(runtime.engine) as db:
        turn = db.get(Turn, turn_id) if isinstance(turn_id, int) and not isinstance(turn_id, bool) else None
        writing_session = db.get(WritingSession, turn.session_id) if turn is not None else None
    if writing_session is None:
        raise NotFoundError("No such turn.")
    return writing_session.public_id
