"""The writing use cases, as every caller uses them: a runtime, a registered provider on loopback
(a real HTTP server), real job threads. What is refused saves nothing; what starts is written."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import event
from sqlmodel import select

from core.access.actors import SYSTEM
from core.llm.registry import add_provider
from core.llm.types import GenerationParams
from core.platform.config import Settings
from core.platform.errors import (
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
)
from core.platform.models import Draft, Job, Turn, WritingSession
from core.platform.states import DraftStatus, JobStatus, Route
from core.runtime import Runtime
from core.usecases import jobs, sessions, writing
from core.usecases.writing import TurnRequest
from core.writing.prompts import TurnKind
from tests.core.llm.faulty_server import FaultyServer, answer, status, stream
from tests.utils.factories import make_project, make_user
from tests.utils.jobs import wait_for_job

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)

REFERENCE = "The quick brown fox jumps over the lazy dog."
EXACT = GenerationParams(temperature=0.0, max_tokens=16)


@pytest.fixture
def faulty():
    server = FaultyServer().start()
    yield server
    server.stop()


@pytest.fixture
def runtime(engine, monkeypatch):
    monkeypatch.setenv("DRAFTGATE_USER_RATE_LIMIT", "3")
    made = Runtime(Settings(), engine=engine)
    yield made
    made.close(wait=True)  # no job of this test runs on after it


@pytest.fixture
def public_id(runtime, db, writer, faulty):
    add_provider(session=db, settings=runtime.settings, name="local", base_url=faulty.base_url, model="m",
                 api_style="completions", actor_id=SYSTEM)
    project = make_project(db, "Essays", references=(REFERENCE,))
    created = sessions.create_session(runtime, writer, project_id=project.id)
    sessions.choose_provider(runtime, writer, public_id=created.public_id, provider_name="local")
    return created.public_id


def stored(db, model):
    db.expire_all()
    return list(db.exec(select(model)))


def routed(db, draft_id: int, timeout_s: float = 30.0) -> Draft:
    """The draft once the scoring job has routed it."""
    deadline = time.monotonic() + timeout_s
    while True:
        db.expire_all()
        draft = db.get(Draft, draft_id)
        if draft.route != Route.PENDING:
            return draft
        assert time.monotonic() < deadline, f"draft {draft_id} was not routed"
        time.sleep(0.02)


def written(runtime, user, started) -> str:
    """The text of the started turn's (first) draft, followed as a watcher sees it, to its end."""
    view = list(writing.follow(runtime, user, started.draft_ids[0], wait_s=0.5))[-1]
    assert view.done
    return view.text


def test_a_turn_is_saved_then_written_by_a_job_then_scored(runtime, db, writer, public_id, faulty):
    faulty.script(answer(REFERENCE))
    started = writing.start_turn(runtime, writer, TurnRequest(public_id=public_id, instruction=" Write a fox ",
                                                              params=EXACT))
    [draft] = stored(db, Draft)
    assert (started.turn_id, started.draft_ids) == (draft.turn_id, [draft.id]) and started.job_id is not None
    assert draft.status == DraftStatus.GENERATING and draft.provider == "local"  # saved before the model is asked
    assert written(runtime, writer, started) == REFERENCE
    draft = routed(db, draft.id)
    assert (draft.status, draft.text, draft.route) == (DraftStatus.COMPLETED, REFERENCE, Route.ACCEPTED)
    assert db.get(Turn, draft.turn_id).instruction == "Write a fox"
    assert stored(db, WritingSession)[0].params == EXACT.to_dict()  # the session keeps the parameters
    assert faulty.requests[0].body["prompt"].endswith("Write a fox\n\nAnswer:\n")


def test_variants_are_written_by_a_job(runtime, db, writer, public_id, faulty):
    started = writing.start_turn(runtime, writer, TurnRequest(public_id=public_id, instruction="Write",
                                                              params=EXACT.with_changes(seed=4), variants=3))
    assert len(started.draft_ids) == 3 and len(started.job_ids) == 3  # one job per variant
    for job_id in started.job_ids:
        assert wait_for_job(runtime.engine, job_id).status == JobStatus.SUCCEEDED
        assert jobs.job(runtime, writer, job_id).result["status"] == DraftStatus.COMPLETED
    assert [d.status for d in stored(db, Draft)] == [DraftStatus.COMPLETED] * 3
    assert sorted(body.body["seed"] for body in faulty.requests) == [4, 5, 6]
    assert {d.turn_id for d in stored(db, Draft)} == {started.turn_id}


