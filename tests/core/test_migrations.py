"""Migrations on SQLite: from empty to head, equal to the models, adoption of create_all databases.

The same checks run on PostgreSQL in tests/services/test_migrations_postgres.py (the shared
ones are in tests/utils/migration_checks.py). If
test_upgrade_from_empty_matches_the_models fails, a model changed without a migration: run
`python -m core migrate --revision "what changed"` and read the file it writes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from core.platform import migrations
from core.platform.db import create_schema, make_engine
from tests.utils.migration_checks import (
    assert_adopted_with_its_rows,
    assert_refused_unchanged,
    make_pre_migration_database,
    upgrade_from_empty,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def empty_engine(data_dir):
    engine = make_engine(f"sqlite:///{data_dir / 'empty.db'}")
    yield engine
    engine.dispose()


def test_upgrade_from_empty_matches_the_models(empty_engine):
    report = upgrade_from_empty(empty_engine)

    assert report.applied[0] == migrations.BASELINE and report.applied[-1] == report.after


def test_a_second_upgrade_applies_nothing(empty_engine):
    migrations.upgrade(empty_engine)

    again = migrations.upgrade(empty_engine)

    assert again.applied == () and again.before == again.after == migrations.head_revision()
    assert migrations.status(empty_engine).up_to_date


def test_create_schema_runs_the_migrations(empty_engine):
    create_schema(empty_engine)

    assert migrations.status(empty_engine).current == migrations.head_revision()


def test_status_of_an_empty_database_lists_every_migration(empty_engine):
    state = migrations.status(empty_engine)

    assert state.current is None and not state.legacy
    assert state.pending[0] == migrations.BASELINE and state.pending[-1] == state.head
    assert not state.up_to_date


def test_a_database_made_by_create_all_is_adopted_with_its_rows(empty_engine):
    make_pre_migration_database(empty_engine, role="writer")
    assert migrations.status(empty_engine).legacy

    report = migrations.upgrade(empty_engine)

    assert_adopted_with_its_rows(empty_engine, report, role="writer")


def test_a_pre_migration_database_missing_a_column_is_refused_unchanged(empty_engine):
    assert_refused_unchanged(
        empty_engine, damage='ALTER TABLE "thresholdpolicy" DROP COLUMN "rule"', named="thresholdpolicy.rule"
    )


def test_a_database_from_a_newer_version_is_refused(empty_engine):
    migrations.upgrade(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))

    with pytest.raises(migrations.MigrationError) as caught:
        migrations.upgrade(empty_engine)

    assert "9999" in str(caught.value) and "newer version" in str(caught.value)


def test_foreign_keys_are_enforced_again_after_migrating(empty_engine):
    migrations.upgrade(empty_engine)

    with empty_engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_the_baseline_schema_names_every_table_of_the_first_migration():
    schema = migrations.baseline_schema()

    assert {"user", "draft", "reviewitem", "job"} <= set(schema)
    assert {"id", "username", "password_hash", "role"} <= schema["user"]


def test_new_revision_refuses_when_the_models_match_the_migrations(tmp_path):
    versions = tmp_path / "versions"
    versions.mkdir()
    with pytest.raises(migrations.MigrationError) as caught:
        migrations.new_revision("nothing changed", directory=versions)

    assert "nothing to write" in str(caught.value)
    assert list(versions.iterdir()) == []


@pytest.mark.fresh_data_dir
def test_the_migrate_command_upgrades_then_reports_up_to_date(data_dir):
    env = {"DRAFTGATE_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "core", "migrate"]

    first = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    status = subprocess.run(command + ["--status"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    assert first.returncode == 0, first.stderr
    assert f"applied {migrations.BASELINE}" in first.stdout
    assert "is up to date" in second.stdout
    assert status.returncode == 0 and "pending:  (none)" in status.stdout
