"""Migrations on PostgreSQL: from empty to head equal to the models, adoption, several replicas
starting at once, and the `migrate` command. (tests/core/test_migrations.py does SQLite.)"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from core.platform import migrations
from core.platform.db import make_engine
from tests.services.conftest import create_database, drop_database, gather
from tests.utils.migration_checks import (
    assert_adopted_with_its_rows,
    assert_refused_unchanged,
    make_pre_migration_database,
    upgrade_from_empty,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def empty_pg(postgres_server_url):
    """An empty database of this test's own (no tables at all)."""
    url = create_database(postgres_server_url)
    engine = make_engine(url)
    yield engine
    engine.dispose()
    drop_database(postgres_server_url, url)


def test_upgrade_from_empty_matches_the_models(empty_pg):
    upgrade_from_empty(empty_pg)

    assert migrations.upgrade(empty_pg).applied == ()


def test_times_are_stored_with_their_time_zone(empty_pg):
    migrations.upgrade(empty_pg)

    columns = {c["name"]: c for c in inspect(empty_pg).get_columns("draft")}

    assert columns["created_at"]["type"].timezone is True


def test_a_database_made_by_create_all_is_adopted_with_its_rows(empty_pg):
    make_pre_migration_database(empty_pg, role="editor")

    report = migrations.upgrade(empty_pg)

    assert_adopted_with_its_rows(empty_pg, report, role="editor")


def test_a_pre_migration_database_missing_a_table_is_refused_unchanged(empty_pg):
    assert_refused_unchanged(empty_pg, damage='DROP TABLE "sensitiveword"', named="table sensitiveword")


def _upgrade_in_a_process(barrier, results, url: str) -> None:
    engine = make_engine(url)
    barrier.wait()
    try:
        results.put(migrations.upgrade(engine).after)
    finally:
        engine.dispose()


def test_replicas_starting_together_migrate_once(empty_pg):
    url = empty_pg.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(3), context.Queue()
    processes = [context.Process(target=_upgrade_in_a_process, args=(barrier, results, url)) for _ in range(3)]
    for process in processes:
        process.start()
    after = gather(processes, results, timeout=120)

    assert after == [migrations.head_revision()] * 3
    assert [process.exitcode for process in processes] == [0, 0, 0]
    with empty_pg.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    assert migrations.differences(empty_pg) == []


def test_the_migrate_command_upgrades_the_database_of_the_url(empty_pg):
    url = empty_pg.url.render_as_string(hide_password=False)
    env = {**os.environ, "DRAFTGATE_DATABASE_URL": url}

    done = subprocess.run([sys.executable, "-m", "core", "migrate"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    assert f"applied {migrations.BASELINE}" in done.stdout and "postgresql+psycopg://" in done.stdout
    assert migrations.status(empty_pg).up_to_date
