"""Sign-in throttling: per user name and per address, stored in the database, with the wait said."""

from datetime import timedelta

import pytest
from sqlmodel import select

from core.access.actors import SYSTEM
from core.access.throttle import LoginLimits, describe_wait, reserve_attempt
from core.access.users import authenticate, create_user
from core.platform.config import Settings
from core.platform.db import make_engine, open_session
from core.platform.errors import AuthenticationError, RateLimitedError
from core.platform.models import LoginFailure, utcnow

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)

LIMITS = LoginLimits(max_failures=3, max_failures_per_address=5, window=timedelta(minutes=15))


def fail(db, username="ana", address="10.0.0.1", times=1):
    for _ in range(times):
        with pytest.raises(AuthenticationError, match="Wrong user name or password"):
            authenticate(session=db, username=username, password="wrong-guess", address=address, limits=LIMITS)


@pytest.fixture
def ana(db):
    return create_user(session=db, username="ana", password="s3cret-pass", role="writer", actor_id=SYSTEM)


def test_after_n_failures_even_the_right_password_waits_with_a_clear_message(db, ana):
    fail(db, times=3)
    with pytest.raises(RateLimitedError) as caught:
        authenticate(session=db, username="ana", password="s3cret-pass", address="10.0.0.1", limits=LIMITS)
    assert str(caught.value) == "Too many failed sign-ins for this user name: try again in 15 minutes."
    assert 14 * 60 < caught.value.retry_after_s <= 15 * 60


def test_the_wait_ends_when_the_oldest_failure_leaves_the_window(engine, ana):
    start = utcnow() - timedelta(minutes=20)
    for minutes in (0, 10, 12):  # the first is outside the window by now
        reserve_attempt(engine, username="ana", address=None, limits=LIMITS, now=start + timedelta(minutes=minutes))
    reserve_attempt(engine, username="ana", address=None, limits=LIMITS)  # two in the window: allowed, a third now
    with pytest.raises(RateLimitedError) as caught:
        reserve_attempt(engine, username="ana", address=None, limits=LIMITS)
    # the oldest counted failure is 10 minutes old: 5 minutes to go
    assert 4 * 60 < caught.value.retry_after_s <= 5 * 60
    assert "5 minutes" in str(caught.value)


def test_success_clears_the_user_names_failures(db, ana):
    fail(db, times=2)
    assert authenticate(session=db, username="ana", password="s3cret-pass", address="10.0.0.1", limits=LIMITS).id == ana.id
    fail(db, times=2)  # would be the 4th and 5th without the reset
    authenticate(session=db, username="ana", password="s3cret-pass", address="10.0.0.1", limits=LIMITS)


def test_an_address_guessing_many_names_is_throttled(db, ana):
    for name in ("bob", "cy", "dee", "eve", "fay"):
        fail(db, username=name, address="203.0.113.7")
    with pytest.raises(RateLimitedError, match="your address"):
        authenticate(session=db, username="ana", password="s3cret-pass", address="203.0.113.7", limits=LIMITS)
    # another address may still sign in as ana
    assert authenticate(session=db, username="ana", password="s3cret-pass", address="198.51.100.1", limits=LIMITS)


def test_unknown_names_count_like_known_ones(db):
    fail(db, username="nobody", times=3)
    with pytest.raises(RateLimitedError, match="this user name"):
        authenticate(session=db, username="nobody", password="x", address=None, limits=LIMITS)


def test_the_count_holds_across_processes(engine, db, ana):
    """Another engine on the same file (as another process or replica would have) sees the failures."""
    fail(db, times=3)
    other = make_engine(str(engine.url))
    try:
        with open_session(other) as elsewhere:
            with pytest.raises(RateLimitedError):
                authenticate(session=elsewhere, username="ANA ", password="s3cret-pass", address=None, limits=LIMITS)
    finally:
        other.dispose()


def test_zero_turns_a_limit_off(db, ana):
    off = LoginLimits(max_failures=0, max_failures_per_address=0)
    for _ in range(8):
        with pytest.raises(AuthenticationError):
            authenticate(session=db, username="ana", password="nope-nope", address="10.0.0.1", limits=off)
    assert authenticate(session=db, username="ana", password="s3cret-pass", address="10.0.0.1", limits=off)


def test_old_failures_are_forgotten(engine, db):
    reserve_attempt(engine, username="ana", address="10.0.0.1", limits=LIMITS, now=utcnow() - timedelta(days=2))
    reserve_attempt(engine, username="ana", address=None, limits=LIMITS)
    assert len(db.exec(select(LoginFailure)).all()) == 1


def test_limits_come_from_the_settings(monkeypatch):
    monkeypatch.setenv("DRAFTGATE_LOGIN_MAX_FAILURES", "7")
    monkeypatch.setenv("DRAFTGATE_LOGIN_MAX_FAILURES_PER_ADDRESS", "70")
    monkeypatch.setenv("DRAFTGATE_LOGIN_WINDOW_MINUTES", "2")
    assert LoginLimits.from_settings(Settings()) == LoginLimits(7, 70, timedelta(minutes=2))


@pytest.mark.parametrize(("seconds", "text"), [(0.2, "1 second"), (42.1, "43 seconds"), (60, "1 minute"), (61, "2 minutes")])
def test_waits_read_well(seconds, text):
    assert describe_wait(seconds) == text