def test_continue_carries_on_the_previous_text(runtime, db, writer, public_id, faulty):
    with pytest.raises(InvalidInputError, match="no text to continue"):
        writing.continue_turn(runtime, writer, TurnRequest(public_id=public_id, params=EXACT))
    assert stored(db, Turn) == []
    faulty.script(answer("Once upon a time"), answer(" there was a fox."))
    written(runtime, writer, writing.start_turn(runtime, writer, TurnRequest(public_id=public_id,
                                                                             instruction="Begin", params=EXACT)))
    started = writing.continue_turn(runtime, writer, TurnRequest(public_id=public_id, instruction="ignored",
                                                                 params=EXACT))
    assert written(runtime, writer, started) == " there was a fox."
    assert db.get(Turn, started.turn_id).kind == TurnKind.CONTINUE
    assert faulty.requests[-1].body["prompt"].endswith("Once upon a time")


def test_regenerate_writes_the_turns_next_variant_past_the_cache(runtime, db, writer, public_id, faulty):
    faulty.script(answer("A fox."), answer("Another fox."))
    first = writing.start_turn(runtime, writer, TurnRequest(public_id=public_id, instruction="Fox", params=EXACT))
    written(runtime, writer, first)
    again = writing.regenerate(runtime, writer, turn_id=first.turn_id, params=EXACT)
    assert written(runtime, writer, again) == "Another fox." and len(faulty.requests) == 2  # asked again
    draft = db.get(Draft, again.draft_ids[0])
    assert (again.turn_id, draft.turn_id, draft.variant) == (first.turn_id, first.turn_id, 1)
    with pytest.raises(NotFoundError, match="No such turn"):
        writing.regenerate(runtime, writer, turn_id=first.turn_id + 99, params=EXACT)


def test_the_newest_draft_of_a_session_follows_its_turns_and_variants(runtime, db, writer, public_id, faulty):
    """What a second tab of the session compares with the newest draft it shows."""
    assert sessions.newest_draft(runtime, writer, public_id=public_id) == 0
    faulty.script(answer("A fox."), answer("Another fox."), answer("A dog."))
    first = writing.start_turn(runtime, writer, TurnRequest(public_id=public_id, instruction="Fox", params=EXACT))
    assert sessions.newest_draft(runtime, writer, public_id=public_id) == first.draft_ids[0]  # while it is written
    written(runtime, writer, first)
    again = writing.regenerate(runtime, writer, turn_id=first.turn_id, params=EXACT)
    assert sessions.newest_draft(runtime, writer, public_id=public_id) == again.draft_ids[0]
    written(runtime, writer, again)
    other = sessions.create_session(runtime, writer, project_id=stored(db, WritingSession)[0].project_id)
    sessions.choose_provider(runtime, writer, public_id=other.public_id, provider_name="local")
    written(runtime, writer, writing.start_turn(runtime, writer, TurnRequest(public_id=other.public_id,
                                                                             instruction="Dog", params=EXACT)))
    assert sessions.newest_draft(runtime, writer, public_id=public_id) == again.draft_ids[0]  # another session's
    editor = make_user(db, "eda", "editor")
    assert sessions.newest_draft(runtime, editor, public_id=public_id) == again.draft_ids[0]
    for user, asked in ((make_user(db, "sam", "writer"), public_id), (writer, "no-such-session"), (writer, "x\x00")):
        with pytest.raises(NotFoundError):
            sessions.newest_draft(runtime, user, public_id=asked)


def test_a_failed_provider_leaves_the_draft_failed_with_the_reason(runtime, db, writer, public_id, faulty):
    faulty.script(status(400))
    started = writing.start_turn(runtime, writer, TurnRequest(public_id=public_id, instruction="Fox", params=EXACT))
    job = wait_for_job(runtime.engine, started.job_id)
    [draft] = stored(db, Draft)
    assert (draft.status, draft.error) == (DraftStatus.FAILED, job.error)
    assert job.status == JobStatus.FAILED and "400" in job.error
    view = writing.watch(runtime, writer, draft.id)
    assert (view.done, view.status) == (True, DraftStatus.FAILED)


