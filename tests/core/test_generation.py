"""One turn end to end against a simulated provider: persistence, failure, scoring, routing."""

import pytest
from sqlmodel import select

from core.access.actors import SYSTEM
from core.gate.policies import save_policy
from core.llm.types import GenerationParams
from core.platform.db import open_session
from core.platform.errors import InvalidInputError, LLMError, LLMServerError
from core.platform.models import Draft, ReviewItem, Score, Turn
from core.writing.sessions import create_session
from core.writing.turns import TurnRequest, prepare_turn, run_turn, stream_draft
from tests.utils.factories import make_project
from tests.utils.mock_llm import PROVIDER, mock_client

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)

REFERENCE = "The quick brown fox jumps over the lazy dog."


@pytest.fixture
def project(db):
    return make_project(db, references=(REFERENCE,))


@pytest.fixture
def writing_session(db, writer, project):
    return create_session(session=db, owner=writer, project_id=project.id)


def prepare(db, writer, writing_session, instruction="Write about a fox", kind="instruction", params=None):
    return prepare_turn(
        session=db, user=writer,
        request=TurnRequest(
            public_id=writing_session.public_id, instruction=instruction,
            params=params or GenerationParams(max_tokens=32), kind=kind,
        ),
        provider=PROVIDER,
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


def test_a_page_hands_scoring_to_a_job_and_the_draft_waits_unrouted(engine, db, writer, writing_session):
    from core.gate.rescoring import hand_off_scoring, unscored
    from core.jobs.runner import JobRunner
    from tests.utils.jobs import wait_for_job

    prepared = prepare(db, writer, writing_session)
    handed = []
    pieces = ["The quick brown fox ", "jumps over ", "the lazy dog."]
    streamed = list(stream_draft(engine=engine, client=mock_client(pieces), prepared=prepared, score_later=handed.append))
    draft = db.get(Draft, prepared.draft_id)
    assert "".join(streamed) == REFERENCE and handed == [draft.id]
    assert draft.status == "completed" and draft.route == "" and db.exec(select(Score)).all() == []
    assert unscored(session=db, drafts=[draft]) == {draft.id: "Scoring did not finish."}

    runner = JobRunner(engine, workers=1)
    try:
        job = wait_for_job(engine, hand_off_scoring(runner, draft.id, owner_id=writer.id))
    finally:
        runner.shutdown()
    db.refresh(draft)
    assert job.status == "succeeded" and draft.route == "accepted" and draft.score_job_id == job.id


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
    assert seen[0]["prompt"] == "Task: Write about a fox\n\nAnswer:\nA fox ran."
    third = prepare(db, writer, writing_session, instruction="Now a title")
    assert third.prompt.startswith("Task: Write about a fox\n\nAnswer:\nA fox ran. It hid.")
    assert third.prompt.endswith("Task: Now a title\n\nAnswer:\n")


def test_bad_input_is_refused_before_anything_is_saved(db, writer, writing_session):
    with pytest.raises(InvalidInputError, match="instruction"):
        prepare(db, writer, writing_session, instruction="   ")
    with pytest.raises(InvalidInputError, match="temperature"):
        prepare(db, writer, writing_session, params=GenerationParams(temperature=5))
    with pytest.raises(InvalidInputError, match="continue"):
        prepare(db, writer, writing_session, kind="continue")
    assert db.exec(select(Turn)).all() == []


# -- presets and sensitive words in the turn pipeline ----------------------------------------

from core.platform.models import AuditEvent, Preset  # noqa: E402
from core.writing.moderation import add_words  # noqa: E402
from core.writing.presets import add_preset  # noqa: E402


def test_an_instruction_matching_a_preset_is_answered_without_the_model(engine, db, writer, editor, project, writing_session):
    preset = add_preset(session=db, project_id=project.id, instruction="What is the return policy?",
                        answer="Thirty days, no questions asked.", actor_id=editor.id)
    prepared = prepare(db, writer, writing_session, instruction="  what is the RETURN policy ")
    assert prepared.preset.preset_id == preset.id
    seen: list[dict] = []
    streamed = list(stream_draft(engine=engine, client=mock_client(["never"], seen=seen), prepared=prepared))
    assert streamed == ["Thirty days, no questions asked."] and seen == []
    with open_session(engine) as session:
        draft = session.get(Draft, prepared.draft_id)
        item = session.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).first()
        uses = session.get(Preset, preset.id).uses
    assert (draft.provider, draft.model, draft.request_id, draft.finish_reason) == (
        "preset", f"preset #{preset.id}", f"preset:{preset.id}", "preset")
    assert draft.status == "completed" and draft.route == "accepted" and item is None  # low scores do not route a preset
    assert uses == 1


