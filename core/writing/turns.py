"""One turn end to end: save the turn, stream the draft into the database, score it, route it.
The machinery of core.usecases.writing, which every caller goes through.

    prepare_turn  -> a TurnRequest's Turn + Draft("generating", with a heartbeat) committed before
                     the model is called; an instruction matching one of the project's presets is
                     noted (`preset`); add_turn: the same in the caller's transaction
    prepare_regeneration -> the same for a new variant of an earlier turn (asked past the cache)
    stream_draft  -> yields text as it arrives, saving it every PARTIAL_SAVE_INTERVAL_S (SAVER: the
                     texts of all the drafts this process writes in one transaction; a save
                     that meets a busy database is skipped: the next one catches up);
                     with a preset: yields the preset's answer and never calls the model
                     (Draft.provider "preset"); what it yields is masked where a sensitive
                     word is (core.writing.moderation), the stored text is the original;
                     on success scores and routes the draft (core.gate.route), or hands that to
                     `score_later` (the use cases pass core.gate.rescoring.hand_off_scoring: a job);
                     on failure keeps the partial text and marks the draft failed (or
                     interrupted: its reader let go of the generator) with the reason; a Stop
                     (`stop`, a threading.Event set from any thread) closes the provider's stream
                     and ends the draft "stopped" with its text so far, never scored
                     (core.writing.generation runs this in a job for every generation)
    KEEPER        this process's heartbeat for the drafts it is writing: every DRAFT_HEARTBEAT_S
                     it refreshes their `heartbeat_at`, so that a sweep (core.writing.sessions) can tell a
                     draft whose writer died (kill -9, a crash) from one still being written:

        generating --(heartbeat older than DRAFT_STALE_AFTER_S: its writer died)--> interrupted

Whatever the model sent is stored through core.platform.text.storable (the text, and the id, model and
error it came with): text no database can hold never fails the save, nor the failure path.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from core.access.roles import require
from core.gate.policies import PRESET_PROVIDER
from core.gate.route import score_and_route
from core.llm.cache import CacheMode, CacheOrigin
from core.llm.client import CompletionStream, LLMClient
from core.llm.stopping import RequestStop
from core.llm.types import ChatMessage, GenerationParams, GenerationResult, ProviderConfig
from core.platform import constants
from core.platform.db import chunks, insert_row, open_session, saved_id
from core.platform.errors import DatabaseBusyError, DraftgateError, InvalidInputError, NotFoundError
from core.platform.i18n import N_, Message
from core.platform.models import Draft, Turn, User, WritingSession, utcnow
from core.platform.states import DraftStatus
from core.platform.text import check_text, storable
from core.writing import moderation, presets
from core.writing.prompts import Exchange, TurnKind, render_chat_messages, render_completion_prompt, trim_history
from core.writing.sessions import get_session, history, sessions_being_written, touch
from core.writing.stream_guard import GUARD

logger = logging.getLogger(__name__)

CONTINUE_INSTRUCTION = "Continue the previous text"
ScoreLater = Callable[[int], object]  # called with the id of a completed draft to score and route
MAX_INSTRUCTION_CHARS = 8_000
LEFT_MID_STREAM = N_("Generation stopped before the end (the page was left or reloaded).")
NOTHING_TO_CONTINUE = "There is no text to continue yet: write a first instruction."
UNEXPECTED_FAILURE = N_("An unexpected error stopped this draft; it has been logged.")
STOPPED_BY_WRITER = N_("Stopped by the writer.")


class DraftKeeper:
    """Keeps `heartbeat_at` fresh, every `heartbeat_s`, for the drafts this process is writing.

    One per process (KEEPER); its thread runs only while it holds drafts. A forked process
    starts with none (an RQ work horse holds its own)."""

    def __init__(self, heartbeat_s: float = constants.DRAFT_HEARTBEAT_S) -> None:
        self.heartbeat_s = heartbeat_s
        self._forget_all()

    def _forget_all(self) -> None:
        self._held: dict[Engine, Counter[int]] = {}  # a draft held twice (nested blocks) is let go twice
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def writing(self, engine: Engine, draft_ids: Iterable[int]) -> Iterator[None]:
        """Hold the drafts while the block writes them."""
        ids = set(draft_ids)
        with self._lock:
            self._held.setdefault(engine, Counter()).update(ids)
            if self._thread is None:
                self._thread = threading.Thread(target=self._beat, name="draftgate-draft-heartbeat", daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                held = self._held[engine]
                held.subtract(ids)
                for draft_id in ids:
                    if held[draft_id] <= 0:
                        del held[draft_id]
                if not held:
                    del self._held[engine]

    def _beat(self) -> None:
        while True:
            time.sleep(self.heartbeat_s)
            with self._lock:
                if not self._held:
                    self._thread = None
                    return
                held = [(engine, sorted(ids)) for engine, ids in self._held.items()]
            for engine, draft_ids in held:
                try:
                    _beat_drafts(engine, draft_ids)
                except Exception:  # a busy or briefly unreachable database: the next beat tries again
                    logger.warning("the heartbeat of drafts %s failed", draft_ids, exc_info=True)


KEEPER = DraftKeeper()
os.register_at_fork(after_in_child=KEEPER._forget_all)


def _beat_drafts(engine: Engine, draft_ids: list[int]) -> None:
    now = utcnow()
    with open_session(engine) as session:
        for chunk in chunks(sorted(draft_ids)):
            in_id_order = (select(col(Draft.id)).where(col(Draft.id).in_(chunk), col(Draft.status) == DraftStatus.GENERATING)
                           .order_by(col(Draft.id)).with_for_update())  # (locked in id order, as partial saves are)
            session.exec(update(Draft).where(col(Draft.id).in_(in_id_order))
                         .values(heartbeat_at=now))
        session.commit()


@dataclass(frozen=True)
class TurnRequest:
    """What a writer asks of a writing session: a turn, "continue", or several variants of one.

    The one shape every caller hands over (core.usecases.writing: the Write page, the command
    line, jobs and the HTTP API); who asks, the provider and the context budget come from elsewhere."""

    public_id: str  # the writing session's public ID
    instruction: str = ""  # ignored for TurnKind.CONTINUE
    kind: str = TurnKind.INSTRUCTION
    params: GenerationParams = field(default_factory=GenerationParams)
    variants: int = 1  # more than one: a job writes them side by side (core.writing.variants)
    cache: CacheMode = "auto"  # "use": reuse cached answers at any temperature; "refresh": never
    use_presets: bool = True  # False: always ask the model, even if a preset answers the instruction


@dataclass(frozen=True)
class PreparedTurn:
    turn_id: int
    draft_id: int
    prompt: str | list[ChatMessage]
    params: GenerationParams
    provider: ProviderConfig
    preset: presets.PresetMatch | None = None  # stream_draft answers from it without calling the model
    session_id: int | None = None  # the writing session's id (a cached answer's origin)
    cache: CacheMode = "auto"  # the TurnRequest's; "refresh" for a regeneration
    turn_index: int = 0  # the turn's place in its session


def prepare_turn(
    *,
    session: Session,
    user: User,
    request: TurnRequest,
    provider: ProviderConfig,
    budget_tokens: int = constants.CONTEXT_BUDGET_TOKENS,
) -> PreparedTurn:
    """Save the turn and its empty draft, before the model is called; nothing is saved if this raises."""
    return committed(add_turn, session=session, user=user, request=request, provider=provider,
                     budget_tokens=budget_tokens)


Added = TypeVar("Added")


def committed(add: Callable[..., Added], *, session: Session, user: User, request: TurnRequest,
              provider: ProviderConfig, budget_tokens: int) -> Added:
    """`add` (add_turn, core.writing.variants.add_variants) in the session of `request`, then committed."""
    require(user.role, "write")
    writing_session = get_session(session=session, user=user, public_id=request.public_id)
    added = add(session=session, user=user, request=request, provider=provider, writing_session=writing_session,
                budget_tokens=budget_tokens)
    session.commit()
    return added


def add_turn(
    *,
    session: Session,
    user: User,
    request: TurnRequest,
    provider: ProviderConfig,
    writing_session: WritingSession,
    budget_tokens: int = constants.CONTEXT_BUDGET_TOKENS,
    render: bool = True,
) -> PreparedTurn:
    """prepare_turn in the caller's transaction (the caller commits), for a session it has read
    (get_session). `render=False`: no prompt (a job renders its own when it runs): the session's
    history is then read only to check that a "continue" has something to continue."""
    require(user.role, "write")
    request.params.validate()
    kind = turn_kind(request.kind)
    earlier = history(session=session, writing_session=writing_session) if render or kind == TurnKind.CONTINUE else []
    if kind == TurnKind.CONTINUE:
        if not earlier and writing_session.id not in sessions_being_written(session=session, owner_id=saved_id(user)):
            raise InvalidInputError(NOTHING_TO_CONTINUE)  # (a draft being written: this one waits for its text)
        instruction = CONTINUE_INSTRUCTION
    else:
        instruction = check_text(request.instruction, what="The instruction", max_chars=MAX_INSTRUCTION_CHARS,
                                 strip=True)
        if not instruction:
            raise InvalidInputError("Write an instruction first.")
    preset = None
    if request.use_presets and kind != TurnKind.CONTINUE:
        preset = presets.match(session=session, project_id=writing_session.project_id, instruction=instruction)
    prompt = render_prompt(earlier, instruction, kind, provider, budget_tokens) if render else ""

    session_id = saved_id(writing_session)
    turn_id, index = session.connection().execute(_INSERT_TURN, {
        "of_session": session_id, "session_id": session_id, "instruction": instruction, "kind": kind}).one()
    draft_id = insert_row(session, Draft, turn_id=turn_id, provider=provider.name, model=provider.model,
                          params=request.params.to_dict(), heartbeat_at=utcnow())
    touch(session=session, writing_session=writing_session)
    return PreparedTurn(turn_id, draft_id, prompt, request.params, provider, preset,
                        session_id=session_id, cache=request.cache, turn_index=index)


_TURNS = Turn.__table__  # type: ignore[attr-defined]
# a turn of a session, numbered after its last one by the INSERT itself (no read before the write)
_INSERT_TURN = _TURNS.insert().values(
    index=select(func.coalesce(func.max(_TURNS.c.index), -1) + 1)
    .where(_TURNS.c.session_id == bindparam("of_session")).scalar_subquery()
).returning(_TURNS.c.id, _TURNS.c.index)


def turn_kind(kind: str) -> TurnKind:
    try:
        return TurnKind(kind)
    except ValueError:
        kinds = " or ".join(TurnKind)
        raise InvalidInputError(Message(N_("A turn's kind is {kinds}, not {kind!r}."), kinds=kinds, kind=kind)) from None


def stream_draft(
    *, engine: Engine, client: LLMClient, prepared: PreparedTurn, score_later: ScoreLater | None = None,
    stop: threading.Event | None = None, matcher: moderation.Matcher | None = None, scored_by: int | None = None,
) -> Iterator[str]:
    """Yield the draft's text as it arrives, masked where a sensitive word is; the database
    always holds what has arrived (unmasked). The cache is used as `prepared.cache` says
    ("refresh": past a cached answer). Without `score_later` the finished draft is scored and
    routed here, before the last text. `stop` set (from any thread): the provider's stream is
    closed within stream_guard.STOP_CHECK_S and the draft ends "stopped" with its text so far (never scored).
    `matcher`: the sensitive words' matcher, if the caller has read it; `scored_by`: the job that
    will score the draft (its Draft.score_job_id, stored with the completed text)."""
    if matcher is None:
        with open_session(engine) as session:
            matcher = moderation.active_matcher(session=session)
    masker = matcher.masker()
    route = score_later or (lambda draft_id: _score_now(engine, draft_id, matcher))
    if prepared.preset is not None:
        yield from _answer_from_preset(engine, prepared, prepared.preset, masker, route)
        return
    draft_id = prepared.draft_id
    stop = stop or threading.Event()
    stream: CompletionStream | None = None
    stopped = False
    try:
        with KEEPER.writing(engine, [draft_id]):
            saves = PartialSaves(engine, draft_id)
            request_stop = RequestStop()
            with GUARD.guarding(stop, request_stop, saves, lambda: _so_far(stream)):
                if not stop.is_set():
                    stream = client.stream(prepared.prompt, prepared.params, cache=prepared.cache,
                                           origin=CacheOrigin(prepared.session_id, draft_id), stop=request_stop)
                stopped = stream is None
                for delta in stream if stream is not None else ():
                    if stop.is_set():
                        stopped = True
                        break
                    safe = masker.feed(delta)
                    if safe:
                        yield safe  # (saved by GUARD's thread: the reader never waits for the database)
            if stream is None or stopped:
                stored = False
                mark_unfinished(engine, draft_id, DraftStatus.STOPPED, STOPPED_BY_WRITER, text=_so_far(stream))
            elif stream.result is None:  # a stream read to its end has its result: a bug otherwise
                raise RuntimeError(f"the stream of draft {draft_id} ended without a result")
            else:
                stored = _complete(engine, draft_id, stream.result, cache_hit=stream.cache_hit, scored_by=scored_by)
    except DraftgateError as err:
        if not stop.is_set():
            mark_unfinished(engine, draft_id, DraftStatus.FAILED, failure_reason(err), text=_so_far(stream))
            raise
        stopped, stored = True, False  # the stream was closed by Stop: not a failure
        mark_unfinished(engine, draft_id, DraftStatus.STOPPED, STOPPED_BY_WRITER, text=_so_far(stream))
    except Exception:
        logger.exception("writing draft %s failed", draft_id)
        mark_unfinished(engine, draft_id, DraftStatus.FAILED, UNEXPECTED_FAILURE, text=_so_far(stream))
        raise
    except BaseException:  # GeneratorExit: the caller stopped reading mid-stream
        mark_unfinished(engine, draft_id, DraftStatus.INTERRUPTED, LEFT_MID_STREAM, text=_so_far(stream))
        raise
    finally:
        if stream is not None:
            stream.close()
    if stored and not stopped:
        route(draft_id)
    rest = masker.flush()
    if rest:
        yield rest


def _so_far(stream: CompletionStream | None) -> str:
    return stream.text if stream is not None else ""


def _answer_from_preset(
    engine: Engine, prepared: PreparedTurn, preset: presets.PresetMatch, masker: moderation.StreamMasker,
    route: ScoreLater,
) -> Iterator[str]:
    """Complete the draft with the preset's answer (no model call), then yield it."""
    started = time.monotonic()
    with open_session(engine) as session:
        draft = session.get_one(Draft, prepared.draft_id)
        draft.text = preset.answer
        draft.status = DraftStatus.COMPLETED
        draft.finish_reason = "preset"
        draft.provider = PRESET_PROVIDER
        draft.model = f"preset #{preset.preset_id}"
        draft.request_id = f"preset:{preset.preset_id}"
        draft.latency_ms = round((time.monotonic() - started) * 1000)
        draft.updated_at = utcnow()
        session.add(draft)
        presets.record_use(session=session, preset_id=preset.preset_id)
        session.commit()
    route(prepared.draft_id)
    text = masker.feed(preset.answer) + masker.flush()
    if text:
        yield text


