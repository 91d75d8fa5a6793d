"""No draft stays "generating" forever: its writer's heartbeat, and a sweep when the writer died.

The writers here are real processes (multiprocessing spawn) streaming from a slow provider on
loopback; one is killed with SIGKILL mid-stream, as `kill -9` of the app would.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from datetime import timedelta

import pytest
from sqlmodel import select

import core.writing.variants  # noqa: F401  (registers the "variants" kind and what its sweep does with its drafts)
from core.jobs.runner import JobRunner, create_job, sweep_stale_jobs
from core.platform import constants
from core.platform.db import make_engine, open_session
from core.platform.models import Draft, Job, Turn, User, utcnow
from core.writing.sessions import STALE_DRAFT_REASON, create_session, mark_stale_drafts_interrupted
from core.writing.turns import TurnRequest
from tests.core.llm.faulty_server import FaultyServer, stream
from tests.utils.db_locks import url_of
from tests.utils.factories import make_project
from tests.utils.jobs import wait_until

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)

STALE_AFTER_S = 1.0  # what the sweeps here take for "its writer died"
BEAT_S = 0.1  # how often the writers here beat
WORDS = [f"word{i} " for i in range(12)]  # 1.2 s of text (saved every half second), then silence
ANSWER = "".join(WORDS)


@pytest.fixture
def writing_session(db, writer):
    return create_session(session=db, owner=writer, project_id=make_project(db).id)


@pytest.fixture
def slow_provider():
    server = FaultyServer().start()
    yield server
    server.stop()


def _provider(base_url: str):
    from core.llm.types import ProviderConfig

    return ProviderConfig(name="slow", base_url=base_url, model="slow-1", api_style="completions")


def _write_one_draft(url: str, user_id: int, public_id: str, base_url: str, started) -> None:
    """An app process writing one draft the way the Write page does (until it is killed)."""
    from core.llm.client import LLMClient
    from core.llm.retry import NO_RETRIES
    from core.llm.types import GenerationParams
    from core.writing.turns import KEEPER, prepare_turn, stream_draft

    KEEPER.heartbeat_s = BEAT_S
    engine = make_engine(url)
    provider = _provider(base_url)
    with open_session(engine) as session:
        prepared = prepare_turn(
            session=session, user=session.get(User, user_id),
            request=TurnRequest(public_id=public_id, instruction="Write", params=GenerationParams(max_tokens=64)),
            provider=provider,
        )
    started.put(prepared.draft_id)
    client = LLMClient(provider, retry=NO_RETRIES)
    for _ in stream_draft(engine=engine, client=client, prepared=prepared, score_later=lambda draft_id: None):
        pass


def _write_variants(url: str, user_id: int, public_id: str, base_url: str, started) -> None:
    """An app process running a variants job on its own job runner (until it is killed)."""
    from core.llm.client import LLMClient
    from core.llm.retry import NO_RETRIES
    from core.llm.types import GenerationParams
    from core.writing.turns import KEEPER
    from core.writing.variants import start_variants

    KEEPER.heartbeat_s = BEAT_S
    engine = make_engine(url)
    runner = JobRunner(engine, workers=1, heartbeat_s=BEAT_S)
    provider = _provider(base_url)
    with open_session(engine) as session:
        variants = start_variants(
            runner=runner, session=session, user=session.get(User, user_id),
            request=TurnRequest(
                public_id=public_id, instruction="Write", params=GenerationParams(max_tokens=64, seed=1), variants=2,
            ),
            client=LLMClient(provider, retry=NO_RETRIES),
        )
    started.put((variants.job_id, variants.draft_ids))
    threading.Event().wait(120)  # the app runs on until it is killed


def spawn(target, *args):
    context = multiprocessing.get_context("spawn")
    started = context.Queue()
    process = context.Process(target=target, args=(*args, started), daemon=True)
    process.start()
    return process, started


def drafts(engine, *draft_ids: int) -> list[Draft]:
    with open_session(engine) as session:
        return [session.get(Draft, draft_id) for draft_id in draft_ids]


def kill(process) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.join(10)


def sweep(engine) -> int:
    with open_session(engine) as session:
        return mark_stale_drafts_interrupted(session=session, stale_after_s=STALE_AFTER_S)


def test_a_killed_writers_draft_is_interrupted_with_its_text_and_a_live_writers_draft_is_never_swept(
    engine, writer, writing_session, slow_provider,
):
    slow_provider.script(stream(WORDS, gap_s=0.1, then="stall"), stream(["B begins "], then="stall"))
    url = url_of(engine)
    doomed, doomed_started = spawn(_write_one_draft, url, writer.id, writing_session.public_id, slow_provider.base_url)
    doomed_id = doomed_started.get(timeout=60)
    wait_until(lambda: len(slow_provider.requests) == 1, what="the first request")
    alive, alive_started = spawn(_write_one_draft, url, writer.id, writing_session.public_id, slow_provider.base_url)
    alive_id = alive_started.get(timeout=60)
    try:
        wait_until(lambda: len(slow_provider.requests) == 2, what="the second request")
        wait_until(lambda: drafts(engine, doomed_id)[0].text, what="the first draft's text saved")
        kill(doomed)
        saved = drafts(engine, doomed_id)[0].text
        assert ANSWER.startswith(saved)

        def dead_writer_swept() -> bool:
            sweep(engine)
            assert drafts(engine, alive_id)[0].status == "generating"
            return drafts(engine, doomed_id)[0].status != "generating"

        wait_until(dead_writer_swept, what="the dead writer's draft swept")
        dead = drafts(engine, doomed_id)[0]
        assert dead.status == "interrupted" and dead.text == saved
        assert dead.error == STALE_DRAFT_REASON == "The app stopped while this draft was being written."

        # The live writer's draft has had no text for longer than STALE_AFTER_S: only its heartbeat
        # tells it is alive, and no sweep takes it for dead.
        watched_until = time.monotonic() + 3 * STALE_AFTER_S
        while time.monotonic() < watched_until:
            assert sweep(engine) == 0
            time.sleep(0.05)
        live = drafts(engine, alive_id)[0]
        assert live.status == "generating" and live.heartbeat_at > live.updated_at
        assert alive.is_alive()
    finally:
        kill(alive)
        doomed.join(10)


def test_a_killed_variants_job_leaves_its_drafts_interrupted_with_their_text(
    engine, writer, writing_session, slow_provider,
):
    slow_provider.script(*(stream(WORDS, gap_s=0.1, then="stall") for _ in range(2)))
    app, started = spawn(_write_variants, url_of(engine), writer.id, writing_session.public_id, slow_provider.base_url)
    job_id, draft_ids = started.get(timeout=60)
    try:
        wait_until(lambda: all(d.text for d in drafts(engine, *draft_ids)), what="both variants' text saved")
        assert sweep(engine) == 0 and sweep_stale_jobs(engine, stale_after_s=STALE_AFTER_S) == 0  # alive
    finally:
        kill(app)
    saved = [d.text for d in drafts(engine, *draft_ids)]
    assert all(ANSWER.startswith(text) for text in saved)

    def swept() -> bool:
        sweep_stale_jobs(engine, stale_after_s=STALE_AFTER_S)
        sweep(engine)
        return all(d.status != "generating" for d in drafts(engine, *draft_ids))

    wait_until(swept, what="the variants swept")
    with open_session(engine) as session:
        job = session.get(Job, job_id)
    assert job.status == "failed" and job.error == "The app stopped while this job ran."
    for draft, text in zip(drafts(engine, *draft_ids), saved):
        assert draft.status == "interrupted" and draft.text == text
        assert draft.error == "The variants job did not finish: The app stopped while this job ran."


# -- the sweep's rule ------------------------------------------------------------------------------


def generating_draft(db, writing_session, *, heartbeat_at, updated_at=None, text="so far") -> Draft:
    turn = Turn(session_id=writing_session.id, index=len(db.exec(select(Turn)).all()), instruction="Write")
    db.add(turn)
    db.flush()
    draft = Draft(turn_id=turn.id, text=text, heartbeat_at=heartbeat_at, updated_at=updated_at or utcnow())
    db.add(draft)
    db.commit()
    return draft


def test_a_new_draft_has_a_heartbeat_from_the_start(db, writer, writing_session):
    from core.llm.types import GenerationParams
    from core.writing.turns import prepare_turn
    from tests.utils.mock_llm import PROVIDER

    prepared = prepare_turn(
        session=db, user=writer,
        request=TurnRequest(
            public_id=writing_session.public_id, instruction="Write", params=GenerationParams(max_tokens=8),
        ),
        provider=PROVIDER,
    )
    assert db.get(Draft, prepared.draft_id).heartbeat_at is not None


def test_the_sweep_takes_the_heartbeat_or_else_the_last_update_and_keeps_the_text(engine, db, writing_session):
    now = utcnow()
    fresh = generating_draft(db, writing_session, heartbeat_at=now)
    beaten_long_ago = generating_draft(db, writing_session, heartbeat_at=now - timedelta(seconds=61))
    old_row = generating_draft(db, writing_session, heartbeat_at=None, updated_at=now - timedelta(seconds=61))
    recent_old_row = generating_draft(db, writing_session, heartbeat_at=None, updated_at=now - timedelta(seconds=30))
    # a fresh heartbeat outweighs an old update (the writer is waiting for the provider)
    waiting = generating_draft(db, writing_session, heartbeat_at=now, updated_at=now - timedelta(minutes=10))

    assert mark_stale_drafts_interrupted(session=db) == 2  # DRAFT_STALE_AFTER_S
    states = {d.id: (d.status, d.text) for d in drafts(engine, fresh.id, beaten_long_ago.id, old_row.id,
                                                       recent_old_row.id, waiting.id)}
    assert states == {fresh.id: ("generating", "so far"), beaten_long_ago.id: ("interrupted", "so far"),
                      old_row.id: ("interrupted", "so far"), recent_old_row.id: ("generating", "so far"),
                      waiting.id: ("generating", "so far")}
    assert constants.DRAFT_STALE_AFTER_S == 60


def test_the_sweep_follows_the_clock_it_is_given(db, writing_session):
    draft = generating_draft(db, writing_session, heartbeat_at=utcnow())
    later = utcnow() + timedelta(seconds=constants.DRAFT_STALE_AFTER_S / 2)
    assert mark_stale_drafts_interrupted(session=db, now=later) == 0
    much_later = utcnow() + timedelta(seconds=constants.DRAFT_STALE_AFTER_S + 1)
    assert mark_stale_drafts_interrupted(session=db, now=much_later) == 1
    db.refresh(draft)
    assert draft.status == "interrupted" and draft.error == STALE_DRAFT_REASON


def test_drafts_a_live_job_will_write_are_its_own(engine, db, writer, writing_session):
    long_ago = utcnow() - timedelta(minutes=10)
    waiting = generating_draft(db, writing_session, heartbeat_at=long_ago, updated_at=long_ago)
    create_job(engine, kind="variants", payload={"draft_ids": [waiting.id]}, owner_id=writer.id)  # queued, alive
    assert mark_stale_drafts_interrupted(session=db) == 0
    db.refresh(waiting)
    assert waiting.status == "generating"


def test_every_job_runner_sweeps_at_start_and_while_it_runs(engine, db, writing_session):
    long_ago = utcnow() - timedelta(minutes=2)
    before_start = generating_draft(db, writing_session, heartbeat_at=long_ago)
    runner = JobRunner(engine, workers=1, heartbeat_s=0.05)
    try:
        assert drafts(engine, before_start.id)[0].status == "interrupted"
        while_running = generating_draft(db, writing_session, heartbeat_at=long_ago)
        wait_until(lambda: drafts(engine, while_running.id)[0].status == "interrupted",
                   what="the running runner's sweep")
    finally:
        runner.shutdown()