def test_presets_can_be_bypassed_and_never_answer_continue(engine, db, writer, editor, project, writing_session):
    add_preset(session=db, project_id=project.id, instruction="Write about a fox", answer="Preset fox.", actor_id=editor.id)
    bypass = prepare_turn(
        session=db, user=writer,
        request=TurnRequest(
            public_id=writing_session.public_id, instruction="Write about a fox", params=GenerationParams(max_tokens=8),
            use_presets=False,
        ),
        provider=PROVIDER,
    )
    assert bypass.preset is None
    run_turn(engine=engine, client=mock_client(["A fox."]), prepared=bypass)
    assert prepare(db, writer, writing_session, kind="continue").preset is None


def test_a_sensitive_word_is_masked_while_streaming_and_kept_for_reviewers(engine, db, writer, writing_session):
    add_words(session=db, words=["lazy dog", "坏词"], actor_id=SYSTEM)
    prepared = prepare(db, writer, writing_session)
    pieces = ["The quick brown fox jumps over the la", "zy d", "og. 坏", "词"]
    streamed = list(stream_draft(engine=engine, client=mock_client(pieces), prepared=prepared))
    assert "".join(streamed) == "The quick brown fox jumps over the **** ***. ＊＊"
    shown = ""
    for piece in streamed:
        shown += piece
        assert "lazy" not in shown and "坏" not in shown
    with open_session(engine) as session:
        draft = session.get(Draft, prepared.draft_id)
        item = session.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).one()
    assert draft.text == "The quick brown fox jumps over the lazy dog. 坏词"
    assert draft.route == "needs_review" and draft.route_reasons == ["sensitive_words"]
    assert item.reasons == ["sensitive_words"] and item.reason_detail == "Sensitive words: lazy dog, 坏词"


def test_a_preset_answer_with_a_sensitive_word_still_goes_to_review(engine, db, writer, editor, project, writing_session):
    add_preset(session=db, project_id=project.id, instruction="Say it", answer="A bad answer.", actor_id=editor.id)
    add_words(session=db, words=["bad"], actor_id=SYSTEM)
    prepared = prepare(db, writer, writing_session, instruction="say it")
    assert list(stream_draft(engine=engine, client=mock_client([]), prepared=prepared)) == ["A *** answer."]
    with open_session(engine) as session:
        assert session.get(Draft, prepared.draft_id).route_reasons == ["sensitive_words"]


def test_a_weighted_policy_routes_the_draft(engine, db, writer, editor, project, writing_session):
    save_policy(session=db, project_id=project.id, thresholds={}, author_id=editor.id, rule="weighted",
                weights={"chrf": 1.0}, composite_threshold=0.99)
    draft = run_turn(engine=engine, client=mock_client(["The quick brown fox jumps over the lazy cat."]),
                     prepared=prepare(db, writer, writing_session))
    assert draft.route == "needs_review" and draft.policy_version == 1
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "policy.save")).one().detail["rule"] == "weighted"