def run_turn(*, engine: Engine, client: LLMClient, prepared: PreparedTurn) -> Draft:
    """The non-streaming caller's way: consume the stream, return the stored draft."""
    for _ in stream_draft(engine=engine, client=client, prepared=prepared):
        pass
    with open_session(engine) as session:
        return session.get_one(Draft, prepared.draft_id)


def completed_values(result: GenerationResult, *, cache_hit: bool = False) -> dict[str, Any]:
    """A draft's columns once the model's whole answer is in (the caller saves them, then scores it)."""
    values: dict[str, Any] = {
        "text": storable(result.text), "status": DraftStatus.COMPLETED, "finish_reason": storable(result.finish_reason),
        "request_id": storable(result.id), "prompt_tokens": result.usage.prompt_tokens,
        "completion_tokens": result.usage.completion_tokens, "latency_ms": round(result.latency_s * 1000),
        "cache_hit": cache_hit, "updated_at": utcnow(),
    }
    if storable(result.model):
        values["model"] = storable(result.model)
    return values


def complete_draft(draft: Draft, result: GenerationResult, *, cache_hit: bool = False) -> None:
    """Fill a draft in from the model's whole answer (the caller saves it, then scores it)."""
    for name, value in completed_values(result, cache_hit=cache_hit).items():
        setattr(draft, name, value)


