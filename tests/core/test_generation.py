"""One turn end to end against a simulated provider: persistence, failure, scoring, routing."""

import pytest
from sqlmodel import select

from core.db import open_session
from core.errors import InvalidInputError, LLMError, LLMServerError
from core.generation import prepare_turn, run_turn, stream_draft
from core.llm.types import GenerationParams
from core.models import Draft, ReviewItem, Score, Turn
from core.policies import save_policy
from core.sessions import create_session
from tests.utils.factories import make_project
from tests.utils.mock_llm import PROVIDER, mock_client

REFERENCE = "The quick brown fox jumps over the lazy dog."


@pytest.fixture
def project(db):
    return make_project(db, references=(REFERENCE,))


@pytest.fixture
def writing_session(db, writer, project):
    return create_session(session=db, owner=writer, project_id=project.id)


def prepare(db, writer, writing_session, instruction="Write about a fox", kind="instruction", params=None):
    return prepare_turn(
        session=db, user=writer, public_id=writing_session.public_id, instruction=instruction,
        params=params or GenerationParams(max_tokens=32), provider=PROVIDER, kind=kind,
    )


def test_turn_is_saved_before_the_model_is_called(db, writer, writing_session):
    prepared = prepare(db, writer, writing_session)
    draft = db.get(Draft, prepared.draft_id)
    assert draft.status == "generating" and draft.params["max_tokens"] == 32
    assert db.get(Turn, prepared.turn_id).instruction == "Write about a fox"


def test_streamed_draft_is_stored_scored_and_accepted(engine, db, writer, writing_session):
    prepared = prepare(db, writer, writing_session)
    pieces = ["The quick brown fox ", "jumps over ", "the lazy dog."]
    streamed = list(stream_draft(engine=engine, client=mock_client(pieces), prepared=prepared))
    assert "".join(streamed) == REFERENCE
    with open_session(engine) as session:
        draft = session.get(Draft, prepared.draft_id)
        scores = {s.metric: s for s in session.exec(select(Score).where(Score.draft_id == draft.id))}
    assert draft.status == "completed" and draft.text == REFERENCE and draft.finish_reason == "stop"
    assert draft.completion_tokens == 3 and draft.model == "mock-1"
    assert draft.route == "accepted" and draft.policy_version == 0
    assert scores["bleu"].value == pytest.approx(100.0) and scores["rougeL"].value == pytest.approx(1.0)
    assert "13a" in scores["bleu"].signature


def test_low_scoring_draft_goes_to_review_with_reason(engine, db, writer, writing_session):
    prepared = prepare(db, writer, writing_session)
    draft = run_turn(engine=engine, client=mock_client(["Entirely ", "different words."]), prepared=prepared)
    assert draft.route == "needs_review" and draft.route_reasons == ["low_score"]
    with open_session(engine) as session:
        item = session.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()
    assert item.state == "open" and "chrF" in item.reason_detail


def test_routing_follows_the_policy_in_force(engine, db, writer, editor, project, writing_session):
    save_policy(session=db, project_id=project.id, thresholds={"chrf": 0.0}, author_id=editor.id)
    prepared = prepare(db, writer, writing_session)
    draft = run_turn(engine=engine, client=mock_client(["Entirely different."]), prepared=prepared)
    assert draft.route == "accepted" and draft.policy_version == 1


def test_failure_mid_stream_keeps_partial_text_and_reason(engine, db, writer, writing_session):
    prepared = prepare(db, writer, writing_session)
    client = mock_client(["The quick ", "brown ", "fox"], error_after=2)
    received = []
    with pytest.raises(LLMError, match="provider fell over"):
        for piece in stream_draft(engine=engine, client=client, prepared=prepared):
            received.append(piece)
    with open_session(engine) as session:
        draft = session.get(Draft, prepared.draft_id)
    assert received == ["The quick ", "brown "]
    assert draft.status == "failed" and draft.text == "The quick brown " and "fell over" in draft.error
    assert draft.route == ""


def test_provider_error_before_any_text_marks_the_draft_failed(engine, db, writer, writing_session):
    prepared = prepare(db, writer, writing_session)
    with pytest.raises(LLMServerError):
        run_turn(engine=engine, client=mock_client([], status=503), prepared=prepared)
    with open_session(engine) as session:
        draft = session.get(Draft, prepared.draft_id)
    assert draft.status == "failed" and "503" in draft.error


def test_leaving_the_page_mid_stream_marks_the_draft_interrupted(engine, db, writer, writing_session):
    prepared = prepare(db, writer, writing_session)
    stream = stream_draft(engine=engine, client=mock_client(["one ", "two ", "three"]), prepared=prepared)
    next(stream)
    stream.close()  # what Streamlit does when the script is stopped
    with open_session(engine) as session:
        draft = session.get(Draft, prepared.draft_id)
    assert draft.status == "interrupted" and "stopped" in draft.error


def test_next_turn_carries_earlier_turns_and_continue_works(engine, db, writer, writing_session):
    seen: list[dict] = []
    first = prepare(db, writer, writing_session, instruction="Write about a fox")
    run_turn(engine=engine, client=mock_client(["A fox ran."]), prepared=first)
    second = prepare(db, writer, writing_session, kind="continue")
    run_turn(engine=engine, client=mock_client([" It hid."], seen=seen), prepared=second)
    assert seen[0]["prompt"] == "Instruction: Write about a fox\nText: A fox ran."
    third = prepare(db, writer, writing_session, instruction="Now a title")
    assert third.prompt.startswith("Instruction: Write about a fox\nText: A fox ran. It hid.")
    assert third.prompt.endswith("Instruction: Now a title\nText: ")


def test_bad_input_is_refused_before_anything_is_saved(db, writer, writing_session):
    with pytest.raises(InvalidInputError, match="instruction"):
        prepare(db, writer, writing_session, instruction="   ")
    with pytest.raises(InvalidInputError, match="temperature"):
        prepare(db, writer, writing_session, params=GenerationParams(temperature=5))
    with pytest.raises(InvalidInputError, match="continue"):
        prepare(db, writer, writing_session, kind="continue")
    assert db.exec(select(Turn)).all() == []