def test_a_draft_of_several_sentences_also_gets_rouge_lsum(db, writer):
    from core.scoring import score
    from tests.utils.factories import make_finished_draft

    reference = "春天来了。柳絮在风里飘着。\nSpring is short in Beijing."
    project = make_project(db, "Lsum", references=(reference,))
    several = make_finished_draft(db, writer, project, "柳絮在风里飘着。春天来了！Spring is short.")
    one = make_finished_draft(db, writer, project, "春天来了")

    def stored(draft):
        return {s.metric: s for s in db.exec(select(Score).where(Score.draft_id == draft.id))}

    lsum = stored(several)["rougeLsum"]
    expected = score("柳絮在风里飘着。春天来了！Spring is short.", [reference], lsum=True).value("rougeLsum")
    assert lsum.value == pytest.approx(expected) and lsum.value != stored(several)["rougeL"].value
    assert "rougeLsum" in lsum.signature
    assert "rougeLsum" not in stored(one)


# -- what a provider sends: a whole answer only when it is one, text a database can store --------
# Real servers on loopback (tests/core/llm/faulty_server.py); the response cache is the test's
# database. tests/services/postgres re-runs these on PostgreSQL.

from core.llm.cache import DatabaseStore, ResponseCache  # noqa: E402
from core.llm.client import LLMClient  # noqa: E402
from core.llm.retry import NO_RETRIES  # noqa: E402
from core.llm.types import ProviderConfig  # noqa: E402
from core.platform.errors import LLMIncompleteError, LLMResponseError  # noqa: E402
from core.platform.models import CacheEntry  # noqa: E402
from tests.core.llm.faulty_server import FaultyServer, raw, stream, task_state, task_submitted  # noqa: E402

EXACT = GenerationParams(temperature=0, max_tokens=32)  # reproducible: the cache reads and stores it
INCOMPLETE_REASON = "The provider's stream ended before the answer was finished"


@pytest.fixture
def provider_server():
    server = FaultyServer().start()
    yield server
    server.stop()


def loopback_client(engine, server, api_style="completions") -> LLMClient:
    config = ProviderConfig(name="loopback", base_url=server.base_url, model="m-1", api_style=api_style)
    return LLMClient(config, retry=NO_RETRIES, read_timeout=5, cache=ResponseCache(DatabaseStore(engine)))


def exact_turn(db, writer, project, client, instruction="Write about a fox"):
    """A turn in a new session of `project`: the same instruction gives the same request."""
    writing_session = create_session(session=db, owner=writer, project_id=project.id)
    return prepare_turn(
        session=db, user=writer,
        request=TurnRequest(public_id=writing_session.public_id, instruction=instruction, params=EXACT),
        provider=client.provider,
    )


def assert_failed_unscored_uncached(engine, draft_id, text, reason):
    with open_session(engine) as session:
        draft = session.get(Draft, draft_id)
        scores = session.exec(select(Score).where(Score.draft_id == draft_id)).all()
        items = session.exec(select(ReviewItem).where(ReviewItem.draft_id == draft_id)).all()
        entries = session.exec(select(CacheEntry)).all()
    assert draft.status == "failed" and draft.text == text
    assert draft.error.startswith(reason), draft.error
    assert (draft.route, draft.finish_reason, scores, items, entries) == ("", "", [], [], [])


@pytest.mark.parametrize("chunked", [True, False], ids=["complete-chunked-body", "close-delimited-body"])
@pytest.mark.parametrize("api_style", ["completions", "chat"])
def test_a_stream_cut_short_fails_its_draft_and_is_never_replayed(engine, db, writer, project, provider_server,
                                                                  chunked, api_style):
    provider_server.script(
        stream(["The quick brown fox ", "jumps"], then="end", finish_reason=None, chunked=chunked),
        stream(["The quick brown fox ", "jumps over ", "the lazy dog."]),
    )
    with loopback_client(engine, provider_server, api_style) as client:
        cut = exact_turn(db, writer, project, client)
        received = []
        with pytest.raises(LLMIncompleteError):
            for piece in stream_draft(engine=engine, client=client, prepared=cut):
                received.append(piece)
        assert "".join(received) == "The quick brown fox jumps"
        assert_failed_unscored_uncached(engine, cut.draft_id, "The quick brown fox jumps", INCOMPLETE_REASON)

        again = run_turn(engine=engine, client=client, prepared=exact_turn(db, writer, project, client))
    assert len(provider_server.requests) == 2  # the provider was asked again, not the cache
    assert again.status == "completed" and again.text == REFERENCE and not again.cache_hit
    assert again.route == "accepted"