COMPLETE_ATTEMPTS = 4  # a whole answer is not lost to a busy moment of the database


def _complete(engine: Engine, draft_id: int, result: GenerationResult, *, cache_hit: bool,
              scored_by: int | None = None) -> bool:
    """Store the whole answer (one UPDATE); False when the draft was deleted meanwhile (nothing to route)."""
    values = completed_values(result, cache_hit=cache_hit)
    if scored_by is not None:
        values["score_job_id"] = scored_by
    attempt = 1
    while True:
        try:
            with open_session(engine) as session:
                outcome = session.exec(update(Draft).where(col(Draft.id) == draft_id).values(**values))
                session.commit()
            return bool(outcome.rowcount)
        except DatabaseBusyError:  # e.g. chosen as a deadlock's victim: its transaction is rolled back, try again
            if attempt == COMPLETE_ATTEMPTS:
                raise
            time.sleep(0.05 * attempt)
            attempt += 1


def _score_now(engine: Engine, draft_id: int, matcher: moderation.Matcher | None = None) -> None:
    with open_session(engine) as session:
        score_and_route(session=session, draft_id=draft_id, matcher=matcher)


class PartialSaves:
    """Offers a draft's text so far for saving at most every PARTIAL_SAVE_INTERVAL_S (with its heartbeat).

    stream_draft's guard (core.writing.stream_guard) offers the text so far every STOP_CHECK_S (so text followed by
    a silence is saved within the interval too); a variants job offers each variant's text as
    it arrives. The saving is SAVER's: one transaction for the texts of all the drafts this
    process is writing."""

    def __init__(self, engine: Engine, draft_id: int) -> None:
        self.engine = engine
        self.draft_id = draft_id
        self._last = time.monotonic()
        self._saved = ""
        self._lock = threading.Lock()

    def offer(self, text: str) -> None:
        with self._lock:
            if time.monotonic() - self._last < constants.PARTIAL_SAVE_INTERVAL_S or text == self._saved:
                return
            self._last = time.monotonic()
            self._saved = text
            SAVER.save(self.engine, self.draft_id, text)


