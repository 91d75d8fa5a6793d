"""Generation that outlives its watchers (issue 13): every draft is written by a job, whoever
watches; watchers come and go; Stop from another thread or process; a killed writer.

Against a real HTTP provider on loopback (tests/core/llm/faulty_server.py, slow on purpose), real
job threads, the SQLite file (tests/services/postgres re-runs this module on PostgreSQL;
tests/services/test_generation_redis.py runs an RQ worker with live text through Redis).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time

import pytest
from sqlmodel import select

from core.access.actors import SYSTEM
from core.gate.rescoring import unscored
from core.jobs.runner import sweep_stale
from core.llm.registry import add_provider
from core.llm.types import GenerationParams
from core.platform.config import Settings
from core.platform.errors import InvalidInputError, NotFoundError
from core.platform.models import Draft, Turn
from core.platform.states import DraftStatus, JobStatus, Route
from core.runtime import Runtime
from core.usecases import sessions, writing
from core.usecases.writing import TurnRequest
from core.writing.turns import STOPPED_BY_WRITER
from tests.core.llm.faulty_server import FaultyServer, answer, stall, stream
from tests.utils.factories import make_project, make_user
from tests.utils.jobs import wait_for_draft, wait_for_job, wait_until
from tests.utils.network import threads_in, unanswered_address

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)

PIECES = [f"word{i} 春{i} " for i in range(40)]
FULL = "".join(PIECES)
EXACT = GenerationParams(temperature=0.0, max_tokens=64)


@pytest.fixture
def faulty():
    server = FaultyServer().start()
    yield server
    server.stop()


@pytest.fixture
def settings(monkeypatch) -> Settings:
    monkeypatch.setenv("DRAFTGATE_USER_RATE_LIMIT", "0")
    return Settings()


@pytest.fixture
def runtime(engine, settings):
    made = Runtime(settings, engine=engine)
    yield made
    made.close(wait=True)


@pytest.fixture
def public_id(runtime, db, writer, faulty):
    add_provider(session=db, settings=runtime.settings, name="local", base_url=faulty.base_url, model="m",
                 api_style="completions", actor_id=SYSTEM)
    return new_session(runtime, db, writer)


def new_session(runtime, db, writer) -> str:
    project = make_project(db, f"Essays {time.monotonic_ns()}", references=(FULL,))
    created = sessions.create_session(runtime, writer, project_id=project.id)
    sessions.choose_provider(runtime, writer, public_id=created.public_id, provider_name="local")
    return created.public_id


def start(runtime, writer, public_id, instruction="Write", **changes) -> writing.TurnStarted:
    return writing.start_turn(runtime, writer, TurnRequest(public_id=public_id, instruction=instruction,
                                                           params=EXACT, **changes))


def follow_to_end(runtime, user, draft_id) -> tuple[writing.LiveView, str]:
    """The last view, and the text an SSE client builds from the `new` parts."""
    shown, view = "", None
    for view in writing.follow(runtime, user, draft_id, wait_s=0.5):
        shown = view.new if view.replaces else shown + view.new
    return view, shown


def stored(db, draft_id) -> Draft:
    db.expire_all()
    return db.get(Draft, draft_id)


def test_the_job_writes_the_draft_when_nobody_watches(runtime, db, writer, public_id, faulty):
    faulty.script(stream(PIECES, gap_s=0.005))
    started = start(runtime, writer, public_id)
    assert wait_for_job(runtime.engine, started.job_id).status == JobStatus.SUCCEEDED
    draft = stored(db, started.draft_ids[0])
    assert (draft.status, draft.text) == (DraftStatus.COMPLETED, FULL)
    assert draft.score_job_id == started.job_id and draft.route != Route.PENDING  # scored by the same job
    view = writing.watch(runtime, writer, draft.id)  # a watcher arriving afterwards gets it all
    assert (view.text, view.done, view.status) == (FULL, True, DraftStatus.COMPLETED)


def test_watchers_attach_detach_and_reattach_and_all_end_with_the_full_text(runtime, db, writer, public_id, faulty):
    faulty.script(stream(PIECES, gap_s=0.02))
    started = start(runtime, writer, public_id)
    draft_id = started.draft_ids[0]
    results: dict[str, str] = {}

    def steady() -> None:  # an API stream
        view, shown = follow_to_end(runtime, writer, draft_id)
        assert view.done
        results["steady"] = shown

    def rerunning() -> None:  # a page: a rerun every ~50 ms passes back its last view
        view = None
        while view is None or not view.done:
            view = writing.watch(runtime, writer, draft_id, after=view, wait_s=0.05)
        results["rerunning"] = view.text

    def leaving() -> None:  # a tab closed mid-stream, then opened again: attaches from scratch
        first = wait_until(lambda: (v := writing.watch(runtime, writer, draft_id)).text and v, what="some text")
        assert not first.done
        view = None
        while view is None or not view.done:
            view = writing.watch(runtime, writer, draft_id, after=view, wait_s=0.3)
        results["leaving"] = view.text

    threads = [threading.Thread(target=target) for target in (steady, rerunning, leaving)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == {"steady": FULL, "rerunning": FULL, "leaving": FULL}
    assert stored(db, draft_id).text == FULL


def test_stop_from_another_thread_ends_the_draft_stopped_within_a_second(runtime, db, writer, public_id, faulty):
    faulty.script(stream(PIECES * 10, gap_s=0.05), answer("Carried on."), answer("Again."))
    started = start(runtime, writer, public_id)
    draft_id = started.draft_ids[0]
    wait_until(lambda: writing.watch(runtime, writer, draft_id).text, what="the first text")
    asked = time.monotonic()
    stopper = threading.Thread(target=writing.stop, args=(runtime, writer, draft_id))
    stopper.start()
    draft = wait_for_draft(runtime.engine, draft_id, timeout_s=5)
    took = time.monotonic() - asked
    stopper.join()
    assert took < 1.0, f"Stop took {took:.2f} s"
    assert (draft.status, draft.error) == (DraftStatus.STOPPED, STOPPED_BY_WRITER)
    assert draft.text and (PIECES * 10)[0] in draft.text and len(draft.text) < len(FULL * 10)
    view, _ = follow_to_end(runtime, writer, draft_id)
    assert (view.done, view.status) == (True, DraftStatus.STOPPED) and draft.text.startswith(view.text)
    assert wait_for_job(runtime.engine, started.job_id).status == JobStatus.SUCCEEDED
    assert stored(db, draft_id).route == Route.PENDING and unscored(session=db, drafts=[draft]) == {}  # never scored
    assert writing.stop(runtime, writer, draft_id) is False  # it ended: nothing to stop

    carried = writing.continue_turn(runtime, writer, TurnRequest(public_id=public_id, params=EXACT))
    assert wait_for_draft(runtime.engine, carried.draft_ids[0]).text == "Carried on."
    assert faulty.requests[1].body["prompt"].endswith(draft.text)  # the stopped text is the context
    again = writing.regenerate(runtime, writer, turn_id=started.turn_id, params=EXACT)
    assert wait_for_draft(runtime.engine, again.draft_ids[0]).text == "Again."


def test_stop_reaches_a_provider_that_sends_nothing(runtime, db, writer, public_id, faulty):
    faulty.script(stream(PIECES[:2], then="stall"))
    started = start(runtime, writer, public_id)
    draft_id = started.draft_ids[0]
    wait_until(lambda: writing.watch(runtime, writer, draft_id).text == "".join(PIECES[:2]), what="the first text")
    asked = time.monotonic()
    assert writing.stop(runtime, writer, draft_id) is True
    draft = wait_for_draft(runtime.engine, draft_id, timeout_s=5)
    assert time.monotonic() - asked < 1.0
    assert (draft.status, draft.text) == (DraftStatus.STOPPED, "".join(PIECES[:2]))


def test_stop_reaches_a_provider_that_never_sends_its_headers(runtime, db, writer, public_id, faulty):
    faulty.script(stall())
    started = start(runtime, writer, public_id)
    draft_id = started.draft_ids[0]
    wait_until(lambda: faulty.requests, what="the request at the provider")
    time.sleep(0.2)  # the job waits on the silent socket by now
    asked = time.monotonic()
    assert writing.stop(runtime, writer, draft_id) is True
    draft = wait_for_draft(runtime.engine, draft_id, timeout_s=5)
    assert time.monotonic() - asked < 1.0
    assert (draft.status, draft.error, draft.text) == (DraftStatus.STOPPED, STOPPED_BY_WRITER, "")
    assert len(faulty.requests) == 1  # not sent again


def test_stop_ends_a_draft_whose_provider_never_accepts_the_connection(engine, db, writer, monkeypatch):
    monkeypatch.setenv("DRAFTGATE_USER_RATE_LIMIT", "0")
    monkeypatch.setenv("DRAFTGATE_LLM_CONNECT_TIMEOUT_S", "120")
    runtime = Runtime(Settings(), engine=engine)
    try:
        with unanswered_address() as base_url:
            add_provider(session=db, settings=runtime.settings, name="local", base_url=base_url, model="m",
                         api_style="completions", actor_id=SYSTEM)
            draft_id = start(runtime, writer, new_session(runtime, db, writer)).draft_ids[0]
            wait_until(lambda: threads_in("_wait_connected"), what="the job waiting for its connection")
            assert writing.stop(runtime, writer, draft_id) is True
            draft = wait_for_draft(runtime.engine, draft_id, timeout_s=10)  # far less than the connect timeout
        assert (draft.status, draft.error, draft.text) == (DraftStatus.STOPPED, STOPPED_BY_WRITER, "")
    finally:
        runtime.close(wait=True)


def url_of(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _stop_in_another_process(data_dir: str, url: str, user_id: int, draft_id: int, results) -> None:
    os.environ["DRAFTGATE_DATA_DIR"] = data_dir
    from core.platform.db import make_engine, open_session
    from core.platform.models import User

    engine = make_engine(url)
    with open_session(engine) as session:
        user = session.get(User, user_id)
    made = Runtime(Settings(), engine=engine)
    try:
        results.put(writing.stop(made, user, draft_id))
    finally:
        made.close()
        engine.dispose()


@pytest.mark.parametrize("silent", [False, True], ids=["streaming", "silent-before-its-headers"])
def test_stop_from_another_process_sharing_the_database(runtime, db, writer, public_id, faulty, data_dir, silent):
    faulty.script(stall() if silent else stream(PIECES * 10, gap_s=0.05))
    started = start(runtime, writer, public_id)
    draft_id = started.draft_ids[0]
    if silent:
        wait_until(lambda: faulty.requests, what="the request at the provider")
    else:
        wait_until(lambda: writing.watch(runtime, writer, draft_id).text, what="the first text")
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    other = context.Process(target=_stop_in_another_process, args=(str(data_dir), url_of(runtime.engine), writer.id, draft_id, results))
    other.start()
    assert results.get(timeout=60) is True  # the cancel flag is set (the other process has no live channel to us)
    asked = time.monotonic()
    draft = wait_for_draft(runtime.engine, draft_id, timeout_s=5)
    # through the job's cancel flag, read every CANCEL_POLL_S (0.2 s) by one query for all this process's jobs
    assert time.monotonic() - asked < 1.0
    other.join(30)  # (its interpreter's exit takes a second or more: not part of the Stop)
    assert draft.status == DraftStatus.STOPPED and (draft.text == "" if silent else draft.text)


def test_a_draft_stopped_from_another_process_while_its_job_was_queued_never_asks(runtime, db, writer, public_id,
                                                                                 faulty):
    from core.jobs.live import LocalBroadcaster
    from core.jobs.runner import run_job
    from core.writing.generation import request_stop_in_database
    from tests.utils.jobs import HeldRunner

    faulty.script(stream(PIECES, gap_s=0.01))
    runtime._runner = HeldRunner(runtime.engine)  # the job waits, as behind busy workers
    started = start(runtime, writer, public_id)
    draft_id = started.draft_ids[0]
    assert request_stop_in_database(db, owner_id=writer.id, draft_id=draft_id)  # (what stop() does in a process
    # sharing only the database: no live channel reaches the one that will write the draft)
    client = runtime.client(runtime.provider("local"))
    run_job(runtime.engine, started.job_id, {"client": client, "broadcaster": LocalBroadcaster()})
    draft = stored(db, draft_id)
    assert (draft.status, draft.text, draft.error) == (DraftStatus.STOPPED, "", STOPPED_BY_WRITER)
    assert faulty.requests == []  # stopped at its claim, before its request


def test_a_second_instruction_waits_for_the_first_draft_and_reads_its_answer(runtime, db, writer, public_id, faulty):
    faulty.script(stream(PIECES, gap_s=0.02), answer("The second."))
    first = start(runtime, writer, public_id, "First")
    wait_until(lambda: writing.watch(runtime, writer, first.draft_ids[0]).text, what="the first text")
    second = start(runtime, writer, public_id, "Second")
    assert second.queued and not first.queued
    assert follow_to_end(runtime, writer, second.draft_ids[0])[0].text == "The second."
    first_draft, second_draft = stored(db, first.draft_ids[0]), stored(db, second.draft_ids[0])
    assert (first_draft.status, first_draft.text) == (DraftStatus.COMPLETED, FULL)
    assert second_draft.status == DraftStatus.COMPLETED
    assert FULL.strip() in faulty.requests[1].body["prompt"]  # its context: the whole first answer
    assert first_draft.updated_at <= second_draft.updated_at


def test_stop_while_queued_behind_an_earlier_draft(runtime, db, writer, public_id, faulty):
    faulty.script(stream(PIECES, gap_s=0.05))
    first = start(runtime, writer, public_id, "First")
    second = start(runtime, writer, public_id, "Second")
    assert second.queued
    assert writing.stop(runtime, writer, second.draft_ids[0]) is True
    draft = wait_for_draft(runtime.engine, second.draft_ids[0], timeout_s=5)
    assert (draft.status, draft.text) == (DraftStatus.STOPPED, "")
    assert stored(db, first.draft_ids[0]).status == DraftStatus.GENERATING  # the first one goes on
    wait_until(lambda: len(faulty.requests) == 1, what="the first draft's request")
    writing.stop(runtime, writer, first.draft_ids[0])
    wait_for_draft(runtime.engine, first.draft_ids[0], timeout_s=5)
    assert len(faulty.requests) == 1  # the stopped second draft never asked, not even once the first ended


def test_variants_are_written_side_by_side_and_stop_one_at_a_time(runtime, db, writer, public_id, faulty):
    faulty.script(*(stream(PIECES * 5, gap_s=0.03) for _ in range(3)))
    started = start(runtime, writer, public_id, variants=3)
    assert len(started.job_ids) == 3
    for draft_id in started.draft_ids:  # all three being written at once
        wait_until(lambda d=draft_id: writing.watch(runtime, writer, d).text, what=f"text of draft {draft_id}")
    stopped, *others = started.draft_ids
    writing.stop(runtime, writer, stopped)
    assert wait_for_draft(runtime.engine, stopped, timeout_s=5).status == DraftStatus.STOPPED
    assert [stored(db, d).status for d in others] == [DraftStatus.GENERATING] * 2
    for draft_id in others:
        assert wait_for_draft(runtime.engine, draft_id).text == FULL * 5


def test_a_cap_on_running_generations_refuses_more_saying_why(engine, db, writer, faulty, monkeypatch):
    monkeypatch.setenv("DRAFTGATE_USER_RATE_LIMIT", "0")
    monkeypatch.setenv("DRAFTGATE_MAX_RUNNING_GENERATIONS", "2")
    made = Runtime(Settings(), engine=engine)
    try:
        add_provider(session=db, settings=made.settings, name="local", base_url=faulty.base_url, model="m",
                     api_style="completions", actor_id=SYSTEM)
        faulty.script(*(stream(PIECES[:1], then="stall") for _ in range(2)))
        running = [start(made, writer, new_session(made, db, writer)) for _ in range(2)]
        refused_in = new_session(made, db, writer)
        turns_before = len(db.exec(select(Turn)).all())
        with pytest.raises(InvalidInputError, match="2 of your drafts are being written already"):
            start(made, writer, refused_in)
        assert len(db.exec(select(Turn)).all()) == turns_before  # nothing saved
        # both stalls taken by the running drafts (a draft stopped before it asked would leave one for the next)
        wait_until(lambda: len(faulty.requests) == 2, what="both running drafts' requests")
        writing.stop(made, writer, running[0].draft_ids[0])
        wait_for_draft(engine, running[0].draft_ids[0], timeout_s=5)
        faulty.script(answer("Now there is room."))
        allowed = start(made, writer, refused_in)
        assert wait_for_draft(engine, allowed.draft_ids[0]).text == "Now there is room."
        writing.stop(made, writer, running[1].draft_ids[0])
    finally:
        made.close(wait=True)


def test_only_its_writer_may_stop_a_draft_and_strangers_may_not_watch_it(runtime, db, writer, public_id, faulty):
    faulty.script(stream(PIECES, gap_s=0.01))
    started = start(runtime, writer, public_id)
    stranger, editor = make_user(db, "sam", "writer"), make_user(db, "eve", "editor")
    with pytest.raises(NotFoundError):
        writing.watch(runtime, stranger, started.draft_ids[0])
    with pytest.raises(NotFoundError):
        writing.stop(runtime, stranger, started.draft_ids[0])
    with pytest.raises(NotFoundError):
        writing.watch(runtime, writer, 10_000)
    assert follow_to_end(runtime, editor, started.draft_ids[0])[0].text == FULL  # editors may watch


def _write_then_wait_to_be_killed(data_dir: str, url: str, user_id: int, public_id: str, results) -> None:
    os.environ["DRAFTGATE_DATA_DIR"] = data_dir
    os.environ["DRAFTGATE_USER_RATE_LIMIT"] = "0"
    from core.platform.db import make_engine, open_session
    from core.platform.models import User

    engine = make_engine(url)
    with open_session(engine) as session:
        user = session.get(User, user_id)
    made = Runtime(Settings(), engine=engine)
    results.put(start(made, user, public_id).draft_ids[0])
    time.sleep(600)  # the test kills this process


def test_a_killed_writer_leaves_the_draft_interrupted_with_its_text(runtime, db, writer, public_id, faulty, data_dir):
    faulty.script(stream(PIECES * 20, gap_s=0.05))
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    app = context.Process(target=_write_then_wait_to_be_killed,
                          args=(str(data_dir), url_of(runtime.engine), writer.id, public_id, results))
    app.start()
    try:
        draft_id = results.get(timeout=60)
        wait_until(lambda: stored(db, draft_id).text, what="the first saved text")
        saved = stored(db, draft_id).text
    finally:
        os.kill(app.pid, signal.SIGKILL)
        app.join(30)
    sweep_stale(runtime.engine, stale_after_s=0.0, draft_stale_after_s=0.0)  # as a minute later
    draft = stored(db, draft_id)
    assert draft.status == DraftStatus.INTERRUPTED and draft.text.startswith(saved)
    view = writing.watch(runtime, writer, draft_id)
    assert (view.done, view.status) == (True, DraftStatus.INTERRUPTED)