def test_a_variant_answered_with_json_instead_of_a_stream_fails_its_draft_and_is_never_replayed(engine, db, writer, project,
                                                                                provider_server):
    from core.jobs.runner import JobRunner
    from core.writing.variants import start_variants
    from tests.utils.jobs import wait_for_job

    provider_server.script(raw(200, "application/json", b'{"id": "x", "choices": []}'))
    runner = JobRunner(engine, workers=1)
    try:
        with loopback_client(engine, provider_server) as client:
            writing_session = create_session(session=db, owner=writer, project_id=project.id)
            started = start_variants(
                runner=runner, session=db, user=writer,
                request=TurnRequest(
                    public_id=writing_session.public_id, instruction="Write about a fox", params=EXACT, variants=1,
                ),
                client=client,
            )
            job = wait_for_job(engine, started.job_id)
            (draft_id,) = started.draft_ids
            assert job.status == "failed"
            assert_failed_unscored_uncached(engine, draft_id, "", "The provider did not answer with an event stream")
            again = run_turn(engine=engine, client=client, prepared=exact_turn(db, writer, project, client))
    finally:
        runner.shutdown()
    assert len(provider_server.requests) == 2 and again.status == "completed" and not again.cache_hit


@pytest.mark.parametrize(
    "state",
    [{"status": "completed"}, {"status": "completed", "result": {"text": None}},
     {"status": "completed", "result": "The whole answer."}],
    ids=["no-result", "no-text", "result-not-an-object"],
)
def test_a_task_completed_without_a_text_fails_its_draft_and_is_never_replayed(engine, db, writer, project,
                                                                               provider_server, state):
    done = {"status": "completed", "result": {"text": REFERENCE, "finish_reason": "stop"}}
    provider_server.script(task_submitted("t-1"), task_state(state), task_submitted("t-2"), task_state(done))
    with loopback_client(engine, provider_server, "task") as client:
        first = exact_turn(db, writer, project, client)
        with pytest.raises(LLMResponseError, match="completed without a text result"):
            run_turn(engine=engine, client=client, prepared=first)
        assert_failed_unscored_uncached(engine, first.draft_id, "", "The provider's task t-1 completed without")
        again = run_turn(engine=engine, client=client, prepared=exact_turn(db, writer, project, client))
    assert len(provider_server.requests) == 4
    assert again.status == "completed" and again.text == REFERENCE and again.request_id == "t-2"


def test_text_the_database_cannot_store_is_stored_made_whole(engine, db, writer, project, provider_server):
    """An emoji split across two chunks as a JSON surrogate pair, a lone surrogate and a NUL: the
    draft completes (on SQLite and PostgreSQL) with the emoji whole and U+FFFD for the rest."""
    pieces = ["The quick brown fox \ud83d", "\ude00 jumps over", " the lazy\x00 dog\udc00."]
    provider_server.script(stream(pieces))
    with loopback_client(engine, provider_server) as client:
        draft = run_turn(engine=engine, client=client, prepared=exact_turn(db, writer, project, client))
        replayed = run_turn(engine=engine, client=client, prepared=exact_turn(db, writer, project, client))
    stored = "The quick brown fox \U0001F600 jumps over the lazy\ufffd dog\ufffd."
    assert draft.status == "completed" and draft.text == stored and draft.route in ("accepted", "needs_review")
    assert replayed.cache_hit and replayed.text == stored
    assert len(provider_server.requests) == 1


# -- text the database cannot store never loses a draft --------------------------------------

from core.llm.types import GenerationResult, Usage  # noqa: E402
from core.platform import constants  # noqa: E402