@pytest.mark.parametrize(
    ("request_changes", "error", "message"),
    [
        ({"params": GenerationParams(top_p=7)}, InvalidInputError, "top_p"),
        ({"instruction": "   "}, InvalidInputError, "Write an instruction first"),
        ({"kind": "poem"}, InvalidInputError, "instruction or continue, not 'poem'"),
        ({"public_id": "nope"}, NotFoundError, "No writing session"),
        ({"variants": 99}, InvalidInputError, "1 to"),
    ],
)
def test_a_refused_request_saves_nothing(runtime, db, writer, public_id, faulty, request_changes, error, message):
    request = TurnRequest(**{"public_id": public_id, "instruction": "Write", "params": EXACT, **request_changes})
    with pytest.raises(error, match=message):
        writing.start_turn(runtime, writer, request)
    assert stored(db, Turn) == [] and stored(db, Draft) == [] and stored(db, Job) == []
    assert faulty.requests == []


def test_over_the_users_rate_nothing_is_saved_not_even_the_parameters(runtime, db, writer, public_id, faulty):
    for _ in range(3):
        written(runtime, writer, writing.start_turn(runtime, writer, TurnRequest(public_id=public_id,
                                                                                 instruction="W", params=EXACT)))
    with pytest.raises(RateLimitedError, match="slow down"):
        writing.start_turn(runtime, writer, TurnRequest(public_id=public_id, instruction="W",
                                                        params=EXACT.with_changes(max_tokens=99)))
    assert len(stored(db, Turn)) == 3 and stored(db, WritingSession)[0].params == EXACT.to_dict()


def test_a_role_that_may_not_write_is_refused_before_its_rate_is_counted(runtime, db, public_id):
    reviewer = make_user(db, "rita", "reviewer")
    for _ in range(4):  # more than the rate allows: never counted
        with pytest.raises(PermissionDeniedError):
            writing.start_turn(runtime, reviewer, TurnRequest(public_id=public_id, instruction="W", params=EXACT))
    assert stored(db, Turn) == []


def test_another_writer_cannot_write_in_the_session(runtime, db, public_id):
    stranger = make_user(db, "sam", "writer")
    with pytest.raises(NotFoundError):
        writing.start_turn(runtime, stranger, TurnRequest(public_id=public_id, instruction="W", params=EXACT))
    assert stored(db, Turn) == []


# -- a turn's cost in SQL statements on SQLite: start_turn (the page's call) and the job that writes,
# scores and routes its draft. A budget, not a timing: a change that reads something twice, or saves
# in two transactions what is one decision, fails here with the statements it added.

# what the code reaches today: the checks' reads (the user's running turns by session, which says
# whether this one waits too; the session; its provider; the presets that may answer), then one
# transaction for turn (numbered by its INSERT), draft, job and the session's time ...
START_TURN_STATEMENTS = 8
START_TURN_COMMITS = 1
# ... and in the job: its claim, the turn, the history (which says whether an earlier draft is being
# written), the sensitive words, the response cache (a miss, then the answer stored), the completed
# text, the draft with its context, policy, references, its route, its scores (two statements), the job's end
JOB_STATEMENTS = 14
JOB_THREAD = "draftgate-generation"


