"""Two app processes sharing PostgreSQL and Redis behave as one app.

Each test runs core functions in two OS processes (multiprocessing, spawn: nothing shared but
the services), started together at a barrier: claims, decisions, the per-user limit, the
provider's rate limit, the response cache.
"""

from __future__ import annotations

import multiprocessing
import time
import uuid
from collections import Counter

import pytest
from sqlmodel import col, select

from core.platform.models import AuditEvent, ReviewItem
from tests.services.conftest import gather
from tests.utils.factories import make_finished_draft, make_project, make_user

SPAWN = multiprocessing.get_context("spawn")
REFERENCE = "The quick brown fox jumps over the lazy dog near the quiet river bank."


def _run_in_two_processes(target, per_process_args) -> list:
    barrier = SPAWN.Barrier(len(per_process_args))
    results = SPAWN.Queue()
    processes = [SPAWN.Process(target=target, args=(barrier, results, *args)) for args in per_process_args]
    for process in processes:
        process.start()
    gathered = gather(processes, results)
    assert [process.exitcode for process in processes] == [0] * len(processes)
    return gathered


@pytest.fixture
def flagged_items(db):
    """Eight drafts in the review queue, and two reviewers."""
    writer = make_user(db, "writer", "writer")
    project = make_project(db, references=(REFERENCE,))
    for number in range(8):
        make_finished_draft(db, writer, project, f"Completely unrelated words, number {number}: 雨天的咖啡馆.")
    items = list(db.exec(select(ReviewItem.id).order_by(col(ReviewItem.id))))
    assert len(items) == 8  # every draft was flagged
    reviewers = [make_user(db, f"reviewer-{n}", "reviewer") for n in (1, 2)]
    return items, reviewers


def _claim_all(barrier, results, url: str, reviewer_id: int, item_ids: list[int]) -> None:
    from core.platform.db import make_engine, open_session
    from core.platform.errors import ConflictError
    from core.platform.models import User
    from core.review.claims import claim

    engine = make_engine(url)
    won, refused = [], []
    with open_session(engine) as db:
        reviewer = db.get(User, reviewer_id)
        barrier.wait()
        for item_id in item_ids:
            try:
                claim(session=db, item_id=item_id, reviewer=reviewer)
                won.append(item_id)
            except ConflictError as err:
                refused.append((item_id, str(err)))
    engine.dispose()
    results.put((reviewer_id, won, refused))


def test_a_claim_made_in_one_process_is_respected_in_the_other(engine, db, pg_url, flagged_items):
    items, reviewers = flagged_items

    outcomes = _run_in_two_processes(_claim_all, [(pg_url, r.id, items) for r in reviewers])

    won = {reviewer_id: set(mine) for reviewer_id, mine, _ in outcomes}
    assert set.union(*won.values()) == set(items) and not set.intersection(*won.values())
    names = {r.id: r.username for r in reviewers}
    for reviewer_id, _, refused in outcomes:
        other = next(name for rid, name in names.items() if rid != reviewer_id)
        assert {item for item, _ in refused} == set(items) - won[reviewer_id]
        assert {message for _, message in refused} <= {f"{other} is reviewing this draft."}
    db.expire_all()
    holders = {item.id: item.claimed_by_id for item in db.exec(select(ReviewItem))}
    assert holders == {item: reviewer for reviewer, mine in won.items() for item in mine}


def _review_until_empty(barrier, results, url: str, reviewer_id: int) -> None:
    from core.platform.db import make_engine, open_session
    from core.platform.models import User
    from core.review.claims import claim_next
    from core.review.decisions import decide

    engine = make_engine(url)
    decided = []
    with open_session(engine) as db:
        reviewer = db.get(User, reviewer_id)
        barrier.wait()
        while (item := claim_next(session=db, reviewer=reviewer)) is not None:
            decide(session=db, item_id=item.id, reviewer=reviewer, verdict="approved", expected_version=item.version)
            decided.append(item.id)
    engine.dispose()
    results.put((reviewer_id, decided))


def test_two_reviewers_in_two_processes_decide_every_item_once_and_lose_nothing(engine, db, pg_url, flagged_items):
    items, reviewers = flagged_items

    outcomes = _run_in_two_processes(_review_until_empty, [(pg_url, r.id) for r in reviewers])

    decided = Counter(item for _, mine in outcomes for item in mine)
    assert sorted(decided) == items and set(decided.values()) == {1}
    db.expire_all()
    rows = {item.id: item for item in db.exec(select(ReviewItem))}
    assert {row.state for row in rows.values()} == {"approved"}
    for reviewer_id, mine in outcomes:
        assert {rows[item].decided_by_id for item in mine} <= {reviewer_id}
    audited = db.exec(select(AuditEvent.target).where(AuditEvent.action == "review.approved")).all()
    assert sorted(audited) == sorted(f"review:{item}" for item in items)  # each decision audited once


