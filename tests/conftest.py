"""Every test gets its own data directory and database; nothing touches the real data/.

The migrations run once per test session, into a template database; each test's database starts as
a copy of it (the app's own start then finds it at head), unless the test is marked `fresh_data_dir`.

A module marked `also_on_postgres` runs each of its tests that use `engine` twice: on SQLite and
on PostgreSQL (the machine's server, a fresh database per module, every table emptied before each
test: tests/services/conftest.py; skipped with a message when it is not running). A test marked
`sqlite_only(reason)` runs on SQLite alone.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from core.jobs.live import forget_shared_broadcasters
from core.llm.ratelimit import forget_shared_limiters
from core.platform.db import create_schema, make_engine, open_session
from core.usecases.writing import forget_watch_checks
from tests.services.conftest import empty_tables, pg_engine, pg_template, pg_url, postgres_server_url  # noqa: F401  (fixtures)
from tests.utils.connections import NestedCheckouts
from tests.utils.factories import make_user

DATABASES = ("sqlite", "postgresql")
# multiprocessing's "spawn" re-runs the parent's __main__ in each child, and AppTest (tests/pages)
# leaves a page script there: a child spawned by a later test in the same process would run that
# page and die. Every test starts with the real __main__.
_REAL_MAIN = sys.modules["__main__"]


@pytest.fixture(autouse=True)
def one_connection_at_a_time():
    """Fails a test in which the app's code, holding a pooled connection, took a second one of the
    same pool on the same thread (tests/utils/connections.py)."""
    watcher = NestedCheckouts().start()
    yield watcher
    watcher.stop()
    if watcher.found:
        pytest.fail("a thread waited for a second database connection while holding one:\n  "
                    + "\n  ".join(nesting.describe() for nesting in dict.fromkeys(watcher.found)), pytrace=False)


@pytest.fixture(autouse=True)
def real_main_module(monkeypatch):
    monkeypatch.setitem(sys.modules, "__main__", _REAL_MAIN)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database" in metafunc.fixturenames and metafunc.definition.get_closest_marker("also_on_postgres"):
        metafunc.parametrize("database", DATABASES, indirect=True)


@pytest.fixture
def database(request) -> str:
    """Which database `engine` is: "sqlite", or a parameter (see the module docstring)."""
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    template = make_engine(f"sqlite:///{path}")
    create_schema(template)
    template.dispose()  # the last connection's close checkpoints the WAL into the file
    return path


def copy_of_template(template: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)
    return target


@pytest.fixture(autouse=True)
def data_dir(request, tmp_path, monkeypatch, migrated_template):
    directory = tmp_path / "data"
    if request.node.get_closest_marker("fresh_data_dir") is None:
        copy_of_template(migrated_template, directory / "draftgate.db")  # the app's default database
    monkeypatch.setenv("DRAFTGATE_DATA_DIR", str(directory))
    monkeypatch.delenv("DRAFTGATE_DATABASE_URL", raising=False)
    for name in ("LLM_BASE_URL", "LLM_API_KEY", "LLM_MODEL", "LLM_API_STYLE", "ADMIN_PASSWORD"):
        monkeypatch.delenv(f"DRAFTGATE_{name}", raising=False)
    monkeypatch.setenv("DRAFTGATE_LANGUAGE", "en")  # the command line's language, whatever the machine's LANG
    forget_shared_limiters()  # user ids repeat across test databases
    forget_shared_broadcasters()  # and draft ids: one test's live text is not the next one's
    forget_watch_checks()
    return directory


@pytest.fixture
def engine(request, database, data_dir, migrated_template):
    if database == "postgresql":
        only = request.node.get_closest_marker("sqlite_only")
        if only is not None:
            pytest.skip(only.args[0])
        on_postgres = request.getfixturevalue("pg_engine")
        empty_tables(on_postgres)
        yield on_postgres
        return
    db_engine = make_engine(f"sqlite:///{copy_of_template(migrated_template, data_dir / 'test.db')}")
    create_schema(db_engine)  # at head already: checks, changes nothing
    yield db_engine
    db_engine.dispose()


@pytest.fixture
def db(engine):
    with open_session(engine) as session:
        yield session


@pytest.fixture
def runtime(engine):
    """A core Runtime on the test's database (the use cases' first argument); its jobs end with the test."""
    from core.platform.config import Settings
    from core.runtime import Runtime

    made = Runtime(Settings(), engine=engine)
    yield made
    made.close(wait=True)


@pytest.fixture
def writer(db):
    return make_user(db, "writer", "writer")


@pytest.fixture
def reviewer(db):
    return make_user(db, "reviewer", "reviewer")


@pytest.fixture
def editor(db):
    return make_user(db, "editor", "editor")
