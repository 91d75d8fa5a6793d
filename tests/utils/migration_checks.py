"""Migration checks shared by SQLite (tests/core/test_migrations.py) and PostgreSQL
(tests/services/test_migrations_postgres.py): the same assertions on either engine."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, select

from core.platform import migrations
from core.platform.db import open_session
from core.platform.models import User

KEPT_USERNAME = "kept"


def upgrade_from_empty(engine: Engine) -> migrations.UpgradeReport:
    """Upgrade an empty database and check it ends at head, equal to the models, every table there."""
    report = migrations.upgrade(engine)
    assert report.before is None and report.after == migrations.head_revision()
    assert migrations.differences(engine) == []
    assert set(inspect(engine).get_table_names()) == set(SQLModel.metadata.tables) | {"alembic_version"}
    return report


def make_pre_migration_database(engine: Engine, *, role: str) -> None:
    """A database as the app made it before migrations (create_all of the models of then: the
    first migration's schema, without a version table), holding one user with this role."""
    migrations.upgrade(engine, revision=migrations.BASELINE)
    with engine.begin() as connection:
        connection.exec_driver_sql(f'DROP TABLE "{migrations.VERSION_TABLE}"')
    with engine.begin() as connection:  # the user table of then (today's model may have more columns)
        connection.execute(text('INSERT INTO "user" (username, password_hash, role, disabled, created_at) '
                                "VALUES (:username, 'x', :role, false, CURRENT_TIMESTAMP)"),
                           {"username": KEPT_USERNAME, "role": role})


def assert_adopted_with_its_rows(engine: Engine, report: migrations.UpgradeReport, *, role: str) -> None:
    assert report.adopted and report.after == migrations.head_revision()
    assert migrations.differences(engine) == []
    with open_session(engine) as session:
        assert session.exec(select(User.role).where(User.username == KEPT_USERNAME)).one() == role


def assert_refused_unchanged(engine: Engine, *, damage: str, named: str) -> None:
    """A create_all database changed by the SQL `damage` is refused, naming `named`, and left unmigrated."""
    SQLModel.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql(damage)

    with pytest.raises(migrations.MigrationError) as caught:
        migrations.upgrade(engine)

    assert named in str(caught.value)
    assert "alembic_version" not in inspect(engine).get_table_names()