# An emoji split across two deltas as a surrogate pair, a lone surrogate and a NUL: what a
# provider's raw output may hold (the client sanitizes; the storage path must not depend on it).
RAW = ["The fox \ud83d", "\ude00 ran", " \udc00 and", " hid\x00."]
STORED = "The fox \U0001F600 ran \ufffd and hid\ufffd."


class RawStream:
    """A stream as core.llm.client.CompletionStream looks to stream_draft, delivering raw text."""

    def __init__(self, deltas: list[str], error: LLMError | None) -> None:
        self.deltas, self.error = deltas, error
        self.text, self.result, self.cache_hit = "", None, False

    def __iter__(self):
        for delta in self.deltas:
            self.text += delta
            yield delta
        if self.error is not None:
            self.error.partial_text = self.text
            raise self.error
        self.result = GenerationResult(id="raw\x00-1", text=self.text, finish_reason="stop", usage=Usage(),
                                       model="raw\ud800-model", latency_s=0.1)

    def close(self) -> None:
        pass


class RawClient:
    def __init__(self, error: LLMError | None = None) -> None:
        self.error = error

    def stream(self, prompt, params, *, cache="auto", origin=None, stop=None) -> RawStream:
        return RawStream(RAW, self.error)


def test_text_no_database_can_store_completes_the_draft_with_replacement_characters(
    engine, db, writer, writing_session, monkeypatch,
):
    monkeypatch.setattr(constants, "PARTIAL_SAVE_INTERVAL_S", 0.0)  # every delta is saved
    prepared = prepare(db, writer, writing_session)
    "".join(stream_draft(engine=engine, client=RawClient(), prepared=prepared))
    with open_session(engine) as session:
        draft = session.get(Draft, prepared.draft_id)
    assert draft.status == "completed" and draft.text == STORED
    assert (draft.request_id, draft.model) == ("raw\ufffd-1", "raw\ufffd-model")
    assert draft.route  # scored and routed as usual


def test_a_failure_with_text_no_database_can_store_still_fails_the_draft_keeping_its_text(
    engine, db, writer, writing_session, monkeypatch,
):
    monkeypatch.setattr(constants, "PARTIAL_SAVE_INTERVAL_S", 0.0)
    prepared = prepare(db, writer, writing_session)
    with pytest.raises(LLMError):
        for _ in stream_draft(engine=engine, client=RawClient(LLMError("The provider said \x00\udc00 and left.")),
                              prepared=prepared):
            pass
    with open_session(engine) as session:
        draft = session.get(Draft, prepared.draft_id)
    assert draft.status == "failed" and draft.text == STORED
    assert draft.error == "The provider said \ufffd\ufffd and left."


def test_a_whole_answer_survives_a_busy_moment_of_the_database_at_its_end(engine, db, writer, writing_session):
    """The completed draft's one UPDATE, refused once as a deadlock's victim would be (PostgreSQL
    rolls its transaction back), is tried again: the answer is not lost, the draft not failed."""
    import sqlite3

    import psycopg
    from sqlalchemy import event

    refused = []

    def refuse_once(_conn, _cursor, statement, _params, _context, _many):
        if statement.startswith("UPDATE draft SET text=") and "finish_reason" in statement and not refused:
            refused.append(statement)
            if engine.dialect.name == "sqlite":
                locked = sqlite3.OperationalError("database is locked")
                locked.sqlite_errorcode = sqlite3.SQLITE_BUSY
                raise locked
            raise psycopg.errors.DeadlockDetected("deadlock detected")

    prepared = prepare(db, writer, writing_session)
    event.listen(engine, "before_cursor_execute", refuse_once)
    try:
        draft = run_turn(engine=engine, client=mock_client(["The quick brown fox ", "jumps."]), prepared=prepared)
    finally:
        event.remove(engine, "before_cursor_execute", refuse_once)
    assert refused  # the first try was refused
    assert (draft.status, draft.text) == ("completed", "The quick brown fox jumps.")
