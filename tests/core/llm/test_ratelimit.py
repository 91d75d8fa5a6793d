"""Rate limits: never exceeded (exact, with a fake clock), shared across processes through Redis,
measured on a real server with generous bounds, and the per-user "slow down"."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest

from core.llm import GenerationParams, LLMClient
from core.llm.batch import BatchRequest, run_batch
from core.llm.ratelimit import (
    LocalWindows,
    ProviderRateLimiter,
    Rate,
    RedisWindows,
    UserRateLimiter,
    check_user_rate,
    estimate_tokens,
    provider_limiter,
)
from core.platform.config import Settings
from core.platform.errors import InvalidInputError, RateLimitedError
from tests.core.llm.faulty_server import FakeClock, FakeSleep
from tests.core.llm.helpers import provider


def most_in_any_window(times: list[float], window: float) -> int:
    """The largest number of `times` inside any half-open window (t - window, t]."""
    ordered = sorted(times)
    most, first = 0, 0
    for last, moment in enumerate(ordered):
        while ordered[first] <= moment - window:
            first += 1
        most = max(most, last - first + 1)
    return most


def fake_limiter(rate: Rate) -> tuple[ProviderRateLimiter, FakeClock]:
    clock = FakeClock()
    return ProviderRateLimiter("p", rate, LocalWindows(clock=clock), sleep=FakeSleep(clock)), clock


@pytest.mark.parametrize(("requests", "window_s"), [(1, 1.0), (5, 1.0), (3, 0.5), (1, 4.0)])
def test_sends_never_exceed_the_limit_in_any_window(requests, window_s):
    limiter, clock = fake_limiter(Rate(requests, window_s))
    sent = []
    for _ in range(50):
        limiter.acquire()
        sent.append(clock.now)
    assert most_in_any_window(sent, window_s) == requests
    # and no slower than the limit allows: the 50 sends take (50 / requests - 1) windows
    assert sent[-1] - sent[0] == pytest.approx((50 // requests - 1) * window_s if 50 % requests == 0
                                               else (50 // requests) * window_s)


def test_the_first_sends_go_at_once_up_to_the_limit():
    limiter, clock = fake_limiter(Rate(3, 1.0))
    waits = [limiter.acquire() for _ in range(4)]
    assert waits == [0, 0, 0, pytest.approx(1.0)]


def test_bursts_after_a_pause_are_allowed_again():
    limiter, clock = fake_limiter(Rate(2, 1.0))
    limiter.acquire(), limiter.acquire()
    clock.now += 5
    assert [limiter.acquire(), limiter.acquire()] == [0, 0]


def test_tokens_per_minute_are_never_exceeded():
    limiter, clock = fake_limiter(Rate(100, 1.0, tokens_per_minute=1000))
    sent: list[tuple[float, int]] = []
    for cost in [400, 300, 200, 500, 100, 900, 50, 50, 600]:
        limiter.acquire(tokens=cost)
        sent.append((clock.now, cost))
    for moment, _ in sent:
        in_window = sum(cost for when, cost in sent if moment - 60 < when <= moment)
        assert in_window <= 1000
    assert sent[3][0] == pytest.approx(sent[0][0] + 60)  # 400+300+200 spent: 500 waits for the 400


def test_a_request_larger_than_the_token_limit_is_refused():
    limiter, _ = fake_limiter(Rate(10, 1.0, tokens_per_minute=1000))
    with pytest.raises(InvalidInputError, match="about 1,001 tokens"):
        limiter.acquire(tokens=1001)


def test_threads_share_one_window_and_keep_to_it():
    windows = LocalWindows(clock=FakeClock())
    slots: list[float] = []
    lock = threading.Lock()

    def send():
        for _ in range(10):
            reservation = windows.reserve("p", Rate(4, 1.0))
            with lock:
                slots.append(reservation.at)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(slots) == 80 and most_in_any_window(slots, 1.0) == 4


@pytest.mark.parametrize(
    ("qps", "tpm", "rate"),
    [
        (0, 0, None),
        (10, 0, Rate(10, 1.0)),
        (2.5, 0, Rate(2, 1.0)),
        (0.5, 0, Rate(1, 2.0)),
        (0, 5000, Rate(1000, 1.0, 5000)),
    ],
)
def test_a_qps_setting_becomes_a_rate_that_is_never_above_it(qps, tpm, rate):
    assert Rate.per_second(qps, tpm) == rate


def test_token_estimate_counts_prompt_characters_and_max_tokens():
    assert estimate_tokens({"prompt": "x" * 400, "max_tokens": 100}) == 200
    assert estimate_tokens({"messages": [{"role": "user", "content": "x" * 41}], "max_tokens": 1}) == 12


def test_every_client_of_a_provider_shares_its_limiter():
    limited = provider(qps_limit=5)
    first, second = LLMClient(limited), LLMClient(limited)
    assert first.limiter is second.limiter is provider_limiter(limited)
    assert first.limiter.rate == Rate(5, 1.0)
    assert LLMClient(provider()).limiter is None


# -- real clocks ------------------------------------------------------------------------------


def test_measured_send_rate_on_a_real_server_stays_within_the_limit(faulty):
    """25 requests at 10 per second reach the server no sooner than 10 at once, 10 a second later,
    5 a second after that. Late arrivals (a busy machine) can only push requests later, so the
    check holds however noisy the machine; the upper bound is generous."""
    limited = provider(base_url=faulty.base_url, qps_limit=10)
    with LLMClient(limited) as client:
        started = time.monotonic()
        outcomes = run_batch(client, [BatchRequest("x", GenerationParams(max_tokens=4))] * 25, concurrency=8)
        elapsed = time.monotonic() - started
    assert all(outcome.ok for outcome in outcomes)
    arrivals = sorted(received.at for received in faulty.requests)
    assert len(arrivals) == 25
    for number, arrived in enumerate(arrivals):
        assert arrived >= started + (number // 10) * 1.0
    assert 2.0 <= elapsed < 20


def reserve_from_another_process(prefix: str, count: int, queue, ready, go) -> None:
    import redis

    windows = RedisWindows(redis.Redis(host="127.0.0.1", port=6379), prefix=prefix)
    ready.release()
    go.wait(60)
    queue.put([windows.reserve("shared", Rate(5, 1.0)).at for _ in range(count)])


def test_redis_windows_are_shared_by_processes_and_never_exceeded(redis_client):
    """Three processes reserve sends of one provider; the slots (on Redis's clock) keep the limit."""
    prefix = redis_client.test_prefix
    context = multiprocessing.get_context("spawn")
    queue, ready, go = context.Queue(), context.Semaphore(0), context.Event()
    workers = [context.Process(target=reserve_from_another_process, args=(prefix, 15, queue, ready, go))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    windows = RedisWindows(redis_client, prefix=prefix)
    for _ in workers:  # all three start reserving together, however long a busy machine takes to spawn
        assert ready.acquire(timeout=120)
    go.set()
    slots = [windows.reserve("shared", Rate(5, 1.0)).at for _ in range(15)]
    for _ in workers:
        slots += queue.get(timeout=60)
    for worker in workers:
        worker.join(60)
    assert len(slots) == 45
    assert most_in_any_window(slots, 1.0) == 5
    assert max(slots) - min(slots) == pytest.approx(8.0, abs=0.05)  # 45 sends, 5 a second: 9 windows


def test_redis_reservations_of_many_threads_never_exceed_the_limit(redis_client):
    windows = RedisWindows(redis_client, prefix=redis_client.test_prefix)
    slots: list[float] = []
    lock = threading.Lock()

    def reserve():
        for _ in range(10):
            at = windows.reserve("many", Rate(4, 1.0)).at
            with lock:
                slots.append(at)

    threads = [threading.Thread(target=reserve) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(slots) == 60 and most_in_any_window(slots, 1.0) == 4


def test_redis_tokens_per_minute(redis_client):
    windows = RedisWindows(redis_client, prefix=redis_client.test_prefix)
    rate = Rate(100, 1.0, tokens_per_minute=1000)
    first = windows.reserve("tokens", rate, 600)
    assert first.wait_s == 0 and windows.reserve("tokens", rate, 300).wait_s == 0
    third = windows.reserve("tokens", rate, 200)
    assert third.at == pytest.approx(first.at + 60, abs=1e-6)


# -- the per-user limit -----------------------------------------------------------------------


@pytest.fixture(params=["local", "redis"])
def user_windows(request):
    if request.param == "local":
        clock = FakeClock()
        return LocalWindows(clock=clock), clock
    client = request.getfixturevalue("redis_client")
    return RedisWindows(client, prefix=client.test_prefix), None


def test_a_user_over_the_limit_is_told_to_slow_down_and_when_to_retry(user_windows):
    windows, clock = user_windows
    limiter = UserRateLimiter(Rate(3, 60.0), windows)
    for _ in range(3):
        limiter.check(7)
    with pytest.raises(RateLimitedError) as caught:
        limiter.check(7)
    err = caught.value
    assert 59 <= err.retry_after_s <= 60
    assert str(err) == "You are sending requests too quickly: slow down and try again in 60 s (at most 3 every 60 s)."
    limiter.check(8)  # other users are not affected
    if clock is not None:
        clock.now += 60
        limiter.check(7)


def test_refused_requests_are_not_counted(user_windows):
    windows, clock = user_windows
    limiter = UserRateLimiter(Rate(1, 60.0), windows)
    limiter.check("u")
    for _ in range(5):
        with pytest.raises(RateLimitedError):
            limiter.check("u")
    if clock is not None:
        clock.now += 60.01
        limiter.check("u")  # the refusals did not push the window on


def test_check_user_rate_follows_the_settings_and_the_provider_is_never_called(fake_provider):
    settings = Settings(user_rate_limit=2, user_rate_window_s=30)
    with LLMClient(provider(base_url=fake_provider.base_url)) as client:
        for _ in range(2):
            check_user_rate(42, settings=settings)
            client.generate("x", GenerationParams(max_tokens=2))
        with pytest.raises(RateLimitedError, match="slow down"):
            check_user_rate(42, settings=settings)
            client.generate("x", GenerationParams(max_tokens=2))
    assert len(fake_provider.requests) == 2
    check_user_rate(42, settings=Settings(user_rate_limit=0))  # 0: no limit


def test_an_unreachable_redis_falls_back_to_this_process_and_says_so(caplog):
    from core.llm.ratelimit import redis_client
    from tests.core.llm.helpers import closed_port

    clock = FakeClock()
    down = redis_client(f"redis://127.0.0.1:{closed_port()}/0")
    windows = RedisWindows(down, clock=clock)
    slots = [windows.reserve("p", Rate(2, 1.0)).at for _ in range(4)]
    assert slots == [clock.now, clock.now, clock.now + 1, clock.now + 1]
    assert caplog.text.count("Redis is unreachable") == 1  # not tried again for a while
