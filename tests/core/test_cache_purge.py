"""Deletion leaves no text in the response cache: answers keep the session and draft they were
written for, and deleting a session, an account or old drafts (retention) purges them.

Here on the database store (SQLite; tests/services/postgres re-runs this on PostgreSQL); the same
tests run on the real Redis in tests/services/test_cache_purge_redis.py (`backend` overridden).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

from core.access.actors import SYSTEM
from core.access.privacy import apply_retention, delete_user_data
from core.jobs.runner import JobRunner
from core.llm import GenerationParams, LLMClient
from core.llm.cache import DatabaseStore, ResponseCache
from core.llm.retry import NO_RETRIES
from core.platform.config import Settings
from core.platform.db import open_session
from core.platform.models import CacheEntry, Draft, Turn, User, WritingSession, utcnow
from core.writing.sessions import create_session, delete_session
from core.writing.turns import TurnRequest, prepare_turn, run_turn
from core.writing.variants import start_variants
from tests.utils.factories import make_project, make_user
from tests.utils.jobs import wait_for_job
from tests.utils.mock_llm import PROVIDER, sse_body

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)

EXACT = GenerationParams(temperature=0, max_tokens=16)  # reproducible: cached


@dataclass
class Backend:
    """A response cache and what a test needs to look inside it."""

    cache: ResponseCache
    settings: Settings  # passed to deletions (says where Redis is, if anywhere)
    texts: object  # () -> sorted texts of the cached answers
    origins: object  # () -> sorted (session_id, draft_id) of the cached answers


@pytest.fixture
def backend(engine) -> Backend:
    def texts() -> list[str]:
        with open_session(engine) as session:
            return sorted(entry.value["text"] for entry in session.exec(select(CacheEntry)))

    def origins() -> list[tuple]:
        with open_session(engine) as session:
            return sorted((e.session_id, e.draft_id) for e in session.exec(select(CacheEntry)))

    return Backend(ResponseCache(DatabaseStore(engine), ttl_s=3600), Settings(), texts, origins)


@dataclass
class Provider:
    """Answers each prompt with its own words (so every answer's text tells where it came from)."""

    calls: list[str] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        prompt = body["prompt"]
        self.calls.append(prompt)
        instruction = [line for line in prompt.splitlines() if line.strip()][-2]  # "...<ask>instruction", "<answer label>"
        text = f"Answer to {instruction} (seed {body.get('seed')})"
        if body.get("stream"):
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse_body([text]))
        return httpx.Response(200, json={"id": "c", "model": "mock-1", "choices": [{"text": text, "finish_reason": "stop"}],
                                         "usage": {"prompt_tokens": 3, "completion_tokens": 5}})


@pytest.fixture
def provider() -> Provider:
    return Provider()


@pytest.fixture
def client(backend, provider):
    http = httpx.Client(transport=httpx.MockTransport(provider))
    yield LLMClient(PROVIDER, http_client=http, cache=backend.cache, retry=NO_RETRIES)
    http.close()


@pytest.fixture
def project(db):
    return make_project(db, references=("A reference text for scoring.",))


def write(engine, db, client, user: User, writing_session: WritingSession, instruction: str) -> Draft:
    prepared = prepare_turn(
        session=db, user=user,
        request=TurnRequest(public_id=writing_session.public_id, instruction=instruction, params=EXACT),
        provider=PROVIDER,
    )
    return run_turn(engine=engine, client=client, prepared=prepared)


def test_a_stored_answer_keeps_the_session_and_draft_it_was_written_for(engine, db, client, backend, writer, project):
    writing_session = create_session(session=db, owner=writer, project_id=project.id)
    draft = write(engine, db, client, writer, writing_session, "Write about rain")
    assert backend.origins() == [(writing_session.id, draft.id)]


