"""Fault injection: a local server misbehaves on purpose, in stream and non-stream mode.

Each test asserts the tries the server saw, the waits the client asked for (a fake sleep: no
test sleeps through a backoff), the error the user would read, and, through core.writing.turns,
that the turn and its draft survive with an honest status.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from core.llm import GenerationParams, LLMClient
from core.llm.retry import RetryPolicy
from core.platform.db import open_session
from core.platform.errors import (
    LLMAuthenticationError,
    LLMBadRequestError,
    LLMConnectionError,
    LLMRateLimitError,
    LLMResponseError,
    LLMServerError,
    LLMTimeoutError,
)
from core.platform.models import Draft, Turn
from core.platform.states import DraftStatus, Route
from core.writing.sessions import create_session
from core.writing.turns import TurnRequest, prepare_turn, run_turn
from tests.core.llm.faulty_server import FakeSleep, answer, drop, raw, stall, status, stream
from tests.core.llm.helpers import provider
from tests.utils.factories import make_project

PARAMS = GenerationParams(max_tokens=16)
MODES = ("generate", "stream")
BACKOFF = RetryPolicy(max_retries=2, initial_delay_s=0.5, max_delay_s=8, jitter=0)


@pytest.fixture
def sleeps():
    return FakeSleep()


@pytest.fixture
def client(faulty, sleeps):
    with LLMClient(
        provider(base_url=faulty.base_url), retry=BACKOFF, sleep=sleeps, read_timeout=5, stream_idle_timeout=5
    ) as made:
        yield made


def call(client: LLMClient, mode: str) -> str:
    if mode == "generate":
        return client.generate("Say hello", PARAMS).text
    return "".join(client.stream("Say hello", PARAMS))


# -- statuses ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("code", [408, 409, 429, 500, 502, 503, 504])
def test_a_transient_status_is_retried_after_a_backoff(faulty, client, sleeps, mode, code):
    faulty.script(status(code), answer("recovered"))
    assert call(client, mode) == "recovered"
    assert len(faulty.requests) == 2
    assert sleeps.waits == [0.5]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("code", "family"),
    [(400, LLMBadRequestError), (401, LLMAuthenticationError), (403, LLMAuthenticationError),
     (404, LLMBadRequestError), (422, LLMBadRequestError)],
)
def test_a_status_that_would_fail_again_is_not_retried(faulty, client, sleeps, mode, code, family):
    faulty.script(status(code, body={"error": {"message": "nope"}}))
    with pytest.raises(family, match=rf"^The provider answered {code} .*: nope$") as caught:
        call(client, mode)
    assert caught.value.attempts == 1
    assert len(faulty.requests) == 1 and sleeps.waits == []


@pytest.mark.parametrize("mode", MODES)
def test_tries_run_out_with_a_message_that_says_so(faulty, client, sleeps, mode):
    faulty.script(status(503), status(503), status(503), answer("too late"))
    with pytest.raises(LLMServerError, match=r"^The provider answered 503 .*\(gave up after 3 tries\)$") as caught:
        call(client, mode)
    assert caught.value.attempts == 3
    assert len(faulty.requests) == 3 and sleeps.waits == [0.5, 1.0]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("headers", "wait"),
    [({"Retry-After": "2"}, 2.0), ({"retry-after-ms": "1500"}, 1.5), ({"Retry-After": "0"}, 0.0)],
)
def test_retry_after_is_honoured(faulty, client, sleeps, mode, headers, wait):
    faulty.script(status(429, headers=headers), answer("ok"))
    assert call(client, mode) == "ok"
    assert sleeps.waits == [wait]


def test_retry_after_as_an_http_date_is_honoured(faulty, client, sleeps):
    when = datetime.now(UTC) + timedelta(seconds=20)
    faulty.script(status(503, headers={"Retry-After": format_datetime(when, usegmt=True)}), answer("ok"))
    assert call(client, "generate") == "ok"
    assert len(sleeps.waits) == 1 and 15 <= sleeps.waits[0] <= 20


@pytest.mark.parametrize("mode", MODES)
def test_a_wait_above_the_ceiling_gives_up_at_once_and_names_the_wait(faulty, client, sleeps, mode):
    faulty.script(status(429, headers={"Retry-After": "3600"}), answer("never"))
    with pytest.raises(LLMRateLimitError, match=r"asks to wait 3600 s before trying again\)$") as caught:
        call(client, mode)
    assert caught.value.retry_after_s == 3600
    assert len(faulty.requests) == 1 and sleeps.waits == []


# -- connections ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_dropped_connection_is_retried(faulty, client, sleeps, mode):
    faulty.script(drop(), answer("second time lucky"))
    assert call(client, mode) == "second time lucky"
    assert len(faulty.requests) == 2 and sleeps.waits == [0.5]


@pytest.mark.parametrize("mode", MODES)
def test_a_silent_provider_times_out_and_is_retried(faulty, sleeps, mode):
    faulty.script(stall(), answer("awake"))
    with LLMClient(provider(base_url=faulty.base_url), retry=BACKOFF, sleep=sleeps, read_timeout=0.3) as client:
        assert call(client, mode) == "awake"
    assert len(faulty.requests) == 2 and sleeps.waits == [0.5]


def test_a_provider_that_never_answers_ends_in_a_clear_timeout(faulty, sleeps):
    faulty.script(stall(), stall())
    policy = RetryPolicy(max_retries=1, jitter=0)
    with LLMClient(provider(base_url=faulty.base_url), retry=policy, sleep=sleeps, read_timeout=0.2) as client:
        with pytest.raises(LLMTimeoutError, match=r"sent nothing for 0.2 s\. \(gave up after 2 tries\)$"):
            client.generate("x", PARAMS)


def test_an_unreachable_provider_is_retried_then_named(sleeps):
    from tests.core.llm.helpers import closed_port

    url = f"http://127.0.0.1:{closed_port()}/v1"
    with LLMClient(provider(base_url=url), retry=BACKOFF, sleep=sleeps) as client:
        with pytest.raises(LLMConnectionError, match=f"Could not reach the provider at {url}.*gave up after 3 tries"):
            client.generate("x", PARAMS)
    assert sleeps.waits == [0.5, 1.0]


# -- streams ----------------------------------------------------------------------------------


def test_a_stream_that_breaks_after_its_first_text_is_not_retried(faulty, client, sleeps):
    faulty.script(stream(["Once ", "upon "], then="close"), answer("a fresh start"))
    received = []
    with pytest.raises(LLMConnectionError) as caught:
        for delta in client.stream("x", PARAMS):
            received.append(delta)
    err = caught.value
    assert received == ["Once ", "upon "]
    assert err.partial_text == "Once upon "
    assert str(err).startswith("The stream broke after 10 characters: Could not reach the provider")
    assert len(faulty.requests) == 1 and sleeps.waits == []


def test_a_stream_that_breaks_before_any_text_is_opened_again(faulty, client, sleeps):
    faulty.script(stream([], then="close"), stream(["whole ", "answer"]))
    assert "".join(client.stream("x", PARAMS)) == "whole answer"
    assert len(faulty.requests) == 2 and sleeps.waits == [0.5]


def test_a_stream_opened_again_counts_both_tries_in_its_error(faulty, client, sleeps):
    faulty.script(stream([], then="close"), stream(["Once ", "upon "], then="close"))
    stream_ = client.stream("x", PARAMS)
    with pytest.raises(LLMConnectionError) as caught:
        list(stream_)
    err = caught.value
    assert (err.attempts, err.partial_text) == (2, "Once upon ")
    assert str(err).startswith("The stream broke after 10 characters: Could not reach the provider")
    assert len(faulty.requests) == 2 and sleeps.waits == [0.5]


def test_a_stream_that_keeps_dropping_before_any_text_gives_up_saying_so(faulty, client, sleeps):
    faulty.script(*[stream([], then="close")] * 3, stream(["too late"]))
    with pytest.raises(LLMConnectionError, match=r"^Could not reach the provider .*\(gave up after 3 tries\)$") as caught:
        list(client.stream("x", PARAMS))
    assert caught.value.attempts == 3 and caught.value.partial_text == ""
    assert len(faulty.requests) == 3 and sleeps.waits == [0.5, 1.0]


def test_a_stream_that_goes_silent_is_cut_off_by_the_idle_timeout(faulty, sleeps):
    faulty.script(stream(["Half "], then="stall"))
    with LLMClient(provider(base_url=faulty.base_url), sleep=sleeps, read_timeout=30,
                   stream_idle_timeout=0.3) as client:
        started = time.monotonic()
        stream_ = client.stream("x", PARAMS)
        with pytest.raises(LLMTimeoutError) as caught:
            list(stream_)
    assert time.monotonic() - started < 15  # the 30 s read timeout did not apply
    assert str(caught.value) == (
        f"The stream broke after 5 characters: The provider at {faulty.base_url} went silent "
        "for 0.3 s in the middle of its answer (stream idle timeout)."
    )
    assert caught.value.partial_text == "Half " and len(faulty.requests) == 1


def test_a_stream_of_keep_alive_comments_only_is_cut_off_too(faulty, sleeps):
    faulty.script(stream(["Half "], gap_s=0.05, then="keepalive"))
    with LLMClient(provider(base_url=faulty.base_url), sleep=sleeps, stream_idle_timeout=0.3) as client:
        with pytest.raises(LLMTimeoutError, match="went silent for 0.3 s") as caught:
            list(client.stream("x", PARAMS))
    assert caught.value.partial_text == "Half "


def test_an_error_event_mid_stream_is_shown_and_not_retried(faulty, client, sleeps):
    faulty.script(stream(["Some "], then="error"))
    with pytest.raises(LLMResponseError) as caught:
        list(client.stream("x", PARAMS))
    assert str(caught.value) == (
        "The stream broke after 5 characters: The provider reported an error mid-stream: the model crashed"
    )
    assert len(faulty.requests) == 1 and sleeps.waits == []


# -- unreadable answers -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_malformed_body_is_a_clear_error_and_not_retried(faulty, client, sleeps, mode):
    content_type = "text/event-stream" if mode == "stream" else "application/json"
    body = b"data: {not json\n\n" if mode == "stream" else b"{not json"
    faulty.script(raw(200, content_type, body))
    with pytest.raises(LLMResponseError, match="not valid JSON" if mode == "stream" else "not JSON"):
        call(client, mode)
    assert len(faulty.requests) == 1 and sleeps.waits == []


@pytest.mark.parametrize("mode", MODES)
def test_an_html_error_page_is_retried_then_quoted(faulty, client, sleeps, mode):
    page = "<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"
    faulty.script(status(502, body=page), status(502, body=page), status(502, body=page))
    with pytest.raises(LLMServerError) as caught:
        call(client, mode)
    assert caught.value.provider_message == "<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"
    assert len(faulty.requests) == 3


def test_a_login_page_instead_of_a_stream_is_a_clear_error(faulty, client):
    faulty.script(raw(200, "text/html", b"<h1>Sign in to the proxy</h1>"))
    with pytest.raises(LLMResponseError, match=r"did not answer with an event stream \(text/html.*Sign in"):
        client.stream("x", PARAMS)


# -- nothing is lost: one turn through core.writing.turns ----------------------------------------


@pytest.fixture
def turn_of(db, writer, faulty):
    project = make_project(db, references=("Hello there, the whole answer.",))
    writing_session = create_session(session=db, owner=writer, project_id=project.id)
    config = provider(base_url=faulty.base_url, api_key="")

    def prepare():
        return prepare_turn(
            session=db, user=writer,
            request=TurnRequest(public_id=writing_session.public_id, instruction="Say hello", params=PARAMS),
            provider=config,
        )

    return prepare


def stored(engine, prepared) -> tuple[Turn, Draft]:
    with open_session(engine) as session:
        return session.get(Turn, prepared.turn_id), session.get(Draft, prepared.draft_id)


def test_a_retried_turn_completes_as_if_nothing_happened(engine, faulty, client, sleeps, turn_of):
    faulty.script(status(503), drop(), stream(["Hello there, ", "the whole answer."]))
    prepared = turn_of()
    draft = run_turn(engine=engine, client=client, prepared=prepared)
    assert draft.status == DraftStatus.COMPLETED and draft.text == "Hello there, the whole answer."
    assert draft.route in (Route.ACCEPTED, Route.NEEDS_REVIEW)
    assert len(faulty.requests) == 3 and sleeps.waits == [0.5, 1.0]


def test_a_broken_stream_leaves_a_failed_draft_with_its_partial_text(engine, faulty, client, turn_of):
    faulty.script(stream(["Hello there, "], then="close"))
    prepared = turn_of()
    with pytest.raises(LLMConnectionError):
        run_turn(engine=engine, client=client, prepared=prepared)
    turn, draft = stored(engine, prepared)
    assert turn.instruction == "Say hello"
    assert draft.status == DraftStatus.FAILED and draft.text == "Hello there, "
    assert draft.error.startswith("The stream broke after 13 characters:")


def test_a_failed_drafts_reason_is_stored_as_a_message_each_reader_reads_in_their_language(
        engine, faulty, client, turn_of):
    from core.platform.i18n import Message, translations

    faulty.script(stream(["Hello there, "], then="close"))
    prepared = turn_of()
    with pytest.raises(LLMConnectionError):
        run_turn(engine=engine, client=client, prepared=prepared)
    _, draft = stored(engine, prepared)
    message = Message.from_json(draft.error_message)
    assert str(message) == draft.error  # the English text, as the API and exports keep it
    chinese = message.render(translations("zh_CN"))
    assert chinese.startswith("流式输出在 13 个字符后中断：")


def test_a_silent_stream_leaves_a_failed_draft_saying_why(engine, faulty, sleeps, turn_of):
    faulty.script(stream(["Hello "], then="stall"))
    prepared = turn_of()
    with LLMClient(prepared.provider, sleep=sleeps, stream_idle_timeout=0.3) as client:
        with pytest.raises(LLMTimeoutError):
            run_turn(engine=engine, client=client, prepared=prepared)
    _, draft = stored(engine, prepared)
    assert draft.status == DraftStatus.FAILED and draft.text == "Hello "
    assert "went silent for 0.3 s" in draft.error


@pytest.mark.parametrize(
    ("acts", "family", "message"),
    [
        ((status(503),) * 3, LLMServerError, "gave up after 3 tries"),
        ((status(401, body={"error": {"message": "bad key"}}),), LLMAuthenticationError, "401 Unauthorized: bad key"),
        ((stream(["Partial "], then="error"),), LLMResponseError, "the model crashed"),
        ((raw(200, "text/html", b"<p>portal</p>"),), LLMResponseError, "portal"),
    ],
    ids=["retries-exhausted", "unauthorized", "error-event", "not-a-stream"],
)
def test_every_failure_keeps_the_turn_and_marks_its_draft_failed(engine, faulty, client, turn_of, acts, family, message):
    faulty.script(*acts)
    prepared = turn_of()
    with pytest.raises(family):
        run_turn(engine=engine, client=client, prepared=prepared)
    turn, draft = stored(engine, prepared)
    assert turn is not None
    assert draft.status == DraftStatus.FAILED and message in draft.error
