"""A turn's cost in SQL statements on SQLite: start_turn (the page's call) and the job that writes,
scores and routes its draft. A budget, not a timing: a change that reads something twice, or
saves in two transactions what is one decision, fails here with the statements it added."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event

from core.access.actors import SYSTEM
from core.llm.registry import add_provider
from core.llm.types import GenerationParams
from core.platform.models import Draft
from core.platform.states import DraftStatus, Route
from core.usecases import sessions, writing
from core.usecases.writing import TurnRequest
from tests.core.llm.faulty_server import FaultyServer, answer
from tests.utils.factories import make_project
from tests.utils.jobs import wait_for_job

REFERENCE = "The quick brown fox jumps over the lazy dog."
EXACT = GenerationParams(temperature=0.0, max_tokens=16)
# what the code reaches today: the checks' reads, then one transaction for turn, draft and job ...
START_TURN_STATEMENTS = 10
START_TURN_COMMITS = 1
# ... and in the job: its claim, the turn with its session, earlier drafts being written, the history,
# the sensitive words, the response cache (a miss, then the answer stored), the completed text, the
# draft with its context, policy, references, its route, its scores (two statements), the job's end
JOB_STATEMENTS = 15
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


@pytest.fixture
def faulty():
    server = FaultyServer().start()
    yield server
    server.stop()


@pytest.fixture
def public_id(runtime, db, writer, faulty):
    add_provider(session=db, settings=runtime.settings, name="local", base_url=faulty.base_url, model="m",
                 api_style="completions", actor_id=SYSTEM)
    project = make_project(db, "Essays", references=(REFERENCE,))
    created = sessions.create_session(runtime, writer, project_id=project.id)
    sessions.choose_provider(runtime, writer, public_id=created.public_id, provider_name="local")
    return created.public_id


def test_a_turn_and_its_job_stay_within_their_statement_budget(runtime, db, writer, public_id, faulty):
    faulty.script(answer(REFERENCE), answer(REFERENCE))
    first = writing.start_turn(runtime, writer, TurnRequest(public_id=public_id, instruction="Begin", params=EXACT))
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
