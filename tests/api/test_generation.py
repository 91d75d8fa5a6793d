"""Generation through the gate with the official openai SDK against a local mock provider:
chat and completions, sync, async, streaming, n variants, sessions continued, errors."""

from __future__ import annotations

import asyncio

import httpx
import openai
import pytest
from sqlmodel import select

from core.platform.db import open_session
from core.platform.models import Draft, Turn, WritingSession
from tests.core.llm.faulty_server import FaultyServer, status, stream
from tests.utils.factories import make_project, make_user
from tests.utils.jobs import wait_for_job


@pytest.fixture
def provider():
    server = FaultyServer().start()
    yield server
    server.stop()


@pytest.fixture
def live(start_api, db, provider):
    make_project(db, "Support", references=("Your order has shipped and will arrive on Monday.",))
    return start_api(llm_base_url=provider.base_url, llm_model="mock-model", llm_api_style="chat")


def sdk(live, key, **options) -> openai.OpenAI:
    return openai.OpenAI(base_url=live.base_url, api_key=key, **{"max_retries": 0, "timeout": 30, **options})


def test_a_chat_completion_is_a_draft_with_its_session_and_gate_fields(live, provider, writer, engine):
    provider.reply = "Your order has shipped and arrives on Monday."
    client = sdk(live, live.key_for(writer))

    answer = client.chat.completions.create(model="configured", messages=[
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Tell the customer it shipped"}])

    assert answer.choices[0].message.content == "Your order has shipped and arrives on Monday."
    assert answer.choices[0].finish_reason == "stop" and answer.object == "chat.completion"
    gate = answer.model_extra["draftgate"]
    assert gate["status"] == "completed" and gate["route"] in ("pending", "accepted", "needs_review")
    assert provider.requests[-1].body["messages"][-1]["content"] == "Tell the customer it shipped"
    with open_session(engine) as db:
        draft = db.get(Draft, gate["draft_id"])
        assert draft.text == answer.choices[0].message.content
        assert db.exec(select(WritingSession).where(WritingSession.public_id == gate["session_id"])).one()
    # once scored, GET drafts/{id} tells the route
    if draft.score_job_id:
        wait_for_job(engine, draft.score_job_id)
    got = httpx.get(live.url(f"/drafts/{gate['draft_id']}"),
                    headers={"Authorization": f"Bearer {client.api_key}"}, timeout=30).json()
    assert got["draftgate"]["route"] in ("accepted", "needs_review") and "chrf" in got["draftgate"]["scores"]


def test_session_id_continues_the_session_with_its_context(live, provider, writer, engine):
    client = sdk(live, live.key_for(writer))
    provider.reply = "First answer."
    first = client.chat.completions.create(model="configured", messages=[{"role": "user", "content": "Write one"}])
    session_id = first.model_extra["draftgate"]["session_id"]
    provider.reply = "Second answer."

    second = client.chat.completions.create(model="configured", messages=[{"role": "user", "content": "Shorter"}],
                                            extra_body={"session_id": session_id})

    assert second.model_extra["draftgate"]["session_id"] == session_id
    sent = provider.requests[-1].body["messages"]
    assert [m["content"] for m in sent[1:]] == ["Write one", "First answer.", "Shorter"]
    with open_session(engine) as db:
        session = db.exec(select(WritingSession).where(WritingSession.public_id == session_id)).one()
        assert len(db.exec(select(Turn).where(Turn.session_id == session.id)).all()) == 2


def test_completions_take_the_prompt_as_the_instruction(live, provider, writer):
    provider.reply = "A continuation."
    answer = sdk(live, live.key_for(writer)).completions.create(model="configured", prompt="Write a line",
                                                                max_tokens=20, temperature=0.2)
    assert answer.choices[0].text == "A continuation." and answer.object == "text_completion"
    body = provider.requests[-1].body
    assert body["max_tokens"] == 20 and body["temperature"] == 0.2


def test_streaming_sends_chunks_then_done_and_the_gate_object_last(live, provider, writer):
    provider.script(stream(["Hel", "lo ", "there"]))
    chunks = list(sdk(live, live.key_for(writer)).chat.completions.create(
        model="configured", messages=[{"role": "user", "content": "Greet"}], stream=True))

    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello there"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["draftgate"]["status"] == "completed"


def test_the_async_client_streams_too(live, provider, writer):
    key = live.key_for(writer)
    provider.script(stream(["a", "b"]))

    async def run():
        async with openai.AsyncOpenAI(base_url=live.base_url, api_key=key, max_retries=0) as client:
            created = await client.chat.completions.create(model="configured", stream=True,
                                                           messages=[{"role": "user", "content": "x"}])
            return "".join([c.choices[0].delta.content or "" async for c in created])

    assert asyncio.run(run()) == "ab"


def test_a_failure_mid_stream_is_an_error_event_and_no_clean_end(live, provider, writer, engine):
    provider.script(stream(["partial "], then="close"), stream(["partial "], then="close"),
                    stream(["partial "], then="close"), stream(["partial "], then="close"))
    key = live.key_for(writer)
    with httpx.stream("POST", live.url("/chat/completions"), headers={"Authorization": f"Bearer {key}"}, timeout=60,
                      json={"messages": [{"role": "user", "content": "x"}], "stream": True}) as response:
        body = "".join(response.iter_text())
    assert "event: error" in body and "[DONE]" not in body
    with pytest.raises(openai.APIError):
        list(sdk(live, key).chat.completions.create(model="configured", stream=True,
                                                    messages=[{"role": "user", "content": "x"}]))


def test_n_asks_for_variants_written_by_a_job(live, provider, writer):
    answer = sdk(live, live.key_for(writer)).chat.completions.create(
        model="configured", n=3, messages=[{"role": "user", "content": "Three ways"}])
    assert [c.index for c in answer.choices] == [0, 1, 2]
    assert len({c.model_extra["draftgate"]["draft_id"] for c in answer.choices}) == 3
    assert all(c.message.content == FaultyServer.reply for c in answer.choices)


def test_bad_input_is_a_400_naming_the_parameter(live, writer):
    client = sdk(live, live.key_for(writer))
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="configured", messages=[{"role": "user", "content": "x"}], n=33)
    assert caught.value.param == "n"
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="configured", messages=[{"role": "assistant", "content": "x"}])
    assert caught.value.param == "messages[0].role"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="configured", messages=[{"role": "user", "content": "x"}],
                                       extra_body={"session_id": "nope"})


