"""The idempotency store (api.idempotency) on SQLite and PostgreSQL: replays, mismatches, a
request still running, records that outlived their time, and replicas racing on one new key."""

from __future__ import annotations

import multiprocessing
from datetime import timedelta

import pytest
from sqlmodel import select

from api.errors import ApiError
from api.idempotency import IdempotencyStore, Proceed, Replay, request_hash
from core.access.actors import SYSTEM
from core.access.api_keys import create_api_key
from core.platform.db import create_schema, make_engine, open_session
from core.platform.models import IdempotencyRecord, utcnow
from tests.api.conftest import gather
from tests.utils.factories import make_user

SPAWN = multiprocessing.get_context("spawn")
BODY = {"messages": [{"role": "user", "content": "写一首诗"}]}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'idempotency.db'}"
        engine = make_engine(url)
        create_schema(engine)
        engine.dispose()
        return url
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store_and_key(database_url):
    engine = make_engine(database_url)
    with open_session(engine) as db:
        user = make_user(db, f"idem-{utcnow().timestamp()}", "writer")
        key_id = create_api_key(session=db, user_id=user.id, name="k", actor_id=SYSTEM).id
    clock = [utcnow()]
    yield IdempotencyStore(engine, clock=lambda: clock[0]), key_id, clock, engine
    engine.dispose()


def test_a_finished_request_is_replayed_and_another_body_refused(store_and_key):
    store, key_id, _, _ = store_and_key
    digest = request_hash("POST", "/chat/completions", BODY)

    first = store.begin(api_key_id=key_id, key="k-1", request_hash=digest)
    assert isinstance(first, Proceed)
    store.finish(first.record_id, status_code=201, body={"text": "春眠不觉晓"})

    assert store.begin(api_key_id=key_id, key="k-1", request_hash=digest) == Replay(201, {"text": "春眠不觉晓"})
    with pytest.raises(ApiError) as caught:
        store.begin(api_key_id=key_id, key="k-1", request_hash=request_hash("POST", "/chat/completions", {"x": 1}))
    assert caught.value.status == 422 and caught.value.code == "idempotency_key_reused"
    with pytest.raises(ApiError) as other_path:
        store.begin(api_key_id=key_id, key="k-1", request_hash=request_hash("POST", "/completions", BODY))
    assert other_path.value.status == 422


def test_the_same_json_in_another_order_is_the_same_request():
    assert request_hash("post", "/x", {"a": 1, "b": [1, 2]}) == request_hash("POST", "/x", {"b": [1, 2], "a": 1})
    assert request_hash("POST", "/x", {"a": 1}) != request_hash("POST", "/x", {"a": 2})


def test_a_request_still_running_is_a_409_until_it_is_stale(store_and_key):
    store, key_id, clock, engine = store_and_key
    digest = request_hash("POST", "/tasks", BODY)
    store.begin(api_key_id=key_id, key="k-2", request_hash=digest)

    with pytest.raises(ApiError) as caught:
        store.begin(api_key_id=key_id, key="k-2", request_hash=digest)
    assert caught.value.status == 409 and caught.value.headers["Retry-After"] == "1"

    clock[0] += store.stale + timedelta(seconds=1)  # its process died: the request may run again
    assert isinstance(store.begin(api_key_id=key_id, key="k-2", request_hash=digest), Proceed)
    with open_session(engine) as db:
        [record] = db.exec(select(IdempotencyRecord).where(IdempotencyRecord.api_key_id == key_id))
    assert record.created_at == clock[0]


def test_an_abandoned_request_runs_again_and_an_old_answer_expires(store_and_key):
    store, key_id, clock, engine = store_and_key
    digest = request_hash("POST", "/tasks", BODY)
    failed = store.begin(api_key_id=key_id, key="k-3", request_hash=digest)
    store.abandon(failed.record_id)
    retried = store.begin(api_key_id=key_id, key="k-3", request_hash=digest)
    assert isinstance(retried, Proceed)
    store.finish(retried.record_id, status_code=200, body={"ok": True})
    done = store.begin(api_key_id=key_id, key="k-4", request_hash=digest)
    store.finish(done.record_id, status_code=200, body={"ok": 4})

    clock[0] += store.ttl + timedelta(seconds=1)
    assert isinstance(store.begin(api_key_id=key_id, key="k-3", request_hash=digest), Proceed)
    assert store.purge_expired() >= 1  # k-4 (k-3 was replaced and is running again)
    with open_session(engine) as db:
        kept = db.exec(select(IdempotencyRecord.key).where(IdempotencyRecord.api_key_id == key_id)).all()
    assert kept == ["k-3"]


def _begin(barrier, results, url: str, key_id: int, digest: str) -> None:
    from api.errors import ApiError
    from api.idempotency import IdempotencyStore
    from core.platform.db import make_engine

    engine = make_engine(url)
    store = IdempotencyStore(engine)
    barrier.wait()
    try:
        results.put(type(store.begin(api_key_id=key_id, key="raced", request_hash=digest)).__name__)
    except ApiError as err:
        results.put(err.status)
    engine.dispose()


def test_replicas_racing_on_one_new_key_run_the_request_once(store_and_key, database_url):
    _, key_id, _, _ = store_and_key
    digest = request_hash("POST", "/tasks", BODY)
    barrier, results = SPAWN.Barrier(4), SPAWN.Queue()
    processes = [SPAWN.Process(target=_begin, args=(barrier, results, database_url, key_id, digest))
                 for _ in range(4)]
    for process in processes:
        process.start()

    assert sorted(gather(processes, results), key=str) == [409, 409, 409, "Proceed"]