class PartialSaver:
    """This process's writer of partial texts: one thread that saves whatever texts are waiting,
    every draft's newest only, in one transaction, then waits for more. Quiet: each text is saved
    as it comes; busy (64 drafts at once): their saves share transactions instead of queueing for
    the write lock one by one. Its thread runs while texts come (a forked process starts with none)."""

    IDLE_S = 5.0  # the thread ends after this long without a text

    def __init__(self) -> None:
        self._forget_all()

    def _forget_all(self) -> None:
        self._waiting: dict[Engine, dict[int, str]] = {}
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None

    def save(self, engine: Engine, draft_id: int, text: str) -> None:
        with self._ready:
            self._waiting.setdefault(engine, {})[draft_id] = text
            if self._thread is None:
                self._thread = threading.Thread(target=self._write, name="draftgate-partial-saves", daemon=True)
                self._thread.start()
            self._ready.notify()

    def _write(self) -> None:
        while True:
            with self._ready:
                if not self._waiting and not self._ready.wait_for(lambda: bool(self._waiting), self.IDLE_S):
                    self._thread = None
                    return
                waiting, self._waiting = self._waiting, {}
            for engine, texts in waiting.items():
                try:
                    save_partials(engine, texts)
                except Exception:  # a bug: logged; the drafts' final text is written by their end
                    logger.exception("the partial texts of drafts %s were not saved", sorted(texts))


