"""tests/core, re-run on PostgreSQL: each module here imports one module of tests/core.

The `engine` these tests get is tests/services/conftest.py's: a fresh PostgreSQL database per
module, every table emptied before each test. The API core's fixtures come along for the
modules that use them (the response cache's database store, the provider registry).
"""

from pathlib import Path

import pytest

from tests.core.llm.conftest import fake_provider, fresh_shared_limiters, mock_client, redis_client  # noqa: F401

HERE = Path(__file__).resolve().parent
SQLITE_ONLY = {
    "test_deleting_a_user_leaves_nothing_of_their_text_in_the_database_files":
        "it scans the SQLite file in the data directory; PostgreSQL's files live with the server",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep only the imported tests that touch the database (the rest ran in tests/core already)."""
    kept, dropped = [], []
    for item in items:
        if item.path.parent != HERE:
            kept.append(item)
        elif "engine" not in getattr(item, "fixturenames", ()):
            dropped.append(item)
        else:
            if item.originalname in SQLITE_ONLY:
                item.add_marker(pytest.mark.skip(reason=SQLITE_ONLY[item.originalname]))
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
