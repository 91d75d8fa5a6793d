"""Service-backed tests: a real PostgreSQL and a real Redis.

Where to find them (the defaults are this machine's services, see the README's Deploy section):
    DRAFTGATE_TEST_POSTGRES_URL  a server the tests may create and drop databases on
                                 (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres)
    DRAFTGATE_TEST_REDIS_URL     a Redis database the tests may write to (default redis://127.0.0.1:6379/15)
    DRAFTGATE_TEST_SERVICES=0    skip these tests even when the services answer

Each service is tried once per session; when it does not answer, its tests are skipped with a
message saying how to enable them, and the rest of the suite runs as usual.

Each test module gets its own PostgreSQL database (draftgate_test_<random>), a copy of one
migrated from empty once per test process, dropped at the end; the `engine` fixture gives it to a test with every table
emptied first. The tests of tests/core modules marked `also_on_postgres` get the same database
through the root conftest's `engine` (parametrized: sqlite, postgresql).
"""

from __future__ import annotations

import os
import queue
import secrets
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import SQLModel

from core.platform import migrations
from core.platform.db import make_engine

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
START_REDIS = "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ''"
HOW_TO_ENABLE = "start it (`{command}`) or point {variable} at one; these tests are skipped until then"


def gather(processes: list, results, *, timeout: float = 180.0) -> list:
    """One result per process from `results` (a multiprocessing queue); fails fast, naming the
    exit codes, when a process died without putting one, instead of waiting out the timeout."""
    gathered = []
    deadline = time.monotonic() + timeout
    while len(gathered) < len(processes):
        try:
            gathered.append(results.get(timeout=0.5))
            continue
        except queue.Empty:
            pass
        if all(process.exitcode is not None for process in processes):
            try:
                gathered.append(results.get(timeout=1.0))
                continue
            except queue.Empty:
                exit_codes = [process.exitcode for process in processes]
                raise AssertionError(f"a child process ended without a result (exit codes {exit_codes})") from None
        if time.monotonic() > deadline:
            raise AssertionError(f"no result from every child process within {timeout:g} s")
    for process in processes:
        process.join(30)
    return gathered


def _disabled() -> bool:
    return os.environ.get("DRAFTGATE_TEST_SERVICES", "").strip().lower() in ("0", "false", "no", "off")


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """The URL of a PostgreSQL server the tests may create databases on (skips when none answers)."""
    if _disabled():
        pytest.skip("service tests are off (DRAFTGATE_TEST_SERVICES=0)")
    url = os.environ.get("DRAFTGATE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    probe = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with probe.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as err:  # any failure to connect means: no server here
        pytest.skip(f"PostgreSQL is not reachable at {make_url(url).render_as_string(hide_password=True)} "
                    f"({type(err).__name__}): " + HOW_TO_ENABLE.format(command=START_POSTGRES, variable="DRAFTGATE_TEST_POSTGRES_URL"))
    finally:
        probe.dispose()
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The URL of a Redis database the tests may write to (skips when none answers)."""
    if _disabled():
        pytest.skip("service tests are off (DRAFTGATE_TEST_SERVICES=0)")
    import redis

    url = os.environ.get("DRAFTGATE_TEST_REDIS_URL", DEFAULT_REDIS_URL)
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as err:
        pytest.skip(f"Redis is not reachable at {url} ({type(err).__name__}): "
                    + HOW_TO_ENABLE.format(command=START_REDIS, variable="DRAFTGATE_TEST_REDIS_URL"))
    finally:
        client.close()
    return url


def create_database(server_url: str, *, template: str = "") -> str:
    """Create a database on the server, empty or a copy of the database `template` (one nobody is
    connected to); return its URL."""
    name = f"draftgate_test_{secrets.token_hex(6)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    finally:
        admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, database_url: str) -> None:
    name = make_url(database_url).database
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


def _migrated(url: str) -> str:
    engine = make_engine(url)
    try:
        migrations.upgrade(engine)
    finally:
        engine.dispose()  # no connection left: the template can be copied
    return url


@pytest.fixture(scope="session")
def pg_template(postgres_server_url) -> Iterator[str]:
    """The name of a database migrated from empty, once per test process (pg_url copies it)."""
    url = _migrated(create_database(postgres_server_url))
    yield make_url(url).database
    drop_database(postgres_server_url, url)


@pytest.fixture(scope="module")
def pg_url(postgres_server_url, pg_template) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test module (a copy of the template, found at
    head by the migrations); dropped afterwards."""
    url = _migrated(create_database(postgres_server_url, template=pg_template))
    yield url
    drop_database(postgres_server_url, url)


@pytest.fixture(scope="module")
def pg_engine(pg_url) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


def empty_tables(engine: Engine) -> None:
    """Delete every row, children first, and restart the ids (DELETE beats TRUNCATE on tiny tables)."""
    with engine.begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):
            connection.exec_driver_sql(f'DELETE FROM "{table.name}"')
        sequences = connection.exec_driver_sql(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()"
        ).scalars().all()
        for sequence in sequences:
            connection.exec_driver_sql(f'ALTER SEQUENCE "{sequence}" RESTART')


@pytest.fixture
def engine(pg_engine, data_dir) -> Engine:
    """The module's PostgreSQL database with every table empty (overrides the SQLite `engine`)."""
    empty_tables(pg_engine)
    return pg_engine


@pytest.fixture
def redis_prefix(redis_url) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    import redis

    prefix = f"draftgate-test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def queue_name(redis_url: str) -> Iterator[str]:
    """An RQ queue of this test's own (tests in parallel processes share Redis db 15); emptied afterwards."""
    from rq import Queue

    from core.jobs.rq import queue_connection

    name = f"draftgate-test-{uuid.uuid4().hex[:10]}"
    yield name
    connection = queue_connection(redis_url)
    Queue(name, connection=connection).delete(delete_jobs=True)
    connection.close()
