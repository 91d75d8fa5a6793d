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
from sqlmodel import SQLModel, select

from core import migrations
from core.db import make_engine, open_session
from core.models import User
from tests.services.conftest import create_database, drop_database, gather

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
    report = migrations.upgrade(empty_pg)

    assert report.before is None and report.after == migrations.head_revision()
    assert migrations.differences(empty_pg) == []
    assert set(inspect(empty_pg).get_table_names()) == set(SQLModel.metadata.tables) | {"alembic_version"}
    assert migrations.upgrade(empty_pg).applied == ()


def test_times_are_stored_with_their_time_zone(empty_pg):
    migrations.upgrade(empty_pg)

    columns = {c["name"]: c for c in inspect(empty_pg).get_columns("draft")}

    assert columns["created_at"]["type"].timezone is True


def test_a_database_made_by_create_all_is_adopted_with_its_rows(empty_pg):
    SQLModel.metadata.create_all(empty_pg)
    with open_session(empty_pg) as session:
        session.add(User(username="kept", password_hash="x", role="editor"))
        session.commit()

    report = migrations.upgrade(empty_pg)

    assert report.adopted and report.after == migrations.head_revision()
    assert migrations.differences(empty_pg) == []
    with open_session(empty_pg) as session:
        assert session.exec(select(User.role).where(User.username == "kept")).one() == "editor"


def test_a_pre_migration_database_missing_a_table_is_refused_unchanged(empty_pg):
    SQLModel.metadata.create_all(empty_pg)
    with empty_pg.begin() as connection:
        connection.exec_driver_sql('DROP TABLE "sensitiveword"')

    with pytest.raises(migrations.MigrationError) as caught:
        migrations.upgrade(empty_pg)

    assert "table sensitiveword" in str(caught.value)
    assert "alembic_version" not in inspect(empty_pg).get_table_names()


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
