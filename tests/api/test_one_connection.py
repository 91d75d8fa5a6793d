"""Every route works with a database pool of one connection: a request never holds one while it
waits for another (with as many such requests at once as the pool holds, each would wait for the
others until the pool's timeout). FastAPI runs a request's dependencies and its route in different
threads, which the suite's watcher (tests/utils/connections.py) cannot tie together; a pool of one can."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import create_engine
from sqlmodel import select

from api import ApiRuntime, api_server
from core.platform.config import Settings
from core.platform.models import ReviewItem
from tests.api.conftest import LiveApi, ThreadedServer
from tests.core.llm.faulty_server import FaultyServer
from tests.utils.factories import PASSWORD, make_finished_draft, make_project, make_user

pytestmark = pytest.mark.also_on_postgres

REFERENCE = "Your order has shipped and will arrive on Monday."
POOL_TIMEOUT_S = 3


@pytest.fixture
def provider():
    server = FaultyServer().start()
    server.reply = REFERENCE
    yield server
    server.stop()


@pytest.fixture
def single(engine, provider):
    """The API over the test's database through a pool of one connection (a second checkout
    while the first is held fails after POOL_TIMEOUT_S)."""
    pool_of_one = create_engine(engine.url.render_as_string(hide_password=False), pool_size=1, max_overflow=0,
                                pool_timeout=POOL_TIMEOUT_S)
    runtime = ApiRuntime.create(Settings(llm_base_url=provider.base_url, llm_model="mock", llm_api_style="chat",
                                         user_rate_limit=0), engine=pool_of_one)
    server = ThreadedServer(api_server(runtime)).start()
    yield LiveApi(f"http://127.0.0.1:{server.port}/api/v1", runtime, pool_of_one, server)
    server.stop()
    runtime.close()
    pool_of_one.dispose()


@pytest.fixture
def flagged(db, writer):
    project = make_project(db, "Support", references=(REFERENCE,))
    drafts = [make_finished_draft(db, writer, project, f"Unrelated words about weather {n}.") for n in range(3)]
    items = [db.exec(select(ReviewItem).where(ReviewItem.draft_id == d.id)).one() for d in drafts]
    db.commit()
    return project, drafts, items


def call(live: LiveApi, method: str, path: str, key: str, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}", **kwargs.pop("headers", {})}
    answer = httpx.request(method, live.url(path), headers=headers, timeout=60, **kwargs)
    assert answer.status_code < 500, f"{method} {path}: {answer.status_code} {answer.text}"
    return answer


def test_a_writers_routes_take_one_connection_at_a_time(single, db, writer, flagged):
    project, drafts, _ = flagged
    key = single.key_for(writer)
    for path in ("/health", "/models", "/projects", f"/drafts/{drafts[0].id}"):
        assert call(single, "GET", path, key).status_code == 200
    assert call(single, "POST", "/score", key, json={"candidate": REFERENCE, "project": project.id}).status_code == 200
    once = {"json": {"project": project.id, "title": "Replies"}, "headers": {"Idempotency-Key": "replies-1"}}
    opened = call(single, "POST", "/sessions", key, **once)
    assert call(single, "POST", "/sessions", key, **once).json() == opened.json()  # replayed
    assert call(single, "GET", f"/sessions/{opened.json()['id']}", key).status_code == 200
    answer = call(single, "POST", "/chat/completions", key,
                  json={"model": "configured", "messages": [{"role": "user", "content": "Write it"}], "project": project.id})
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"] == REFERENCE
    with httpx.stream("POST", single.url("/chat/completions"), headers={"Authorization": f"Bearer {key}"}, timeout=60,
                      json={"model": "configured", "messages": [{"role": "user", "content": "Again"}], "stream": True,
                            "project": project.id}) as streamed:
        assert streamed.status_code == 200 and "[DONE]" in streamed.read().decode()
    task = call(single, "POST", "/tasks", key, json={"prompt": "Write it", "project": project.id}).json()
    assert _polled(single, key, f"/tasks/{task['id']}")["status"] == "completed"
    batch = call(single, "POST", "/batches", key,
                 json={"tasks": [{"prompt": "One", "project": project.id}, {"prompt": "Two", "project": project.id}]})
    assert batch.status_code == 202, batch.text
    assert _polled(single, key, f"/batches/{batch.json()['id']}")["status"] == "completed"
    assert call(single, "GET", "/me/export", key).status_code == 200
    assert call(single, "DELETE", "/me", key, json={"password": PASSWORD}).status_code == 200


def test_review_and_admin_routes_take_one_connection_at_a_time(single, db, reviewer, editor, flagged):
    project, drafts, items = flagged
    admin = single.key_for(make_user(db, "root", "admin"))
    key, editing = single.key_for(reviewer), single.key_for(editor)
    assert call(single, "GET", "/review/items", key).status_code == 200
    claimed = call(single, "POST", f"/review/items/{items[0].id}/claim", key).json()
    decided = call(single, "POST", f"/review/items/{items[0].id}/decision", key,
                   json={"verdict": "rejected", "reason": "off topic", "expected_version": claimed["version"]})
    assert decided.json()["state"] == "rejected"
    nexts = call(single, "POST", "/review/claim-next", key, json={}).json()
    assert call(single, "POST", f"/review/items/{nexts['id']}/release", key).status_code == 204
    assigned = call(single, "POST", "/review/assign", editing, json={"item_ids": [items[1].id], "reviewer_id": reviewer.id})
    assert assigned.json()["done"] == [items[1].id]
    assert call(single, "GET", "/review/load", editing).status_code == 200
    bulk = call(single, "POST", "/review/bulk-decision", editing,
                json={"items": [{"id": items[2].id, "expected_version": items[2].version}], "verdict": "approved"})
    assert bulk.json()["done"] == [items[2].id]
    assert call(single, "GET", f"/projects/{project.id}/thresholds", editing).status_code == 200
    assert call(single, "GET", "/users/writer/export", admin).status_code == 200
    assert call(single, "GET", "/users/writer/export", admin).status_code == 200  # the key's last use is fresh now
    assert call(single, "DELETE", "/users/writer", admin).json()["counts"]["drafts"] == len(drafts)


def _polled(live: LiveApi, key: str, path: str) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = call(live, "GET", path, key).json()
        if found["status"] not in ("queued", "running", "in_progress"):
            return found
        time.sleep(0.05)
    raise AssertionError(f"{path} is still {found['status']}")
