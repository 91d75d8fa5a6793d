"""Traffic control per key (api.traffic): the request rate with OpenAI's headers, and the cap on
generations at once, in one process and shared through Redis by several processes."""

from __future__ import annotations

import multiprocessing
import time

import pytest
import redis as redis_lib

from api.traffic import (
    ConcurrencyCap,
    LocalSlots,
    RateDecision,
    RedisSlots,
    RequestLimiter,
    duration,
)
from core.access.api_keys import ApiCaller
from core.llm.ratelimit import LocalWindows, Rate, RedisWindows, redis_client
from tests.api.conftest import gather

SPAWN = multiprocessing.get_context("spawn")


def caller(rate_key: str = "api-key:test", *, qps: float | None = None, concurrency: int | None = None) -> ApiCaller:
    return ApiCaller(key_id=1, user_id=1, username="ana", role="writer", project_id=None, qps_limit=qps,
                     concurrency_limit=concurrency, ip_networks=(), last_used_at=None, rate_key=rate_key)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("seconds, shown", [(0.0, "0ms"), (0.0204, "21ms"), (1, "1s"), (1.5, "1.5s"),
                                            (59.9991, "59.999s"), (60, "1m0s"), (360, "6m0s"), (90.25, "1m30.25s")])
def test_durations_are_written_as_openai_does(seconds, shown):
    assert duration(seconds) == shown


def test_the_rate_counts_down_then_refuses_without_counting_the_refusal():
    clock = Clock()
    limiter = RequestLimiter(LocalWindows(clock=clock), default_qps=100)
    key = caller(qps=3)

    decisions = []
    for _ in range(3):
        decisions.append(limiter.check(key))
        clock.now += 0.125
    refused = limiter.check(key)

    assert [(d.allowed, d.remaining) for d in decisions] == [(True, 2), (True, 1), (True, 0)]
    assert not refused.allowed and refused.remaining == 0
    assert refused.retry_after_s == 0.625  # the first request leaves the window 1 s after it came
    assert refused.headers() == {
        "x-ratelimit-limit-requests": "3", "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "875ms", "Retry-After": "1", "retry-after-ms": "625",
    }
    clock.now += 0.625  # the first request left the window; the refused one was never counted
    again = limiter.check(key)
    assert again.allowed and again.remaining == 0


def test_the_default_rate_applies_unless_the_key_has_its_own_and_zero_means_none():
    limiter = RequestLimiter(LocalWindows(clock=Clock()), default_qps=2)

    assert [limiter.check(caller("a")).allowed for _ in range(3)] == [True, True, False]
    assert all(limiter.check(caller("b", qps=50)).allowed for _ in range(50))
    unlimited = RequestLimiter(LocalWindows(), default_qps=0).check(caller("c"))
    assert unlimited == RateDecision(allowed=True, limit=None) and unlimited.headers() == {}


def test_a_slow_key_gets_one_request_per_interval():
    clock = Clock()
    limiter = RequestLimiter(LocalWindows(clock=clock), default_qps=100)

    first, second = limiter.check(caller(qps=0.5)), limiter.check(caller(qps=0.5))

    assert first.allowed and first.limit == 1 and first.window_s == 2.0
    assert not second.allowed and second.headers()["Retry-After"] == "2"


def test_redis_reports_the_same_remaining_and_reset_as_this_process(redis_url, redis_prefix):
    client = redis_client(redis_url)
    shared = RedisWindows(client, prefix=redis_prefix)
    local = LocalWindows()
    rate = Rate(requests=4, window_s=30.0)
    try:
        answers = [(shared.reserve("k", rate, queue=False), local.reserve("k", rate, queue=False)) for _ in range(6)]
    finally:
        client.close()

    assert [a.remaining for a, _ in answers] == [b.remaining for _, b in answers] == [3, 2, 1, 0, 0, 0]
    assert [a.recorded for a, _ in answers] == [True] * 4 + [False] * 2
    for a, b in answers:
        assert a.reset_s == pytest.approx(b.reset_s, abs=0.5) and 29 < a.reset_s <= 30


# -- generations at once --------------------------------------------------------------------


def test_a_key_holds_at_most_its_concurrency_in_this_process():
    cap = ConcurrencyCap(LocalSlots(), default_limit=2)
    key = caller()

    first, second, third = cap.acquire(key), cap.acquire(key), cap.acquire(key)
    assert first and second and third is None
    assert cap.acquire(caller("other")) is not None  # another key has slots of its own
    first.release()
    first.release()  # twice: still one slot back
    with cap.acquire(key) as fourth:
        assert fourth is not None and cap.acquire(key) is None
    assert cap.acquire(key) is not None
    unlimited = ConcurrencyCap(LocalSlots(), default_limit=0)
    assert all(unlimited.acquire(key) is not None for _ in range(100))


def _take_slots(barrier, results, redis_url: str, prefix: str, wanted: int) -> None:
    from api.traffic import ConcurrencyCap, RedisSlots
    from core.llm.ratelimit import redis_client
    from tests.api.test_traffic import caller

    client = redis_client(redis_url)
    cap = ConcurrencyCap(RedisSlots(client, prefix=prefix), default_limit=5)
    barrier.wait()
    taken = [cap.acquire(caller("api-key:shared")) for _ in range(wanted)]
    results.put(sum(lease is not None for lease in taken))
    client.close()


def test_four_processes_share_a_keys_concurrency_through_redis(redis_url, redis_prefix):
    barrier, results = SPAWN.Barrier(4), SPAWN.Queue()
    processes = [SPAWN.Process(target=_take_slots, args=(barrier, results, redis_url, redis_prefix, 3))
                 for _ in range(4)]
    for process in processes:
        process.start()

    assert sum(gather(processes, results)) == 5


def test_the_slots_of_a_process_that_stopped_come_free_and_renewed_ones_stay(redis_url, redis_prefix):
    client = redis_client(redis_url)
    cap = ConcurrencyCap(RedisSlots(client, prefix=redis_prefix), default_limit=2, lease_s=0.4)
    key = caller()
    try:
        kept, abandoned = cap.acquire(key), cap.acquire(key)
        assert cap.acquire(key) is None
        for _ in range(4):  # 0.6 s: the abandoned lease (never renewed) runs out, the renewed one does not
            time.sleep(0.15)
            assert kept.renew()
        assert not abandoned.renew()
        replacement = cap.acquire(key)
        assert replacement is not None and cap.acquire(key) is None
        kept.release()
        assert cap.acquire(key) is not None
    finally:
        client.close()


def test_without_redis_the_slots_of_this_process_stand_in():
    client = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    cap = ConcurrencyCap(RedisSlots(client), default_limit=1)

    lease = cap.acquire(caller())

    assert lease is not None and cap.acquire(caller()) is None
    lease.release()
    assert cap.acquire(caller()) is not None


def test_the_slot_of_a_task_whose_job_was_deleted_comes_back(engine):
    from api.traffic import TaskSlots
    cap = ConcurrencyCap(LocalSlots(), default_limit=1)
    slots = TaskSlots(engine, poll_s=0.02)
    slots.hold(2**31 - 1, cap.acquire(caller()))  # no such job: deleted with its owner's data meanwhile
    deadline = time.monotonic() + 30
    while slots.held():
        assert time.monotonic() < deadline, "the slot is held for a job that is gone"
        time.sleep(0.02)
    assert cap.acquire(caller()) is not None
    slots.close()
