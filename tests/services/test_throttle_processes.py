"""Sign-in throttling holds under parallel attempts from several OS processes.

Four processes (multiprocessing, spawn: nothing shared but the database) start together at a
barrier and each try ten passwords, on SQLite (one file) and on PostgreSQL. With a limit of 5,
at most 5 passwords may ever be checked within the window: every other attempt must be
refused without a check (RateLimitedError), including a right password tried late.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter

import pytest
from sqlmodel import select

from core.platform.db import create_schema, make_engine, open_session
from core.platform.models import AuditEvent, LoginFailure
from tests.services.conftest import gather
from tests.utils.factories import PASSWORD, make_user

SPAWN = multiprocessing.get_context("spawn")
PROCESSES, ATTEMPTS, LIMIT = 4, 10, 5
ADDRESS = "203.0.113.9"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'throttle.db'}"
        engine = make_engine(url)
        create_schema(engine)
        engine.dispose()
        return url
    request.getfixturevalue("engine")  # the module's PostgreSQL database, emptied
    return request.getfixturevalue("pg_url")


def _try_passwords(barrier, results, url: str, attempts: list[tuple[str, str]], limits: tuple[int, int]) -> None:
    """Try each (user name, password) in turn; put the answers ("checked", "limited", "signed in")."""
    from datetime import timedelta

    from core.access.throttle import LoginLimits
    from core.access.users import authenticate
    from core.platform.db import make_engine, open_session
    from core.platform.errors import AuthenticationError, RateLimitedError

    login_limits = LoginLimits(max_failures=limits[0], max_failures_per_address=limits[1], window=timedelta(minutes=15))
    engine = make_engine(url)
    answers = []
    barrier.wait()
    for username, password in attempts:
        with open_session(engine) as db:
            try:
                authenticate(session=db, username=username, password=password, address=ADDRESS, limits=login_limits)
                answers.append("signed in")
            except AuthenticationError:
                answers.append("checked")
            except RateLimitedError:
                answers.append("limited")
    engine.dispose()
    results.put(answers)


def _run(url: str, attempts_per_process: list[list[tuple[str, str]]], limits: tuple[int, int]) -> list[list[str]]:
    barrier = SPAWN.Barrier(len(attempts_per_process))
    results = SPAWN.Queue()
    processes = [SPAWN.Process(target=_try_passwords, args=(barrier, results, url, attempts, limits))
                 for attempts in attempts_per_process]
    for process in processes:
        process.start()
    gathered = gather(processes, results)
    assert [process.exitcode for process in processes] == [0] * len(processes)
    return gathered


def _audited_failures(url: str) -> int:
    engine = make_engine(url)
    try:
        with open_session(engine) as db:
            return len(db.exec(select(AuditEvent).where(AuditEvent.action == "auth.failed")).all())
    finally:
        engine.dispose()


def test_parallel_guesses_at_one_name_check_at_most_the_limit(database_url):
    engine = make_engine(database_url)
    with open_session(engine) as db:
        make_user(db, "ana", "writer")
    engine.dispose()
    # each process guesses wrong, then tries the right password last (its 10th attempt)
    attempts = [[("ana", f"guess-{p}-{n}") for n in range(ATTEMPTS - 1)] + [("ana", PASSWORD)] for p in range(PROCESSES)]

    answers = _run(database_url, attempts, limits=(LIMIT, 0))

    counts = Counter(answer for per_process in answers for answer in per_process)
    assert counts == {"checked": LIMIT, "limited": PROCESSES * ATTEMPTS - LIMIT}
    assert all(per_process[-1] == "limited" for per_process in answers)  # the right password came too late
    assert _audited_failures(database_url) == LIMIT


def test_parallel_guesses_from_one_address_check_at_most_its_limit(database_url):
    """Many user names (none of them existing) from one address: the address's limit holds."""
    attempts = [[(f"name-{p}-{n}", "guess-guess") for n in range(ATTEMPTS)] for p in range(PROCESSES)]

    answers = _run(database_url, attempts, limits=(0, LIMIT))

    counts = Counter(answer for per_process in answers for answer in per_process)
    assert counts == {"checked": LIMIT, "limited": PROCESSES * ATTEMPTS - LIMIT}
    engine = make_engine(database_url)
    try:
        with open_session(engine) as db:
            kept = db.exec(select(LoginFailure).where(LoginFailure.scope == "address")).all()
    finally:
        engine.dispose()
    assert [row.key for row in kept] == [ADDRESS] * LIMIT
