"""A busy database is a clear, retryable message, never a traceback, and never ends a stream."""

from __future__ import annotations

import time

import pytest

from core.llm.types import GenerationParams
from core.platform import constants
from core.platform.db import open_session
from core.platform.errors import DatabaseBusyError, DraftgateError
from core.platform.models import Draft, WritingSession
from core.writing.sessions import create_session, rename_session
from core.writing.turns import TurnRequest, prepare_turn, stream_draft
from tests.utils.db_locks import impatient_engine, lock_held
from tests.utils.factories import make_project
from tests.utils.mock_llm import PROVIDER, mock_client

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)

BUSY = "The database is busy; try again in a moment."


@pytest.fixture
def impatient(engine):
    made = impatient_engine(engine)
    yield made
    made.dispose()


@pytest.fixture
def writing_session(db, writer):
    return create_session(session=db, owner=writer, project_id=make_project(db).id)


def test_a_write_that_meets_another_writers_lock_is_a_clear_retryable_error(engine, impatient, writer,
                                                                          writing_session):
    with lock_held(engine, WritingSession, writing_session.id):
        with open_session(impatient) as session, pytest.raises(DatabaseBusyError) as caught:
            rename_session(session=session, user=writer, public_id=writing_session.public_id, title="Renamed")
    assert str(caught.value) == BUSY and isinstance(caught.value, DraftgateError)
    assert caught.value.__cause__ is not None  # the driver's own error stays attached for the logs

    with open_session(impatient) as session:  # once the lock is gone, the same action works
        rename_session(session=session, user=writer, public_id=writing_session.public_id, title="Renamed")
    with open_session(engine) as session:
        assert session.get(WritingSession, writing_session.id).title == "Renamed"


def test_a_partial_save_that_meets_a_busy_database_is_skipped_and_the_stream_goes_on(
    engine, impatient, db, writer, writing_session, monkeypatch,
):
    monkeypatch.setattr(constants, "PARTIAL_SAVE_INTERVAL_S", 0.0)  # every delta is saved
    prepared = prepare_turn(
        session=db, user=writer,
        request=TurnRequest(
            public_id=writing_session.public_id, instruction="Go", params=GenerationParams(max_tokens=8),
        ),
        provider=PROVIDER,
    )
    pieces = ["one ", "two ", "three ", "four"]
    handed: list[int] = []
    stream = stream_draft(engine=impatient, client=mock_client(pieces), prepared=prepared, score_later=handed.append)
    received = [next(stream)]
    with lock_held(engine, Draft, prepared.draft_id):
        received.append(next(stream))
        time.sleep(0.3)  # the draft's watcher thread saves the text so far meanwhile: that save meets the lock
        with open_session(engine) as session:
            assert session.get(Draft, prepared.draft_id).status == "generating"
    received.extend(stream)
    with open_session(engine) as session:
        draft = session.get(Draft, prepared.draft_id)
    assert "".join(received) == "one two three four"
    assert draft.status == "completed" and draft.text == "one two three four" and draft.error == ""
    assert handed == [draft.id]


def test_a_response_cache_on_a_busy_database_only_misses_its_store(engine, impatient):
    from core.llm.cache import DatabaseStore, ResponseCache
    from core.llm.types import GenerationResult, Usage
    from core.platform.models import CacheEntry

    cache = ResponseCache(DatabaseStore(impatient))
    answer = GenerationResult(id="a", text="Hello", finish_reason="stop", usage=Usage(), model="m", latency_s=0.1)
    cache.put("key", answer)
    with lock_held(engine, CacheEntry, "key", column="key"):
        cache.put("key", answer)  # logged and skipped: the answer itself is not lost
    assert cache.get("key").text == "Hello"