def test_a_provider_failure_is_a_502_and_a_reviewer_may_not_write(live, provider, writer, db):
    provider.script(*[status(500)] * 10)
    with pytest.raises(openai.APIStatusError) as caught:
        sdk(live, live.key_for(writer)).chat.completions.create(
            model="configured", messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == 502
    reviewer = make_user(db, "rita", "reviewer")
    with pytest.raises(openai.PermissionDeniedError):
        sdk(live, live.key_for(reviewer)).chat.completions.create(
            model="configured", messages=[{"role": "user", "content": "x"}])


@pytest.mark.embedded
def test_the_embedded_model_drafts_through_the_api(start_api, db, writer):
    make_project(db, "Samples", references=("The sea is calm today.",))
    live = start_api()  # no provider configured: the embedded model answers
    client = sdk(live, live.key_for(writer), timeout=300)

    answer = client.completions.create(model="embedded", prompt="Write one sentence about the sea.", max_tokens=16,
                                       temperature=0.0, seed=1)

    assert answer.choices[0].text.strip() and answer.model == "gemma-3-270m"
    assert answer.model_extra["draftgate"]["status"] == "completed"
    streamed = client.completions.create(model="embedded", prompt="Write one more.", max_tokens=8, stream=True)
    assert "".join(chunk.choices[0].text for chunk in streamed).strip()


def test_completions_stream_variants_and_a_replayed_chat_is_the_first_answer(live, provider, writer):
    client = sdk(live, live.key_for(writer))
    chunks = list(client.completions.create(model="configured", prompt="Two ways", n=2, stream=True))
    texts = {index: "".join(c.choices[0].text for c in chunks if c.choices[0].index == index) for index in (0, 1)}
    assert texts == {0: FaultyServer.reply, 1: FaultyServer.reply}

    headers = {"Idempotency-Key": "chat-1"}
    first = client.chat.completions.create(model="configured", messages=[{"role": "user", "content": "x"}],
                                           extra_headers=headers)
    again = client.chat.completions.with_raw_response.create(
        model="configured", messages=[{"role": "user", "content": "x"}], extra_headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true" and again.parse().id == first.id
    assert len(provider.requests) == 3  # two variants, one chat: the replay asked nothing


def test_a_stream_holds_its_generation_slot_until_it_ends(live, provider, writer):
    provider.script(stream(["slow "] * 20, gap_s=0.1))
    key = live.key_for(writer, concurrency_limit=1)
    client = sdk(live, key)
    streaming = client.chat.completions.create(model="configured", stream=True,
                                               messages=[{"role": "user", "content": "long"}])
    next(iter(streaming))
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="configured", messages=[{"role": "user", "content": "another"}])
    assert caught.value.code == "concurrency_limit_exceeded" and caught.value.response.headers["Retry-After"]
    assert "".join(c.choices[0].delta.content or "" for c in streaming).startswith("slow")
    assert client.chat.completions.create(model="configured", messages=[{"role": "user", "content": "now"}])