SAVER = PartialSaver()
os.register_at_fork(after_in_child=SAVER._forget_all)


def save_partial(engine: Engine, draft_id: int, text: str) -> bool:
    """Store the text so far of a draft being written (see save_partials)."""
    return save_partials(engine, {draft_id: text})


def save_partials(engine: Engine, texts: Mapping[int, str]) -> bool:
    """Store the texts so far of drafts being written (draft id -> text), in one transaction; a
    busy database skips these saves (False): the streams go on and the next saves catch up."""
    now = utcnow()
    table = Draft.__table__  # type: ignore[attr-defined]
    statement = (update(table).where(table.c.id == bindparam("draft_id"), table.c.status == DraftStatus.GENERATING)
                 .values(text=bindparam("saved_text"), updated_at=now, heartbeat_at=now))
    try:
        with open_session(engine) as session:
            # rows in the order of their ids, as the heartbeat takes them: two writers of several
            # drafts taking them in different orders can deadlock (PostgreSQL)
            session.connection().execute(statement, [{"draft_id": draft_id, "saved_text": storable(text)}
                                                     for draft_id, text in sorted(texts.items())])
            session.commit()
    except DatabaseBusyError:
        logger.info("drafts %s: the database is busy, their text is saved at the next chance", sorted(texts))
        return False
    return True