def _hit_the_user_limit(barrier, results, redis_url: str, user_key: str, attempts: int) -> None:
    from core.llm.ratelimit import check_user_rate
    from core.platform.config import Settings
    from core.platform.errors import RateLimitedError

    settings = Settings(redis_url=redis_url, user_rate_limit=5, user_rate_window_s=60)
    allowed = refused = 0
    barrier.wait()
    for _ in range(attempts):
        try:
            check_user_rate(user_key, settings=settings)
            allowed += 1
        except RateLimitedError:
            refused += 1
    results.put((allowed, refused))


def test_the_per_user_limit_holds_across_two_processes(redis_url):
    user_key = f"test-{uuid.uuid4().hex}"

    outcomes = _run_in_two_processes(_hit_the_user_limit, [(redis_url, user_key, 10)] * 2)

    assert sum(allowed for allowed, _ in outcomes) == 5
    assert sum(refused for _, refused in outcomes) == 15


def _send_through_the_shared_limiter(barrier, results, redis_url: str, base_url: str, name: str, count: int) -> None:
    from core.llm import ratelimit
    from core.llm.factory import build_client
    from core.llm.types import GenerationParams, ProviderConfig
    from core.platform.config import Settings

    slots: list[float] = []
    reserve = ratelimit.RedisWindows.reserve

    def recording(self, *args, **kwargs):
        reservation = reserve(self, *args, **kwargs)
        slots.append(reservation.at)
        return reservation

    ratelimit.RedisWindows.reserve = recording
    provider = ProviderConfig(name=name, base_url=base_url, model="bench", api_style="completions", qps_limit=10)
    client = build_client(provider, settings=Settings(redis_url=redis_url, cache_enabled=False))
    barrier.wait()
    for _ in range(count):
        client.generate("Hello", GenerationParams(max_tokens=5), cache="off")
    client.close()
    results.put(slots)


def test_the_provider_rate_limit_holds_across_two_processes(redis_url):
    """40 requests at 10 per second from two processes: at most 10 slots in any second of
    Redis's clock (exact), so the last 30 need at least 3 s; the measured rate stays at or
    under 10/s after the first burst of 10."""
    from bench.mock_server import running_mock

    name = f"limited-{uuid.uuid4().hex[:8]}"
    with running_mock(latency=0.0, tokens=3) as base_url:
        started = time.monotonic()
        outcomes = _run_in_two_processes(_send_through_the_shared_limiter, [(redis_url, base_url, name, 20)] * 2)
        elapsed = time.monotonic() - started

    slots = sorted(slot for mine in outcomes for slot in mine)
    assert len(slots) == 40
    busiest = max(sum(1 for other in slots if start <= other < start + 1.0) for start in slots)
    assert busiest <= 10
    assert slots[-1] - slots[0] >= 3.0
    assert elapsed >= 3.0  # each send waited for its slot
    measured = 30 / (slots[-1] - slots[0])
    assert 2.0 <= measured <= 10.0, f"measured {measured:.2f} requests/s beyond the first burst"


def _ask_through_the_cache(barrier, results, redis_url: str, prompt: str, answer_text: str) -> None:
    import httpx

    from core.llm.factory import build_client
    from core.llm.types import GenerationParams
    from core.platform.config import Settings
    from tests.utils.mock_llm import PROVIDER

    calls = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json={
            "id": "c1", "model": "mock-1", "choices": [{"index": 0, "text": answer_text, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        })

    client = build_client(PROVIDER, settings=Settings(redis_url=redis_url),
                          http_client=httpx.Client(transport=httpx.MockTransport(answer)))
    barrier.wait()
    result = client.generate(prompt, GenerationParams(temperature=0, max_tokens=8))
    results.put((result.text, result.cached, len(calls)))


def test_an_answer_cached_by_one_process_is_served_to_another_from_redis(redis_url):
    import redis

    from core.llm.cache import REDIS_PREFIX
    from core.platform.constants import CACHE_TTL_S

    nonce = uuid.uuid4().hex
    prompt, answer = f"Say something cacheable {nonce}", f"Cached words {nonce}."
    first = _run_in_two_processes(_ask_through_the_cache, [(redis_url, prompt, answer)])[0]
    second = _run_in_two_processes(_ask_through_the_cache, [(redis_url, prompt, "never sent")])[0]

    assert first == (answer, False, 1)
    assert second == (answer, True, 0)
    connection = redis.Redis.from_url(redis_url)
    stored = []
    try:
        stored = [key for key in connection.scan_iter(match=REDIS_PREFIX + "*")
                  if connection.type(key) == b"string" and answer.encode() in (connection.get(key) or b"")]
        assert stored and all(0 < connection.pttl(key) <= CACHE_TTL_S * 1000 for key in stored)  # Redis expires it
    finally:
        if stored:
            connection.delete(*stored)
        connection.close()