def test_deleting_a_session_purges_its_cached_answers_and_keeps_the_others(
    engine, db, client, backend, provider, writer, project
):
    doomed = create_session(session=db, owner=writer, project_id=project.id)
    kept = create_session(session=db, owner=writer, project_id=project.id)
    write(engine, db, client, writer, doomed, "Write about the secret plan")
    write(engine, db, client, writer, doomed, "Write more about it")
    write(engine, db, client, writer, kept, "Write about the weather")
    assert len(backend.texts()) == 3

    delete_session(session=db, user=writer, public_id=doomed.public_id)

    assert [text for text in backend.texts() if "secret plan" in text or "more about" in text] == []
    assert len(backend.texts()) == 1 and "weather" in backend.texts()[0]
    # the same request again is asked of the provider, not answered from a copy of the deleted text
    again = create_session(session=db, owner=writer, project_id=project.id)
    calls = len(provider.calls)
    assert not write(engine, db, client, writer, again, "Write about the secret plan").cache_hit
    assert len(provider.calls) == calls + 1


def test_a_session_deleted_before_the_account_leaves_nothing_behind(engine, db, client, backend, writer, project):
    """The issue's case: delete a session, later the account: no text for up to 7 days."""
    victim = make_user(db, "victim", "writer")
    first = create_session(session=db, owner=victim, project_id=project.id)
    second = create_session(session=db, owner=victim, project_id=project.id)
    write(engine, db, client, victim, first, "Write the first private note")
    write(engine, db, client, victim, second, "Write the second private note")
    others = create_session(session=db, owner=writer, project_id=project.id)
    write(engine, db, client, writer, others, "Write a public note")
    delete_session(session=db, user=victim, public_id=first.public_id)

    report = delete_user_data(session=db, user_id=victim.id, actor_id=SYSTEM, settings=backend.settings)

    assert report.cache_entries == 1 and report.warnings == []
    assert [text for text in backend.texts() if "private" in text] == []
    assert len(backend.texts()) == 1


def test_an_answer_edited_away_from_its_draft_is_purged_with_the_draft(engine, db, client, backend, writer, project):
    """Purging by origin does not depend on the draft still holding the answer's text."""
    writing_session = create_session(session=db, owner=writer, project_id=project.id)
    draft = write(engine, db, client, writer, writing_session, "Write a private line")
    draft = db.get(Draft, draft.id)
    draft.text = "rewritten later"
    db.add(draft)
    db.commit()
    delete_user_data(session=db, user_id=writer.id, actor_id=SYSTEM, settings=backend.settings)
    assert backend.texts() == []


def test_variants_answers_keep_each_drafts_origin_and_go_with_the_session(
    engine, db, client, backend, writer, project
):
    writing_session = create_session(session=db, owner=writer, project_id=project.id)
    runner = JobRunner(engine, workers=1, heartbeat_s=0.05)
    try:
        started = start_variants(
            runner=runner, session=db, user=writer,
            request=TurnRequest(
                public_id=writing_session.public_id, instruction="Write three private takes",
                params=EXACT.with_changes(seed=1), variants=3,
            ),
            client=client,
        )
        assert wait_for_job(engine, started.job_id).status == "succeeded"
    finally:
        runner.shutdown()
    assert backend.origins() == sorted((writing_session.id, draft_id) for draft_id in started.draft_ids)

    delete_session(session=db, user=writer, public_id=writing_session.public_id)

    assert backend.texts() == []


def test_retention_purges_the_answers_of_the_drafts_it_deletes(engine, db, client, backend, writer, project):
    old_session = create_session(session=db, owner=writer, project_id=project.id)
    old = write(engine, db, client, writer, old_session, "Write an old private note")
    ongoing = create_session(session=db, owner=writer, project_id=project.id)
    aged = write(engine, db, client, writer, ongoing, "Write an aged line")
    write(engine, db, client, writer, ongoing, "Write a fresh line")
    then = utcnow() - timedelta(days=40)
    for draft_id in (old.id, aged.id):
        draft = db.get(Draft, draft_id)
        turn = db.get(Turn, draft.turn_id)
        draft.created_at = turn.created_at = then
        db.add_all([draft, turn])
    stale = db.get(WritingSession, old_session.id)
    stale.created_at = stale.updated_at = then
    db.add(stale)
    db.commit()

    report = apply_retention(session=db, days=30, settings=backend.settings, actor_id=SYSTEM)

    assert (report.drafts, report.sessions, report.cache_entries) == (2, 1, 2)
    assert len(backend.texts()) == 1 and "fresh line" in backend.texts()[0]