COULD_NOT_START = N_("The draft could not be started: {error}")


def failure_reason(err: BaseException | None) -> str | Message:
    """What a draft's error says of `err`: a DraftgateError's message (rendered in each reader's language)."""
    return err.message if isinstance(err, DraftgateError) and err.message else str(err)


def mark_unfinished(
    engine: Engine, draft_id: int, status: DraftStatus, reason: str | Message, *, text: str | None = None
) -> None:
    """End a draft still "generating" as `status` ("failed", "interrupted", "stopped") with the reason
    (a Message is stored as its English text and as itself, for the pages), storing `text` (None:
    keep what was saved). On a busy database it stays "generating" until the sweep
    (core.writing.sessions) marks it interrupted: this never raises DatabaseBusyError."""
    values = {"status": status, "error": storable(str(reason)), "error_message": _stored(reason), "updated_at": utcnow()}
    if text is not None:
        values["text"] = storable(text)
    try:
        with open_session(engine) as session:
            session.exec(update(Draft).where(col(Draft.id) == draft_id, col(Draft.status) == DraftStatus.GENERATING)
                         .values(**values))
            session.commit()
    except DatabaseBusyError:
        logger.warning("draft %s could not be marked %s: the database is busy", draft_id, status)


def _stored(reason: str | Message) -> dict[str, Any] | None:
    if not isinstance(reason, Message):
        return None
    try:
        return reason.to_json()
    except TypeError:  # a parameter JSON cannot hold: the English text is stored alone
        logger.warning("the reason %r is stored as English text only", reason)
        return None


# -- regenerating a turn: one more variant of it (streamed by stream_draft, past the cache) ---


def render_prompt(
    earlier: list[Exchange], instruction: str, kind: str, provider: ProviderConfig, budget_tokens: int
) -> str | list[ChatMessage]:
    """What the provider reads for `instruction` after the `earlier` exchanges that fit the budget."""
    kept = trim_history(earlier, instruction, budget_tokens)
    if provider.api_style == "completions":
        return render_completion_prompt(kept, instruction, kind)
    return render_chat_messages(kept, instruction, kind)


def prepare_regeneration(
    *,
    session: Session,
    user: User,
    turn_id: int,
    params: GenerationParams,
    provider: ProviderConfig,
    budget_tokens: int = constants.CONTEXT_BUDGET_TOKENS,
) -> PreparedTurn:
    """Save a new, empty draft of an earlier turn as its next variant: the same instruction, in
    the context that turn had (the turns before it), always asked of the model."""
    require(user.role, "write")
    params.validate()
    turn = session.get(Turn, turn_id)
    if turn is None:
        raise NotFoundError("No such turn.")
    writing_session = session.get_one(WritingSession, turn.session_id)
    get_session(session=session, user=user, public_id=writing_session.public_id)  # may this user write here?
    earlier = history(session=session, writing_session=writing_session, before=turn.index)
    if turn.kind == TurnKind.CONTINUE and not earlier:
        raise InvalidInputError(NOTHING_TO_CONTINUE)
    prompt = render_prompt(earlier, turn.instruction, turn.kind, provider, budget_tokens)
    turn_id = saved_id(turn)
    draft = Draft(turn_id=turn_id, variant=_next_variant(session, writing_session, turn_id), provider=provider.name,
                  model=provider.model, params=params.to_dict(), heartbeat_at=utcnow())
    session.add(draft)
    session.commit()
    return PreparedTurn(turn_id, saved_id(draft), prompt, params, provider, session_id=saved_id(writing_session),
                        cache="refresh", turn_index=turn.index)


def _next_variant(session: Session, writing_session: WritingSession, turn_id: int) -> int:
    """The turn's next variant number. The session's row is written first, which holds it
    (PostgreSQL) or the database's write lock (SQLite) until the commit: two regenerations of
    one turn, in any processes, never take the same number."""
    session.commit()  # end the reads: the write below begins the transaction that takes the number
    writing_session.updated_at = utcnow()
    session.add(writing_session)
    session.flush()
    highest = session.exec(select(func.max(Draft.variant)).where(Draft.turn_id == turn_id)).one()
    return 0 if highest is None else highest + 1