class Statements:
    """The statements the engine sends, by thread: the caller's while `counting`, and the job threads'."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.caller = threading.get_ident()
        self.counting = False
        self.start: list[str] = []
        self.job: list[str] = []
        self.commits = 0
        self._lock = threading.Lock()

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "commit", self._commit)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "commit", self._commit)

    def _statement(self, _conn, _cursor, statement, *_args) -> None:
        first_words = " ".join(statement.split()[:4])
        with self._lock:
            if threading.get_ident() == self.caller and self.counting:
                self.start.append(first_words)
            elif threading.current_thread().name.startswith(JOB_THREAD):
                self.job.append(first_words)

    def _commit(self, _conn) -> None:
        if threading.get_ident() == self.caller and self.counting:
            self.commits += 1


@pytest.mark.sqlite_only("the budget counts SQLite's statements")
def test_a_turn_and_its_job_stay_within_their_statement_budget(runtime, db, writer, public_id, faulty):
    faulty.script(answer(REFERENCE), answer(REFERENCE))
    runtime.job_runner  # noqa: B018 - started first, as the app's start does (its start sweeps)
    with Statements(runtime.engine) as changing:  # (the first turn changes the session's parameters too)
        changing.counting = True
        first = writing.start_turn(runtime, writer, TurnRequest(public_id=public_id, instruction="Begin",
                                                                params=EXACT))
        changing.counting = False
    assert len(changing.start) <= START_TURN_STATEMENTS, "\n".join(changing.start)
    wait_for_job(runtime.engine, first.job_id)  # the second turn has a history to read

    with Statements(runtime.engine) as counted:
        counted.counting = True
        started = writing.start_turn(runtime, writer, TurnRequest(public_id=public_id, instruction="Write a fox",
                                                                  params=EXACT))
        counted.counting = False
        wait_for_job(runtime.engine, started.job_id)

    draft = db.get(Draft, started.draft_ids[0])
    db.refresh(draft)
    assert (draft.status, draft.text, draft.route) == (DraftStatus.COMPLETED, REFERENCE, Route.ACCEPTED)
    assert draft.score_job_id == started.job_id
    assert len(counted.start) <= START_TURN_STATEMENTS, "\n".join(counted.start)
    assert counted.commits <= START_TURN_COMMITS
    assert len(counted.job) <= JOB_STATEMENTS, "\n".join(counted.job)


@pytest.mark.sqlite_only("it counts SQLite's statements")
def test_the_writer_watching_a_draft_it_just_started_is_not_checked_in_the_database(
        runtime, db, writer, public_id, faulty):
    faulty.script(answer(REFERENCE))
    started = writing.start_turn(runtime, writer, TurnRequest(public_id=public_id, instruction="W", params=EXACT))
    with Statements(runtime.engine) as counted:
        counted.counting = True
        writing.watch(runtime, writer, started.draft_ids[0])  # (its page's first watch: who may watch is known)
        counted.counting = False
    assert not [statement for statement in counted.start if "owner_id" in statement], counted.start
    wait_for_job(runtime.engine, started.job_id)


def test_a_follower_of_a_fast_stream_reads_at_most_every_follow_interval_and_ends_with_the_whole_text(
        runtime, writer, public_id, faulty, monkeypatch):
    pieces = [f" w{n}" for n in range(120)]
    faulty.script(stream(pieces, gap_s=0.002))
    reads: list[float] = []
    real_watch = writing.watch

    def timed_watch(*args, **kwargs):
        reads.append(time.monotonic())
        return real_watch(*args, **kwargs)

    monkeypatch.setattr(writing, "watch", timed_watch)
    started = writing.start_turn(runtime, writer, TurnRequest(public_id=public_id, instruction="Count",
                                                              params=GenerationParams(max_tokens=200)))
    views = list(writing.follow(runtime, writer, started.draft_ids[0], wait_s=0.5))
    assert views[-1].done and views[-1].text == "".join(pieces)
    assert "".join(view.new for view in views if not view.replaces) == "".join(pieces)  # nothing lost between views
    gaps = [later - earlier for earlier, later in zip(reads[1:], reads[2:])]  # (the first read attaches at once)
    assert gaps and min(gaps) >= writing.FOLLOW_EVERY_S


def test_a_turn_needs_one_database_connection_at_a_time(engine, db, writer, public_id, faulty, monkeypatch):
    """A thread holding a connection while it waits for a second one can empty the pool on a busy
    day (each page's start_turn holding one, waiting for another): a turn takes one at a time."""
    from sqlalchemy import create_engine

    monkeypatch.setenv("DRAFTGATE_USER_RATE_LIMIT", "0")
    single = create_engine(engine.url.render_as_string(hide_password=False), pool_size=1, max_overflow=0,
                           pool_timeout=5)
    made = Runtime(Settings(), engine=single)
    try:
        faulty.script(answer(REFERENCE))
        started = writing.start_turn(made, writer, TurnRequest(public_id=public_id, instruction="Write a fox",
                                                               params=EXACT))
        assert written(made, writer, started) == REFERENCE
    finally:
        made.close(wait=True)
        single.dispose()
