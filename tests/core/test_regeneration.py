"""Regenerate: a new variant of the same turn, streamed past the cache; later turns read the newest answer."""

import json

import httpx
import pytest
from sqlmodel import select

from core.llm.cache import DatabaseStore, ResponseCache
from core.llm.client import LLMClient
from core.llm.retry import NO_RETRIES
from core.llm.types import GenerationParams
from core.platform.db import open_session
from core.platform.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from core.platform.models import Draft, Turn
from core.writing.prompts import TurnKind
from core.writing.sessions import create_session, history
from core.writing.turns import TurnRequest, prepare_regeneration, prepare_turn, run_turn, stream_draft
from tests.utils.factories import make_project, make_user
from tests.utils.mock_llm import PROVIDER, sse_body

EXACT = GenerationParams(temperature=0.0, max_tokens=16)  # reproducible: answers are cached


class Provider:
    """A mock provider answering "answer 1", "answer 2", ... and keeping each request body."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        return httpx.Response(200, headers={"content-type": "text/event-stream"},
                              content=sse_body([f"answer {len(self.bodies)}"]))

    def client(self, engine) -> LLMClient:
        return LLMClient(PROVIDER, http_client=httpx.Client(transport=httpx.MockTransport(self.handle)),
                         retry=NO_RETRIES, cache=ResponseCache(DatabaseStore(engine)))


@pytest.fixture
def writing_session(db, writer):
    return create_session(session=db, owner=writer, project_id=make_project(db, references=("answer",)).id)


def turn(engine, client, writer, writing_session, instruction, kind="instruction"):
    with open_session(engine) as session:
        prepared = prepare_turn(
            session=session, user=writer,
            request=TurnRequest(public_id=writing_session.public_id, instruction=instruction, params=EXACT, kind=kind),
            provider=PROVIDER,
        )
    return run_turn(engine=engine, client=client, prepared=prepared)


def regenerated(engine, client, writer, turn_id):
    with open_session(engine) as session:
        prepared = prepare_regeneration(session=session, user=writer, turn_id=turn_id, params=EXACT,
                                        provider=client.provider)
    text = "".join(stream_draft(engine=engine, client=client, prepared=prepared))
    with open_session(engine) as session:
        return text, session.exec(select(Draft).order_by(Draft.id.desc())).first()


def test_regenerate_adds_the_next_variant_of_the_same_turn_past_the_cache(engine, db, writer, writing_session):
    provider = Provider()
    client = provider.client(engine)
    first = turn(engine, client, writer, writing_session, "Write about a fox")
    assert first.text == "answer 1"

    text, again = regenerated(engine, client, writer, first.turn_id)

    assert text == "answer 2" and len(provider.bodies) == 2  # asked again, not replayed from the cache
    assert (again.turn_id, again.variant, again.status, again.cache_hit) == (first.turn_id, 1, "completed", False)
    assert provider.bodies[1]["prompt"] == provider.bodies[0]["prompt"]  # the same request
    assert len(db.exec(select(Turn)).all()) == 1
    assert regenerated(engine, client, writer, first.turn_id)[1].variant == 2


def test_later_turns_read_the_newest_completed_draft_of_a_turn(engine, db, writer, writing_session):
    provider = Provider()
    client = provider.client(engine)
    first = turn(engine, client, writer, writing_session, "Write about a fox")
    regenerated(engine, client, writer, first.turn_id)  # "answer 2" replaces "answer 1"
    failed = Draft(turn_id=first.turn_id, variant=2, status="failed", text="half an ans", provider="mock")
    db.add(failed)
    db.commit()

    assert [e.text for e in history(session=db, writing_session=writing_session)] == ["answer 2"]
    turn(engine, client, writer, writing_session, "Now about a dog")
    assert "answer 2" in provider.bodies[-1]["prompt"] and "answer 1" not in provider.bodies[-1]["prompt"]


def test_a_turn_without_a_completed_draft_lends_its_newest_partial_text(db, writer, writing_session):
    row = Turn(session_id=writing_session.id, index=0, instruction="Write")
    db.add(row)
    db.flush()
    db.add_all([Draft(turn_id=row.id, variant=0, status="failed", text="first try"),
                Draft(turn_id=row.id, variant=1, status="interrupted", text="second try"),
                Draft(turn_id=row.id, variant=2, status="failed", text="")])
    db.commit()

    assert [e.text for e in history(session=db, writing_session=writing_session)] == ["second try"]


def test_regenerating_an_earlier_turn_uses_only_the_turns_before_it(engine, db, writer, writing_session):
    provider = Provider()
    client = provider.client(engine)
    first = turn(engine, client, writer, writing_session, "Write about a fox")
    second = turn(engine, client, writer, writing_session, "Continue", kind=TurnKind.CONTINUE)

    regenerated(engine, client, writer, first.turn_id)
    assert provider.bodies[-1]["prompt"] == provider.bodies[0]["prompt"]
    regenerated(engine, client, writer, second.turn_id)
    prompt = provider.bodies[-1]["prompt"]
    assert "answer 3" in prompt and "answer 2" not in prompt  # the first turn's newest answer; not its own


def test_only_someone_who_may_write_in_the_session_regenerates(engine, db, writer, writing_session):
    first = turn(engine, Provider().client(engine), writer, writing_session, "Write about a fox")
    for stranger, refusal in ((make_user(db, "other", "writer"), NotFoundError),
                              (make_user(db, "reader", "reviewer"), PermissionDeniedError)):
        with pytest.raises(refusal):
            prepare_regeneration(session=db, user=stranger, turn_id=first.turn_id, params=EXACT, provider=PROVIDER)
    with pytest.raises(NotFoundError):
        prepare_regeneration(session=db, user=writer, turn_id=first.turn_id + 99, params=EXACT, provider=PROVIDER)
    with pytest.raises(InvalidInputError):
        prepare_regeneration(session=db, user=writer, turn_id=first.turn_id, params=GenerationParams(top_p=7),
                             provider=PROVIDER)
    assert len(db.exec(select(Draft)).all()) == 1  # nothing saved by a refusal
