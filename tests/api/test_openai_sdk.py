"""The official openai SDK as the client, unchanged: models, errors, the rate limit and its headers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import openai
import pytest
from sqlmodel import select

from core.access.actors import SYSTEM
from core.access.api_keys import revoke_api_key
from core.llm.registry import add_provider
from core.platform.config import Settings
from core.platform.models import ApiKey, utcnow
from tests.api.conftest import snapshot
from tests.utils.factories import make_project


def sdk(live, key: str, **options) -> openai.OpenAI:
    return openai.OpenAI(base_url=live.base_url, api_key=key, **{"max_retries": 0, "timeout": 30, **options})


def test_models_lists_the_default_and_every_registered_provider(start_api, db, writer):
    add_provider(session=db, settings=Settings(), name="deepseek", base_url="https://api.deepseek.com/v1",
                 model="deepseek-chat", api_key="sk-provider-secret", actor_id=SYSTEM)
    live = start_api()

    models = list(sdk(live, live.key_for(writer)).models.list())

    assert [m.id for m in models] == ["embedded", "deepseek"]
    assert models[0].object == "model" and models[0].owned_by == "draftgate"
    assert models[1].model_extra["draftgate"] == {"provider": "deepseek", "model": "deepseek-chat",
                                                  "api_style": "chat", "default": False}


def test_the_configured_provider_is_the_default_when_there_is_one(start_api, writer):
    live = start_api(llm_base_url="https://api.openai.com/v1", llm_model="gpt-4o-mini")

    [model] = list(sdk(live, live.key_for(writer)).models.list())

    assert model.id == "configured" and model.model_extra["draftgate"]["model"] == "gpt-4o-mini"


def test_the_async_client_works_too(start_api, writer):
    live = start_api()
    key = live.key_for(writer)

    async def ids():
        async with openai.AsyncOpenAI(base_url=live.base_url, api_key=key, max_retries=0) as client:
            return [m.id async for m in client.models.list()]

    assert asyncio.run(ids()) == ["embedded"]


def test_a_wrong_revoked_or_expired_key_raises_authentication_error(start_api, db, writer):
    live = start_api()
    revoked = live.key_for(writer)
    revoke_api_key(session=db, key_id=db.exec(select(ApiKey.id)).first(), actor_id=SYSTEM)
    expired = live.key_for(writer, expires_days=1)
    row = db.exec(select(ApiKey).order_by(ApiKey.id.desc())).first()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.add(row)
    db.commit()

    for key, words in (("dg_" + "w" * 43, "Invalid API key"), (revoked, "revoked"), (expired, "expired")):
        with pytest.raises(openai.AuthenticationError) as caught:
            sdk(live, key).models.list()
        assert caught.value.status_code == 401 and words in caught.value.message
        assert caught.value.code == "invalid_api_key"


def test_a_key_over_its_rate_gets_rate_limit_errors_with_the_headers_and_nothing_is_written(start_api, engine, db, writer):
    live = start_api()
    key = live.key_for(writer, qps_limit=0.1)  # one request per 10 s
    client = sdk(live, key)
    client.models.list()  # admitted: its last use is written
    row = db.exec(select(ApiKey)).one()
    row.last_used_at = utcnow() - timedelta(minutes=5)  # stale: a written last use would show
    db.add(row)
    db.commit()
    before = snapshot(engine)

    for _ in range(3):
        with pytest.raises(openai.RateLimitError) as caught:
            client.models.list()
        headers = caught.value.response.headers
        assert caught.value.status_code == 429 and caught.value.code == "rate_limit_exceeded"
        assert 1 <= int(headers["Retry-After"]) <= 10
        assert headers["x-ratelimit-limit-requests"] == "1" and headers["x-ratelimit-remaining-requests"] == "0"
        assert headers["x-ratelimit-reset-requests"].endswith("s")

    assert snapshot(engine) == before


def test_the_sdk_waits_as_retry_after_says_and_then_succeeds(start_api, writer):
    live = start_api()
    client = sdk(live, live.key_for(writer, qps_limit=1), max_retries=3)
    client.models.list()

    response = client.models.with_raw_response.list()  # refused at first; retried after the wait

    assert response.http_response.status_code == 200 and response.retries_taken >= 1


def test_projects_of_a_key_come_a_page_at_a_time(start_api, db, writer):
    for name in ("Alpha", "Beta", "Gamma"):
        make_project(db, name)
    live = start_api()
    key = live.key_for(writer)

    first = live.get("/projects?limit=2", key).json()
    rest = live.get(f"/projects?limit=2&after={first['last_id']}", key).json()
    scoped = live.get("/projects", live.key_for(writer, project_id=2)).json()

    assert [p["name"] for p in first["data"]] == ["Alpha", "Beta"] and first["has_more"]
    assert [p["name"] for p in rest["data"]] == ["Gamma"] and not rest["has_more"]
    assert [p["name"] for p in scoped["data"]] == ["Beta"]
    assert first["object"] == "list" and first["data"][0]["object"] == "project"
