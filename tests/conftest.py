"""Every test gets its own data directory and database; nothing touches the real data/."""

from __future__ import annotations

import pytest

from core.jobs.live import forget_shared_broadcasters
from core.llm.ratelimit import forget_shared_limiters
from core.platform.db import create_schema, make_engine, open_session
from core.usecases.writing import forget_watch_checks
from tests.utils.factories import make_user


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    directory = tmp_path / "data"
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
def engine(data_dir):
    db_engine = make_engine(f"sqlite:///{data_dir / 'test.db'}")
    create_schema(db_engine)
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
